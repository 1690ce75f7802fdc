//! Budgets in real time, where waiting in a serialized queue and slow attempts are real:
//! cancelled calls leave no trace, a queued call gives up at its deadline, and an attempt
//! never outlives the call's budget. Every wait here is well under a second.

use std::time::{Duration, Instant};

use orginvite::{CreateInvitation, Error, ErrorKind, GitHub, Pacing, RetryPolicy};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const CREATED: &str = r#"{"id": 7, "email": null, "role": "direct_member"}"#;

async fn slow_server(delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_string(CREATED)
                .set_delay(delay),
        )
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer, pacing: Pacing, policy: RetryPolicy) -> GitHub {
    GitHub::builder()
        .token("ghp_budget")
        .base_url(server.uri())
        .pacing(pacing)
        .retry_policy(policy)
        .build()
        .unwrap()
}

fn invite(n: usize) -> CreateInvitation {
    CreateInvitation::email("acme", format!("p{n}@example.com"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_calls_leave_the_queue_as_it_was() {
    let server = slow_server(Duration::from_millis(300)).await;
    let shared = orginvite::Pacer::new(Pacing::serial(Duration::from_millis(200)));
    let github = GitHub::builder()
        .token("ghp_budget")
        .base_url(server.uri())
        .pacer(shared.clone())
        .build()
        .unwrap();
    let budgeted = GitHub::builder()
        .token("ghp_budget")
        .base_url(server.uri())
        .pacer(shared)
        .retry_policy(RetryPolicy::default().max_elapsed(Duration::from_millis(900)))
        .build()
        .unwrap();
    let busy = {
        let github = github.clone();
        tokio::spawn(async move { github.create_invitation(&invite(0)).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Five calls queue behind it and are cancelled while waiting.
    for n in 1..=5 {
        let queued = tokio::time::timeout(
            Duration::from_millis(20),
            github.create_invitation(&invite(n)),
        )
        .await;
        assert!(queued.is_err(), "call {n} should still have been queued");
    }
    busy.await.unwrap().unwrap();
    // Had the five kept their places, the budgeted call would predict a queue of 5 x 200 ms,
    // over its 900 ms budget, and give up at once. It waits its spacing and succeeds.
    let started = Instant::now();
    budgeted.create_invitation(&invite(9)).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(900));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_call_gives_up_at_its_deadline() {
    let server = slow_server(Duration::from_millis(1500)).await;
    let shared = orginvite::Pacer::new(Pacing::serial(Duration::ZERO));
    let slow = GitHub::builder()
        .token("ghp_budget")
        .base_url(server.uri())
        .pacer(shared.clone())
        .build()
        .unwrap();
    let hurried = GitHub::builder()
        .token("ghp_budget")
        .base_url(server.uri())
        .pacer(shared)
        .retry_policy(RetryPolicy::default().max_elapsed(Duration::from_millis(300)))
        .build()
        .unwrap();
    let busy = tokio::spawn(async move { slow.create_invitation(&invite(0)).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let error = hurried.create_invitation(&invite(1)).await.unwrap_err();
    let waited = started.elapsed();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert!(matches!(error, Error::Throttled { .. }), "{error:?}");
    assert!(!error.may_have_been_created());
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_millis(1200),
        "{waited:?}"
    );
    busy.await.unwrap().unwrap();
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "the hurried call sent nothing"
    );
}

#[tokio::test]
async fn an_attempt_never_outlives_the_budget() {
    let server = slow_server(Duration::from_secs(3)).await;
    let github = client(
        &server,
        Pacing::off(),
        RetryPolicy::default().max_elapsed(Duration::from_millis(300)),
    );
    let started = Instant::now();
    let error = github.create_invitation(&invite(0)).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(error.may_have_been_created());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}
