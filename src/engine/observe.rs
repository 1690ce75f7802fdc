//! Reporting what rate limits made a client do, for metrics and logs.

use std::fmt;
use std::time::Duration;

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
}

impl<T: Observer + ?Sized> Observer for std::sync::Arc<T> {
    fn on_event(&self, event: &RateLimitEvent) {
        (**self).on_event(event)
    }
}
