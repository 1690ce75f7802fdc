//! How a client paces its requests: [`Pacing`], and which rules a request follows.

use std::time::Duration;

/// How a client paces its requests. Applied by a [`Pacer`](crate::Pacer), shared by every clone of a client.
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

    setters! {
        /// Adds a rate ([`Pacing::rate`]) to these settings.
        with_rate(self, requests: u32, period: Duration) { self.rate = Some((requests.max(1), period)) }

        /// Adds a rate for batch requests ([`Pacing::batch_rate`]) to these settings.
        with_batch_rate(self, requests: u32, period: Duration) { self.batch_rate = Some((requests.max(1), period)) }

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
        window_margin(self, margin: Duration) { self.window_margin = Some(margin) }
    }

    /// The window a rate of `period` is kept over: the period and the margin.
    pub fn window(&self, period: Duration) -> Duration {
        let margin = self
            .window_margin
            .unwrap_or_else(|| (period / 50).min(Duration::from_secs(1)));
        period.saturating_add(margin)
    }

    setters! {
        /// Turns learning from rate-limit headers on or off.
        learn_from_headers(self, learn: bool) { self.learn_from_headers = learn }
    }
}

impl Default for Pacing {
    fn default() -> Pacing {
        Pacing::off()
    }
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
