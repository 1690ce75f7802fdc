//! One invitation end to end against a loopback HTTP/1.1 server: the SDK beside a
//! hand-written raw `reqwest` POST and beside octocrab's generic `post` into a struct.
//!
//! - `create/sdk`: `GitHub::create_invitation` doing what the raw call does (pacing off, no
//!   deadline): encode, send, bounded read, rate-limit header parsing, decode into
//!   `Invitation` (with GitHub's object kept whole).
//! - `create/raw`: the same POST (same headers, same JSON body) with a bare `reqwest::Client`,
//!   the body read whole and decoded into a hand-written struct.
//! - `create/octocrab`: `Octocrab::post` of the same body into the same hand-written struct,
//!   the peer a GitHub client in Rust is measured against.
//! - `sequential/sdk_100`: 100 invitations one after the other over one client.
//!
//! Each side talks to its own instance of a minimal keep-alive server written here, which
//! answers every request with GitHub's documented `201` body and counts the TCP connections it
//! accepted. After criterion's groups the bench prints, from interleaved rounds (medians), the
//! SDK's wall time and client-thread CPU time against the raw call and against octocrab, the
//! same for the SDK as it comes (its default 30 s attempt timeout), and the connection counts.
//!
//! The client and the servers share one core (Linux; `END_TO_END_PIN=0` leaves them to the
//! scheduler), so that a call's time is their work and not the latency of waking a thread on
//! another core.
//!
//! For a profiler, `END_TO_END_PROFILE=<side>` runs one side alone after criterion's groups
//! (`cargo bench --bench end_to_end -- zzz_none` skips those), `END_TO_END_CALLS` times.

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

/// Counts the allocations made on each thread, so the client's can be told from the servers'.
struct Counting;

thread_local! {
    static ALLOCATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn count_allocation() {
    // `try_with`: nothing to count once the thread's locals are gone.
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

/// The allocations this thread has made so far.
fn allocations() -> u64 {
    ALLOCATIONS.with(std::cell::Cell::get)
}

// SAFETY: every call is forwarded unchanged to the system allocator; only a counter is added.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        count_allocation();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on as it is.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        count_allocation();
        // SAFETY: as for `alloc`.
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        count_allocation();
        // SAFETY: as for `alloc`; `ptr` and `layout` come from this allocator.
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: as for `alloc`; `ptr` and `layout` come from this allocator.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

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

/// The SDK doing what the raw call does: no pacing (no spacing, no bucket, no learning from
/// the answer's `x-ratelimit-*` headers, which are still parsed) and no deadline (the raw call
/// has none).
fn sdk_client(server: &Server) -> GitHub {
    GitHub::builder()
        .token(TOKEN)
        .base_url(server.url.clone())
        .user_agent("orginvite-bench")
        .pacing(Pacing::off().learn_from_headers(false))
        .timeout(None)
        .build()
        .expect("a valid client")
}

/// The SDK as it comes: the default 30 s timeout on each attempt (a timer per request) and
/// learning from the rate-limit headers; pacing off still, since the bench sends thousands
/// of invitations.
fn sdk_default_client(server: &Server) -> GitHub {
    GitHub::builder()
        .token(TOKEN)
        .base_url(server.url.clone())
        .user_agent("orginvite-bench")
        .pacing(Pacing::off())
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

/// The peer: octocrab's generic `post`, deserializing into the hand-written struct.
struct Peer {
    client: octocrab::Octocrab,
}

impl Peer {
    fn new(server: &Server) -> Peer {
        let client = octocrab::Octocrab::builder()
            .base_uri(server.url.as_str())
            .expect("a base URL")
            .personal_token(TOKEN.to_owned())
            .build()
            .expect("a client");
        Peer { client }
    }

    async fn create(&self) {
        let body = RawBody {
            email: black_box(EMAIL),
            role: "direct_member",
        };
        let invitation: RawInvitation = self
            .client
            .post("/orgs/acme/invitations", Some(&body))
            .await
            .expect("created");
        black_box(invitation);
    }
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    servers: [Server; 4],
    sdk: GitHub,
    sdk_default: GitHub,
    raw: Raw,
    peer: Peer,
    request: CreateInvitation,
}

/// The sides of the comparison, in the order of [`Fixture::servers`].
const SIDES: [&str; 4] = ["sdk", "raw", "octocrab", "sdk (defaults)"];

impl Fixture {
    fn new() -> Fixture {
        let servers = [(); 4].map(|()| Server::start());
        let runtime = runtime();
        // The clients need a runtime context to be built.
        let (sdk, raw, peer, sdk_default) = runtime.block_on(async {
            (
                sdk_client(&servers[0]),
                Raw::new(&servers[1]),
                Peer::new(&servers[2]),
                sdk_default_client(&servers[3]),
            )
        });
        Fixture {
            runtime,
            servers,
            sdk,
            sdk_default,
            raw,
            peer,
            request: CreateInvitation::email("acme", EMAIL),
        }
    }

    /// One call of side `side` (an index into [`SIDES`]).
    async fn call(&self, side: usize) {
        match side {
            0 => sdk_create(&self.sdk, &self.request).await,
            1 => self.raw.create().await,
            2 => self.peer.create().await,
            _ => sdk_create(&self.sdk_default, &self.request).await,
        }
    }
}

fn end_to_end(c: &mut Criterion) {
    let fixture = Fixture::new();
    let Fixture {
        runtime,
        sdk,
        raw,
        peer,
        request,
        ..
    } = &fixture;

    let mut group = c.benchmark_group("create");
    group.bench_function("sdk", |b| {
        b.to_async(runtime).iter(|| sdk_create(sdk, request))
    });
    group.bench_function("raw", |b| b.to_async(runtime).iter(|| raw.create()));
    group.bench_function("octocrab", |b| b.to_async(runtime).iter(|| peer.create()));
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

    if let Some((side, calls)) = profiled_side() {
        runtime.block_on(async {
            for _ in 0..calls {
                fixture.call(side).await;
            }
        });
        return;
    }
    if !std::env::args().any(|arg| arg == "--list") {
        report(&fixture);
    }
}

/// The core the client and the servers run on, when they are pinned to one.
static PINNED: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();

/// The side to run alone for a profiler (`valgrind --tool=callgrind`, `perf record`), and how
/// many calls: `END_TO_END_PROFILE=raw` (any name of [`SIDES`]) and, optionally,
/// `END_TO_END_CALLS=4000` (200 000 unless given).
fn profiled_side() -> Option<(usize, u64)> {
    let name = std::env::var("END_TO_END_PROFILE").ok()?;
    let side = SIDES
        .iter()
        .position(|side| *side == name)
        .unwrap_or_else(|| panic!("END_TO_END_PROFILE names one of {SIDES:?}"));
    let calls = std::env::var("END_TO_END_CALLS").map_or(200_000, |calls| {
        calls.parse().expect("END_TO_END_CALLS is a number")
    });
    Some((side, calls))
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

/// Prints, from interleaved rounds (so every side sees the same machine load), each side's
/// time per call and the SDK's ratios to the raw call and to octocrab; then the connections
/// each server accepted.
fn report(fixture: &Fixture) {
    const ROUNDS: usize = 41;
    const CALLS: u32 = 200;
    let runtime = &fixture.runtime;
    // Per side and round: wall time and this thread's CPU time per call, in µs.
    let mut wall = vec![Vec::new(); SIDES.len()];
    let mut cpu = vec![Vec::new(); SIDES.len()];
    let mut allocated = vec![0u64; SIDES.len()];
    runtime.block_on(async {
        for round in 0..ROUNDS {
            // Rotate which side goes first.
            for offset in 0..SIDES.len() {
                let side = (round + offset) % SIDES.len();
                let before = thread_cpu_time();
                let allocations_before = allocations();
                let started = Instant::now();
                for _ in 0..CALLS {
                    fixture.call(side).await;
                }
                allocated[side] += allocations() - allocations_before;
                wall[side].push(started.elapsed().as_secs_f64() * 1e6 / f64::from(CALLS));
                if let Some((before, after)) = before.zip(thread_cpu_time()) {
                    let spent = after.saturating_sub(before);
                    cpu[side].push(spent.as_secs_f64() * 1e6 / f64::from(CALLS));
                }
            }
        }
    });
    let placement = match PINNED.get().copied().flatten() {
        Some(core) => format!("client and servers on core {core}"),
        None => "threads not pinned".to_owned(),
    };
    println!(
        "\nend-to-end create, {ROUNDS} interleaved rounds of {CALLS} calls per side, {placement} (medians of the rounds):"
    );
    for (name, times) in [("wall", &wall), ("client CPU", &cpu)] {
        if times[0].is_empty() {
            continue;
        }
        let per_side: Vec<String> = SIDES
            .iter()
            .zip(times.iter())
            .map(|(side, values)| format!("{side} {:.1}", median(&mut values.clone())))
            .collect();
        println!("  {name} µs/call: {}", per_side.join(", "));
        // Ratios round by round (same load), then their median.
        let ratio = |a: usize, b: usize| {
            let mut ratios: Vec<f64> = times[a].iter().zip(&times[b]).map(|(a, b)| a / b).collect();
            median(&mut ratios)
        };
        println!(
            "  {name} ratios: SDK/raw {:.3} (target <= {}), SDK/octocrab {:.3}, octocrab/raw {:.3}, SDK with defaults/raw {:.3}",
            ratio(0, 1),
            if name == "wall" { "1.02" } else { "1.05" },
            ratio(0, 2),
            ratio(2, 1),
            ratio(3, 1),
        );
    }
    let per_call: Vec<String> = SIDES
        .iter()
        .zip(&allocated)
        .map(|(side, count)| {
            let calls = ROUNDS as f64 * f64::from(CALLS);
            format!("{side} {:.1}", *count as f64 / calls)
        })
        .collect();
    println!(
        "  allocations per call on the client's thread (hyper's connection task included): {}",
        per_call.join(", ")
    );
    let accepted: Vec<String> = SIDES
        .iter()
        .zip(&fixture.servers)
        .map(|(side, server)| {
            format!(
                "{side} {} for {} requests",
                server.connections(),
                server.requests()
            )
        })
        .collect();
    println!(
        "connections accepted over the whole run: {}",
        accepted.join(", ")
    );
    let request = &fixture.request;

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

/// Pins this thread, and so every thread it starts afterwards, to one core (the last it may
/// run on): the client and the servers take turns on it, so that each call costs the client's
/// and the server's work, without waking a thread on another core, whose latency on a small
/// VM varies more than the differences measured. `END_TO_END_PIN=0` leaves the threads to the
/// scheduler. Returns the core.
#[cfg(target_os = "linux")]
fn pin_to_one_core() -> Option<usize> {
    if std::env::var("END_TO_END_PIN").is_ok_and(|pin| pin == "0") {
        return None;
    }
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: `cpu_set_t` is plain data, zeroed is an empty set, and the calls read and write
    // only the set passed with its own size.
    unsafe {
        let mut allowed: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size, &mut allowed) != 0 {
            return None;
        }
        let core = (0..libc::CPU_SETSIZE as usize)
            .rev()
            .find(|&core| libc::CPU_ISSET(core, &allowed))?;
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut one);
        (libc::sched_setaffinity(0, size, &one) == 0).then_some(core)
    }
}

#[cfg(not(target_os = "linux"))]
fn pin_to_one_core() -> Option<usize> {
    None
}

fn main() {
    let pinned = pin_to_one_core();
    PINNED.set(pinned).expect("set once");
    benches();
    Criterion::default().configure_from_args().final_summary();
}
