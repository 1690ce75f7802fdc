//! Every documented Clerk failure is classified: kind, status, code, message, trace id.

use crate::common::clerk::*;
use crate::common::*;
use orginvite::{CreateInvitation, Error, ErrorKind, ProviderKind, RetryPolicy};
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Sends one invitation against a server that always gives `answer`, with `policy`; returns
/// the error and how many requests arrived.
async fn fail_with_policy(answer: ResponseTemplate, policy: RetryPolicy) -> (Error, usize) {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(answer).mount(&server).await;
    let (clerk, sleeper) = clerk_with(&server, policy);
    let error = clerk
        .create_invitation(&CreateInvitation::email(ORG, "jane.doe@acme.com"))
        .await
        .expect_err("the answer is an error");
    assert!(sleeper.waits().is_empty(), "no sleeping for these answers");
    (error, request_count(&server).await)
}

/// A final answer: sent once with the default policy, never slept on.
async fn fail_with(answer: ResponseTemplate) -> (Error, usize) {
    fail_with_policy(answer, RetryPolicy::default().jitter(false)).await
}

/// One documented error: the answer Clerk gives and what it must become.
struct Case {
    status: u16,
    code: &'static str,
    message: &'static str,
    long_message: &'static str,
    param_name: Option<&'static str>,
    kind: ErrorKind,
}

const fn case(
    status: u16,
    code: &'static str,
    message: &'static str,
    long_message: &'static str,
    kind: ErrorKind,
) -> Case {
    Case {
        status,
        code,
        message,
        long_message,
        param_name: None,
        kind,
    }
}

/// Every code of the contract's table, with Clerk's own messages.
const FINAL_CASES: &[Case] = &[
    case(400, "already_a_member_in_organization", "already a member", "jane.doe@acme.com is already a member of the organization.", ErrorKind::AlreadyMember),
    case(400, "organization_invitation_not_unique", "organization invitation not unique", "Organizations cannot have duplicate pending invitations for an email address.", ErrorKind::AlreadyInvited),
    case(400, "duplicate_record", "duplicate record", "There are already pending invitations for the following email addresses: jane.doe@acme.com", ErrorKind::AlreadyInvited),
    case(400, "bulk_size_exceeded", "bulk size exceeded", "Parameters exceed the maximum allowed bulk processing size of 10.", ErrorKind::Validation),
    case(400, "request_body_invalid", "Request body invalid", "The request body is invalid. Please consult the API documentation for more information.", ErrorKind::Validation),
    case(400, "api_version_invalid", "invalid API version", "Invalid Clerk API version: unknown version", ErrorKind::Validation),
    case(401, "authentication_invalid", "Invalid authentication", "Unable to authenticate the request, you need to supply an active session", ErrorKind::Unauthenticated),
    case(401, "clerk_key_invalid", "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct.", "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct.", ErrorKind::Unauthenticated),
    case(401, "authorization_header_format_invalid", "Invalid Authorization header format", "Invalid Authorization header format. Must be 'Bearer <YOUR_API_KEY>'", ErrorKind::Unauthenticated),
    case(402, "unsupported_subscription_plan_features", "Unsupported plan features", "Some features are not supported in your current plan. Upgrade your subscription to unlock them.", ErrorKind::PaymentRequired),
    case(402, "insufficient_seats", "Insufficient seats", "You have reached the seat limit for your current plan.", ErrorKind::PaymentRequired),
    case(403, "authorization_invalid", "Unauthorized request", "You are not authorized to perform this request", ErrorKind::PermissionDenied),
    case(403, "not_allowed_access", "Access not allowed.", "jane.doe@acme.com is not allowed to access this application.", ErrorKind::PermissionDenied),
    case(403, "not_an_admin_in_organization", "not an administrator", "user_1 is not an administrator in the organization. Only administrators can perform this action.", ErrorKind::PermissionDenied),
    case(403, "organization_membership_quota_exceeded", "organization membership quota exceeded", "You have reached your limit of 5 organization memberships, including outstanding invitations.", ErrorKind::QuotaExceeded),
    case(404, "resource_not_found", "not found", "Organization role not found", ErrorKind::NotFound),
    case(404, "organization_not_found_or_unauthorized", "not found or unauthorized", "Given organization not found, or you don't have permission to access the organization", ErrorKind::NotFound),
    Case {
        param_name: Some("email_address"),
        ..case(422, "form_param_format_invalid", "is invalid", "email_address must be a valid email address.", ErrorKind::InvalidEmail)
    },
    Case {
        param_name: Some("redirect_url"),
        ..case(422, "form_param_format_invalid", "is invalid", "redirect_url must be a valid url.", ErrorKind::Validation)
    },
    Case {
        param_name: Some("role"),
        ..case(422, "form_param_missing", "is missing", "role must be included.", ErrorKind::Validation)
    },
    Case {
        param_name: Some("role"),
        ..case(422, "form_param_value_invalid", "is invalid", "org:ghost does not match one of the allowed values for parameter role", ErrorKind::Validation)
    },
    Case {
        param_name: Some("team_ids"),
        ..case(422, "form_param_unknown", "is unknown", "team_ids is not a valid parameter for this request.", ErrorKind::Validation)
    },
    case(500, "internal_clerk_error", "Oops, an unexpected error occurred", "There was an internal error on our servers. We've been notified and are working on fixing it.", ErrorKind::ServerError),
    case(503, "service_unavailable", "Service unavailable", "Service unavailable", ErrorKind::ServerError),
    case(504, "gateway_timeout", "Gateway Timeout", "A request to a 3rd party service timed out", ErrorKind::ServerError),
];

/// The codes that mean "not processed": their retries are tested in `clerk_retry.rs`; here
/// they are sent once with no retries allowed.
const RETRYABLE_CASES: &[Case] = &[
    case(409, "conflict", "Conflict", "Conflict", ErrorKind::Conflict),
    case(
        409,
        "resource_locked",
        "resource busy",
        "This resource is currently being modified by another request. Please try again.",
        ErrorKind::Conflict,
    ),
    case(
        429,
        "too_many_requests",
        "Too many requests",
        "Too many requests, retry later",
        ErrorKind::RateLimited,
    ),
];

fn answer(case: &Case) -> ResponseTemplate {
    let mut error = json!({
        "code": case.code,
        "message": case.message,
        "long_message": case.long_message,
    });
    if let Some(param) = case.param_name {
        error["meta"] = json!({"param_name": param});
    }
    clerk_json(
        case.status,
        json!({"errors": [error], "meta": {}, "clerk_trace_id": BODY_TRACE_ID}),
    )
    .insert_header("clerk-trace-id", "header-trace-loses-to-body")
}

fn check(case: &Case, error: &Error, requests: usize) {
    let what = format!("{} {}", case.status, case.code);
    assert_eq!(error.kind(), case.kind, "{what}");
    assert_eq!(error.provider(), Some(ProviderKind::Clerk), "{what}");
    assert_eq!(error.status().unwrap().as_u16(), case.status, "{what}");
    assert_eq!(error.vendor_code(), Some(case.code), "{what}");
    assert_eq!(error.vendor_message(), Some(case.long_message), "{what}");
    assert_eq!(error.request_id(), Some(BODY_TRACE_ID), "{what}");
    assert_eq!(error.may_have_been_created(), case.status >= 500, "{what}");
    assert_eq!(requests, 1, "{what}");
    assert_eq!(error.as_api().unwrap().attempts, 1, "{what}");
    assert_eq!(
        error.to_string(),
        format!(
            "Clerk answered {} ({}): {}{} [request id {BODY_TRACE_ID}]",
            case.status,
            case.code,
            case.long_message,
            match error.retry_after() {
                Some(wait) => format!("; retry after {}s", wait.as_secs_f64()),
                None => String::new(),
            }
        ),
        "{what}"
    );
}

#[tokio::test]
async fn every_final_code_is_classified_and_sent_once() {
    for case in FINAL_CASES {
        let (error, requests) = fail_with(answer(case)).await;
        check(case, &error, requests);
        assert_eq!(error.retry_after(), None, "{}", case.code);
    }
}

#[tokio::test]
async fn every_retryable_code_is_classified_with_a_wait() {
    for case in RETRYABLE_CASES {
        let (error, requests) = fail_with_policy(
            answer(case).insert_header("retry-after", "4"),
            RetryPolicy::never(),
        )
        .await;
        check(case, &error, requests);
        assert_eq!(
            error.retry_after(),
            Some(std::time::Duration::from_secs(4)),
            "{}",
            case.code
        );
    }
}

#[tokio::test]
async fn the_message_falls_back_to_the_short_one() {
    let (error, _) = fail_with(clerk_json(
        400,
        json!({"errors": [{"code": "already_a_member_in_organization", "message": "already a member"}]}),
    ))
    .await;
    assert_eq!(error.kind(), ErrorKind::AlreadyMember);
    assert_eq!(error.vendor_message(), Some("already a member"));
}

#[tokio::test]
async fn the_deciding_error_comes_first_among_several() {
    let (error, _) = fail_with(clerk_json(
        422,
        json!({
            "errors": [
                {"code": "form_param_unknown", "message": "is unknown",
                 "long_message": "foo is not a valid parameter for this request.",
                 "meta": {"param_name": "foo"}},
                {"code": "form_param_format_invalid", "message": "is invalid",
                 "long_message": "email_address must be a valid email address.",
                 "meta": {"param_name": "email_address"}}
            ],
            "clerk_trace_id": BODY_TRACE_ID
        }),
    ))
    .await;
    assert_eq!(error.kind(), ErrorKind::InvalidEmail);
    let api = error.as_api().unwrap();
    assert_eq!(
        api.codes,
        ["form_param_format_invalid", "form_param_unknown"]
    );
    assert_eq!(
        error.vendor_message(),
        Some("email_address must be a valid email address.; foo is not a valid parameter for this request.")
    );
}

#[tokio::test]
async fn unlisted_codes_follow_the_status() {
    let cases = [
        (
            401,
            "could_not_authenticate_request",
            ErrorKind::Unauthenticated,
        ),
        (
            403,
            "missing_organization_permission",
            ErrorKind::PermissionDenied,
        ),
        (
            403,
            "organization_not_enabled_in_instance",
            ErrorKind::PermissionDenied,
        ),
        (
            404,
            "organization_invitation_not_found",
            ErrorKind::NotFound,
        ),
        (422, "organization_domain_mismatch", ErrorKind::Validation),
        (400, "something_new", ErrorKind::Validation),
        (413, "request_body_too_large", ErrorKind::UnexpectedStatus),
    ];
    for (status, code, kind) in cases {
        let (error, requests) = fail_with(clerk_error(status, code, "short", "long")).await;
        assert_eq!(error.kind(), kind, "{code}");
        assert_eq!(error.vendor_code(), Some(code));
        assert_eq!(error.vendor_message(), Some("long"));
        assert_eq!(requests, 1);
    }
}

#[tokio::test]
async fn a_5xx_is_a_server_error_whatever_its_code_says() {
    let (error, requests) = fail_with(clerk_error(
        500,
        "already_a_member_in_organization",
        "x",
        "y",
    ))
    .await;
    assert_eq!(error.kind(), ErrorKind::ServerError);
    assert!(error.may_have_been_created());
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn trace_id_from_the_body_then_the_clerk_header_then_cf_ray() {
    let both_headers = |body: serde_json::Value| {
        clerk_json(404, body)
            .insert_header("clerk-trace-id", "from-clerk-header")
            .insert_header("cf-ray", "8a1b2c3d4e5f6789-FRA")
    };
    let errors = json!([{"code": "resource_not_found", "message": "not found", "long_message": "Given organization not found."}]);

    let (error, _) = fail_with(both_headers(
        json!({"errors": errors, "clerk_trace_id": "from-body"}),
    ))
    .await;
    assert_eq!(error.request_id(), Some("from-body"));

    let (error, _) = fail_with(both_headers(json!({"errors": errors}))).await;
    assert_eq!(error.request_id(), Some("from-clerk-header"));
    assert_eq!(error.kind(), ErrorKind::NotFound);

    let (error, _) = fail_with(
        clerk_json(404, json!({"errors": errors, "clerk_trace_id": ""}))
            .insert_header("cf-ray", "8a1b2c3d4e5f6789-FRA"),
    )
    .await;
    assert_eq!(error.request_id(), Some("8a1b2c3d4e5f6789-FRA"));

    let (error, _) = fail_with(clerk_json(404, json!({"errors": errors}))).await;
    assert_eq!(error.request_id(), None);
}

#[tokio::test]
async fn html_gateway_page_keeps_the_status() {
    let (error, requests) = fail_with(
        ResponseTemplate::new(502)
            .insert_header("content-type", "text/html")
            .insert_header("cf-ray", "8a1b2c3d4e5f6789-AMS")
            .set_body_string("<html><body><h1>502 Bad Gateway</h1></body></html>"),
    )
    .await;
    assert_eq!(error.kind(), ErrorKind::ServerError);
    assert_eq!(error.status().unwrap().as_u16(), 502);
    assert_eq!(error.vendor_code(), None);
    assert_eq!(error.vendor_message(), None);
    assert_eq!(error.request_id(), Some("8a1b2c3d4e5f6789-AMS"));
    assert!(error.may_have_been_created());
    assert_eq!(
        error.to_string(),
        "Clerk answered 502: no readable error body [request id 8a1b2c3d4e5f6789-AMS]"
    );
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn html_and_empty_bodies_keep_the_status() {
    let cases = [
        (400, ErrorKind::Validation),
        (401, ErrorKind::Unauthenticated),
        (402, ErrorKind::PaymentRequired),
        (403, ErrorKind::PermissionDenied),
        (404, ErrorKind::NotFound),
        (409, ErrorKind::Conflict),
        (422, ErrorKind::Validation),
        (429, ErrorKind::RateLimited),
        (500, ErrorKind::ServerError),
        (503, ErrorKind::ServerError),
    ];
    for (status, kind) in cases {
        for body in [
            "",
            "<html><body>Oops</body></html>",
            "{\"errors\": \"weird\"}",
        ] {
            let (error, requests) = fail_with_policy(
                ResponseTemplate::new(status).set_body_string(body),
                RetryPolicy::never(),
            )
            .await;
            assert_eq!(error.kind(), kind, "{status} {body:?}");
            assert_eq!(error.status().unwrap().as_u16(), status);
            assert_eq!(error.vendor_message(), None);
            assert_eq!(error.vendor_code(), None);
            assert_eq!(requests, 1, "{status}");
        }
    }
}

#[tokio::test]
async fn which_answers_doom_the_other_requests_is_clerks_own_judgement() {
    let clerk = orginvite::Clerk::builder()
        .token("sk_test_doom")
        .build()
        .unwrap();
    // Answers about the whole organization or credential doom the rest; answers about one
    // request (its role, its inviter, its email, a person already there) do not.
    let dooming = [
        "authentication_invalid",
        "clerk_key_invalid",
        "authorization_header_format_invalid",
        "unsupported_subscription_plan_features",
        "insufficient_seats",
        "authorization_invalid",
        "not_allowed_access",
        "organization_membership_quota_exceeded",
        "organization_not_found_or_unauthorized",
    ];
    for case in FINAL_CASES {
        let (error, _) = fail_with(answer(case)).await;
        // Clerk's 404 "Organization role not found" is about the request's role.
        let expected = dooming.contains(&case.code);
        assert_eq!(
            clerk.dooms_other_requests(&error),
            expected,
            "{} {}",
            case.code,
            case.long_message
        );
    }
}
