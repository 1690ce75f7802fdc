//! Bad input for Clerk is refused with a typed error before anything is sent, and the secret
//! key never shows in any output.

use std::time::Duration;

use crate::common::clerk::*;
use crate::common::*;
use orginvite::clerk::ClerkOptions;
use orginvite::{Clerk, CreateInvitation, Error, ErrorKind, ProviderKind, RetryPolicy, Role};
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const DAY: u64 = 24 * 60 * 60;

/// Runs `request` against a server that must receive nothing; returns the error.
async fn refused(request: CreateInvitation) -> Error {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(clerk_ok())
        .expect(0)
        .mount(&server)
        .await;
    let (clerk, sleeper) = clerk(&server);
    let error = clerk
        .create_invitation(&request)
        .await
        .expect_err("refused before sending");
    assert_eq!(
        request_count(&server).await,
        0,
        "nothing may reach the server"
    );
    assert!(sleeper.waits().is_empty());
    assert!(!error.may_have_been_created());
    assert_hidden(&error);
    error
}

fn field(error: &Error) -> &'static str {
    match error {
        Error::InvalidRequest(e) => e.field,
        other => panic!("not an invalid request: {other:?}"),
    }
}

fn invite() -> CreateInvitation {
    CreateInvitation::email(ORG, "jane.doe@acme.com")
}

#[tokio::test]
async fn expiry_must_be_whole_days_from_1_to_365() {
    let cases = [
        Duration::ZERO,
        Duration::from_secs(366 * DAY),
        Duration::from_secs(36 * 60 * 60),
        Duration::from_secs(DAY + 1),
        Duration::from_secs(12 * 60 * 60),
        Duration::from_millis(DAY * 1000 + 1),
    ];
    for expires_in in cases {
        let error = refused(invite().expires_in(expires_in)).await;
        assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{expires_in:?}");
        assert_eq!(field(&error), "expires_in", "{expires_in:?}");
    }
    let error = refused(invite().expires_in(Duration::from_secs(366 * DAY))).await;
    assert_eq!(error.provider(), Some(ProviderKind::Clerk));
    assert_eq!(
        error.to_string(),
        "invalid request: Clerk: `expires_in` must be from 1 to 365 days on Clerk, not 366"
    );
    let error = refused(invite().expires_in(Duration::from_secs(36 * 60 * 60))).await;
    assert_eq!(error.provider(), Some(ProviderKind::Clerk));
    assert!(
        error.to_string().contains("whole number of days"),
        "{error}"
    );
}

#[tokio::test]
async fn a_user_id_invitee_is_unsupported() {
    let error = refused(CreateInvitation::user_id(
        ORG,
        "user_2V7JJKmoA9HqzHhfMqK5cpgLl56",
    ))
    .await;
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    assert_eq!(error.provider(), Some(ProviderKind::Clerk));
    assert_eq!(
        error.to_string(),
        "Clerk does not support inviting by user id (Clerk invites by email address)"
    );
}

#[tokio::test]
async fn the_billing_manager_role_is_unsupported() {
    let error = refused(invite().role(Role::BillingManager)).await;
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    assert_eq!(error.provider(), Some(ProviderKind::Clerk));
    assert!(error.to_string().contains("billing manager"), "{error}");
}

#[tokio::test]
async fn a_malformed_email_is_refused() {
    for email in [
        "",
        "jane",
        "jane@",
        "@acme.com",
        "ja ne@acme.com",
        "jane@acme..com",
    ] {
        let error = refused(CreateInvitation::email(ORG, email)).await;
        assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{email:?}");
        assert_eq!(field(&error), "email", "{email:?}");
    }
}

#[tokio::test]
async fn the_organization_and_custom_roles_are_checked() {
    let error = refused(CreateInvitation::email("", "jane.doe@acme.com")).await;
    assert_eq!(field(&error), "organization");
    let error = refused(invite().role(Role::Custom("org:x\r\nX-Evil: 1".into()))).await;
    assert_eq!(field(&error), "role");
    let error = refused(invite().role(Role::Custom(String::new()))).await;
    assert_eq!(field(&error), "role");
    // Clerk's role keys all start `org:`: anything else is not one of its roles.
    for role in ["superuser", "billing", "org:"] {
        let error = refused(invite().role(Role::Custom(role.into()))).await;
        assert_eq!(field(&error), "role", "{role}");
        assert!(
            error
                .to_string()
                .contains(&format!("unknown role {role:?}")),
            "{error}"
        );
    }
}

#[tokio::test]
async fn clerk_options_are_checked() {
    let error = refused(invite().with(ClerkOptions::new().inviter_user_id(""))).await;
    assert_eq!(field(&error), "inviter_user_id");
    let error = refused(invite().with(ClerkOptions::new().inviter_user_id("user 1"))).await;
    assert_eq!(field(&error), "inviter_user_id");
    for url in [
        "",
        "not a url",
        "/relative/path",
        "https://app.acme.com/\nx",
    ] {
        let error = refused(invite().with(ClerkOptions::new().redirect_url(url))).await;
        assert_eq!(field(&error), "redirect_url", "{url:?}");
    }
}

#[test]
fn configuration_is_checked_at_build() {
    let kind = |b: orginvite::clerk::ClerkBuilder| b.build().unwrap_err().kind();
    assert_eq!(kind(Clerk::builder()), ErrorKind::InvalidConfig);
    assert_eq!(kind(Clerk::builder().token("")), ErrorKind::InvalidConfig);
    assert_eq!(
        kind(Clerk::builder().token("sk_test_a\r\nX-Evil: 1")),
        ErrorKind::InvalidConfig
    );
    assert_eq!(
        kind(
            Clerk::builder()
                .token("sk_test_x")
                .api_version("2026-05-12\n")
        ),
        ErrorKind::InvalidConfig
    );
    assert_eq!(
        kind(Clerk::builder().token("sk_test_x").api_version("")),
        ErrorKind::InvalidConfig
    );
    assert_eq!(
        kind(
            Clerk::builder()
                .token("sk_test_x")
                .base_url("http://api.clerk.com/v1")
        ),
        ErrorKind::InvalidConfig
    );
    assert!(Clerk::builder()
        .token("sk_test_x")
        .api_version("2026-05-12")
        .without_api_version()
        .build()
        .is_ok());
}

fn assert_text_hidden(what: &str, text: &str) {
    assert!(
        !text.contains(CLERK_SECRET_KEY),
        "{what} shows the key: {text}"
    );
    assert!(
        !text.contains("SECRETclerkKey"),
        "{what} shows part of the key: {text}"
    );
}

fn assert_hidden(error: &Error) {
    assert_text_hidden("Debug", &format!("{error:?}"));
    assert_text_hidden("Display", &format!("{error}"));
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        assert_text_hidden("source", &format!("{inner} {inner:?}"));
        source = inner.source();
    }
}

#[tokio::test]
async fn client_and_builder_debug_hide_the_key() {
    let builder = Clerk::builder()
        .token(CLERK_SECRET_KEY)
        .base_url("https://clerk.example.com/v1");
    assert_text_hidden("builder", &format!("{builder:?}"));
    let client = builder.build().unwrap();
    let debug = format!("{client:?}");
    assert_text_hidden("client", &debug);
    assert!(debug.contains("[redacted]"), "{debug}");
    let boxed: Box<dyn orginvite::Provider> = Box::new(client);
    assert_text_hidden("dyn provider", &format!("{boxed:?}"));
}

#[tokio::test]
async fn no_error_shows_the_key() {
    let answers = [
        clerk_error(
            401,
            "clerk_key_invalid",
            "invalid",
            "The provided Clerk Secret Key is invalid.",
        ),
        clerk_error(
            403,
            "authorization_invalid",
            "Unauthorized request",
            "You are not authorized",
        ),
        clerk_error(409, "conflict", "Conflict", "Conflict"),
        clerk_error(429, "too_many_requests", "Too many", "Too many")
            .insert_header("retry-after", "9999"),
        clerk_json(422, json!({"errors": [{"code": "form_param_unknown"}]})),
        ResponseTemplate::new(500).set_body_string("<html>oops</html>"),
        ResponseTemplate::new(200).set_body_string("not json"),
        ResponseTemplate::new(307).insert_header("location", "https://elsewhere.example/"),
    ];
    for answer in answers {
        let server = MockServer::start().await;
        Mock::given(any()).respond_with(answer).mount(&server).await;
        let (clerk, _) = clerk_with(&server, RetryPolicy::never());
        let error = clerk.create_invitation(&invite()).await.unwrap_err();
        assert_hidden(&error);
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let clerk = Clerk::builder()
        .token(CLERK_SECRET_KEY)
        .base_url(format!("http://127.0.0.1:{port}/v1"))
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let error = clerk.create_invitation(&invite()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport);
    assert_hidden(&error);
}

#[test]
fn configuration_errors_do_not_echo_the_key() {
    let bad = format!("{CLERK_SECRET_KEY}\r\nX-Evil: 1");
    let error = Clerk::builder().token(bad).build().unwrap_err();
    assert_hidden(&error);
}
