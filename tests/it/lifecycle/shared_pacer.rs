//! The pacer shared through Redis (feature `redis`), against a real `redis-server` started on a
//! free loopback port for each test and stopped at its end: several clients with their own
//! `Pacer` values on one key pace as one, in real time, against one limited fake vendor.
//!
//! Without `redis-server` installed these tests say so and pass, unless
//! `ORGINVITE_REQUIRE_REDIS` is set (`.ci/run` installs it and sets that).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures_util::{stream, StreamExt};
use orginvite::testkit::wiremock::matchers::method;
use orginvite::testkit::wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};
use orginvite::testkit::{FakeGitHub, Fault, RedisCluster, RedisServer};

use crate::common::{github_invitation, Captured};
use orginvite::observe::{Observer, RateLimitEvent, WaitCause};
use orginvite::sleep::TokioSleeper;
use orginvite::{
    CreateInvitation, Error, ErrorKind, GitHub, Invitee, Pacer, Pacing, RedisPacer, RetryPolicy,
    WhenUnavailable,
};

/// A throwaway `redis-server`, or `None` (with a note) when none is installed and none is
/// required.
fn redis() -> Option<RedisServer> {
    redis_with(None)
}

/// `Some` when `redis-server` is installed; `None` (with a note) when it is not and it is not
/// required.
fn installed() -> Option<()> {
    if !RedisServer::available() {
        let required = std::env::var_os("ORGINVITE_REQUIRE_REDIS").is_some();
        assert!(
            !required,
            "redis-server is required here (install the redis-server package)"
        );
        eprintln!("skipped: redis-server is not installed");
        return None;
    }
    Some(())
}

fn redis_with(password: Option<&str>) -> Option<RedisServer> {
    installed()?;
    let server = match password {
        Some(password) => RedisServer::start_with_password(password),
        None => RedisServer::start(),
    };
    Some(server.expect("a throwaway redis-server starts"))
}

/// A key of its own for each test, so tests sharing a server could not meet.
fn key(test: &str) -> String {
    format!("test:{test}:{:x}", fastrand::u64(..))
}

fn shared(server: &RedisServer, key: &str, pacing: Pacing) -> Pacer {
    Pacer::redis(RedisPacer::new(server.url()).key(key), pacing).expect("a valid Redis URL")
}

/// Every event a client reported.
#[derive(Debug, Default)]
struct Events(Mutex<Vec<RateLimitEvent>>);

impl Observer for Events {
    fn on_event(&self, event: &RateLimitEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

impl Events {
    fn count(&self, matches: impl Fn(&RateLimitEvent) -> bool) -> usize {
        self.0.lock().unwrap().iter().filter(|e| matches(e)).count()
    }

    fn unavailable(&self) -> usize {
        self.count(|e| matches!(e, RateLimitEvent::SharedPacerUnavailable { .. }))
    }

    fn restored(&self) -> usize {
        self.count(|e| matches!(e, RateLimitEvent::SharedPacerRestored { .. }))
    }

    fn held_for_rate_limit(&self) -> usize {
        self.count(|e| {
            matches!(
                e,
                RateLimitEvent::Waited {
                    cause: WaitCause::RateLimit,
                    ..
                }
            )
        })
    }
}

/// What a run of several clients against one limited fake came to.
struct Run {
    elapsed: Duration,
    rate_limited: u64,
    failed: usize,
}

/// `clients` clients, one pacer each from `pacer`, each inviting `per_client` people with 5
/// requests at a time, against a fake GitHub allowing `limit` requests per second.
async fn run(clients: usize, per_client: usize, limit: u32, pacer: impl Fn() -> Pacer) -> Run {
    let fake = FakeGitHub::start_with_clock(Arc::new(TokioSleeper)).await;
    let providers: Vec<GitHub> = (0..clients)
        .map(|_| {
            fake.client_builder()
                .pacer(pacer())
                .build()
                .expect("a valid client")
        })
        .collect();
    // Each client connects to its pacer's Redis first, with one read, as a running service
    // has: the run times pacing, not a first TLS handshake.
    for provider in &providers {
        provider
            .find_invitation(fake.organization(), &Invitee::email("warm-up@example.com"))
            .await
            .expect("a read before the run");
    }
    // The fake's first window starts now, before the first request.
    fake.rate_limit(limit, Duration::from_secs(1));
    let started = Instant::now();
    let outcomes =
        futures_util::future::join_all(providers.iter().enumerate().map(|(client, provider)| {
            let organization = fake.organization().to_owned();
            stream::iter(0..per_client)
                .map(move |i| {
                    let request = CreateInvitation::email(
                        organization.clone(),
                        format!("c{client}-p{i}@example.com"),
                    );
                    async move { provider.create_invitation(&request).await }
                })
                .buffer_unordered(5)
                .collect::<Vec<_>>()
        }))
        .await;
    let elapsed = started.elapsed();
    let failed = outcomes.iter().flatten().filter(|o| o.is_err()).count();
    let created = fake.invitations();
    let distinct: HashSet<_> = created.iter().map(|i| i.email.clone()).collect();
    assert_eq!(
        distinct.len(),
        created.len(),
        "an invitation was duplicated"
    );
    assert_eq!(created.len(), clients * per_client - failed);
    Run {
        elapsed,
        rate_limited: fake.rate_limited_count(),
        failed,
    }
}

/// A run that went as one client at the limit would: no failure, no rate-limit answer, and
/// within 1.05 times the ideal time (never under it).
fn as_one(together: &Run, ideal: Duration) {
    assert_eq!(together.failed, 0);
    assert_eq!(together.rate_limited, 0, "the fake refused a request");
    assert!(together.elapsed >= ideal, "faster than the limit allows");
    assert!(
        together.elapsed <= ideal.mul_f64(1.05),
        "took {:?}, over 1.05 x the ideal {ideal:?}",
        together.elapsed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_clients_on_one_key_never_exceed_the_vendors_window() {
    let Some(server) = redis() else { return };
    const LIMIT: u32 = 20;
    const PER_CLIENT: usize = 25;
    let pacing = Pacing::rate(LIMIT, Duration::from_secs(1)).learn_from_headers(false);
    let key = key("four");
    let together = run(4, PER_CLIENT, LIMIT, || {
        shared(&server, &key, pacing.clone())
    })
    .await;
    // 100 requests at 20 in any second: bursts at 0, 1, 2, 3 and 4 s.
    let ideal = Duration::from_secs(4);
    println!(
        "shared pacer: 4 clients x {PER_CLIENT} at {LIMIT}/s: {:.3} s (ideal {:.1} s, {:.3}x), {} rate-limit answers",
        together.elapsed.as_secs_f64(),
        ideal.as_secs_f64(),
        together.elapsed.as_secs_f64() / ideal.as_secs_f64(),
        together.rate_limited
    );
    as_one(&together, ideal);

    // The same clients with pacers of their own: each keeps to the limit, together they go
    // four times over it.
    let apart = run(4, PER_CLIENT, LIMIT, || Pacer::new(pacing.clone())).await;
    println!(
        "local pacers: 4 clients x {PER_CLIENT} at {LIMIT}/s each: {:.3} s, {} rate-limit answers, {} calls failed",
        apart.elapsed.as_secs_f64(),
        apart.rate_limited,
        apart.failed
    );
    assert!(
        apart.rate_limited >= u64::from(LIMIT),
        "independent pacers should overshoot the shared window"
    );
}

/// Answers invitations with 201, except that the first request for `a@example.com` gets a
/// 429 asking to wait 2 s; records when each request arrived.
#[derive(Clone, Default)]
struct Arrivals(Arc<Mutex<Vec<(String, SystemTime)>>>);

impl Arrivals {
    fn of(&self, email: &str) -> Vec<SystemTime> {
        let seen = self.0.lock().unwrap();
        seen.iter()
            .filter(|(e, _)| e == email)
            .map(|(_, at)| *at)
            .collect()
    }
}

/// The official invitation example for `email`, with an id of its own.
fn invitation_body(email: &str) -> serde_json::Value {
    github_invitation(u64::from(fastrand::u32(..)), email, None)
}

struct HoldThenCreate {
    arrivals: Arrivals,
    /// The headers for `a@example.com`'s first answer.
    first: Box<dyn Fn() -> ResponseTemplate + Send + Sync>,
}

impl Respond for HoldThenCreate {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let email = body["email"].as_str().unwrap_or_default().to_owned();
        let mut seen = self.arrivals.0.lock().unwrap();
        let first = email == "a@example.com" && !seen.iter().any(|(e, _)| *e == email);
        seen.push((email.clone(), SystemTime::now()));
        drop(seen);
        if first {
            (self.first)()
        } else {
            ResponseTemplate::new(201).set_body_json(invitation_body(&email))
        }
    }
}

/// Answers invitations with 201 after `.1`, recording when each request arrived.
struct SlowCreate(Arrivals, Duration);

impl Respond for SlowCreate {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        let email = body["email"].as_str().unwrap().to_owned();
        self.0
             .0
            .lock()
            .unwrap()
            .push((email.clone(), SystemTime::now()));
        ResponseTemplate::new(201)
            .set_delay(self.1)
            .set_body_json(invitation_body(&email))
    }
}

/// How long the one-in-flight test's vendor takes to answer.
const ANSWER_DELAY: Duration = Duration::from_millis(60);

fn client(server: &MockServer, pacer: Pacer, events: Arc<Events>) -> GitHub {
    GitHub::builder()
        .token("ghp_shared")
        .base_url(server.uri())
        .pacer(pacer)
        .observer(events)
        .build()
        .expect("a valid client")
}

/// Starts client A's call, waits until its first request arrived, then runs one invitation on
/// each of three other clients sharing its key; returns when each of the three arrived, and
/// their events.
async fn others_after_a(
    server: &RedisServer,
    pacing: Pacing,
    first: Box<dyn Fn() -> ResponseTemplate + Send + Sync>,
) -> (Arrivals, Vec<Arc<Events>>) {
    let vendor = MockServer::start().await;
    let arrivals = Arrivals::default();
    Mock::given(method("POST"))
        .respond_with(HoldThenCreate {
            arrivals: arrivals.clone(),
            first,
        })
        .mount(&vendor)
        .await;
    let key = key("hold");
    let a_events = Arc::new(Events::default());
    let a = client(
        &vendor,
        shared(server, &key, pacing.clone()),
        a_events.clone(),
    );
    let a_call = tokio::spawn(async move {
        a.create_invitation(&CreateInvitation::email("acme", "a@example.com"))
            .await
    });
    // A has told Redis once it reports its retry (after a 429), or once its call is over
    // (after a success whose headers taught it something).
    until(|| {
        a_events.count(|e| matches!(e, RateLimitEvent::Retried { .. })) > 0 || a_call.is_finished()
    })
    .await;
    let events: Vec<Arc<Events>> = (0..3).map(|_| Arc::default()).collect();
    let others = events.iter().enumerate().map(|(i, events)| {
        let provider = client(
            &vendor,
            shared(server, &key, pacing.clone()),
            events.clone(),
        );
        async move {
            provider
                .create_invitation(&CreateInvitation::email(
                    "acme",
                    format!("other{i}@example.com"),
                ))
                .await
        }
    });
    for outcome in futures_util::future::join_all(others).await {
        outcome.expect("the others' invitations");
    }
    a_call
        .await
        .unwrap()
        .expect("A's invitation, after its wait");
    (arrivals, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_clients_rate_limit_answer_holds_the_other_three() {
    let Some(server) = redis() else { return };
    let (arrivals, events) = others_after_a(
        &server,
        Pacing::off(),
        Box::new(|| {
            ResponseTemplate::new(429)
                .insert_header("retry-after", "2")
                .set_body_json(serde_json::json!({"message": "API rate limit exceeded"}))
        }),
    )
    .await;
    let refused = arrivals.of("a@example.com")[0];
    for i in 0..3 {
        let at = arrivals.of(&format!("other{i}@example.com"));
        assert_eq!(at.len(), 1);
        let after = at[0].duration_since(refused).unwrap();
        assert!(
            after >= Duration::from_millis(1990),
            "client {i} started {after:?} after the 429 that asked for 2 s"
        );
        assert!(
            after < Duration::from_secs(3),
            "client {i} waited {after:?}"
        );
    }
    // A retried once, after the same wait.
    let a = arrivals.of("a@example.com");
    assert_eq!(a.len(), 2);
    assert!(a[1].duration_since(a[0]).unwrap() >= Duration::from_millis(1990));
    for events in &events {
        assert_eq!(events.held_for_rate_limit(), 1, "{:?}", events.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_learned_from_one_clients_headers_holds_the_others() {
    let Some(server) = redis() else { return };
    // A's answer says the window is spent until the next whole second after 2 s from now.
    let reset = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2;
    let (arrivals, events) = others_after_a(
        &server,
        Pacing::off(),
        Box::new(move || {
            ResponseTemplate::new(201)
                .insert_header("x-ratelimit-limit", "5000")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str())
                .set_body_json(invitation_body("a@example.com"))
        }),
    )
    .await;
    let reset = SystemTime::UNIX_EPOCH + Duration::from_secs(reset);
    for i in 0..3 {
        let at = arrivals.of(&format!("other{i}@example.com"))[0];
        assert!(
            at >= reset,
            "client {i} started {:?} before the reset A's answer announced",
            reset.duration_since(at).unwrap()
        );
    }
    assert_eq!(arrivals.of("a@example.com").len(), 1);
    for events in &events {
        assert_eq!(events.held_for_rate_limit(), 1, "{:?}", events.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spacing_and_serialized_turns_span_every_client() {
    let Some(server) = redis() else { return };
    // Three clients, four invitations each, all at once: one request at a time with 100 ms
    // between starts across the three.
    let fake = FakeGitHub::start_with_clock(Arc::new(TokioSleeper)).await;
    let key = key("serial");
    let providers: Vec<GitHub> = (0..3)
        .map(|_| {
            fake.client_builder()
                .pacer(shared(
                    &server,
                    &key,
                    Pacing::serial(Duration::from_millis(100)),
                ))
                .build()
                .unwrap()
        })
        .collect();
    let started = Instant::now();
    let calls = providers.iter().enumerate().flat_map(|(client, provider)| {
        (0..4).map(move |i| async move {
            let request = CreateInvitation::email("acme", format!("s{client}-{i}@example.com"));
            let begun = Instant::now();
            provider.create_invitation(&request).await.map(|_| begun)
        })
    });
    let outcomes = futures_util::future::join_all(calls).await;
    let elapsed = started.elapsed();
    assert!(outcomes.iter().all(Result::is_ok));
    assert_eq!(fake.invitations().len(), 12);
    // Eleven gaps of 100 ms (less a timer's slack of at most 10 ms each).
    assert!(
        elapsed >= Duration::from_millis(1100 - 110),
        "12 serialized requests 100 ms apart took only {elapsed:?}"
    );
    assert!(elapsed < Duration::from_millis(1600), "took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serialized_turn_is_one_request_in_flight_across_clients() {
    let Some(server) = redis() else { return };
    // Every answer comes 60 ms after its request: with one request in flight at a time across
    // the clients, no request arrives sooner than 60 ms after the one before.
    let vendor = MockServer::start().await;
    let arrivals = Arrivals::default();
    Mock::given(method("POST"))
        .respond_with(SlowCreate(arrivals.clone(), ANSWER_DELAY))
        .mount(&vendor)
        .await;
    let key = key("one-in-flight");
    // A 5 s budget per call, shorter than the 10 s lease: waiting for another process's turn
    // is judged by when it comes back, not by the lease's length.
    let providers: Vec<GitHub> = (0..3)
        .map(|_| {
            GitHub::builder()
                .token("ghp_shared")
                .base_url(vendor.uri())
                .pacer(shared(&server, &key, Pacing::serial(Duration::ZERO)))
                .retry_policy(RetryPolicy::default().max_elapsed(Duration::from_secs(5)))
                .build()
                .unwrap()
        })
        .collect();
    let calls = providers.iter().enumerate().flat_map(|(c, provider)| {
        (0..3).map(move |i| async move {
            provider
                .create_invitation(&CreateInvitation::email(
                    "acme",
                    format!("f{c}-{i}@example.com"),
                ))
                .await
        })
    });
    for outcome in futures_util::future::join_all(calls).await {
        outcome.expect("each invitation");
    }
    let mut at: Vec<SystemTime> = arrivals
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(_, at)| *at)
        .collect();
    at.sort();
    assert_eq!(at.len(), 9);
    for pair in at.windows(2) {
        let gap = pair[1].duration_since(pair[0]).unwrap();
        assert!(
            gap >= Duration::from_millis(60),
            "two requests in flight at once: {gap:?} apart"
        );
    }
    // Each turn was given back at once: none is left held.
    let mut connection = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let lease: Option<String> = redis::cmd("GET")
        .arg(format!("{{{key}}}:lease"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(lease, None);
    // The pacer's keys are where that looked: its spacing is there, under the hash tag.
    let next: Option<String> = redis::cmd("GET")
        .arg(format!("{{{key}}}:next"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(next.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spacing_learned_from_one_clients_headers_spaces_the_others_reads_too() {
    let Some(server) = redis() else { return };
    // A's answer: 9 of 100 left until the next whole second; with the pacer's margin of 1 s
    // that spreads 9 requests over 1 to 2 s: at least 111 ms apart.
    let reset = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    let vendor = MockServer::start().await;
    let arrivals = Arrivals::default();
    Mock::given(method("POST"))
        .respond_with(HoldThenCreate {
            arrivals: arrivals.clone(),
            first: Box::new(move || {
                ResponseTemplate::new(201)
                    .insert_header("x-ratelimit-limit", "100")
                    .insert_header("x-ratelimit-remaining", "9")
                    .insert_header("x-ratelimit-reset", reset.to_string().as_str())
                    .set_body_json(invitation_body("a@example.com"))
            }),
        })
        .mount(&vendor)
        .await;
    struct Listed(Arrivals);
    impl Respond for Listed {
        fn respond(&self, _: &Request) -> ResponseTemplate {
            self.0
                 .0
                .lock()
                .unwrap()
                .push(("list".to_owned(), SystemTime::now()));
            ResponseTemplate::new(200).set_body_json(serde_json::json!([]))
        }
    }
    Mock::given(method("GET"))
        .respond_with(Listed(arrivals.clone()))
        .mount(&vendor)
        .await;
    let key = key("learned");
    let a = client(
        &vendor,
        shared(&server, &key, Pacing::off()),
        Arc::default(),
    );
    a.create_invitation(&CreateInvitation::email("acme", "a@example.com"))
        .await
        .unwrap();
    // B never saw a header: it paces by what A learned, for invitations and reads alike.
    let b = client(
        &vendor,
        shared(&server, &key, Pacing::off()),
        Arc::default(),
    );
    b.create_invitation(&CreateInvitation::email("acme", "b1@example.com"))
        .await
        .unwrap();
    assert_eq!(
        b.find_invitation("acme", &Invitee::email("nobody@example.com"))
            .await
            .unwrap(),
        None
    );
    b.create_invitation(&CreateInvitation::email("acme", "b2@example.com"))
        .await
        .unwrap();
    let b1 = arrivals.of("b1@example.com")[0];
    let list = arrivals.of("list")[0];
    let b2 = arrivals.of("b2@example.com")[0];
    for (earlier, later, what) in [(b1, list, "the read"), (list, b2, "the second invitation")] {
        let gap = later.duration_since(earlier).unwrap();
        assert!(
            gap >= Duration::from_millis(100),
            "{what} came {gap:?} after the request before it"
        );
    }
}

/// Waits (in real time, 20 s at most) until `condition` holds.
async fn until(condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_run_falls_back_locally_and_sharing_resumes_when_it_returns() {
    let Some(mut server) = redis() else { return };
    let fake = FakeGitHub::start_with_clock(Arc::new(TokioSleeper)).await;
    let key = key("outage");
    let pacing = Pacing::serial(Duration::from_millis(20)).learn_from_headers(false);
    let events: Vec<Arc<Events>> = (0..2).map(|_| Arc::default()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = events
        .iter()
        .enumerate()
        .map(|(client, events)| {
            let provider = fake
                .client_builder()
                .pacer(shared(&server, &key, pacing.clone()))
                .observer(events.clone())
                .build()
                .unwrap();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut outcomes: Vec<Result<(), Error>> = Vec::new();
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    let request =
                        CreateInvitation::email("acme", format!("o{client}-{i}@example.com"));
                    outcomes.push(provider.create_invitation(&request).await.map(drop));
                    i += 1;
                }
                outcomes
            })
        })
        .collect();
    let created = || fake.invitations().len();
    until(|| created() >= 10).await;
    server.stop();
    until(|| events.iter().all(|e| e.unavailable() == 1)).await;
    let during_outage = created();
    until(|| created() >= during_outage + 20).await;
    server.restart().expect("redis-server restarts");
    until(|| events.iter().all(|e| e.restored() == 1)).await;
    let after = created();
    until(|| created() >= after + 10).await;
    stop.store(true, Ordering::SeqCst);
    let mut calls = 0;
    for worker in workers {
        for outcome in worker.await.expect("no panic") {
            outcome.expect("every invitation succeeds through the outage");
            calls += 1;
        }
    }
    // One invitation per call, none twice.
    let invitations = fake.invitations();
    let distinct: HashSet<_> = invitations.iter().map(|i| i.email.clone()).collect();
    assert_eq!(invitations.len(), calls);
    assert_eq!(distinct.len(), calls);
    for events in &events {
        // Reported once per outage, not per call (the outage spanned 20 or more); a stall
        // of the loaded machine could add one more outage and its end.
        let (unavailable, restored) = (events.unavailable(), events.restored());
        assert!(
            (1..=2).contains(&unavailable),
            "{unavailable} outages reported"
        );
        assert!(restored >= 1 && unavailable - restored <= 1);
    }
    // The restarted server (no scripts cached, no keys) paces again: the scripts were loaded
    // anew and keep its state.
    let mut connection = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let next: Option<u64> = redis::cmd("GET")
        .arg(format!("{{{key}}}:next"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(
        next.is_some(),
        "the restarted Redis holds the shared spacing"
    );
}

// On one thread: the log capture sees every task.
#[tokio::test]
async fn failing_closed_sends_nothing_while_redis_is_down_and_uses_it_again_when_back() {
    const PASSWORD: &str = "canary-7f3a9d1c-redis-password";
    let Some(mut server) = redis_with(Some(PASSWORD)) else {
        return;
    };
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(captured.subscriber(tracing::Level::TRACE));

    let fake = FakeGitHub::start_with_clock(Arc::new(TokioSleeper)).await;
    let config = RedisPacer::new(server.url())
        .key(key("closed"))
        .when_unavailable(WhenUnavailable::FailClosed);
    let pacer = Pacer::redis(config.clone(), Pacing::off()).unwrap();
    let github = fake.client_builder().pacer(pacer.clone()).build().unwrap();
    let invite = |email: &str| CreateInvitation::email("acme", email);
    github
        .create_invitation(&invite("up@example.com"))
        .await
        .unwrap();

    server.stop();
    let started = Instant::now();
    let error = github
        .create_invitation(&invite("down@example.com"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "bounded by the timeout"
    );
    assert!(matches!(error, Error::PacerUnavailable { .. }), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::PacerUnavailable);
    assert_eq!(error.kind().as_str(), "pacer_unavailable");
    assert!(error.nothing_sent());
    assert!(!error.may_have_been_created());
    let posts = |requests: Vec<Request>| {
        requests
            .iter()
            .filter(|r| r.method.as_str() == "POST")
            .count()
    };
    assert_eq!(
        posts(fake.requests().await),
        1,
        "nothing sent while Redis was down"
    );

    server.restart().unwrap();
    github
        .create_invitation(&invite("back@example.com"))
        .await
        .expect("the same client uses Redis again");
    assert_eq!(posts(fake.requests().await), 2);

    // A wrong password: refused by Redis, and neither password shows anywhere.
    let wrong = RedisPacer::new(format!(
        "redis://:wrong-{PASSWORD}@127.0.0.1:{}/",
        server.port()
    ))
    .key(key("closed"))
    .when_unavailable(WhenUnavailable::FailClosed);
    let refused = fake
        .client_builder()
        .pacer(Pacer::redis(wrong.clone(), Pacing::off()).unwrap())
        .build()
        .unwrap();
    let auth_error = refused
        .create_invitation(&invite("auth@example.com"))
        .await
        .unwrap_err();
    assert_eq!(auth_error.kind(), ErrorKind::PacerUnavailable);
    let bad_url = Pacer::redis(
        RedisPacer::new(format!("nosuch://:{PASSWORD}@x")),
        Pacing::off(),
    )
    .unwrap_err();
    assert_eq!(bad_url.kind(), ErrorKind::InvalidConfig);

    // Falling back locally logs a warning: without the password too.
    let fallback = fake
        .client_builder()
        .pacer(
            Pacer::redis(
                wrong.clone().when_unavailable(WhenUnavailable::PaceLocally),
                Pacing::off(),
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    fallback
        .create_invitation(&invite("fallback@example.com"))
        .await
        .unwrap();

    let shown = format!(
        "{config:?} {pacer:?} {github:?} {error} {error:?} {auth_error} {auth_error:?} {bad_url} {bad_url:?} {wrong:?} {server:?} {}",
        captured.text()
    );
    assert!(shown.contains("cannot be reached"), "{shown}");
    assert!(
        !shown.contains(PASSWORD),
        "the Redis password leaked: {shown}"
    );
}

#[tokio::test]
async fn an_unreachable_redis_fails_closed_within_the_timeout() {
    // Nothing listens on this port: connections are refused at once; the timeout bounds a
    // Redis that never answers.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let fake = FakeGitHub::start_with_clock(Arc::new(TokioSleeper)).await;
    let pacer = Pacer::redis(
        RedisPacer::new(format!("redis://127.0.0.1:{port}/"))
            .timeout(Duration::from_millis(200))
            .when_unavailable(WhenUnavailable::FailClosed),
        Pacing::off(),
    )
    .unwrap();
    let github = fake.client_builder().pacer(pacer).build().unwrap();
    let started = Instant::now();
    let error = github
        .create_invitation(&CreateInvitation::email("acme", "x@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PacerUnavailable);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(fake.requests().await.is_empty());

    // A Redis that accepts the connection and never answers: bounded by the timeout too.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let _hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let pacer = Pacer::redis(
        RedisPacer::new(format!("redis://127.0.0.1:{port}/"))
            .timeout(Duration::from_millis(200))
            .when_unavailable(WhenUnavailable::FailClosed),
        Pacing::off(),
    )
    .unwrap();
    let github = fake.client_builder().pacer(pacer).build().unwrap();
    let started = Instant::now();
    let error = github
        .create_invitation(&CreateInvitation::email("acme", "y@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PacerUnavailable);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(fake.requests().await.is_empty());
}

/// The child process of the crash test: takes a serialized turn and holds it in a request the
/// fake never answers, until the parent kills it. Does nothing unless the parent started it.
#[tokio::test]
#[ignore = "run by a_crashed_holder_of_a_serialized_turn_blocks_the_others_no_longer_than_its_lease"]
async fn crash_test_child_holding_a_turn() {
    let Ok(setup) = std::env::var("ORGINVITE_CRASH_CHILD") else {
        return;
    };
    let [redis_url, base_url, token, key]: [&str; 4] =
        setup.split('\n').collect::<Vec<_>>().try_into().unwrap();
    let pacer = Pacer::redis(
        RedisPacer::new(redis_url)
            .key(key)
            .lease(Duration::from_secs(1)),
        Pacing::serial(Duration::ZERO),
    )
    .unwrap();
    let github = GitHub::builder()
        .token(token)
        .base_url(base_url)
        .pacer(pacer)
        .timeout(Some(Duration::from_secs(120)))
        .build()
        .unwrap();
    let _ = github
        .create_invitation(&CreateInvitation::email("acme", "crashed@example.com"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_holder_of_a_serialized_turn_blocks_the_others_no_longer_than_its_lease() {
    let Some(server) = redis() else { return };
    let fake = FakeGitHub::start_with_clock(Arc::new(TokioSleeper)).await;
    // The child's request is answered only after a minute: it holds its turn until killed.
    fake.inject(Fault::Delay(Duration::from_secs(60)));
    let key = key("crash");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "lifecycle::shared_pacer::crash_test_child_holding_a_turn",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(
            "ORGINVITE_CRASH_CHILD",
            [server.url().as_str(), &fake.uri(), fake.token(), &key].join("\n"),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while fake.requests().await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the child never sent its request"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The child holds the turn and renews its lease while its request is in flight: crash it.
    child.kill().unwrap();
    child.wait().unwrap();
    let seen = Instant::now();

    let github = fake
        .client_builder()
        .pacer(
            Pacer::redis(
                RedisPacer::new(server.url())
                    .key(&key)
                    .lease(Duration::from_secs(1)),
                Pacing::serial(Duration::ZERO),
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    github
        .create_invitation(&CreateInvitation::email("acme", "next@example.com"))
        .await
        .expect("the turn is free once the lease runs out");
    let waited = seen.elapsed();
    println!("the next turn came {waited:?} after the crashed holder died");
    // The lease (1 s), renewed last at most a third of it before the crash, ran out by itself;
    // the waiter looks every 20 ms.
    assert!(
        waited <= Duration::from_millis(1150),
        "blocked for {waited:?}"
    );
    assert!(
        waited >= Duration::from_millis(500),
        "the crashed holder's turn should have blocked for most of its lease; waited {waited:?}"
    );
    assert_eq!(fake.invitations().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_slower_than_the_lease_keeps_its_turn() {
    let Some(server) = redis() else { return };
    // A 300 ms lease and answers that take 1 s: the holder renews its lease while waiting, so
    // the other client's request waits for the answer, not for the lease.
    let vendor = MockServer::start().await;
    let arrivals = Arrivals::default();
    Mock::given(method("POST"))
        .respond_with(SlowCreate(arrivals.clone(), Duration::from_secs(1)))
        .mount(&vendor)
        .await;
    let key = key("renewed");
    let pacer = || {
        Pacer::redis(
            RedisPacer::new(server.url())
                .key(&key)
                .lease(Duration::from_millis(300)),
            Pacing::serial(Duration::ZERO),
        )
        .unwrap()
    };
    let (a, b) = (
        client(&vendor, pacer(), Arc::default()),
        client(&vendor, pacer(), Arc::default()),
    );
    let for_a = CreateInvitation::email("acme", "a@example.com");
    let (first, second) = tokio::join!(a.create_invitation(&for_a), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        b.create_invitation(&CreateInvitation::email("acme", "b@example.com"))
            .await
    });
    first.unwrap();
    second.unwrap();
    let gap = arrivals.of("b@example.com")[0]
        .duration_since(arrivals.of("a@example.com")[0])
        .unwrap();
    assert!(
        gap >= Duration::from_secs(1),
        "b was sent {gap:?} after a, before a's answer"
    );
}

/// A throwaway `redis-server` listening with TLS too, or `None` as [`redis`] says.
fn redis_tls() -> Option<RedisServer> {
    installed()?;
    Some(RedisServer::start_tls().expect("a throwaway redis-server with TLS starts"))
}

/// A pacer on `server`'s TLS port, trusting its authority.
fn over_tls(server: &RedisServer, key: &str, pacing: Pacing) -> Pacer {
    let config = RedisPacer::new(server.tls_url().unwrap())
        .ca_pem(server.ca_pem().unwrap())
        .key(key);
    Pacer::redis(config, pacing).expect("valid TLS settings")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_clients_pace_as_one_over_tls() {
    let Some(server) = redis_tls() else { return };
    let pacing = Pacing::rate(20, Duration::from_secs(1)).learn_from_headers(false);
    let key = key("tls");
    let together = run(4, 25, 20, || over_tls(&server, &key, pacing.clone())).await;
    println!(
        "shared pacer over TLS: 4 clients x 25 at 20/s: {:.3} s, {} rate-limit answers",
        together.elapsed.as_secs_f64(),
        together.rate_limited
    );
    as_one(&together, Duration::from_secs(4));
    // The keys are on the server, under the pacer's hash tag.
    let reply = server
        .command(&["EXISTS", &format!("{{{key}}}:starts")])
        .unwrap();
    assert_eq!(reply.trim(), ":1");
}

#[tokio::test]
async fn a_server_that_requires_client_certificates_takes_the_one_given_and_refuses_none() {
    if installed().is_none() {
        return;
    }
    let server = RedisServer::start_mutual_tls().unwrap();
    let fake = FakeGitHub::start_with_clock(Arc::new(TokioSleeper)).await;
    let config = RedisPacer::new(server.tls_url().unwrap())
        .ca_pem(server.ca_pem().unwrap())
        .key(key("mtls"))
        .when_unavailable(WhenUnavailable::FailClosed);
    let client = |config: RedisPacer| {
        fake.client_builder()
            .pacer(Pacer::redis(config, Pacing::off()).unwrap())
            .build()
            .unwrap()
    };

    // Without a certificate: refused, nothing sent.
    let error = client(config.clone())
        .create_invitation(&CreateInvitation::email("acme", "none@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PacerUnavailable);
    assert!(fake.requests().await.is_empty());

    // With the one the server trusts: paced through it.
    let (certificate, client_key) = server.client_certificate().unwrap();
    let config = config.client_certificate(certificate, client_key);
    assert!(!format!("{config:?}").contains("PRIVATE KEY"));
    client(config)
        .create_invitation(&CreateInvitation::email("acme", "mtls@example.com"))
        .await
        .expect("paced through mutual TLS");
    assert_eq!(fake.invitations().len(), 1);
}

#[tokio::test]
async fn a_server_certificate_from_another_authority_is_refused_by_name() {
    let Some(server) = redis_tls() else { return };
    let other = RedisServer::start_tls().unwrap();
    let fake = FakeGitHub::start_with_clock(Arc::new(TokioSleeper)).await;
    let wrong_authority = |when: WhenUnavailable| {
        let config = RedisPacer::new(server.tls_url().unwrap())
            .ca_pem(other.ca_pem().unwrap())
            .key(key("untrusted"))
            .when_unavailable(when);
        fake.client_builder()
            .pacer(Pacer::redis(config, Pacing::off()).unwrap())
            .build()
            .unwrap()
    };

    // Failing closed: a typed error naming the reason, and nothing sent.
    let closed = wrong_authority(WhenUnavailable::FailClosed);
    let error = closed
        .create_invitation(&CreateInvitation::email("acme", "closed@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PacerUnavailable);
    let message = error.to_string();
    assert!(message.contains("TLS handshake failed"), "{message}");
    assert!(message.contains("UnknownIssuer"), "{message}");
    assert!(error.nothing_sent());
    assert!(fake.requests().await.is_empty());

    // Falling back: the local pacer, and one warning for the outage, not one per request.
    let events = Arc::new(Events::default());
    let config = RedisPacer::new(server.tls_url().unwrap())
        .ca_pem(other.ca_pem().unwrap())
        .key(key("untrusted"));
    let fallback = fake
        .client_builder()
        .pacer(Pacer::redis(config, Pacing::off()).unwrap())
        .observer(events.clone())
        .build()
        .unwrap();
    for n in 0..3 {
        fallback
            .create_invitation(&CreateInvitation::email(
                "acme",
                format!("open{n}@example.com"),
            ))
            .await
            .expect("paced locally");
    }
    assert_eq!(events.unavailable(), 1);
    assert_eq!(fake.invitations().len(), 3);

    // Plain text is never tried instead: a CA with a redis:// URL is refused when built.
    let plain = Pacer::redis(
        RedisPacer::new(server.url()).ca_pem(server.ca_pem().unwrap()),
        Pacing::off(),
    )
    .unwrap_err();
    assert_eq!(plain.kind(), ErrorKind::InvalidConfig);
    assert!(plain.to_string().contains("not rediss://"), "{plain}");
    let garbage = Pacer::redis(
        RedisPacer::new(server.tls_url().unwrap()).ca_pem("not a certificate"),
        Pacing::off(),
    )
    .unwrap_err();
    assert_eq!(garbage.kind(), ErrorKind::InvalidConfig);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acl_user_with_the_documented_rules_runs_the_pacer_and_one_without_evalsha_is_told() {
    const PASSWORD: &str = "canary-acl-5d1e-password";
    let Some(server) = redis() else { return };
    let url = server
        .add_user("pacer", PASSWORD, RedisPacer::ACL_RULES)
        .unwrap();
    let key = format!("orginvite:{}", key("acl"));
    let pacing = Pacing::rate(20, Duration::from_secs(1)).learn_from_headers(false);
    let shared = |url: &str| {
        Pacer::redis(
            RedisPacer::new(url)
                .key(key.clone())
                .when_unavailable(WhenUnavailable::FailClosed),
            pacing.clone(),
        )
        .unwrap()
    };
    // Two clients, 30 invitations at 20/s: every script runs as that user, failing closed.
    let together = run(2, 15, 20, || shared(&url)).await;
    as_one(&together, Duration::from_secs(1));
    let reply = server
        .command(&["EXISTS", &format!("{{{key}}}:starts")])
        .unwrap();
    assert_eq!(reply.trim(), ":1");

    // Without EVALSHA: refused, with the command named, the password nowhere.
    let rules = RedisPacer::ACL_RULES.replace("+evalsha", "");
    let url = server.add_user("no-scripts", PASSWORD, &rules).unwrap();
    let fake = FakeGitHub::start_with_clock(Arc::new(TokioSleeper)).await;
    let github = fake.client_builder().pacer(shared(&url)).build().unwrap();
    let error = github
        .create_invitation(&CreateInvitation::email("acme", "noperm@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PacerUnavailable);
    let message = format!("{error} {error:?}");
    assert!(message.contains("evalsha"), "{message}");
    assert!(message.contains("may not run"), "{message}");
    assert!(!message.contains(PASSWORD), "{message}");
    assert!(
        !message.contains("no-scripts"),
        "the user name showed: {message}"
    );
    assert!(fake.requests().await.is_empty());
}

/// A throwaway three-master Redis Cluster, or `None` as [`redis`] says.
fn redis_cluster() -> Option<RedisCluster> {
    installed()?;
    Some(RedisCluster::start(3).expect("a throwaway Redis Cluster starts"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_clients_pace_as_one_on_a_cluster_and_survive_the_loss_of_its_master() {
    let Some(mut cluster) = redis_cluster() else {
        return;
    };
    let pacing = Pacing::rate(20, Duration::from_secs(1)).learn_from_headers(false);
    let key = key("cluster");
    let events: Vec<Arc<Events>> = (0..4).map(|_| Arc::new(Events::default())).collect();
    let seeds = cluster.urls();
    let on_cluster = |when: WhenUnavailable| {
        Pacer::redis(
            RedisPacer::cluster(seeds.clone())
                .key(key.clone())
                .when_unavailable(when),
            pacing.clone(),
        )
        .expect("valid cluster seeds")
    };
    let together = run(4, 25, 20, || on_cluster(WhenUnavailable::PaceLocally)).await;
    println!(
        "shared pacer on a 3-master cluster: 4 clients x 25 at 20/s: {:.3} s, {} rate-limit answers",
        together.elapsed.as_secs_f64(),
        together.rate_limited
    );
    as_one(&together, Duration::from_secs(4));
    // Every key of the pacer is on the master of its hash tag's slot.
    let node = cluster.node_of(&format!("{{{key}}}")).unwrap();
    let reply = cluster
        .command(node, &["EXISTS", &format!("{{{key}}}:starts")])
        .unwrap();
    assert_eq!(reply.trim(), ":1");

    // That master dies between two rounds of the clients' invitations: they pace locally
    // (each reports the outage), nothing panics, nothing is invited twice, and sharing
    // resumes when the node is back.
    let fake = FakeGitHub::start_with_clock(Arc::new(TokioSleeper)).await;
    let clients: Vec<GitHub> = events
        .iter()
        .map(|events| {
            fake.client_builder()
                .pacer(on_cluster(WhenUnavailable::PaceLocally))
                .observer(events.clone())
                .build()
                .unwrap()
        })
        .collect();
    let invite_round = |round: usize| {
        let clients = &clients;
        async move {
            futures_util::future::join_all(clients.iter().enumerate().map(
                |(c, client)| async move {
                    client
                        .create_invitation(&CreateInvitation::email(
                            "acme",
                            format!("r{round}-c{c}@example.com"),
                        ))
                        .await
                },
            ))
            .await
        }
    };
    assert!(invite_round(0).await.iter().all(Result::is_ok));
    cluster.stop_node(node);
    assert!(invite_round(1).await.iter().all(Result::is_ok));
    cluster.restart_node(node).unwrap();
    // The cluster serves the slot again; the clients come back to it within a few rounds.
    let mut round = 2;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(invite_round(round).await.iter().all(Result::is_ok));
        round += 1;
        let back = events.iter().all(|events| events.restored() >= 1);
        let shared = cluster
            .command(node, &["EXISTS", &format!("{{{key}}}:starts")])
            .unwrap();
        if back && shared.trim() == ":1" {
            break;
        }
        assert!(Instant::now() < deadline, "sharing did not resume");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for events in &events {
        assert!(events.unavailable() >= 1);
    }
    let created = fake.invitations();
    let distinct: HashSet<_> = created.iter().map(|i| i.email.clone()).collect();
    assert_eq!(
        distinct.len(),
        created.len(),
        "an invitation was duplicated"
    );
    assert_eq!(created.len(), 4 * round);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acl_user_with_the_documented_rules_runs_the_pacer_on_a_cluster() {
    let Some(cluster) = redis_cluster() else {
        return;
    };
    let seeds = cluster
        .add_user(
            "pacer",
            "canary-cluster-acl-password",
            RedisPacer::ACL_RULES,
        )
        .unwrap();
    let key = format!("orginvite:{}", key("cluster-acl"));
    let pacing = Pacing::rate(20, Duration::from_secs(1)).learn_from_headers(false);
    let together = run(2, 15, 20, || {
        Pacer::redis(
            RedisPacer::cluster(seeds.clone())
                .key(key.clone())
                .when_unavailable(WhenUnavailable::FailClosed),
            pacing.clone(),
        )
        .unwrap()
    })
    .await;
    // 30 invitations at 20 in any second: the second burst at 1 s.
    as_one(&together, Duration::from_secs(1));
    let node = cluster.node_of(&format!("{{{key}}}")).unwrap();
    let reply = cluster
        .command(node, &["EXISTS", &format!("{{{key}}}:starts")])
        .unwrap();
    assert_eq!(reply.trim(), ":1");
}
