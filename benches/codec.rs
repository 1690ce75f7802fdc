//! Encoding and decoding per vendor: the pure mappings, with no IO.
//!
//! - `encode/<vendor>`: validate a `CreateInvitation` and build the HTTP request (method, URL,
//!   headers, JSON body), as a call does before sending.
//! - `decode_ok/<vendor>`: decode the vendor's documented success body (`tests/fixtures/`)
//!   into an `Invitation`.
//! - `decode_err/<vendor>`: classify the vendor's "already invited" or "already a member"
//!   error answer into an `Error`.
//!
//! A counting global allocator reports heap allocations per operation, measured outside
//! criterion's timing loop and printed at the end; a decode counts only the decoding (the
//! answer is built before counting starts).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{criterion_group, BatchSize, Criterion};
use orginvite::clerk::ClerkOptions;
use orginvite::elastic::{
    DeploymentRole, ElasticOptions, PlatformRole, ProjectRole, RoleAssignments,
};
use orginvite::fuzzing::{self, Answer, Target};
use orginvite::github::GitHubOptions;
use orginvite::{CreateInvitation, Role};
use reqwest::header::HeaderMap;

/// Counts every allocation (and reallocation) made through the global allocator.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static ALLOCATED_BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ALLOCATED_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on as it is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ALLOCATED_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        ALLOCATED_BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        // SAFETY: as for `alloc`; `ptr` and `layout` come from this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for `alloc`; `ptr` and `layout` come from this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const GITHUB_CREATED: &[u8] = include_bytes!("../tests/fixtures/github/create-201.json");
const GITHUB_ALREADY_MEMBER: &[u8] =
    include_bytes!("../tests/fixtures/github/422-already-member-email.json");
const CLERK_CREATED: &[u8] = include_bytes!("../tests/fixtures/clerk/create-200.json");
const CLERK_ALREADY_INVITED: &[u8] = br#"{"errors":[{"message":"organization invitation not unique","long_message":"Organizations cannot have duplicate pending invitations for an email address.","code":"organization_invitation_not_unique","meta":{}}],"meta":{},"clerk_trace_id":"3f2c9a1b7e6d4c5a8b9f0e1d2c3b4a59"}"#;
const ELASTIC_CREATED: &[u8] = include_bytes!("../tests/fixtures/elastic/create-201.json");
const ELASTIC_ALREADY_INVITED: &[u8] = br#"{"errors":[{"code":"organization.invitation_already_exists","message":"An invitation for this email already exists"}]}"#;

/// One vendor's inputs: a representative request and the answers to decode.
struct Case {
    name: &'static str,
    target: Target,
    request: CreateInvitation,
    ok: (u16, &'static [u8], &'static str),
    err: (u16, &'static [u8]),
    headers: HeaderMap,
}

fn cases() -> Vec<Case> {
    let mut metadata = serde_json::Map::new();
    metadata.insert("team".into(), "design".into());
    let roles = RoleAssignments::new()
        .deployment(DeploymentRole::all("deployment-viewer"))
        .deployment(DeploymentRole::ids("deployment-editor", ["2f3c0c5a9b7d"]))
        .elasticsearch(ProjectRole::ids(
            "elasticsearch-developer",
            ["6a1e0f7d2c4b"],
        ))
        .platform(PlatformRole::new("platform-viewer"));
    let json_headers = |extra: &[(&str, &[u8])]| {
        let mut pairs: Vec<(&str, &[u8])> = vec![("content-type", b"application/json")];
        pairs.extend_from_slice(extra);
        fuzzing::header_map(&pairs)
    };
    vec![
        Case {
            name: "github",
            target: Target::GitHub,
            request: CreateInvitation::email("acme", "octocat@github.com")
                .role(Role::Admin)
                .with(GitHubOptions::new().team_ids([12, 34])),
            ok: (201, GITHUB_CREATED, "octocat@github.com"),
            err: (422, GITHUB_ALREADY_MEMBER),
            headers: json_headers(&[
                ("x-github-request-id", b"0C1D:2E3F:4A5B6C:7D8E9F:6A0B1C2D"),
                ("x-ratelimit-limit", b"5000"),
                ("x-ratelimit-remaining", b"4987"),
                ("x-ratelimit-used", b"13"),
                ("x-ratelimit-reset", b"1800003600"),
                ("x-ratelimit-resource", b"core"),
            ]),
        },
        Case {
            name: "clerk",
            target: Target::Clerk,
            request: CreateInvitation::email(
                "org_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
                "jane.doe@acme.com",
            )
            .role(Role::Custom("org:viewer".into()))
            .expires_in(Duration::from_secs(14 * 24 * 60 * 60))
            .with(
                ClerkOptions::new()
                    .public_metadata(metadata)
                    .redirect_url("https://app.example.com/welcome"),
            ),
            ok: (200, CLERK_CREATED, "jane.doe@acme.com"),
            err: (400, CLERK_ALREADY_INVITED),
            headers: json_headers(&[("clerk-trace-id", b"3f2c9a1b7e6d4c5a8b9f0e1d2c3b4a59")]),
        },
        Case {
            name: "elastic",
            target: Target::ElasticCloud,
            request: CreateInvitation::email("1234567890", "test@mail")
                .role(Role::BillingManager)
                .expires_in(Duration::from_secs(7 * 24 * 60 * 60))
                .with(ElasticOptions::new().role_assignments(roles)),
            ok: (201, ELASTIC_CREATED, "test@mail"),
            err: (400, ELASTIC_ALREADY_INVITED),
            headers: json_headers(&[
                ("x-ratelimit-limit", b"60"),
                ("x-ratelimit-remaining", b"58"),
                ("x-ratelimit-interval", b"60s"),
            ]),
        },
    ]
}

fn encode(case: &Case) {
    let encoded = fuzzing::encode(case.target, black_box(&case.request));
    black_box(encoded.expect("the request is valid"));
}

/// The success answer of `case`, ready to decode.
fn ok_answer(case: &Case) -> Answer {
    let (status, body, email) = case.ok;
    Answer::new(case.target, status, case.headers.clone(), body, email)
}

/// The error answer of `case`, ready to decode.
fn err_answer(case: &Case) -> Answer {
    let (status, body) = case.err;
    Answer::new(
        case.target,
        status,
        case.headers.clone(),
        body,
        "x@example.com",
    )
}

fn decode_ok(answer: Answer) {
    black_box(black_box(&answer).decode().expect("the fixture decodes"));
}

fn decode_err(answer: Answer) {
    black_box(
        black_box(&answer)
            .decode()
            .expect_err("the answer is an error"),
    );
}

fn codec(c: &mut Criterion) {
    let cases = cases();
    // Check once, outside timing, that each case does what its name says.
    for case in &cases {
        encode(case);
        decode_ok(ok_answer(case));
        decode_err(err_answer(case));
    }
    let mut group = c.benchmark_group("encode");
    for case in &cases {
        group.bench_function(case.name, |b| b.iter(|| encode(case)));
    }
    group.finish();
    let mut group = c.benchmark_group("decode_ok");
    for case in &cases {
        group.bench_function(case.name, |b| {
            b.iter_batched(|| ok_answer(case), decode_ok, BatchSize::SmallInput)
        });
    }
    group.finish();
    let mut group = c.benchmark_group("decode_err");
    for case in &cases {
        group.bench_function(case.name, |b| {
            b.iter_batched(|| err_answer(case), decode_err, BatchSize::SmallInput)
        });
    }
    group.finish();
}

/// Allocations and bytes per call of `op`, averaged over `rounds` calls. `prepare` runs before
/// counting starts (the header maps the decoders take by value).
fn allocations<T>(rounds: u64, prepare: impl Fn() -> T, op: impl Fn(T)) -> (f64, f64) {
    let inputs: Vec<T> = (0..rounds).map(|_| prepare()).collect();
    let count = ALLOCATIONS.load(Ordering::SeqCst);
    let bytes = ALLOCATED_BYTES.load(Ordering::SeqCst);
    for input in inputs {
        op(input);
    }
    let count = ALLOCATIONS.load(Ordering::SeqCst) - count;
    let bytes = ALLOCATED_BYTES.load(Ordering::SeqCst) - bytes;
    (count as f64 / rounds as f64, bytes as f64 / rounds as f64)
}

fn report_allocations() {
    const ROUNDS: u64 = 1000;
    println!("\nheap allocations per operation (mean of {ROUNDS} calls; bytes requested)");
    println!(
        "{:<10} {:>18} {:>18} {:>18}",
        "vendor", "encode", "decode_ok", "decode_err"
    );
    for case in &cases() {
        // Warm up lazily initialised state (the shared clients) before counting.
        encode(case);
        decode_ok(ok_answer(case));
        decode_err(err_answer(case));
        let e = allocations(ROUNDS, || (), |()| encode(case));
        let o = allocations(ROUNDS, || ok_answer(case), decode_ok);
        let r = allocations(ROUNDS, || err_answer(case), decode_err);
        let cell = |(n, b): (f64, f64)| format!("{n:.0} ({b:.0} B)");
        println!(
            "{:<10} {:>18} {:>18} {:>18}",
            case.name,
            cell(e),
            cell(o),
            cell(r)
        );
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}

criterion_group! {
    name = benches;
    config = config();
    targets = codec
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if !std::env::args().any(|arg| arg == "--list") {
        report_allocations();
    }
}
