//! What inviting a list of people costs in requests, on each vendor's sandbox.
//!
//! ```text
//! cargo run --release --all-features --example budget -- [--rows N]...
//! ```
//!
//! For each vendor and each size (default: 300 and 10,000 rows), starts the testkit's fake
//! with `5/3 N` pending invitations and `N/3` members, and a list of `N` rows: a third new
//! people by email, a third already invited by email, a third members (GitHub: by login; the
//! others: by email). Then, counting every request with
//! [`RequestCounter`](orginvite::observe::RequestCounter):
//!
//! - **dry run**: one snapshot, and each row's presence in it (what `invite --csv --dry-run`
//!   does);
//! - **run**: `invite_all` with its defaults (a snapshot first, then the creates that count,
//!   in the vendor's batches);
//! - **re-run**: the same list again, as a run without a journal would.
//!
//! Prints one Markdown table row per phase: the requests of each kind, the requests per row,
//! and the time on the sandbox's virtual clock (pacing waits take no real time; what remains
//! is the client and the fake on loopback). The figures are in `docs/performance.md`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use orginvite::observe::{RequestCounter, RequestTally};
use orginvite::testkit::{Fake, FakeMember, FakeServer, Sandbox};
use orginvite::{BulkOptions, Client, CreateInvitation, Ensured, Invitee, Presence};

const USAGE: &str = "usage: budget [--rows N]...";

fn main() -> ExitCode {
    let mut sizes = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (
            arg.as_str(),
            args.next().and_then(|n| n.parse::<usize>().ok()),
        ) {
            ("--rows", Some(n)) if n >= 3 => sizes.push(n - n % 3),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if sizes.is_empty() {
        sizes = vec![300, 9_999];
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    println!(
        "| vendor | rows | phase | list pages | lookups | creates (refused) | requests | per row | time |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for rows in sizes {
        runtime.block_on(async {
            let (fake, _) = Sandbox::github().await;
            measure(&fake, "acme", rows, |i| {
                Invitee::login(format!("member{i}"))
            })
            .await;
            let (fake, _) = Sandbox::clerk().await;
            measure(&fake, "org_sandbox", rows, |i| {
                Invitee::email(format!("member{i}@example.com"))
            })
            .await;
            let (fake, _) = Sandbox::elastic().await;
            measure(&fake, "sandbox-org", rows, |i| {
                Invitee::email(format!("member{i}@example.com"))
            })
            .await;
        });
    }
    ExitCode::SUCCESS
}

/// Runs the three phases against `fake` and prints their rows.
async fn measure<V: Fake>(
    fake: &FakeServer<V>,
    organization: &str,
    rows: usize,
    member: impl Fn(usize) -> Invitee,
) {
    let third = rows / 3;
    fake.seed_invitations(organization, third * 5);
    for i in 0..third {
        let person = FakeMember::new(organization)
            .email(format!("member{i}@example.com"))
            .login(format!("member{i}"))
            .user_id((1_000_000 + i).to_string());
        fake.add(person);
    }
    let counter = Arc::new(RequestCounter::default());
    let client: Client<V::Real> = fake
        .client_builder()
        .observer(counter.clone())
        .build()
        .expect("the sandbox's settings are valid");
    let mut list = Vec::with_capacity(rows);
    for i in 0..third {
        list.push(CreateInvitation::email(
            organization,
            format!("new{i}@example.com"),
        ));
        list.push(CreateInvitation::email(
            organization,
            format!("seed-{}@example.com", 1 + 5 * i),
        ));
        list.push(CreateInvitation::new(organization, member(i)));
    }
    let vendor = client.kind().to_string();

    let before = counter.tally();
    let started = Instant::now();
    let snapshot = client.snapshot(organization).await.expect("a snapshot");
    let would_create = list
        .iter()
        .filter(|request| {
            !matches!(
                snapshot.presence(&request.invitee),
                Presence::Member(_) | Presence::Invited(_)
            )
        })
        .count();
    print_row(&vendor, rows, "dry run", before, counter.tally(), started);
    drop(snapshot);
    eprintln!("{vendor}, {rows} rows: the dry run finds {would_create} to invite");

    for phase in ["run", "re-run"] {
        let before = counter.tally();
        let started = Instant::now();
        let items: Vec<_> = client
            .invite_all(list.clone(), BulkOptions::default().concurrency(8))
            .collect()
            .await;
        let created = items
            .iter()
            .filter(|item| item.outcome.as_ref().is_ok_and(Ensured::created))
            .count();
        let failed = items.iter().filter(|item| item.outcome.is_err()).count();
        print_row(&vendor, rows, phase, before, counter.tally(), started);
        eprintln!("{vendor}, {rows} rows, {phase}: {created} created, {failed} failed");
    }
}

fn print_row(
    vendor: &str,
    rows: usize,
    phase: &str,
    before: RequestTally,
    after: RequestTally,
    started: Instant,
) {
    let spent = |f: fn(&RequestTally) -> u64| f(&after) - f(&before);
    let total = after.total() - before.total();
    println!(
        "| {vendor} | {rows} | {phase} | {} | {} | {} ({}) | {total} | {:.3} | {:.2} s |",
        spent(|t| t.list_pages),
        spent(|t| t.lookups),
        spent(|t| t.creates),
        spent(|t| t.refused_creates),
        total as f64 / rows as f64,
        started.elapsed().as_secs_f64(),
    );
}
