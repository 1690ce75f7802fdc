//! Proactive pacing: spacing, serializing and rate-limiting requests before the vendor has to
//! say no, and holding every request after it did.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[cfg(feature = "redis")]
pub(crate) mod redis_store;

use super::later;
use super::observe::{Observer, RateLimitEvent, WaitCause};
use super::sleep::Sleeper;
use crate::model::error::RateLimitInfo;
use crate::model::kind::ProviderKind;

/// How often a process waiting for a serialized turn another process holds looks again.
#[cfg(feature = "redis")]
const LEASE_POLL: Duration = Duration::from_millis(20);

/// How late a timer may wake before a start stops counting as on time.
const TIMER_SLACK: Duration = Duration::from_millis(10);

/// Reset times come in whole seconds: wait this much past them.
pub(crate) const RESET_MARGIN: Duration = Duration::from_secs(1);

/// How a client paces its requests. Applied by a [`Pacer`], shared by every clone of a client.
///
/// ```
/// use std::time::Duration;
/// use orginvite::Pacing;
///
/// // GitHub's guidance for requests that notify people: one at a time, 1 s apart.
/// let github = Pacing::serial(Duration::from_secs(1));
/// // Clerk's documented limit for this endpoint: 250 per hour.
/// let clerk = Pacing::rate(250, Duration::from_secs(3600));
/// // No pacing beyond what the vendor's headers say.
/// let elastic = Pacing::off();
/// # let _ = (github, clerk, elastic);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pacing {
    /// The time between the starts of two requests: never less than this minus a timer's
    /// slack (up to 10 ms, at most a tenth of the interval), and exactly this on average
    /// while requests keep coming.
    pub min_interval: Option<Duration>,
    /// Whether only one request may be in flight at a time.
    pub serialize: bool,
    /// At most `.0` request starts in any window of `.1` (a sliding window): bursts of up
    /// to `.0`, and never more than `.0` within any `.1`.
    pub rate: Option<(u32, Duration)>,
    /// At most `.0` starts of batch requests (one request inviting several people, such as
    /// Clerk's bulk endpoint) in any window of `.1`, counted apart from `rate`: vendors limit
    /// their batch endpoints separately. Spacing and serialization apply to batches too.
    pub batch_rate: Option<(u32, Duration)>,
    /// Whether rate-limit headers (`x-ratelimit-remaining` with `x-ratelimit-reset` or
    /// `x-ratelimit-interval`) slow the pacer before the limit is hit.
    pub learn_from_headers: bool,
    /// How much longer than its period a rate's window is kept ([`Pacing::rate`],
    /// [`Pacing::batch_rate`]): requests reach the vendor a little later than they start, and
    /// not all equally late, so a window's worth of starts exactly one period after the
    /// previous window could arrive a few milliseconds early by the vendor's count and be
    /// refused together. `None`, the default, is a fiftieth of the period, at most a second
    /// (20 ms for a window of a second, 1 s for an hour); [`Pacing::window_margin`] sets it.
    pub window_margin: Option<Duration>,
}

impl Pacing {
    /// No spacing and no rate; rate-limit headers and rate-limit answers still hold requests
    /// back.
    pub fn off() -> Pacing {
        Pacing {
            min_interval: None,
            serialize: false,
            rate: None,
            batch_rate: None,
            learn_from_headers: true,
            window_margin: None,
        }
    }

    /// One request at a time, starts at least `interval` apart.
    pub fn serial(interval: Duration) -> Pacing {
        Pacing {
            min_interval: Some(interval),
            serialize: true,
            ..Pacing::off()
        }
    }

    /// At most `requests` starts in any window of `period`: a vendor limit such as Clerk's
    /// "250 per hour" is never exceeded, whichever hour is counted.
    pub fn rate(requests: u32, period: Duration) -> Pacing {
        Pacing {
            rate: Some((requests.max(1), period)),
            ..Pacing::off()
        }
    }

    /// Adds a rate ([`Pacing::rate`]) to these settings.
    pub fn with_rate(mut self, requests: u32, period: Duration) -> Pacing {
        self.rate = Some((requests.max(1), period));
        self
    }

    /// Adds a rate for batch requests ([`Pacing::batch_rate`]) to these settings.
    pub fn with_batch_rate(mut self, requests: u32, period: Duration) -> Pacing {
        self.batch_rate = Some((requests.max(1), period));
        self
    }

    /// Keeps each rate's window this much longer than its period; see
    /// [`Pacing::window_margin`](Pacing#structfield.window_margin).
    ///
    /// ```
    /// use std::time::Duration;
    /// use orginvite::Pacing;
    ///
    /// let exact = Pacing::rate(10, Duration::from_secs(1)).window_margin(Duration::ZERO);
    /// assert_eq!(exact.window(Duration::from_secs(1)), Duration::from_secs(1));
    /// let default = Pacing::rate(10, Duration::from_secs(1));
    /// assert_eq!(default.window(Duration::from_secs(1)), Duration::from_millis(1020));
    /// ```
    pub fn window_margin(mut self, margin: Duration) -> Pacing {
        self.window_margin = Some(margin);
        self
    }

    /// The window a rate of `period` is kept over: the period and the margin.
    pub fn window(&self, period: Duration) -> Duration {
        let margin = self
            .window_margin
            .unwrap_or_else(|| (period / 50).min(Duration::from_secs(1)));
        period.saturating_add(margin)
    }

    /// Turns learning from rate-limit headers on or off.
    pub fn learn_from_headers(mut self, learn: bool) -> Pacing {
        self.learn_from_headers = learn;
        self
    }
}

impl Default for Pacing {
    fn default() -> Pacing {
        Pacing::off()
    }
}

/// The shared state behind [`Pacing`]. Every clone of a client uses its client's pacer; pass
/// one pacer to several builders ([`ClientBuilder::pacer`](crate::ClientBuilder::pacer)) to
/// make clients that share a vendor account share one budget.
///
/// After a rate-limit answer the pacer holds every request until the vendor's wait is over, so
/// concurrent tasks wait for the one announced wait instead of each collecting a 429.
#[derive(Clone)]
pub struct Pacer {
    inner: Arc<Inner>,
    /// The Redis every process shares, when there is one; `inner` then paces only while it
    /// cannot be reached.
    #[cfg(feature = "redis")]
    shared: Option<Arc<redis_store::Shared>>,
}

/// Why a request got no turn.
#[derive(Debug)]
pub(crate) enum Denied {
    /// The turn would come too late (after the deadline, or after a single wait longer than
    /// allowed): this long from now.
    TooLate(Duration),
    /// The shared pacer cannot be reached and the client fails closed.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Unavailable(crate::model::error::Error),
}

impl From<Duration> for Denied {
    fn from(wait: Duration) -> Denied {
        Denied::TooLate(wait)
    }
}

struct Inner {
    pacing: Pacing,
    turn: Arc<Semaphore>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The earliest start of the next request (spacing).
    next_start: Option<SystemTime>,
    /// No request starts before this (a rate-limit answer, an exhausted window).
    held_until: Option<SystemTime>,
    /// Spacing learned from headers, and until when it applies.
    learned: Option<(Duration, SystemTime)>,
    /// The starts of the latest requests, as many as the rate allows per window.
    recent_starts: VecDeque<SystemTime>,
    /// The starts of the latest batch requests, as many as the batch rate allows per window.
    recent_batches: VecDeque<SystemTime>,
    /// The earliest start of the next request of any kind, while spacing learned from
    /// headers applies.
    next_any: Option<SystemTime>,
    /// Requests waiting for their turn when serialized.
    queued: u32,
    /// When the vendor's current window seems to have started: the answer that showed the
    /// window's first request (for windows known only by their length).
    window_started: Option<SystemTime>,
    /// When the requests that notify people the vendor took (answered without a rate-limit
    /// refusal) were sent, in the order their answers came, for learning its rate. Cleared at
    /// each refusal that changes the rate; answers that come after it, to requests sent
    /// before it, are added still. Bounded in length and, from the front, in age.
    accepted: VecDeque<SystemTime>,
    /// With no rate configured: the rate learned from refusals.
    learned_rate: Option<LearnedRate>,
    /// The starts of the latest requests under the learned rate.
    learned_starts: VecDeque<SystemTime>,
}

/// A rate learned from the vendor's refusals: `requests` in any `period`, a little below what
/// the vendor took in its window before a refusal, raised by one each period without one back
/// up to that, and beyond it by one every [`PROBE_PERIODS`] periods.
#[derive(Debug, Clone, Copy)]
struct LearnedRate {
    requests: u32,
    period: Duration,
    /// What the vendor took in its window before its latest refusal.
    ceiling: u32,
    /// The latest refusal or increase.
    changed: SystemTime,
    /// The latest refusal that lowered the rate: refusals of requests sent before it say
    /// nothing new.
    decreased: SystemTime,
    /// The window the first refusal measured and what the vendor had taken in it then.
    /// then. Requests sent in it before that refusal and answered after it were taken too:
    /// each raises the rate learned, so that a measure taken while answers were still on their
    /// way does not stay too low.
    measured: Option<Measure>,
}

/// The window a first refusal measured, kept to count answers that come after it.
#[derive(Debug, Clone, Copy)]
struct Measure {
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
fn below(taken: u32) -> u32 {
    taken.saturating_sub((taken / 10).max(1)).max(1)
}

/// How many periods without a refusal before a learned rate goes past what the vendor took
/// before its latest refusal.
const PROBE_PERIODS: u32 = 10;

/// The longest window a rate is learned for, and how long accepted answers are remembered.
const ACCEPTED_MEMORY: Duration = Duration::from_secs(600);

impl fmt::Debug for Pacer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pacer")
            .field("pacing", &self.inner.pacing)
            .field("state", &*self.lock())
            .finish()
    }
}

/// What a request asks the pacer for ([`Pacer::acquire`]), and how long it may wait.
#[derive(Clone, Copy)]
pub(crate) struct Ask<'a> {
    /// Whose request it is, for events.
    pub provider: ProviderKind,
    /// The clock and the sleeps.
    pub sleeper: &'a dyn Sleeper,
    /// Told of each wait.
    pub observer: Option<&'a dyn Observer>,
    /// The call's own backoff: no start before this.
    pub not_before: Option<SystemTime>,
    /// No start after this: the turn is refused at once when it would come later.
    pub deadline: Option<SystemTime>,
    /// The longest single wait for a hold or a backoff (and for pacing, unless `patient`).
    pub max_wait: Duration,
    /// Whether the client's own pacing is waited for however long it takes (a bulk run,
    /// bounded by its deadline).
    pub patient: bool,
    /// Which pacing rules the request follows.
    pub class: Traffic,
}

impl Ask<'_> {
    /// `Err` when waiting `wait` from `now` for `cause` is more than this ask allows.
    fn check(&self, now: SystemTime, wait: Duration, cause: WaitCause) -> Result<(), Denied> {
        let limit = if self.patient && cause == WaitCause::Pacing {
            Duration::MAX
        } else {
            self.max_wait
        };
        if wait > limit
            || self
                .deadline
                .is_some_and(|deadline| later(now, wait) > deadline)
        {
            Err(Denied::TooLate(wait))
        } else {
            Ok(())
        }
    }

    /// Logs a wait and tells the observer.
    fn report(&self, wait: Duration, cause: WaitCause) {
        tracing::debug!(
            wait_ms = millis(wait),
            cause = cause.as_str(),
            "waiting for a turn"
        );
        if let Some(observer) = self.observer {
            observer.on_event(&RateLimitEvent::Waited {
                provider: self.provider,
                wait,
                cause,
            });
        }
    }
}

/// What the shared pacer gave a request.
#[cfg(feature = "redis")]
enum SharedTurn {
    /// Its turn.
    Granted(Turn),
    /// Nothing: Redis cannot be reached and the client fails open. The request paces in this
    /// process alone, with the place in its queue it may hold already.
    PaceLocally(Option<OwnedSemaphorePermit>),
}

/// A place in a serialized pacer's queue, counted for wait predictions while it exists.
struct Place<'a>(&'a Pacer);

impl<'a> Place<'a> {
    fn take(pacer: &'a Pacer) -> Place<'a> {
        pacer.lock().queued += 1;
        Place(pacer)
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.0.lock().queued -= 1;
    }
}

/// The right to send one request; releasing or dropping it lets the next serialized request
/// go.
pub(crate) struct Turn {
    // Dropped first: a serialized turn shared through Redis is given back before this
    // process's next request may ask for it.
    #[cfg(feature = "redis")]
    lease: Option<redis_store::Lease>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Turn {
    fn local(permit: Option<OwnedSemaphorePermit>) -> Turn {
        Turn {
            _permit: permit,
            #[cfg(feature = "redis")]
            lease: None,
        }
    }

    /// Gives the turn back, waiting until other processes sharing the pacer can have it.
    /// When another process waits for a serialized turn, this process's next request lets
    /// it go first (it looks again only every [`LEASE_POLL`], while the next request here
    /// would ask at once).
    pub(crate) async fn release(self) {
        #[cfg(feature = "redis")]
        if self.lease.is_some() {
            // Boxed: a call without a shared pacer should not carry this future's size.
            Box::pin(self.release_shared()).await;
        }
    }

    #[cfg(feature = "redis")]
    async fn release_shared(self) {
        let Turn { lease, _permit } = self;
        if let Some(lease) = lease {
            if lease.release().await && _permit.is_some() {
                tokio::time::sleep(LEASE_POLL * 2).await;
            }
        }
        drop(_permit);
    }
}

impl Pacer {
    /// A pacer applying `pacing`.
    pub fn new(pacing: Pacing) -> Pacer {
        Pacer {
            inner: Arc::new(Inner {
                turn: Arc::new(Semaphore::new(1)),
                state: Mutex::new(State::default()),
                pacing,
            }),
            #[cfg(feature = "redis")]
            shared: None,
        }
    }

    /// A pacer applying `pacing` together with every other process that uses the same
    /// [`RedisPacer`](crate::RedisPacer) key (feature `redis`).
    ///
    /// Spacing, serialized turns (leases that run out by themselves if their holder dies),
    /// sliding-window rates, holds after a rate-limit answer and budgets learned from headers
    /// are decided by Lua scripts on the Redis server, on its clock; each process waits for
    /// what Redis says. Every call to Redis is bounded by the pacer's timeout, and the Redis
    /// password never shows in `Debug`, errors or logs. What happens when Redis cannot be
    /// reached is [`RedisPacer::when_unavailable`](crate::RedisPacer::when_unavailable); a
    /// Redis that comes back is used again, the scripts reloaded if it restarted.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use orginvite::{GitHub, Pacer, Pacing, RedisPacer};
    ///
    /// # fn build() -> Result<(), orginvite::Error> {
    /// let shared = Pacer::redis(
    ///     RedisPacer::new("redis://127.0.0.1:6379").key("github:acme"),
    ///     Pacing::serial(Duration::from_secs(1)),
    /// )?;
    /// let github = GitHub::builder().token("ghp_example").pacer(shared).build()?;
    /// # let _ = github;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis(
        redis: redis_store::RedisPacer,
        pacing: Pacing,
    ) -> Result<Pacer, crate::model::error::Error> {
        let mut pacer = Pacer::new(pacing);
        pacer.shared = Some(Arc::new(redis_store::Shared::new(redis)?));
        Ok(pacer)
    }

    /// The settings this pacer applies.
    pub fn pacing(&self) -> &Pacing {
        &self.inner.pacing
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The spacing between two notifying requests: the configured one, or what the headers
    /// taught when that is longer.
    fn spacing(&self, state: &State, now: SystemTime) -> Duration {
        let configured = self.inner.pacing.min_interval.unwrap_or(Duration::ZERO);
        configured.max(learned(state, now).unwrap_or(Duration::ZERO))
    }

    /// The rate that applies to requests of `class`, with the starts it counts.
    fn window<'s>(
        &self,
        state: &'s mut State,
        class: Traffic,
    ) -> Option<((u32, Duration), &'s mut VecDeque<SystemTime>)> {
        match class {
            Traffic::Notifying => match (self.inner.pacing.rate, state.learned_rate) {
                (Some(rate), _) => Some((rate, &mut state.recent_starts)),
                (None, Some(learned)) => Some((
                    (learned.requests, learned.period),
                    &mut state.learned_starts,
                )),
                (None, None) => None,
            },
            Traffic::Batch => self
                .inner
                .pacing
                .batch_rate
                .map(|r| (r, &mut state.recent_batches)),
            Traffic::Quiet => None,
        }
    }

    /// The earliest time a request may start, `now` and the call's own `not_before` given.
    /// Spacing, serialization and rates apply to requests that notify people only; holds and
    /// what the headers taught apply to every request.
    fn earliest(
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
                let window = self.inner.pacing.window(period);
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

    /// This request's turn at `now`, when it can start at once without queueing: no backoff
    /// of its own, no shared pacer, not serialized, and nothing in the pacing holding it. The
    /// turn is counted as [`Pacer::acquire`] counts it; `None` leaves everything to that.
    pub(crate) fn turn_now(&self, ask: &Ask<'_>, now: SystemTime) -> Option<Turn> {
        #[cfg(feature = "redis")]
        if self.shared.is_some() {
            return None;
        }
        let serialized = self.inner.pacing.serialize && ask.class != Traffic::Quiet;
        if ask.not_before.is_some() || serialized {
            return None;
        }
        self.start(now, None, ask.class).ok()?;
        Some(Turn::local(None))
    }

    /// Counts a request of `class` starting at `now`, when nothing holds it back (the
    /// call's own `not_before` included); else when it may start, and why it waits.
    fn start(
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

    /// Waits for this request's turn. `Err(wait)` when the turn would come after the ask's
    /// deadline, or needs a single wait longer than its `max_wait`: nothing more is waited
    /// for then.
    ///
    /// The ask's `class` says whether the request notifies people (the pacing's spacing,
    /// serialization and rate apply) or not (a read, say: only holds and the budget the
    /// vendor's headers report apply).
    ///
    /// A call's own backoff (`not_before` beyond any hold) is slept before it queues, so a
    /// serialized pacer lets other calls go meanwhile. Cancelling the returned future at any
    /// point leaves the pacer as it was.
    pub(crate) async fn acquire(&self, ask: Ask<'_>) -> Result<Turn, Denied> {
        // This call's own backoff, when no hold covers it: sleep it outside the queue.
        if let Some(not_before) = ask.not_before {
            let now = ask.sleeper.now();
            let held = self.lock().held_until;
            if not_before > now && held.is_none_or(|held| held < not_before) {
                let wait = not_before.duration_since(now).unwrap_or(Duration::ZERO);
                ask.check(now, wait, WaitCause::Backoff)?;
                ask.report(wait, WaitCause::Backoff);
                ask.sleeper.sleep_until(not_before).await;
            }
        }

        // A serialized request queues in this process first (in order, one at a time), then
        // asks the processes sharing the pacer for their turn. (Boxed: the shared pacer's
        // future is large, and a call without one should not carry its size.)
        let mut permit = None;
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            match Box::pin(self.acquire_shared(shared, &ask)).await? {
                SharedTurn::Granted(turn) => return Ok(turn),
                SharedTurn::PaceLocally(queued) => permit = queued,
            }
        }

        let notifying = ask.class != Traffic::Quiet;
        if permit.is_none() && self.inner.pacing.serialize && notifying {
            permit = Some(
                self.queue(ask.sleeper, ask.not_before, ask.deadline)
                    .await?,
            );
        }
        loop {
            let now = ask.sleeper.now();
            let Err((earliest, cause)) = self.start(now, ask.not_before, ask.class) else {
                return Ok(Turn::local(permit));
            };
            let wait = earliest.duration_since(now).unwrap_or(Duration::ZERO);
            ask.check(now, wait, cause)?;
            ask.report(wait, cause);
            ask.sleeper.sleep_until(earliest).await;
        }
    }

    /// The turn of a pacer shared through Redis, or, when Redis cannot be reached and the
    /// client fails open, the place in this process's queue to pace locally with.
    #[cfg(feature = "redis")]
    async fn acquire_shared(
        &self,
        shared: &Arc<redis_store::Shared>,
        ask: &Ask<'_>,
    ) -> Result<SharedTurn, Denied> {
        use redis_store::{Answer, WaitFor, WhenUnavailable};
        let closed = shared.when_unavailable() == WhenUnavailable::FailClosed;
        // Redis may have failed another request while this one queued: check again after.
        if !closed && shared.cooling_down() {
            return Ok(SharedTurn::PaceLocally(None));
        }
        let mut permit = None;
        if self.inner.pacing.serialize && ask.class != Traffic::Quiet {
            permit = Some(
                self.queue(ask.sleeper, ask.not_before, ask.deadline)
                    .await?,
            );
        }
        if !closed && shared.cooling_down() {
            return Ok(SharedTurn::PaceLocally(permit));
        }
        let mut queued = false;
        let unreachable = loop {
            let now = ask.sleeper.now();
            // A hold this process knows of (its own rate-limit answer, or one Redis reported)
            // is waited for here too: Redis may have lost it.
            let held = self.lock().held_until.filter(|held| *held > now);
            if let Some(held) = held {
                let wait = held.duration_since(now).unwrap_or(Duration::ZERO);
                ask.check(now, wait, WaitCause::RateLimit)?;
                ask.report(wait, WaitCause::RateLimit);
                ask.sleeper.sleep_until(held).await;
                continue;
            }
            let answer = match shared
                .turn(&self.inner.pacing, ask.class, TIMER_SLACK)
                .await
            {
                Ok(answer) => answer,
                Err(reason) => break reason,
            };
            if shared.succeeded() {
                tracing::info!("the shared pacer's Redis answers again");
                if let Some(observer) = ask.observer {
                    observer.on_event(&RateLimitEvent::SharedPacerRestored {
                        provider: ask.provider,
                    });
                }
            }
            let now = ask.sleeper.now();
            match answer {
                Answer::Granted(lease) => {
                    // Kept locally too, so that pacing alone during an outage goes on from
                    // where the shared pacing was.
                    self.record_start(&mut self.lock(), now, ask.class);
                    return Ok(SharedTurn::Granted(Turn {
                        _permit: permit,
                        lease,
                    }));
                }
                Answer::Wait {
                    wait,
                    cause: WaitFor::RateLimit,
                } => self.hold_locally(later(now, wait)),
                Answer::Wait {
                    wait,
                    cause: WaitFor::Pacing,
                } => {
                    ask.check(now, wait, WaitCause::Pacing)?;
                    ask.report(wait, WaitCause::Pacing);
                    ask.sleeper.sleep(wait).await;
                }
                Answer::Wait {
                    wait,
                    cause: WaitFor::Queue,
                } => {
                    // Another process's request holds the turn; the wait is what is left of
                    // its lease, and it usually gives the turn back sooner: look again
                    // shortly, until the deadline.
                    let left = ask
                        .deadline
                        .map(|deadline| deadline.duration_since(now).unwrap_or_default());
                    let poll = wait.min(LEASE_POLL).min(left.unwrap_or(Duration::MAX));
                    if poll.is_zero() {
                        return Err(Denied::TooLate(LEASE_POLL));
                    }
                    if !queued {
                        queued = true;
                        ask.report(poll, WaitCause::Pacing);
                    }
                    ask.sleeper.sleep(poll).await;
                }
            }
        };
        self.shared_failed(shared, ask.provider, ask.observer, &unreachable);
        if closed {
            return Err(Denied::Unavailable(
                crate::model::error::Error::pacer_unavailable(ask.provider, unreachable),
            ));
        }
        Ok(SharedTurn::PaceLocally(permit))
    }

    /// Counts a request starting now: the spacing's next start, the class's window, the
    /// learned spacing.
    fn record_start(&self, state: &mut State, now: SystemTime, class: Traffic) {
        if class == Traffic::Notifying && self.inner.pacing.rate.is_none() {
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
        let spacing = self.inner.pacing.min_interval.filter(|s| !s.is_zero());
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

    /// Notes that the shared pacer's Redis failed a call, reporting the outage once: a
    /// warning, and an event for the observer.
    #[cfg(feature = "redis")]
    fn shared_failed(
        &self,
        shared: &redis_store::Shared,
        provider: ProviderKind,
        observer: Option<&dyn Observer>,
        reason: &str,
    ) {
        if !shared.failed() {
            return;
        }
        match shared.when_unavailable() {
            redis_store::WhenUnavailable::FailClosed => tracing::warn!(
                reason,
                "the shared pacer's Redis cannot be reached; calls fail until it answers"
            ),
            _ => tracing::warn!(
                reason,
                "the shared pacer's Redis cannot be reached; pacing this process on its own"
            ),
        }
        if let Some(observer) = observer {
            observer.on_event(&RateLimitEvent::SharedPacerUnavailable {
                provider,
                reason: reason.to_owned(),
            });
        }
    }

    /// The queue of a serialized pacer: fails at once when the predicted wait passes the
    /// deadline, and gives up its place when the deadline passes while waiting.
    async fn queue(
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
        if let Ok(permit) = self.inner.turn.clone().try_acquire_owned() {
            return Ok(permit);
        }
        // Counted while waiting, uncounted however the wait ends (cancellation included).
        let _place = Place::take(self);
        let acquire = self.inner.turn.clone().acquire_owned();
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

    /// Notes that the vendor took a request of `class` sent at `sent` (answered it, at `now`,
    /// without a rate-limit refusal), for learning its rate. The vendor counted it when it
    /// arrived, so it is remembered by when it was sent.
    pub(crate) fn accepted(&self, sent: SystemTime, now: SystemTime, class: Traffic) {
        if class != Traffic::Notifying || !self.learns_rate() {
            return;
        }
        let mut state = self.lock();
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
        if class != Traffic::Notifying || !self.learns_rate() {
            return;
        }
        let mut state = self.lock();
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

    /// Whether this pacer learns a rate from refusals: learning is on and no rate is set.
    fn learns_rate(&self) -> bool {
        self.inner.pacing.learn_from_headers && self.inner.pacing.rate.is_none()
    }

    /// Holds every request until `until` (after a rate-limit answer), in every process that
    /// shares this pacer.
    pub(crate) async fn hold_until(
        &self,
        until: SystemTime,
        now: SystemTime,
        provider: ProviderKind,
        observer: Option<&dyn Observer>,
    ) {
        self.hold_locally(until);
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            let wait = until.duration_since(now).unwrap_or(Duration::ZERO);
            if !wait.is_zero() {
                if let Err(reason) = Box::pin(shared.hold(wait)).await {
                    self.shared_failed(shared, provider, observer, &reason);
                }
            }
        }
        let _ = (now, provider, observer);
    }

    fn hold_locally(&self, until: SystemTime) {
        let mut state = self.lock();
        if state.held_until.is_none_or(|held| held < until) {
            state.held_until = Some(until);
        }
    }

    /// Learns from an answer's rate-limit headers, and shares it with every process that
    /// shares this pacer.
    pub(crate) async fn observe(
        &self,
        info: &RateLimitInfo,
        now: SystemTime,
        provider: ProviderKind,
        observer: Option<&dyn Observer>,
    ) {
        let learned = self.observe_locally(info, now);
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            // Boxed: a call without a shared pacer should not carry these futures' size.
            let shared_it = match learned {
                Learned::Hold(until) => match until.duration_since(now) {
                    Ok(wait) if !wait.is_zero() => Box::pin(shared.hold(wait)).await,
                    _ => Ok(()),
                },
                Learned::Spacing(spacing, until) => match until.duration_since(now) {
                    Ok(valid_for) if !valid_for.is_zero() => {
                        Box::pin(shared.learn(spacing, valid_for)).await
                    }
                    _ => Ok(()),
                },
                Learned::Nothing => Ok(()),
            };
            if let Err(reason) = shared_it {
                self.shared_failed(shared, provider, observer, &reason);
            }
        }
        let _ = (learned, provider, observer);
    }

    /// Learns from an answer's rate-limit headers, when this pacer learns from them at all
    /// (the headers are read only then).
    pub(crate) async fn observe_answer(
        &self,
        headers: &reqwest::header::HeaderMap,
        read: super::RateLimitReader,
        now: SystemTime,
        provider: ProviderKind,
        observer: Option<&dyn Observer>,
    ) {
        if self.inner.pacing.learn_from_headers {
            let info = read(headers, now);
            self.observe(&info, now, provider, observer).await;
        }
    }

    fn observe_locally(&self, info: &RateLimitInfo, now: SystemTime) -> Learned {
        if !self.inner.pacing.learn_from_headers {
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

/// What one answer's rate-limit headers taught, to share.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
enum Learned {
    Nothing,
    /// Hold every request until then.
    Hold(SystemTime),
    /// Space every request this far apart until then.
    Spacing(Duration, SystemTime),
}

/// Which pacing rules a request follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Traffic {
    /// The request notifies people (an invitation, GitHub's cancellation): the pacing's
    /// spacing, serialization and rate apply, as well as holds and learned budgets.
    Notifying,
    /// A batch request that notifies several people (Clerk's bulk endpoint): as `Notifying`,
    /// with the batch rate in place of the rate.
    Batch,
    /// Any other request (a read, a quiet delete): only holds and the budget the vendor's
    /// headers report apply.
    Quiet,
}

/// The spacing the headers taught, while it applies.
fn learned(state: &State, now: SystemTime) -> Option<Duration> {
    match state.learned {
        Some((learned, until)) if until > now => Some(learned),
        _ => None,
    }
}

/// The next start after one at `now`, `spacing` later. A start that is late by no more than a
/// timer's slack keeps its planned time as the reference, so that slack does not add up over
/// many requests; any later start (a slow answer held the turn) counts from now, so starts are
/// never closer than `spacing` minus that slack.
fn next_on_grid(planned: Option<SystemTime>, now: SystemTime, spacing: Duration) -> SystemTime {
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

/// Whether a window is nearly spent: under a tenth of its limit left (or at most 10 requests
/// when the limit is unknown). Only then does the pacer spread what is left over the window;
/// before, a budget shared with other traffic (GitHub's core limit) would slow invitations for
/// no reason.
fn running_low(info: &RateLimitInfo, remaining: u64) -> bool {
    match info.limit {
        Some(limit) => remaining.saturating_mul(10) < limit,
        None => remaining <= 10,
    }
}

pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::sleep::RecordingSleeper;

    /// Any vendor: the pacer treats them all alike.
    const ANY: ProviderKind = ProviderKind::ALL[0];
    use std::time::UNIX_EPOCH;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn t0() -> SystemTime {
        UNIX_EPOCH + S(1_800_000_000)
    }

    /// A request of `class` on `clock`, with no backoff and no observer.
    fn ask(
        clock: &RecordingSleeper,
        deadline: Option<SystemTime>,
        max_wait: Duration,
        class: Traffic,
    ) -> Ask<'_> {
        Ask {
            provider: ANY,
            sleeper: clock,
            observer: None,
            not_before: None,
            deadline,
            max_wait,
            patient: false,
            class,
        }
    }

    async fn starts(pacer: &Pacer, clock: &RecordingSleeper, n: usize) -> Vec<Duration> {
        starts_of(pacer, clock, n, Traffic::Notifying).await
    }

    async fn starts_of(
        pacer: &Pacer,
        clock: &RecordingSleeper,
        n: usize,
        class: Traffic,
    ) -> Vec<Duration> {
        let mut starts = Vec::new();
        for _ in 0..n {
            let turn = pacer
                .acquire(ask(clock, None, Duration::MAX, class))
                .await
                .unwrap();
            starts.push(clock.now().duration_since(t0()).unwrap());
            drop(turn);
        }
        starts
    }

    #[tokio::test]
    async fn serial_spacing() {
        let clock = RecordingSleeper::starting_at(t0());
        let pacer = Pacer::new(Pacing::serial(S(1)));
        assert_eq!(starts(&pacer, &clock, 4).await, [S(0), S(1), S(2), S(3)]);
    }

    #[tokio::test]
    async fn a_rate_never_exceeds_its_count_in_any_window() {
        let clock = RecordingSleeper::starting_at(t0());
        let pacer = Pacer::new(Pacing::rate(3, S(30)).window_margin(Duration::ZERO));
        assert_eq!(
            starts(&pacer, &clock, 7).await,
            [S(0), S(0), S(0), S(30), S(30), S(30), S(60)]
        );
        // By default the window is kept a fiftieth longer, for requests that arrive late.
        let clock = RecordingSleeper::starting_at(t0());
        let pacer = Pacer::new(Pacing::rate(3, S(30)));
        let ms = Duration::from_millis;
        assert_eq!(
            starts(&pacer, &clock, 4).await,
            [S(0), S(0), S(0), ms(30_600)]
        );
        // Spread starts: each waits for the start three back to age out of the window.
        let clock = RecordingSleeper::starting_at(t0());
        let pacer = Pacer::new(Pacing::rate(2, S(30)).window_margin(Duration::ZERO));
        starts(&pacer, &clock, 1).await;
        clock.sleep(S(10)).await;
        assert_eq!(starts(&pacer, &clock, 3).await, [S(10), S(30), S(40)]);
    }

    #[tokio::test]
    async fn quiet_requests_skip_spacing_and_rates_but_not_holds_or_learned_budgets() {
        let clock = RecordingSleeper::starting_at(t0());
        let pacer = Pacer::new(
            Pacing::serial(S(1))
                .with_rate(1, S(60))
                .window_margin(Duration::ZERO),
        );
        assert_eq!(starts(&pacer, &clock, 1).await, [S(0)]);
        // Reads go at once, beside a serialized, rate-limited invitation stream.
        assert_eq!(
            starts_of(&pacer, &clock, 3, Traffic::Quiet).await,
            [S(0), S(0), S(0)]
        );
        // ... and do not use up its rate: the next invitation still waits for the window.
        assert_eq!(starts(&pacer, &clock, 1).await, [S(60)]);
        pacer.hold_until(t0() + S(90), clock.now(), ANY, None).await;
        assert_eq!(starts_of(&pacer, &clock, 1, Traffic::Quiet).await, [S(90)]);
        // A budget learned from headers spaces every request.
        let info = RateLimitInfo {
            remaining: Some(2),
            reset: Some(jiff::Timestamp::from_second(1_800_000_099).unwrap()),
            ..RateLimitInfo::default()
        };
        pacer.observe(&info, clock.now(), ANY, None).await;
        assert_eq!(
            starts_of(&pacer, &clock, 2, Traffic::Quiet).await,
            [S(90), S(95)]
        );
    }

    #[test]
    fn answers_still_on_their_way_at_the_first_refusal_raise_what_it_measured() {
        let pacer = Pacer::new(Pacing::off());
        let ms = Duration::from_millis;
        let learned = |pacer: &Pacer| {
            let rate = pacer.lock().learned_rate.unwrap();
            (rate.requests, rate.ceiling)
        };
        // Ten sent at once; three answered when the eleventh is refused (wait 1 s): the
        // window measured holds three, and two a second are learned.
        for _ in 0..3 {
            pacer.accepted(t0(), t0() + ms(5), Traffic::Notifying);
        }
        pacer.refused(t0() + ms(6), t0() + ms(5), S(1), Traffic::Notifying);
        assert_eq!(learned(&pacer), (2, 3));
        // The other seven come back taken: ten in the window, nine a second learned.
        for answered in 0..7 {
            pacer.accepted(t0(), t0() + ms(7 + answered), Traffic::Notifying);
        }
        assert_eq!(learned(&pacer), (9, 10));
        assert_eq!(pacer.lock().learned_rate.unwrap().period, ms(1006));
        // Requests sent before the window measured, or after the refusal was read, do not
        // count so.
        pacer.accepted(t0() - S(1), t0() + ms(20), Traffic::Notifying);
        pacer.accepted(t0() + ms(30), t0() + ms(40), Traffic::Notifying);
        assert_eq!(learned(&pacer), (9, 10));
        // One sent after the refused request but before the refusal was read reached the
        // vendor first (a connection already open): it counts.
        pacer.accepted(
            t0() + Duration::from_micros(5_500),
            t0() + ms(41),
            Traffic::Notifying,
        );
        assert_eq!(learned(&pacer), (10, 11));
        // One sent in the wait before the refusal but before the first one taken widens the
        // window as it counts.
        pacer.accepted(t0() - ms(200), t0() + ms(42), Traffic::Notifying);
        assert_eq!(learned(&pacer), (11, 12));
        assert_eq!(pacer.lock().learned_rate.unwrap().period, ms(1206));
        // A later refusal lowers the rate by a tenth and ends the measure.
        pacer.refused(t0() + S(3), t0() + S(3), S(1), Traffic::Notifying);
        pacer.accepted(t0() + ms(1), t0() + S(3), Traffic::Notifying);
        assert_eq!(learned(&pacer), (10, 12));
    }

    #[tokio::test]
    async fn with_no_rate_set_the_rate_is_learned_from_refusals() {
        let clock = RecordingSleeper::starting_at(t0());
        let pacer = Pacer::new(Pacing::off());
        let ms = Duration::from_millis;
        // Nothing known: a burst goes at once.
        assert_eq!(starts(&pacer, &clock, 3).await, [S(0), S(0), S(0)]);
        // The vendor took ten, then refused one asking for a second: its window is a second,
        // and the pacer learns nine in it.
        for _ in 0..10 {
            pacer.accepted(t0(), t0(), Traffic::Notifying);
        }
        pacer.refused(t0(), t0(), S(1), Traffic::Notifying);
        pacer.hold_until(t0() + S(1), t0(), ANY, None).await;
        // Requests start again when the hold ends, not later; a period without a refusal
        // raises the rate by one, back to the ten the vendor took; the next waits for the
        // window (and its 20 ms margin).
        assert_eq!(starts(&pacer, &clock, 10).await, [S(1); 10]);
        assert_eq!(starts(&pacer, &clock, 1).await, [ms(2020)]);
        // Past what the vendor took, the rate grows only every ten periods.
        assert_eq!(starts(&pacer, &clock, 10).await[9], ms(3040));
        // A refusal of a request sent before the latest decrease says nothing new; a later
        // one lowers the rate by a tenth.
        pacer.refused(clock.now(), t0() - ms(500), S(1), Traffic::Notifying);
        assert_eq!(pacer.lock().learned_rate.unwrap().requests, 10);
        pacer.refused(clock.now(), clock.now(), S(1), Traffic::Notifying);
        assert_eq!(pacer.lock().learned_rate.unwrap().requests, 9);
        // Reads are not paced by it.
        let now = clock.now().duration_since(t0()).unwrap();
        assert_eq!(
            starts_of(&pacer, &clock, 2, Traffic::Quiet).await,
            [now, now]
        );
        // Requests taken long before the refused one belong to earlier windows.
        let stale = Pacer::new(Pacing::off());
        stale.accepted(t0(), t0(), Traffic::Notifying);
        stale.refused(t0() + S(540), t0() + S(540), S(60), Traffic::Notifying);
        assert!(stale.lock().learned_rate.is_none());
        // A configured rate is never second-guessed.
        let configured = Pacer::new(Pacing::rate(100, S(1)));
        configured.accepted(t0(), t0(), Traffic::Notifying);
        configured.refused(t0(), t0(), S(1), Traffic::Notifying);
        assert!(configured.lock().learned_rate.is_none());
    }

    #[tokio::test]
    async fn a_hold_delays_everyone_once() {
        let clock = RecordingSleeper::starting_at(t0());
        let pacer = Pacer::new(Pacing::off());
        pacer.hold_until(t0() + S(42), clock.now(), ANY, None).await;
        assert_eq!(starts(&pacer, &clock, 2).await, [S(42), S(42)]);
    }

    #[tokio::test]
    async fn headers_slow_the_pacer_before_the_limit() {
        let clock = RecordingSleeper::starting_at(t0());
        let pacer = Pacer::new(Pacing::off());
        let info = RateLimitInfo {
            remaining: Some(4),
            reset: Some(jiff::Timestamp::from_second(1_800_000_019).unwrap()),
            ..RateLimitInfo::default()
        };
        // 4 requests left for the 20 s until the reset (+1 s margin): one every 5 s.
        pacer.observe(&info, t0(), ANY, None).await;
        assert_eq!(starts(&pacer, &clock, 3).await, [S(0), S(5), S(10)]);

        let exhausted = RateLimitInfo {
            remaining: Some(0),
            interval: Some(S(60)),
            ..RateLimitInfo::default()
        };
        let pacer = Pacer::new(Pacing::off());
        pacer.observe(&exhausted, clock.now(), ANY, None).await;
        let before = clock.now();
        starts(&pacer, &clock, 1).await;
        assert_eq!(clock.now().duration_since(before).unwrap(), S(60));
    }

    #[tokio::test]
    async fn a_window_known_by_its_length_ends_where_it_started_plus_that_length() {
        let clock = RecordingSleeper::starting_at(t0());
        let pacer = Pacer::new(Pacing::off());
        let answer = |remaining| RateLimitInfo {
            limit: Some(3),
            remaining: Some(remaining),
            interval: Some(S(60)),
            ..RateLimitInfo::default()
        };
        // The window's first answer at 0 s, its last at 20 s: the next window opens at 60 s.
        pacer.observe(&answer(2), t0(), ANY, None).await;
        pacer.observe(&answer(1), t0() + S(10), ANY, None).await;
        pacer.observe(&answer(0), t0() + S(20), ANY, None).await;
        clock.sleep(S(20)).await;
        assert_eq!(starts(&pacer, &clock, 1).await, [S(60)]);
    }

    #[tokio::test]
    async fn a_little_lateness_does_not_add_up_but_a_slow_turn_restarts_the_grid() {
        let clock = RecordingSleeper::starting_at(t0());
        let pacer = Pacer::new(Pacing::serial(S(1)));
        assert_eq!(starts(&pacer, &clock, 1).await, [S(0)]);
        // Due at 1 s, started 5 ms late: the next is still due at 2 s.
        clock.sleep(Duration::from_millis(1005)).await;
        starts(&pacer, &clock, 1).await;
        assert_eq!(starts(&pacer, &clock, 1).await, [S(2)]);
        // Due at 3 s, started 300 ms late (a slow answer held the turn): the next waits a full
        // second from that start, never less.
        clock.sleep(Duration::from_millis(1300)).await;
        starts(&pacer, &clock, 1).await;
        let next = starts(&pacer, &clock, 1).await[0];
        assert_eq!(next, Duration::from_millis(4300));
    }

    #[tokio::test]
    async fn learning_can_be_turned_off() {
        let clock = RecordingSleeper::starting_at(t0());
        let pacer = Pacer::new(Pacing::off().learn_from_headers(false));
        let exhausted = RateLimitInfo {
            remaining: Some(0),
            interval: Some(S(60)),
            ..RateLimitInfo::default()
        };
        pacer.observe(&exhausted, t0(), ANY, None).await;
        assert_eq!(starts(&pacer, &clock, 1).await, [S(0)]);
    }

    #[tokio::test]
    async fn a_turn_without_a_wait_is_taken_at_once_and_counted() {
        let clock = RecordingSleeper::starting_at(t0());
        let now = |class| ask(&clock, None, Duration::MAX, class);
        // A rate of two a second: two turns at once, the third must wait for the window.
        let pacer = Pacer::new(Pacing::rate(2, S(1)).window_margin(Duration::ZERO));
        assert!(pacer.turn_now(&now(Traffic::Notifying), t0()).is_some());
        assert!(pacer.turn_now(&now(Traffic::Notifying), t0()).is_some());
        assert!(pacer.turn_now(&now(Traffic::Notifying), t0()).is_none());
        // Reads are not counted in the rate.
        assert!(pacer.turn_now(&now(Traffic::Quiet), t0()).is_some());
        // The waiting way counts the turns taken at once: the third starts a second later.
        drop(pacer.acquire(now(Traffic::Notifying)).await.unwrap());
        assert_eq!(clock.waits(), [S(1)]);

        // A hold, a serialized pacing or a backoff of the call's own: never at once.
        let held = Pacer::new(Pacing::off());
        held.hold_until(t0() + S(5), t0(), ANY, None).await;
        assert!(held.turn_now(&now(Traffic::Quiet), t0()).is_none());
        let serial = Pacer::new(Pacing::serial(S(1)));
        assert!(serial.turn_now(&now(Traffic::Notifying), t0()).is_none());
        assert!(serial.turn_now(&now(Traffic::Quiet), t0()).is_some());
        let backing_off = Ask {
            not_before: Some(t0()),
            ..now(Traffic::Quiet)
        };
        assert!(Pacer::new(Pacing::off())
            .turn_now(&backing_off, t0())
            .is_none());
    }

    #[tokio::test]
    async fn a_deadline_fails_at_once() {
        let clock = RecordingSleeper::starting_at(t0());
        let pacer = Pacer::new(Pacing::serial(S(1)));
        pacer.hold_until(t0() + S(30), clock.now(), ANY, None).await;
        let result = pacer
            .acquire(ask(
                &clock,
                Some(t0() + S(10)),
                Duration::MAX,
                Traffic::Notifying,
            ))
            .await;
        assert!(matches!(result, Err(Denied::TooLate(wait)) if wait == S(30)));
        let result = pacer
            .acquire(ask(&clock, None, S(29), Traffic::Notifying))
            .await;
        assert!(matches!(result, Err(Denied::TooLate(wait)) if wait == S(30)));
        assert!(clock.waits().is_empty());
    }
}
