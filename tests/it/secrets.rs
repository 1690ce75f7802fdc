//! The token never appears in `Debug` or `Display` of the client, the builder, the request or
//! any error.

use crate::common::*;
use orginvite::{CreateInvitation, Error, GitHub, RetryPolicy};
use serde_json::json;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn assert_hidden(what: &str, text: &str) {
    assert!(
        !text.contains(GITHUB_TOKEN),
        "{what} shows the token: {text}"
    );
    assert!(
        !text.contains("SECRETtoken"),
        "{what} shows part of the token: {text}"
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
async fn client_and_builder_debug_hide_the_token() {
    let builder = GitHub::builder()
        .token(GITHUB_TOKEN)
        .base_url("https://ghe.example.com/api/v3");
    assert_hidden("builder", &format!("{builder:?}"));
    let client = builder.build().unwrap();
    let debug = format!("{client:?}");
    assert_hidden("client", &debug);
    assert!(debug.contains("[redacted]"));
    let request = CreateInvitation::email("acme", "octocat@github.com");
    assert_hidden("request", &format!("{request:?}"));
    let boxed: Box<dyn orginvite::Provider> = Box::new(client);
    assert_hidden("dyn provider", &format!("{boxed:?}"));
}

#[tokio::test]
async fn no_error_shows_the_token() {
    let answers = [
        ResponseTemplate::new(401).set_body_json(json!({"message": "Bad credentials"})),
        ResponseTemplate::new(403).set_body_json(json!({"message": "Forbidden"})),
        ResponseTemplate::new(403)
            .set_body_json(json!({"message": "secondary rate limit"}))
            .insert_header("retry-after", "9999"),
        ResponseTemplate::new(404),
        ResponseTemplate::new(422).set_body_json(json!({"message": "Validation Failed"})),
        ResponseTemplate::new(429),
        ResponseTemplate::new(500).set_body_string("<html>oops</html>"),
        ResponseTemplate::new(201).set_body_string("not json"),
        ResponseTemplate::new(307).insert_header("location", "https://elsewhere.example/"),
    ];
    for answer in answers {
        let server = MockServer::start().await;
        Mock::given(any()).respond_with(answer).mount(&server).await;
        let (github, _) = github_with(&server, RetryPolicy::never());
        let error = github
            .create_invitation(&CreateInvitation::email("acme", "octocat@github.com"))
            .await
            .unwrap_err();
        assert_error_hidden(&error);
    }
    // Refused before sending, and a broken connection.
    let (github, _) = github(&MockServer::start().await);
    let error = github
        .create_invitation(&CreateInvitation::email("", "octocat@github.com"))
        .await
        .unwrap_err();
    assert_error_hidden(&error);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let github = GitHub::builder()
        .token(GITHUB_TOKEN)
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let error = github
        .create_invitation(&CreateInvitation::email("acme", "octocat@github.com"))
        .await
        .unwrap_err();
    assert_error_hidden(&error);
}

#[test]
fn configuration_errors_do_not_echo_the_token() {
    let bad = format!("{GITHUB_TOKEN}\r\nX-Evil: 1");
    let error = GitHub::builder().token(bad).build().unwrap_err();
    assert_error_hidden(&error);
}
