//! What GitHub receives: method, exact path, every header and the exact JSON body.

use crate::common::*;
use orginvite::github::GitHubOptions;
use orginvite::{CreateInvitation, GitHub, Provider, Role};
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer};

/// Mounts a mock that only answers a request with GitHub's headers, `path` and exactly `body`.
async fn expect_request(server: &MockServer, path_: &str, body: Value) {
    Mock::given(method("POST"))
        .and(path(path_))
        .and(header(
            "authorization",
            format!("Bearer {GITHUB_TOKEN}").as_str(),
        ))
        .and(header("accept", "application/vnd.github+json"))
        .and(header("x-github-api-version", "2022-11-28"))
        .and(header("user-agent", USER_AGENT))
        .and(header("content-type", "application/json"))
        .and(body_json(body))
        .respond_with(github_created())
        .expect(1)
        .mount(server)
        .await;
}

/// Checks the raw bytes too: no field beyond the expected ones, no nulls.
async fn assert_exact_body(server: &MockServer, expected: Value) {
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let sent: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(sent, expected);
    assert!(!String::from_utf8_lossy(&requests[0].body).contains("null"));
}

async fn run(request: CreateInvitation, expected: Value) {
    let server = MockServer::start().await;
    expect_request(&server, "/api/v3/orgs/acme/invitations", expected.clone()).await;
    let (github, _) = github(&server);
    let invitation = github.create_invitation(&request).await.expect("created");
    assert_eq!(invitation.id, "1");
    assert_exact_body(&server, expected).await;
}

#[tokio::test]
async fn email_invite_as_member() {
    run(
        CreateInvitation::email("acme", "octocat@github.com"),
        json!({"email": "octocat@github.com", "role": "direct_member"}),
    )
    .await;
}

#[tokio::test]
async fn user_id_invite() {
    run(
        CreateInvitation::user_id("acme", "583231"),
        json!({"invitee_id": 583231, "role": "direct_member"}),
    )
    .await;
}

#[tokio::test]
async fn each_role_maps_to_githubs_name() {
    let cases = [
        (Role::Admin, "admin"),
        (Role::Member, "direct_member"),
        (Role::BillingManager, "billing_manager"),
        (Role::Custom("direct_member".into()), "direct_member"),
    ];
    for (role, wire) in cases {
        run(
            CreateInvitation::email("acme", "octocat@github.com").role(role),
            json!({"email": "octocat@github.com", "role": wire}),
        )
        .await;
    }
}

#[tokio::test]
async fn team_ids() {
    run(
        CreateInvitation::email("acme", "octocat@github.com")
            .role(Role::Admin)
            .with(GitHubOptions::new().team_id(12).team_ids([34, 56])),
        json!({"email": "octocat@github.com", "role": "admin", "team_ids": [12, 34, 56]}),
    )
    .await;
}

#[tokio::test]
async fn reinstate() {
    run(
        CreateInvitation::user_id("acme", "42").with(GitHubOptions::new().reinstate(true)),
        json!({"invitee_id": 42, "role": "reinstate"}),
    )
    .await;
}

#[tokio::test]
async fn public_github_base_has_no_path_prefix() {
    let server = MockServer::start().await;
    expect_request(
        &server,
        "/orgs/acme/invitations",
        json!({"email": "octocat@github.com", "role": "direct_member"}),
    )
    .await;
    let github = GitHub::builder()
        .token(GITHUB_TOKEN)
        .base_url(server.uri())
        .user_agent(USER_AGENT)
        .build()
        .unwrap();
    github
        .create_invitation(&CreateInvitation::email("acme", "octocat@github.com"))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_organization_is_one_encoded_segment() {
    let server = MockServer::start().await;
    expect_request(
        &server,
        "/api/v3/orgs/a%2F..%2Fb%3Fx%23y/invitations",
        json!({"email": "octocat@github.com", "role": "direct_member"}),
    )
    .await;
    let (github, _) = github(&server);
    github
        .create_invitation(&CreateInvitation::email("a/../b?x#y", "octocat@github.com"))
        .await
        .unwrap();
}

#[tokio::test]
async fn api_version_and_defaults_can_be_changed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/orgs/acme/invitations"))
        .and(header("x-github-api-version", "2026-03-10"))
        .and(header(
            "user-agent",
            concat!("orginvite/", env!("CARGO_PKG_VERSION")),
        ))
        .respond_with(github_created())
        .expect(1)
        .mount(&server)
        .await;
    let github = GitHub::builder()
        .token(GITHUB_TOKEN)
        .base_url(server.uri())
        .api_version("2026-03-10")
        .build()
        .unwrap();
    github
        .create_invitation(&CreateInvitation::email("acme", "octocat@github.com"))
        .await
        .unwrap();
}

#[tokio::test]
async fn works_through_dyn_provider_and_spawn() {
    let server = MockServer::start().await;
    expect_request(
        &server,
        "/api/v3/orgs/acme/invitations",
        json!({"email": "octocat@github.com", "role": "direct_member"}),
    )
    .await;
    let (github, _) = github(&server);
    let provider: std::sync::Arc<dyn Provider> = std::sync::Arc::new(github);
    assert_eq!(provider.kind(), orginvite::ProviderKind::GitHub);
    let task = tokio::spawn(async move {
        let request = CreateInvitation::email("acme", "octocat@github.com");
        provider.create_invitation(&request).await
    });
    let invitation = task.await.unwrap().unwrap();
    assert_eq!(invitation.provider, orginvite::ProviderKind::GitHub);
}
