//! A throwaway `redis-server` on loopback, for testing code that shares a pacer through Redis.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable naming the `redis-server` binary, when it is not the one on `PATH`.
pub const REDIS_SERVER_ENV: &str = "ORGINVITE_REDIS_SERVER";

/// How long a starting server may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A `redis-server` process of its own, on a free loopback port, keeping nothing on disk
/// (`--save "" --appendonly no`); stopped when dropped. Features `testkit` and `redis`.
///
/// It needs the `redis-server` binary: on `PATH`, or named by the `ORGINVITE_REDIS_SERVER`
/// environment variable ([`REDIS_SERVER_ENV`]). Debian and Ubuntu ship it in the
/// `redis-server` package. [`RedisServer::start`] blocks until the server answers.
///
/// ```no_run
/// use orginvite::testkit::RedisServer;
/// use orginvite::{Pacer, Pacing, RedisPacer};
///
/// # fn main() -> std::io::Result<()> {
/// let mut server = RedisServer::start()?;
/// let pacer = Pacer::redis(
///     RedisPacer::new(server.url()).key("github:acme"),
///     Pacing::rate(20, std::time::Duration::from_secs(1)),
/// )
/// .expect("a valid Redis URL");
/// // ... build clients with `.pacer(pacer.clone())`, then see what an outage does:
/// server.stop();
/// server.restart()?;
/// # Ok(())
/// # }
/// ```
pub struct RedisServer {
    binary: PathBuf,
    port: u16,
    password: Option<String>,
    child: Option<Child>,
}

impl fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisServer")
            .field("binary", &self.binary)
            .field("port", &self.port)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("running", &self.child.is_some())
            .finish()
    }
}

impl RedisServer {
    /// Starts a server with no password.
    pub fn start() -> io::Result<RedisServer> {
        RedisServer::launch(None)
    }

    /// Starts a server that requires `password` (`--requirepass`); [`url`](Self::url) carries
    /// it.
    pub fn start_with_password(password: impl Into<String>) -> io::Result<RedisServer> {
        RedisServer::launch(Some(password.into()))
    }

    /// Whether a `redis-server` binary can be run here.
    pub fn available() -> bool {
        Command::new(binary())
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    fn launch(password: Option<String>) -> io::Result<RedisServer> {
        let mut server = RedisServer {
            binary: binary(),
            port: free_port()?,
            password,
            child: None,
        };
        server.restart()?;
        Ok(server)
    }

    /// `redis://[:password@]127.0.0.1:port/`.
    pub fn url(&self) -> String {
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}/", self.port),
            None => format!("redis://127.0.0.1:{}/", self.port),
        }
    }

    /// The loopback port it listens on, the same across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether it is running (not [`stop`](Self::stop)ped).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server at once (`SIGKILL`), as a crash or an outage would: clients see
    /// refused connections until [`restart`](Self::restart).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty (as after a crash: no keys, no cached
    /// scripts), and waits until it answers. Stops it first if it runs.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        let mut command = Command::new(&self.binary);
        command
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--dir", &std::env::temp_dir().to_string_lossy()])
            .args(["--logfile", ""])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(password) = &self.password {
            command.args(["--requirepass", password]);
        }
        let child = command.spawn().map_err(|error| {
            io::Error::new(
                error.kind(),
                format!(
                    "cannot run {} (install the redis-server package or set {REDIS_SERVER_ENV}): {error}",
                    self.binary.display()
                ),
            )
        })?;
        self.child = Some(child);
        self.wait_until_ready()
    }

    fn wait_until_ready(&mut self) -> io::Result<()> {
        let started = Instant::now();
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.child = None;
                    return Err(io::Error::other(format!(
                        "redis-server exited at start ({status}); is port {} taken?",
                        self.port
                    )));
                }
            }
            if answers(address) {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                self.stop();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "redis-server did not answer within 10 s",
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn binary() -> PathBuf {
    std::env::var_os(REDIS_SERVER_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("redis-server"))
}

/// A port the OS just had free on loopback.
fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Whether a Redis answers `PING` at `address` (an authentication refusal counts: it is up).
fn answers(address: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 64];
    matches!(stream.read(&mut reply), Ok(n) if n > 0 && matches!(reply[0], b'+' | b'-'))
}
