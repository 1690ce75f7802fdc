//! Throughput against a vendor's rate limit, in real time, with no credentials.
//!
//! ```text
//! cargo run --release --example throughput -- [--provider github|clerk|elastic] [--n N] \
//!     [--rate R] [--concurrency C] [--runs K] [--mode configured|learning|both]
//! ```
//!
//! Starts the testkit's fake vendor on loopback, limited to `R` requests in any rolling second
//! (answering with the vendor's own 429 or 403 beyond that), and invites `N` distinct people
//! from `C` concurrent tasks, `K` times over, each run on a fresh fake:
//!
//! - `configured`: the client knows the limit, `Pacing::rate(R, 1 s)` (with its default
//!   window margin), and does not learn from headers;
//! - `learning`: the client is told nothing (`Pacing::off()`) and paces by what the vendor's
//!   headers and refusals tell it.
//!
//! For each run it prints the elapsed time against the floor (a rolling window lets the first
//! `R` go at once, then `R` a second: `(ceil(N / R) - 1)` seconds) and the rate-limit answers
//! the fake sent; then whether the targets were met: with the rate configured, no refusal in
//! any run and at most 1.05 x the floor; learning, at most one refusal per window on average
//! and at most 1.3 x the floor. Exits non-zero when an invitation is missing or duplicated or
//! a call failed; a missed target is reported, not an error. Defaults: GitHub, 100
//! invitations at 10 a second from 10 tasks, 5 runs of each mode (about 2 minutes).

use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};
use orginvite::sleep::TokioSleeper;
use orginvite::testkit::{FakeClerk, FakeElasticCloud, FakeGitHub, FakeServer};
use orginvite::{CreateInvitation, Pacing, Provider};

const USAGE: &str = "usage: throughput [--provider github|clerk|elastic] [--n N] [--rate R] \
[--concurrency C] [--runs K] [--mode configured|learning|both]";
/// The fake's rolling window.
const WINDOW: Duration = Duration::from_secs(1);

struct Args {
    provider: String,
    n: u32,
    rate: u32,
    concurrency: usize,
    runs: u32,
    modes: Vec<Mode>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Configured,
    Learning,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        provider: "github".to_owned(),
        n: 100,
        rate: 10,
        concurrency: 10,
        runs: 5,
        modes: vec![Mode::Configured, Mode::Learning],
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or(format!("{flag} needs a value"));
        let number = |text: String| {
            text.parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(format!("{flag} takes a positive whole number"))
        };
        match flag.as_str() {
            "--provider" => args.provider = value()?,
            "--n" => args.n = number(value()?)?,
            "--rate" => args.rate = number(value()?)?,
            "--concurrency" => args.concurrency = number(value()?)? as usize,
            "--runs" => args.runs = number(value()?)?,
            "--mode" => {
                args.modes = match value()?.as_str() {
                    "configured" => vec![Mode::Configured],
                    "learning" => vec![Mode::Learning],
                    "both" => vec![Mode::Configured, Mode::Learning],
                    other => return Err(format!("unknown mode {other}\n{USAGE}")),
                }
            }
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if !["github", "clerk", "elastic"].contains(&args.provider.as_str()) {
        return Err(format!("unknown provider {}\n{USAGE}", args.provider));
    }
    Ok(args)
}

/// One run's figures.
struct Run {
    elapsed: Duration,
    refusals: u64,
    failures: u32,
    exact: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let floor = WINDOW * (args.n.div_ceil(args.rate) - 1);
    println!(
        "{}: {} invitations from {} tasks, limit {} in any rolling {:?}; floor {:.1} s",
        args.provider,
        args.n,
        args.concurrency,
        args.rate,
        WINDOW,
        floor.as_secs_f64()
    );
    let mut all_exact = true;
    for mode in args.modes.clone() {
        let name = match mode {
            Mode::Configured => "rate configured",
            Mode::Learning => "learning",
        };
        let mut runs = Vec::new();
        for _ in 0..args.runs {
            let run = one_run(&args, mode).await;
            println!(
                "  {name}: {:.3} s ({:.3}x the floor), {} rate-limit answers{}",
                run.elapsed.as_secs_f64(),
                run.elapsed.as_secs_f64() / floor.as_secs_f64().max(f64::EPSILON),
                run.refusals,
                if run.failures > 0 {
                    format!(", {} calls failed", run.failures)
                } else {
                    String::new()
                }
            );
            all_exact &= run.exact && run.failures == 0;
            runs.push(run);
        }
        let worst = runs
            .iter()
            .map(|r| r.elapsed.as_secs_f64() / floor.as_secs_f64().max(f64::EPSILON))
            .fold(0.0, f64::max);
        let refusals: u64 = runs.iter().map(|r| r.refusals).sum();
        let windows: f64 = runs
            .iter()
            .map(|r| r.elapsed.as_secs_f64() / WINDOW.as_secs_f64())
            .sum();
        let per_window = refusals as f64 / windows.max(1.0);
        let met = match mode {
            Mode::Configured => refusals == 0 && worst <= 1.05,
            Mode::Learning => per_window <= 1.0 && worst <= 1.3,
        };
        println!(
            "{name}: worst {worst:.3}x the floor, {refusals} rate-limit answers in {} runs ({per_window:.2} per window); targets {}",
            runs.len(),
            if met { "met" } else { "MISSED" }
        );
    }
    if all_exact {
        println!("every invitation was created exactly once in every run");
        ExitCode::SUCCESS
    } else {
        eprintln!("invitations missing or duplicated, or calls failed");
        ExitCode::FAILURE
    }
}

async fn one_run(args: &Args, mode: Mode) -> Run {
    let pacing = match mode {
        Mode::Configured => Pacing::rate(args.rate, WINDOW).learn_from_headers(false),
        Mode::Learning => Pacing::off(),
    };
    let clock = Arc::new(TokioSleeper);
    match args.provider.as_str() {
        "github" => {
            let fake = FakeGitHub::start_with_clock(clock).await;
            let client = fake.client_builder().pacing(pacing).build().unwrap();
            invite(&fake, &client, args).await
        }
        "clerk" => {
            let fake = FakeClerk::start_with_clock(clock).await;
            let client = fake.client_builder().pacing(pacing).build().unwrap();
            invite(&fake, &client, args).await
        }
        _ => {
            let fake = FakeElasticCloud::start_with_clock(clock).await;
            let client = fake.client_builder().pacing(pacing).build().unwrap();
            invite(&fake, &client, args).await
        }
    }
}

async fn invite<V>(fake: &FakeServer<V>, client: &dyn Provider, args: &Args) -> Run {
    fake.rate_limit_rolling(args.rate, WINDOW);
    let organization = fake.organization().to_owned();
    let started = Instant::now();
    let failures = stream::iter(0..args.n)
        .map(|i| {
            let request =
                CreateInvitation::email(organization.clone(), format!("person{i}@example.com"));
            async move { client.create_invitation(&request).await }
        })
        .buffer_unordered(args.concurrency)
        .filter(|outcome| std::future::ready(outcome.is_err()))
        .count()
        .await;
    let elapsed = started.elapsed();
    let created = fake.invitations();
    let distinct: HashSet<_> = created.iter().filter_map(|i| i.email.clone()).collect();
    Run {
        elapsed,
        refusals: fake.rate_limited_count(),
        failures: u32::try_from(failures).unwrap_or(u32::MAX),
        exact: created.len() == args.n as usize && distinct.len() == created.len(),
    }
}
