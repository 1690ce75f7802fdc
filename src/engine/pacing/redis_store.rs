//! A pacer shared by every process through Redis: spacing, serialized turns (as leases),
//! sliding-window rates, holds after a rate-limit answer and budgets learned from headers, all
//! decided atomically by Lua scripts on the Redis server's clock.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::store::{self, Answer, SharedStore, WaitFor};
use super::{Pacing, Traffic};
use crate::model::boxed::BoxFuture;
use crate::model::error::Error;

/// What a client does when the shared pacer's Redis cannot be reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WhenUnavailable {
    /// Pace with this process's own pacer for a moment, report it to the
    /// [`Observer`](crate::observe::Observer) and in a warning, and try Redis again on later requests.
    /// The default: the vendor's own rate-limit answers are still honoured, so at worst the
    /// processes together overshoot until Redis is back.
    #[default]
    PaceLocally,
    /// Fail the call with [`ErrorKind::PacerUnavailable`](crate::ErrorKind::PacerUnavailable):
    /// nothing is sent while the pacer cannot vouch for the shared budget.
    FailClosed,
}

/// How to reach the Redis that shares a pacer between processes; see [`Pacer::redis`].
///
/// [`Pacer::redis`]: crate::Pacer::redis
///
/// ```
/// use std::time::Duration;
/// use orginvite::{RedisPacer, WhenUnavailable};
///
/// let shared = RedisPacer::new("redis://:s3cret@127.0.0.1:6379/0")
///     .key("github:acme")
///     .timeout(Duration::from_millis(200))
///     .when_unavailable(WhenUnavailable::FailClosed);
/// // The password never shows.
/// assert!(!format!("{shared:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct RedisPacer {
    url: secrecy::SecretString,
    key: String,
    timeout: Duration,
    /// How long connecting may take, when set; else the timeout, or 2 s over TLS.
    connect_timeout: Option<Duration>,
    lease: Duration,
    when_unavailable: WhenUnavailable,
    /// The certificate authorities (PEM) a `rediss://` server's certificate must chain to,
    /// instead of the system's.
    ca: Option<Vec<u8>>,
    /// The client certificate (PEM) and its private key (PEM), for mutual TLS.
    identity: Option<Identity>,
    /// The seed nodes of a Redis Cluster (the first is `url`); empty for one server.
    cluster: Vec<secrecy::SecretString>,
}

/// A client certificate (PEM) and its private key (PEM), kept secret.
type Identity = (Vec<u8>, Arc<secrecy::SecretBox<Vec<u8>>>);

impl fmt::Debug for RedisPacer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisPacer")
            .field(
                "url",
                &redacted(secrecy::ExposeSecret::expose_secret(&self.url)),
            )
            .field("key", &self.key)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("lease", &self.lease)
            .field(
                "cluster",
                &self
                    .cluster
                    .iter()
                    .map(|seed| redacted(secrecy::ExposeSecret::expose_secret(seed)))
                    .collect::<Vec<_>>(),
            )
            .field("when_unavailable", &self.when_unavailable)
            .field("ca", &self.ca.as_ref().map(|_| "[PEM]"))
            .field(
                "client_certificate",
                &self.identity.as_ref().map(|_| "[PEM, key redacted]"),
            )
            .finish()
    }
}

/// A Redis URL without its user and password.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("[redacted]"));
            }
            if !parsed.username().is_empty() {
                let _ = parsed.set_username("[redacted]");
            }
            // `redis+unix://` URLs carry the user and password as query parameters.
            if parsed.query().is_some() {
                parsed.set_query(Some("[redacted]"));
            }
            parsed.to_string()
        }
        Err(_) => "[unreadable URL]".to_owned(),
    }
}

impl RedisPacer {
    /// The Redis at `url`: `redis://[[user]:password@]host[:port][/db]`, the same over TLS as
    /// `rediss://...`, or `redis+unix:///path/to/socket`. It shares the key `orginvite` until
    /// [`key`](Self::key) names another. An ACL user goes in the URL (`redis://user:password@host`);
    /// user and password never show in `Debug`, errors or logs.
    ///
    /// Over TLS, the server's certificate must chain to the system's certificate authorities,
    /// or to those given with [`ca_pem`](Self::ca_pem), and name the URL's host; rustls
    /// checks it, and a certificate that does not verify fails the connection (it never falls
    /// back to plain text). Needs Redis 5 or later; for a Redis Cluster, see
    /// [`cluster`](Self::cluster).
    pub fn new(url: impl Into<String>) -> RedisPacer {
        RedisPacer {
            url: secrecy::SecretString::from(url.into()),
            key: "orginvite".to_owned(),
            timeout: Duration::from_millis(250),
            connect_timeout: None,
            lease: Duration::from_secs(10),
            when_unavailable: WhenUnavailable::default(),
            ca: None,
            identity: None,
            cluster: Vec::new(),
        }
    }

    /// A Redis Cluster, reached through one or more of its nodes (`seeds`, URLs as for
    /// [`new`](Self::new), `rediss://` for TLS; the others are found from them). The pacer's
    /// keys share a hash tag (see [`key`](Self::key)), so every script runs on the master of
    /// one slot; `MOVED` and `ASK` redirections are followed, and a failover is an outage like
    /// any other ([`WhenUnavailable`]) until the cluster serves the slot again.
    ///
    /// ```
    /// use orginvite::RedisPacer;
    ///
    /// let shared = RedisPacer::cluster(["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"])
    ///     .key("orginvite:github:acme");
    /// # let _ = shared;
    /// ```
    pub fn cluster<S: Into<String>>(seeds: impl IntoIterator<Item = S>) -> RedisPacer {
        let seeds: Vec<secrecy::SecretString> = seeds
            .into_iter()
            .map(|seed| secrecy::SecretString::from(seed.into()))
            .collect();
        let first = seeds
            .first()
            .map(|seed| secrecy::ExposeSecret::expose_secret(seed).to_owned())
            .unwrap_or_default();
        RedisPacer {
            cluster: seeds,
            ..RedisPacer::new(first)
        }
    }

    /// Trusts the certificate authorities of `pem` (one or more PEM certificates, as in a
    /// `ca.pem` file) for a `rediss://` server, instead of the system's: a managed Redis with a
    /// private authority. Checked when the pacer is built; a `redis://` URL with it is refused
    /// there.
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> RedisPacer {
        self.ca = Some(pem.into());
        self
    }

    /// Presents `certificate` (PEM) with its private `key` (PEM) to a `rediss://` server that
    /// asks for client certificates (mutual TLS). The key never shows in `Debug` or errors.
    pub fn client_certificate(
        mut self,
        certificate: impl Into<Vec<u8>>,
        key: impl Into<Vec<u8>>,
    ) -> RedisPacer {
        let key: Box<Vec<u8>> = Box::new(key.into());
        self.identity = Some((certificate.into(), Arc::new(secrecy::SecretBox::new(key))));
        self
    }

    setters! {
        /// The key every process sharing one budget uses: one per vendor account, such as
        /// `github:acme` or `clerk:ins_123`. The pacer's Redis keys are it as a hash tag and a
        /// suffix (`{github:acme}:next`, `{github:acme}:lease`, ...), so that they share one
        /// slot of a Redis Cluster; a key that has a hash tag already (`{acme}:github`) is
        /// kept as it is.
        key(self, key: impl Into<String>) { self.key = key.into() }

        /// How long one call to Redis may take before Redis counts as unreachable for that
        /// call; connecting included, unless [`connect_timeout`](Self::connect_timeout) says
        /// otherwise. Defaults to 250 ms.
        timeout(self, timeout: Duration) { self.timeout = timeout }

        /// How long connecting to Redis may take (TCP, TLS and Redis's own handshake) before
        /// Redis counts as unreachable for that call. Defaults to the
        /// [`timeout`](Self::timeout), or 2 s over TLS, whose handshake (and reading the
        /// system's certificate authorities) takes longer.
        connect_timeout(self, timeout: Duration) { self.connect_timeout = Some(timeout) }

        /// How long a serialized turn outlives its holder: while a request holds the turn, its
        /// process renews the lease every third of this (for two minutes at most); a process that
        /// dies holding it blocks the others until it runs out, no longer. Defaults to 10 s; keep
        /// it several times the [`timeout`](Self::timeout).
        lease(self, lease: Duration) { self.lease = lease }

        /// What happens when Redis cannot be reached; see [`WhenUnavailable`].
        when_unavailable(self, when: WhenUnavailable) { self.when_unavailable = when }
    }
}

impl RedisPacer {
    /// The smallest ACL rule set a Redis user needs to run the pacer, for the keys
    /// [`key`](Self::key) `orginvite...` makes (`{orginvite...}:next`, ...): `ACL SETUSER
    /// pacer on >password` followed by these rules (with `~{` and your key's prefix instead of
    /// `~{orginvite*` when the key starts otherwise). The pacer
    /// runs its scripts with `EVALSHA` (loading them with `SCRIPT LOAD` when the server lost
    /// them), the scripts run the data commands listed, and a Redis Cluster's client asks
    /// `CLUSTER SLOTS` and `PING`. A URL naming a database (`.../2`) needs `+select` too.
    /// `resetchannels` needs Redis 6.2 or later. A user without one of them gets
    /// [`ErrorKind::PacerUnavailable`](crate::ErrorKind::PacerUnavailable) naming it.
    pub const ACL_RULES: &'static str = "resetkeys ~{orginvite* resetchannels -@all +evalsha \
        +script|load +ping +cluster|slots +time +get +set +del +exists +pttl +pexpire +hmget \
        +hset +zadd +zcard +zrange +zscore +zremrangebyscore";
}

impl RedisPacer {
    /// How long connecting may take: as set, else the call's timeout, or 2 s over TLS. (A
    /// cluster's seeds share one scheme, that of `url`, the first.)
    fn connect_bound(&self) -> Duration {
        match self.connect_timeout {
            Some(timeout) => timeout,
            None if is_tls(secrecy::ExposeSecret::expose_secret(&self.url)) => {
                self.timeout.max(Duration::from_secs(2))
            }
            None => self.timeout,
        }
    }
}

/// How long a serialized turn is kept alive at most while its request is in flight.
const MAX_RENEWAL: Duration = Duration::from_secs(120);

/// How long a process paces on its own after Redis failed it, before trying Redis again.
const COOL_DOWN: Duration = Duration::from_secs(1);

/// How long a shared key outlives its last use: state left by a process that died fades.
const KEY_TTL_MS: u64 = 10 * 60 * 1000;

/// The longest time the scripts are given, in milliseconds (about 31 years): Redis refuses
/// larger expiry times, and Lua's numbers stay exact far beyond it.
const MAX_MS: u64 = 1_000_000_000_000;

/// The milliseconds of a duration, within what the scripts accept.
fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(MAX_MS)
        .min(MAX_MS)
}

/// Grants a turn or says how long to wait. Times are the Redis server's, in milliseconds.
///
/// A turn waits for the spacing (`:next`), the class's sliding window (`:starts` or
/// `:batches`, one entry per start), a spacing learned from headers (`:learned`, `:next_any`)
/// and a hold (`:hold`); only when none of those is in the way does it wait for another
/// acquisition's serialized turn (`:lease`), so that a long lease never reads as a long wait.
const ACQUIRE: &str = r#"
local p = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local class = tonumber(ARGV[1])
local spacing = tonumber(ARGV[2])
local timer_slack = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
local period = tonumber(ARGV[5])
local serialize = tonumber(ARGV[6]) == 1
local lease = tonumber(ARGV[7])
local member = ARGV[8]
local ttl = tonumber(ARGV[9])
local zkey = nil
if class > 0 and n > 0 then zkey = p .. (class == 1 and ':starts' or ':batches') end
-- Sent again after a lost reply: what the first run granted stands.
if class > 0 and serialize and redis.call('GET', p .. ':lease') == member then return {1, 0, ''} end
if zkey and redis.call('ZSCORE', zkey, member) then return {1, 0, ''} end
local earliest = now
local cause = 'pacing'
local function consider(at, why)
  if at and at > earliest then earliest = at; cause = why end
end
local learned = redis.call('HMGET', p .. ':learned', 'spacing', 'until')
local lspacing = tonumber(learned[1])
local luntil = tonumber(learned[2])
local learning = lspacing ~= nil and luntil ~= nil and luntil > now
if learning then consider(tonumber(redis.call('GET', p .. ':next_any')), 'pacing') end
if class > 0 then
  consider(tonumber(redis.call('GET', p .. ':next')), 'pacing')
  if zkey then
    redis.call('ZREMRANGEBYSCORE', zkey, '-inf', now - period)
    local count = redis.call('ZCARD', zkey)
    if count >= n then
      local oldest = redis.call('ZRANGE', zkey, count - n, count - n, 'WITHSCORES')
      consider(tonumber(oldest[2]) + period, 'pacing')
    end
  end
end
local hold = tonumber(redis.call('GET', p .. ':hold'))
if hold and hold > now and hold >= earliest then earliest = hold; cause = 'rate_limit' end
if earliest > now then return {0, earliest - now, cause} end
if class > 0 and serialize then
  local current = redis.call('GET', p .. ':lease')
  if current and current ~= member then
    -- Tells the holder that others wait, so that it lets them have the next turn.
    redis.call('SET', p .. ':waiting', 1, 'PX', 200)
    return {0, math.max(redis.call('PTTL', p .. ':lease'), 1), 'queue'}
  end
end
local function grid(planned, step)
  local slack = math.min(timer_slack, math.floor(step / 10))
  if planned and planned <= now and now - planned <= slack then return planned + step end
  return now + step
end
if class > 0 then
  redis.call('SET', p .. ':next', grid(tonumber(redis.call('GET', p .. ':next')), spacing),
    'PX', math.max(ttl, spacing + 1000))
  if zkey then
    redis.call('ZADD', zkey, now, member)
    redis.call('PEXPIRE', zkey, period + ttl)
  end
  if serialize then redis.call('SET', p .. ':lease', member, 'PX', lease) end
end
if learning then
  redis.call('SET', p .. ':next_any', grid(tonumber(redis.call('GET', p .. ':next_any')), lspacing),
    'PX', luntil - now)
end
return {1, 0, ''}
"#;

/// Holds every process until `ARGV[1]` ms from now (on the server's clock), unless a longer
/// hold is in place.
const HOLD: &str = r#"
local p = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untl = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', p .. ':hold'))
if not current or current < untl then
  redis.call('SET', p .. ':hold', untl, 'PX', tonumber(ARGV[1]) + 1000)
end
return 1
"#;

/// Shares a spacing learned from rate-limit headers (`ARGV[1]` ms), for `ARGV[2]` ms.
const LEARN: &str = r#"
local p = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', p .. ':learned', 'spacing', ARGV[1], 'until', now + tonumber(ARGV[2]))
redis.call('PEXPIRE', p .. ':learned', tonumber(ARGV[2]) + 1000)
return 1
"#;

/// Extends a serialized turn's lease (`ARGV[2]` ms), if it is still this turn's (`ARGV[1]`).
const RENEW: &str = r#"
if redis.call('GET', KEYS[1] .. ':lease') == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1] .. ':lease', tonumber(ARGV[2]))
  return 1
end
return 0
"#;

/// Gives a serialized turn back, if it is still this turn's; 1 when another process is
/// waiting for it.
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1] .. ':lease') == ARGV[1] then
  redis.call('DEL', KEYS[1] .. ':lease')
end
if redis.call('EXISTS', KEYS[1] .. ':waiting') == 1 then return 1 end
return 0
"#;

/// A serialized turn held in Redis. Kept alive by a renewal task while held (so a slow
/// request never outlives it), and given back when released or dropped; a process that dies
/// holding it blocks the others until the lease runs out.
///
/// Also guards an acquisition in progress: if the call to Redis fails, times out or is
/// cancelled after the script may have granted the turn, dropping the guard gives it back.
pub(crate) struct Lease {
    shared: Arc<Shared>,
    /// The name this turn holds the lease under, unique to the acquisition.
    id: String,
    /// Whether there is something to give back.
    armed: bool,
    renewal: Option<tokio::task::JoinHandle<()>>,
}

impl Lease {
    fn pending(shared: Arc<Shared>, id: String) -> Lease {
        Lease {
            shared,
            id,
            armed: true,
            renewal: None,
        }
    }

    /// Keeps the lease alive while it is held.
    fn renew(&mut self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let shared = self.shared.clone();
        let id = self.id.clone();
        let every = (shared.config.lease / 3).max(Duration::from_millis(10));
        let until = Instant::now() + MAX_RENEWAL;
        self.renewal = Some(runtime.spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                // A turn held this long is stuck (a stalled caller): let it run out.
                if Instant::now() >= until {
                    return;
                }
                // A lease that is no longer this turn's, or a Redis that lost it, ends the
                // renewal; a Redis that does not answer is asked again next time.
                if let Ok(0) = shared.renew(&id).await {
                    return;
                }
            }
        }));
    }

    /// Gives the turn back now: `true` when another process waits for it.
    async fn give_back(mut self) -> bool {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
        // Disarmed only once Redis has it back: if this is cancelled or fails, dropping the
        // lease gives it back instead.
        match self.shared.release(&self.id).await {
            Ok(others_waiting) => {
                self.armed = false;
                others_waiting
            }
            Err(_) => false,
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
        if !self.armed {
            return;
        }
        let shared = self.shared.clone();
        let id = std::mem::take(&mut self.id);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = shared.release(&id).await;
            });
        }
        // Without a runtime the lease runs out by itself.
    }
}

impl store::Lease for Lease {
    fn release(self: Box<Self>) -> BoxFuture<'static, bool> {
        Box::pin(self.give_back())
    }
}

/// The runtime side of a [`RedisPacer`]: the connection and the scripts.
pub(crate) struct Shared {
    config: RedisPacer,
    /// The key as the scripts get it, a hash tag (`{key}`): every key of the pacer
    /// (`{key}:next`, `{key}:lease`, ...) is in one slot of a Redis Cluster.
    tagged: String,
    link: Link,
    /// How long connecting may take ([`RedisPacer::connect_bound`]).
    connect_timeout: Duration,
    /// This client's prefix for the names of its turns.
    holder: String,
    turns: AtomicU64,
    /// While set and in the future, this process paces locally.
    down_until: Mutex<Option<Instant>>,
    /// Whether the current outage was reported.
    reported: AtomicBool,
    acquire: redis::Script,
    hold: redis::Script,
    learn: redis::Script,
    renew: redis::Script,
    release: redis::Script,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedPacer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn new(config: RedisPacer) -> Result<Shared, Error> {
        let url = secrecy::ExposeSecret::expose_secret(&config.url);
        let link = if config.cluster.is_empty() {
            Link::Single {
                client: client(&config, url)?,
                connection: tokio::sync::OnceCell::new(),
            }
        } else {
            Link::Cluster {
                client: cluster_client(&config)?,
                connection: tokio::sync::OnceCell::new(),
            }
        };
        if config.key.is_empty() {
            return Err(Error::config("the shared pacer's key must not be empty"));
        }
        let holder = format!("{}-{:016x}", std::process::id(), fastrand::u64(..));
        Ok(Shared {
            tagged: hash_tagged(&config.key),
            connect_timeout: config.connect_bound(),
            config,
            link,
            holder,
            turns: AtomicU64::new(0),
            down_until: Mutex::new(None),
            reported: AtomicBool::new(false),
            acquire: redis::Script::new(ACQUIRE),
            hold: redis::Script::new(HOLD),
            learn: redis::Script::new(LEARN),
            renew: redis::Script::new(RENEW),
            release: redis::Script::new(RELEASE),
        })
    }

    pub(crate) fn when_unavailable(&self) -> WhenUnavailable {
        self.config.when_unavailable
    }

    /// Whether this process is pacing locally after a failure, for now.
    pub(crate) fn cooling_down(&self) -> bool {
        self.down_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|until| Instant::now() < until)
    }

    /// Notes a failure: local pacing for a moment. `true` the first time in an outage: the
    /// caller reports it.
    pub(crate) fn failed(&self) -> bool {
        *self
            .down_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now() + COOL_DOWN);
        !self.reported.swap(true, Ordering::SeqCst)
    }

    /// Notes a success: `true` when it ends a reported outage.
    pub(crate) fn succeeded(&self) -> bool {
        *self
            .down_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        self.reported.swap(false, Ordering::SeqCst)
    }

    async fn connection(&self) -> Result<Connected, String> {
        let timeout = self.config.timeout;
        let connect_timeout = self.connect_timeout;
        match &self.link {
            Link::Single { client, connection } => {
                let connection = connection
                    .get_or_try_init(|| async {
                        let config = ConnectionManagerConfig::new()
                            .set_connection_timeout(Some(connect_timeout))
                            .set_response_timeout(Some(timeout))
                            .set_number_of_retries(1)
                            .set_max_delay(Duration::from_millis(200));
                        client
                            .get_connection_manager_with_config(config)
                            .await
                            .map_err(|e| describe(&e))
                    })
                    .await?;
                Ok(Connected::Single(connection.clone()))
            }
            Link::Cluster { client, connection } => {
                let connection = connection
                    .get_or_try_init(|| async {
                        client
                            .get_async_connection()
                            .await
                            .map_err(|e| describe(&e))
                    })
                    .await?;
                Ok(Connected::Cluster(connection.clone()))
            }
        }
    }

    /// Runs one script invocation: connecting (within the connect timeout), then the call,
    /// and once more on a fresh connection when the one in hand turns out broken, within the
    /// timeout.
    async fn run<T: redis::FromRedisValue>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, String> {
        let mut connection = tokio::time::timeout(self.connect_timeout, self.connection())
            .await
            .map_err(|_| "timed out connecting".to_owned())??;
        let call = async {
            match connection.invoke(&invocation).await {
                Ok(value) => Ok(value),
                // The manager reconnects after a broken connection: ask once more on the
                // new one (the scripts are safe to run twice).
                Err(e) if e.is_connection_dropped() || e.is_io_error() => connection
                    .invoke(&invocation)
                    .await
                    .map_err(|e| describe(&e)),
                Err(e) => Err(describe(&e)),
            }
        };
        tokio::time::timeout(self.config.timeout, call)
            .await
            .map_err(|_| "timed out".to_owned())?
    }

    /// Asks Redis for a turn of `class` under `pacing`.
    pub(crate) async fn turn(
        self: &Arc<Self>,
        pacing: &Pacing,
        class: Traffic,
        timer_slack: Duration,
    ) -> Result<Answer, String> {
        let (code, rate) = match class {
            Traffic::Quiet => (0, None),
            Traffic::Notifying => (1, pacing.rate),
            Traffic::Batch => (2, pacing.batch_rate),
        };
        let (n, period) = rate.map_or((0, 0), |(n, period)| (n, ms(pacing.window(period))));
        let serialize = pacing.serialize && class != Traffic::Quiet;
        let id = format!(
            "{}:{}",
            self.holder,
            self.turns.fetch_add(1, Ordering::Relaxed)
        );
        // Armed from here: however this call ends before the answer is read, a turn the
        // script may have granted is given back.
        let mut lease = serialize.then(|| Lease::pending(self.clone(), id.clone()));
        let mut invocation = self.acquire.key(&self.tagged);
        invocation
            .arg(code)
            .arg(ms(pacing.min_interval.unwrap_or(Duration::ZERO)))
            .arg(ms(timer_slack))
            .arg(n)
            .arg(period)
            .arg(u8::from(serialize))
            .arg(ms(self.config.lease).max(1))
            .arg(&id)
            .arg(KEY_TTL_MS);
        let (granted, wait, cause): (u8, u64, String) = self.run(invocation).await?;
        if granted == 1 {
            if let Some(lease) = &mut lease {
                lease.renew();
            }
            return Ok(Answer::Granted(
                lease.map(|lease| Box::new(lease) as Box<dyn store::Lease>),
            ));
        }
        if let Some(lease) = &mut lease {
            // Nothing was granted: nothing to give back.
            lease.armed = false;
        }
        let cause = match cause.as_str() {
            "queue" => WaitFor::Queue,
            "rate_limit" => WaitFor::RateLimit,
            _ => WaitFor::Pacing,
        };
        Ok(Answer::Wait {
            wait: Duration::from_millis(wait),
            cause,
        })
    }

    /// Holds every process for `wait`.
    pub(crate) async fn hold(&self, wait: Duration) -> Result<(), String> {
        let mut invocation = self.hold.key(&self.tagged);
        invocation.arg(ms(wait).max(1));
        self.run::<u8>(invocation).await.map(drop)
    }

    /// Shares a spacing learned from headers, for `valid_for`.
    pub(crate) async fn learn(&self, spacing: Duration, valid_for: Duration) -> Result<(), String> {
        let mut invocation = self.learn.key(&self.tagged);
        invocation.arg(ms(spacing)).arg(ms(valid_for).max(1));
        self.run::<u8>(invocation).await.map(drop)
    }

    /// Extends lease `id`: `Ok(0)` when it is no longer held.
    async fn renew(&self, id: &str) -> Result<u8, String> {
        let mut invocation = self.renew.key(&self.tagged);
        invocation.arg(id).arg(ms(self.config.lease).max(1));
        self.run::<u8>(invocation).await
    }

    /// Gives lease `id` back: `Ok(true)` when another process waits for a turn.
    async fn release(&self, id: &str) -> Result<bool, String> {
        let mut invocation = self.release.key(&self.tagged);
        invocation.arg(id);
        self.run::<u8>(invocation).await.map(|waiting| waiting == 1)
    }
}

/// How a pacer reaches Redis: one server, or a cluster. (One per pacer, never moved: the
/// variants' sizes do not matter.)
#[allow(clippy::large_enum_variant)]
enum Link {
    /// Connected on first use, by the runtime of that use; reconnects by itself.
    Single {
        client: redis::Client,
        connection: tokio::sync::OnceCell<ConnectionManager>,
    },
    /// Connected on first use; follows redirections and refreshes its slots by itself.
    Cluster {
        client: redis::cluster::ClusterClient,
        connection: tokio::sync::OnceCell<redis::cluster_async::ClusterConnection>,
    },
}

/// A connection in hand.
enum Connected {
    Single(ConnectionManager),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl Connected {
    async fn invoke<T: redis::FromRedisValue>(
        &mut self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> redis::RedisResult<T> {
        match self {
            Connected::Single(connection) => invocation.invoke_async(connection).await,
            Connected::Cluster(connection) => invocation.invoke_async(connection).await,
        }
    }
}

/// The cluster client of `config`'s seeds, with its TLS settings.
fn cluster_client(config: &RedisPacer) -> Result<redis::cluster::ClusterClient, Error> {
    let seeds: Vec<&str> = config
        .cluster
        .iter()
        .map(secrecy::ExposeSecret::expose_secret)
        .collect();
    if seeds
        .iter()
        .any(|seed| url::Url::parse(seed).is_ok_and(|parsed| parsed.fragment().is_some()))
    {
        return Err(Error::config(
            "a cluster seed's URL has a `#...` part, which could turn off certificate checks: \
             leave it out",
        ));
    }
    let schemes: Vec<bool> = seeds.iter().map(|seed| is_tls(seed)).collect();
    let tls = schemes.first().copied().unwrap_or(false);
    if schemes.iter().any(|&each| each != tls) {
        return Err(Error::config(
            "the shared pacer's cluster seeds mix redis:// and rediss://",
        ));
    }
    if (config.ca.is_some() || config.identity.is_some()) && !tls {
        return Err(Error::config(
            "a certificate authority or client certificate is given for the shared pacer, but its \
             cluster seeds are not rediss:// (TLS)",
        ));
    }
    let mut builder = redis::cluster::ClusterClient::builder(seeds.iter().copied())
        .connection_timeout(config.connect_bound())
        .response_timeout(config.timeout)
        .retries(2);
    if tls && (config.ca.is_some() || config.identity.is_some()) {
        builder = builder.certs(tls_certificates(config)?);
    }
    builder.build().map_err(|e| {
        Error::config(format!(
            "the shared pacer's cluster seeds are refused ({}): {}",
            describe(&e),
            seeds
                .iter()
                .map(|seed| redacted(seed))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// Whether `url` asks for TLS (`rediss://`, or Valkey's `valkeys://`).
fn is_tls(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|parsed| matches!(parsed.scheme(), "rediss" | "valkeys"))
}

/// `key` as a hash tag, `{key}`, unless it holds one already (a `{...}` with something in
/// it), which then decides the slot.
fn hash_tagged(key: &str) -> String {
    let tagged = key
        .find('{')
        .and_then(|open| key[open + 1..].find('}'))
        .is_some_and(|length| length > 0);
    if tagged {
        key.to_owned()
    } else {
        format!("{{{key}}}")
    }
}

/// The client of `config`, for `url`: TLS with the given authorities and identity when the
/// URL is `rediss://`.
fn client(config: &RedisPacer, url: &str) -> Result<redis::Client, Error> {
    let unreadable = || {
        Error::config(format!(
            "the shared pacer's Redis URL is not one this build accepts (redis://, rediss:// or \
             redis+unix://): {}",
            redacted(url)
        ))
    };
    if url::Url::parse(url).is_ok_and(|parsed| parsed.fragment().is_some()) {
        return Err(Error::config(
            "the shared pacer's Redis URL has a `#...` part, which could turn off certificate \
             checks: leave it out",
        ));
    }
    let tls = is_tls(url);
    if (config.ca.is_some() || config.identity.is_some()) && !tls {
        return Err(Error::config(format!(
            "a certificate authority or client certificate is given for the shared pacer, but its \
             URL is not rediss:// (TLS): {}",
            redacted(url)
        )));
    }
    if !tls || (config.ca.is_none() && config.identity.is_none()) {
        return redis::Client::open(url).map_err(|_| unreadable());
    }
    let certificates = tls_certificates(config)?;
    redis::Client::build_with_tls(url, certificates).map_err(|e| {
        Error::config(format!(
            "the shared pacer's TLS settings are refused ({}): {}",
            describe(&e),
            redacted(url)
        ))
    })
}

/// The certificate authority and client identity of `config`, checked.
fn tls_certificates(config: &RedisPacer) -> Result<redis::TlsCertificates, Error> {
    if let Some(ca) = &config.ca {
        certificates(ca, "certificate authority")?;
    }
    let client_tls = match &config.identity {
        Some((certificate, key)) => {
            certificates(certificate, "client certificate")?;
            use rustls::pki_types::pem::PemObject;
            let key = secrecy::ExposeSecret::expose_secret(&**key);
            if rustls::pki_types::PrivateKeyDer::from_pem_slice(key).is_err() {
                return Err(Error::config(
                    "the shared pacer's client key is not a PEM private key",
                ));
            }
            Some(redis::ClientTlsConfig {
                client_cert: certificate.clone(),
                client_key: key.clone(),
            })
        }
        None => None,
    };
    Ok(redis::TlsCertificates {
        client_tls,
        root_cert: config.ca.clone(),
    })
}

/// Checks that `pem` holds at least one certificate and nothing unreadable.
fn certificates(pem: &[u8], what: &str) -> Result<(), Error> {
    use rustls::pki_types::pem::PemObject;
    let mut count = 0;
    for certificate in rustls::pki_types::CertificateDer::pem_slice_iter(pem) {
        if certificate.is_err() {
            count = 0;
            break;
        }
        count += 1;
    }
    if count == 0 {
        return Err(Error::config(format!(
            "the shared pacer's {what} is not PEM certificates"
        )));
    }
    Ok(())
}

/// A Redis error in words, without anything of the URL: a TLS handshake's refusal with its
/// reason (an unknown authority, a name that does not match, an expired certificate).
fn describe(error: &redis::RedisError) -> String {
    if let Some(tls) = tls_refusal(error) {
        return format!("the TLS handshake failed: {tls}");
    }
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connection_refusal() || error.is_connection_dropped() || error.is_io_error()
    {
        "cannot connect".to_owned()
    } else {
        let detail = error.detail().unwrap_or("");
        let refused_by_acl = error.code() == Some("NOPERM")
            || detail.contains("ACL")
            || detail.contains("user executing the script");
        match error.code() {
            // An ACL user without the right to a command the pacer runs: the command, never
            // the rest of Redis's words (which name the user since Redis 7.2).
            _ if refused_by_acl => format!(
                "the Redis user may not run a command the pacer needs ({}); see \
                 RedisPacer::ACL_RULES",
                quoted(detail).map_or_else(
                    || "which one Redis did not say".to_owned(),
                    |c| format!("`{c}`")
                )
            ),
            Some(code) => format!("Redis answered an error ({code})"),
            None => format!("Redis answered an error ({:?})", error.kind()),
        }
    }
}

/// The first word of `text` between single quotes (Redis's way of naming a command).
fn quoted(text: &str) -> Option<&str> {
    let start = text.find('\'')? + 1;
    let length = text[start..].find('\'')?;
    Some(&text[start..start + length]).filter(|word| {
        !word.is_empty()
            && word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "|_-.".contains(c))
    })
}

/// The TLS error somewhere in `error`'s chain, in words. (The `redis` crate keeps an I/O
/// error as a shared `Arc<dyn Error>`, and an I/O error hides its own inner error from
/// `source()`: both are opened here.)
fn tls_refusal(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    type Shared = Arc<dyn std::error::Error + Send + Sync>;
    fn tls_in<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e rustls::Error> {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            return io.get_ref().and_then(|inner| tls_in(inner));
        }
        if let Some(shared) = error.downcast_ref::<Shared>() {
            return tls_in(&**shared);
        }
        None
    }
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        if let Some(tls) = tls_in(error) {
            return Some(tls.to_string());
        }
        current = error.source();
    }
    // A cluster's first connection keeps its cause as text only.
    let text = error.to_string();
    let at = text.find("invalid peer certificate")?;
    let words: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || " :_-()".contains(*c))
        .collect();
    Some(words.trim().to_owned())
}

impl SharedStore for Shared {
    fn fails_closed(&self) -> bool {
        self.when_unavailable() == WhenUnavailable::FailClosed
    }

    fn cooling_down(&self) -> bool {
        Shared::cooling_down(self)
    }

    fn failed(&self) -> bool {
        Shared::failed(self)
    }

    fn succeeded(&self) -> bool {
        Shared::succeeded(self)
    }

    fn turn<'a>(
        self: Arc<Self>,
        pacing: &'a Pacing,
        class: Traffic,
        timer_slack: Duration,
    ) -> BoxFuture<'a, Result<Answer, String>> {
        Box::pin(async move { Shared::turn(&self, pacing, class, timer_slack).await })
    }

    fn hold(&self, wait: Duration) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(Shared::hold(self, wait))
    }

    fn learn(&self, spacing: Duration, valid_for: Duration) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(Shared::learn(self, spacing, valid_for))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_becomes_a_hash_tag_unless_it_has_one_as_redis_reads_them() {
        assert_eq!(hash_tagged("github:acme"), "{github:acme}");
        // Redis's rule: the first `{`, the first `}` after it, something between.
        assert_eq!(hash_tagged("{acme}:github"), "{acme}:github");
        assert_eq!(hash_tagged("a{b}c{d}"), "a{b}c{d}");
        assert_eq!(hash_tagged("{}{a}"), "{{}{a}}");
        assert_eq!(hash_tagged("a}b{"), "{a}b{}");
        assert_eq!(hash_tagged("ab{"), "{ab{}");
    }

    #[test]
    fn only_the_quoted_command_of_an_acl_refusal_is_kept() {
        // Redis 7.0, and 7.2 and Valkey (which name the user).
        assert_eq!(
            quoted("this user has no permissions to run the 'evalsha' command"),
            Some("evalsha")
        );
        assert_eq!(
            quoted("User pacer-x has no permissions to run the 'script|load' command"),
            Some("script|load")
        );
        assert_eq!(quoted("no quotes here"), None);
        assert_eq!(quoted("a 'two words' quote"), None);
    }

    #[test]
    fn urls_are_shown_without_their_user_or_password() {
        let shown = redacted("rediss://pacer:s3cret@redis.internal:6380/0");
        assert!(
            !shown.contains("pacer") && !shown.contains("s3cret"),
            "{shown}"
        );
        assert!(shown.contains("redis.internal:6380"), "{shown}");
        let cluster = RedisPacer::cluster(["redis://ops:pw1@a:1", "redis://ops:pw1@b:2"]);
        let shown = format!("{cluster:?}");
        assert!(!shown.contains("pw1") && !shown.contains("ops"), "{shown}");
    }
}
