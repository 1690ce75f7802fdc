//! Invite a person to an organization on GitHub, Clerk or Elastic Cloud, from Rust.
//!
//! One [`CreateInvitation`] goes to any [`Provider`]; one [`Invitation`] or one typed
//! [`Error`] comes back. Every provider:
//!
//! - validates the request before anything is sent ([`ErrorKind::InvalidRequest`],
//!   [`ErrorKind::Unsupported`]);
//! - maps it onto the vendor's route, headers and exact JSON body;
//! - decodes the vendor's answer, keeping the vendor's whole payload
//!   ([`Invitation::payload`]);
//! - classifies every documented vendor error into one [`ErrorKind`], keeping the vendor's
//!   code, message, request id and rate-limit headers;
//! - honours rate limits (`Retry-After` as seconds or a date, GitHub's primary and secondary
//!   limits, Clerk's conflicts) with a [`RetryPolicy`], and never retries an attempt that may
//!   already have created the invitation: [`Error::may_have_been_created`] says when that is
//!   in doubt;
//! - paces its requests before the vendor has to say no ([`Pacing`], [`Pacer`]): GitHub
//!   invitations one at a time 1 s apart, Clerk's 250 per hour, and whatever the vendor's
//!   rate-limit headers say, with one shared hold after a rate-limit answer;
//! - sees and undoes invitations: [`Provider::list_invitations`] streams them page by page,
//!   [`Provider::find_invitation`] finds a person's pending one,
//!   [`Provider::cancel_invitation`] and [`Provider::cancel_invitations`] withdraw them, and
//!   [`Provider::membership`] tells whether someone is a member, invited, or neither;
//! - is never in doubt: [`Provider::ensure_invited`] settles a create that may have worked by
//!   looking the invitation up, [`Provider::resend_invitation`] re-sends one, and
//!   [`Provider::invite_all`] onboards a whole list with one outcome per person;
//! - tells what became of invitations: [`Provider::poll_events`] turns successive snapshots
//!   into [`InvitationEvent`](events::InvitationEvent)s, and with the `webhooks` feature the
//!   vendors' signed webhooks give the same events.
//!
//! The providers are [`GitHub`] (github.com and GitHub Enterprise Server, with a token or as a
//! [`GitHubApp`](github::GitHubApp)), [`Clerk`] (the Backend API) and [`ElasticCloud`] (including GovCloud). Every
//! client takes a static token or a [`Credentials`] source of your own. With the `testkit` feature,
//! `orginvite::testkit` starts fake vendors on loopback for trying the crate without an
//! account (`cargo run --example quickstart`) and for testing code that uses it.
//!
//! ```no_run
//! use orginvite::{CreateInvitation, ErrorKind, GitHub, Role};
//!
//! # async fn run() -> Result<(), orginvite::Error> {
//! let github = GitHub::builder()
//!     .token(std::env::var("GITHUB_TOKEN").unwrap_or_default())
//!     .build()?;
//! let request = CreateInvitation::email("acme", "jane@example.com").role(Role::Admin);
//! match github.create_invitation(&request).await {
//!     Ok(invitation) => println!("invited: {}", invitation.id),
//!     Err(e) if e.kind() == ErrorKind::AlreadyMember => println!("nothing to do"),
//!     Err(e) if e.kind() == ErrorKind::RateLimited => {
//!         println!("try again in {:?}", e.retry_after())
//!     }
//!     Err(e) => return Err(e),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Architecture
//!
//! Vendors are pure mappings: for each operation they build the HTTP request and decode the
//! answer, with no IO, and say how safe the request is to send again (a create never after it
//! may have acted; a read or a delete of a named invitation after a 5xx or a timeout too) and
//! whether it notifies people (paced as invitations are). One engine runs every operation: it
//! paces, sends, reads bounded bodies, applies timeouts, decides on retries with a pure
//! function of the failure and the policy, and sleeps through an injectable [`Sleeper`](sleep::Sleeper) so
//! tests see exact waits without waiting.
//!
//! # Features
//!
//! - `testkit`: the fake vendors (`orginvite::testkit`), built on `wiremock`.
//! - `redis`: `Pacer::redis`, one pacer shared by every process through Redis, and with
//!   `testkit`, `testkit::RedisServer` for tests. Needs Rust 1.88.
//! - `roster`: roster files and their plans (`orginvite::roster`), with `toml`.
//! - `webhooks`: verifying and reading GitHub's and Clerk's webhook deliveries
//!   ([`github::receive_webhook`], [`clerk::receive_webhook`]) into the
//!   [`InvitationEvent`](events::InvitationEvent)s polling gives too.
//! - `fuzzing`: hidden entry points for `fuzz/`; not a stable API.

#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[macro_use]
mod macros;

mod client;
mod engine;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod model;
mod ops;
#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub mod testkit;

/// Webhook deliveries: why one is refused. Each vendor verifies and reads its own:
/// [`github::receive_webhook`] (`X-Hub-Signature-256`), [`clerk::receive_webhook`] (Svix),
/// into [`InvitationEvent`](crate::events::InvitationEvent)s.
#[cfg(feature = "webhooks")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub mod webhook {
    pub use crate::model::webhook::{WebhookError, TIMESTAMP_TOLERANCE};
}

/// What became of invitations: [`InvitationEvent`](events::InvitationEvent)s, from polling
/// ([`Provider::poll_events`] with an [`EventCursor`](events::EventCursor)) or from a vendor's
/// webhooks (feature `webhooks`: `github::receive_webhook`, `clerk::receive_webhook`), and a
/// [`Deduplicator`](events::Deduplicator) for webhooks delivered twice.
pub mod events {
    pub use crate::model::event::{
        Deduplicator, EventCursor, EventKind, EventSource, InvitationEvent, WebhookBody,
    };
}

#[cfg(feature = "roster")]
#[cfg_attr(docsrs, doc(cfg(feature = "roster")))]
/// Rosters: who should be in each vendor's organization, read from one TOML file and
/// checked ([`Roster`](roster::Roster)), and the plan that makes an organization match it,
/// computed from a [`Snapshot`] without any request ([`VendorPlan`](roster::VendorPlan)).
pub mod roster {
    pub use crate::ops::plan::{Action, Change, PlanOptions, VendorPlan};
    pub use crate::ops::roster::{
        Entry, Person, Problem, Roster, RosterError, VendorSection, DEFAULT_REINVITE_ROUNDS,
    };
}
mod vendors;

pub use client::{Client, Provider};
pub use engine::builder::ClientBuilder;
pub use engine::credentials::Credentials;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use engine::pacing::redis_store::{RedisPacer, WhenUnavailable};
pub use engine::pacing::{Pacer, Pacing};
pub use engine::retry::RetryPolicy;
pub use model::boxed::{BoxFuture, BoxStream};
pub use model::error::{Error, ErrorKind};
pub use model::extension::{Payload, VendorListOptions, VendorOptions};
pub use model::invitation::{Invitation, InvitationStatus, Inviter};
pub use model::kind::ProviderKind;
pub use model::outcome::{
    BulkItem, BulkObserver, BulkOptions, CancelOutcome, Cancelled, Ensured, Membership, Reconcile,
    Resent,
};
pub use model::request::{CreateInvitation, Invitee, ListInvitations, Role};
pub use model::snapshot::{Member, Presence, Snapshot};
pub use vendors::{clerk, elastic, github, Vendor};

/// A GitHub client (github.com, or GitHub Enterprise Server with `.base_url(...)`), with a
/// token, a GitHub App ([`github::GitHubApp`]) or a [`Credentials`] source. Build it with
/// [`GitHub::builder`](Client::builder); see [`github`] for how requests map onto GitHub's.
///
/// ```no_run
/// use orginvite::github::GitHubOptions;
/// use orginvite::{CreateInvitation, GitHub, Role};
///
/// # async fn run() -> Result<(), orginvite::Error> {
/// let github = GitHub::builder()
///     .token(std::env::var("GITHUB_TOKEN").unwrap_or_default())
///     .build()?;
/// let invitation = github
///     .create_invitation(
///         &CreateInvitation::email("acme", "jane@example.com")
///             .role(Role::Admin)
///             .with(GitHubOptions::new().team_id(12)),
///     )
///     .await?;
/// println!("invitation {} expires {:?}", invitation.id, invitation.expires_at);
/// # Ok(())
/// # }
/// ```
pub type GitHub = Client<github::GitHubVendor>;

/// A Clerk client (the Backend API), with the instance's secret key. Build it with
/// [`Clerk::builder`](Client::builder); see [`clerk`] for how requests map onto Clerk's.
///
/// ```no_run
/// use std::time::Duration;
/// use orginvite::clerk::ClerkOptions;
/// use orginvite::{Clerk, CreateInvitation, Role};
///
/// # async fn run() -> Result<(), orginvite::Error> {
/// let clerk = Clerk::builder()
///     .token(std::env::var("CLERK_SECRET_KEY").unwrap_or_default())
///     .build()?;
/// let invitation = clerk
///     .create_invitation(
///         &CreateInvitation::email("org_2g7np7Hrk0SN6kj5EDMLDaKNL0S", "jane@example.com")
///             .role(Role::Admin)
///             .expires_in(Duration::from_secs(7 * 24 * 60 * 60))
///             .with(ClerkOptions::new().redirect_url("https://app.example.com/welcome")),
///     )
///     .await?;
/// println!("invitation {} accept at {:?}", invitation.id, invitation.accept_url);
/// # Ok(())
/// # }
/// ```
pub type Clerk = Client<clerk::ClerkVendor>;

/// An Elastic Cloud client (including GovCloud), with an API key. Build it with
/// [`ElasticCloud::builder`](Client::builder); see [`elastic`] for how requests map onto
/// Elastic Cloud's.
///
/// ```no_run
/// use std::time::Duration;
/// use orginvite::elastic::{DeploymentRole, ElasticOptions, RoleAssignments};
/// use orginvite::{CreateInvitation, ElasticCloud, Role};
///
/// # async fn run() -> Result<(), orginvite::Error> {
/// let elastic = ElasticCloud::builder()
///     .token(std::env::var("EC_API_KEY").unwrap_or_default())
///     .build()?;
/// let roles =
///     RoleAssignments::new().deployment(DeploymentRole::ids("deployment-editor", ["abc123"]));
/// let request = CreateInvitation::email("1234567890", "jane@example.com")
///     .role(Role::BillingManager)
///     .expires_in(Duration::from_secs(7 * 24 * 60 * 60))
///     .with(ElasticOptions::new().role_assignments(roles));
/// let invitation = elastic.create_invitation(&request).await?;
/// println!("invitation {} expires {:?}", invitation.id, invitation.expires_at);
/// # Ok(())
/// # }
/// ```
pub type ElasticCloud = Client<elastic::ElasticVendor>;

/// What a vendor's error answer said, beyond [`Error`] and [`ErrorKind`]: the parts of each
/// [`Error`] variant.
pub mod error {
    pub use crate::model::error::{
        ApiError, DecodeError, InvalidRequestError, RateLimitInfo, TransportError,
    };
}

/// Watching the client wait: rate-limit events for metrics and logs
/// ([`ClientBuilder::observer`]).
pub mod observe {
    pub use crate::engine::observe::{
        Observer, RateLimitEvent, RequestCounter, RequestEvent, RequestKind, RequestTally,
        WaitCause,
    };
}

/// Sleeping and telling the time, replaceable for tests ([`ClientBuilder::sleeper`]).
pub mod sleep {
    pub use crate::engine::sleep::{RecordingSleeper, Sleeper, TokioSleeper};
}

/// The stream trait [`Provider::list_invitations`] returns.
pub use futures_core::Stream;
/// The date-time crate whose [`Timestamp`](jiff::Timestamp) this crate's timestamps use.
pub use jiff;
/// The credential type the builders take.
pub use secrecy::SecretString;
/// The token that stops a bulk run ([`BulkOptions::cancel_on`]).
pub use tokio_util::sync::CancellationToken;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/guide.md")]
struct GuideDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/vendors.md")]
struct VendorsDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/testing.md")]
struct TestingDoctests;

#[cfg(all(doctest, feature = "webhooks"))]
#[doc = include_str!("../docs/events.md")]
struct EventsDoctests;
