//! One invitation end to end against a loopback HTTP/1.1 server, the SDK beside a hand-written
//! raw `reqwest` POST with a `serde_json` decode of the same answer.
//!
//! - `create/sdk`: `GitHub::create_invitation` with pacing off: encode, send, bounded read,
//!   rate-limit header parsing, decode into `Invitation`.
//! - `create/raw`: the same POST (same headers, same JSON body) with a bare `reqwest::Client`,
//!   the body read whole and decoded into a hand-written struct.
//! - `sequential/sdk_100`: 100 invitations one after the other over one client.
//!
//! Both sides talk to their own instance of a minimal keep-alive server written here, which
//! answers every request with GitHub's documented `201` body and counts the TCP connections it
//! accepted. After criterion's groups the bench prints the SDK/raw ratio of wall time and of
//! the client thread's CPU time (interleaved rounds, medians) and the connection counts.

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{criterion_group, Criterion, Throughput};
use orginvite::{CreateInvitation, GitHub, Pacing};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CREATED: &[u8] = include_bytes!("../tests/fixtures/github/create-201.json");
const TOKEN: &str = "ghp_bench000000000000000000000000000000";
const EMAIL: &str = "octocat@github.com";
const SEQUENTIAL: usize = 100;

/// A loopback server answering every request with one fixed response, over keep-alive.
struct Server {
    url: String,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl Server {
    /// Starts the server on its own thread and runtime, so its work does not share the
    /// client's scheduler. It lives as long as the process.
    fn start() -> Server {
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let reset = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_secs()
            + 3600;
        let mut response = format!(
            "HTTP/1.1 201 Created\r\n\
             content-type: application/json; charset=utf-8\r\n\
             content-length: {}\r\n\
             x-github-request-id: 0C1D:2E3F:4A5B6C:7D8E9F:6A0B1C2D\r\n\
             x-ratelimit-limit: 5000\r\n\
             x-ratelimit-remaining: 4987\r\n\
             x-ratelimit-used: 13\r\n\
             x-ratelimit-reset: {reset}\r\n\
             x-ratelimit-resource: core\r\n\
             \r\n",
            CREATED.len()
        )
        .into_bytes();
        response.extend_from_slice(CREATED);
        let response: Arc<[u8]> = response.into();

        let (tx, rx) = std::sync::mpsc::channel();
        let (accepted, answered) = (connections.clone(), requests.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                tx.send(listener.local_addr().expect("an address"))
                    .expect("the bench waits for the address");
                while let Ok((stream, _)) = listener.accept().await {
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let (response, answered) = (response.clone(), answered.clone());
                    tokio::spawn(async move {
                        let _ = serve(stream, &response, &answered).await;
                    });
                }
            });
        });
        let address = rx.recv().expect("the server starts");
        Server {
            url: format!("http://{address}"),
            connections,
            requests,
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Answers requests on one connection until the client closes it: reads the head, then
/// `Content-Length` bytes of body, then writes the response.
async fn serve(
    mut stream: TcpStream,
    response: &[u8],
    answered: &AtomicUsize,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buffer: Vec<u8> = Vec::with_capacity(8192);
    loop {
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            if stream.read_buf(&mut buffer).await? == 0 {
                return Ok(());
            }
        };
        let length = content_length(&buffer[..head_end]);
        while buffer.len() < head_end + length {
            if stream.read_buf(&mut buffer).await? == 0 {
                return Ok(());
            }
        }
        buffer.drain(..head_end + length);
        stream.write_all(response).await?;
        answered.fetch_add(1, Ordering::SeqCst);
    }
}

fn content_length(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0)
}

fn sdk_client(server: &Server) -> GitHub {
    GitHub::builder()
        .token(TOKEN)
        .base_url(server.url.clone())
        .user_agent("orginvite-bench")
        // The hot path only: no spacing, no bucket, and no learning from the answer's
        // `x-ratelimit-*` headers (they are still parsed).
        .pacing(Pacing::off().learn_from_headers(false))
        .build()
        .expect("a valid client")
}

async fn sdk_create(client: &GitHub, request: &CreateInvitation) {
    let invitation = client
        .create_invitation(black_box(request))
        .await
        .expect("created");
    black_box(invitation);
}

/// What a hand-written client sends.
#[derive(Serialize)]
struct RawBody<'a> {
    email: &'a str,
    role: &'a str,
}

/// What a hand-written client reads back.
#[derive(Deserialize)]
#[allow(dead_code)]
struct RawInvitation {
    id: u64,
    login: Option<String>,
    email: Option<String>,
    role: String,
    created_at: String,
    failed_at: Option<String>,
    inviter: RawInviter,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct RawInviter {
    login: String,
    id: u64,
}

struct Raw {
    client: reqwest::Client,
    url: String,
}

impl Raw {
    fn new(server: &Server) -> Raw {
        Raw {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client"),
            url: format!("{}/orgs/acme/invitations", server.url),
        }
    }

    async fn create(&self) {
        let body = serde_json::to_vec(&RawBody {
            email: black_box(EMAIL),
            role: "direct_member",
        })
        .expect("serializes");
        let response = self
            .client
            .post(&self.url)
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header(ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .header(USER_AGENT, "orginvite-bench")
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), reqwest::StatusCode::CREATED);
        let bytes = response.bytes().await.expect("read");
        let invitation: RawInvitation = serde_json::from_slice(&bytes).expect("decodes");
        black_box(invitation);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    sdk_server: Server,
    raw_server: Server,
    sdk: GitHub,
    raw: Raw,
    request: CreateInvitation,
}

impl Fixture {
    fn new() -> Fixture {
        let sdk_server = Server::start();
        let raw_server = Server::start();
        let runtime = runtime();
        // reqwest's clients need a runtime context to be built.
        let (sdk, raw) =
            runtime.block_on(async { (sdk_client(&sdk_server), Raw::new(&raw_server)) });
        Fixture {
            runtime,
            sdk,
            raw,
            sdk_server,
            raw_server,
            request: CreateInvitation::email("acme", EMAIL),
        }
    }
}

fn end_to_end(c: &mut Criterion) {
    let fixture = Fixture::new();
    let Fixture {
        runtime,
        sdk,
        raw,
        request,
        ..
    } = &fixture;

    let mut group = c.benchmark_group("create");
    group.bench_function("sdk", |b| {
        b.to_async(runtime).iter(|| sdk_create(sdk, request))
    });
    group.bench_function("raw", |b| b.to_async(runtime).iter(|| raw.create()));
    group.finish();

    let mut group = c.benchmark_group("sequential");
    group.throughput(Throughput::Elements(SEQUENTIAL as u64));
    group.bench_function("sdk_100", |b| {
        b.to_async(runtime).iter(|| async {
            for _ in 0..SEQUENTIAL {
                sdk_create(sdk, request).await;
            }
        })
    });
    group.finish();

    if !std::env::args().any(|arg| arg == "--list") {
        report(&fixture);
    }
}

/// The CPU time this thread has run for, from Linux's `/proc/thread-self/schedstat`; `None`
/// elsewhere. Unlike wall time it does not grow while other processes hold the cores, so it
/// shows the client's own cost steadily on a busy machine.
fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// The median of `values`.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Prints the SDK/raw ratio from interleaved rounds (so both sides see the same machine
/// load), and the connections each server accepted.
fn report(fixture: &Fixture) {
    const ROUNDS: usize = 41;
    const CALLS: u32 = 200;
    let Fixture {
        runtime,
        sdk,
        raw,
        request,
        ..
    } = fixture;
    let (mut ratios, mut sdk_times, mut raw_times) = (Vec::new(), Vec::new(), Vec::new());
    let (mut cpu_ratios, mut sdk_cpu, mut raw_cpu) = (Vec::new(), Vec::new(), Vec::new());
    runtime.block_on(async {
        for round in 0..ROUNDS {
            // Per side: wall time and this thread's CPU time per call.
            let mut spent = [(Duration::ZERO, None::<Duration>); 2];
            // Alternate which side goes first.
            for side in [round % 2, 1 - round % 2] {
                let cpu = thread_cpu_time();
                let started = Instant::now();
                for _ in 0..CALLS {
                    if side == 0 {
                        sdk_create(sdk, request).await;
                    } else {
                        raw.create().await;
                    }
                }
                let wall = started.elapsed() / CALLS;
                let cpu = cpu
                    .zip(thread_cpu_time())
                    .map(|(before, after)| after.saturating_sub(before) / CALLS);
                spent[side] = (wall, cpu);
            }
            let [(sdk_wall, sdk_cpu_time), (raw_wall, raw_cpu_time)] = spent;
            sdk_times.push(sdk_wall.as_secs_f64() * 1e6);
            raw_times.push(raw_wall.as_secs_f64() * 1e6);
            ratios.push(sdk_wall.as_secs_f64() / raw_wall.as_secs_f64());
            if let (Some(s), Some(r)) = (sdk_cpu_time, raw_cpu_time) {
                sdk_cpu.push(s.as_secs_f64() * 1e6);
                raw_cpu.push(r.as_secs_f64() * 1e6);
                cpu_ratios.push(s.as_secs_f64() / r.as_secs_f64());
            }
        }
    });
    let min = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let max = ratios.iter().copied().fold(0.0, f64::max);
    println!(
        "\nend-to-end create, {ROUNDS} interleaved rounds of {CALLS} calls per side (medians of the rounds):"
    );
    println!(
        "  sdk {:.1} µs/call, raw {:.1} µs/call",
        median(&mut sdk_times),
        median(&mut raw_times)
    );
    println!(
        "  SDK/raw ratio: {:.3} (rounds ranged {min:.3} to {max:.3}; target <= 1.05)",
        median(&mut ratios)
    );
    if !cpu_ratios.is_empty() {
        println!(
            "  client CPU time: sdk {:.1} µs/call, raw {:.1} µs/call, SDK/raw ratio {:.3}",
            median(&mut sdk_cpu),
            median(&mut raw_cpu),
            median(&mut cpu_ratios)
        );
    }
    println!(
        "connections accepted over the whole run: sdk server {} for {} requests, raw server {} for {} requests",
        fixture.sdk_server.connections(),
        fixture.sdk_server.requests(),
        fixture.raw_server.connections(),
        fixture.raw_server.requests(),
    );

    // Sequential calls over one fresh client: one connection, kept alive.
    let server = Server::start();
    let client = runtime.block_on(async { sdk_client(&server) });
    let started = Instant::now();
    runtime.block_on(async {
        for _ in 0..SEQUENTIAL {
            sdk_create(&client, request).await;
        }
    });
    let spent = started.elapsed();
    println!(
        "sequential: {SEQUENTIAL} invitations over one new client in {:.2} ms ({:.1} µs each), {} TCP connection(s) accepted (target: 1)",
        spent.as_secs_f64() * 1e3,
        spent.as_secs_f64() * 1e6 / SEQUENTIAL as f64,
        server.connections()
    );
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args()
}

criterion_group! {
    name = benches;
    config = config();
    targets = end_to_end
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
