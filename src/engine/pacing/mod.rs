//! Proactive pacing: spacing, serializing and rate-limiting requests before the vendor has to
//! say no, and holding every request after it did.
//!
//! By concern: the settings ([`config`]), this process's pacer in memory ([`local`]), what is
//! learned from the vendor's refusals and headers ([`learn`]), and the store several processes
//! share ([`store`]: the seam; `redis_store`: Redis, feature `redis`). [`Pacer`] ties them
//! together; the engine sees only it.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::OwnedSemaphorePermit;

mod config;
mod learn;
mod local;
#[cfg(feature = "redis")]
pub(crate) mod redis_store;
mod store;

pub use config::Pacing;
pub(crate) use config::Traffic;

use learn::Learned;
use local::Local;
use store::{Answer, Lease, SharedStore, WaitFor};

use super::later;
use super::observe::{Observer, RateLimitEvent, WaitCause};
use super::sleep::Sleeper;
use crate::model::error::RateLimitInfo;
use crate::model::kind::ProviderKind;

/// How often a process waiting for a serialized turn another process holds looks again.
const LEASE_POLL: Duration = Duration::from_millis(20);

/// How late a timer may wake before a start stops counting as on time.
const TIMER_SLACK: Duration = Duration::from_millis(10);

/// Reset times come in whole seconds: wait this much past them.
pub(crate) const RESET_MARGIN: Duration = Duration::from_secs(1);

/// The shared state behind [`Pacing`]. Every clone of a client uses its client's pacer; pass
/// one pacer to several builders ([`ClientBuilder::pacer`](crate::ClientBuilder::pacer)) to
/// make clients that share a vendor account share one budget.
///
/// After a rate-limit answer the pacer holds every request until the vendor's wait is over, so
/// concurrent tasks wait for the one announced wait instead of each collecting a 429.
#[derive(Clone)]
pub struct Pacer {
    /// This process's pacing; alone, or while the shared store cannot be reached.
    local: Arc<Local>,
    /// The store every process shares, when there is one (Redis).
    shared: Option<Arc<dyn SharedStore>>,
}

/// Why a request got no turn.
#[derive(Debug)]
pub(crate) enum Denied {
    /// The turn would come too late (after the deadline, or after a single wait longer than
    /// allowed): this long from now.
    TooLate(Duration),
    /// The shared pacer cannot be reached and the client fails closed.
    Unavailable(crate::model::error::Error),
}

impl From<Duration> for Denied {
    fn from(wait: Duration) -> Denied {
        Denied::TooLate(wait)
    }
}

impl fmt::Debug for Pacer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pacer")
            .field("pacing", &self.local.pacing)
            .field("state", &*self.local.lock())
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
enum SharedTurn {
    /// Its turn.
    Granted(Turn),
    /// Nothing: Redis cannot be reached and the client fails open. The request paces in this
    /// process alone, with the place in its queue it may hold already.
    PaceLocally(Option<OwnedSemaphorePermit>),
}

/// The right to send one request; releasing or dropping it lets the next serialized request
/// go.
pub(crate) struct Turn {
    // Dropped first: a serialized turn shared through Redis is given back before this
    // process's next request may ask for it.
    lease: Option<Box<dyn Lease>>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Turn {
    fn local(permit: Option<OwnedSemaphorePermit>) -> Turn {
        Turn {
            _permit: permit,
            lease: None,
        }
    }

    /// Gives the turn back, waiting until other processes sharing the pacer can have it.
    /// When another process waits for a serialized turn, this process's next request lets
    /// it go first (it looks again only every [`LEASE_POLL`], while the next request here
    /// would ask at once).
    pub(crate) async fn release(self) {
        if self.lease.is_some() {
            // Boxed: a call without a shared pacer should not carry this future's size.
            Box::pin(self.release_shared()).await;
        }
    }

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
            local: Arc::new(Local::new(pacing)),
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
        &self.local.pacing
    }

    /// This request's turn at `now`, when it can start at once without queueing: no backoff
    /// of its own, no shared pacer, not serialized, and nothing in the pacing holding it. The
    /// turn is counted as [`Pacer::acquire`] counts it; `None` leaves everything to that.
    pub(crate) fn turn_now(&self, ask: &Ask<'_>, now: SystemTime) -> Option<Turn> {
        if self.shared.is_some() {
            return None;
        }
        let serialized = self.local.pacing.serialize && ask.class != Traffic::Quiet;
        if ask.not_before.is_some() || serialized {
            return None;
        }
        self.local.start(now, None, ask.class).ok()?;
        Some(Turn::local(None))
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
            let held = self.local.lock().held_until;
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
        if let Some(shared) = &self.shared {
            match Box::pin(self.acquire_shared(shared, &ask)).await? {
                SharedTurn::Granted(turn) => return Ok(turn),
                SharedTurn::PaceLocally(queued) => permit = queued,
            }
        }

        let notifying = ask.class != Traffic::Quiet;
        if permit.is_none() && self.local.pacing.serialize && notifying {
            permit = Some(
                self.local
                    .queue(ask.sleeper, ask.not_before, ask.deadline)
                    .await?,
            );
        }
        loop {
            let now = ask.sleeper.now();
            let Err((earliest, cause)) = self.local.start(now, ask.not_before, ask.class) else {
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
    async fn acquire_shared(
        &self,
        shared: &Arc<dyn SharedStore>,
        ask: &Ask<'_>,
    ) -> Result<SharedTurn, Denied> {
        let closed = shared.fails_closed();
        // Redis may have failed another request while this one queued: check again after.
        if !closed && shared.cooling_down() {
            return Ok(SharedTurn::PaceLocally(None));
        }
        let mut permit = None;
        if self.local.pacing.serialize && ask.class != Traffic::Quiet {
            permit = Some(
                self.local
                    .queue(ask.sleeper, ask.not_before, ask.deadline)
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
            let held = self.local.lock().held_until.filter(|held| *held > now);
            if let Some(held) = held {
                let wait = held.duration_since(now).unwrap_or(Duration::ZERO);
                ask.check(now, wait, WaitCause::RateLimit)?;
                ask.report(wait, WaitCause::RateLimit);
                ask.sleeper.sleep_until(held).await;
                continue;
            }
            let answer = match shared
                .clone()
                .turn(&self.local.pacing, ask.class, TIMER_SLACK)
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
                    self.local
                        .record_start(&mut self.local.lock(), now, ask.class);
                    return Ok(SharedTurn::Granted(Turn {
                        _permit: permit,
                        lease,
                    }));
                }
                Answer::Wait {
                    wait,
                    cause: WaitFor::RateLimit,
                } => self.local.hold_locally(later(now, wait)),
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
        self.shared_failed(&**shared, ask.provider, ask.observer, &unreachable);
        if closed {
            return Err(Denied::Unavailable(
                crate::model::error::Error::pacer_unavailable(ask.provider, unreachable),
            ));
        }
        Ok(SharedTurn::PaceLocally(permit))
    }

    /// Notes that the shared pacer's Redis failed a call, reporting the outage once: a
    /// warning, and an event for the observer.
    fn shared_failed(
        &self,
        shared: &dyn SharedStore,
        provider: ProviderKind,
        observer: Option<&dyn Observer>,
        reason: &str,
    ) {
        if !shared.failed() {
            return;
        }
        if shared.fails_closed() {
            tracing::warn!(
                reason,
                "the shared pacer's store cannot be reached; calls fail until it answers"
            );
        } else {
            tracing::warn!(
                reason,
                "the shared pacer's store cannot be reached; pacing this process on its own"
            );
        }
        if let Some(observer) = observer {
            observer.on_event(&RateLimitEvent::SharedPacerUnavailable {
                provider,
                reason: reason.to_owned(),
            });
        }
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
        self.local.hold_locally(until);
        if let Some(shared) = &self.shared {
            let wait = until.duration_since(now).unwrap_or(Duration::ZERO);
            if !wait.is_zero() {
                if let Err(reason) = Box::pin(shared.hold(wait)).await {
                    self.shared_failed(&**shared, provider, observer, &reason);
                }
            }
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
        let learned = self.local.observe_locally(info, now);
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
                self.shared_failed(&**shared, provider, observer, &reason);
            }
        }
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
        if self.local.pacing.learn_from_headers {
            let info = read(headers, now);
            self.observe(&info, now, provider, observer).await;
        }
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
            let rate = pacer.local.lock().learned_rate.unwrap();
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
        assert_eq!(pacer.local.lock().learned_rate.unwrap().period, ms(1006));
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
        assert_eq!(pacer.local.lock().learned_rate.unwrap().period, ms(1206));
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
        assert_eq!(pacer.local.lock().learned_rate.unwrap().requests, 10);
        pacer.refused(clock.now(), clock.now(), S(1), Traffic::Notifying);
        assert_eq!(pacer.local.lock().learned_rate.unwrap().requests, 9);
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
        assert!(stale.local.lock().learned_rate.is_none());
        // A configured rate is never second-guessed.
        let configured = Pacer::new(Pacing::rate(100, S(1)));
        configured.accepted(t0(), t0(), Traffic::Notifying);
        configured.refused(t0(), t0(), S(1), Traffic::Notifying);
        assert!(configured.local.lock().learned_rate.is_none());
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
