//! Waiting, behind a trait so tests (ours and yours) never really sleep.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use crate::model::boxed::BoxFuture;

/// The clock and the sleep the engine uses between attempts.
///
/// The default, [`TokioSleeper`], really waits. [`RecordingSleeper`] returns at once and
/// records each wait, so a test can assert the exact waits a rate limit asked for without
/// spending them.
pub trait Sleeper: Send + Sync + fmt::Debug {
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;

    /// The current time, used to turn `Retry-After` dates and rate-limit reset times into
    /// waits. Defaults to the system clock.
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    /// Waits until `at`. Defaults to sleeping from [`Sleeper::now`] until then.
    fn sleep_until(&self, at: SystemTime) -> BoxFuture<'static, ()> {
        self.sleep(at.duration_since(self.now()).unwrap_or(Duration::ZERO))
    }
}

/// A shared sleeper is a sleeper: hand the same clock to a fake vendor and to a client.
impl<T: Sleeper + ?Sized> Sleeper for Arc<T> {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        (**self).sleep(duration)
    }

    fn now(&self) -> SystemTime {
        (**self).now()
    }

    fn sleep_until(&self, at: SystemTime) -> BoxFuture<'static, ()> {
        (**self).sleep_until(at)
    }
}

/// The real sleeper: `tokio::time::sleep` and the system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A sleeper for tests: it returns at once, records every requested wait, and moves a
/// virtual clock to the end of that wait.
///
/// [`Sleeper::sleep`] moves the clock forward by the wait, so one task's waits add up
/// exactly. [`Sleeper::sleep_until`] (what the client's pacer uses) moves it to at least the
/// given time, so concurrent tasks waiting for the same moment leave the clock there, not at
/// the sum of their waits.
///
/// Clones share the same record and clock, so keep one clone and hand the other to the
/// client builder.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use orginvite::sleep::{RecordingSleeper, Sleeper};
///
/// # tokio_test_block_on(async {
/// let sleeper = RecordingSleeper::starting_at(UNIX_EPOCH + Duration::from_secs(1_000));
/// sleeper.sleep(Duration::from_secs(60)).await;
/// assert_eq!(sleeper.waits(), [Duration::from_secs(60)]);
/// assert_eq!(sleeper.now(), UNIX_EPOCH + Duration::from_secs(1_060));
/// # });
/// # fn tokio_test_block_on(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RecordingSleeper {
    state: Arc<Mutex<Recorded>>,
}

#[derive(Debug)]
struct Recorded {
    now: SystemTime,
    waits: Vec<Duration>,
}

impl RecordingSleeper {
    /// A recording sleeper whose virtual clock starts at the current system time.
    pub fn new() -> RecordingSleeper {
        RecordingSleeper::starting_at(SystemTime::now())
    }

    /// A recording sleeper whose virtual clock starts at `now`.
    pub fn starting_at(now: SystemTime) -> RecordingSleeper {
        RecordingSleeper {
            state: Arc::new(Mutex::new(Recorded {
                now,
                waits: Vec::new(),
            })),
        }
    }

    /// Every wait requested so far, in order.
    pub fn waits(&self) -> Vec<Duration> {
        self.lock().waits.clone()
    }

    /// The sum of every wait requested so far.
    pub fn total(&self) -> Duration {
        self.lock().waits.iter().sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for RecordingSleeper {
    fn default() -> Self {
        RecordingSleeper::new()
    }
}

impl Sleeper for RecordingSleeper {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        // The wait is recorded when the future runs, not when it is made: a sleep that loses
        // a race (and is dropped unpolled) leaves no trace.
        let this = self.clone();
        Box::pin(async move {
            let mut state = this.lock();
            state.waits.push(duration);
            state.now = state.now.checked_add(duration).unwrap_or(state.now);
        })
    }

    fn sleep_until(&self, at: SystemTime) -> BoxFuture<'static, ()> {
        let this = self.clone();
        Box::pin(async move {
            let mut state = this.lock();
            let wait = at.duration_since(state.now).unwrap_or(Duration::ZERO);
            state.waits.push(wait);
            state.now = state.now.max(at);
        })
    }

    fn now(&self) -> SystemTime {
        self.lock().now
    }
}
