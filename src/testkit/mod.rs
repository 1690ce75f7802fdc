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

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use jiff::Timestamp;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::{RecordingSleeper, Sleeper, TokioSleeper};

pub use clerk::ClerkSim;
pub use elastic::ElasticSim;
pub use github::{GitHubLimit, GitHubSim};
/// The mock-server crate the fakes are built on, for custom matchers and request types.
pub use wiremock;

/// A fault the fake answers with instead of (or before) its normal answer.
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
    /// Vendor-specific fields the request set and the vendor keeps on the invitation, by their
    /// wire names (Clerk: `public_metadata`, `private_metadata`, `inviter_user_id`,
    /// `redirect_url`, `notify`; Elastic Cloud: `role_assignments`); empty for vendors that
    /// keep none.
    pub details: serde_json::Map<String, serde_json::Value>,
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
}

/// What makes one fake vendor: its contract checks and its answer shapes.
pub(crate) trait Vendor: Send + Sync + 'static {
    /// Checks route, credential, headers and body; an `Err` is the vendor's own answer.
    fn parse(
        &self,
        request: &Request,
        token: &str,
        counters: &Counters,
    ) -> Result<Vec<Ask>, ResponseTemplate>;
    /// Whether two organization names are the same one.
    fn same_organization(&self, a: &str, b: &str) -> bool {
        a == b
    }
    /// The success answer for what was created.
    fn created(&self, invitations: &[FakeInvitation], counters: &Counters) -> ResponseTemplate;
    /// The vendor's answer for a refusal.
    fn refuse(&self, refusal: &Refusal, counters: &Counters) -> ResponseTemplate;
    /// Makes an id for invitation number `n` (1-based).
    fn invitation_id(&self, n: u64) -> String;
    /// How long an invitation lasts when the request does not say.
    fn default_lifetime(&self) -> Duration;
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

#[derive(Debug)]
struct Window {
    budget: u32,
    length: Duration,
    started: SystemTime,
    used: u32,
}

impl Window {
    fn roll(&mut self, now: SystemTime) {
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
    members: HashSet<(String, String)>,
    invitations: Vec<FakeInvitation>,
    faults: VecDeque<Fault>,
    window: Option<Window>,
    requests: u64,
    rate_limited: u64,
}

impl State {
    fn is_member(&self, vendor: &dyn Vendor, organization: &str, email: &str) -> bool {
        self.members.iter().any(|(org, member)| {
            vendor.same_organization(org, organization) && member.eq_ignore_ascii_case(email)
        })
    }

    fn is_invited(&self, vendor: &dyn Vendor, ask: &Ask) -> bool {
        self.invitations.iter().any(|inv| {
            vendor.same_organization(&inv.organization, &ask.organization)
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
    fn respond(&self, request: &Request) -> ResponseTemplate {
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

        let mut delay = None;
        match state.faults.pop_front() {
            Some(Fault::ServerError) => return vendor.refuse(&Refusal::ServerError, &counters),
            Some(Fault::HtmlGateway) => return gateway_page(),
            Some(Fault::Delay(d)) => delay = Some(d),
            None => {}
        }
        let answer = |template: ResponseTemplate| match delay {
            Some(d) => template.set_delay(d),
            None => template,
        };

        let asks = match vendor.parse(request, &self.token, &counters) {
            Ok(asks) => asks,
            Err(answer_) => return answer(answer_),
        };

        if let Some(window) = state.window.as_mut() {
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
                return answer(vendor.refuse(&Refusal::RateLimited(limited), &counters));
            }
            window.used += 1;
            counters.remaining = Some(window.budget - window.used);
        }

        // All or nothing: check every ask before creating any.
        for ask in &asks {
            let refusal = if !state
                .organizations
                .iter()
                .any(|org| vendor.same_organization(org, &ask.organization))
            {
                Some(Refusal::OrganizationNotFound)
            } else if let Some(email) = &ask.email {
                if crate::request::validate_email(email).is_err()
                    || email.to_ascii_lowercase().ends_with(".invalid")
                {
                    Some(Refusal::InvalidEmail(email.clone()))
                } else if state.is_member(vendor, &ask.organization, email) {
                    Some(Refusal::AlreadyMember(email.clone()))
                } else if state.is_invited(vendor, ask) {
                    Some(Refusal::AlreadyInvited(email.clone()))
                } else {
                    None
                }
            } else if let Some(id) = &ask.user_id {
                if state.is_member(vendor, &ask.organization, &user_id_key(id)) {
                    Some(Refusal::AlreadyMember(id.clone()))
                } else if state.is_invited(vendor, ask) {
                    Some(Refusal::AlreadyInvited(id.clone()))
                } else {
                    None
                }
            } else {
                None
            };
            if let Some(refusal) = refusal {
                return answer(vendor.refuse(&refusal, &counters));
            }
        }

        let created_at = Timestamp::try_from(now).unwrap_or(Timestamp::UNIX_EPOCH);
        let mut created = Vec::with_capacity(asks.len());
        for ask in asks {
            let n = state.invitations.len() as u64 + 1;
            let lifetime = ask.expires_in.unwrap_or_else(|| vendor.default_lifetime());
            let invitation = FakeInvitation {
                id: vendor.invitation_id(n),
                organization: ask.organization,
                email: ask.email,
                user_id: ask.user_id,
                role: ask.role,
                created_at,
                expires_at: created_at.checked_add(lifetime).ok(),
                details: ask.details,
            };
            state.invitations.push(invitation.clone());
            created.push(invitation);
        }
        answer(vendor.created(&created, &counters))
    }
}

fn gateway_page() -> ResponseTemplate {
    ResponseTemplate::new(502).set_body_raw(
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
        "text/html",
    )
}

/// A fake vendor on loopback. `V` is the vendor: [`FakeGitHub`] is `FakeServer<GitHubSim>`.
pub struct FakeServer<V> {
    server: MockServer,
    state: Arc<Mutex<State>>,
    vendor: Arc<V>,
    token: String,
    organization: String,
    clock: Arc<dyn Sleeper>,
    virtual_clock: Option<RecordingSleeper>,
}

impl<V> fmt::Debug for FakeServer<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeServer")
            .field("uri", &self.server.uri())
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
            members: HashSet::new(),
            invitations: Vec::new(),
            faults: VecDeque::new(),
            window: None,
            requests: 0,
            rate_limited: 0,
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
        FakeServer {
            server,
            state,
            vendor,
            token: token.to_owned(),
            organization: organization.to_owned(),
            clock,
            virtual_clock: None,
        }
    }
}

impl<V> FakeServer<V> {
    /// The server's root URL, e.g. `http://127.0.0.1:41234`.
    pub fn uri(&self) -> String {
        self.server.uri()
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

    /// Makes `email` a member of `organization`: inviting it answers "already a member".
    pub fn add_member(&self, organization: impl Into<String>, email: impl Into<String>) -> &Self {
        lock(&self.state)
            .members
            .insert((organization.into(), email.into()));
        self
    }

    /// Makes the user with the vendor's user id `id` a member of `organization`: inviting them
    /// by user id answers "already a member" (GitHub invites by user id).
    pub fn add_member_id(&self, organization: impl Into<String>, id: impl AsRef<str>) -> &Self {
        lock(&self.state)
            .members
            .insert((organization.into(), user_id_key(id.as_ref())));
        self
    }

    /// Allows `budget` invitation requests per `window`; past it, the vendor's rate-limit
    /// answer until the window ends. Windows follow the fake's clock.
    pub fn rate_limit(&self, budget: u32, window: Duration) -> &Self {
        lock(&self.state).window = Some(Window {
            budget,
            length: window,
            started: self.clock.now(),
            used: 0,
        });
        self
    }

    /// Removes the rate limit.
    pub fn unlimited(&self) -> &Self {
        lock(&self.state).window = None;
        self
    }

    /// Queues a fault: the next request gets it (one fault per request, in order).
    pub fn inject(&self, fault: Fault) -> &Self {
        lock(&self.state).faults.push_back(fault);
        self
    }

    /// The invitations created so far, oldest first.
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
        let clock = Sandbox::virtual_clock();
        let mut fake = FakeGitHub::start_with_clock(Arc::new(clock.clone())).await;
        fake.virtual_clock = Some(clock);
        let client = fake
            .client_builder()
            .build()
            .expect("the sandbox configuration is valid");
        (fake, client)
    }

    /// A fake Clerk with the organization `org_sandbox`, and a [`Clerk`](crate::Clerk) client
    /// for it (Clerk's default pacing: at most 250 invitations in any hour).
    ///
    /// The two share a virtual clock ([`FakeServer::virtual_clock`]), as with
    /// [`Sandbox::github`].
    pub async fn clerk() -> (FakeClerk, crate::Clerk) {
        let clock = Sandbox::virtual_clock();
        let mut fake = FakeClerk::start_with_clock(Arc::new(clock.clone())).await;
        fake.virtual_clock = Some(clock);
        let client = fake
            .client_builder()
            .build()
            .expect("the sandbox configuration is valid");
        (fake, client)
    }

    /// A fake Elastic Cloud with the organization `sandbox-org`, and an
    /// [`ElasticCloud`](crate::ElasticCloud) client for it.
    ///
    /// The two share a virtual clock ([`FakeServer::virtual_clock`]), as in [`Sandbox::github`].
    pub async fn elastic() -> (FakeElasticCloud, crate::ElasticCloud) {
        let clock = Sandbox::virtual_clock();
        let mut fake = FakeElasticCloud::start_with_clock(Arc::new(clock.clone())).await;
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

/// How a member known by user id is kept beside members known by email (no email has `#`
/// first and no `@`-less key collides with an address).
fn user_id_key(id: &str) -> String {
    format!("#user-id:{id}")
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
