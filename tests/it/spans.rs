//! What the client tells `tracing`: a span per call and per attempt, an event per retry and
//! give-up, and never a token or a full email unless the caller opts in.

use crate::common::*;
use orginvite::sleep::RecordingSleeper;
use orginvite::{CreateInvitation, GitHub, RetryPolicy};
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn subscriber(captured: &Captured) -> impl tracing::Subscriber + Send + Sync {
    captured.subscriber(tracing::Level::DEBUG)
}

async fn limited_then_created(server: &MockServer) {
    Mock::given(any())
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(403)
                .insert_header("retry-after", "7")
                .set_body_json(json!({"message": "You have exceeded a secondary rate limit."})),
            github_created(),
        ]))
        .expect(2)
        .mount(server)
        .await;
}

#[tokio::test]
async fn retries_are_traced_without_secrets() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(subscriber(&captured));
    let server = MockServer::start().await;
    limited_then_created(&server).await;
    let (github, _) = github(&server);
    github
        .create_invitation(&CreateInvitation::email("acme", "octocat@github.com"))
        .await
        .unwrap();

    let out = captured.text();
    assert!(out.contains("orginvite.call"), "{out}");
    assert!(out.contains("operation=\"create_invitation\""), "{out}");
    assert!(out.contains("provider=\"github\""), "{out}");
    assert!(out.contains("organization=acme"), "{out}");
    assert!(out.contains("subject=o***@github.com"), "{out}");
    assert!(
        out.contains("orginvite.attempt{attempt=1 status=403}"),
        "{out}"
    );
    assert!(out.contains("retrying after a wait"), "{out}");
    assert!(out.contains("kind=\"rate_limited\""), "{out}");
    assert!(out.contains("wait_ms=7000"), "{out}");
    assert!(
        out.contains("orginvite.attempt{attempt=2 status=201}"),
        "{out}"
    );
    assert!(out.contains(" done"), "{out}");
    assert!(!out.contains(GITHUB_TOKEN), "the token leaked: {out}");
    assert!(
        !out.contains("SECRETtoken"),
        "part of the token leaked: {out}"
    );
    assert!(!out.contains("octocat@"), "the full email leaked: {out}");
}

#[tokio::test]
async fn giving_up_is_traced() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(subscriber(&captured));
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .expect(1)
        .mount(&server)
        .await;
    let (github, _) = github(&server);
    github
        .create_invitation(&CreateInvitation::email("acme", "octocat@github.com"))
        .await
        .unwrap_err();
    let out = captured.text();
    assert!(out.contains("giving up"), "{out}");
    assert!(out.contains("retry_after_ms=3600000"), "{out}");
    assert!(!out.contains(GITHUB_TOKEN), "{out}");
}

#[tokio::test]
async fn full_emails_only_when_the_caller_opts_in() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(subscriber(&captured));
    let server = MockServer::start().await;
    limited_then_created(&server).await;
    let github = GitHub::builder()
        .token(GITHUB_TOKEN)
        .base_url(server.uri())
        .retry_policy(RetryPolicy::default())
        .sleeper(RecordingSleeper::new())
        .trace_emails(true)
        .build()
        .unwrap();
    github
        .create_invitation(&CreateInvitation::email("acme", "octocat@github.com"))
        .await
        .unwrap();
    let out = captured.text();
    assert!(out.contains("subject=octocat@github.com"), "{out}");
    assert!(!out.contains(GITHUB_TOKEN), "{out}");
}

#[tokio::test]
async fn no_provider_traces_its_credential() {
    use orginvite::{Clerk, ElasticCloud, Pacing, Provider};
    const KEY: &str = "key_SECRETcredential0123456789NEVERSHOWN";
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(subscriber(&captured));
    let answers = [
        ResponseTemplate::new(429).insert_header("retry-after", "1"),
        ResponseTemplate::new(500),
        ResponseTemplate::new(401),
        ResponseTemplate::new(200).set_body_string("{"),
    ];
    for answer in answers {
        for kind in 0..3 {
            let server = MockServer::start().await;
            Mock::given(any())
                .respond_with(answer.clone())
                .mount(&server)
                .await;
            let sleeper = RecordingSleeper::new();
            let provider: Box<dyn Provider> = match kind {
                0 => Box::new(
                    GitHub::builder()
                        .token(KEY)
                        .base_url(server.uri())
                        .sleeper(sleeper)
                        .build()
                        .unwrap(),
                ),
                1 => Box::new(
                    Clerk::builder()
                        .token(KEY)
                        .base_url(server.uri())
                        .pacing(Pacing::off())
                        .sleeper(sleeper)
                        .build()
                        .unwrap(),
                ),
                _ => Box::new(
                    ElasticCloud::builder()
                        .token(KEY)
                        .base_url(server.uri())
                        .sleeper(sleeper)
                        .build()
                        .unwrap(),
                ),
            };
            let _ = provider
                .create_invitation(&CreateInvitation::email("org_1", "jane.doe@example.com"))
                .await;
        }
    }
    let out = captured.text();
    assert!(
        out.contains("provider=\"clerk\"") && out.contains("provider=\"elastic_cloud\""),
        "{out}"
    );
    assert!(out.contains("retrying after a wait"), "{out}");
    assert!(
        !out.contains("SECRETcredential"),
        "a credential leaked: {out}"
    );
    assert!(!out.contains("jane.doe@"), "the full email leaked: {out}");
}
