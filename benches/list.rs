//! Listing invitations: memory held while paging through a long list, and decoding cost per
//! invitation.
//!
//! - `list/github_fake_10k`: every one of 10,000 pending invitations from the testkit's fake
//!   GitHub, 100 pages of 100, streamed and counted.
//! - `decode_page/<vendor>`: decoding one page of 100 invitations in the vendor's list shape
//!   (the documented invitation repeated with distinct ids), as a list call does.
//!
//! Before criterion runs, the bench streams the 10,000 invitations once, and a list of 2,000
//! once, with a counting global allocator, and prints the peak heap above what was live
//! before, what stayed live after (the fake keeps a log of every request it received), and
//! their difference: what the listing held at once, the same for both lengths. It also prints
//! the allocations per invitation and, for contrast, the peak when the same list is collected
//! into a `Vec`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bytes::Bytes;
use criterion::{criterion_group, Criterion, Throughput};
use futures_util::{StreamExt, TryStreamExt};
use orginvite::fuzzing::{self, Target};
use orginvite::testkit::FakeGitHub;
use orginvite::{GitHub, ListInvitations, Pacing};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

/// Counts allocations and keeps the live and the peak heap size.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        grew(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on as it is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        grew(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        grew(new_size);
        // SAFETY: as for `alloc`; `ptr` and `layout` come from this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as for `alloc`; `ptr` and `layout` come from this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const TOTAL: usize = 10_000;
/// A list a fifth as long, to show that the peak does not grow with the list.
const SMALL: usize = 2_000;
const PAGE: usize = 100;

struct Setup {
    runtime: tokio::runtime::Runtime,
    _fake: FakeGitHub,
    github: GitHub,
}

fn setup() -> Setup {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let (fake, github) = runtime.block_on(async {
        let fake = FakeGitHub::start().await;
        fake.seed_invitations("acme", TOTAL);
        fake.add_organization("small");
        fake.seed_invitations("small", SMALL);
        let github = fake
            .client_builder()
            .pacing(Pacing::off().learn_from_headers(false))
            .build()
            .expect("valid");
        (fake, github)
    });
    Setup {
        runtime,
        _fake: fake,
        github,
    }
}

/// Streams the whole list of `organization`, holding one invitation at a time.
async fn stream_all(github: &GitHub) -> usize {
    stream(github, "acme").await
}

async fn stream(github: &GitHub, organization: &str) -> usize {
    let query = ListInvitations::new(organization);
    let mut count = 0;
    let mut stream = github.list_invitations(&query);
    while let Some(invitation) = stream.next().await {
        black_box(invitation.expect("listed"));
        count += 1;
    }
    count
}

/// What the heap did while `work` ran.
struct Heap {
    /// The peak above the live heap at the start.
    peak: usize,
    /// What was still live at the end above the start: the fake's log of the requests it
    /// received (it keeps every one for `FakeServer::requests`), or what `work` returned.
    kept: usize,
    allocations: u64,
}

impl Heap {
    /// The most held at once beyond what stayed: what the listing itself needed.
    fn transient(&self) -> usize {
        self.peak.saturating_sub(self.kept)
    }
}

fn measure<T>(setup: &Setup, work: impl std::future::Future<Output = T>) -> (T, Heap) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    let out = setup.runtime.block_on(work);
    let heap = Heap {
        peak: PEAK.load(Ordering::Relaxed).saturating_sub(before),
        kept: LIVE.load(Ordering::Relaxed).saturating_sub(before),
        allocations: ALLOCATIONS.load(Ordering::Relaxed) - allocations,
    };
    (out, heap)
}

fn report(setup: &Setup) {
    // One warm-up so connection setup and lazy statics do not count.
    setup.runtime.block_on(stream_all(&setup.github));
    setup.runtime.block_on(stream(&setup.github, "small"));
    let (count, small) = measure(setup, stream(&setup.github, "small"));
    assert_eq!(count, SMALL);
    let (count, large) = measure(setup, stream_all(&setup.github));
    assert_eq!(count, TOTAL);
    let query = ListInvitations::new("acme");
    let (all, collected) = measure(setup, async {
        setup
            .github
            .list_invitations(&query)
            .try_collect::<Vec<_>>()
            .await
            .expect("listed")
    });
    assert_eq!(all.len(), TOTAL);
    drop(all);
    let kib = |bytes: usize| bytes / 1024;
    println!(
        "list/github_fake_10k: streamed {TOTAL} invitations in {} pages: peak heap {} KiB above \
         the start, of which {} KiB stayed (the fake's log of the requests it received), so {} \
         KiB held at once for the listing, client and fake together; {SMALL} invitations in {} \
         pages: {} KiB at once. {:.1} allocations per invitation. Collected into a Vec \
         instead: peak {} KiB.",
        TOTAL / PAGE,
        kib(large.peak),
        kib(large.kept),
        kib(large.transient()),
        SMALL / PAGE,
        kib(small.transient()),
        large.allocations as f64 / TOTAL as f64,
        kib(collected.peak),
    );
}

/// The documented GitHub invitation, `PAGE` times with distinct ids.
fn github_page() -> Vec<u8> {
    let list: Value =
        serde_json::from_str(include_str!("../tests/fixtures/github/list-200.json")).unwrap();
    let items: Vec<Value> = (1..=PAGE)
        .map(|n| {
            let mut item = list[0].clone();
            item["id"] = json!(n);
            item["email"] = json!(format!("person{n}@example.com"));
            item
        })
        .collect();
    serde_json::to_vec(&items).unwrap()
}

fn clerk_page() -> Vec<u8> {
    let one: Value =
        serde_json::from_str(include_str!("../tests/fixtures/clerk/create-200.json")).unwrap();
    let items: Vec<Value> = (1..=PAGE)
        .map(|n| {
            let mut item = one.clone();
            item["id"] = json!(format!("orginv_{n}"));
            item
        })
        .collect();
    serde_json::to_vec(&json!({"data": items, "total_count": PAGE})).unwrap()
}

fn elastic_page() -> Vec<u8> {
    let reply: Value =
        serde_json::from_str(include_str!("../tests/fixtures/elastic/create-201.json")).unwrap();
    let items: Vec<Value> = (1..=PAGE)
        .map(|n| {
            let mut item = reply["invitations"][0].clone();
            item["token"] = json!(format!("token{n}"));
            item
        })
        .collect();
    serde_json::to_vec(&json!({"invitations": items})).unwrap()
}

fn benches(c: &mut Criterion) {
    let setup = setup();
    report(&setup);

    let mut group = c.benchmark_group("list");
    group.throughput(Throughput::Elements(TOTAL as u64));
    group.sample_size(10);
    group.bench_function("github_fake_10k", |b| {
        b.iter(|| setup.runtime.block_on(stream_all(&setup.github)))
    });
    group.finish();

    let mut group = c.benchmark_group("decode_page");
    group.throughput(Throughput::Elements(PAGE as u64));
    for (name, target, body) in [
        ("github", Target::GitHub, github_page()),
        ("clerk", Target::Clerk, clerk_page()),
        ("elastic", Target::ElasticCloud, elastic_page()),
    ] {
        let body = Bytes::from(body);
        // Once before counting: the first call builds the shared clients.
        fuzzing::decode_list(target, 200, HeaderMap::new(), body.clone()).unwrap();
        let allocations = ALLOCATIONS.load(Ordering::Relaxed);
        let count = fuzzing::decode_list(target, 200, HeaderMap::new(), body.clone()).unwrap();
        assert_eq!(count, PAGE);
        println!(
            "decode_page/{name}: {:.1} allocations per invitation",
            (ALLOCATIONS.load(Ordering::Relaxed) - allocations) as f64 / PAGE as f64
        );
        group.bench_function(name, |b| {
            b.iter(|| {
                fuzzing::decode_list(target, 200, HeaderMap::new(), black_box(body.clone()))
                    .unwrap()
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3))
        .configure_from_args()
}

criterion_group! {
    name = list;
    config = config();
    targets = benches
}

fn main() {
    list();
    Criterion::default().configure_from_args().final_summary();
}
