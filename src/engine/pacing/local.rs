//! This process's pacer: spacing, serialized turns, windows and holds, kept in memory.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::config::{Pacing, Traffic};
use super::learn::{LearnedRate, PROBE_PERIODS};
use super::TIMER_SLACK;
use crate::engine::later;
use crate::engine::observe::WaitCause;
use crate::engine::sleep::Sleeper;

pub(crate) struct Local {
    pub(crate) pacing: Pacing,
    turn: Arc<Semaphore>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    /// The earliest start of the next request (spacing).
    pub(crate) next_start: Option<SystemTime>,
    /// No request starts before this (a rate-limit answer, an exhausted window).
    pub(crate) held_until: Option<SystemTime>,
    /// Spacing learned from headers, and until when it applies.
    pub(crate) learned: Option<(Duration, SystemTime)>,
    /// The starts of the latest requests, as many as the rate allows per window.
    pub(crate) recent_starts: VecDeque<SystemTime>,
    /// The starts of the latest batch requests, as many as the batch rate allows per window.
    pub(crate) recent_batches: VecDeque<SystemTime>,
    /// The earliest start of the next request of any kind, while spacing learned from
    /// headers applies.
    pub(crate) next_any: Option<SystemTime>,
    /// Requests waiting for their turn when serialized.
    pub(crate) queued: u32,
    /// When the vendor's current window seems to have started: the answer that showed the
    /// window's first request (for windows known only by their length).
    pub(crate) window_started: Option<SystemTime>,
    /// When the requests that notify people the vendor took (answered without a rate-limit
    /// refusal) were sent, in the order their answers came, for learning its rate. Cleared at
    /// each refusal that changes the rate; answers that come after it, to requests sent
    /// before it, are added still. Bounded in length and, from the front, in age.
    pub(crate) accepted: VecDeque<SystemTime>,
    /// With no rate configured: the rate learned from refusals.
    pub(crate) learned_rate: Option<LearnedRate>,
    /// The starts of the latest requests under the learned rate.
    pub(crate) learned_starts: VecDeque<SystemTime>,
}

/// A place in a serialized pacer's queue, counted for wait predictions while it exists.
struct Place<'a>(&'a Local);

impl<'a> Place<'a> {
    fn take(pacer: &'a Local) -> Place<'a> {
        pacer.lock().queued += 1;
        Place(pacer)
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.0.lock().queued -= 1;
    }
}

impl Local {
    /// A pacer applying `pacing`, with nothing counted yet.
    pub(crate) fn new(pacing: Pacing) -> Local {
        Local {
            turn: Arc::new(Semaphore::new(1)),
            state: Mutex::new(State::default()),
            pacing,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The spacing between two notifying requests: the configured one, or what the headers
    /// taught when that is longer.
    pub(crate) fn spacing(&self, state: &State, now: SystemTime) -> Duration {
        let configured = self.pacing.min_interval.unwrap_or(Duration::ZERO);
        configured.max(learned(state, now).unwrap_or(Duration::ZERO))
    }

    /// The rate that applies to requests of `class`, with the starts it counts.
    pub(crate) fn window<'s>(
        &self,
        state: &'s mut State,
        class: Traffic,
    ) -> Option<((u32, Duration), &'s mut VecDeque<SystemTime>)> {
        match class {
            Traffic::Notifying => match (self.pacing.rate, state.learned_rate) {
                (Some(rate), _) => Some((rate, &mut state.recent_starts)),
                (None, Some(learned)) => Some((
                    (learned.requests, learned.period),
                    &mut state.learned_starts,
                )),
                (None, None) => None,
            },
            Traffic::Batch => self
                .pacing
                .batch_rate
                .map(|r| (r, &mut state.recent_batches)),
            Traffic::Quiet => None,
        }
    }

    /// The earliest time a request may start, `now` and the call's own `not_before` given.
    /// Spacing, serialization and rates apply to requests that notify people only; holds and
    /// what the headers taught apply to every request.
    pub(crate) fn earliest(
        &self,
        state: &mut State,
        now: SystemTime,
        not_before: Option<SystemTime>,
        class: Traffic,
    ) -> (SystemTime, WaitCause) {
        let notifying = class != Traffic::Quiet;
        let mut earliest = now;
        let mut cause = WaitCause::Pacing;
        let mut consider = |at: Option<SystemTime>, why: WaitCause| {
            if let Some(at) = at {
                if at > earliest {
                    earliest = at;
                    cause = why;
                }
            }
        };
        if notifying {
            consider(state.next_start, WaitCause::Pacing);
        }
        if learned(state, now).is_some() {
            consider(state.next_any, WaitCause::Pacing);
        }
        if let Some(((requests, period), starts)) = self.window(state, class) {
            // The window is full: the next start waits for the oldest of it to age out.
            let requests = requests.max(1) as usize;
            if starts.len() >= requests {
                let oldest = starts[starts.len() - requests];
                let window = self.pacing.window(period);
                consider(Some(later(oldest, window)), WaitCause::Pacing);
            }
        }
        consider(not_before, WaitCause::Backoff);
        // A hold wins ties: the wait is the vendor's limit, whatever else ends with it.
        if let Some(held) = state
            .held_until
            .filter(|held| *held > now && *held >= earliest)
        {
            earliest = held;
            cause = WaitCause::RateLimit;
        }
        (earliest, cause)
    }

    /// Counts a request of `class` starting at `now`, when nothing holds it back (the
    /// call's own `not_before` included); else when it may start, and why it waits.
    pub(crate) fn start(
        &self,
        now: SystemTime,
        not_before: Option<SystemTime>,
        class: Traffic,
    ) -> Result<(), (SystemTime, WaitCause)> {
        let mut state = self.lock();
        let (earliest, cause) = self.earliest(&mut state, now, not_before, class);
        if earliest > now {
            return Err((earliest, cause));
        }
        self.record_start(&mut state, now, class);
        Ok(())
    }

    /// Counts a request starting now: the spacing's next start, the class's window, the
    /// learned spacing.
    pub(crate) fn record_start(&self, state: &mut State, now: SystemTime, class: Traffic) {
        if class == Traffic::Notifying && self.pacing.rate.is_none() {
            // Additive increase: one more for each period the vendor refused nothing.
            if let Some(learned) = &mut state.learned_rate {
                let step = if learned.requests < learned.ceiling {
                    learned.period
                } else {
                    learned.period.saturating_mul(PROBE_PERIODS)
                };
                if now.duration_since(learned.changed).unwrap_or_default() >= step {
                    learned.requests = learned.requests.saturating_add(1);
                    learned.changed = now;
                }
            }
        }
        // Without a spacing the next start is not held back (a start at `now` is no limit).
        let spacing = self.pacing.min_interval.filter(|s| !s.is_zero());
        if let (Some(spacing), true) = (spacing, class != Traffic::Quiet) {
            state.next_start = Some(next_on_grid(state.next_start, now, spacing));
        }
        if let Some(((requests, _), starts)) = self.window(state, class) {
            starts.push_back(now);
            while starts.len() > requests.max(1) as usize {
                starts.pop_front();
            }
        }
        if let Some(spacing) = learned(state, now) {
            state.next_any = Some(next_on_grid(state.next_any, now, spacing));
        }
    }

    /// The queue of a serialized pacer: fails at once when the predicted wait passes the
    /// deadline, and gives up its place when the deadline passes while waiting.
    pub(crate) async fn queue(
        &self,
        sleeper: &dyn Sleeper,
        not_before: Option<SystemTime>,
        deadline: Option<SystemTime>,
    ) -> Result<OwnedSemaphorePermit, Duration> {
        let predict = |state: &mut State, now: SystemTime| {
            let (earliest, _) = self.earliest(state, now, not_before, Traffic::Notifying);
            let queue = self.spacing(state, now).saturating_mul(state.queued);
            earliest
                .duration_since(now)
                .unwrap_or(Duration::ZERO)
                .saturating_add(queue)
        };
        let now = sleeper.now();
        {
            let mut state = self.lock();
            let predicted = predict(&mut state, now);
            if deadline.is_some_and(|deadline| later(now, predicted) > deadline) {
                return Err(predicted);
            }
        }
        if let Ok(permit) = self.turn.clone().try_acquire_owned() {
            return Ok(permit);
        }
        // Counted while waiting, uncounted however the wait ends (cancellation included).
        let _place = Place::take(self);
        let acquire = self.turn.clone().acquire_owned();
        let permit = match deadline {
            None => acquire.await,
            Some(deadline) => {
                // The requests ahead take real time, whatever clock the pacer keeps: race
                // them against a real timer for what is left of the budget.
                let left = deadline.duration_since(now).unwrap_or(Duration::ZERO);
                tokio::select! {
                    biased;
                    permit = acquire => permit,
                    () = tokio::time::sleep(left) => {
                        let now = sleeper.now();
                        return Err(predict(&mut self.lock(), now));
                    }
                }
            }
        };
        // The semaphore is never closed.
        permit.map_err(|_| Duration::ZERO)
    }

    pub(crate) fn hold_locally(&self, until: SystemTime) {
        let mut state = self.lock();
        if state.held_until.is_none_or(|held| held < until) {
            state.held_until = Some(until);
        }
    }
}

/// The spacing the headers taught, while it applies.
pub(crate) fn learned(state: &State, now: SystemTime) -> Option<Duration> {
    match state.learned {
        Some((learned, until)) if until > now => Some(learned),
        _ => None,
    }
}

/// The next start after one at `now`, `spacing` later. A start that is late by no more than a
/// timer's slack keeps its planned time as the reference, so that slack does not add up over
/// many requests; any later start (a slow answer held the turn) counts from now, so starts are
/// never closer than `spacing` minus that slack.
pub(crate) fn next_on_grid(
    planned: Option<SystemTime>,
    now: SystemTime,
    spacing: Duration,
) -> SystemTime {
    let slack = TIMER_SLACK.min(spacing / 10);
    let reference = match planned {
        Some(planned)
            if planned <= now && now.duration_since(planned).unwrap_or(Duration::ZERO) <= slack =>
        {
            planned
        }
        _ => now,
    };
    later(reference, spacing)
}
