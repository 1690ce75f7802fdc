//! Fake GitHub, Clerk and Elastic Cloud servers on loopback, for trying the crate without an
//! account and for testing your own code without hand-written mocks. Behind the `testkit`
//! feature.
//!
//! The fakes behave like the vendors as their API contracts describe, not like echo servers:
//!
//! - they check the credential, the required headers and the JSON body, and answer with the
//!   vendor's own error (status, body shape, error code, headers) when something is wrong;
//! - they keep state: a second invitation for the same email answers the vendor's
//!   "already invited", a member answers "already a member", an address at the reserved
//!   `.invalid` top-level domain (or one that is malformed) answers "invalid email", an
//!   unknown organization answers "not found";
//! - they can rate-limit ([`FakeServer::rate_limit`]) with the vendor's own 429/403 shape, and
//!   inject faults ([`FakeServer::inject`]): a 5xx, an HTML gateway page, a delay;
//! - they expose what they received ([`FakeServer::requests`]) and what they created
//!   ([`FakeServer::invitations`]).
//!
//! [`Sandbox`] starts a fake and returns it with a client already pointed at it.
//!
//! # Testing your own code
//!
//! ```
//! use orginvite::testkit::Sandbox;
//! use orginvite::{CreateInvitation, ErrorKind, Provider};
//!
//! /// Your onboarding code: invites everyone, treating "already there" as done.
//! async fn onboard(provider: &dyn Provider, org: &str, emails: &[&str]) -> usize {
//!     let mut invited = 0;
//!     for email in emails {
//!         match provider.create_invitation(&CreateInvitation::email(org, *email)).await {
//!             Ok(_) => invited += 1,
//!             Err(e) if matches!(e.kind(), ErrorKind::AlreadyInvited | ErrorKind::AlreadyMember) => {}
//!             Err(e) => panic!("onboarding failed: {e}"),
//!         }
//!     }
//!     invited
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let (fake, github) = Sandbox::github().await;
//! fake.add_member(fake.organization(), "old-timer@example.com");
//!
//! let emails = ["new@example.com", "old-timer@example.com", "new@example.com"];
//! assert_eq!(onboard(&github, fake.organization(), &emails).await, 1);
//!
//! // The fake saw three requests and holds one invitation.
//! assert_eq!(fake.requests().await.len(), 3);
//! let created = fake.invitations();
//! assert_eq!(created.len(), 1);
//! assert_eq!(created[0].email.as_deref(), Some("new@example.com"));
//! # }
//! ```
//!
//! # Fake Clerk
//!
//! [`FakeClerk`] serves `POST /v1/organizations/{organization_id}/invitations` with the
//! organization `org_sandbox` and a `sk_test_...` secret key ([`FakeServer::token`]). It checks
//! `Authorization: Bearer <key>`, the optional `Clerk-API-Version` (or `__clerk_api_version`,
//! not both), a JSON body with Clerk's fields and rules, and the role key (`org:admin`,
//! `org:member`, or one added with [`FakeServer::add_role`]). Success is `200` with an
//! `OrganizationInvitation` (timestamps in Unix milliseconds, metadata echoed); every error is
//! Clerk's `{errors: [{message, long_message, code, meta}], clerk_trace_id}` with the trace id
//! also in `Clerk-Trace-Id`, and a rate limit answers `429 too_many_requests` with
//! `Retry-After` in seconds. [`ClerkSim`] lists where the fake is simpler than Clerk.
//!
//! ```
//! use orginvite::testkit::Sandbox;
//! use orginvite::{CreateInvitation, ErrorKind};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let (fake, clerk) = Sandbox::clerk().await;
//! fake.rate_limit(1, Duration::from_secs(10));
//! let invite = |email: &str| CreateInvitation::email(fake.organization(), email);
//!
//! clerk.create_invitation(&invite("jane@example.com")).await.unwrap();
//! let again = clerk.create_invitation(&invite("jane@example.com")).await.unwrap_err();
//! assert_eq!(again.kind(), ErrorKind::AlreadyInvited);
//! // The 429 told the client to wait 10 s; it did, on the shared virtual clock.
//! assert_eq!(fake.virtual_clock().unwrap().waits(), [Duration::from_secs(10)]);
//! # }
//! ```

// A refusal is a whole HTTP answer, built once per fake request: its size does not matter.
#![allow(clippy::result_large_err)]

mod clerk;
mod elastic;
mod github;
mod github_app;
mod hooks;
#[cfg(feature = "redis")]
mod redis;
mod wire;

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use jiff::Timestamp;
use serde_json::Value;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A fake's answer to one request.
pub(crate) type Answer = ResponseTemplate;

use crate::engine::sleep::{RecordingSleeper, Sleeper, TokioSleeper};
use crate::model::invitation::InvitationStatus;

pub use clerk::ClerkSim;
pub use elastic::ElasticSim;
pub use github::{GitHubLimit, GitHubSim};
pub use github_app::TEST_APP_PRIVATE_KEY;
use hooks::Happened;
pub use hooks::WebhookDelivery;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{RedisCluster, RedisServer, REDIS_SERVER_ENV};
/// The mock-server crate the fakes are built on, for custom matchers and request types.
pub use wiremock;

/// A fault the fake answers with instead of (or before) its normal answer.
///
/// | fault | the request acts (creates, cancels) | the client sees |
/// |---|---|---|
/// | [`ServerError`](Fault::ServerError) | no | the vendor's 500 |
/// | [`HtmlGateway`](Fault::HtmlGateway) | no | a gateway's 502 HTML page |
/// | [`Delay`](Fault::Delay) | yes | the normal answer, late: a timeout if it is later than the client waits |
/// | [`CreatedThenServerError`](Fault::CreatedThenServerError) | yes | the vendor's 500 |
/// | [`CreatedThenDrop`](Fault::CreatedThenDrop) | yes | the answer's status line, then the connection breaks |
/// | [`ListLag`](Fault::ListLag) | a list leaves out fresh invitations | the normal answer |
///
/// The faults that act leave the client in doubt: the invitation exists, the answer does not
/// say so. Use them to test reconciliation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The vendor's own 500 answer. Nothing is created.
    ServerError,
    /// A 502 HTML page from a gateway in front of the vendor. Nothing is created.
    HtmlGateway,
    /// The normal answer (the invitation is created), sent after this delay: long enough, it
    /// makes the client time out after the vendor acted.
    Delay(Duration),
    /// The request acts (the invitation is created), then the vendor's own 500 answer.
    CreatedThenServerError,
    /// The request acts (the invitation is created), then the connection breaks after the
    /// answer's status line: the client sent its request and reads no answer.
    CreatedThenDrop,
    /// A list answers without the invitations created less than this long ago (on the fake's
    /// clock), as a vendor whose reads trail its writes would. Other requests answer normally.
    ListLag(Duration),
}

/// An invitation a fake holds.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeInvitation {
    /// The id the fake gave it.
    pub id: String,
    /// The organization.
    pub organization: String,
    /// The invited email, when invited by email.
    pub email: Option<String>,
    /// The invited user id, when invited by id.
    pub user_id: Option<String>,
    /// The vendor's role string as received (e.g. `direct_member`, `org:admin`; for Elastic
    /// Cloud, the organization role ids, comma-separated, empty for a plain member).
    pub role: String,
    /// When the fake created it.
    pub created_at: Timestamp,
    /// When it expires.
    pub expires_at: Option<Timestamp>,
    /// Where it stands: pending until cancelled ([`InvitationStatus::Revoked`]), or changed
    /// with [`FakeServer::set_invitation_status`]. A pending invitation past its expiry is
    /// listed as expired.
    pub status: InvitationStatus,
    /// The invitee's login, when the vendor knows one (GitHub, for an invitation by user id).
    pub login: Option<String>,
    /// Vendor-specific fields the request set and the vendor keeps on the invitation, by their
    /// wire names (Clerk: `public_metadata`, `private_metadata`, `inviter_user_id`,
    /// `redirect_url`, `notify`; Elastic Cloud: `role_assignments`); empty for vendors that
    /// keep none.
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl FakeInvitation {
    /// The status as of `now`: a pending invitation past its expiry has expired.
    pub fn status_at(&self, now: Timestamp) -> InvitationStatus {
        match (&self.status, self.expires_at) {
            (InvitationStatus::Pending, Some(expires)) if expires <= now => {
                InvitationStatus::Expired
            }
            (status, _) => status.clone(),
        }
    }
}

/// A member of an organization the fake knows: by email, user id or login, with a role.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeMember {
    /// The organization.
    pub organization: String,
    /// The member's email address, when known.
    pub email: Option<String>,
    /// The member's user id at the vendor, when known.
    pub user_id: Option<String>,
    /// The member's login or username, when known.
    pub login: Option<String>,
    /// The vendor's role string (GitHub `admin` / `member`, Clerk `org:admin` / `org:member`,
    /// Elastic Cloud an organization role id, empty for a plain member); the vendor's plain
    /// member role when empty.
    pub role: String,
}

impl FakeMember {
    /// A member of `organization` known by nothing yet, with the vendor's plain member role.
    pub fn new(organization: impl Into<String>) -> FakeMember {
        FakeMember {
            organization: organization.into(),
            email: None,
            user_id: None,
            login: None,
            role: String::new(),
        }
    }

    setters! {
        /// Sets the email.
        email(self, email: impl Into<String>) { self.email = Some(email.into()) }

        /// Sets the user id.
        user_id(self, id: impl Into<String>) { self.user_id = Some(id.into()) }

        /// Sets the login.
        login(self, login: impl Into<String>) { self.login = Some(login.into()) }

        /// Sets the vendor's role string.
        role(self, role: impl Into<String>) { self.role = role.into() }
    }
}

/// One person a request asks about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Who {
    Email(String),
    UserId(String),
    Login(String),
}

impl Who {
    fn is(&self, member: &FakeMember) -> bool {
        let same =
            |a: &Option<String>, b: &str| a.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(b));
        match self {
            Who::Email(email) => same(&member.email, email),
            Who::UserId(id) => member.user_id.as_deref() == Some(id.as_str()),
            Who::Login(login) => same(&member.login, login),
        }
    }
}

/// A window into a list: `limit` items from `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Paging {
    pub offset: usize,
    pub limit: usize,
}

impl Paging {
    /// Everything at once.
    pub(crate) const ALL: Paging = Paging {
        offset: 0,
        limit: usize::MAX,
    };
}

/// How a list is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Order {
    /// Oldest first.
    #[default]
    Created,
    /// Newest first.
    NewestFirst,
    /// By email address, ascending.
    Email,
    /// By email address, descending.
    EmailDescending,
}

/// Which invitations a list request asks for, after the vendor's checks.
#[derive(Clone, Debug)]
pub(crate) struct ListAsk {
    pub organization: String,
    /// Statuses to list; empty for all.
    pub statuses: Vec<InvitationStatus>,
    pub email: Option<String>,
    /// The vendor's role string.
    pub role: Option<String>,
    pub order: Order,
    pub paging: Paging,
}

/// What a request asks the fake to do, after the vendor's checks.
#[derive(Clone, Debug)]
pub(crate) enum Action {
    /// Create invitations, all or nothing.
    Create(Vec<Ask>),
    /// Create invitations through the vendor's batch endpoint (Clerk's bulk call), all or
    /// nothing; counted by the batch rate limit when one is set.
    CreateMany(Vec<Ask>),
    /// List invitations.
    List(ListAsk),
    /// Cancel these pending invitations, all or nothing.
    Cancel {
        organization: String,
        ids: Vec<String>,
    },
    /// One person's membership (GitHub's `memberships/{username}`).
    Membership { organization: String, who: Who },
    /// The teams of one invitation (GitHub).
    Teams { organization: String, id: String },
    /// The members, filtered by `who` when given.
    Members {
        organization: String,
        who: Option<Who>,
        paging: Paging,
    },
}

/// One page of a list, for the vendor's answer.
pub(crate) struct Listing<'a> {
    /// The list request.
    pub request: &'a Request,
    /// What it asks for, after the vendor's checks.
    pub ask: &'a ListAsk,
    /// The page's invitations.
    pub page: &'a [&'a FakeInvitation],
    /// How many invitations match in all.
    pub total: usize,
}

/// One page of the members, for the vendor's answer.
pub(crate) struct MemberListing<'a> {
    /// The list request.
    pub request: &'a Request,
    /// The organization.
    pub organization: &'a str,
    /// The page asked for.
    pub paging: Paging,
    /// The page's members, with their positions in the whole list.
    pub page: &'a [(usize, &'a FakeMember)],
    /// How many members match in all.
    pub total: usize,
}

/// What the fake knows of one person's membership.
#[derive(Clone, Copy, Debug)]
pub(crate) enum MemberFound<'a> {
    Active(&'a FakeMember),
    Pending(&'a FakeInvitation),
    Neither,
}

/// One invitation a request asks for, after the vendor's checks.
#[derive(Clone, Debug)]
pub(crate) struct Ask {
    pub organization: String,
    pub email: Option<String>,
    pub user_id: Option<String>,
    pub role: String,
    pub expires_in: Option<Duration>,
    /// Vendor-specific fields to keep on the invitation ([`FakeInvitation::details`]).
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// The rate limiter's view when it refuses a request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limited {
    pub limit: u32,
    pub reset_at: SystemTime,
    pub retry_after: Duration,
}

/// Why the fake refuses an ask, in vendor-neutral terms; each vendor renders it its way.
#[derive(Clone, Debug)]
pub(crate) enum Refusal {
    OrganizationNotFound,
    AlreadyMember(String),
    AlreadyInvited(String),
    InvalidEmail(String),
    RateLimited(Limited),
    ServerError,
    /// No invitation with this id in the organization.
    UnknownInvitation(String),
    /// The invitation exists but is no longer pending.
    NotPending(String),
}

/// A fake vendor's identity: the client it answers, the credential it takes, the organization
/// it starts with, and where the vendor's API lives on its host. Implemented by the fakes of
/// this module ([`GitHubSim`], [`ClerkSim`], [`ElasticSim`]); its supertrait, the fake's
/// contract checks and answers, is the testkit's own.
#[allow(private_bounds)]
pub trait Fake: Vendor + Default {
    /// The vendor of the client this fake answers.
    type Real: crate::Vendor;
    /// The credential the fake accepts.
    const TOKEN: &'static str;
    /// The organization the fake starts with.
    const ORGANIZATION: &'static str;
    /// The path the vendor's API lives under (`/v1`, `/api/v1`, or none).
    const BASE_PATH: &'static str;
}

/// What makes one fake vendor: its contract checks and its answer shapes.
pub(crate) trait Vendor: Send + Sync + 'static {
    /// Checks route, credential, headers, query and body; an `Err` is the vendor's own answer.
    fn parse(&self, request: &Request, token: &str, counters: &Counters) -> Result<Action, Answer>;
    /// Whether two organization names are the same one.
    fn same_organization(&self, a: &str, b: &str) -> bool {
        a == b
    }
    /// The success answer for what was created.
    fn created(&self, invitations: &[FakeInvitation], counters: &Counters) -> Answer;
    /// The success answer for what a batch request created.
    fn created_many(&self, invitations: &[FakeInvitation], counters: &Counters) -> Answer {
        self.created(invitations, counters)
    }
    /// The success answer for one page of a list.
    fn listed(&self, listing: Listing<'_>, counters: &Counters) -> Answer;
    /// The success answer for cancelled invitations (now revoked).
    fn cancelled(&self, invitations: &[FakeInvitation], counters: &Counters) -> Answer;
    /// The answer about one person's membership, for vendors with such a route.
    fn membership(&self, _found: MemberFound<'_>, counters: &Counters) -> Answer {
        self.refuse(&Refusal::OrganizationNotFound, counters)
    }
    /// The teams an invitation adds the person to (`None`: no such invitation), for vendors
    /// with such a route.
    fn teams(&self, _invitation: Option<&FakeInvitation>, counters: &Counters) -> Answer {
        self.refuse(&Refusal::OrganizationNotFound, counters)
    }
    /// The answer listing members, for vendors with such a route.
    fn members(&self, _listing: MemberListing<'_>, counters: &Counters) -> Answer {
        self.refuse(&Refusal::OrganizationNotFound, counters)
    }
    /// The vendor's answer for a refusal.
    fn refuse(&self, refusal: &Refusal, counters: &Counters) -> Answer;
    /// Makes an id for invitation number `n` (1-based).
    fn invitation_id(&self, n: u64) -> String;
    /// How long an invitation lasts when the request does not say.
    fn default_lifetime(&self) -> Duration;
    /// The role string of an invitation that names none.
    fn default_role(&self) -> &'static str;
    /// The role string of a plain member.
    fn member_role(&self) -> &'static str {
        self.default_role()
    }
    /// The member an invitation's invitee becomes on accepting it; `n` numbers the fake's
    /// members.
    fn accepted_member(&self, invitation: &FakeInvitation, n: usize) -> FakeMember {
        let member = FakeMember::new(invitation.organization.clone()).user_id(
            invitation
                .user_id
                .clone()
                .unwrap_or_else(|| format!("user_accepted{n}")),
        );
        FakeMember {
            email: invitation.email.clone(),
            login: invitation.login.clone(),
            role: invitation.role.clone(),
            ..member
        }
    }
    /// The webhook deliveries the vendor sends for what happened: (event, body). None by
    /// default: not every vendor has webhooks.
    fn webhook_events(&self, _happened: Happened<'_>, _now: Timestamp) -> Vec<(String, Value)> {
        Vec::new()
    }
    /// The id of the `n`th delivery (1-based).
    fn webhook_delivery_id(&self, n: u64) -> String {
        format!("delivery-{n}")
    }
    /// The headers of a delivery, signature included.
    fn sign_webhook(
        &self,
        _secret: &str,
        _id: &str,
        _event: &str,
        _body: &[u8],
        _now: SystemTime,
    ) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// What an answer may report: the request's number, the time, and the rate-limit window.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Counters {
    pub now: SystemTime,
    pub request_number: u64,
    pub limit: Option<u32>,
    pub remaining: Option<u32>,
    pub reset_at: Option<SystemTime>,
    /// The rate-limit window's length, when a window is configured.
    pub window: Option<Duration>,
}

impl Counters {
    /// Counters at `now` outside any request (for what a fake sends by itself).
    pub(crate) fn at(now: SystemTime) -> Counters {
        Counters {
            now,
            request_number: 0,
            limit: None,
            remaining: None,
            reset_at: None,
            window: None,
        }
    }
}

#[derive(Debug)]
struct Window {
    budget: u32,
    length: Duration,
    started: SystemTime,
    used: u32,
    /// For a rolling window: when each request it counts was accepted.
    rolling: Option<VecDeque<SystemTime>>,
}

impl Window {
    fn fixed(budget: u32, length: Duration, started: SystemTime) -> Window {
        Window {
            budget,
            length,
            started,
            used: 0,
            rolling: None,
        }
    }

    /// Counts a request accepted at `now`.
    fn accept(&mut self, now: SystemTime) {
        self.used += 1;
        if let Some(accepted) = &mut self.rolling {
            accepted.push_back(now);
        }
    }

    fn roll(&mut self, now: SystemTime) {
        if let Some(accepted) = &mut self.rolling {
            while accepted
                .front()
                .is_some_and(|at| now.duration_since(*at).unwrap_or(Duration::ZERO) >= self.length)
            {
                accepted.pop_front();
            }
            self.used = u32::try_from(accepted.len()).unwrap_or(u32::MAX);
            if let Some(oldest) = accepted.front() {
                self.started = *oldest;
            }
            return;
        }
        let elapsed = now.duration_since(self.started).unwrap_or(Duration::ZERO);
        if elapsed >= self.length {
            let windows = (elapsed.as_nanos() / self.length.as_nanos().max(1)) as u32;
            self.started = crate::engine::later(self.started, self.length.saturating_mul(windows));
            self.used = 0;
        }
    }

    fn reset_at(&self) -> SystemTime {
        crate::engine::later(self.started, self.length)
    }
}

struct State {
    organizations: Vec<String>,
    members: Vec<FakeMember>,
    invitations: Vec<FakeInvitation>,
    faults: VecDeque<Fault>,
    /// Faults drawn at random: the share of requests that get one, the faults, the draws.
    chaos: Option<(f64, Vec<Fault>, fastrand::Rng)>,
    /// Whether only requests that create (`POST`) draw from `chaos`.
    chaos_creates_only: bool,
    window: Option<Window>,
    /// The batch endpoint's own window, when it has one.
    batch_window: Option<Window>,
    requests: u64,
    rate_limited: u64,
    /// From this request number on, the credential no longer works.
    revoked_from: Option<u64>,
    /// Whether a repeated invitation creates another one instead of "already invited".
    repeats: bool,
    /// Where webhook deliveries go, once a test asks for them.
    hooks: Option<hooks::Hooks>,
}

impl State {
    fn knows_organization(&self, vendor: &dyn Vendor, organization: &str) -> bool {
        self.organizations
            .iter()
            .any(|org| vendor.same_organization(org, organization))
    }

    fn member(&self, vendor: &dyn Vendor, organization: &str, who: &Who) -> Option<&FakeMember> {
        self.members
            .iter()
            .find(|m| vendor.same_organization(&m.organization, organization) && who.is(m))
    }

    fn is_invited(&self, vendor: &dyn Vendor, ask: &Ask, now: Timestamp) -> bool {
        self.invitations.iter().any(|inv| {
            vendor.same_organization(&inv.organization, &ask.organization)
                && inv.status_at(now) == InvitationStatus::Pending
                && match (&ask.email, &ask.user_id) {
                    (Some(email), _) => inv
                        .email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(email)),
                    (None, Some(id)) => inv.user_id.as_deref() == Some(id.as_str()),
                    (None, None) => false,
                }
        })
    }

    fn add_invitation(
        &mut self,
        vendor: &dyn Vendor,
        ask: Ask,
        created_at: Timestamp,
    ) -> FakeInvitation {
        let n = self.invitations.len() as u64 + 1;
        let lifetime = ask.expires_in.unwrap_or_else(|| vendor.default_lifetime());
        let invitation = FakeInvitation {
            id: vendor.invitation_id(n),
            organization: ask.organization,
            email: ask.email,
            login: ask
                .details
                .get("login")
                .and_then(|login| login.as_str())
                .map(str::to_owned)
                .or_else(|| ask.user_id.as_ref().map(|id| format!("user{id}"))),
            user_id: ask.user_id,
            role: ask.role,
            created_at,
            expires_at: created_at.checked_add(lifetime).ok(),
            status: InvitationStatus::Pending,
            details: ask.details,
        };
        self.invitations.push(invitation.clone());
        invitation
    }

    /// The invitations a list asks for, in its order: the page and the total.
    fn list(
        &self,
        vendor: &dyn Vendor,
        ask: &ListAsk,
        now: Timestamp,
        lag: Option<Duration>,
    ) -> (Vec<&FakeInvitation>, usize) {
        // With a lag, invitations created since this moment are not shown yet.
        let shown_before = lag.and_then(|lag| now.checked_sub(lag).ok());
        let mut matching: Vec<&FakeInvitation> = self
            .invitations
            .iter()
            .filter(|inv| {
                vendor.same_organization(&inv.organization, &ask.organization)
                    && (ask.statuses.is_empty() || ask.statuses.contains(&inv.status_at(now)))
                    && ask.email.as_deref().is_none_or(|email| {
                        inv.email
                            .as_deref()
                            .is_some_and(|e| e.eq_ignore_ascii_case(email))
                    })
                    && ask.role.as_deref().is_none_or(|role| inv.role == role)
                    && shown_before.is_none_or(|before| inv.created_at <= before)
            })
            .collect();
        match ask.order {
            Order::Created => {}
            Order::NewestFirst => matching.reverse(),
            Order::Email => matching.sort_by_key(|inv| inv.email.clone().unwrap_or_default()),
            Order::EmailDescending => {
                matching.sort_by_key(|inv| std::cmp::Reverse(inv.email.clone().unwrap_or_default()))
            }
        }
        let total = matching.len();
        let page = matching
            .into_iter()
            .skip(ask.paging.offset)
            .take(ask.paging.limit)
            .collect();
        (page, total)
    }
}

struct Responder<V> {
    vendor: Arc<V>,
    state: Arc<Mutex<State>>,
    token: String,
    clock: Arc<dyn Sleeper>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<V: Vendor> Respond for Responder<V> {
    fn respond(&self, request: &Request) -> Answer {
        let now = self.clock.now();
        let mut state = lock(&self.state);
        state.requests += 1;
        let mut counters = Counters {
            now,
            request_number: state.requests,
            limit: None,
            remaining: None,
            reset_at: None,
            window: None,
        };
        let vendor = &*self.vendor;

        let fault = match state.faults.pop_front() {
            Some(fault) => Some(fault),
            None if state.chaos_creates_only && request.method.as_str() != "POST" => None,
            None => match state.chaos.as_mut() {
                Some((share, faults, rng)) if !faults.is_empty() => {
                    let hit = rng.f64() < *share;
                    hit.then(|| faults[rng.usize(..faults.len())].clone())
                }
                _ => None,
            },
        };
        let (mut delay, mut acted_then, mut lag) = (None, None, None);
        match fault {
            Some(Fault::ServerError) => return vendor.refuse(&Refusal::ServerError, &counters),
            Some(Fault::HtmlGateway) => return gateway_page(),
            Some(Fault::Delay(d)) => delay = Some(d),
            Some(Fault::CreatedThenServerError) => acted_then = Some(false),
            Some(Fault::CreatedThenDrop) => acted_then = Some(true),
            Some(Fault::ListLag(d)) => lag = Some(d),
            None => {}
        }
        let answer = |template: Answer, counters: &Counters| {
            let template = match acted_then {
                Some(false) => vendor.refuse(&Refusal::ServerError, counters),
                Some(true) => template.insert_header(wire::CUT, "1"),
                None => template,
            };
            match delay {
                Some(d) => template.set_delay(d),
                None => template,
            }
        };

        let revoked = state
            .revoked_from
            .is_some_and(|from| state.requests >= from);
        let token = if revoked { "\u{0}revoked" } else { &self.token };
        let action = match vendor.parse(request, token, &counters) {
            Ok(action) => action,
            Err(answer_) => return answer(answer_, &counters),
        };

        let batch = matches!(action, Action::CreateMany(_));
        let window = match (batch, state.batch_window.is_some()) {
            (true, true) => state.batch_window.as_mut(),
            _ => state.window.as_mut(),
        };
        if let Some(window) = window {
            window.roll(now);
            counters.limit = Some(window.budget);
            counters.reset_at = Some(window.reset_at());
            counters.window = Some(window.length);
            if window.used >= window.budget {
                counters.remaining = Some(0);
                let reset_at = window.reset_at();
                let limited = Limited {
                    limit: window.budget,
                    reset_at,
                    retry_after: reset_at.duration_since(now).unwrap_or(Duration::ZERO),
                };
                state.rate_limited += 1;
                return answer(
                    vendor.refuse(&Refusal::RateLimited(limited), &counters),
                    &counters,
                );
            }
            window.accept(now);
            counters.remaining = Some(window.budget - window.used);
        }

        let today = Timestamp::try_from(now).unwrap_or(Timestamp::UNIX_EPOCH);
        let organization = match &action {
            Action::Create(_) | Action::CreateMany(_) => None,
            Action::List(ask) => Some(&ask.organization),
            Action::Cancel { organization, .. }
            | Action::Teams { organization, .. }
            | Action::Membership { organization, .. }
            | Action::Members { organization, .. } => Some(organization),
        };
        if organization.is_some_and(|org| !state.knows_organization(vendor, org)) {
            return answer(
                vendor.refuse(&Refusal::OrganizationNotFound, &counters),
                &counters,
            );
        }
        let template = match action {
            Action::Create(asks) => match create(&mut state, vendor, asks, today) {
                Ok(created) => vendor.created(&created, &counters),
                Err(refusal) => vendor.refuse(&refusal, &counters),
            },
            Action::CreateMany(asks) => match create(&mut state, vendor, asks, today) {
                Ok(created) => vendor.created_many(&created, &counters),
                Err(refusal) => vendor.refuse(&refusal, &counters),
            },
            Action::List(ask) => {
                let (page, total) = state.list(vendor, &ask, today, lag);
                vendor.listed(
                    Listing {
                        request,
                        ask: &ask,
                        page: &page,
                        total,
                    },
                    &counters,
                )
            }
            Action::Cancel { organization, ids } => {
                cancel(&mut state, vendor, &organization, &ids, today, &counters)
            }
            Action::Teams { organization, id } => {
                let invitation = state.invitations.iter().find(|inv| {
                    inv.id == id && vendor.same_organization(&inv.organization, &organization)
                });
                vendor.teams(invitation, &counters)
            }
            Action::Membership { organization, who } => {
                let found = match state.member(vendor, &organization, &who) {
                    Some(member) => MemberFound::Active(member),
                    None => match state.invitations.iter().find(|inv| {
                        vendor.same_organization(&inv.organization, &organization)
                            && inv.status_at(today) == InvitationStatus::Pending
                            && match &who {
                                Who::Login(login) => inv
                                    .login
                                    .as_deref()
                                    .is_some_and(|l| l.eq_ignore_ascii_case(login)),
                                Who::Email(email) => inv
                                    .email
                                    .as_deref()
                                    .is_some_and(|e| e.eq_ignore_ascii_case(email)),
                                Who::UserId(id) => inv.user_id.as_deref() == Some(id.as_str()),
                            }
                    }) {
                        Some(invitation) => MemberFound::Pending(invitation),
                        None => MemberFound::Neither,
                    },
                };
                vendor.membership(found, &counters)
            }
            Action::Members {
                organization,
                who,
                paging,
            } => {
                let matching: Vec<(usize, &FakeMember)> = state
                    .members
                    .iter()
                    .filter(|m| {
                        vendor.same_organization(&m.organization, &organization)
                            && who.as_ref().is_none_or(|who| who.is(m))
                    })
                    .enumerate()
                    .collect();
                let total = matching.len();
                let page: Vec<(usize, &FakeMember)> = matching
                    .into_iter()
                    .skip(paging.offset)
                    .take(paging.limit)
                    .collect();
                let listing = MemberListing {
                    request,
                    organization: &organization,
                    paging,
                    page: &page,
                    total,
                };
                vendor.members(listing, &counters)
            }
        };
        answer(template, &counters)
    }
}

/// Creates every invitation `asks` names, or none: each is checked first.
fn create(
    state: &mut State,
    vendor: &dyn Vendor,
    asks: Vec<Ask>,
    now: Timestamp,
) -> Result<Vec<FakeInvitation>, Refusal> {
    for ask in &asks {
        let refusal = if !state.knows_organization(vendor, &ask.organization) {
            Some(Refusal::OrganizationNotFound)
        } else if let Some(email) = &ask.email {
            if crate::model::request::validate_email(email).is_err()
                || email.to_ascii_lowercase().ends_with(".invalid")
            {
                Some(Refusal::InvalidEmail(email.clone()))
            } else if state
                .member(vendor, &ask.organization, &Who::Email(email.clone()))
                .is_some()
            {
                Some(Refusal::AlreadyMember(email.clone()))
            } else if !state.repeats && state.is_invited(vendor, ask, now) {
                Some(Refusal::AlreadyInvited(email.clone()))
            } else {
                None
            }
        } else if let Some(id) = &ask.user_id {
            if state
                .member(vendor, &ask.organization, &Who::UserId(id.clone()))
                .is_some()
            {
                Some(Refusal::AlreadyMember(id.clone()))
            } else if !state.repeats && state.is_invited(vendor, ask, now) {
                Some(Refusal::AlreadyInvited(id.clone()))
            } else {
                None
            }
        } else {
            None
        };
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
    }
    let created: Vec<FakeInvitation> = asks
        .into_iter()
        .map(|ask| state.add_invitation(vendor, ask, now))
        .collect();
    if let Some(hooks) = state.hooks.as_mut() {
        for invitation in &created {
            hooks.announce(vendor, Happened::Invited(invitation), now.into());
        }
    }
    Ok(created)
}

/// Cancels every invitation `ids` names, or none: each must be pending.
fn cancel(
    state: &mut State,
    vendor: &dyn Vendor,
    organization: &str,
    ids: &[String],
    now: Timestamp,
    counters: &Counters,
) -> Answer {
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        let position = state.invitations.iter().position(|inv| {
            inv.id == *id && vendor.same_organization(&inv.organization, organization)
        });
        match position {
            None => return vendor.refuse(&Refusal::UnknownInvitation(id.clone()), counters),
            Some(i) if state.invitations[i].status_at(now) != InvitationStatus::Pending => {
                return vendor.refuse(&Refusal::NotPending(id.clone()), counters)
            }
            Some(i) => found.push(i),
        }
    }
    let cancelled: Vec<FakeInvitation> = found
        .into_iter()
        .map(|i| {
            state.invitations[i].status = InvitationStatus::Revoked;
            state.invitations[i].clone()
        })
        .collect();
    if let Some(hooks) = state.hooks.as_mut() {
        for invitation in &cancelled {
            hooks.announce(vendor, Happened::Revoked(invitation), now.into());
        }
    }
    vendor.cancelled(&cancelled, counters)
}

fn gateway_page() -> Answer {
    Answer::new(502).set_body_raw(
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
        "text/html",
    )
}

/// A fake vendor on loopback. `V` is the vendor: [`FakeGitHub`] is `FakeServer<GitHubSim>`.
pub struct FakeServer<V> {
    server: MockServer,
    /// What clients connect to: a relay in front of `server` that can break connections.
    relay: wire::Relay,
    state: Arc<Mutex<State>>,
    vendor: Arc<V>,
    /// The same vendor, for what the fake does without a request.
    rules: Arc<dyn Vendor>,
    token: String,
    organization: String,
    clock: Arc<dyn Sleeper>,
    virtual_clock: Option<RecordingSleeper>,
    /// The webhook deliveries sent, with their answers.
    hook_log: Arc<Mutex<Vec<WebhookDelivery>>>,
}

impl<V> fmt::Debug for FakeServer<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeServer")
            .field("uri", &self.relay.uri())
            .field("organization", &self.organization)
            .finish_non_exhaustive()
    }
}

impl<V> FakeServer<V> {
    pub(crate) async fn start_with(
        vendor: V,
        token: &str,
        organization: &str,
        clock: Arc<dyn Sleeper>,
    ) -> Self
    where
        V: Vendor,
    {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            organizations: vec![organization.to_owned()],
            members: Vec::new(),
            invitations: Vec::new(),
            faults: VecDeque::new(),
            chaos: None,
            chaos_creates_only: false,
            window: None,
            batch_window: None,
            requests: 0,
            rate_limited: 0,
            revoked_from: None,
            repeats: false,
            hooks: None,
        }));
        let vendor = Arc::new(vendor);
        Mock::given(wiremock::matchers::any())
            .respond_with(Responder {
                vendor: vendor.clone(),
                state: state.clone(),
                token: token.to_owned(),
                clock: clock.clone(),
            })
            .mount(&server)
            .await;
        let relay = wire::Relay::start(*server.address())
            .await
            .expect("a loopback port for the fake");
        FakeServer {
            server,
            relay,
            state,
            rules: vendor.clone(),
            vendor,
            token: token.to_owned(),
            organization: organization.to_owned(),
            clock,
            virtual_clock: None,
            hook_log: Arc::default(),
        }
    }
}

impl<V: Fake> FakeServer<V> {
    /// Starts the fake with its vendor's organization (GitHub's `acme`, Clerk's
    /// `org_sandbox`, Elastic Cloud's `sandbox-org`), on the system clock.
    pub async fn start() -> Self {
        Self::start_with_clock(system_clock()).await
    }

    /// Starts the fake with its rate-limit windows and timestamps following `clock`.
    pub async fn start_with_clock(clock: Arc<dyn Sleeper>) -> Self {
        FakeServer::start_with(V::default(), V::TOKEN, V::ORGANIZATION, clock).await
    }

    /// A client builder pointed at this fake (under the vendor's API path), with its
    /// credential and clock; change anything before `build()`.
    pub fn client_builder(&self) -> crate::ClientBuilder<<V::Real as crate::Vendor>::Settings> {
        crate::Client::<V::Real>::builder()
            .token(self.token.clone())
            .base_url(format!("{}{}", self.uri(), V::BASE_PATH))
            .user_agent("orginvite-sandbox")
            .retry_policy(crate::RetryPolicy::default())
            .sleeper(self.clock.clone())
    }
}

impl<V> FakeServer<V> {
    /// The server's root URL, e.g. `http://127.0.0.1:41234`.
    pub fn uri(&self) -> String {
        self.relay.uri()
    }

    /// The credential the fake accepts.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The organization the fake starts with.
    pub fn organization(&self) -> &str {
        &self.organization
    }

    /// Adds another organization.
    pub fn add_organization(&self, organization: impl Into<String>) -> &Self {
        lock(&self.state).organizations.push(organization.into());
        self
    }

    /// Makes `email` a member of `organization` (with the vendor's plain member role):
    /// inviting it answers "already a member".
    pub fn add_member(&self, organization: impl Into<String>, email: impl Into<String>) -> &Self {
        self.add(FakeMember::new(organization).email(email))
    }

    /// Makes the user with the vendor's user id `id` a member of `organization`: inviting them
    /// by user id answers "already a member" (GitHub invites by user id).
    pub fn add_member_id(&self, organization: impl Into<String>, id: impl AsRef<str>) -> &Self {
        self.add(FakeMember::new(organization).user_id(id.as_ref()))
    }

    /// Adds a member known by any of email, user id and login, with a role.
    pub fn add(&self, member: FakeMember) -> &Self {
        let mut member = member;
        if member.role.is_empty() {
            member.role = self.rules.member_role().to_owned();
        }
        lock(&self.state).members.push(member);
        self
    }

    /// Adds a pending invitation of `email` to `organization` without a request (the vendor's
    /// plain member role), and returns its id.
    pub fn add_invitation(
        &self,
        organization: impl Into<String>,
        email: impl Into<String>,
    ) -> String {
        let now = Timestamp::try_from(self.clock.now()).unwrap_or(Timestamp::UNIX_EPOCH);
        let ask = Ask {
            organization: organization.into(),
            email: Some(email.into()),
            user_id: None,
            role: self.rules.default_role().to_owned(),
            expires_in: None,
            details: serde_json::Map::new(),
        };
        lock(&self.state).add_invitation(&*self.rules, ask, now).id
    }

    /// Adds `count` pending invitations to `organization` at once, for
    /// `seed-1@example.com`, `seed-2@example.com`, ... (numbered on from the invitations the
    /// fake already holds): cheap enough for tens of thousands.
    pub fn seed_invitations(&self, organization: impl Into<String>, count: usize) -> &Self {
        let organization = organization.into();
        let now = Timestamp::try_from(self.clock.now()).unwrap_or(Timestamp::UNIX_EPOCH);
        let role = self.rules.default_role();
        let mut state = lock(&self.state);
        state.invitations.reserve(count);
        for _ in 0..count {
            let n = state.invitations.len() + 1;
            let ask = Ask {
                organization: organization.clone(),
                email: Some(format!("seed-{n}@example.com")),
                user_id: None,
                role: role.to_owned(),
                expires_in: None,
                details: serde_json::Map::new(),
            };
            state.add_invitation(&*self.rules, ask, now);
        }
        drop(state);
        self
    }

    /// Sets the status of the invitation `id` (accepted, failed, expired, ...); `false` when
    /// the fake holds no such invitation.
    pub fn set_invitation_status(&self, id: &str, status: InvitationStatus) -> bool {
        let mut state = lock(&self.state);
        match state.invitations.iter_mut().find(|inv| inv.id == id) {
            Some(invitation) => {
                invitation.status = status;
                true
            }
            None => false,
        }
    }

    /// Accepts the pending invitation `id`, as its invitee would, at the fake's clock: the
    /// invitation is accepted and the invitee a member (by the invitation's email or login,
    /// with a user id the fake makes up unless the invitation names one), and a webhook
    /// receiver hears of it ([`deliver_webhooks_to`](FakeServer::deliver_webhooks_to)).
    /// `false` when the fake holds no pending invitation `id`.
    pub fn accept(&self, id: &str) -> bool {
        self.change_pending(id, |state, at, now| {
            state.invitations[at].status = InvitationStatus::Accepted;
            let invitation = state.invitations[at].clone();
            let member = self
                .rules
                .accepted_member(&invitation, state.members.len() + 1);
            state.members.push(member.clone());
            if let Some(hooks) = state.hooks.as_mut() {
                let happened = Happened::Accepted(&invitation, &member);
                hooks.announce(&*self.rules, happened, now.into());
            }
        })
    }

    /// Lets the pending invitation `id` expire now, on the fake's clock: lists show it
    /// expired (GitHub among its failed invitations). No vendor sends a webhook for it.
    /// `false` when the fake holds no pending invitation `id`.
    pub fn expire(&self, id: &str) -> bool {
        self.change_pending(id, |state, at, now| {
            state.invitations[at].expires_at = Some(now);
        })
    }

    /// Marks the pending invitation `id` failed, as GitHub does with one it could not deliver
    /// (listed among its failed invitations). No webhook is sent. `false` when the fake holds
    /// no pending invitation `id`.
    pub fn fail(&self, id: &str) -> bool {
        self.change_pending(id, |state, at, _| {
            state.invitations[at].status = InvitationStatus::Failed;
        })
    }

    /// Changes the invitation `id` (by its place in the state) if it is pending now, on the
    /// fake's clock.
    fn change_pending(&self, id: &str, change: impl FnOnce(&mut State, usize, Timestamp)) -> bool {
        let now = Timestamp::try_from(self.clock.now()).unwrap_or(Timestamp::UNIX_EPOCH);
        let mut state = lock(&self.state);
        let pending = state
            .invitations
            .iter()
            .position(|inv| inv.id == id && inv.status_at(now) == InvitationStatus::Pending);
        match pending {
            Some(at) => {
                change(&mut state, at, now);
                true
            }
            None => false,
        }
    }

    /// The members the fake knows.
    pub fn members(&self) -> Vec<FakeMember> {
        lock(&self.state).members.clone()
    }

    /// Allows `budget` requests per `window` (every route counts); past it, the vendor's
    /// rate-limit answer until the window ends. Windows follow the fake's clock.
    pub fn rate_limit(&self, budget: u32, window: Duration) -> &Self {
        lock(&self.state).window = Some(Window::fixed(budget, window, self.clock.now()));
        self
    }

    /// Allows `budget` requests in any `window` (every route counts), as a vendor that counts
    /// over a rolling window does: past it, the vendor's rate-limit answer until the oldest
    /// request counted is `window` old.
    pub fn rate_limit_rolling(&self, budget: u32, window: Duration) -> &Self {
        let mut limit = Window::fixed(budget, window, self.clock.now());
        limit.rolling = Some(VecDeque::new());
        lock(&self.state).window = Some(limit);
        self
    }

    /// Allows `budget` batch requests (Clerk's bulk calls) per `window`, counted apart from
    /// [`FakeServer::rate_limit`], as the vendor limits its batch endpoint on its own.
    pub fn rate_limit_batches(&self, budget: u32, window: Duration) -> &Self {
        lock(&self.state).batch_window = Some(Window::fixed(budget, window, self.clock.now()));
        self
    }

    /// Removes the rate limits.
    pub fn unlimited(&self) -> &Self {
        let mut state = lock(&self.state);
        state.window = None;
        state.batch_window = None;
        drop(state);
        self
    }

    /// Draws faults at random from now on: each request that no queued fault is waiting for
    /// gets one of `faults` with probability `share` (0 to 1), the same draws for the same
    /// `seed` and order of requests. An empty list turns it off.
    pub fn chaos(&self, share: f64, faults: impl IntoIterator<Item = Fault>, seed: u64) -> &Self {
        let mut state = lock(&self.state);
        state.chaos = Some((
            share.clamp(0.0, 1.0),
            faults.into_iter().collect(),
            fastrand::Rng::with_seed(seed),
        ));
        state.chaos_creates_only = false;
        drop(state);
        self
    }

    /// [`FakeServer::chaos`] for the requests that create (`POST`) only: lists, lookups and
    /// cancellations answer normally.
    pub fn chaos_on_creates(
        &self,
        share: f64,
        faults: impl IntoIterator<Item = Fault>,
        seed: u64,
    ) -> &Self {
        self.chaos(share, faults, seed);
        lock(&self.state).chaos_creates_only = true;
        self
    }

    /// Revokes the credential after `requests` more requests: from then on every request is
    /// answered as one with a wrong credential (GitHub and Clerk 401, Elastic Cloud 403).
    pub fn revoke_token_after(&self, requests: u64) -> &Self {
        let mut state = lock(&self.state);
        state.revoked_from = Some(state.requests + requests + 1);
        drop(state);
        self
    }

    /// Revokes the credential now; see [`FakeServer::revoke_token_after`].
    pub fn revoke_token(&self) -> &Self {
        self.revoke_token_after(0)
    }

    /// Whether a repeated invitation for someone with a pending one creates another
    /// invitation (`true`) instead of the vendor's "already invited" (the default). GitHub
    /// documents no answer for a repeated invitation; turned on, the fake plays a vendor that
    /// does not check, so a test can count duplicates in [`FakeServer::invitations`].
    pub fn accept_repeats(&self, accept: bool) -> &Self {
        lock(&self.state).repeats = accept;
        self
    }

    /// Queues a fault: the next request gets it (one fault per request, in order).
    pub fn inject(&self, fault: Fault) -> &Self {
        lock(&self.state).faults.push_back(fault);
        self
    }

    /// The invitations the fake holds, oldest first, whatever their status.
    pub fn invitations(&self) -> Vec<FakeInvitation> {
        lock(&self.state).invitations.clone()
    }

    /// How many requests were answered with the rate-limit answer.
    pub fn rate_limited_count(&self) -> u64 {
        lock(&self.state).rate_limited
    }

    /// Every request received so far, in order.
    pub async fn requests(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap_or_default()
    }

    /// The vendor's settings.
    pub fn vendor(&self) -> &V {
        &self.vendor
    }

    /// The virtual clock the fake and its [`Sandbox`] client share, when it has one: its
    /// [`RecordingSleeper::waits`] are the waits the client asked for.
    pub fn virtual_clock(&self) -> Option<&RecordingSleeper> {
        self.virtual_clock.as_ref()
    }

    /// The clock the fake's rate-limit windows follow.
    pub fn clock(&self) -> Arc<dyn Sleeper> {
        self.clock.clone()
    }
}

/// One-call constructors: a fake vendor and a client pointed at it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Sandbox;

impl Sandbox {
    fn virtual_clock() -> RecordingSleeper {
        RecordingSleeper::new()
    }

    /// A fake GitHub with the organization `acme`, and a [`GitHub`](crate::GitHub) client for it.
    ///
    /// The two share a virtual clock ([`FakeServer::virtual_clock`]): the client's pacing and
    /// rate-limit waits take no real time, and the fake's windows still pass.
    pub async fn github() -> (FakeGitHub, crate::GitHub) {
        Sandbox::start().await
    }

    /// A fake Clerk with the organization `org_sandbox`, and a [`Clerk`](crate::Clerk) client
    /// for it (Clerk's default pacing: at most 250 invitations in any hour), on a virtual
    /// clock as with [`Sandbox::github`].
    pub async fn clerk() -> (FakeClerk, crate::Clerk) {
        Sandbox::start().await
    }

    /// A fake Elastic Cloud with the organization `sandbox-org`, and an
    /// [`ElasticCloud`](crate::ElasticCloud) client for it, on a virtual clock as with
    /// [`Sandbox::github`].
    pub async fn elastic() -> (FakeElasticCloud, crate::ElasticCloud) {
        Sandbox::start().await
    }

    /// A fake and a client for it sharing a virtual clock.
    async fn start<V: Fake>() -> (FakeServer<V>, crate::Client<V::Real>) {
        let clock = Sandbox::virtual_clock();
        let mut fake = FakeServer::<V>::start_with_clock(Arc::new(clock.clone())).await;
        fake.virtual_clock = Some(clock);
        let client = fake
            .client_builder()
            .build()
            .expect("the sandbox configuration is valid");
        (fake, client)
    }
}

/// A fake GitHub.
pub type FakeGitHub = FakeServer<GitHubSim>;

/// A fake Clerk.
pub type FakeClerk = FakeServer<ClerkSim>;
/// A fake Elastic Cloud.
pub type FakeElasticCloud = FakeServer<ElasticSim>;

pub(crate) fn system_clock() -> Arc<dyn Sleeper> {
    Arc::new(TokioSleeper)
}

/// A path segment, percent-decoded; `None` when it is empty or not UTF-8.
pub(crate) fn decoded(segment: &str) -> Option<String> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
        .filter(|s| !s.is_empty())
}

/// Whole seconds, rounded up, for `Retry-After`.
pub(crate) fn ceil_secs(duration: Duration) -> u64 {
    let secs = duration.as_secs();
    if duration.subsec_nanos() > 0 {
        secs + 1
    } else {
        secs
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn epoch_secs(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
