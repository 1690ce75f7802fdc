//! The seam between the pacer and a store its processes share: what the pacer asks of it
//! (turns, holds, spacing learned from headers), whatever the store is. Redis is the one the
//! crate has (feature `redis`); without one, a pacer decides alone, in memory.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::config::{Pacing, Traffic};
use crate::model::boxed::BoxFuture;

/// What the shared store said about a turn. (Only a store constructs it; the crate's one is
/// behind the `redis` feature.)
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) enum Answer {
    /// Granted; with a lease to give back when the turn is serialized.
    Granted(Option<Box<dyn Lease>>),
    /// Not yet: wait this long.
    Wait { wait: Duration, cause: WaitFor },
}

/// Why the shared store said to wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) enum WaitFor {
    /// Spacing, a window or a learned budget.
    Pacing,
    /// Another process holds the serialized turn; the wait is what is left of its lease, an
    /// upper bound: it is usually given back much sooner.
    Queue,
    /// A hold after a rate-limit answer.
    RateLimit,
}

/// A serialized turn held in the shared store, given back when released or dropped.
pub(crate) trait Lease: Send + Sync {
    /// Gives the turn back now: `true` when another process waits for it.
    fn release(self: Box<Self>) -> BoxFuture<'static, bool>;
}

/// A store the processes sharing a pacer decide in, on its own clock. Every call is bounded
/// in time; an error is the store being out of reach, in words without secrets.
pub(crate) trait SharedStore: Send + Sync + fmt::Debug {
    /// Whether requests fail while the store cannot be reached, rather than pace alone.
    fn fails_closed(&self) -> bool;
    /// Whether an outage is recent enough not to ask the store again yet.
    fn cooling_down(&self) -> bool;
    /// Notes a failed call: `true` when it starts an outage (reported once).
    fn failed(&self) -> bool;
    /// Notes a call that worked: `true` when it ends an outage.
    fn succeeded(&self) -> bool;
    /// Asks for a turn of `class` under `pacing`.
    fn turn<'a>(
        self: Arc<Self>,
        pacing: &'a Pacing,
        class: Traffic,
        timer_slack: Duration,
    ) -> BoxFuture<'a, Result<Answer, String>>;
    /// Holds every process for `wait`.
    fn hold(&self, wait: Duration) -> BoxFuture<'_, Result<(), String>>;
    /// Shares a spacing learned from headers, for `valid_for`.
    fn learn(&self, spacing: Duration, valid_for: Duration) -> BoxFuture<'_, Result<(), String>>;
}
