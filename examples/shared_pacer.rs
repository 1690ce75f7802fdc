//! Several processes inviting against one vendor limit, with and without a pacer shared
//! through Redis. Real processes, real time, no credentials.
//!
//! ```text
//! cargo run --release --features redis --example shared_pacer -- \
//!     [--processes N] [--per-process M] [--rate R] [--redis URL]
//! ```
//!
//! Starts the testkit's fake GitHub on loopback, limited to `R` requests per one-second
//! window, and a throwaway `redis-server` (unless `--redis` names one; the `redis-server`
//! binary must be installed for that). Then runs the same job twice: `N` copies of this
//! program as child processes, each inviting `M` distinct people five at a time, paced at
//! `Pacing::rate(R, 1 s)`: first each with a pacer of its own, then with pacers sharing one
//! Redis key. For each run it prints the elapsed time against the ideal (bursts of `R` a
//! second apart: `(ceil(N x M / R) - 1)` seconds), the rate-limit answers the fake sent and
//! whether every invitation was created exactly once. Defaults: 4 processes x 25 invitations
//! at 20 per second.
//!
//! Exits non-zero when an invitation is missing or duplicated, or when the shared run
//! collected a rate-limit answer.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};
use orginvite::sleep::TokioSleeper;
use orginvite::testkit::{FakeGitHub, RedisServer};
use orginvite::{CreateInvitation, GitHub, Pacer, Pacing, RedisPacer};

const USAGE: &str =
    "usage: shared_pacer [--processes N] [--per-process M] [--rate R] [--redis URL]";
const WINDOW: Duration = Duration::from_secs(1);
/// Where a child finds the Redis URL.
const REDIS_URL_ENV: &str = "SHARED_PACER_EXAMPLE_REDIS";

struct Args {
    processes: u32,
    per_process: u32,
    rate: u32,
    redis: Option<String>,
}

fn parse_args(given: &[String]) -> Result<Args, String> {
    let mut args = Args {
        processes: 4,
        per_process: 25,
        rate: 20,
        redis: None,
    };
    let mut given = given.iter();
    while let Some(flag) = given.next() {
        let mut value = || given.next().cloned().ok_or(format!("{flag} needs a value"));
        let number = |text: String| {
            text.parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(format!("{flag} takes a positive whole number"))
        };
        match flag.as_str() {
            "--processes" => args.processes = number(value()?)?,
            "--per-process" => args.per_process = number(value()?)?,
            "--rate" => args.rate = number(value()?)?,
            "--redis" => args.redis = Some(value()?),
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let given: Vec<String> = std::env::args().skip(1).collect();
    if given.first().map(String::as_str) == Some("--child") {
        return child(&given[1..]).await;
    }
    let args = match parse_args(&given) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let _server;
    let redis_url = match &args.redis {
        Some(url) => url.clone(),
        None => match RedisServer::start() {
            Ok(server) => {
                let url = server.url();
                _server = server;
                url
            }
            Err(error) => {
                eprintln!("cannot start redis-server ({error}); pass --redis URL");
                return ExitCode::from(2);
            }
        },
    };
    let total = args.processes * args.per_process;
    let ideal = WINDOW * (total.div_ceil(args.rate) - 1);
    println!(
        "{} processes x {} invitations against a limit of {} per {:?}; ideal {:.1} s",
        args.processes,
        args.per_process,
        args.rate,
        WINDOW,
        ideal.as_secs_f64()
    );
    let mut exact = true;
    let mut shared_refused = 0;
    for shared in [false, true] {
        let outcome = run(&args, shared.then_some(redis_url.as_str())).await;
        println!(
            "{:<13} elapsed {:>6.3} s ({:.3}x the ideal), {:>3} rate-limit answers, {} created, {} duplicated, {} failed",
            if shared { "shared pacer" } else { "local pacers" },
            outcome.elapsed.as_secs_f64(),
            outcome.elapsed.as_secs_f64() / ideal.as_secs_f64().max(f64::EPSILON),
            outcome.rate_limited,
            outcome.created,
            outcome.duplicated,
            outcome.failed,
        );
        exact &= outcome.created == total as usize && outcome.duplicated == 0;
        if shared {
            shared_refused = outcome.rate_limited;
        }
    }
    if !exact {
        eprintln!("invitations missing or duplicated");
        return ExitCode::FAILURE;
    }
    if shared_refused > 0 {
        eprintln!("the shared run collected rate-limit answers");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

struct Outcome {
    elapsed: Duration,
    rate_limited: u64,
    created: usize,
    duplicated: usize,
    failed: u32,
}

/// One run: a fresh fake, `processes` children started and told to go at once.
async fn run(args: &Args, redis: Option<&str>) -> Outcome {
    let fake = FakeGitHub::start_with_clock(Arc::new(TokioSleeper)).await;
    let key = format!("shared-pacer-example:{:x}", fastrand::u64(..));
    let program = std::env::current_exe().expect("this program's path");
    let mut children = Vec::new();
    for index in 0..args.processes {
        let mut command = Command::new(&program);
        command
            .args(["--child", &fake.uri(), fake.token(), &key])
            .arg(index.to_string())
            .arg(args.per_process.to_string())
            .arg(args.rate.to_string())
            .arg(if redis.is_some() { "shared" } else { "local" })
            // In the environment, not the arguments: other users can list those.
            .env(REDIS_URL_ENV, redis.unwrap_or_default())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut child = command.spawn().expect("a child process starts");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        // Each child builds its client, then says it is ready.
        let ready = lines.next().and_then(Result::ok);
        assert_eq!(
            ready.as_deref(),
            Some("ready"),
            "child {index} did not start"
        );
        children.push((child, lines));
    }
    fake.rate_limit(args.rate, WINDOW);
    let started = Instant::now();
    for (child, _) in &mut children {
        let stdin = child.stdin.as_mut().expect("piped");
        stdin.write_all(b"go\n").expect("the child listens");
        stdin.flush().expect("the child listens");
    }
    let mut failed = 0;
    let waiting = tokio::task::spawn_blocking(move || {
        let mut failed_total = 0u32;
        for (mut child, mut lines) in children {
            let line = lines.next().and_then(Result::ok).unwrap_or_default();
            failed_total += line
                .strip_prefix("failed ")
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(u32::MAX / 1024);
            let _ = child.wait();
        }
        failed_total
    });
    failed += waiting.await.expect("the children were waited for");
    let elapsed = started.elapsed();
    let invitations = fake.invitations();
    let distinct: HashSet<_> = invitations.iter().map(|i| i.email.clone()).collect();
    Outcome {
        elapsed,
        rate_limited: fake.rate_limited_count(),
        created: distinct.len(),
        duplicated: invitations.len() - distinct.len(),
        failed,
    }
}

/// A child: `--child BASE_URL TOKEN KEY INDEX PER_PROCESS RATE shared|local`, the Redis URL
/// in `SHARED_PACER_EXAMPLE_REDIS`.
async fn child(given: &[String]) -> ExitCode {
    let [base_url, token, key, index, per_process, rate, mode] = given else {
        eprintln!("a child takes seven arguments");
        return ExitCode::from(2);
    };
    let (Ok(per_process), Ok(rate)) = (per_process.parse::<u32>(), rate.parse::<u32>()) else {
        eprintln!("a child's counts are whole numbers");
        return ExitCode::from(2);
    };
    let pacing = Pacing::rate(rate, WINDOW).learn_from_headers(false);
    let pacer = match mode.as_str() {
        "shared" => {
            let url = std::env::var(REDIS_URL_ENV).unwrap_or_default();
            Pacer::redis(RedisPacer::new(url).key(key.as_str()), pacing).expect("a valid Redis URL")
        }
        _ => Pacer::new(pacing),
    };
    let github = GitHub::builder()
        .token(token.as_str())
        .base_url(base_url.as_str())
        .pacer(pacer)
        .build()
        .expect("a valid client");
    println!("ready");
    let mut go = String::new();
    if std::io::stdin().read_line(&mut go).is_err() {
        return ExitCode::FAILURE;
    }
    let failed = stream::iter(0..per_process)
        .map(|i| {
            let request = CreateInvitation::email("acme", format!("p{index}-{i}@example.com"));
            let github = &github;
            async move { github.create_invitation(&request).await }
        })
        .buffer_unordered(5)
        .filter(|outcome| std::future::ready(outcome.is_err()))
        .count()
        .await;
    println!("failed {failed}");
    ExitCode::SUCCESS
}
