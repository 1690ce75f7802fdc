//! The Elastic Cloud API key never appears in `Debug` or `Display` of the client, the builder
//! or any error.

use crate::common::elastic::*;
use orginvite::{CreateInvitation, ElasticCloud, Error, RetryPolicy};
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn assert_hidden(what: &str, text: &str) {
    assert!(!text.contains(EC_API_KEY), "{what} shows the key: {text}");
    assert!(
        !text.contains("SECRETapikey"),
        "{what} shows part of the key: {text}"
    );
}

fn assert_error_hidden(error: &Error) {
    assert_hidden("Debug", &format!("{error:?}"));
    assert_hidden("Display", &format!("{error}"));
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        assert_hidden("source", &format!("{inner} {inner:?}"));
        source = inner.source();
    }
}

#[tokio::test]
async fn client_and_builder_debug_hide_the_key() {
    let builder = ElasticCloud::builder()
        .token(EC_API_KEY)
        .base_url("https://api.us-gov-east-1.aws.elastic-cloud.com/api/v1");
    assert_hidden("builder", &format!("{builder:?}"));
    let client = builder.build().unwrap();
    let debug = format!("{client:?}");
    assert_hidden("client", &debug);
    assert!(debug.contains("[redacted]"), "{debug}");
    assert!(debug.contains("api.us-gov-east-1.aws.elastic-cloud.com/api/v1"));
    let boxed: Box<dyn orginvite::Provider> = Box::new(client);
    assert_hidden("dyn provider", &format!("{boxed:?}"));
}

#[tokio::test]
async fn no_error_shows_the_key() {
    let answers = [
        failed(
            403,
            "root.invalid_authentication",
            "The supplied authentication is invalid",
        ),
        failed(404, "organization.not_found", "Organization not found"),
        failed(
            429,
            "organization.invitations_rate_limit_exceeded",
            "Too many invitations",
        ),
        html_with_codes(449, "root.elevated_permissions_required"),
        ResponseTemplate::new(400).set_body_json(json!({"errors": []})),
        ResponseTemplate::new(500).set_body_string("<html>oops</html>"),
        ResponseTemplate::new(201).set_body_string("not json"),
        created_for("someone-else@example.com"),
        ResponseTemplate::new(307).insert_header("location", "https://elsewhere.example/"),
    ];
    for answer in answers {
        let server = MockServer::start().await;
        Mock::given(any()).respond_with(answer).mount(&server).await;
        let (elastic, _) = elastic_with(&server, RetryPolicy::never());
        let error = elastic
            .create_invitation(&CreateInvitation::email(ORG, "jane@example.com"))
            .await
            .unwrap_err();
        assert_error_hidden(&error);
    }
    // Refused before sending, unsupported, and a broken connection.
    let (elastic, _) = elastic(&MockServer::start().await);
    for request in [
        CreateInvitation::email(ORG, "not an email"),
        CreateInvitation::user_id(ORG, "42"),
    ] {
        let error = elastic.create_invitation(&request).await.unwrap_err();
        assert_error_hidden(&error);
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let elastic = ElasticCloud::builder()
        .token(EC_API_KEY)
        .base_url(format!("http://127.0.0.1:{port}/api/v1"))
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let error = elastic
        .create_invitation(&CreateInvitation::email(ORG, "jane@example.com"))
        .await
        .unwrap_err();
    assert_error_hidden(&error);
}

#[test]
fn configuration_errors_do_not_echo_the_key() {
    let bad = format!("{EC_API_KEY}\r\nX-Evil: 1");
    let error = ElasticCloud::builder().token(bad).build().unwrap_err();
    assert_error_hidden(&error);
    let error = ElasticCloud::builder()
        .token(EC_API_KEY)
        .base_url("http://api.elastic-cloud.com/api/v1")
        .build()
        .unwrap_err();
    assert_error_hidden(&error);
}
