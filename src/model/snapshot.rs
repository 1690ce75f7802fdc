//! [`Snapshot`]: what one read of an organization showed, indexed so that many people's state
//! is known without a request per person.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::{Duration, SystemTime};

use jiff::Timestamp;
use serde::Serialize;

use crate::model::extension::Payload;
use crate::model::invitation::{Invitation, InvitationStatus};
use crate::model::kind::ProviderKind;
use crate::model::request::{Invitee, Role};

/// A member of an organization, as the vendor lists members.
///
/// What is known depends on the vendor: GitHub lists logins and user ids, never email
/// addresses; Clerk lists user ids with the email (its `identifier`) and role; Elastic Cloud
/// lists user ids with the email where it has one, and the role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Member {
    /// The member's user id at the vendor.
    pub user_id: Option<String>,
    /// The member's login (GitHub) or username.
    pub login: Option<String>,
    /// The member's email address, when the vendor shows it.
    pub email: Option<String>,
    /// The member's role, when the vendor's list says.
    pub role: Option<Role>,
}

impl Member {
    /// A member known by nothing yet.
    #[cfg(test)]
    pub(crate) fn new() -> Member {
        Member::listed(None, None, None, None)
    }

    /// A member as a vendor's list shows them; an email that is empty or no address is none.
    pub(crate) fn listed(
        user_id: Option<String>,
        login: Option<String>,
        email: Option<String>,
        role: Option<Role>,
    ) -> Member {
        Member {
            user_id,
            login,
            email: email.filter(|email| email.contains('@')),
            role,
        }
    }
}

/// Where a person stands in a [`Snapshot`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
// Answered once per person; boxing the invitation would only make matching clumsy.
#[allow(clippy::large_enum_variant)]
pub enum Presence {
    /// A member.
    Member(Member),
    /// Invited: this invitation is pending.
    Invited(Invitation),
    /// Not invited any more: this invitation, the newest, expired or failed. (On GitHub, which
    /// hides members' emails, the person may have become a member by another invitation.)
    Lapsed(Invitation),
    /// Neither a member nor invited (nor invited before, as far as the vendor tells).
    Absent,
    /// Not invited (nor invited before), and whether they are a member cannot be told: GitHub
    /// does not show members' email addresses, so someone looked up by email may be a member.
    Unknown,
}

impl Presence {
    /// A stable `snake_case` name: `member`, `invited`, `lapsed`, `absent` or `unknown`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Presence::Member(_) => "member",
            Presence::Invited(_) => "invited",
            Presence::Lapsed(_) => "lapsed",
            Presence::Absent => "absent",
            Presence::Unknown => "unknown",
        }
    }
}

/// An invitation as a snapshot keeps it: what tells who and where it stands, without the
/// vendor's payload or the links, so that a large organization fits in little memory.
#[derive(Clone, Debug)]
struct Entry {
    id: Box<str>,
    email: Option<Box<str>>,
    login: Option<Box<str>>,
    role: Role,
    status: InvitationStatus,
    created_at: Option<Timestamp>,
    expires_at: Option<Timestamp>,
}

/// A member as a snapshot keeps it.
#[derive(Clone, Debug)]
struct MemberEntry {
    user_id: Option<Box<str>>,
    login: Option<Box<str>>,
    email: Option<Box<str>>,
    role: Option<Role>,
}

/// How many entries one chunk of a snapshot's storage holds: a snapshot grows a chunk at a
/// time, never copying what it holds to a larger buffer.
const CHUNK: usize = 1024;

/// Entries in chunks of [`CHUNK`], addressed by position.
#[derive(Clone, Debug)]
struct Chunks<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Chunks<T> {
    fn default() -> Self {
        Chunks {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunks<T> {
    fn push(&mut self, item: T) -> u32 {
        if self.chunks.last().is_none_or(|chunk| chunk.len() == CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        self.chunks.last_mut().expect("a chunk").push(item);
        self.len += 1;
        u32::try_from(self.len - 1).unwrap_or(u32::MAX)
    }

    fn get(&self, at: u32) -> Option<&T> {
        let at = at as usize;
        self.chunks.get(at / CHUNK)?.get(at % CHUNK)
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }
}

/// What a key names a person by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum By {
    Email,
    Login,
    UserId,
}

/// The index key of a name: its kind and its case-folded text, hashed. Two names with the
/// same hash are told apart by the entry they point at.
fn key(by: By, name: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    by.hash(&mut hasher);
    match by {
        By::UserId => name.hash(&mut hasher),
        By::Email | By::Login => {
            for c in name.chars().flat_map(char::to_lowercase) {
                c.hash(&mut hasher);
            }
        }
    }
    hasher.finish()
}

/// Whether `name` of kind `by` is `text`, as the index compares names.
fn same(by: By, name: &str, text: Option<&str>) -> bool {
    let Some(text) = text else { return false };
    match by {
        By::UserId => name == text,
        By::Email | By::Login => name
            .chars()
            .flat_map(char::to_lowercase)
            .eq(text.chars().flat_map(char::to_lowercase)),
    }
}

/// Positions by hashed name; names whose hashes collide with another's go to `overflow`.
#[derive(Clone, Debug, Default)]
struct Index {
    slots: HashMap<u64, u32>,
    overflow: Vec<(u64, u32)>,
}

impl Index {
    fn positions(&self, key: u64) -> impl Iterator<Item = u32> + '_ {
        self.slots.get(&key).copied().into_iter().chain(
            self.overflow
                .iter()
                .filter(move |(k, _)| *k == key)
                .map(|(_, at)| *at),
        )
    }
}

/// What one read of an organization showed: its pending invitations (and, where the vendor
/// lists them, its expired and failed ones) and its members, indexed by case-folded email,
/// login and user id. Taken with [`Provider::snapshot`](crate::Provider::snapshot) in a few
/// paged requests, it answers for every person at once: [`Snapshot::presence`].
///
/// A snapshot keeps a few hundred bytes per person: of each invitation, what tells who and
/// where it stands (the [`Invitation`]s it returns carry no vendor payload, no inviter and no
/// link), and of each member what the vendor lists. It is a picture of one moment
/// ([`Snapshot::taken_at`]): invitations made or accepted since are not in it.
///
/// ```
/// use orginvite::testkit::Sandbox;
/// use orginvite::{Invitee, Presence, Provider};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), orginvite::Error> {
/// let (fake, clerk) = Sandbox::clerk().await;
/// fake.add_member(fake.organization(), "old-timer@example.com");
/// fake.add_invitation(fake.organization(), "pending@example.com");
///
/// let snapshot = clerk.snapshot(fake.organization()).await?;
/// let old_timer = snapshot.presence(&Invitee::email("Old-Timer@example.com"));
/// assert!(matches!(old_timer, Presence::Member(_)));
/// let pending = snapshot.presence(&Invitee::email("pending@example.com"));
/// assert!(matches!(pending, Presence::Invited(_)));
/// assert_eq!(snapshot.presence(&Invitee::email("new@example.com")), Presence::Absent);
/// // One page of invitations and one of members.
/// assert_eq!(fake.requests().await.len(), 2);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Snapshot {
    provider: ProviderKind,
    organization: String,
    taken_at: SystemTime,
    /// Whether the vendor's member list shows email addresses.
    members_show_emails: bool,
    invitations: Chunks<Entry>,
    members: Chunks<MemberEntry>,
    /// Pending invitations by email and login.
    pending: Index,
    /// Expired and failed invitations by email and login: the newest of each person's.
    lapsed: Index,
    /// Members by email, login and user id.
    member_index: Index,
    /// How many expired or failed invitations each person has, by the position of their
    /// newest (the one `lapsed` points at).
    lapsed_rounds: HashMap<u32, u32>,
    pending_count: usize,
}

impl Snapshot {
    /// An empty snapshot of `organization`, taken at `taken_at`.
    pub(crate) fn new(
        provider: ProviderKind,
        organization: &str,
        taken_at: SystemTime,
        members_show_emails: bool,
    ) -> Snapshot {
        Snapshot {
            provider,
            organization: organization.to_owned(),
            taken_at,
            members_show_emails,
            invitations: Chunks::default(),
            members: Chunks::default(),
            pending: Index::default(),
            lapsed: Index::default(),
            member_index: Index::default(),
            lapsed_rounds: HashMap::new(),
            pending_count: 0,
        }
    }

    /// Adds an invitation the vendor listed.
    pub(crate) fn add_invitation(&mut self, invitation: Invitation) {
        let pending = invitation.status == InvitationStatus::Pending;
        let lapsed = matches!(
            invitation.status,
            InvitationStatus::Expired | InvitationStatus::Failed
        );
        if !pending && !lapsed {
            return;
        }
        let entry = Entry {
            id: invitation.id.into_boxed_str(),
            email: invitation.email.map(String::into_boxed_str),
            login: invitation.login.map(String::into_boxed_str),
            role: invitation.role,
            status: invitation.status,
            created_at: invitation.created_at,
            expires_at: invitation.expires_at,
        };
        let names: Vec<(By, String)> = [(By::Email, &entry.email), (By::Login, &entry.login)]
            .into_iter()
            .filter_map(|(by, name)| Some((by, name.as_deref()?.to_owned())))
            .collect();
        let created_at = entry.created_at;
        let at = self.invitations.push(entry);
        if pending {
            self.pending_count += 1;
        }
        // A lapsed invitation counts once towards its person's rounds, under its first name.
        let mut counted = pending;
        for (by, name) in names {
            let invitations = &self.invitations;
            let index = if pending {
                &mut self.pending
            } else {
                &mut self.lapsed
            };
            let key = key(by, &name);
            let existing = index.positions(key).find(|&p| {
                invitations
                    .get(p)
                    .is_some_and(|e| same(by, &name, invitee_name(e, by)))
            });
            match existing {
                // A person's first pending invitation stands; of lapsed ones, the newest, which
                // carries the count of them all.
                Some(p) if !pending => {
                    let older = invitations
                        .get(p)
                        .is_some_and(|e| e.created_at < created_at);
                    let rounds = self.lapsed_rounds.remove(&p).unwrap_or(1);
                    let rounds = if counted { rounds } else { rounds + 1 };
                    counted = true;
                    self.lapsed_rounds
                        .insert(if older { at } else { p }, rounds);
                    if older {
                        if let Some(slot) = index.slots.get_mut(&key).filter(|s| **s == p) {
                            *slot = at;
                        } else if let Some(o) = index
                            .overflow
                            .iter_mut()
                            .find(|(k, q)| *k == key && *q == p)
                        {
                            o.1 = at;
                        }
                    }
                }
                Some(_) => {}
                None => {
                    if !counted {
                        self.lapsed_rounds.insert(at, 1);
                        counted = true;
                    }
                    if let std::collections::hash_map::Entry::Vacant(slot) = index.slots.entry(key)
                    {
                        slot.insert(at);
                    } else {
                        index.overflow.push((key, at));
                    }
                }
            }
        }
    }

    /// Adds a member the vendor listed.
    pub(crate) fn add_member(&mut self, member: Member) {
        let entry = MemberEntry {
            user_id: member.user_id.map(String::into_boxed_str),
            login: member.login.map(String::into_boxed_str),
            email: member.email.map(String::into_boxed_str),
            role: member.role,
        };
        let names: Vec<(By, String)> = [
            (By::Email, &entry.email),
            (By::Login, &entry.login),
            (By::UserId, &entry.user_id),
        ]
        .into_iter()
        .filter_map(|(by, name)| Some((by, name.as_deref()?.to_owned())))
        .collect();
        let at = self.members.push(entry);
        for (by, name) in names {
            let key = key(by, &name);
            let members = &self.members;
            let known = self.member_index.positions(key).any(|p| {
                members
                    .get(p)
                    .is_some_and(|m| same(by, &name, member_name(m, by)))
            });
            if known {
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(slot) =
                self.member_index.slots.entry(key)
            {
                slot.insert(at);
            } else {
                self.member_index.overflow.push((key, at));
            }
        }
    }

    /// Gives back memory the indexes reserved for growth.
    pub(crate) fn shrink(&mut self) {
        self.lapsed_rounds.shrink_to_fit();
        for index in [&mut self.pending, &mut self.lapsed, &mut self.member_index] {
            index.slots.shrink_to_fit();
            index.overflow.shrink_to_fit();
        }
        if let Some(last) = self.invitations.chunks.last_mut() {
            last.shrink_to_fit();
        }
        if let Some(last) = self.members.chunks.last_mut() {
            last.shrink_to_fit();
        }
    }

    /// The vendor.
    pub fn provider(&self) -> ProviderKind {
        self.provider
    }

    /// The organization.
    pub fn organization(&self) -> &str {
        &self.organization
    }

    /// When the read began, on the client's clock: the snapshot shows the organization as it
    /// was then (a few pages later, at most).
    pub fn taken_at(&self) -> SystemTime {
        self.taken_at
    }

    /// How old the snapshot is at `now` (zero if `now` is before it was taken).
    pub fn age(&self, now: SystemTime) -> Duration {
        now.duration_since(self.taken_at).unwrap_or(Duration::ZERO)
    }

    /// How many pending invitations it shows.
    pub fn pending_count(&self) -> usize {
        self.pending_count
    }

    /// How many members it shows.
    pub fn member_count(&self) -> usize {
        self.members.len
    }

    /// Whether the vendor's member list shows email addresses (not GitHub's): where it does
    /// not, someone known only by email who is not invited is [`Presence::Unknown`].
    pub fn members_show_emails(&self) -> bool {
        self.members_show_emails
    }

    /// Where `invitee` stands: a member, invited, invited before (expired or failed), absent,
    /// or unknown. Emails and logins are compared without regard to case.
    pub fn presence(&self, invitee: &Invitee) -> Presence {
        if let Some(member) = self.member(invitee) {
            return Presence::Member(member);
        }
        if let Some(invitation) = self.invitation(invitee) {
            return Presence::Invited(invitation);
        }
        if let Some(invitation) = self.lapsed_invitation(invitee) {
            return Presence::Lapsed(invitation);
        }
        let by_email = matches!(invitee, Invitee::Email(_));
        if by_email && !self.members_show_emails {
            return Presence::Unknown;
        }
        Presence::Absent
    }

    /// `invitee` as a member, when the snapshot shows them as one.
    pub fn member(&self, invitee: &Invitee) -> Option<Member> {
        let (by, name) = by(invitee);
        self.member_index
            .positions(key(by, name))
            .filter_map(|p| self.members.get(p))
            .find(|m| same(by, name, member_name(m, by)))
            .map(to_member)
    }

    /// `invitee`'s pending invitation, when the snapshot shows one. No vendor lists invitees
    /// by user id: by user id, this is `None`.
    pub fn invitation(&self, invitee: &Invitee) -> Option<Invitation> {
        self.find(&self.pending, invitee)
    }

    /// `invitee`'s newest expired or failed invitation, when the snapshot shows one.
    pub fn lapsed_invitation(&self, invitee: &Invitee) -> Option<Invitation> {
        self.find(&self.lapsed, invitee)
    }

    /// How many expired or failed invitations of `invitee` the snapshot shows (as far as the
    /// vendor still lists them: GitHub drops failed invitations after a while).
    pub fn lapsed_count(&self, invitee: &Invitee) -> usize {
        self.position(&self.lapsed, invitee)
            .and_then(|p| self.lapsed_rounds.get(&p))
            .map_or(0, |rounds| *rounds as usize)
    }

    fn find(&self, index: &Index, invitee: &Invitee) -> Option<Invitation> {
        self.position(index, invitee)
            .and_then(|p| self.invitations.get(p))
            .map(|entry| self.to_invitation(entry))
    }

    /// The position of `invitee`'s entry in `index`.
    fn position(&self, index: &Index, invitee: &Invitee) -> Option<u32> {
        let (by, name) = by(invitee);
        if by == By::UserId {
            return None;
        }
        index.positions(key(by, name)).find(|&p| {
            self.invitations
                .get(p)
                .is_some_and(|e| same(by, name, invitee_name(e, by)))
        })
    }

    /// Every invitation it shows: pending, then, where the vendor lists them, expired and
    /// failed ones, in the order the vendor listed them.
    pub fn invitations(&self) -> impl Iterator<Item = Invitation> + '_ {
        self.invitations
            .iter()
            .map(|entry| self.to_invitation(entry))
    }

    /// Every member it shows, in the order the vendor listed them.
    pub fn members(&self) -> impl Iterator<Item = Member> + '_ {
        self.members.iter().map(to_member)
    }

    fn to_invitation(&self, entry: &Entry) -> Invitation {
        Invitation {
            provider: self.provider,
            id: entry.id.to_string(),
            email: entry.email.as_deref().map(str::to_owned),
            login: entry.login.as_deref().map(str::to_owned),
            role: entry.role.clone(),
            status: entry.status.clone(),
            created_at: entry.created_at,
            expires_at: entry.expires_at,
            inviter: None,
            accept_url: None,
            payload: Payload::omitted(),
        }
    }
}

fn by(invitee: &Invitee) -> (By, &str) {
    match invitee {
        Invitee::Email(email) => (By::Email, email),
        Invitee::Login(login) => (By::Login, login),
        Invitee::UserId(id) => (By::UserId, id),
    }
}

fn invitee_name(entry: &Entry, by: By) -> Option<&str> {
    match by {
        By::Email => entry.email.as_deref(),
        By::Login => entry.login.as_deref(),
        By::UserId => None,
    }
}

fn member_name(member: &MemberEntry, by: By) -> Option<&str> {
    match by {
        By::Email => member.email.as_deref(),
        By::Login => member.login.as_deref(),
        By::UserId => member.user_id.as_deref(),
    }
}

fn to_member(entry: &MemberEntry) -> Member {
    Member {
        user_id: entry.user_id.as_deref().map(str::to_owned),
        login: entry.login.as_deref().map(str::to_owned),
        email: entry.email.as_deref().map(str::to_owned),
        role: entry.role.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invitation(id: &str, email: Option<&str>, login: Option<&str>) -> Invitation {
        Invitation {
            provider: ProviderKind::ALL[0],
            id: id.into(),
            email: email.map(str::to_owned),
            login: login.map(str::to_owned),
            role: Role::Member,
            status: InvitationStatus::Pending,
            created_at: Some(Timestamp::from_second(1_700_000_000).unwrap()),
            expires_at: None,
            inviter: None,
            accept_url: None,
            payload: Payload::omitted(),
        }
    }

    fn lapsed(id: &str, email: &str, created: i64, status: InvitationStatus) -> Invitation {
        Invitation {
            status,
            created_at: Some(Timestamp::from_second(created).unwrap()),
            ..invitation(id, Some(email), None)
        }
    }

    #[test]
    fn people_are_found_by_case_folded_email_login_and_user_id() {
        let mut snapshot =
            Snapshot::new(ProviderKind::ALL[0], "acme", SystemTime::UNIX_EPOCH, false);
        snapshot.add_invitation(invitation("1", Some("Ada@Example.com"), None));
        snapshot.add_invitation(invitation("2", None, Some("Grace")));
        snapshot.add_invitation(lapsed(
            "3",
            "linus@example.com",
            10,
            InvitationStatus::Expired,
        ));
        snapshot.add_invitation(lapsed(
            "4",
            "linus@example.com",
            30,
            InvitationStatus::Failed,
        ));
        snapshot.add_invitation(lapsed(
            "5",
            "linus@example.com",
            20,
            InvitationStatus::Expired,
        ));
        // Accepted or revoked invitations tell nothing a snapshot keeps.
        snapshot.add_invitation(lapsed(
            "6",
            "gone@example.com",
            5,
            InvitationStatus::Revoked,
        ));
        let mut member = Member::new();
        member.login = Some("Octocat".into());
        member.user_id = Some("583231".into());
        snapshot.add_member(member.clone());

        let id_of = |presence: Presence| match presence {
            Presence::Invited(i) | Presence::Lapsed(i) => i.id,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            id_of(snapshot.presence(&Invitee::email("ada@EXAMPLE.com"))),
            "1"
        );
        assert_eq!(id_of(snapshot.presence(&Invitee::login("GRACE"))), "2");
        assert_eq!(
            snapshot.presence(&Invitee::login("octocat")),
            Presence::Member(member.clone())
        );
        assert_eq!(
            snapshot.presence(&Invitee::user_id("583231")),
            Presence::Member(member)
        );
        assert_eq!(
            snapshot.presence(&Invitee::user_id("58323")),
            Presence::Absent
        );
        assert_eq!(
            snapshot.presence(&Invitee::login("linus")),
            Presence::Absent
        );
        // GitHub hides members' emails: whoever is not invited by email may be a member,
        // unless their invitation lapsed.
        assert_eq!(
            snapshot.presence(&Invitee::email("nobody@example.com")),
            Presence::Unknown
        );
        assert!(matches!(
            snapshot.presence(&Invitee::email("linus@example.com")),
            Presence::Lapsed(_)
        ));
        assert_eq!(
            snapshot
                .lapsed_invitation(&Invitee::email("LINUS@example.com"))
                .unwrap()
                .id,
            "4"
        );
        assert_eq!(
            snapshot.lapsed_count(&Invitee::email("linus@example.com")),
            3
        );
        assert_eq!(snapshot.lapsed_count(&Invitee::email("ada@example.com")), 0);
        assert_eq!(snapshot.pending_count(), 2);
        assert_eq!(snapshot.member_count(), 1);
        assert_eq!(snapshot.invitations().count(), 5);

        let mut clerk = Snapshot::new(ProviderKind::ALL[0], "org_1", SystemTime::UNIX_EPOCH, true);
        clerk.add_invitation(lapsed(
            "a",
            "linus@example.com",
            10,
            InvitationStatus::Expired,
        ));
        assert_eq!(
            id_of(clerk.presence(&Invitee::email("linus@example.com"))),
            "a"
        );
        assert_eq!(
            clerk.presence(&Invitee::email("new@example.com")),
            Presence::Absent
        );
    }

    #[test]
    fn names_whose_hashes_collide_are_told_apart() {
        let mut snapshot =
            Snapshot::new(ProviderKind::ALL[0], "org_1", SystemTime::UNIX_EPOCH, true);
        snapshot.add_invitation(invitation("1", Some("a@example.com"), None));
        // A second person forced onto the first one's slot, as a colliding hash would be.
        let at = snapshot.invitations.push(Entry {
            id: "2".into(),
            email: Some("b@example.com".into()),
            login: None,
            role: Role::Member,
            status: InvitationStatus::Pending,
            created_at: None,
            expires_at: None,
        });
        let first = key(By::Email, "a@example.com");
        snapshot.pending.overflow.push((first, at));
        // Looked up under the same hash: each name finds its own entry only.
        let found = snapshot
            .pending
            .positions(first)
            .filter_map(|p| snapshot.invitations.get(p))
            .filter(|e| same(By::Email, "B@example.com", e.email.as_deref()))
            .count();
        assert_eq!(found, 1);
        assert_eq!(
            snapshot
                .invitation(&Invitee::email("A@example.com"))
                .unwrap()
                .id,
            "1"
        );
    }
}
