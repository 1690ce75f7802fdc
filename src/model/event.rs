//! [`InvitationEvent`]: what became of an invitation, told the same way whether a vendor's
//! webhook said it or two snapshots showed it; [`EventCursor`], the saved state that turns
//! successive snapshots into events; [`Deduplicator`], which drops a webhook delivered twice.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::Mutex;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::model::extension::Payload;
use crate::model::invitation::InvitationStatus;
use crate::model::kind::ProviderKind;
use crate::model::snapshot::{Member, Snapshot};

/// What happened to an invitation or a membership.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// An invitation was sent.
    Invited,
    /// An invitation was accepted: the person is a member now.
    Accepted,
    /// An invitation was withdrawn by the organization.
    Revoked,
    /// An invitation was not accepted in time.
    Expired,
    /// The vendor could not deliver an invitation (GitHub's failed invitations).
    Failed,
    /// Someone became a member. GitHub's webhook says this when an invitation is accepted
    /// (`member_added`); polling says it for a member no invitation it saw leads to.
    MemberAdded,
    /// Someone stopped being a member.
    MemberRemoved,
    /// An invitation is no longer pending, and the vendor does not tell whether it was
    /// accepted or withdrawn: when polling, an invitation gone while someone joined whom no
    /// invitation leads to by email or login (on GitHub, which shows no member's email,
    /// anyone who accepts an invitation by email; elsewhere, someone who accepted under
    /// another address).
    Closed,
}

impl EventKind {
    /// A stable `snake_case` name: `invited`, `accepted`, `revoked`, `expired`, `failed`,
    /// `member_added`, `member_removed` or `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Invited => "invited",
            EventKind::Accepted => "accepted",
            EventKind::Revoked => "revoked",
            EventKind::Expired => "expired",
            EventKind::Failed => "failed",
            EventKind::MemberAdded => "member_added",
            EventKind::MemberRemoved => "member_removed",
            EventKind::Closed => "closed",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an event was learnt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventSource {
    /// A verified webhook delivery from the vendor.
    Webhook,
    /// Two successive snapshots ([`EventCursor`], [`Provider::poll_events`](crate::Provider::poll_events)).
    Polling,
}

/// What became of an invitation (or a membership), the same for every vendor and for both
/// sources: a vendor's webhook (`github::decode_webhook`, `clerk::decode_webhook`, feature
/// `webhooks`) or polling ([`Provider::poll_events`](crate::Provider::poll_events)).
///
/// What is known depends on the vendor and the source; see the per-vendor table in the
/// guide's "Knowing what became of an invitation". Serializing it gives one JSON object with
/// the timestamp in RFC 3339 and the vendor's payload as the vendor sent it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct InvitationEvent {
    /// The vendor.
    pub provider: ProviderKind,
    /// The organization: GitHub's login of it, Clerk's and Elastic Cloud's id.
    pub organization: String,
    /// What happened.
    pub kind: EventKind,
    /// Where it was learnt.
    pub source: EventSource,
    /// The invitation's id, when the event names one (not GitHub's `member_added`).
    pub invitation_id: Option<String>,
    /// The invitee's or member's email address, when the vendor tells it.
    pub email: Option<String>,
    /// The invitee's or member's login, when the vendor tells it (GitHub).
    pub login: Option<String>,
    /// The member's (or the invitee's) user id at the vendor, when it tells it.
    pub user_id: Option<String>,
    /// When it happened, as the vendor tells it; for what only polling sees, when the
    /// snapshot that showed it was taken (so no later than it happened plus one interval).
    pub at: Option<Timestamp>,
    /// The webhook delivery's id (`X-GitHub-Delivery`, `svix-id`): the same on a redelivery,
    /// the key to [`Deduplicator`]. `None` for polling.
    pub delivery_id: Option<String>,
    /// The vendor's payload: for a webhook, the whole delivery as a [`WebhookBody`]; for
    /// polling, nothing kept (serializes as `null`).
    pub payload: Payload,
}

impl InvitationEvent {
    /// An event with the names still to be filled in.
    pub(crate) fn new(
        provider: ProviderKind,
        organization: impl Into<String>,
        kind: EventKind,
        source: EventSource,
    ) -> InvitationEvent {
        InvitationEvent {
            provider,
            organization: organization.into(),
            kind,
            source,
            invitation_id: None,
            email: None,
            login: None,
            user_id: None,
            at: None,
            delivery_id: None,
            payload: Payload::omitted(),
        }
    }

    /// Who the event is about, for people to read: the email, else the login, else the user id.
    pub fn who(&self) -> &str {
        self.email
            .as_deref()
            .or(self.login.as_deref())
            .or(self.user_id.as_deref())
            .unwrap_or("")
    }
}

/// A webhook delivery's body as the vendor sent it, kept as the [`InvitationEvent::payload`]
/// of the event decoded from it: `event.payload.get::<WebhookBody>()`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct WebhookBody(serde_json::Value);

impl crate::model::extension::sealed::Sealed for WebhookBody {}

impl WebhookBody {
    #[cfg_attr(not(feature = "webhooks"), allow(dead_code))]
    pub(crate) fn new(body: serde_json::Value) -> WebhookBody {
        WebhookBody(body)
    }

    /// The delivery's JSON.
    pub fn json(&self) -> &serde_json::Value {
        &self.0
    }
}

/// Remembers the last `capacity` webhook delivery ids and says whether one is new: vendors
/// deliver the same event again with the same id (GitHub when asked to, Svix after a failed
/// attempt), and a receiver should act once.
///
/// Size it for the redelivery window: GitHub redelivers for 3 days (7 on Enterprise Server),
/// Svix retries for about 28 hours. It is safe to share between tasks (`&self`).
///
/// ```
/// use orginvite::events::Deduplicator;
///
/// let seen = Deduplicator::new(10_000);
/// assert!(seen.first_time("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
/// assert!(!seen.first_time("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
/// // Handling failed: let the vendor's next attempt through.
/// seen.forget("72d3162e-cc78-11e3-81ab-4c9367dc0958");
/// assert!(seen.first_time("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
/// ```
pub struct Deduplicator {
    capacity: usize,
    seen: Mutex<SeenIds>,
}

/// The ids remembered, and the order to forget them in.
type SeenIds = (HashSet<Box<str>>, VecDeque<Box<str>>);

impl fmt::Debug for Deduplicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deduplicator")
            .field("capacity", &self.capacity)
            .field("remembered", &self.len())
            .finish()
    }
}

impl Deduplicator {
    /// Remembers up to `capacity` ids (at least one), forgetting the oldest first.
    pub fn new(capacity: usize) -> Deduplicator {
        let capacity = capacity.max(1);
        Deduplicator {
            capacity,
            seen: Mutex::new((HashSet::new(), VecDeque::new())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SeenIds> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `delivery_id` is seen for the first time (of the ids remembered); it is
    /// remembered from now on.
    pub fn first_time(&self, delivery_id: &str) -> bool {
        let mut guard = self.lock();
        let (set, order) = &mut *guard;
        if set.contains(delivery_id) {
            return false;
        }
        if order.len() == self.capacity {
            if let Some(oldest) = order.pop_front() {
                set.remove(&oldest);
            }
        }
        let id: Box<str> = delivery_id.into();
        set.insert(id.clone());
        order.push_back(id);
        true
    }

    /// Forgets `delivery_id`, so that its next delivery counts as new: call it when handling
    /// a delivery failed and the vendor should be let to deliver it again.
    pub fn forget(&self, delivery_id: &str) {
        let mut guard = self.lock();
        let (set, order) = &mut *guard;
        if set.remove(delivery_id) {
            order.retain(|id| &**id != delivery_id);
        }
    }

    /// How many ids it remembers.
    pub fn len(&self) -> usize {
        self.lock().1.len()
    }

    /// Whether it remembers none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An invitation as a cursor remembers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct SeenInvitation {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    login: Option<String>,
    /// `pending`, `expired` or `failed`.
    status: String,
    /// Not in the last snapshot (kept until a second one confirms it is gone).
    #[serde(default, skip_serializing_if = "is_false")]
    missing: bool,
    /// When it went missing, someone joined whom no invitation leads to: it may be who
    /// accepted it.
    #[serde(default, skip_serializing_if = "is_false")]
    newcomers: bool,
}

/// A member as a cursor remembers them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct SeenMember {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    login: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    /// Not in the last snapshot (kept until a second one confirms it is gone).
    #[serde(default, skip_serializing_if = "is_false")]
    missing: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Two names the same without regard to case.
fn same_name(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.to_lowercase() == b.to_lowercase(),
        _ => false,
    }
}

impl SeenMember {
    /// What tells this member apart: the user id, else the login, else the email.
    fn key(&self) -> String {
        match (&self.user_id, &self.login, &self.email) {
            (Some(id), _, _) => format!("id:{id}"),
            (None, Some(login), _) => format!("login:{}", login.to_lowercase()),
            (None, None, Some(email)) => format!("email:{}", email.to_lowercase()),
            (None, None, None) => String::new(),
        }
    }

    fn from_member(member: &Member) -> SeenMember {
        SeenMember {
            user_id: member.user_id.clone(),
            login: member.login.clone(),
            email: member.email.clone(),
            missing: false,
        }
    }

    /// Whether this member is the invitee of `invitation`.
    fn is_invitee(&self, invitation: &SeenInvitation) -> bool {
        same_name(&self.email, &invitation.email) || same_name(&self.login, &invitation.login)
    }

    fn describe(&self, event: &mut InvitationEvent) {
        event.user_id = self.user_id.clone();
        event.login = self.login.clone();
        event.email = self.email.clone();
    }
}

/// The order of events with the same time: an invitation made before what became of it.
fn rank(kind: EventKind) -> u8 {
    match kind {
        EventKind::Invited => 0,
        _ => 1,
    }
}

/// What one snapshot showed, as a cursor keeps it, with the times of its invitations.
struct Seen {
    invitations: Vec<SeenInvitation>,
    /// When each invitation (by position) was made and expires.
    times: Vec<(Option<Timestamp>, Option<Timestamp>)>,
    members: Vec<SeenMember>,
}

impl Seen {
    /// The snapshot's pending, expired and failed invitations, each id once (a list read while
    /// an invitation lapses may show it pending and lapsed: lapsed wins), and its members,
    /// each once.
    fn of(snapshot: &Snapshot) -> Seen {
        let mut invitations: Vec<SeenInvitation> = Vec::new();
        let mut times = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        for invitation in snapshot.invitations() {
            let status = match invitation.status {
                InvitationStatus::Pending => "pending",
                InvitationStatus::Expired => "expired",
                InvitationStatus::Failed => "failed",
                _ => continue,
            };
            if let Some(&i) = at.get(&invitation.id) {
                if status != "pending" {
                    invitations[i].status = status.to_owned();
                    times[i] = (invitation.created_at, invitation.expires_at);
                }
                continue;
            }
            at.insert(invitation.id.clone(), invitations.len());
            times.push((invitation.created_at, invitation.expires_at));
            invitations.push(SeenInvitation {
                id: invitation.id,
                email: invitation.email,
                login: invitation.login,
                status: status.to_owned(),
                missing: false,
                newcomers: false,
            });
        }
        let mut keys = HashSet::new();
        let members = snapshot
            .members()
            .map(|m| SeenMember::from_member(&m))
            .filter(|m| keys.insert(m.key()))
            .collect();
        Seen {
            invitations,
            times,
            members,
        }
    }
}

/// Where polling left off: what the last snapshot showed of an organization's invitations and
/// members. [`EventCursor::advance`] compares the next snapshot with it and yields what
/// changed as [`InvitationEvent`]s; [`Provider::poll_events`](crate::Provider::poll_events)
/// takes the snapshot and advances in one call.
///
/// A cursor serializes (with serde) so that a watcher can save it after handling each poll's
/// events and start from it again after a restart: nothing is replayed, nothing lost. (Events
/// handled but not yet saved come again: at least once.)
///
/// An invitation that is no longer listed and whose invitee is not a member, and a member no
/// longer listed, are reported when a second snapshot in a row confirms it: a paged list read
/// while it changes can skip an entry, and one skip must not read as a withdrawal. So a
/// revoked invitation and a removed member come one poll late; an acceptance comes at once. The first snapshot a new cursor sees
/// is its starting point and yields no event. An invitation made and accepted between two
/// polls is never seen pending: polling shows only its new member
/// ([`EventKind::MemberAdded`]).
///
/// What polling can tell, per vendor:
///
/// | vendor | invited | accepted | revoked | expired / failed | members |
/// |---|---|---|---|---|---|
/// | GitHub | yes | by login or user id; an invitation by email is [`EventKind::Closed`] when it goes, with a [`EventKind::MemberAdded`] known by login (GitHub shows members' emails to no one) | yes, when nobody joined meanwhile | failed (GitHub lists expired invitations among its failed ones) | added, removed |
/// | Clerk | yes | by the member's email (its primary identifier) | yes, when nobody joined meanwhile | expired | added, removed |
/// | Elastic Cloud | yes | by the member's email | yes, when nobody joined meanwhile | expired | added, removed |
///
/// ```
/// use orginvite::events::{EventCursor, EventKind};
/// use orginvite::testkit::Sandbox;
/// use orginvite::{CreateInvitation, Provider};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), orginvite::Error> {
/// let (fake, clerk) = Sandbox::clerk().await;
/// let mut cursor = EventCursor::new();
/// assert!(clerk.poll_events(fake.organization(), &mut cursor).await?.is_empty());
///
/// let invitation = clerk
///     .create_invitation(&CreateInvitation::email(fake.organization(), "jane@example.com"))
///     .await?;
/// let events = clerk.poll_events(fake.organization(), &mut cursor).await?;
/// assert_eq!(events[0].kind, EventKind::Invited);
///
/// fake.accept(&invitation.id);
/// let events = clerk.poll_events(fake.organization(), &mut cursor).await?;
/// assert_eq!(events.len(), 1);
/// assert_eq!(events[0].kind, EventKind::Accepted);
/// assert_eq!(events[0].email.as_deref(), Some("jane@example.com"));
/// // Saved and read back, it goes on where it was.
/// let saved = serde_json::to_string(&cursor).unwrap();
/// let mut cursor: EventCursor = serde_json::from_str(&saved).unwrap();
/// assert!(clerk.poll_events(fake.organization(), &mut cursor).await?.is_empty());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider: Option<ProviderKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    organization: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    taken_at: Option<Timestamp>,
    /// Invitations, in the order the vendor listed them.
    #[serde(default)]
    invitations: Vec<SeenInvitation>,
    #[serde(default)]
    members: Vec<SeenMember>,
}

impl EventCursor {
    /// A cursor that has seen nothing: the first snapshot it sees is its starting point.
    pub fn new() -> EventCursor {
        EventCursor::default()
    }

    /// Whether it has seen a snapshot yet.
    pub fn is_started(&self) -> bool {
        self.taken_at.is_some()
    }

    /// The vendor and organization of the snapshots it has seen, once it has seen one.
    pub fn place(&self) -> Option<(ProviderKind, &str)> {
        Some((self.provider?, self.organization.as_deref()?))
    }

    /// Whether it follows `organization` at `provider`: the same vendor, and the same name
    /// without regard to ASCII case (GitHub's organization names ignore case).
    pub fn follows(&self, provider: ProviderKind, organization: &str) -> bool {
        self.place()
            .is_some_and(|(p, o)| p == provider && o.eq_ignore_ascii_case(organization))
    }

    /// When the last snapshot it saw was taken.
    pub fn last_seen(&self) -> Option<Timestamp> {
        self.taken_at
    }

    /// How many invitations (pending, expired, failed) and members it remembers.
    pub fn counts(&self) -> (usize, usize) {
        (self.invitations.len(), self.members.len())
    }

    /// Compares `snapshot` with the last one seen, returns what changed, and remembers
    /// `snapshot` instead. A snapshot of another vendor or organization than the last one
    /// starts the cursor again (no events): check [`EventCursor::follows`] first to refuse it.
    pub fn advance(&mut self, snapshot: &Snapshot) -> Vec<InvitationEvent> {
        let provider = snapshot.provider();
        let organization = snapshot.organization();
        let taken_at = Timestamp::try_from(snapshot.taken_at()).ok();
        let mut seen = Seen::of(snapshot);
        let events = if self.follows(provider, organization) {
            self.diff(provider, organization, taken_at, &mut seen)
        } else {
            Vec::new()
        };
        *self = EventCursor {
            provider: Some(provider),
            organization: Some(organization.to_owned()),
            taken_at,
            invitations: seen.invitations,
            members: seen.members,
        };
        events
    }

    /// The events from the last snapshot to `seen`; what `seen` misses for the first time is
    /// added to it, marked missing.
    fn diff(
        &self,
        provider: ProviderKind,
        organization: &str,
        taken_at: Option<Timestamp>,
        seen: &mut Seen,
    ) -> Vec<InvitationEvent> {
        let event = |kind: EventKind| {
            let mut event =
                InvitationEvent::new(provider, organization, kind, EventSource::Polling);
            event.at = taken_at;
            event
        };
        let about = |mut event: InvitationEvent, invitation: &SeenInvitation| {
            event.invitation_id = Some(invitation.id.clone());
            event.email = invitation.email.clone();
            event.login = invitation.login.clone();
            event
        };
        let lapse = |status: &str| match status {
            "failed" => EventKind::Failed,
            _ => EventKind::Expired,
        };
        let earlier: HashMap<&str, &SeenInvitation> = self
            .invitations
            .iter()
            .map(|i| (i.id.as_str(), i))
            .collect();
        let listed: HashSet<&str> = seen.invitations.iter().map(|i| i.id.as_str()).collect();
        let before: HashSet<String> = self.members.iter().map(SeenMember::key).collect();
        // Who joined since: not even a missing member of the last snapshot.
        let mut joined: Vec<usize> = (0..seen.members.len())
            .filter(|&i| !before.contains(&seen.members[i].key()))
            .collect();
        let mut events = Vec::new();

        for (invitation, &(created_at, expires_at)) in seen.invitations.iter().zip(&seen.times) {
            match earlier.get(invitation.id.as_str()) {
                None => {
                    let mut invited = about(event(EventKind::Invited), invitation);
                    invited.at = match (created_at, taken_at) {
                        (Some(made), Some(seen)) => Some(made.min(seen)),
                        (made, seen) => made.or(seen),
                    };
                    events.push(invited);
                    if invitation.status != "pending" {
                        events.push(about(event(lapse(&invitation.status)), invitation));
                    }
                }
                Some(earlier) if earlier.status == "pending" && invitation.status != "pending" => {
                    let mut lapsed = about(event(lapse(&invitation.status)), invitation);
                    if invitation.status == "expired" {
                        lapsed.at = expires_at.filter(|at| Some(*at) <= taken_at).or(taken_at);
                    }
                    events.push(lapsed);
                }
                Some(_) => {}
            }
        }

        // Pending invitations no longer listed. First, those whose invitee is a member now
        // (preferably one who just joined): accepted.
        let mut gone: Vec<&SeenInvitation> = Vec::new();
        for earlier in &self.invitations {
            if earlier.status != "pending" || listed.contains(earlier.id.as_str()) {
                continue;
            }
            let newcomer = joined
                .iter()
                .position(|&i| seen.members[i].is_invitee(earlier));
            let member = match newcomer {
                Some(at) => Some(&seen.members[joined.remove(at)]),
                None => seen.members.iter().find(|m| m.is_invitee(earlier)),
            };
            match member {
                Some(member) => {
                    let mut accepted = about(event(EventKind::Accepted), earlier);
                    accepted.user_id = member.user_id.clone();
                    accepted.login = accepted.login.or_else(|| member.login.clone());
                    accepted.email = accepted.email.or_else(|| member.email.clone());
                    events.push(accepted);
                }
                None => gone.push(earlier),
            }
        }
        // Then the others: gone twice in a row, withdrawn, or, when someone joined whom no
        // invitation leads to (they may have accepted it under another name), closed. Gone
        // once: kept, marked missing.
        let newcomers = !joined.is_empty();
        for earlier in gone {
            if !earlier.missing {
                seen.invitations.push(SeenInvitation {
                    missing: true,
                    newcomers,
                    ..earlier.clone()
                });
                continue;
            }
            let kind = if earlier.newcomers || newcomers {
                EventKind::Closed
            } else {
                EventKind::Revoked
            };
            events.push(about(event(kind), earlier));
        }

        for &i in &joined {
            let mut added = event(EventKind::MemberAdded);
            seen.members[i].describe(&mut added);
            events.push(added);
        }
        let after: HashSet<String> = seen.members.iter().map(SeenMember::key).collect();
        for member in self.members.iter().filter(|m| !after.contains(&m.key())) {
            if !member.missing {
                seen.members.push(SeenMember {
                    missing: true,
                    ..member.clone()
                });
                continue;
            }
            let mut removed = event(EventKind::MemberRemoved);
            member.describe(&mut removed);
            events.push(removed);
        }
        events.sort_by_key(|event| (event.at, rank(event.kind)));
        events
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::model::invitation::Invitation;
    use crate::model::request::Role;

    fn invitation(id: &str, email: Option<&str>, login: Option<&str>) -> Invitation {
        Invitation {
            provider: ProviderKind::ALL[1],
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

    /// A snapshot `minutes` after the first, showing emails of members or not.
    fn snapshot(
        minutes: u64,
        show_emails: bool,
        invitations: &[Invitation],
        members: &[Member],
    ) -> Snapshot {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + minutes * 60);
        let mut snapshot = Snapshot::new(ProviderKind::ALL[1], "org_1", at, show_emails);
        for invitation in invitations {
            snapshot.add_invitation(invitation.clone());
        }
        for member in members {
            snapshot.add_member(member.clone());
        }
        snapshot
    }

    fn member(id: &str, login: Option<&str>, email: Option<&str>) -> Member {
        Member::listed(
            Some(id.into()),
            login.map(Into::into),
            email.map(Into::into),
            None,
        )
    }

    fn briefs(events: &[InvitationEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| format!("{} {} {:?}", e.kind, e.who(), e.invitation_id))
            .collect()
    }

    #[test]
    fn the_first_snapshot_is_the_starting_point_and_another_place_starts_again() {
        let mut cursor = EventCursor::new();
        let first = snapshot(0, true, &[invitation("1", Some("a@x.io"), None)], &[]);
        assert!(cursor.advance(&first).is_empty());
        assert!(cursor.is_started());
        assert_eq!(cursor.counts(), (1, 0));
        // The same again: nothing happened.
        assert!(cursor.advance(&first).is_empty());
        // Another organization: a new starting point, no events.
        let mut other = Snapshot::new(ProviderKind::ALL[1], "org_2", SystemTime::UNIX_EPOCH, true);
        other.add_invitation(invitation("9", Some("z@x.io"), None));
        assert!(cursor.advance(&other).is_empty());
        assert_eq!(cursor.counts(), (1, 0));
    }

    #[test]
    fn members_who_come_and_go_and_invitations_that_lapse_between_polls() {
        let mut cursor = EventCursor::new();
        let old = || member("u1", None, Some("old@x.io"));
        cursor.advance(&snapshot(0, true, &[], &[old()]));
        let made_and_expired = Invitation {
            status: InvitationStatus::Expired,
            ..invitation("2", Some("late@x.io"), None)
        };
        let newcomer = member("u2", None, Some("new@x.io"));
        let events = cursor.advance(&snapshot(
            1,
            true,
            std::slice::from_ref(&made_and_expired),
            std::slice::from_ref(&newcomer),
        ));
        assert_eq!(
            briefs(&events),
            [
                "invited late@x.io Some(\"2\")",
                "expired late@x.io Some(\"2\")",
                "member_added new@x.io None",
            ]
        );
        // The invitation's time is when it was made; what only polling saw, the snapshot's.
        assert_eq!(events[0].at.unwrap().as_second(), 1_700_000_000);
        assert_eq!(events[2].at.unwrap().as_second(), 1_800_000_060);
        // The member gone at the second snapshot is reported when the third confirms it.
        let later = cursor.advance(&snapshot(2, true, &[made_and_expired], &[newcomer]));
        assert_eq!(briefs(&later), ["member_removed old@x.io None"]);
    }

    #[test]
    fn an_entry_a_paged_read_skipped_once_is_no_event() {
        let pending = [invitation("1", Some("a@x.io"), None)];
        let members = [member("u1", Some("al"), None)];
        let mut cursor = EventCursor::new();
        cursor.advance(&snapshot(0, true, &pending, &members));
        // Skipped once: nothing yet.
        assert!(cursor.advance(&snapshot(1, true, &[], &[])).is_empty());
        // Back: nothing happened, and no second `invited`.
        assert!(cursor
            .advance(&snapshot(2, true, &pending, &members))
            .is_empty());
        // Gone twice in a row: withdrawn.
        assert!(cursor.advance(&snapshot(3, true, &[], &members)).is_empty());
        let events = cursor.advance(&snapshot(4, true, &[], &members));
        assert_eq!(briefs(&events), ["revoked a@x.io Some(\"1\")"]);
    }

    #[test]
    fn an_invitation_listed_twice_in_one_read_counts_once_and_lapsed() {
        let mut cursor = EventCursor::new();
        cursor.advance(&snapshot(0, false, &[], &[]));
        let pending = invitation("5", None, Some("octo"));
        let failed = Invitation {
            status: InvitationStatus::Failed,
            ..pending.clone()
        };
        let events = cursor.advance(&snapshot(1, false, &[pending, failed], &[]));
        assert_eq!(
            briefs(&events),
            ["invited octo Some(\"5\")", "failed octo Some(\"5\")"]
        );
        assert_eq!(cursor.counts(), (1, 0));
    }

    #[test]
    fn an_invitation_gone_while_someone_unlinked_joined_is_closed_whatever_the_order() {
        let pending = [
            invitation("1", Some("a@x.io"), None),
            invitation("2", None, Some("octo")),
        ];
        // Both went; nobody joined: both withdrawn, once confirmed.
        let mut cursor = EventCursor::new();
        cursor.advance(&snapshot(0, false, &pending, &[]));
        assert!(cursor.advance(&snapshot(1, false, &[], &[])).is_empty());
        let events = cursor.advance(&snapshot(2, false, &[], &[]));
        assert_eq!(
            briefs(&events),
            ["revoked a@x.io Some(\"1\")", "revoked octo Some(\"2\")"]
        );

        // Both went and only `octo` joined, who accepted theirs: the other was withdrawn,
        // though it is listed first.
        let mut cursor = EventCursor::new();
        cursor.advance(&snapshot(0, false, &pending, &[]));
        let octo = [member("7", Some("octo"), None)];
        let events = cursor.advance(&snapshot(1, false, &[], &octo));
        assert_eq!(briefs(&events), ["accepted octo Some(\"2\")"]);
        assert_eq!(events[0].user_id.as_deref(), Some("7"));
        let events = cursor.advance(&snapshot(2, false, &[], &octo));
        assert_eq!(briefs(&events), ["revoked a@x.io Some(\"1\")"]);

        // Someone joined whom no invitation leads to: the email invitation may be theirs.
        let mut cursor = EventCursor::new();
        cursor.advance(&snapshot(0, true, &pending, &[]));
        let joined = [
            member("7", Some("octo"), None),
            member("8", None, Some("a.other@x.io")),
        ];
        let events = cursor.advance(&snapshot(1, true, &[], &joined));
        assert_eq!(
            briefs(&events),
            [
                "accepted octo Some(\"2\")",
                "member_added a.other@x.io None"
            ]
        );
        let events = cursor.advance(&snapshot(2, true, &[], &joined));
        assert_eq!(briefs(&events), ["closed a@x.io Some(\"1\")"]);
    }

    #[test]
    fn the_same_organization_in_another_case_is_followed_and_another_is_not() {
        let mut cursor = EventCursor::new();
        cursor.advance(&snapshot(0, true, &[], &[]));
        assert!(cursor.follows(ProviderKind::ALL[1], "ORG_1"));
        assert!(!cursor.follows(ProviderKind::ALL[1], "org_2"));
        assert!(!cursor.follows(ProviderKind::ALL[0], "org_1"));
        assert_eq!(cursor.place(), Some((ProviderKind::ALL[1], "org_1")));
    }

    #[test]
    fn a_cursor_reads_back_what_it_wrote() {
        let mut cursor = EventCursor::new();
        cursor.advance(&snapshot(
            0,
            true,
            &[invitation("1", Some("a@x.io"), None)],
            &[member("u1", Some("al"), Some("al@x.io"))],
        ));
        let saved = serde_json::to_string(&cursor).unwrap();
        let read: EventCursor = serde_json::from_str(&saved).unwrap();
        assert_eq!(read, cursor);
        assert!(serde_json::from_str::<EventCursor>(r#"{"provider":"gitlab"}"#).is_err());
    }
}
