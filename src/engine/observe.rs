//! Reporting what rate limits made a client do, for metrics and logs.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::model::error::ErrorKind;
use crate::model::kind::ProviderKind;

/// Why a request waited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitCause {
    /// The client's own pacing: spacing, a rate, or what rate-limit headers taught it.
    Pacing,
    /// A rate-limit answer (or an exhausted window) holds every request of the pacer.
    RateLimit,
    /// Backing off before retrying this call.
    Backoff,
}

impl WaitCause {
    /// `pacing`, `rate_limit` or `backoff`.
    pub const fn as_str(self) -> &'static str {
        match self {
            WaitCause::Pacing => "pacing",
            WaitCause::RateLimit => "rate_limit",
            WaitCause::Backoff => "backoff",
        }
    }
}

/// Something rate limits made a client do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateLimitEvent {
    /// A request waited before being sent.
    Waited {
        /// The vendor.
        provider: ProviderKind,
        /// How long.
        wait: Duration,
        /// Why.
        cause: WaitCause,
    },
    /// An attempt the vendor did not process will be sent again after `wait`.
    Retried {
        /// The vendor.
        provider: ProviderKind,
        /// The attempt that failed (1-based).
        attempt: u32,
        /// How it failed.
        kind: ErrorKind,
        /// The HTTP status, when there was an answer.
        status: Option<u16>,
        /// The wait before the next attempt.
        wait: Duration,
    },
    /// The call gave up: the needed wait is over the policy's limits or attempts are spent.
    GaveUp {
        /// The vendor.
        provider: ProviderKind,
        /// Attempts made.
        attempts: u32,
        /// How the last attempt failed (`rate_limited` when pacing alone could not make the
        /// call's deadline).
        kind: ErrorKind,
        /// How long the caller should wait before trying again, when known.
        retry_after: Option<Duration>,
    },
    /// The pacer shared through Redis cannot be reached; this process paces on its own until
    /// it answers again (feature `redis`, with `WhenUnavailable::PaceLocally`, the default).
    /// Reported once per outage.
    SharedPacerUnavailable {
        /// The vendor of the call that noticed.
        provider: ProviderKind,
        /// What went wrong with Redis, in words; never the URL or its password.
        reason: String,
    },
    /// The shared pacer's Redis answers again after
    /// [`SharedPacerUnavailable`](RateLimitEvent::SharedPacerUnavailable); pacing is shared
    /// again.
    SharedPacerRestored {
        /// The vendor of the call that noticed.
        provider: ProviderKind,
    },
}

/// What a request was for, as the vendor's request budget counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// A page of a list: invitations or members.
    ListPage,
    /// A lookup of one thing: a person's membership, a name's id, an invitation's teams, a
    /// credential.
    Lookup,
    /// A request that may create invitations (one, or a batch).
    Create,
    /// A cancellation (one invitation, or a batch).
    Cancel,
}

impl RequestKind {
    /// `list_page`, `lookup`, `create` or `cancel`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RequestKind::ListPage => "list_page",
            RequestKind::Lookup => "lookup",
            RequestKind::Create => "create",
            RequestKind::Cancel => "cancel",
        }
    }
}

/// One request the client sent to the vendor: every attempt on the wire, retries included.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestEvent {
    /// The vendor.
    pub provider: ProviderKind,
    /// The operation, as logs name it: `create_invitation`, `list_invitations`,
    /// `list_members`, ...
    pub operation: &'static str,
    /// What it was for.
    pub kind: RequestKind,
    /// The answer's HTTP status; `None` when no answer came (a timeout, a broken connection).
    pub status: Option<u16>,
}

impl RequestEvent {
    /// Whether the vendor refused it (a 4xx answer: invalid, already there, not allowed, a
    /// rate limit). A refused create still counts against GitHub's limits on creating
    /// content.
    pub fn refused(&self) -> bool {
        self.status
            .is_some_and(|status| (400..500).contains(&status))
    }
}

/// How many requests of each kind a client sent: what [`RequestCounter`] counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RequestTally {
    /// Pages of lists (invitations, members).
    pub list_pages: u64,
    /// Lookups of one thing.
    pub lookups: u64,
    /// Requests that may create invitations.
    pub creates: u64,
    /// Of those, the ones the vendor refused (4xx): already invited, already a member, an
    /// invalid address, a rate limit.
    pub refused_creates: u64,
    /// Cancellations.
    pub cancels: u64,
}

impl RequestTally {
    /// Every request.
    pub fn total(&self) -> u64 {
        self.list_pages + self.lookups + self.creates + self.cancels
    }
}

impl fmt::Display for RequestTally {
    /// `7 request(s): 7 list page(s), 0 lookup(s), 100 create(s) (0 refused), 0 cancel(s)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} request(s): {} list page(s), {} lookup(s), {} create(s) ({} refused), {} \
             cancel(s)",
            self.total(),
            self.list_pages,
            self.lookups,
            self.creates,
            self.refused_creates,
            self.cancels
        )
    }
}

/// An [`Observer`] that counts the requests a client sends, by kind: give it to the builder
/// ([`ClientBuilder::observer`](crate::ClientBuilder::observer)) and read its
/// [`tally`](RequestCounter::tally) when the work is done.
///
/// ```
/// use std::sync::Arc;
/// use orginvite::observe::RequestCounter;
/// use orginvite::testkit::FakeGitHub;
/// use orginvite::Provider;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), orginvite::Error> {
/// let fake = FakeGitHub::start().await;
/// let counter = Arc::new(RequestCounter::default());
/// let github = fake.client_builder().observer(counter.clone()).build()?;
/// github.snapshot("acme").await?;
/// let tally = counter.tally();
/// // Pending invitations, failed ones, members: a page each.
/// assert_eq!((tally.list_pages, tally.creates), (3, 0));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct RequestCounter {
    list_pages: AtomicU64,
    lookups: AtomicU64,
    creates: AtomicU64,
    refused_creates: AtomicU64,
    cancels: AtomicU64,
}

impl RequestCounter {
    /// The counts so far.
    pub fn tally(&self) -> RequestTally {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        RequestTally {
            list_pages: read(&self.list_pages),
            lookups: read(&self.lookups),
            creates: read(&self.creates),
            refused_creates: read(&self.refused_creates),
            cancels: read(&self.cancels),
        }
    }

    /// Counts one request.
    pub fn count(&self, request: &RequestEvent) {
        let counter = match request.kind {
            RequestKind::ListPage => &self.list_pages,
            RequestKind::Lookup => &self.lookups,
            RequestKind::Create => {
                if request.refused() {
                    self.refused_creates.fetch_add(1, Ordering::Relaxed);
                }
                &self.creates
            }
            RequestKind::Cancel => &self.cancels,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl Observer for RequestCounter {
    fn on_event(&self, _event: &RateLimitEvent) {}

    fn on_request(&self, request: &RequestEvent) {
        self.count(request);
    }
}

/// Receives [`RateLimitEvent`]s, for example to export them as metrics.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use orginvite::observe::{Observer, RateLimitEvent};
///
/// #[derive(Debug, Default)]
/// struct Retries(AtomicU64);
///
/// impl Observer for Retries {
///     fn on_event(&self, event: &RateLimitEvent) {
///         if let RateLimitEvent::Retried { .. } = event {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
/// ```
pub trait Observer: Send + Sync + fmt::Debug {
    /// Called for every event, on the task making the call. Keep it quick.
    fn on_event(&self, event: &RateLimitEvent);

    /// Called for every request sent to the vendor, once its answer (or its failure) is
    /// known, on the task making the call. Keep it quick. Ignored by default;
    /// [`RequestCounter`] counts them.
    fn on_request(&self, request: &RequestEvent) {
        let _ = request;
    }
}

impl<T: Observer + ?Sized> Observer for std::sync::Arc<T> {
    fn on_event(&self, event: &RateLimitEvent) {
        (**self).on_event(event)
    }

    fn on_request(&self, request: &RequestEvent) {
        (**self).on_request(request)
    }
}
