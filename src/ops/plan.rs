//! Plans: what it takes to make a vendor's organization match a roster, computed from the
//! roster and a [`Snapshot`] of the organization without any request.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;

use crate::model::invitation::Invitation;
use crate::model::kind::ProviderKind;
use crate::model::request::{CreateInvitation, Invitee, Role};
use crate::model::snapshot::{Presence, Snapshot};
use crate::ops::roster::{Roster, DEFAULT_REINVITE_ROUNDS};
use crate::vendors::roster_rules;

/// What a plan does for one person, or one invitation or member the roster does not list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// Invite: not a member, no pending invitation.
    Invite,
    /// Invite again: the last invitation expired or failed (within the roster's rounds).
    Reinvite,
    /// Cancel the pending invitation and invite again: it gives another role.
    Update,
    /// Cancel a pending invitation of someone the roster does not list.
    Cancel,
    /// Nothing to do: a member, invited as the roster says, or a change the options leave
    /// out (the reason says which).
    Unchanged,
    /// A member, or a pending invitation, the roster does not list: reported, never removed
    /// (a pending invitation is cancelled with [`PlanOptions::cancel_unlisted`]).
    Unmanaged,
    /// The roster's entry cannot be carried out (a role the vendor does not have): see
    /// [`Roster::lint`].
    Invalid,
}

impl Action {
    /// `invite`, `reinvite`, `update`, `cancel`, `unchanged`, `unmanaged` or `invalid`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Invite => "invite",
            Action::Reinvite => "reinvite",
            Action::Update => "update",
            Action::Cancel => "cancel",
            Action::Unchanged => "unchanged",
            Action::Unmanaged => "unmanaged",
            Action::Invalid => "invalid",
        }
    }

    /// Whether carrying it out sends a request that changes something.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Action::Invite | Action::Reinvite | Action::Update | Action::Cancel
        )
    }
}

/// One line of a plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Change {
    /// What is done.
    pub action: Action,
    /// The person's position in the roster's `people`, when the roster lists them.
    pub person: Option<usize>,
    /// Who: the roster's email, or the invitation's or member's.
    pub email: Option<String>,
    /// Who, by login (GitHub).
    pub login: Option<String>,
    /// The role the person gets (invite, reinvite, update) or has.
    pub role: Option<Role>,
    /// The teams the invitation adds the person to (GitHub).
    pub teams: Vec<String>,
    /// The invitation concerned: the one cancelled (cancel, update), the one that lapsed
    /// (reinvite), the pending one (unchanged).
    pub invitation: Option<String>,
    /// Why, in words.
    pub reason: String,
}

impl Change {
    /// Who the change is about, as printed: the login, else the email.
    pub fn who(&self) -> &str {
        self.login
            .as_deref()
            .or(self.email.as_deref())
            .unwrap_or_default()
    }
}

/// The plan for one vendor's organization.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct VendorPlan {
    /// The vendor.
    pub provider: ProviderKind,
    /// The roster's key for it (`github`, `clerk`, `elastic`).
    pub key: String,
    /// The organization.
    pub organization: String,
    /// One change per person the roster wants there, then per pending invitation and member
    /// it does not list.
    pub changes: Vec<Change>,
    /// Why carrying the plan out is refused, when a guard refuses it: more cancellations than
    /// [`PlanOptions::max_cancel_fraction`] allows.
    pub refused: Option<String>,
}

/// What a plan may do beyond inviting: the guards of a roster run, off by default.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PlanOptions {
    /// Cancel pending invitations of people the roster does not list. Off by default: they
    /// are reported as unmanaged.
    pub cancel_unlisted: bool,
    /// Cancel and send again a pending invitation that gives another role. Off by default:
    /// it is reported as unchanged, with the difference.
    pub update: bool,
    /// The largest share of the pending invitations the plan may cancel; beyond it the plan
    /// is refused ([`VendorPlan::refused`]). 0.25 by default.
    pub max_cancel_fraction: f64,
}

impl Default for PlanOptions {
    fn default() -> PlanOptions {
        PlanOptions {
            cancel_unlisted: false,
            update: false,
            max_cancel_fraction: 0.25,
        }
    }
}

impl PlanOptions {
    setters! {
        /// Cancels pending invitations of people the roster does not list.
        cancel_unlisted(self, on: bool) { self.cancel_unlisted = on }

        /// Sends again pending invitations that give another role.
        update(self, on: bool) { self.update = on }

        /// Sets the largest share of the pending invitations the plan may cancel (0 to 1).
        max_cancel_fraction(self, fraction: f64) { self.max_cancel_fraction = fraction.clamp(0.0, 1.0) }
    }
}

/// How many invitations the roster wants sent again, at most, for one person: the rounds
/// already sent, counted from the snapshot and from the caller's records (a journal), and
/// the cap.
fn rounds_left(sent: usize, earlier: u32, cap: u32) -> Option<u32> {
    let sent = u32::try_from(sent).unwrap_or(u32::MAX).max(earlier);
    (sent < cap).then_some(sent + 1)
}

impl VendorPlan {
    /// The plan that makes the organization `snapshot` shows match `roster`, or `None` when
    /// the roster does not manage that vendor. `earlier_rounds` says how many invitations
    /// earlier runs made for a person (known by the case-folded email, or `login:` and the
    /// case-folded login), where the vendor no longer lists them all: a person's rounds are
    /// the larger of that and the lapsed invitations the snapshot shows. It may say nothing
    /// (`|_| 0`).
    pub fn new(
        roster: &Roster,
        snapshot: &Snapshot,
        options: &PlanOptions,
        earlier_rounds: impl Fn(&str) -> u32,
    ) -> Option<VendorPlan> {
        let provider = snapshot.provider();
        let (key, section) = roster.organization(provider)?;
        let rules = roster_rules(key)?;
        let cap = section.reinvite_rounds.unwrap_or(DEFAULT_REINVITE_ROUNDS);
        let mut changes = Vec::new();
        // Who the roster lists here, case-folded, to tell the unlisted apart.
        let mut listed: HashSet<String> = HashSet::new();
        for (at, person) in roster.people.iter().enumerate() {
            let Some(entry) = person.entry(key) else {
                continue;
            };
            listed.insert(format!("email:{}", person.email.to_lowercase()));
            let login = entry.login.clone().filter(|_| rules.check_login.is_some());
            if let Some(login) = &login {
                listed.insert(format!("login:{}", login.to_lowercase()));
            }
            let mut change = Change {
                action: Action::Invite,
                person: Some(at),
                email: Some(person.email.clone()),
                login: login.clone(),
                role: None,
                teams: entry.teams.clone(),
                invitation: None,
                reason: String::new(),
            };
            let wanted = match entry.role.as_deref().map(rules.role) {
                None => Role::Member,
                Some(Ok(role)) => role,
                Some(Err(why)) => {
                    change.action = Action::Invalid;
                    change.reason = why;
                    changes.push(change);
                    continue;
                }
            };
            change.role = Some(wanted.clone());
            let invitee = match &login {
                Some(login) => Invitee::login(login.clone()),
                None => Invitee::email(person.email.clone()),
            };
            let (action, reason, invitation) = match snapshot.presence(&invitee) {
                Presence::Member(member) => {
                    if let Some(role) = member.role {
                        change.role = Some(role);
                    }
                    (Action::Unchanged, "a member".to_owned(), None)
                }
                Presence::Invited(invitation) if invitation.role == wanted => (
                    Action::Unchanged,
                    format!("invited as {wanted}"),
                    Some(invitation.id),
                ),
                Presence::Invited(invitation) if options.update => (
                    Action::Update,
                    format!("invited as {}, wanted as {wanted}", invitation.role),
                    Some(invitation.id),
                ),
                Presence::Invited(invitation) => {
                    change.role = Some(invitation.role.clone());
                    (
                        Action::Unchanged,
                        format!(
                            "invited as {}, wanted as {wanted} (updates are off)",
                            invitation.role
                        ),
                        Some(invitation.id),
                    )
                }
                Presence::Lapsed(invitation) => {
                    let name = match &login {
                        Some(login) => format!("login:{}", login.to_lowercase()),
                        None => person.email.to_lowercase(),
                    };
                    let sent = snapshot.lapsed_count(&invitee);
                    lapsed(
                        &invitation,
                        rounds_left(sent, earlier_rounds(&name), cap),
                        cap,
                    )
                }
                Presence::Absent => (
                    Action::Invite,
                    "not a member, no pending invitation".to_owned(),
                    None,
                ),
                _ => (
                    Action::Invite,
                    "no pending invitation (whether a member cannot be told: the vendor does \
                     not show members' email addresses)"
                        .to_owned(),
                    None,
                ),
            };
            change.action = action;
            change.reason = reason;
            change.invitation = invitation;
            changes.push(change);
        }
        let is_listed = |email: Option<&str>, login: Option<&str>| {
            email.is_some_and(|e| listed.contains(&format!("email:{}", e.to_lowercase())))
                || login.is_some_and(|l| listed.contains(&format!("login:{}", l.to_lowercase())))
        };
        let mut cancels = 0usize;
        for invitation in snapshot.invitations() {
            let pending = invitation.status == crate::model::invitation::InvitationStatus::Pending;
            if !pending || is_listed(invitation.email.as_deref(), invitation.login.as_deref()) {
                continue;
            }
            let (action, reason) = if options.cancel_unlisted {
                cancels += 1;
                (
                    Action::Cancel,
                    "a pending invitation for someone the roster does not list".to_owned(),
                )
            } else {
                (
                    Action::Unmanaged,
                    "a pending invitation for someone the roster does not list (cancelling is \
                     off)"
                        .to_owned(),
                )
            };
            changes.push(Change {
                action,
                person: None,
                email: invitation.email.clone(),
                login: invitation.login.clone(),
                role: Some(invitation.role.clone()),
                teams: Vec::new(),
                invitation: Some(invitation.id),
                reason,
            });
        }
        for member in snapshot.members() {
            if is_listed(member.email.as_deref(), member.login.as_deref()) {
                continue;
            }
            changes.push(Change {
                action: Action::Unmanaged,
                person: None,
                email: member.email,
                login: member.login,
                role: member.role,
                teams: Vec::new(),
                invitation: None,
                reason: "a member the roster does not list (never removed)".to_owned(),
            });
        }
        let pending = snapshot.pending_count();
        let refused = (cancels > 0
            && cancels as f64 > options.max_cancel_fraction * pending as f64)
            .then(|| {
                format!(
                    "{cancels} of {pending} pending invitations would be cancelled, more than \
                     the {} allowed",
                    options.max_cancel_fraction
                )
            });
        Some(VendorPlan {
            provider,
            key: key.to_owned(),
            organization: section.org.clone(),
            changes,
            refused,
        })
    }

    /// How many changes of `action`.
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    /// Whether carrying it out would change nothing.
    pub fn is_empty(&self) -> bool {
        !self.changes.iter().any(|change| change.action.writes())
    }

    /// The invitations carrying it out creates (invite, reinvite, update), in order, each
    /// with its person's role and teams.
    pub fn invitations(&self) -> Vec<CreateInvitation> {
        let Some(rules) = roster_rules(&self.key) else {
            return Vec::new();
        };
        self.changes
            .iter()
            .filter(|change| {
                matches!(
                    change.action,
                    Action::Invite | Action::Reinvite | Action::Update
                )
            })
            .map(|change| {
                let invitee = match (&change.login, &change.email) {
                    (Some(login), _) => Invitee::login(login.clone()),
                    (None, email) => Invitee::email(email.clone().unwrap_or_default()),
                };
                let request = CreateInvitation::new(self.organization.clone(), invitee)
                    .role(change.role.clone().unwrap_or_default());
                (rules.with_teams)(request, &change.teams)
            })
            .collect()
    }

    /// The invitations carrying it out cancels (cancel, and the old one of an update).
    pub fn cancellations(&self) -> Vec<String> {
        self.changes
            .iter()
            .filter(|change| matches!(change.action, Action::Cancel | Action::Update))
            .filter_map(|change| change.invitation.clone())
            .collect()
    }
}

impl fmt::Display for VendorPlan {
    /// Its summary: `Plan: 2 to invite, 1 to reinvite, 0 to update, 1 to cancel; 40
    /// unchanged, 3 unmanaged.`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Plan: {} to invite, {} to reinvite, {} to update, {} to cancel; {} unchanged, {} \
             unmanaged.",
            self.count(Action::Invite),
            self.count(Action::Reinvite),
            self.count(Action::Update),
            self.count(Action::Cancel),
            self.count(Action::Unchanged),
            self.count(Action::Unmanaged),
        )?;
        let invalid = self.count(Action::Invalid);
        if invalid > 0 {
            write!(f, " {invalid} invalid.")?;
        }
        Ok(())
    }
}

/// What to do with a person whose last invitation lapsed, `round` the next round if one is
/// left.
fn lapsed(
    invitation: &Invitation,
    round: Option<u32>,
    cap: u32,
) -> (Action, String, Option<String>) {
    let status = invitation.status.as_str();
    match round {
        Some(round) => (
            Action::Reinvite,
            format!("the last invitation {status} (round {round} of {cap})"),
            Some(invitation.id.clone()),
        ),
        None => (
            Action::Unchanged,
            format!("the last invitation {status}, and {cap} rounds were sent: not again"),
            Some(invitation.id.clone()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::model::extension::Payload;
    use crate::model::invitation::InvitationStatus;
    use crate::model::snapshot::Member;

    fn invitation(id: &str, email: Option<&str>, login: Option<&str>, role: Role) -> Invitation {
        Invitation {
            provider: ProviderKind::ALL[0],
            id: id.into(),
            email: email.map(str::to_owned),
            login: login.map(str::to_owned),
            role,
            status: InvitationStatus::Pending,
            created_at: Some(jiff::Timestamp::from_second(1_700_000_000).unwrap()),
            expires_at: None,
            inviter: None,
            accept_url: None,
            payload: Payload::omitted(),
        }
    }

    fn lapsed(id: &str, email: &str, second: i64) -> Invitation {
        Invitation {
            status: InvitationStatus::Expired,
            created_at: Some(jiff::Timestamp::from_second(second).unwrap()),
            ..invitation(id, Some(email), None, Role::Member)
        }
    }

    const ROSTER: &str = r#"
[github]
org = "acme"

[[people]]
email = "ADA@example.com"
github = { role = "admin" }

[[people]]
email = "bob@example.com"
github = { role = "admin", teams = ["design"] }

[[people]]
email = "carol@example.com"
github = {}

[[people]]
email = "dave@example.com"
github = {}

[[people]]
email = "eve@example.com"
github = {}

[[people]]
email = "frank@example.com"
github = { login = "Frank" }

[[people]]
email = "octo@example.com"
github = { login = "octocat" }

[[people]]
email = "mallory@example.com"
github = { role = "owner" }

[[people]]
email = "clerk-only@example.com"
clerk = {}
"#;

    /// The organization: Ada and Bob invited (Bob as a member), a stranger invited, Carol's
    /// invitation expired once, Dave's three times, Octocat and a ghost members.
    fn github_snapshot() -> Snapshot {
        let mut snapshot =
            Snapshot::new(ProviderKind::ALL[0], "acme", SystemTime::UNIX_EPOCH, false);
        snapshot.add_invitation(invitation("1", Some("ada@example.com"), None, Role::Admin));
        snapshot.add_invitation(invitation("2", Some("bob@example.com"), None, Role::Member));
        snapshot.add_invitation(invitation(
            "3",
            Some("stranger@example.com"),
            None,
            Role::Member,
        ));
        snapshot.add_invitation(lapsed("4", "carol@example.com", 10));
        for (id, second) in [("5", 10), ("6", 20), ("7", 30)] {
            snapshot.add_invitation(lapsed(id, "dave@example.com", second));
        }
        snapshot.add_member(Member::listed(
            Some("1".into()),
            Some("Octocat".into()),
            None,
            None,
        ));
        snapshot.add_member(Member::listed(
            Some("2".into()),
            Some("ghost".into()),
            None,
            None,
        ));
        snapshot
    }

    fn table(plan: &VendorPlan) -> Vec<(Action, String, Option<String>, String)> {
        plan.changes
            .iter()
            .map(|c| {
                (
                    c.action,
                    c.who().to_owned(),
                    c.invitation.clone(),
                    c.reason.clone(),
                )
            })
            .collect()
    }

    fn row(
        action: Action,
        who: &str,
        invitation: Option<&str>,
        reason: &str,
    ) -> (Action, String, Option<String>, String) {
        (
            action,
            who.to_owned(),
            invitation.map(str::to_owned),
            reason.to_owned(),
        )
    }

    #[test]
    fn every_change_with_its_reason_on_a_vendor_that_hides_members_emails() {
        let roster = Roster::from_toml(ROSTER).unwrap();
        let snapshot = github_snapshot();
        let plan = VendorPlan::new(&roster, &snapshot, &PlanOptions::default(), |_| 0).unwrap();
        use Action::*;
        assert_eq!(
            table(&plan),
            [
                row(Unchanged, "ADA@example.com", Some("1"), "invited as admin"),
                row(Unchanged, "bob@example.com", Some("2"), "invited as member, wanted as admin (updates are off)"),
                row(Reinvite, "carol@example.com", Some("4"), "the last invitation expired (round 2 of 3)"),
                row(Unchanged, "dave@example.com", Some("7"), "the last invitation expired, and 3 rounds were sent: not again"),
                row(Invite, "eve@example.com", None, "no pending invitation (whether a member cannot be told: the vendor does not show members' email addresses)"),
                row(Invite, "Frank", None, "not a member, no pending invitation"),
                row(Unchanged, "octocat", None, "a member"),
                row(Invalid, "mallory@example.com", None, "unknown role \"owner\" (admin, member or billing-manager)"),
                row(Unmanaged, "stranger@example.com", Some("3"), "a pending invitation for someone the roster does not list (cancelling is off)"),
                row(Unmanaged, "ghost", None, "a member the roster does not list (never removed)"),
            ]
        );
        assert_eq!(
            plan.to_string(),
            "Plan: 2 to invite, 1 to reinvite, 0 to update, 0 to cancel; 4 unchanged, 2 unmanaged. 1 invalid."
        );
        assert_eq!(plan.refused, None);
        assert!(plan.cancellations().is_empty());
        let invited: Vec<String> = plan
            .invitations()
            .iter()
            .map(|r| format!("{:?} {}", r.invitee, r.role))
            .collect();
        assert_eq!(
            invited,
            [
                "Email(\"carol@example.com\") member",
                "Email(\"eve@example.com\") member",
                "Login(\"Frank\") member"
            ]
        );
        // The journal says Carol was invited again twice already: the cap is reached.
        let capped = VendorPlan::new(&roster, &snapshot, &PlanOptions::default(), |who| {
            u32::from(who == "carol@example.com") * 3
        })
        .unwrap();
        assert_eq!(capped.changes[2].action, Unchanged);
        // The plan serializes.
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["changes"][2]["action"], "reinvite");
        assert_eq!(json["key"], "github");
    }

    #[test]
    fn updates_and_cancellations_only_when_asked_and_within_the_fraction() {
        let roster = Roster::from_toml(ROSTER).unwrap();
        let snapshot = github_snapshot();
        let options = PlanOptions::default().update(true).cancel_unlisted(true);
        // One of three pending invitations cancelled: over a quarter, refused.
        let plan = VendorPlan::new(&roster, &snapshot, &options, |_| 0).unwrap();
        assert_eq!(
            (plan.count(Action::Update), plan.count(Action::Cancel)),
            (1, 1)
        );
        assert_eq!(
            plan.refused.as_deref(),
            Some("1 of 3 pending invitations would be cancelled, more than the 0.25 allowed")
        );
        assert_eq!(plan.cancellations(), ["2", "3"]);
        let bob = plan
            .invitations()
            .into_iter()
            .find(|r| r.invitee.as_email() == Some("bob@example.com"))
            .unwrap();
        assert_eq!(bob.role, Role::Admin);
        // Within a half: allowed.
        let options = options.max_cancel_fraction(0.5);
        let plan = VendorPlan::new(&roster, &snapshot, &options, |_| 0).unwrap();
        assert_eq!(plan.refused, None);
        assert_eq!(
            plan.to_string(),
            "Plan: 2 to invite, 1 to reinvite, 1 to update, 1 to cancel; 3 unchanged, 1 unmanaged. 1 invalid."
        );
    }

    #[test]
    fn a_vendor_that_shows_emails_tells_absent_from_unknown_and_an_unmanaged_vendor_has_no_plan() {
        let roster = Roster::from_toml(
            "[clerk]\norg = \"org_1\"\n[[people]]\nemail = \"In@Example.com\"\nclerk = { role = \"org:admin\" }\n[[people]]\nemail = \"new@example.com\"\nclerk = {}\n",
        )
        .unwrap();
        let clerk = ProviderKind::ALL[1];
        let mut snapshot = Snapshot::new(clerk, "org_1", SystemTime::UNIX_EPOCH, true);
        snapshot.add_member(Member::listed(
            Some("user_1".into()),
            None,
            Some("in@example.com".into()),
            Some(Role::Admin),
        ));
        let plan = VendorPlan::new(&roster, &snapshot, &PlanOptions::default(), |_| 0).unwrap();
        use Action::*;
        assert_eq!(
            table(&plan),
            [
                row(Unchanged, "In@Example.com", None, "a member"),
                row(
                    Invite,
                    "new@example.com",
                    None,
                    "not a member, no pending invitation"
                ),
            ]
        );
        assert_eq!(
            plan.invitations()[0].invitee,
            Invitee::email("new@example.com")
        );
        // The roster has no section for the first vendor: no plan for it.
        let other = Snapshot::new(ProviderKind::ALL[0], "acme", SystemTime::UNIX_EPOCH, false);
        assert!(VendorPlan::new(&roster, &other, &PlanOptions::default(), |_| 0).is_none());
        // Nothing to do once done.
        assert!(!plan.is_empty());
    }

    #[test]
    fn a_vendor_with_organization_role_ids_compares_roles_by_what_they_grant() {
        let roster = Roster::from_toml(
            "[elastic]\norg = \"1\"\n[[people]]\nemail = \"a@example.com\"\nelastic = { role = \"organization-admin\" }\n[[people]]\nemail = \"b@example.com\"\nelastic = { role = \"billing-manager\" }\n[[people]]\nemail = \"c@example.com\"\nelastic = { role = \"admin\" }\n",
        )
        .unwrap();
        let elastic = ProviderKind::ALL[2];
        let mut snapshot = Snapshot::new(elastic, "1", SystemTime::UNIX_EPOCH, true);
        let pending = |id: &str, email: &str, role: Role| Invitation {
            provider: elastic,
            ..invitation(id, Some(email), None, role)
        };
        snapshot.add_invitation(pending("t1", "a@example.com", Role::Admin));
        snapshot.add_invitation(pending("t2", "b@example.com", Role::Member));
        let options = PlanOptions::default().update(true);
        let plan = VendorPlan::new(&roster, &snapshot, &options, |_| 0).unwrap();
        use Action::*;
        assert_eq!(
            table(&plan),
            [
                row(Unchanged, "a@example.com", Some("t1"), "invited as admin"),
                row(
                    Update,
                    "b@example.com",
                    Some("t2"),
                    "invited as member, wanted as billing_manager"
                ),
                row(
                    Invite,
                    "c@example.com",
                    None,
                    "not a member, no pending invitation"
                ),
            ]
        );
        assert_eq!(plan.key, "elastic");
        assert_eq!(plan.cancellations(), ["t2"]);
        let roles: Vec<Role> = plan.invitations().into_iter().map(|r| r.role).collect();
        assert_eq!(roles, [Role::BillingManager, Role::Admin]);
    }
}
