//! The retry policy: which failed attempts are tried again, and after how long.
//!
//! The decision is a pure function of the classified failure, the attempt number, the time
//! spent so far and the policy, so it is table-tested below without any IO.

use std::time::{Duration, SystemTime};

/// What a vendor mapping (or the engine, for transport failures) says about retrying a
/// failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryHint {
    /// The vendor may have acted on the request, or trying again cannot help.
    Never,
    /// The vendor did not act on the request; it may be sent again after `Wait`.
    After(Wait),
}

/// How long a retryable failure asks to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Exactly this long (`Retry-After` in seconds).
    For(Duration),
    /// Not before this time (`Retry-After` as a date, a rate-limit reset).
    Until(SystemTime),
    /// No instruction from the vendor: the policy's backoff, and at least `floor` doubled on
    /// every repeat of the same failure (GitHub's secondary limit without `retry-after`).
    Backoff {
        /// The least wait after the first attempt.
        floor: Duration,
    },
}

/// Whether an operation may be sent again once it may have reached the vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// It creates something and notifies someone: never sent again after it may have acted
    /// (only answers that say "not processed" are retried).
    Creates,
    /// It only reads: sending it again changes nothing.
    Reads,
    /// It deletes one named thing (or a named set): sending it again cannot delete anything
    /// else.
    DeletesNamed,
}

/// The retry hint for a failure of an operation with `idempotency`. A read or a delete of a
/// named thing may also be retried after failures that may have reached the vendor (a 5xx
/// without `Retry-After`, a timeout, a connection broken after sending), with backoff; a
/// create keeps the vendor's hint, which never retries those.
pub(crate) fn hint_for(
    idempotency: Idempotency,
    hint: RetryHint,
    kind: crate::model::error::ErrorKind,
) -> RetryHint {
    use crate::model::error::ErrorKind::{ServerError, Timeout, Transport};
    match (idempotency, hint) {
        (Idempotency::Creates, hint) => hint,
        (_, RetryHint::Never) if matches!(kind, ServerError | Timeout | Transport) => {
            RetryHint::After(Wait::Backoff {
                floor: Duration::ZERO,
            })
        }
        (_, hint) => hint,
    }
}

/// What the engine does after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Sleep this long, then send again.
    RetryAfter(Duration),
    /// Return the error; `retry_after` is the wait that would have been needed, if known.
    Stop {
        /// How long the caller should wait before trying again.
        retry_after: Option<Duration>,
    },
}

/// How often and how long a client retries attempts the vendor did not act on.
///
/// Creating an invitation retries only answers that mean "not processed": rate limits (429,
/// GitHub's primary and secondary limits), Clerk's 409 conflict, a 503 with `Retry-After`, and
/// connections that failed before the request was sent. An HTTP/2 stream the vendor refused
/// unprocessed (`REFUSED_STREAM`, or a graceful `GOAWAY` before it) is sent again at once, twice
/// at most, outside these attempts; after that it is retried as they are. A timeout or 5xx after the request was
/// sent is never retried, because the invitation may exist. Reads (lists, lookups) and
/// cancellations of a named invitation are also retried after a 5xx, a timeout or a broken
/// connection, with backoff: sending them again cannot create or remove anything else.
///
/// Waits come from the vendor when it gives one (`Retry-After` as seconds or an HTTP date, a
/// rate-limit reset time), else from capped exponential backoff with full jitter. A wait the
/// vendor asks for is never shortened: if it is longer than [`RetryPolicy::max_wait`], or would
/// overrun [`RetryPolicy::max_elapsed`], the call returns a
/// [`RateLimited`](crate::ErrorKind::RateLimited) error carrying
/// [`retry_after`](crate::Error::retry_after) at once, without sleeping.
///
/// Header values are read by rule: `Retry-After` must be a whole number of seconds or an HTTP
/// date; anything else (negative, fractional, garbage) is ignored as if absent. When a header
/// appears more than once, the first readable value counts. A date or reset time in the past
/// means "no wait". A far-future value is not an error: it makes the wait exceed `max_wait`, so
/// the call returns at once with that `retry_after`.
///
/// ```
/// use std::time::Duration;
/// use orginvite::RetryPolicy;
///
/// let patient = RetryPolicy::default()
///     .max_attempts(6)
///     .max_wait(Duration::from_secs(15 * 60))
///     .max_elapsed(Duration::from_secs(30 * 60));
/// assert_eq!(patient.attempts(), 6);
/// let never = RetryPolicy::never();
/// assert_eq!(never.attempts(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_wait: Duration,
    max_elapsed: Option<Duration>,
    jitter: bool,
}

impl Default for RetryPolicy {
    /// Four attempts; backoff from 1 s doubling up to 30 s with full jitter; waits up to
    /// 2 minutes are slept, longer ones returned; no overall limit beyond that.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            max_wait: Duration::from_secs(120),
            max_elapsed: None,
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries: every failure is returned as it is, with its
    /// `retry_after` when the vendor gave one.
    pub fn never() -> RetryPolicy {
        RetryPolicy::default().max_attempts(1)
    }

    setters! {
        /// How many attempts at most, the first included (at least 1).
        max_attempts(self, attempts: u32) { self.max_attempts = attempts.max(1) }

        /// The first backoff step when the vendor names no wait; it doubles on every attempt.
        initial_backoff(self, backoff: Duration) { self.initial_backoff = backoff }

        /// The largest backoff step when the vendor names no wait.
        max_backoff(self, backoff: Duration) { self.max_backoff = backoff }

        /// The longest single wait the client sleeps; a longer one is returned to the caller as
        /// a `rate_limited` error with `retry_after`.
        max_wait(self, wait: Duration) { self.max_wait = wait }

        /// A deadline for one call, counted from its start: pacing waits, attempts and retry waits
        /// included. A wait that would overrun it is not slept: the call fails at once with
        /// [`RateLimited`](crate::ErrorKind::RateLimited) and the wait as `retry_after`.
        max_elapsed(self, limit: Duration) { self.max_elapsed = Some(limit) }

        /// Whether backoff steps are randomized ("full jitter": anywhere from zero to the step).
        /// On by default, so that many clients do not retry in step; off gives exact steps.
        jitter(self, jitter: bool) { self.jitter = jitter }
    }

    /// The number of attempts at most, the first included.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The longest single wait a call sleeps.
    pub fn longest_wait(&self) -> Duration {
        self.max_wait
    }

    /// The time budget of one call, when there is one.
    pub fn budget(&self) -> Option<Duration> {
        self.max_elapsed
    }

    /// The backoff step after attempt number `attempt` (1-based), before jitter.
    fn backoff_step(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// How long `wait` is after attempt number `attempt`, the `repeat`-th failure of the same
    /// kind in a row, at time `now`; `unit` is a random number in `[0, 1)` used for jitter.
    pub(crate) fn resolve(
        &self,
        wait: Wait,
        attempt: u32,
        repeat: u32,
        now: SystemTime,
        unit: f64,
    ) -> Duration {
        match wait {
            Wait::For(duration) => duration,
            Wait::Until(at) => at.duration_since(now).unwrap_or(Duration::ZERO),
            Wait::Backoff { floor } => {
                let step = self.backoff_step(attempt);
                let jittered = if self.jitter {
                    step.mul_f64(unit.clamp(0.0, 1.0))
                } else {
                    step
                };
                let factor = 1u32
                    .checked_shl(repeat.saturating_sub(1))
                    .unwrap_or(u32::MAX);
                jittered.max(floor.saturating_mul(factor))
            }
        }
    }

    /// Decides what to do after attempt number `attempt` (1-based), the `repeat`-th failure of
    /// the same kind in a row, failed with `hint`,
    /// `elapsed` into the call.
    pub(crate) fn decide(
        &self,
        hint: RetryHint,
        attempt: u32,
        repeat: u32,
        elapsed: Duration,
        now: SystemTime,
        unit: f64,
    ) -> Decision {
        let RetryHint::After(wait) = hint else {
            return Decision::Stop { retry_after: None };
        };
        let duration = self.resolve(wait, attempt, repeat, now, unit);
        let over_budget = self
            .max_elapsed
            .is_some_and(|limit| elapsed.saturating_add(duration) > limit);
        if attempt >= self.max_attempts || duration > self.max_wait || over_budget {
            Decision::Stop {
                retry_after: Some(duration),
            }
        } else {
            Decision::RetryAfter(duration)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wait `policy` decides for `hint` on `attempt`, the `repeat`th failure of its kind
    /// in a row, `elapsed` into the call, without jitter: `None` when it stops.
    fn wait(
        policy: &RetryPolicy,
        hint: RetryHint,
        attempt: u32,
        repeat: u32,
        elapsed: Duration,
    ) -> Option<Duration> {
        match policy.decide(hint, attempt, repeat, elapsed, now(), 0.0) {
            Decision::RetryAfter(wait) => Some(wait),
            Decision::Stop { .. } => None,
        }
    }
    use std::time::UNIX_EPOCH;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn now() -> SystemTime {
        UNIX_EPOCH + S(1_700_000_000)
    }

    #[test]
    fn decision_table() {
        let policy = RetryPolicy::default().jitter(false);
        let backoff = RetryHint::After(Wait::Backoff { floor: S(0) });
        let secondary = RetryHint::After(Wait::Backoff { floor: S(60) });
        let cases: Vec<(&str, RetryHint, u32, Duration, Decision)> = vec![
            (
                "never",
                RetryHint::Never,
                1,
                S(0),
                Decision::Stop { retry_after: None },
            ),
            (
                "retry-after",
                RetryHint::After(Wait::For(S(7))),
                1,
                S(0),
                Decision::RetryAfter(S(7)),
            ),
            (
                "until",
                RetryHint::After(Wait::Until(now() + S(31))),
                1,
                S(0),
                Decision::RetryAfter(S(31)),
            ),
            (
                "until in the past",
                RetryHint::After(Wait::Until(now() - S(5))),
                1,
                S(0),
                Decision::RetryAfter(S(0)),
            ),
            ("backoff 1", backoff, 1, S(0), Decision::RetryAfter(S(1))),
            ("backoff 2", backoff, 2, S(0), Decision::RetryAfter(S(2))),
            ("backoff 3", backoff, 3, S(0), Decision::RetryAfter(S(4))),
            (
                "attempts spent",
                backoff,
                4,
                S(0),
                Decision::Stop {
                    retry_after: Some(S(8)),
                },
            ),
            (
                "secondary 1",
                secondary,
                1,
                S(0),
                Decision::RetryAfter(S(60)),
            ),
            (
                "secondary 2",
                secondary,
                2,
                S(0),
                Decision::RetryAfter(S(120)),
            ),
            (
                "secondary 3 over max_wait",
                secondary,
                3,
                S(0),
                Decision::Stop {
                    retry_after: Some(S(240)),
                },
            ),
            (
                "wait over max_wait",
                RetryHint::After(Wait::For(S(121))),
                1,
                S(0),
                Decision::Stop {
                    retry_after: Some(S(121)),
                },
            ),
            (
                "wait at max_wait",
                RetryHint::After(Wait::For(S(120))),
                1,
                S(0),
                Decision::RetryAfter(S(120)),
            ),
            (
                "far future",
                RetryHint::After(Wait::For(S(u64::MAX))),
                1,
                S(0),
                Decision::Stop {
                    retry_after: Some(S(u64::MAX)),
                },
            ),
        ];
        for (name, hint, attempt, elapsed, expected) in cases {
            assert_eq!(
                policy.decide(hint, attempt, attempt, elapsed, now(), 0.5),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn only_reads_and_named_deletes_retry_what_may_have_reached_the_vendor() {
        use crate::model::error::ErrorKind::*;
        use Idempotency::*;
        let backoff = RetryHint::After(Wait::Backoff { floor: S(0) });
        let vendor_wait = RetryHint::After(Wait::For(S(7)));
        let cases = [
            // (operation, vendor hint, kind, expected)
            (Creates, RetryHint::Never, ServerError, RetryHint::Never),
            (Creates, RetryHint::Never, Timeout, RetryHint::Never),
            (Creates, RetryHint::Never, Transport, RetryHint::Never),
            (Creates, vendor_wait, RateLimited, vendor_wait),
            (Reads, RetryHint::Never, ServerError, backoff),
            (Reads, RetryHint::Never, Timeout, backoff),
            (Reads, RetryHint::Never, Transport, backoff),
            (Reads, vendor_wait, ServerError, vendor_wait),
            (Reads, RetryHint::Never, NotFound, RetryHint::Never),
            (Reads, RetryHint::Never, Decode, RetryHint::Never),
            (Reads, RetryHint::Never, Unauthenticated, RetryHint::Never),
            (DeletesNamed, RetryHint::Never, ServerError, backoff),
            (DeletesNamed, RetryHint::Never, Timeout, backoff),
            (DeletesNamed, RetryHint::Never, NotPending, RetryHint::Never),
            (DeletesNamed, vendor_wait, RateLimited, vendor_wait),
        ];
        for (idempotency, hint, kind, expected) in cases {
            assert_eq!(
                hint_for(idempotency, hint, kind),
                expected,
                "{idempotency:?} {kind:?}"
            );
        }
    }

    #[test]
    fn the_floor_doubles_with_repeats_not_attempts() {
        let policy = RetryPolicy::default().jitter(false);
        let secondary = RetryHint::After(Wait::Backoff { floor: S(60) });
        // A first secondary limit on the third attempt still waits 60 s.
        assert_eq!(wait(&policy, secondary, 3, 1, S(0)), Some(S(60)));
        assert_eq!(wait(&policy, secondary, 3, 2, S(0)), Some(S(120)));
    }

    #[test]
    fn elapsed_budget_stops_before_sleeping() {
        let policy = RetryPolicy::default().max_elapsed(S(10));
        let hint = RetryHint::After(Wait::For(S(6)));
        assert_eq!(wait(&policy, hint, 1, 1, S(3)), Some(S(6)));
        assert_eq!(
            policy.decide(hint, 1, 1, S(5), now(), 0.0),
            Decision::Stop {
                retry_after: Some(S(6))
            }
        );
    }

    #[test]
    fn full_jitter_stays_within_the_step() {
        let policy = RetryPolicy::default();
        let hint = RetryHint::After(Wait::Backoff { floor: S(0) });
        for unit in [0.0, 0.25, 0.999] {
            let Decision::RetryAfter(wait) = policy.decide(hint, 3, 3, S(0), now(), unit) else {
                panic!("expected a retry");
            };
            assert!(wait <= S(4), "{wait:?}");
            assert_eq!(wait, S(4).mul_f64(unit));
        }
    }

    #[test]
    fn backoff_is_capped_and_never_overflows() {
        let policy = RetryPolicy::default()
            .jitter(false)
            .max_attempts(u32::MAX)
            .max_wait(Duration::MAX);
        let hint = RetryHint::After(Wait::Backoff { floor: S(0) });
        assert_eq!(wait(&policy, hint, 6, 6, S(0)), Some(S(30)));
        assert_eq!(wait(&policy, hint, 500, 500, S(0)), Some(S(30)));
        let secondary = RetryHint::After(Wait::Backoff { floor: S(60) });
        assert!(matches!(
            policy.decide(secondary, 500, 500, S(0), now(), 0.0),
            Decision::RetryAfter(_)
        ));
    }

    #[test]
    fn never_policy_reports_the_wait() {
        let policy = RetryPolicy::never();
        assert_eq!(
            policy.decide(RetryHint::After(Wait::For(S(3))), 1, 1, S(0), now(), 0.0),
            Decision::Stop {
                retry_after: Some(S(3))
            }
        );
    }
}
