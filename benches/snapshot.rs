//! Snapshots: memory held while reading 10,000 pending invitations into a snapshot, and the
//! time it takes.
//!
//! - `snapshot/github_fake_10k`: 10,000 pending invitations and 100 members from the testkit's
//!   fake GitHub (100 invitations a page, so 100 pages, then the failed invitations and the
//!   members).
//! - `snapshot/clerk_fake_10k`: the same from the fake Clerk (500 a page, 20 pages).
//!
//! Before criterion runs, the bench takes each snapshot once with a counting global
//! allocator and prints the client's peak heap above what was live before, and what the
//! snapshot itself holds (what dropping it gives back); it fails when the peak reaches 4 MiB.
//! Only the client's threads are counted (the main thread and its runtime's workers): the
//! fakes, which build each answer as a JSON tree, run on threads of their own. It prints the
//! same for a snapshot of 2,000, to show what grows with the organization.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

use criterion::{criterion_group, Criterion, Throughput};
use orginvite::testkit::{FakeClerk, FakeGitHub, FakeMember};
use orginvite::{Clerk, GitHub, Pacing, Provider, Snapshot};

/// Keeps the live and the peak heap size of the client's threads.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// Whether this thread runs the client: the main thread and its runtime's workers.
    static CLIENT: Cell<bool> = const { Cell::new(false) };
}

fn counted() -> bool {
    CLIENT.try_with(Cell::get).unwrap_or(false)
}

fn grew(by: usize) {
    if !counted() {
        return;
    }
    let by = by as isize;
    let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

fn shrank(by: usize) {
    if counted() {
        LIVE.fetch_sub(by as isize, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on as it is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        shrank(layout.size());
        grew(new_size);
        // SAFETY: as for `alloc`; `ptr` and `layout` come from this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrank(layout.size());
        // SAFETY: as for `alloc`; `ptr` and `layout` come from this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const TOTAL: usize = 10_000;
const SMALL: usize = 2_000;
const MEMBERS: usize = 100;
/// The most a snapshot of `TOTAL` pending invitations may hold at its peak.
const LIMIT: usize = 4 * 1024 * 1024;

struct Setup {
    runtime: tokio::runtime::Runtime,
    /// The fakes' own runtime, on threads the counter leaves out.
    _fakes_runtime: tokio::runtime::Runtime,
    _github_fake: FakeGitHub,
    _clerk_fake: FakeClerk,
    github: GitHub,
    clerk: Clerk,
}

fn setup() -> Setup {
    CLIENT.with(|client| client.set(true));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(|| CLIENT.with(|client| client.set(true)))
        .enable_all()
        .build()
        .expect("a runtime");
    let fakes_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .on_thread_start(|| CLIENT.with(|client| client.set(false)))
        .enable_all()
        .build()
        .expect("a runtime");
    // The main thread starts the fakes: their setup is not the client's either.
    CLIENT.with(|client| client.set(false));
    let (github_fake, clerk_fake, github, clerk) = fakes_runtime.block_on(async {
        let github_fake = FakeGitHub::start().await;
        let clerk_fake = FakeClerk::start().await;
        for (organization, count) in [("big", TOTAL), ("small", SMALL)] {
            github_fake.add_organization(organization);
            github_fake.seed_invitations(organization, count);
            clerk_fake.add_organization(organization);
            clerk_fake.seed_invitations(organization, count);
            for i in 0..MEMBERS {
                github_fake.add(
                    FakeMember::new(organization)
                        .login(format!("member{i}"))
                        .user_id((10_000 + i).to_string()),
                );
                clerk_fake.add_member(organization, format!("member{i}@example.com"));
            }
        }
        let off = || Pacing::off().learn_from_headers(false);
        let github = github_fake.client_builder().pacing(off()).build().unwrap();
        let clerk = clerk_fake.client_builder().pacing(off()).build().unwrap();
        (github_fake, clerk_fake, github, clerk)
    });
    CLIENT.with(|client| client.set(true));
    Setup {
        runtime,
        _fakes_runtime: fakes_runtime,
        _github_fake: github_fake,
        _clerk_fake: clerk_fake,
        github,
        clerk,
    }
}

/// What the client's heap did while one snapshot was taken.
struct Heap {
    /// The peak above the live heap at the start.
    peak: isize,
    /// What the snapshot holds: what dropping it gave back.
    held: isize,
    /// How many pending invitations and members it showed.
    counts: (usize, usize),
}

fn measure(setup: &Setup, provider: &dyn Provider, organization: &str) -> Heap {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let snapshot: Snapshot = setup
        .runtime
        .block_on(provider.snapshot(organization))
        .expect("a snapshot");
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let counts = (snapshot.pending_count(), snapshot.member_count());
    let with_snapshot = LIVE.load(Ordering::Relaxed);
    drop(snapshot);
    let held = with_snapshot - LIVE.load(Ordering::Relaxed);
    Heap { peak, held, counts }
}

fn report(setup: &Setup) -> bool {
    let kib = |bytes: isize| bytes / 1024;
    let mut within = true;
    for (name, provider) in [
        ("github", &setup.github as &dyn Provider),
        ("clerk", &setup.clerk as &dyn Provider),
    ] {
        // One warm-up so connection setup and lazy statics do not count.
        measure(setup, provider, "small");
        let small = measure(setup, provider, "small");
        let large = measure(setup, provider, "big");
        assert_eq!(large.counts, (TOTAL, MEMBERS));
        assert_eq!(small.counts, (SMALL, MEMBERS));
        println!(
            "snapshot/{name}_fake_10k: {TOTAL} pending invitations and {MEMBERS} members: the \
             client's peak heap {} KiB above the start; the snapshot holds {} KiB ({} bytes a \
             person). {SMALL} invitations: peak {} KiB, the snapshot holds {} KiB.",
            kib(large.peak),
            kib(large.held),
            large.held / (TOTAL + MEMBERS) as isize,
            kib(small.peak),
            kib(small.held),
        );
        if large.peak >= LIMIT as isize {
            println!(
                "snapshot/{name}_fake_10k: the peak, {} KiB, is over the 4 MiB target",
                kib(large.peak)
            );
            within = false;
        }
    }
    within
}

fn benches(c: &mut Criterion) {
    let setup = setup();
    assert!(report(&setup), "a snapshot went over its memory target");
    let mut group = c.benchmark_group("snapshot");
    group.throughput(Throughput::Elements(TOTAL as u64));
    group.sample_size(10);
    for (name, provider) in [
        ("github_fake_10k", &setup.github as &dyn Provider),
        ("clerk_fake_10k", &setup.clerk as &dyn Provider),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| setup.runtime.block_on(provider.snapshot("big")).unwrap())
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(5))
        .configure_from_args()
}

criterion_group! {
    name = snapshot;
    config = config();
    targets = benches
}

fn main() {
    snapshot();
    Criterion::default().configure_from_args().final_summary();
}
