//! Progress of a CSV run: a bar on a terminal, plain log lines otherwise. Also the client's
//! observer, so that a wait on a vendor limit shows with its reason.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use orginvite::observe::{
    Observer, RateLimitEvent, RequestCounter, RequestEvent, RequestTally, WaitCause,
};

use crate::outcome::Outcome;

/// How often plain log lines report progress at most.
const LOG_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
struct Counts {
    done: AtomicU64,
    created: AtomicU64,
    already: AtomicU64,
    failed: AtomicU64,
}

/// The run's progress, shared by the tasks of the run and the client's observer.
#[derive(Debug)]
pub(crate) struct Progress {
    counts: Counts,
    state: Mutex<State>,
    /// The requests the client sent, by kind.
    requests: RequestCounter,
}

#[derive(Debug)]
struct State {
    bar: Option<ProgressBar>,
    total: u64,
    started: Instant,
    last_line: Option<Instant>,
    /// Why the run waits, while it waits on a vendor limit.
    waiting: Option<String>,
    active: bool,
}

impl Progress {
    pub(crate) fn new() -> Arc<Progress> {
        Arc::new(Progress {
            counts: Counts::default(),
            requests: RequestCounter::default(),
            state: Mutex::new(State {
                bar: None,
                total: 0,
                started: Instant::now(),
                last_line: None,
                waiting: None,
                active: false,
            }),
        })
    }

    /// The requests the client sent so far, by kind.
    pub(crate) fn requests(&self) -> RequestTally {
        self.requests.tally()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts showing progress over `total` rows.
    pub(crate) fn start(&self, total: u64) {
        let mut state = self.state();
        state.total = total;
        state.started = Instant::now();
        state.active = true;
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} rows  {msg}  {per_sec}  ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            state.bar = Some(bar);
        }
        drop(state);
        self.refresh(true);
    }

    /// Counts one finished row.
    pub(crate) fn row(&self, outcome: Outcome) {
        self.counts.done.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Outcome::Created | Outcome::WouldCreate => &self.counts.created,
            Outcome::AlreadyInvited | Outcome::AlreadyMember => &self.counts.already,
            _ => &self.counts.failed,
        }
        .fetch_add(1, Ordering::Relaxed);
        {
            let mut state = self.state();
            state.waiting = None;
        }
        self.refresh(false);
    }

    fn message(&self, state: &State) -> String {
        let mut message = format!(
            "created {}  already {}  failed {}",
            self.counts.created.load(Ordering::Relaxed),
            self.counts.already.load(Ordering::Relaxed),
            self.counts.failed.load(Ordering::Relaxed),
        );
        if let Some(waiting) = &state.waiting {
            message.push_str("  ");
            message.push_str(waiting);
        }
        message
    }

    fn refresh(&self, force: bool) {
        let mut state = self.state();
        if !state.active {
            return;
        }
        let done = self.counts.done.load(Ordering::Relaxed);
        let message = self.message(&state);
        if let Some(bar) = &state.bar {
            bar.set_position(done);
            bar.set_message(message);
            return;
        }
        let now = Instant::now();
        let due = state
            .last_line
            .is_none_or(|last| now.duration_since(last) >= LOG_EVERY);
        if force || due || done == state.total {
            state.last_line = Some(now);
            let elapsed = now.duration_since(state.started).as_secs_f64();
            eprintln!(
                "progress: {done}/{} rows  {message}  ({elapsed:.1} s)",
                state.total
            );
        }
    }

    /// Stops showing progress.
    pub(crate) fn finish(&self) {
        let mut state = self.state();
        if let Some(bar) = state.bar.take() {
            bar.finish_and_clear();
        }
        state.active = false;
    }

    /// Prints a line above the bar (or as a plain line).
    pub(crate) fn println(&self, line: &str) {
        let state = self.state();
        match &state.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }
}

impl Observer for Progress {
    fn on_request(&self, request: &RequestEvent) {
        self.requests.count(request);
    }

    fn on_event(&self, event: &RateLimitEvent) {
        let waiting = match event {
            RateLimitEvent::Waited {
                wait,
                cause: WaitCause::RateLimit,
                ..
            } => format!(
                "waiting {:.0} s: the vendor's rate limit",
                wait.as_secs_f64().ceil()
            ),
            RateLimitEvent::Retried { kind, wait, .. } => format!(
                "retrying in {:.0} s after {kind}",
                wait.as_secs_f64().ceil()
            ),
            RateLimitEvent::SharedPacerUnavailable { reason, .. } => {
                format!("shared pacer unreachable ({reason}); pacing alone")
            }
            _ => return,
        };
        // An unreachable shared pacer is said even outside a run (once per outage: the event
        // comes once); the rest only while a run shows its progress.
        let outage = matches!(event, RateLimitEvent::SharedPacerUnavailable { .. });
        let (log, quiet) = {
            let mut state = self.state();
            state.waiting = Some(waiting.clone());
            (
                state.active && state.bar.is_none(),
                !state.active && state.bar.is_none(),
            )
        };
        if log {
            eprintln!("progress: {waiting}");
        } else if outage && quiet {
            eprintln!("warning: {waiting}");
        }
        self.refresh(false);
    }
}
