//! Rate limits and retries against GitHub: attempt counts pinned with `expect(n)`, the exact
//! waits read from the injected sleeper.

use std::time::Duration;

use crate::common::*;
use orginvite::sleep::RecordingSleeper;
use orginvite::{CreateInvitation, ErrorKind, GitHub, RetryPolicy};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECS: fn(u64) -> Duration = Duration::from_secs;

fn secondary_limit() -> ResponseTemplate {
    github_error(
        403,
        json!({
            "message": "You have exceeded a secondary rate limit and have been temporarily blocked from content creation. Please retry your request again later.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
        }),
    )
    .insert_header("x-ratelimit-remaining", "4990")
}

async fn serve(server: &MockServer, answers: Vec<ResponseTemplate>, expected_requests: u64) {
    Mock::given(method("POST"))
        .and(path("/api/v3/orgs/acme/invitations"))
        .respond_with(Sequence::new(answers))
        .expect(expected_requests)
        .mount(server)
        .await;
}

fn request() -> CreateInvitation {
    CreateInvitation::email("acme", "octocat@github.com")
}

#[tokio::test]
async fn secondary_limit_with_retry_after_waits_exactly_that() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![
            secondary_limit().insert_header("retry-after", "7"),
            github_created(),
        ],
        2,
    )
    .await;
    let (github, sleeper) = github(&server);
    let invitation = github.create_invitation(&request()).await.unwrap();
    assert_eq!(invitation.id, "1");
    assert_eq!(sleeper.waits(), [SECS(7)]);
}

#[tokio::test]
async fn secondary_limit_without_retry_after_waits_60s_then_doubles() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![secondary_limit(), secondary_limit(), github_created()],
        3,
    )
    .await;
    let (github, sleeper) = github(&server);
    github.create_invitation(&request()).await.unwrap();
    assert_eq!(sleeper.waits(), [SECS(60), SECS(120)]);
}

#[tokio::test]
async fn old_abuse_message_counts_as_a_secondary_limit() {
    let server = MockServer::start().await;
    let abuse = github_error(
        403,
        json!({"message": "You have triggered an abuse detection mechanism."}),
    );
    serve(&server, vec![abuse, github_created()], 2).await;
    let (github, sleeper) = github(&server);
    github.create_invitation(&request()).await.unwrap();
    assert_eq!(sleeper.waits(), [SECS(60)]);
}

#[tokio::test]
async fn repeated_secondary_limits_give_up_with_retry_after() {
    let server = MockServer::start().await;
    serve(&server, vec![secondary_limit()], 3).await;
    let (github, sleeper) = github(&server);
    let error = github.create_invitation(&request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    // 60 s and 120 s were slept; 240 s is over the default 120 s limit and is returned.
    assert_eq!(sleeper.waits(), [SECS(60), SECS(120)]);
    assert_eq!(error.retry_after(), Some(SECS(240)));
    assert_eq!(error.as_api().unwrap().attempts, 3);
    assert!(!error.may_have_been_created());
}

#[tokio::test]
async fn primary_limit_waits_until_reset_plus_one_second() {
    let server = MockServer::start().await;
    let exhausted = github_error(
        403,
        json!({"message": "API rate limit exceeded for user ID 1."}),
    )
    .insert_header("x-ratelimit-limit", "5000")
    .insert_header("x-ratelimit-remaining", "0")
    .insert_header("x-ratelimit-used", "5000")
    .insert_header(
        "x-ratelimit-reset",
        (epoch_secs() + 30).to_string().as_str(),
    )
    .insert_header("x-ratelimit-resource", "core");
    serve(&server, vec![exhausted, github_created()], 2).await;
    let (github, sleeper) = github(&server);
    github.create_invitation(&request()).await.unwrap();
    assert_eq!(sleeper.waits(), [SECS(31)]);
}

#[tokio::test]
async fn primary_limit_429_is_retried_too() {
    let server = MockServer::start().await;
    let exhausted = github_error(429, json!({"message": "API rate limit exceeded"}))
        .insert_header("x-ratelimit-remaining", "0")
        .insert_header("x-ratelimit-reset", (epoch_secs() + 5).to_string().as_str());
    serve(&server, vec![exhausted, github_created()], 2).await;
    let (github, sleeper) = github(&server);
    github.create_invitation(&request()).await.unwrap();
    assert_eq!(sleeper.waits(), [SECS(6)]);
}

#[tokio::test]
async fn primary_limit_an_hour_away_returns_at_once() {
    let server = MockServer::start().await;
    let exhausted = github_error(403, json!({"message": "API rate limit exceeded"}))
        .insert_header("x-ratelimit-remaining", "0")
        .insert_header(
            "x-ratelimit-reset",
            (epoch_secs() + 3_599).to_string().as_str(),
        );
    serve(&server, vec![exhausted], 1).await;
    let (github, sleeper) = github(&server);
    let error = github.create_invitation(&request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), Some(SECS(3_600)));
    assert_eq!(error.rate_limit().unwrap().remaining, Some(0));
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn http_date_retry_after_on_429() {
    let server = MockServer::start().await;
    // The virtual clock starts at 2027-01-15T08:00:00Z; the date is 45 s later.
    let limited = github_error(429, json!({"message": "Too Many Requests"}))
        .insert_header("retry-after", "Fri, 15 Jan 2027 08:00:45 GMT");
    serve(&server, vec![limited, github_created()], 2).await;
    let (github, sleeper) = github(&server);
    github.create_invitation(&request()).await.unwrap();
    assert_eq!(sleeper.waits(), [SECS(45)]);
}

#[tokio::test]
async fn wait_over_the_policy_limit_returns_at_once_with_retry_after() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![secondary_limit().insert_header("retry-after", "3600")],
        1,
    )
    .await;
    let (github, sleeper) = github(&server);
    let error = github.create_invitation(&request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), Some(SECS(3600)));
    assert_eq!(error.rate_limit().unwrap().retry_after, Some(SECS(3600)));
    assert_eq!(error.request_id(), Some("BEEF:0002"));
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn elapsed_budget_returns_instead_of_sleeping() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![secondary_limit().insert_header("retry-after", "20")],
        2,
    )
    .await;
    let (github, sleeper) = github_with(
        &server,
        RetryPolicy::default().jitter(false).max_elapsed(SECS(30)),
    );
    let error = github.create_invitation(&request()).await.unwrap_err();
    assert_eq!(sleeper.waits(), [SECS(20)]);
    assert_eq!(error.retry_after(), Some(SECS(20)));
}

#[tokio::test]
async fn permission_403_is_sent_once() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![github_error(
            403,
            json!({"message": "Must have admin rights to Repository."}),
        )],
        1,
    )
    .await;
    let (github, sleeper) = github(&server);
    let error = github.create_invitation(&request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn invitation_cap_422_is_sent_once() {
    let server = MockServer::start().await;
    let cap = github_error(
        422,
        json!({"message": "Validation Failed", "errors": [{"resource": "OrganizationInvitation", "code": "unprocessable", "field": "data", "message": "Over invitation rate limit"}]}),
    )
    .insert_header("retry-after", "5");
    serve(&server, vec![cap], 1).await;
    let (github, sleeper) = github(&server);
    let error = github.create_invitation(&request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::QuotaExceeded);
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn server_error_after_the_body_was_sent_is_not_retried() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![
            github_error(500, json!({"message": "Server Error"})),
            github_created(),
        ],
        1,
    )
    .await;
    let (github, sleeper) = github(&server);
    let error = github.create_invitation(&request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServerError);
    assert!(error.may_have_been_created());
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn unavailable_503_with_retry_after_is_retried() {
    let server = MockServer::start().await;
    let unavailable = ResponseTemplate::new(503).insert_header("retry-after", "3");
    serve(&server, vec![unavailable, github_created()], 2).await;
    let (github, sleeper) = github(&server);
    github.create_invitation(&request()).await.unwrap();
    assert_eq!(sleeper.waits(), [SECS(3)]);
}

#[tokio::test]
async fn plain_429_without_headers_backs_off_exponentially() {
    let server = MockServer::start().await;
    let limited = ResponseTemplate::new(429);
    serve(&server, vec![limited.clone(), limited, github_created()], 3).await;
    let (github, sleeper) = github(&server);
    github.create_invitation(&request()).await.unwrap();
    assert_eq!(sleeper.waits(), [SECS(1), SECS(2)]);
}

#[tokio::test]
async fn jittered_backoff_stays_within_bounds() {
    let server = MockServer::start().await;
    serve(&server, vec![ResponseTemplate::new(429)], 4).await;
    let (github, sleeper) = github_with(&server, RetryPolicy::default());
    let error = github.create_invitation(&request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 3);
    for (i, wait) in waits.iter().enumerate() {
        assert!(*wait <= SECS(1 << i), "wait {i} = {wait:?}");
    }
}

#[tokio::test]
async fn connection_refused_is_retried_and_never_created() {
    // Bind a port, then free it: nothing listens there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let sleeper = RecordingSleeper::starting_at(epoch());
    let github = GitHub::builder()
        .token(GITHUB_TOKEN)
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry_policy(RetryPolicy::default().jitter(false).max_attempts(3))
        .sleeper(sleeper.clone())
        .build()
        .unwrap();
    let error = github.create_invitation(&request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport);
    assert!(!error.may_have_been_created());
    assert_eq!(sleeper.waits(), [SECS(1), SECS(2)]);
    let orginvite::Error::Transport(transport) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(transport.attempts, 3);
    assert!(std::error::Error::source(&error).is_some());
}

#[tokio::test]
async fn a_timeout_after_sending_is_not_retried_and_may_have_created() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/orgs/acme/invitations"))
        .respond_with(github_created().set_delay(SECS(5)))
        .expect(1)
        .mount(&server)
        .await;
    let sleeper = RecordingSleeper::starting_at(epoch());
    let github = GitHub::builder()
        .token(GITHUB_TOKEN)
        .base_url(server.uri())
        .timeout(Some(Duration::from_millis(200)))
        .sleeper(sleeper.clone())
        .build()
        .unwrap();
    let error = github
        .create_invitation(&CreateInvitation::email("acme", "octocat@github.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(error.may_have_been_created());
    assert!(sleeper.waits().is_empty());
    assert_eq!(request_count(&server).await, 1);
}
