//! Rate limits, conflicts and retries against Clerk: attempt counts pinned with `expect(n)`,
//! the exact waits read from the injected sleeper.

use std::time::Duration;

use crate::common::clerk::*;
use crate::common::*;
use orginvite::{CreateInvitation, ErrorKind, RetryPolicy};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECS: fn(u64) -> Duration = Duration::from_secs;

fn too_many_requests() -> ResponseTemplate {
    clerk_error(
        429,
        "too_many_requests",
        "Too many requests",
        "Too many requests, retry later",
    )
}

fn conflict() -> ResponseTemplate {
    clerk_error(
        409,
        "resource_locked",
        "resource busy",
        "This resource is currently being modified by another request. Please try again.",
    )
}

async fn serve(server: &MockServer, answers: Vec<ResponseTemplate>, expected_requests: u64) {
    Mock::given(method("POST"))
        .and(path(INVITATIONS_PATH))
        .respond_with(Sequence::new(answers))
        .expect(expected_requests)
        .mount(server)
        .await;
}

fn request() -> CreateInvitation {
    CreateInvitation::email(ORG, "jane.doe@acme.com")
}

#[tokio::test]
async fn rate_limit_with_retry_after_one_second_then_success() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![
            too_many_requests().insert_header("retry-after", "1"),
            clerk_ok(),
        ],
        2,
    )
    .await;
    let (clerk, sleeper) = clerk(&server);
    let invitation = clerk.create_invitation(&request()).await.unwrap();
    assert_eq!(invitation.id, "orginv_2g7np7Hrk0SN6kj5EDMLDaKNL0S");
    assert_eq!(sleeper.waits(), [SECS(1)]);
    assert_eq!(request_count(&server).await, 2);
}

#[tokio::test]
async fn rate_limit_with_an_http_date_waits_until_then() {
    let server = MockServer::start().await;
    // The virtual clock starts at 2027-01-15T08:00:00Z; the date is 45 s later.
    serve(
        &server,
        vec![
            too_many_requests().insert_header("retry-after", "Fri, 15 Jan 2027 08:00:45 GMT"),
            clerk_ok(),
        ],
        2,
    )
    .await;
    let (clerk, sleeper) = clerk(&server);
    clerk.create_invitation(&request()).await.unwrap();
    assert_eq!(sleeper.waits(), [SECS(45)]);
}

#[tokio::test]
async fn rate_limit_longer_than_the_policy_allows_returns_at_once() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![too_many_requests().insert_header("retry-after", "3600")],
        1,
    )
    .await;
    let (clerk, sleeper) = clerk(&server);
    let error = clerk.create_invitation(&request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), Some(SECS(3600)));
    assert_eq!(error.rate_limit().unwrap().retry_after, Some(SECS(3600)));
    assert_eq!(error.vendor_code(), Some("too_many_requests"));
    assert_eq!(error.request_id(), Some(BODY_TRACE_ID));
    assert_eq!(error.as_api().unwrap().attempts, 1);
    assert!(!error.may_have_been_created());
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn rate_limit_over_a_custom_max_wait_returns_at_once() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![too_many_requests().insert_header("retry-after", "11")],
        1,
    )
    .await;
    let (clerk, sleeper) = clerk_with(
        &server,
        RetryPolicy::default().jitter(false).max_wait(SECS(10)),
    );
    let error = clerk.create_invitation(&request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), Some(SECS(11)));
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn rate_limit_without_retry_after_backs_off() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![too_many_requests(), too_many_requests(), clerk_ok()],
        3,
    )
    .await;
    let (clerk, sleeper) = clerk(&server);
    clerk.create_invitation(&request()).await.unwrap();
    assert_eq!(sleeper.waits(), [SECS(1), SECS(2)]);
}

#[tokio::test]
async fn conflict_then_success_is_retried() {
    let server = MockServer::start().await;
    serve(&server, vec![conflict(), clerk_ok()], 2).await;
    let (clerk, sleeper) = clerk(&server);
    let invitation = clerk.create_invitation(&request()).await.unwrap();
    assert_eq!(invitation.id, "orginv_2g7np7Hrk0SN6kj5EDMLDaKNL0S");
    assert_eq!(sleeper.waits(), [SECS(1)]);
}

#[tokio::test]
async fn conflict_honours_retry_after() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![conflict().insert_header("retry-after", "2"), clerk_ok()],
        2,
    )
    .await;
    let (clerk, sleeper) = clerk(&server);
    clerk.create_invitation(&request()).await.unwrap();
    assert_eq!(sleeper.waits(), [SECS(2)]);
}

#[tokio::test]
async fn repeated_conflicts_give_up_as_conflict() {
    let server = MockServer::start().await;
    serve(&server, vec![conflict()], 4).await;
    let (clerk, sleeper) = clerk(&server);
    let error = clerk.create_invitation(&request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert_eq!(error.vendor_code(), Some("resource_locked"));
    assert_eq!(sleeper.waits(), [SECS(1), SECS(2), SECS(4)]);
    assert_eq!(error.retry_after(), Some(SECS(8)));
    assert_eq!(error.as_api().unwrap().attempts, 4);
    assert!(!error.may_have_been_created());
}

#[tokio::test]
async fn server_error_is_not_retried_and_may_have_created() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![
            clerk_error(
                500,
                "internal_clerk_error",
                "Oops, an unexpected error occurred",
                "There was an internal error on our servers.",
            ),
            clerk_ok(),
        ],
        1,
    )
    .await;
    let (clerk, sleeper) = clerk(&server);
    let error = clerk.create_invitation(&request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServerError);
    assert!(error.may_have_been_created());
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn unavailable_with_retry_after_is_retried() {
    let server = MockServer::start().await;
    serve(
        &server,
        vec![
            clerk_error(
                503,
                "service_unavailable",
                "Service unavailable",
                "Service unavailable",
            )
            .insert_header("retry-after", "3"),
            clerk_ok(),
        ],
        2,
    )
    .await;
    let (clerk, sleeper) = clerk(&server);
    clerk.create_invitation(&request()).await.unwrap();
    assert_eq!(sleeper.waits(), [SECS(3)]);
}

#[tokio::test]
async fn unavailable_without_retry_after_is_not_retried() {
    let server = MockServer::start().await;
    serve(&server, vec![ResponseTemplate::new(503), clerk_ok()], 1).await;
    let (clerk, sleeper) = clerk(&server);
    let error = clerk.create_invitation(&request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServerError);
    assert!(error.may_have_been_created());
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn final_answers_with_retry_after_are_still_sent_once() {
    let answers = [
        clerk_error(
            400,
            "organization_invitation_not_unique",
            "organization invitation not unique",
            "Organizations cannot have duplicate pending invitations for an email address.",
        ),
        clerk_error(
            403,
            "organization_membership_quota_exceeded",
            "organization membership quota exceeded",
            "You have reached your limit of 5 organization memberships, including outstanding invitations.",
        ),
    ];
    for answer in answers {
        let server = MockServer::start().await;
        serve(
            &server,
            vec![answer.insert_header("retry-after", "1"), clerk_ok()],
            1,
        )
        .await;
        let (clerk, sleeper) = clerk(&server);
        let error = clerk.create_invitation(&request()).await.unwrap_err();
        assert!(
            matches!(
                error.kind(),
                ErrorKind::AlreadyInvited | ErrorKind::QuotaExceeded
            ),
            "{error}"
        );
        assert_eq!(error.retry_after(), None);
        assert!(sleeper.waits().is_empty());
    }
}
