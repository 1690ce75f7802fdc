//! Pacing under load: many concurrent invitations through one client, rate limits mid-run,
//! budgets, and the events a service can export. The sandbox's virtual clock makes it instant.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use orginvite::observe::{Observer, RateLimitEvent, WaitCause};
use orginvite::testkit::Sandbox;
use orginvite::{CreateInvitation, Error, ErrorKind, Pacer, Pacing, RetryPolicy};

const SECS: fn(u64) -> Duration = Duration::from_secs;

#[derive(Debug, Default, Clone)]
struct Events(Arc<Mutex<Vec<RateLimitEvent>>>);

impl Observer for Events {
    fn on_event(&self, event: &RateLimitEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

impl Events {
    fn all(&self) -> Vec<RateLimitEvent> {
        self.0.lock().unwrap().clone()
    }
}

async fn invite_all(
    github: &orginvite::GitHub,
    n: usize,
) -> Vec<Result<orginvite::Invitation, Error>> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let github = github.clone();
            tokio::spawn(async move {
                github
                    .create_invitation(&CreateInvitation::email(
                        "acme",
                        format!("person{i}@example.com"),
                    ))
                    .await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(n);
    for task in tasks {
        results.push(task.await.expect("task finished"));
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_invitations_at_one_per_second_see_no_rate_limit() {
    let (fake, github) = Sandbox::github().await;
    fake.rate_limit(1, SECS(1));
    let results = invite_all(&github, 50).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(fake.rate_limited_count(), 0, "no 403 or 429 answers");

    let created = fake.invitations();
    assert_eq!(created.len(), 50);
    let emails: HashSet<_> = created.iter().map(|i| i.email.clone().unwrap()).collect();
    assert_eq!(emails.len(), 50, "every invitation created exactly once");
    for pair in created.windows(2) {
        let gap = pair[1].created_at.duration_since(pair[0].created_at);
        assert!(
            gap >= jiff::SignedDuration::from_secs(1),
            "requests {gap:?} apart"
        );
    }
    assert_eq!(fake.requests().await.len(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_hit_mid_run_is_waited_out_once_per_window() {
    let (fake, _) = Sandbox::github().await;
    let events = Events::default();
    let github = fake
        .client_builder()
        .retry_policy(RetryPolicy::default().jitter(false))
        .observer(events.clone())
        .build()
        .unwrap();
    // 10 invitations per minute, invisible until hit (GitHub's secondary limit).
    fake.rate_limit(10, SECS(60));
    let results = invite_all(&github, 30).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");

    // 30 requests at 1 s spacing: one refusal, at 10 s, when the limit first shows; from it
    // the pacer learns nine a minute (a little below the ten the vendor took), so no other
    // window is overrun.
    let refusals = fake.rate_limited_count();
    assert_eq!(refusals, 1);
    let created = fake.invitations();
    assert_eq!(created.len(), 30);
    let emails: HashSet<_> = created.iter().map(|i| i.email.clone().unwrap()).collect();
    assert_eq!(emails.len(), 30);
    assert_eq!(fake.requests().await.len(), 31);

    let events = events.all();
    let retried: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            RateLimitEvent::Retried {
                kind, status, wait, ..
            } => Some((*kind, *status, *wait)),
            _ => None,
        })
        .collect();
    assert_eq!(retried, [(ErrorKind::RateLimited, Some(403), SECS(50))]);
    let held = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                RateLimitEvent::Waited {
                    cause: WaitCause::RateLimit,
                    ..
                }
            )
        })
        .count();
    assert!(
        held >= 1,
        "the other tasks waited for the announced retry-after: {events:?}"
    );
    assert!(!events
        .iter()
        .any(|e| matches!(e, RateLimitEvent::GaveUp { .. })));
    // Nobody slipped a request in while the hold was on (from the refusal at 10 s to the end
    // of its window at 60 s), and no window took more than the vendor's ten.
    let start = created[0].created_at;
    let offsets: Vec<i64> = created
        .iter()
        .map(|i| i.created_at.duration_since(start).as_secs())
        .collect();
    assert!(
        !offsets.iter().any(|o| (10..60).contains(o)),
        "a request went through during the hold: {offsets:?}"
    );
    assert_eq!(
        offsets.iter().filter(|o| **o < 60).count(),
        10,
        "{offsets:?}"
    );
    for window in 1..4 {
        let in_window = offsets.iter().filter(|o| **o / 60 == window).count();
        assert!(in_window <= 10, "window {window}: {offsets:?}");
    }
}

#[tokio::test]
async fn a_deadline_shorter_than_the_wait_fails_at_once() {
    let (fake, _) = Sandbox::github().await;
    let shared = Pacer::new(Pacing::serial(SECS(1)));
    let patient = fake
        .client_builder()
        .pacer(shared.clone())
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let events = Events::default();
    let hurried = fake
        .client_builder()
        .pacer(shared)
        .retry_policy(RetryPolicy::default().max_elapsed(SECS(10)))
        .observer(events.clone())
        .build()
        .unwrap();
    fake.rate_limit(1, SECS(60));
    patient
        .create_invitation(&CreateInvitation::email("acme", "a@example.com"))
        .await
        .unwrap();
    let limited = patient
        .create_invitation(&CreateInvitation::email("acme", "b@example.com"))
        .await
        .unwrap_err();
    assert_eq!(limited.retry_after(), Some(SECS(59)));
    let sent = fake.requests().await.len();

    let error = hurried
        .create_invitation(&CreateInvitation::email("acme", "c@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), Some(SECS(59)));
    assert!(matches!(error, Error::Throttled { .. }), "{error:?}");
    assert!(!error.may_have_been_created());
    assert_eq!(fake.requests().await.len(), sent, "zero extra requests");
    assert_eq!(
        events.all(),
        [RateLimitEvent::GaveUp {
            provider: orginvite::ProviderKind::GitHub,
            attempts: 0,
            kind: ErrorKind::RateLimited,
            retry_after: Some(SECS(59)),
        }]
    );
}

#[tokio::test]
async fn a_long_hold_is_not_slept_past_max_wait() {
    let (fake, github) = Sandbox::github().await;
    fake.rate_limit(1, SECS(60));
    github
        .create_invitation(&CreateInvitation::email("acme", "a@example.com"))
        .await
        .unwrap();
    let hurried = fake
        .client_builder()
        .retry_policy(RetryPolicy::default().max_wait(SECS(5)))
        .build()
        .unwrap();
    let error = hurried
        .create_invitation(&CreateInvitation::email("acme", "b@example.com"))
        .await
        .unwrap_err();
    // A pacer of its own knows nothing yet: it sends at once, the 403 says 60 s, over the
    // 5 s it may sleep: returned at once.
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), Some(SECS(60)));
    assert_eq!(fake.requests().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_with_a_budget_share_the_sandbox_clock() {
    let (fake, _) = Sandbox::github().await;
    let github = fake
        .client_builder()
        .retry_policy(RetryPolicy::default().max_elapsed(SECS(30)))
        .build()
        .unwrap();
    let results = invite_all(&github, 5).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    // Five starts one second apart: the virtual clock moved four seconds, not 30 per call.
    assert_eq!(fake.virtual_clock().unwrap().waits(), [SECS(1); 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_answer_never_brings_the_next_start_closer_in_real_time() {
    use orginvite::testkit::{FakeGitHub, Fault};
    let fake = FakeGitHub::start().await;
    let spacing = Duration::from_millis(500);
    let github = fake
        .client_builder()
        .pacing(Pacing::serial(spacing))
        .build()
        .unwrap();
    // The first answer takes 800 ms, longer than the spacing, while holding the turn. A pacer
    // that kept the planned grid would start the request after the next only 200 ms later.
    fake.inject(Fault::Delay(Duration::from_millis(800)));
    for n in 0..3 {
        github
            .create_invitation(&CreateInvitation::email(
                "acme",
                format!("slow{n}@example.com"),
            ))
            .await
            .unwrap();
    }
    let created = fake.invitations();
    for pair in created.windows(2) {
        let gap = pair[1].created_at.duration_since(pair[0].created_at);
        // Never closer than the spacing less a timer's slack (10 ms); the rest of the margin
        // absorbs the fake's own scheduling, since it stamps requests as it handles them.
        assert!(
            gap >= jiff::SignedDuration::from_millis(400),
            "starts {gap:?} apart"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_window_is_learned_from_one_refusal() {
    let (fake, _) = Sandbox::github().await;
    let github = fake
        .client_builder()
        .retry_policy(RetryPolicy::default().jitter(false))
        .build()
        .unwrap();
    // 10 invitations in any 60 s, invisible until hit, counted over a rolling window; the
    // client keeps GitHub's default pacing (one a second) and learns the rest.
    fake.rate_limit_rolling(10, SECS(60));
    let results = invite_all(&github, 30).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    // One refusal, when the limit first shows: the window it measures holds the ten taken,
    // and the nine a minute learned from it overrun no later window.
    assert_eq!(fake.rate_limited_count(), 1);
    let created = fake.invitations();
    assert_eq!(created.len(), 30);
    let emails: HashSet<_> = created.iter().map(|i| i.email.clone().unwrap()).collect();
    assert_eq!(emails.len(), 30);
    assert_eq!(fake.requests().await.len(), 31);
    // No 60 s span, wherever it starts, took more than the vendor's ten.
    let times: Vec<_> = created.iter().map(|i| i.created_at).collect();
    for (n, start) in times.iter().enumerate() {
        let within = times[n..]
            .iter()
            .filter(|at| at.duration_since(*start) < jiff::SignedDuration::from_secs(60))
            .count();
        assert!(
            within <= 10,
            "{within} within 60 s of request {n}: {times:?}"
        );
    }
}
