//! Throughput against a vendor's rate limit, in real time, with no credentials.
//!
//! ```text
//! cargo run --release --example throughput -- [--provider github|clerk|elastic] [--n N] \
//!     [--rate R] [--learn]
//! ```
//!
//! Starts the testkit's fake vendor on loopback, limited to `R` invitation requests per
//! one-second window (answering with the vendor's own 429 or 403 beyond that), and invites `N`
//! distinct people one after the other through a client paced at the limit:
//! `Pacing::serial(1 s / R)`. Learning from rate-limit headers is off unless `--learn` is
//! given, since the limit is known here; with it, the pacer also heeds the fakes'
//! `x-ratelimit-*` headers.
//!
//! Prints the elapsed time against the ideal `N / R`, the sustained rate (`N - 1` intervals
//! over the elapsed time) as a share of the limit, the rate-limit answers the fake sent (in all
//! and in the worst window), and checks
//! that every invitation was created exactly once. Exits non-zero when a call failed or an
//! invitation is missing or duplicated; a missed target is reported, not an error.
//! Defaults: GitHub, 50 invitations at 5 per second (about 10 s).

use std::collections::{BTreeMap, HashSet};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orginvite::testkit::{FakeClerk, FakeElasticCloud, FakeGitHub, FakeServer};
use orginvite::{
    CreateInvitation, ErrorKind, Observer, Pacing, Provider, RateLimitEvent, TokioSleeper,
};

const USAGE: &str =
    "usage: throughput [--provider github|clerk|elastic] [--n N] [--rate R] [--learn]";
/// The fake's rate-limit window.
const WINDOW: Duration = Duration::from_secs(1);

struct Args {
    provider: String,
    n: u32,
    rate: u32,
    learn: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        provider: "github".to_owned(),
        n: 50,
        rate: 5,
        learn: false,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--provider" => args.provider = value()?,
            "--n" => args.n = value()?.parse().map_err(|_| "--n takes a whole number")?,
            "--rate" => {
                args.rate = value()?
                    .parse()
                    .map_err(|_| "--rate takes a whole number")?
            }
            "--learn" => args.learn = true,
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if args.n < 2 || args.rate == 0 {
        return Err("--n must be at least 2 and --rate positive".to_owned());
    }
    if !["github", "clerk", "elastic"].contains(&args.provider.as_str()) {
        return Err(format!("unknown provider {}\n{USAGE}", args.provider));
    }
    Ok(args)
}

/// Records when each retried rate-limit answer came, to count them per window.
#[derive(Debug)]
struct RateLimitTimes {
    since: Instant,
    at: Mutex<Vec<Duration>>,
}

impl Observer for RateLimitTimes {
    fn on_event(&self, event: &RateLimitEvent) {
        let limited = match event {
            RateLimitEvent::Retried { kind, .. } | RateLimitEvent::GaveUp { kind, .. } => {
                *kind == ErrorKind::RateLimited
            }
            _ => false,
        };
        if limited {
            let at = self.since.elapsed();
            self.at
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(at);
        }
    }
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
    let interval = WINDOW / args.rate;
    let pacing = Pacing::serial(interval).learn_from_headers(args.learn);
    let clock = Arc::new(TokioSleeper);
    match args.provider.as_str() {
        "github" => {
            let fake = FakeGitHub::start_with_clock(clock).await;
            let times = limit(&fake, &args);
            let client = fake
                .client_builder()
                .pacing(pacing)
                .observer(times.clone())
                .build()
                .expect("a valid client");
            run(&fake, &client, &args, &times).await
        }
        "clerk" => {
            let fake = FakeClerk::start_with_clock(clock).await;
            let times = limit(&fake, &args);
            let client = fake
                .client_builder()
                .pacing(pacing)
                .observer(times.clone())
                .build()
                .expect("a valid client");
            run(&fake, &client, &args, &times).await
        }
        _ => {
            let fake = FakeElasticCloud::start_with_clock(clock).await;
            let times = limit(&fake, &args);
            let client = fake
                .client_builder()
                .pacing(pacing)
                .observer(times.clone())
                .build()
                .expect("a valid client");
            run(&fake, &client, &args, &times).await
        }
    }
}

/// Turns on the fake's limit; its window starts now.
fn limit<V>(fake: &FakeServer<V>, args: &Args) -> Arc<RateLimitTimes> {
    fake.rate_limit(args.rate, WINDOW);
    Arc::new(RateLimitTimes {
        since: Instant::now(),
        at: Mutex::new(Vec::new()),
    })
}

async fn run<V>(
    fake: &FakeServer<V>,
    client: &dyn Provider,
    args: &Args,
    times: &RateLimitTimes,
) -> ExitCode {
    let ideal = WINDOW.mul_f64(f64::from(args.n) / f64::from(args.rate));
    println!(
        "{}: {} invitations, limit {} per {:?}, pacing one request every {:?}{}",
        client.kind(),
        args.n,
        args.rate,
        WINDOW,
        WINDOW / args.rate,
        if args.learn {
            ", learning from headers"
        } else {
            ""
        }
    );
    let started = Instant::now();
    let mut failures = 0;
    for i in 0..args.n {
        let request =
            CreateInvitation::email(fake.organization(), format!("person{i}@example.com"));
        if let Err(error) = client.create_invitation(&request).await {
            eprintln!("invitation {i} failed: {}: {error}", error.kind());
            failures += 1;
        }
    }
    let elapsed = started.elapsed();

    let created = fake.invitations();
    let distinct: HashSet<String> = created
        .iter()
        .filter_map(|invitation| invitation.email.clone())
        .map(|email| email.to_ascii_lowercase())
        .collect();
    let limited = fake.rate_limited_count();
    let mut per_window: BTreeMap<u128, u32> = BTreeMap::new();
    for at in times
        .at
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
    {
        *per_window
            .entry(at.as_nanos() / WINDOW.as_nanos())
            .or_default() += 1;
    }
    let worst = per_window.values().copied().max().unwrap_or(0);
    let windows = elapsed.as_nanos().div_ceil(WINDOW.as_nanos());
    // The first request needs no wait, so N requests take (N - 1) intervals: the sustained
    // rate counts those intervals, and charges the last call's own time against it.
    let reached = f64::from(args.n - 1) / elapsed.as_secs_f64();
    let share = reached / f64::from(args.rate) * 100.0;

    println!(
        "elapsed {:.3} s, ideal N/R {:.3} s; sustained rate (N - 1)/elapsed {reached:.2} invitations/s, {share:.1} % of the limit (target >= 95 %)",
        elapsed.as_secs_f64(),
        ideal.as_secs_f64(),
    );
    println!(
        "rate-limit answers from the fake: {limited} over {windows} window(s); at most {worst} in one window (target <= 1)"
    );
    println!(
        "created {} invitation(s), {} distinct email(s), {} expected; {failures} call(s) failed",
        created.len(),
        distinct.len(),
        args.n
    );
    let met = share >= 95.0 && worst <= 1;
    println!("targets {}", if met { "met" } else { "MISSED" });
    let exact =
        failures == 0 && created.len() == args.n as usize && distinct.len() == created.len();
    if exact {
        println!("every invitation was created exactly once");
        ExitCode::SUCCESS
    } else {
        eprintln!("invitations missing or duplicated");
        ExitCode::FAILURE
    }
}
