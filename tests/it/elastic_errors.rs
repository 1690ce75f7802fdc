//! Every documented Elastic Cloud error is classified, from the JSON body and from the
//! `x-cloud-error-codes` header alone.

use crate::common::elastic::*;
use crate::common::request_count;
use orginvite::{CreateInvitation, Error, ErrorKind, ProviderKind, RetryPolicy};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Sends one invitation to a server that answers `answer`, without retrying; one request.
async fn answer(answer: ResponseTemplate) -> Error {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v1/organizations/{ORG}/invitations")))
        .respond_with(answer)
        .expect(1)
        .mount(&server)
        .await;
    let (elastic, sleeper) = elastic_with(&server, RetryPolicy::never());
    let error = elastic
        .create_invitation(&CreateInvitation::email(ORG, "jane@example.com"))
        .await
        .expect_err("an error answer");
    assert_eq!(request_count(&server).await, 1);
    assert!(sleeper.waits().is_empty());
    assert_eq!(error.provider(), Some(ProviderKind::ElasticCloud));
    error
}

fn codes(error: &Error) -> Vec<&str> {
    error
        .as_api()
        .expect("an API error")
        .codes
        .iter()
        .map(String::as_str)
        .collect()
}

async fn from_body(status: u16, code: &str, kind: ErrorKind) {
    let message = format!("{code} happened");
    let error = answer(failed(status, code, &message)).await;
    assert_eq!(error.kind(), kind, "{code} from the body");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
    assert_eq!(error.vendor_code(), Some(code));
    assert_eq!(error.vendor_message(), Some(message.as_str()));
    assert!(!error.may_have_been_created());
    assert_eq!(error.as_api().unwrap().attempts, 1);
}

async fn from_header(status: u16, code: &str, kind: ErrorKind) {
    let error = answer(html_with_codes(status, code)).await;
    assert_eq!(error.kind(), kind, "{code} from the header");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
    assert_eq!(error.vendor_code(), Some(code));
    assert_eq!(error.vendor_message(), None);
    assert!(!error.may_have_been_created());
}

macro_rules! code_tests {
    ($($name:ident: $status:expr, $code:expr => $kind:expr;)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                from_body($status, $code, $kind).await;
                from_header($status, $code, $kind).await;
            }
        )*
    };
}

code_tests! {
    invalid_email: 400, "organization.invitation_invalid_email" => ErrorKind::InvalidEmail;
    already_invited: 400, "organization.invitation_already_exists" => ErrorKind::AlreadyInvited;
    already_member: 400, "organization.user_organization_already_belongs" => ErrorKind::AlreadyMember;
    pending_limit: 400, "organization.invitations_pending_limit_exceeded" => ErrorKind::QuotaExceeded;
    invalid_authentication: 403, "root.invalid_authentication" => ErrorKind::Unauthenticated;
    organization_not_found: 404, "organization.not_found" => ErrorKind::NotFound;
    user_not_found: 404, "user.not_found" => ErrorKind::NotFound;
    sender_not_in_organization: 404, "organization.user_organization_does_not_belong" => ErrorKind::PermissionDenied;
    invitation_rate_limit: 429, "organization.invitations_rate_limit_exceeded" => ErrorKind::RateLimited;
}

#[tokio::test]
async fn rate_limit_code_is_rate_limited_whatever_the_status() {
    let error = answer(failed(
        400,
        "organization.invitations_rate_limit_exceeded",
        "slow down",
    ))
    .await;
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    // Not retried here (the policy says never), but the backoff wait is reported.
    let wait = error.retry_after().expect("a wait");
    assert!(wait <= std::time::Duration::from_secs(1), "{wait:?}");
}

#[tokio::test]
async fn status_449_asks_for_elevated_permissions() {
    let error = answer(ResponseTemplate::new(449).set_body_string("<html>449</html>")).await;
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    assert_eq!(error.status().map(|s| s.as_u16()), Some(449));
    assert!(!error.may_have_been_created());

    let error = answer(failed(449, "root.needs_elevated_permissions", "sudo first")).await;
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    assert_eq!(error.vendor_code(), Some("root.needs_elevated_permissions"));
}

#[tokio::test]
async fn body_and_header_codes_are_merged() {
    let response = failed(400, "organization.invitation_already_exists", "exists").insert_header(
        "x-cloud-error-codes",
        " organization.invitation_already_exists , root.something_else,",
    );
    let error = answer(response).await;
    assert_eq!(error.kind(), ErrorKind::AlreadyInvited);
    assert_eq!(
        codes(&error),
        [
            "organization.invitation_already_exists",
            "root.something_else"
        ]
    );
}

#[tokio::test]
async fn several_header_codes_are_split_and_the_first_known_one_counts() {
    let error = answer(html_with_codes(
        400,
        "root.unknown_thing,organization.invitation_invalid_email",
    ))
    .await;
    assert_eq!(error.kind(), ErrorKind::InvalidEmail);
    assert_eq!(
        codes(&error),
        [
            "root.unknown_thing",
            "organization.invitation_invalid_email"
        ]
    );
}

#[tokio::test]
async fn messages_and_fields_are_kept() {
    let response = ResponseTemplate::new(400)
        .insert_header("x-request-id", "req-123")
        .set_body_json(json!({"errors": [
            {"code": "organization.invitation_invalid_email", "message": "Invalid email", "fields": ["emails"]},
            {"code": "root.invalid_data", "message": "Bad data"}
        ]}));
    let error = answer(response).await;
    assert_eq!(error.kind(), ErrorKind::InvalidEmail);
    assert_eq!(
        error.vendor_message(),
        Some("Invalid email (fields: emails); Bad data")
    );
    assert_eq!(error.request_id(), Some("req-123"));
    let text = error.to_string();
    assert!(text.contains("Elastic Cloud answered 400"), "{text}");
    assert!(text.contains("req-123"), "{text}");
}

#[tokio::test]
async fn unknown_codes_fall_back_to_the_status() {
    let cases = [
        (400, ErrorKind::Validation),
        (401, ErrorKind::Unauthenticated),
        (403, ErrorKind::PermissionDenied),
        (404, ErrorKind::NotFound),
        (409, ErrorKind::Conflict),
    ];
    for (status, kind) in cases {
        let error = answer(failed(status, "root.something_new", "new")).await;
        assert_eq!(error.kind(), kind, "{status}");
        assert_eq!(error.vendor_code(), Some("root.something_new"));
        assert_eq!(error.request_id(), None);
    }
}

#[tokio::test]
async fn bare_and_html_answers_keep_their_status() {
    let error = answer(ResponseTemplate::new(403)).await;
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    assert!(codes(&error).is_empty());

    let error =
        answer(ResponseTemplate::new(502).set_body_string("<html>Bad gateway</html>")).await;
    assert_eq!(error.kind(), ErrorKind::ServerError);
    assert!(error.may_have_been_created());

    let error = answer(ResponseTemplate::new(400).set_body_string("not json")).await;
    assert_eq!(error.kind(), ErrorKind::Validation);
    assert_eq!(error.vendor_message(), None);
}

#[tokio::test]
async fn every_line_of_the_codes_header_counts() {
    let error = answer(
        ResponseTemplate::new(400)
            .set_body_raw("<html>Bad Request</html>", "text/html")
            .append_header("x-cloud-error-codes", "root.unknown_thing")
            .append_header(
                "x-cloud-error-codes",
                "organization.invitation_already_exists, other.code",
            ),
    )
    .await;
    assert_eq!(error.kind(), ErrorKind::AlreadyInvited);
    assert_eq!(
        error.as_api().unwrap().codes,
        [
            "root.unknown_thing",
            "organization.invitation_already_exists",
            "other.code"
        ]
    );
}
