//! Learning a vendor's limits: a rate from its refusals, a budget from its rate-limit headers.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::config::Traffic;
use super::local::Local;
use super::Pacer;
use super::RESET_MARGIN;
use crate::engine::later;
use crate::model::error::RateLimitInfo;

/// A rate learned from the vendor's refusals: `requests` in any `period`, a little below what
/// the vendor took in its window before a refusal, raised by one each period without one back
/// up to that, and beyond it by one every [`PROBE_PERIODS`] periods.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LearnedRate {
    pub(crate) requests: u32,
    pub(crate) period: Duration,
    /// What the vendor took in its window before its latest refusal.
    pub(crate) ceiling: u32,
    /// The latest refusal or increase.
    pub(crate) changed: SystemTime,
    /// The latest refusal that lowered the rate: refusals of requests sent before it say
    /// nothing new.
    decreased: SystemTime,
    /// The window the first refusal measured and what the vendor had taken in it then.
    /// Requests sent in it before that refusal and answered after it were taken too:
    /// each raises the rate learned, so that a measure taken while answers were still on their
    /// way does not stay too low.
    measured: Option<Measure>,
}

/// The window a first refusal measured, kept to count answers that come after it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Measure {
    /// Requests sent from here on (the wait before the refusal, at least a second) count.
    since: SystemTime,
    /// The first request taken in the window: its start.
    first: SystemTime,
    /// When the refusal was read: requests sent later do not count. (Not when the refused
    /// request was sent: a request sent a little after it can reach the vendor before it, over
    /// a connection already open, and be counted first.)
    upper: SystemTime,
    /// The end of the wait the refusal asked for: the window's end.
    until: SystemTime,
    /// What the vendor took in the window.
    taken: u32,
}

impl Measure {
    /// The window's length.
    fn period(&self) -> Duration {
        self.until
            .duration_since(self.first)
            .unwrap_or_default()
            .clamp(Duration::from_secs(1), ACCEPTED_MEMORY)
    }
}

/// A rate a little below `taken` (a tenth less, at least one less, never none), to stay under
/// a limit `taken` reached.
pub(crate) fn below(taken: u32) -> u32 {
    taken.saturating_sub((taken / 10).max(1)).max(1)
}

/// How many periods without a refusal before a learned rate goes past what the vendor took
/// before its latest refusal.
pub(crate) const PROBE_PERIODS: u32 = 10;

/// The longest window a rate is learned for, and how long accepted answers are remembered.
const ACCEPTED_MEMORY: Duration = Duration::from_secs(600);

/// What one answer's rate-limit headers taught, to share.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Learned {
    Nothing,
    /// Hold every request until then.
    Hold(SystemTime),
    /// Space every request this far apart until then.
    Spacing(Duration, SystemTime),
}

impl Local {
    /// Whether this pacer learns a rate from refusals: learning is on and no rate is set.
    pub(crate) fn learns_rate(&self) -> bool {
        self.pacing.learn_from_headers && self.pacing.rate.is_none()
    }

    pub(crate) fn observe_locally(&self, info: &RateLimitInfo, now: SystemTime) -> Learned {
        if !self.pacing.learn_from_headers {
            return Learned::Nothing;
        }
        let Some(remaining) = info.remaining else {
            return Learned::Nothing;
        };
        let mut state = self.lock();
        if info
            .limit
            .is_some_and(|limit| remaining.saturating_add(1) >= limit)
        {
            state.window_started = Some(now);
        }
        let window_end = match (info.reset, info.interval) {
            (Some(reset), _) => Some(later(SystemTime::from(reset), RESET_MARGIN)),
            // A window known only by its length ends that long after it started, when the
            // pacer saw the start; else, to be safe, that long from now.
            (None, Some(interval)) => Some(
                state
                    .window_started
                    .map(|started| later(started, interval))
                    .filter(|end| *end > now)
                    .unwrap_or_else(|| later(now, interval)),
            ),
            (None, None) => None,
        };
        if remaining == 0 {
            // `Retry-After`, when the answer has one, says exactly when: it wins.
            let until = match info.retry_after {
                Some(wait) => Some(later(now, wait)),
                None => window_end,
            };
            if let Some(until) = until.filter(|until| *until > now) {
                if state.held_until.is_none_or(|held| held < until) {
                    state.held_until = Some(until);
                }
                return Learned::Hold(until);
            }
        } else if let Some(window_end) =
            window_end.filter(|end| *end > now && running_low(info, remaining))
        {
            let left = window_end.duration_since(now).unwrap_or(Duration::ZERO);
            let spacing = left / u32::try_from(remaining).unwrap_or(u32::MAX);
            state.learned = Some((spacing, window_end));
            return Learned::Spacing(spacing, window_end);
        }
        Learned::Nothing
    }
}

impl Pacer {
    /// Notes that the vendor took a request of `class` sent at `sent` (answered it, at `now`,
    /// without a rate-limit refusal), for learning its rate. The vendor counted it when it
    /// arrived, so it is remembered by when it was sent.
    pub(crate) fn accepted(&self, sent: SystemTime, now: SystemTime, class: Traffic) {
        if class != Traffic::Notifying || !self.local.learns_rate() {
            return;
        }
        let mut state = self.local.lock();
        if let Some(learned) = &mut state.learned_rate {
            if let Some(measure) = &mut learned.measured {
                if sent >= measure.since && sent <= measure.upper {
                    // Taken in the window the first refusal measured: the vendor allows more
                    // than was known then (over a window that began no later than this).
                    measure.taken = measure.taken.saturating_add(1);
                    measure.first = measure.first.min(sent);
                    learned.period = measure.period();
                    learned.ceiling = learned.ceiling.max(measure.taken);
                    learned.requests = learned.requests.max(below(measure.taken));
                }
            }
        }
        state.accepted.push_back(sent);
        while state.accepted.len() > 10_000
            || state
                .accepted
                .front()
                .is_some_and(|at| now.duration_since(*at).unwrap_or_default() > ACCEPTED_MEMORY)
        {
            state.accepted.pop_front();
        }
    }

    /// Notes the vendor's refusal of a request of `class` sent at `sent`, asking to wait
    /// `wait`, and lowers the learned rate (multiplicative decrease). The first refusal
    /// measures the vendor's window (from the first request taken among those sent in the
    /// wait before it, at least a second, to the end of the wait) and learns a little below
    /// what it took in it, raised as answers to requests sent then still come back taken;
    /// later ones lower the rate by a tenth. After the wait, requests start again at once, up
    /// to that rate per window.
    ///
    /// A refusal of a request sent before the latest change of the learned rate says nothing
    /// new: it is ignored.
    pub(crate) fn refused(
        &self,
        now: SystemTime,
        sent: SystemTime,
        wait: Duration,
        class: Traffic,
    ) {
        if class != Traffic::Notifying || !self.local.learns_rate() {
            return;
        }
        let mut state = self.local.lock();
        if state
            .learned_rate
            .is_some_and(|learned| sent < learned.decreased)
        {
            return;
        }
        // What the vendor took in its window of `period` ending with this wait: requests sent
        // in it, up to this refusal, and answered without a refusal. (Requests sent after the
        // refused one count too: they can reach the vendor first, over a connection already
        // open; within a window the vendor refused in, it took them before.)
        let taken_in = |accepted: &VecDeque<SystemTime>, period: Duration| {
            let since = later(now, wait).checked_sub(period).unwrap_or(UNIX_EPOCH);
            let taken = accepted
                .iter()
                .filter(|sent| **sent >= since && **sent <= now)
                .count();
            u32::try_from(taken).unwrap_or(u32::MAX)
        };
        let learned = match state.learned_rate {
            // Known already: a tenth less (at least one), over the window first measured.
            Some(learned) => LearnedRate {
                requests: below(learned.requests),
                period: learned.period,
                ceiling: learned
                    .ceiling
                    .max(taken_in(&state.accepted, learned.period)),
                changed: now,
                decreased: now,
                measured: None,
            },
            None => {
                // The vendor's window: from the first request it took among those sent in the
                // wait before this refusal (at least a second) to the end of the wait. A
                // vendor that counts over a rolling window lets a request in again once the
                // oldest it counted is out; a fixed window ends at its reset.
                let recent = wait.max(Duration::from_secs(1)).min(ACCEPTED_MEMORY);
                let since = now.checked_sub(recent).unwrap_or(UNIX_EPOCH);
                let Some(first) = state
                    .accepted
                    .iter()
                    .copied()
                    .filter(|at| *at >= since && *at <= now)
                    .min()
                else {
                    // Nothing taken lately: the refusal measures another client's use.
                    return;
                };
                let mut measure = Measure {
                    since,
                    first,
                    upper: now,
                    until: later(now, wait),
                    taken: 0,
                };
                let period = measure.period();
                measure.taken = taken_in(&state.accepted, period);
                LearnedRate {
                    requests: below(measure.taken),
                    period,
                    ceiling: measure.taken.max(1),
                    changed: now,
                    decreased: now,
                    // Requests sent in that time and answered after this refusal were taken
                    // too, whichever order their answers came back in.
                    measured: Some(measure),
                }
            }
        };
        state.learned_rate = Some(learned);
        state.learned_starts.clear();
        state.accepted.clear();
    }
}

/// Whether a window is nearly spent: under a tenth of its limit left (or at most 10 requests
/// when the limit is unknown). Only then does the pacer spread what is left over the window;
/// before, a budget shared with other traffic (GitHub's core limit) would slow invitations for
/// no reason.
pub(crate) fn running_low(info: &RateLimitInfo, remaining: u64) -> bool {
    match info.limit {
        Some(limit) => remaining.saturating_mul(10) < limit,
        None => remaining <= 10,
    }
}
