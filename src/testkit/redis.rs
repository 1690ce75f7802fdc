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
    tls: Option<Tls>,
    /// A cluster node's configuration file, kept across restarts so that it rejoins.
    cluster_config: Option<PathBuf>,
}

/// A TLS server's port and the files its certificates are in, made for it alone.
struct Tls {
    port: u16,
    /// Whether a client must present a certificate (else it may).
    require_clients: bool,
    dir: PathBuf,
    ca_pem: String,
    client_certificate_pem: String,
    client_key_pem: String,
}

impl Tls {
    /// A certificate authority, a certificate for 127.0.0.1 and localhost signed by it (with
    /// its key), and a client certificate for mutual TLS, written to a directory of their own.
    fn generate(port: u16) -> io::Result<Tls> {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
            IsCa, KeyPair, KeyUsagePurpose,
        };
        let failed = |e: rcgen::Error| io::Error::other(format!("cannot make a certificate: {e}"));
        let mut authority = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
        authority.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        authority.distinguished_name.push(
            DnType::CommonName,
            format!("orginvite test authority {port}"),
        );
        authority.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(authority, KeyPair::generate().map_err(failed)?)
            .map_err(failed)?;
        let leaf = |names: Vec<String>, usage: ExtendedKeyUsagePurpose| {
            let key = KeyPair::generate().map_err(failed)?;
            let mut params = CertificateParams::new(names).map_err(failed)?;
            params.extended_key_usages = vec![usage];
            let certificate = params.signed_by(&key, &issuer).map_err(failed)?;
            Ok::<_, io::Error>((certificate.pem(), key.serialize_pem()))
        };
        let (server_pem, server_key) = leaf(
            vec!["127.0.0.1".to_owned(), "localhost".to_owned()],
            ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        let (client_certificate_pem, client_key_pem) = leaf(
            vec!["orginvite-client".to_owned()],
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        let dir =
            std::env::temp_dir().join(format!("orginvite-redis-tls-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let ca_pem = issuer.pem();
        std::fs::write(dir.join("ca.pem"), &ca_pem)?;
        std::fs::write(dir.join("server.pem"), server_pem)?;
        std::fs::write(dir.join("server.key"), server_key)?;
        Ok(Tls {
            port,
            require_clients: false,
            dir,
            ca_pem,
            client_certificate_pem,
            client_key_pem,
        })
    }
}

impl fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisServer")
            .field("binary", &self.binary)
            .field("port", &self.port)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("running", &self.child.is_some())
            .field("tls_port", &self.tls.as_ref().map(|tls| tls.port))
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

    /// Starts a server that also listens with TLS, on a port of its own
    /// ([`tls_url`](Self::tls_url)), with a certificate for `127.0.0.1` and `localhost` signed
    /// by a certificate authority made for this server alone ([`ca_pem`](Self::ca_pem)).
    /// Client certificates are asked for but optional; [`client_certificate`](Self::client_certificate)
    /// gives one the server trusts. The plain port ([`url`](Self::url)) stays open, to look at
    /// the keys. The certificates are made afresh each time (with `rcgen`) and removed on
    /// drop. The `redis-server` must be built with TLS (Debian's is).
    pub fn start_tls() -> io::Result<RedisServer> {
        RedisServer::launch_tls(false)
    }

    /// Starts a server as [`start_tls`](Self::start_tls) does, that refuses a TLS client
    /// without a certificate it trusts (`--tls-auth-clients yes`): mutual TLS.
    pub fn start_mutual_tls() -> io::Result<RedisServer> {
        RedisServer::launch_tls(true)
    }

    fn launch_tls(require_clients: bool) -> io::Result<RedisServer> {
        let port = free_port()?;
        let mut tls = Tls::generate(free_port()?)?;
        tls.require_clients = require_clients;
        let mut server = RedisServer {
            binary: binary(),
            port,
            password: None,
            child: None,
            tls: Some(tls),
            cluster_config: None,
        };
        server.restart()?;
        Ok(server)
    }

    /// `rediss://127.0.0.1:port/` for a server started with [`start_tls`](Self::start_tls).
    pub fn tls_url(&self) -> Option<String> {
        let tls = self.tls.as_ref()?;
        Some(format!("rediss://127.0.0.1:{}/", tls.port))
    }

    /// The certificate authority (PEM) that signed the TLS server's certificate.
    pub fn ca_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(|tls| tls.ca_pem.as_str())
    }

    /// The file holding [`ca_pem`](Self::ca_pem), for a command line's `--redis-ca`.
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.tls.as_ref().map(|tls| tls.dir.join("ca.pem"))
    }

    /// A client certificate and its key (PEM) the TLS server trusts, for mutual TLS.
    pub fn client_certificate(&self) -> Option<(&str, &str)> {
        self.tls.as_ref().map(|tls| {
            (
                tls.client_certificate_pem.as_str(),
                tls.client_key_pem.as_str(),
            )
        })
    }

    /// Adds the ACL user `name` with `password` and the ACL `rules` (such as
    /// [`RedisPacer::ACL_RULES`](crate::RedisPacer::ACL_RULES)), through the plain port as the
    /// default user; returns a `redis://` URL (or `rediss://` for a TLS server) that signs in
    /// as that user. The user is gone after a [`restart`](Self::restart).
    pub fn add_user(&self, name: &str, password: &str, rules: &str) -> io::Result<String> {
        let mut command = vec!["ACL", "SETUSER", name, "reset", "on"];
        let secret = format!(">{password}");
        command.push(&secret);
        command.extend(rules.split_whitespace());
        let reply = self.command(&command)?;
        if !reply.starts_with('+') {
            return Err(io::Error::other(format!(
                "ACL SETUSER refused: {}",
                reply.trim()
            )));
        }
        let port = self.tls.as_ref().map_or(self.port, |tls| tls.port);
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        Ok(format!("{scheme}://{name}:{password}@127.0.0.1:{port}/"))
    }

    /// Sends one command on the plain port, as the default user, and returns the reply's first
    /// line (`+OK`, `-ERR ...`, `:1`, ...) or, for a bulk string, its text.
    pub fn command(&self, args: &[&str]) -> io::Result<String> {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut request = Vec::new();
        if let Some(password) = &self.password {
            request.extend(
                format!("*2\r\n$4\r\nAUTH\r\n${}\r\n{password}\r\n", password.len()).bytes(),
            );
        }
        request.extend(format!("*{}\r\n", args.len()).bytes());
        for arg in args {
            request.extend(format!("${}\r\n{arg}\r\n", arg.len()).bytes());
        }
        stream.write_all(&request)?;
        let mut reader = io::BufReader::new(stream);
        let mut line = String::new();
        if self.password.is_some() {
            io::BufRead::read_line(&mut reader, &mut line)?;
            line.clear();
        }
        io::BufRead::read_line(&mut reader, &mut line)?;
        // A bulk string: its text.
        if let Some(length) = line
            .strip_prefix('$')
            .and_then(|n| n.trim().parse::<usize>().ok())
        {
            let mut text = vec![0; length + 2];
            reader.read_exact(&mut text)?;
            text.truncate(length);
            return Ok(String::from_utf8_lossy(&text).into_owned());
        }
        Ok(line)
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
            tls: None,
            cluster_config: None,
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
        if let Some(config) = &self.cluster_config {
            command
                .args(["--cluster-enabled", "yes"])
                .args(["--cluster-config-file", &config.to_string_lossy()])
                .args(["--cluster-node-timeout", "1000"]);
        }
        if let Some(tls) = &self.tls {
            let file = |name: &str| tls.dir.join(name).to_string_lossy().into_owned();
            command
                .args(["--tls-port", &tls.port.to_string()])
                .args(["--tls-cert-file", &file("server.pem")])
                .args(["--tls-key-file", &file("server.key")])
                .args(["--tls-ca-cert-file", &file("ca.pem")])
                .args([
                    "--tls-auth-clients",
                    if tls.require_clients {
                        "yes"
                    } else {
                        "optional"
                    },
                ]);
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
        if let Some(tls) = &self.tls {
            let _ = std::fs::remove_dir_all(&tls.dir);
        }
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

/// A Redis Cluster of its own on loopback: masters with no replicas, each a [`RedisServer`]
/// with cluster mode on, their slots assigned with `redis-cli --cluster create`; stopped when
/// dropped. Features `testkit` and `redis`; needs `redis-cli` beside `redis-server` (Debian's
/// `redis-tools`, which `redis-server` depends on).
///
/// A node stopped with [`stop_node`](Self::stop_node) takes its slots down (the cluster
/// refuses commands until it covers every slot again); [`restart_node`](Self::restart_node)
/// brings it back, empty, with its identity and slots.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
    dir: PathBuf,
}

impl fmt::Debug for RedisCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCluster")
            .field("ports", &self.ports())
            .finish()
    }
}

impl RedisCluster {
    /// Starts `masters` nodes (three at least, as Redis Cluster wants) on free loopback
    /// ports, makes them one cluster and waits until it serves every slot.
    pub fn start(masters: usize) -> io::Result<RedisCluster> {
        let dir = std::env::temp_dir().join(format!(
            "orginvite-redis-cluster-{}-{:x}",
            std::process::id(),
            free_port()?
        ));
        std::fs::create_dir_all(&dir)?;
        let mut cluster = RedisCluster {
            nodes: Vec::with_capacity(masters),
            dir: dir.clone(),
        };
        for n in 0..masters.max(3) {
            let node = RedisServer {
                binary: binary(),
                port: cluster_port()?,
                password: None,
                child: None,
                tls: None,
                cluster_config: Some(dir.join(format!("nodes-{n}.conf"))),
            };
            // Dropped with the cluster (its directory too) if the next one fails.
            cluster.nodes.push(node);
            if let Some(node) = cluster.nodes.last_mut() {
                node.restart()?;
            }
        }
        let mut create = Command::new(cli_binary());
        create.arg("--cluster").arg("create");
        for port in cluster.ports() {
            create.arg(format!("127.0.0.1:{port}"));
        }
        let output = create
            .args(["--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run redis-cli: {e}")))?;
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "redis-cli --cluster create failed: {}",
                String::from_utf8_lossy(&output.stdout)
            )));
        }
        cluster.wait_until_served()?;
        Ok(cluster)
    }

    /// `redis://127.0.0.1:port/` of every node: seeds for
    /// [`RedisPacer::cluster`](crate::RedisPacer::cluster).
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The nodes' ports, in the order they were started.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(RedisServer::port).collect()
    }

    /// The node (by its place in [`ports`](Self::ports)) that serves `key`'s slot.
    pub fn node_of(&self, key: &str) -> io::Result<usize> {
        let any = self
            .nodes
            .iter()
            .find(|node| node.is_running())
            .ok_or_else(|| io::Error::other("no node runs"))?;
        let slot: u16 = any
            .command(&["CLUSTER", "KEYSLOT", key])?
            .trim()
            .trim_start_matches(':')
            .parse()
            .map_err(|_| io::Error::other("CLUSTER KEYSLOT answered no number"))?;
        let nodes = any.command(&["CLUSTER", "NODES"])?;
        for line in nodes.lines() {
            let fields: Vec<&str> = line.split(' ').collect();
            if fields.len() < 9 || !fields[2].contains("master") {
                continue;
            }
            let serves = fields[8..].iter().any(|range| {
                let mut bounds = range.split('-').filter_map(|b| b.parse::<u16>().ok());
                match (bounds.next(), bounds.next()) {
                    (Some(low), Some(high)) => (low..=high).contains(&slot),
                    (Some(only), None) => only == slot,
                    _ => false,
                }
            });
            if serves {
                let port = fields[1]
                    .split(['@', ':'])
                    .nth(1)
                    .and_then(|p| p.parse::<u16>().ok());
                if let Some(at) = self.ports().iter().position(|&p| Some(p) == port) {
                    return Ok(at);
                }
            }
        }
        Err(io::Error::other(format!("no master serves slot {slot}")))
    }

    /// Adds the ACL user `name` on every node (see [`RedisServer::add_user`]) and returns
    /// the nodes' URLs signing in as that user.
    pub fn add_user(&self, name: &str, password: &str, rules: &str) -> io::Result<Vec<String>> {
        self.nodes
            .iter()
            .map(|node| node.add_user(name, password, rules))
            .collect()
    }

    /// A command on node `node`'s plain port; see [`RedisServer::command`].
    pub fn command(&self, node: usize, args: &[&str]) -> io::Result<String> {
        self.nodes[node].command(args)
    }

    /// Kills node `node` at once (`SIGKILL`): its slots are down until it returns.
    pub fn stop_node(&mut self, node: usize) {
        self.nodes[node].stop();
    }

    /// Starts node `node` again, empty but with its identity, and waits until the cluster
    /// serves every slot again.
    pub fn restart_node(&mut self, node: usize) -> io::Result<()> {
        self.nodes[node].restart()?;
        self.wait_until_served()
    }

    /// Waits until every running node says the cluster is `ok`.
    fn wait_until_served(&self) -> io::Result<()> {
        let started = Instant::now();
        loop {
            let ok = self
                .nodes
                .iter()
                .filter(|node| node.is_running())
                .all(|node| {
                    node.command(&["CLUSTER", "INFO"])
                        .is_ok_and(|info| info.contains("cluster_state:ok"))
                });
            if ok {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the cluster did not serve every slot within 30 s",
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free loopback port a cluster node can take: Redis refuses ports over 55535 in cluster
/// mode, its bus being on the port plus 10000.
fn cluster_port() -> io::Result<u16> {
    for _ in 0..200 {
        let port = free_port()?;
        if port <= 55535 && TcpListener::bind((Ipv4Addr::LOCALHOST, port + 10000)).is_ok() {
            return Ok(port);
        }
    }
    Err(io::Error::other(
        "no free loopback port under 55536 for a cluster node",
    ))
}

/// The `redis-cli` beside the `redis-server` in use, else the one on `PATH`.
fn cli_binary() -> PathBuf {
    let server = binary();
    match server.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && dir.join("redis-cli").exists() => {
            dir.join("redis-cli")
        }
        _ => PathBuf::from("redis-cli"),
    }
}
