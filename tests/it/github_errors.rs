//! Every documented GitHub failure is classified: kind, status, code, message, request id.

use crate::common::*;
use orginvite::{CreateInvitation, Error, ErrorKind, ProviderKind, RetryPolicy};
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Sends one invitation against a server that always gives `answer`; returns the error and
/// how many requests arrived.
async fn fail_with(answer: ResponseTemplate) -> (Error, usize) {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(answer).mount(&server).await;
    let (github, sleeper) = github_with(&server, RetryPolicy::default().jitter(false));
    let error = github
        .create_invitation(&CreateInvitation::email("acme", "octocat@github.com"))
        .await
        .expect_err("the answer is an error");
    assert!(sleeper.waits().is_empty(), "no waits for a final answer");
    (error, request_count(&server).await)
}

fn api(error: &Error) -> &orginvite::error::ApiError {
    error
        .as_api()
        .unwrap_or_else(|| panic!("not a vendor answer: {error:?}"))
}

#[tokio::test]
async fn bad_credentials_401() {
    let (error, requests) = fail_with(github_error(
        401,
        json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}),
    ))
    .await;
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);
    assert_eq!(error.status().unwrap().as_u16(), 401);
    assert_eq!(error.vendor_message(), Some("Bad credentials"));
    assert_eq!(error.request_id(), Some("BEEF:0002"));
    assert_eq!(error.provider(), Some(ProviderKind::GitHub));
    assert!(!error.may_have_been_created());
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn not_an_owner_403_is_permission_denied_and_not_retried() {
    let (error, requests) = fail_with(
        github_error(
            403,
            json!({"message": "You must be an admin to create an invitation to an organization."}),
        )
        .insert_header("x-ratelimit-remaining", "4999")
        .insert_header("x-ratelimit-limit", "5000"),
    )
    .await;
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    assert_eq!(
        error.vendor_message(),
        Some("You must be an admin to create an invitation to an organization.")
    );
    assert_eq!(error.request_id(), Some("BEEF:0002"));
    assert_eq!(error.rate_limit().unwrap().remaining, Some(4999));
    assert_eq!(error.retry_after(), None);
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn not_found_404() {
    let (error, requests) = fail_with(github_error(
        404,
        json!({"message": "Not Found", "documentation_url": "x"}),
    ))
    .await;
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert_eq!(error.status().unwrap().as_u16(), 404);
    assert_eq!(error.vendor_message(), Some("Not Found"));
    assert_eq!(error.request_id(), Some("BEEF:0002"));
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn already_member_by_email_real_body() {
    let body: serde_json::Value =
        serde_json::from_str(&fixture("github/422-already-member-email.json")).unwrap();
    let (error, requests) = fail_with(github_error(422, body)).await;
    assert_eq!(error.kind(), ErrorKind::AlreadyMember);
    assert_eq!(error.status().unwrap().as_u16(), 422);
    assert_eq!(error.vendor_code(), Some("unprocessable"));
    assert_eq!(
        error.vendor_message(),
        Some("Validation Failed: A user with this email addresss is already a part of this organization")
    );
    assert_eq!(error.request_id(), Some("BEEF:0002"));
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn already_member_by_id() {
    let (error, _) = fail_with(github_error(
        422,
        json!({"message": "Validation Failed", "errors": [{"resource": "OrganizationInvitation", "code": "unprocessable", "field": "data", "message": "Invitee is already a part of this organization"}], "documentation_url": "x"}),
    ))
    .await;
    assert_eq!(error.kind(), ErrorKind::AlreadyMember);
    assert_eq!(error.vendor_code(), Some("unprocessable"));
    assert_eq!(error.request_id(), Some("BEEF:0002"));
}

#[tokio::test]
async fn invitation_cap_is_its_own_kind_and_never_retried() {
    for message in [
        "Over invitation rate limit",
        "Over invitation rate limit. Try again later.",
    ] {
        let (error, requests) = fail_with(github_error(
            422,
            json!({"message": "Validation Failed", "errors": [{"resource": "OrganizationInvitation", "code": "unprocessable", "field": "data", "message": message}], "documentation_url": "x"}),
        ))
        .await;
        assert_eq!(error.kind(), ErrorKind::QuotaExceeded, "{message}");
        assert_eq!(error.retry_after(), None);
        assert_eq!(error.request_id(), Some("BEEF:0002"));
        assert!(error.vendor_message().unwrap().contains(message));
        assert_eq!(requests, 1);
    }
}

#[tokio::test]
async fn invalid_email_422() {
    let (error, _) = fail_with(github_error(
        422,
        json!({"message": "Validation Failed", "errors": [{"resource": "OrganizationInvitation", "code": "unprocessable", "field": "data", "message": "Invite must be for a valid email address"}], "documentation_url": "x"}),
    ))
    .await;
    assert_eq!(error.kind(), ErrorKind::InvalidEmail);
    assert_eq!(error.request_id(), Some("BEEF:0002"));
}

#[tokio::test]
async fn other_422_is_validation_and_keeps_the_details() {
    let (error, requests) = fail_with(github_error(
        422,
        json!({"message": "Validation Failed", "errors": [{"resource": "OrganizationInvitation", "code": "invalid", "field": "team_ids", "message": "All teams on the invitation must be on this organization"}], "documentation_url": "x"}),
    ))
    .await;
    assert_eq!(error.kind(), ErrorKind::Validation);
    assert_eq!(error.vendor_code(), Some("invalid"));
    assert_eq!(
        error.vendor_message(),
        Some("Validation Failed: All teams on the invitation must be on this organization")
    );
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn server_error_500_is_not_retried_and_may_have_created() {
    let (error, requests) = fail_with(github_error(500, json!({"message": "Server Error"}))).await;
    assert_eq!(error.kind(), ErrorKind::ServerError);
    assert_eq!(error.status().unwrap().as_u16(), 500);
    assert_eq!(error.vendor_message(), Some("Server Error"));
    assert_eq!(error.request_id(), Some("BEEF:0002"));
    assert!(error.may_have_been_created());
    assert_eq!(api(&error).attempts, 1);
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn html_gateway_page_keeps_the_status() {
    let (error, requests) = fail_with(
        ResponseTemplate::new(502)
            .insert_header("content-type", "text/html")
            .set_body_string("<html><body><h1>502 Bad Gateway</h1></body></html>"),
    )
    .await;
    assert_eq!(error.kind(), ErrorKind::ServerError);
    assert_eq!(error.status().unwrap().as_u16(), 502);
    assert_eq!(error.vendor_message(), None);
    assert_eq!(error.request_id(), None);
    assert!(error.may_have_been_created());
    assert_eq!(
        error.to_string(),
        "GitHub answered 502: no readable error body"
    );
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn empty_error_bodies_keep_the_status() {
    for (status, kind) in [
        (401, ErrorKind::Unauthenticated),
        (403, ErrorKind::PermissionDenied),
        (404, ErrorKind::NotFound),
        (422, ErrorKind::Validation),
        (500, ErrorKind::ServerError),
        (410, ErrorKind::UnexpectedStatus),
    ] {
        let (error, requests) = fail_with(ResponseTemplate::new(status)).await;
        assert_eq!(error.kind(), kind, "{status}");
        assert_eq!(error.status().unwrap().as_u16(), status);
        assert_eq!(error.vendor_message(), None);
        assert_eq!(requests, 1, "{status}");
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let elsewhere = MockServer::start().await;
    Mock::given(any())
        .respond_with(github_created())
        .expect(0)
        .mount(&elsewhere)
        .await;
    let (error, requests) = fail_with(
        ResponseTemplate::new(307).insert_header("location", format!("{}/steal", elsewhere.uri())),
    )
    .await;
    assert_eq!(error.kind(), ErrorKind::UnexpectedStatus);
    assert_eq!(error.status().unwrap().as_u16(), 307);
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn an_oversized_error_keeps_its_status_and_request_id() {
    let (error, requests) = fail_with(
        ResponseTemplate::new(404)
            .insert_header("x-github-request-id", "BEEF:0003")
            .set_body_bytes(vec![b' '; 5 * 1024 * 1024]),
    )
    .await;
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert_eq!(error.status().unwrap().as_u16(), 404);
    assert_eq!(error.request_id(), Some("BEEF:0003"));
    assert!(!error.may_have_been_created());
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn an_abuse_flag_that_is_not_a_rate_limit_is_permission_denied() {
    let (error, requests) = fail_with(github_error(
        403,
        json!({"message": "This account has been flagged for abuse and cannot create invitations."}),
    ))
    .await;
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    assert_eq!(requests, 1);
}
