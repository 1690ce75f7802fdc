//! Elastic Cloud rate limits: 429 usually comes without `Retry-After`. Attempt counts are
//! pinned with `expect(n)`, the exact waits read from the injected sleeper.

use std::time::Duration;

use crate::common::elastic::*;
use crate::common::{request_count, Sequence};
use orginvite::{CreateInvitation, ErrorKind, RetryPolicy};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECS: fn(u64) -> Duration = Duration::from_secs;
const EMAIL: &str = "jane@example.com";

fn rate_limited() -> ResponseTemplate {
    failed(
        429,
        "organization.invitations_rate_limit_exceeded",
        "Request exceeds organization invitation creation rate limits",
    )
    .insert_header(
        "x-cloud-error-codes",
        "organization.invitations_rate_limit_exceeded",
    )
}

async fn serve(server: &MockServer, answers: Vec<ResponseTemplate>, expected_requests: u64) {
    Mock::given(method("POST"))
        .and(path(format!("/api/v1/organizations/{ORG}/invitations")))
        .respond_with(Sequence::new(answers))
        .expect(expected_requests)
        .mount(server)
        .await;
}

fn request() -> CreateInvitation {
    CreateInvitation::email(ORG, EMAIL)
}

#[tokio::test]
async fn a_429_without_retry_after_backs_off_with_jitter_then_succeeds() {
    let server = MockServer::start().await;
    serve(&server, vec![rate_limited(), created_for(EMAIL)], 2).await;
    let (elastic, sleeper) = elastic_with(&server, RetryPolicy::default());
    let invitation = elastic.create_invitation(&request()).await.unwrap();
    assert_eq!(invitation.id, "token");
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 1);
    // Full jitter: anywhere from zero up to the first step, 1 s.
    assert!(waits[0] <= SECS(1), "{waits:?}");
}

#[tokio::test]
async fn backoff_without_jitter_doubles() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![rate_limited(), rate_limited(), created_for(EMAIL)],
        3,
    )
    .await;
    let (elastic, sleeper) = elastic(&server);
    elastic.create_invitation(&request()).await.unwrap();
    assert_eq!(sleeper.waits(), [SECS(1), SECS(2)]);
}

#[tokio::test]
async fn retry_after_wins() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![
            rate_limited()
                .insert_header("retry-after", "7")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-interval", "1m"),
            created_for(EMAIL),
        ],
        2,
    )
    .await;
    let (elastic, sleeper) = elastic(&server);
    elastic.create_invitation(&request()).await.unwrap();
    assert_eq!(sleeper.waits(), [SECS(7)]);
}

#[tokio::test]
async fn rate_limited_forever_gives_up_after_the_policy_attempts() {
    let server = MockServer::start().await;
    serve(&server, vec![rate_limited()], 4).await;
    let (elastic, sleeper) = elastic(&server);
    let error = elastic.create_invitation(&request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(
        error.vendor_code(),
        Some("organization.invitations_rate_limit_exceeded")
    );
    assert_eq!(sleeper.waits(), [SECS(1), SECS(2), SECS(4)]);
    assert_eq!(error.retry_after(), Some(SECS(8)));
    assert_eq!(error.as_api().unwrap().attempts, 4);
    assert!(!error.may_have_been_created());
    assert_eq!(request_count(&server).await, 4);
}

#[tokio::test]
async fn fewer_attempts_pin_fewer_requests() {
    let server = MockServer::start().await;
    serve(&server, vec![ResponseTemplate::new(429)], 2).await;
    let (elastic, sleeper) = elastic_with(
        &server,
        RetryPolicy::default().jitter(false).max_attempts(2),
    );
    let error = elastic.create_invitation(&request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(sleeper.waits(), [SECS(1)]);
    assert_eq!(request_count(&server).await, 2);
}

#[tokio::test]
async fn an_exhausted_window_waits_for_the_interval() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![
            rate_limited()
                .insert_header("x-ratelimit-limit", "10")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-interval", "1m0s"),
            created_for(EMAIL),
        ],
        2,
    )
    .await;
    let (elastic, sleeper) = elastic(&server);
    elastic.create_invitation(&request()).await.unwrap();
    assert_eq!(sleeper.waits(), [SECS(60)]);
}

#[tokio::test]
async fn the_interval_only_counts_when_nothing_remains() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![
            rate_limited()
                .insert_header("x-ratelimit-remaining", "3")
                .insert_header("x-ratelimit-interval", "1m"),
            created_for(EMAIL),
        ],
        2,
    )
    .await;
    let (elastic, sleeper) = elastic(&server);
    elastic.create_invitation(&request()).await.unwrap();
    assert_eq!(sleeper.waits(), [SECS(1)]);
}

#[tokio::test]
async fn an_unreadable_interval_falls_back_to_backoff() {
    for garbage in ["soon", "-1m", "60", ""] {
        let server = MockServer::start().await;
        serve(
            &server,
            vec![
                rate_limited()
                    .insert_header("x-ratelimit-remaining", "0")
                    .insert_header("x-ratelimit-interval", garbage),
                created_for(EMAIL),
            ],
            2,
        )
        .await;
        let (elastic, sleeper) = elastic(&server);
        elastic.create_invitation(&request()).await.unwrap();
        assert_eq!(sleeper.waits(), [SECS(1)], "{garbage:?}");
    }
}

#[tokio::test]
async fn a_long_interval_is_returned_not_slept() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![rate_limited()
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("x-ratelimit-interval", "1h")],
        1,
    )
    .await;
    let (elastic, sleeper) = elastic(&server);
    let error = elastic.create_invitation(&request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), Some(SECS(3_600)));
    let info = error.rate_limit().unwrap();
    assert_eq!(info.remaining, Some(0));
    assert_eq!(info.interval, Some(SECS(3_600)));
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn the_rate_limit_code_in_the_header_alone_is_retried() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![
            html_with_codes(429, "organization.invitations_rate_limit_exceeded"),
            created_for(EMAIL),
        ],
        2,
    )
    .await;
    let (elastic, sleeper) = elastic(&server);
    elastic.create_invitation(&request()).await.unwrap();
    assert_eq!(sleeper.waits(), [SECS(1)]);
}

#[tokio::test]
async fn a_503_with_retry_after_is_retried_other_5xx_are_not() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![
            ResponseTemplate::new(503).insert_header("retry-after", "3"),
            created_for(EMAIL),
        ],
        2,
    )
    .await;
    let (client, sleeper) = elastic(&server);
    client.create_invitation(&request()).await.unwrap();
    assert_eq!(sleeper.waits(), [SECS(3)]);

    let server = MockServer::start().await;
    serve(&server, vec![ResponseTemplate::new(500)], 1).await;
    let (client, sleeper) = elastic(&server);
    let error = client.create_invitation(&request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServerError);
    assert!(error.may_have_been_created());
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn already_invited_after_a_retry_is_not_retried() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![
            rate_limited(),
            failed(400, "organization.invitation_already_exists", "exists"),
        ],
        2,
    )
    .await;
    let (elastic, sleeper) = elastic(&server);
    let error = elastic.create_invitation(&request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AlreadyInvited);
    assert_eq!(error.as_api().unwrap().attempts, 2);
    assert_eq!(sleeper.waits(), [SECS(1)]);
}
