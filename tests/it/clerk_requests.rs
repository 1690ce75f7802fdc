//! What Clerk receives: method, exact path, every header and the exact JSON body.

use std::time::Duration;

use crate::common::clerk::*;
use crate::common::*;
use orginvite::clerk::ClerkOptions;
use orginvite::github::GitHubOptions;
use orginvite::{Clerk, CreateInvitation, Provider, Role};
use serde_json::{json, Map, Value};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer};

const DAY: u64 = 24 * 60 * 60;

/// Mounts a mock that only answers a request with Clerk's headers, `path` and exactly `body`.
async fn expect_request(server: &MockServer, path_: &str, body: Value) {
    Mock::given(method("POST"))
        .and(path(path_))
        .and(header(
            "authorization",
            format!("Bearer {CLERK_SECRET_KEY}").as_str(),
        ))
        .and(header("content-type", "application/json"))
        .and(header("accept", "application/json"))
        .and(header("clerk-api-version", "2026-05-12"))
        .and(header("user-agent", USER_AGENT))
        .and(body_json(body))
        .respond_with(clerk_ok())
        .expect(1)
        .mount(server)
        .await;
}

/// The one request the server received, checked byte for byte: the exact JSON, no `null`, no
/// query string.
async fn assert_exact_body(server: &MockServer, expected: &Value, allow_null: bool) {
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url.query(), None);
    let sent: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(&sent, expected);
    if !allow_null {
        assert!(
            !String::from_utf8_lossy(&requests[0].body).contains("null"),
            "a null was sent: {}",
            String::from_utf8_lossy(&requests[0].body)
        );
    }
}

async fn run(request: CreateInvitation, expected: Value) {
    run_allowing_null(request, expected, false).await;
}

async fn run_allowing_null(request: CreateInvitation, expected: Value, allow_null: bool) {
    let server = MockServer::start().await;
    expect_request(&server, INVITATIONS_PATH, expected.clone()).await;
    let (clerk, sleeper) = clerk(&server);
    let invitation = clerk.create_invitation(&request).await.expect("created");
    assert_eq!(invitation.id, "orginv_2g7np7Hrk0SN6kj5EDMLDaKNL0S");
    assert!(sleeper.waits().is_empty());
    assert_exact_body(&server, &expected, allow_null).await;
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

#[tokio::test]
async fn minimal_invite() {
    run(
        CreateInvitation::email(ORG, "jane.doe@acme.com"),
        json!({"email_address": "jane.doe@acme.com", "role": "org:member"}),
    )
    .await;
}

#[tokio::test]
async fn every_option() {
    run(
        CreateInvitation::email(ORG, "jane.doe@acme.com")
            .role(Role::Admin)
            .expires_in(Duration::from_secs(14 * DAY))
            .with(
                ClerkOptions::new()
                    .inviter_user_id("user_2V7JJKmoA9HqzHhfMqK5cpgLl56")
                    .public_metadata(object(json!({"team": "design", "seat": 3})))
                    .private_metadata(object(json!({"crm_id": "A-17", "vip": true})))
                    .redirect_url("https://app.acme.com/welcome?from=invite")
                    .notify(false),
            ),
        json!({
            "email_address": "jane.doe@acme.com",
            "role": "org:admin",
            "inviter_user_id": "user_2V7JJKmoA9HqzHhfMqK5cpgLl56",
            "public_metadata": {"team": "design", "seat": 3},
            "private_metadata": {"crm_id": "A-17", "vip": true},
            "redirect_url": "https://app.acme.com/welcome?from=invite",
            "expires_in_days": 14,
            "notify": false
        }),
    )
    .await;
}

#[tokio::test]
async fn each_role_maps_to_clerks_key() {
    let cases = [
        (Role::Admin, "org:admin"),
        (Role::Member, "org:member"),
        (Role::Custom("org:viewer".into()), "org:viewer"),
        (Role::Custom("org:billing".into()), "org:billing"),
    ];
    for (role, wire) in cases {
        run(
            CreateInvitation::email(ORG, "jane.doe@acme.com").role(role),
            json!({"email_address": "jane.doe@acme.com", "role": wire}),
        )
        .await;
    }
}

#[tokio::test]
async fn metadata_objects_are_sent_verbatim() {
    let public = json!({
        "profile": {"team": {"name": "Ünïcødé 设计", "emoji": "🚀"}, "tags": ["a", "b", 3]},
        "level": 2.5,
        "quote": "she said \"hi\"\n",
        "empty": {},
        "list": []
    });
    let private = json!({"nested": {"deeper": {"deepest": [{"k": false}]}}, "n": -7});
    run(
        CreateInvitation::email(ORG, "jane.doe@acme.com").with(
            ClerkOptions::new()
                .public_metadata(object(public.clone()))
                .private_metadata(object(private.clone())),
        ),
        json!({
            "email_address": "jane.doe@acme.com",
            "role": "org:member",
            "public_metadata": public,
            "private_metadata": private
        }),
    )
    .await;
}

#[tokio::test]
async fn a_null_inside_metadata_is_the_callers_data_and_is_kept() {
    let public = json!({"manager": null, "team": "ops"});
    run_allowing_null(
        CreateInvitation::email(ORG, "jane.doe@acme.com")
            .with(ClerkOptions::new().public_metadata(object(public.clone()))),
        json!({"email_address": "jane.doe@acme.com", "role": "org:member", "public_metadata": public}),
        true,
    )
    .await;
}

#[tokio::test]
async fn empty_metadata_objects_are_sent() {
    run(
        CreateInvitation::email(ORG, "jane.doe@acme.com")
            .with(ClerkOptions::new().public_metadata(Map::new())),
        json!({"email_address": "jane.doe@acme.com", "role": "org:member", "public_metadata": {}}),
    )
    .await;
}

#[tokio::test]
async fn notify_true_is_sent_when_set() {
    run(
        CreateInvitation::email(ORG, "jane.doe@acme.com").with(ClerkOptions::new().notify(true)),
        json!({"email_address": "jane.doe@acme.com", "role": "org:member", "notify": true}),
    )
    .await;
}

#[tokio::test]
async fn expiry_bounds_are_whole_days() {
    for days in [1, 30, 365] {
        run(
            CreateInvitation::email(ORG, "jane.doe@acme.com")
                .expires_in(Duration::from_secs(days * DAY)),
            json!({"email_address": "jane.doe@acme.com", "role": "org:member", "expires_in_days": days}),
        )
        .await;
    }
}

#[tokio::test]
async fn other_vendors_options_are_ignored() {
    run(
        CreateInvitation::email(ORG, "jane.doe@acme.com")
            .with(GitHubOptions::new().team_id(12).reinstate(true)),
        json!({"email_address": "jane.doe@acme.com", "role": "org:member"}),
    )
    .await;
}

#[tokio::test]
async fn github_ignores_the_clerk_options() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v3/orgs/acme/invitations"))
        .and(body_json(
            json!({"email": "octocat@github.com", "role": "direct_member"}),
        ))
        .respond_with(github_created())
        .expect(1)
        .mount(&server)
        .await;
    let (github, _) = github(&server);
    github
        .create_invitation(
            &CreateInvitation::email("acme", "octocat@github.com").with(
                ClerkOptions::new()
                    .inviter_user_id("user_1")
                    .notify(false)
                    .redirect_url("https://app.acme.com"),
            ),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn the_organization_is_one_encoded_segment() {
    let server = MockServer::start().await;
    expect_request(
        &server,
        "/v1/organizations/org%2F..%2Fusers%3Fx%23y/invitations",
        json!({"email_address": "jane.doe@acme.com", "role": "org:member"}),
    )
    .await;
    let (clerk, _) = clerk(&server);
    clerk
        .create_invitation(&CreateInvitation::email(
            "org/../users?x#y",
            "jane.doe@acme.com",
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn api_version_can_be_changed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(INVITATIONS_PATH))
        .and(header("clerk-api-version", "2025-11-10"))
        .and(header(
            "user-agent",
            concat!("orginvite/", env!("CARGO_PKG_VERSION")),
        ))
        .respond_with(clerk_ok())
        .expect(1)
        .mount(&server)
        .await;
    let clerk = Clerk::builder()
        .token(CLERK_SECRET_KEY)
        .base_url(format!("{}/v1/", server.uri()))
        .api_version("2025-11-10")
        .build()
        .unwrap();
    clerk
        .create_invitation(&CreateInvitation::email(ORG, "jane.doe@acme.com"))
        .await
        .unwrap();
}

#[tokio::test]
async fn api_version_can_be_turned_off() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(INVITATIONS_PATH))
        .respond_with(clerk_ok())
        .expect(1)
        .mount(&server)
        .await;
    let clerk = Clerk::builder()
        .token(CLERK_SECRET_KEY)
        .base_url(format!("{}/v1", server.uri()))
        .without_api_version()
        .build()
        .unwrap();
    clerk
        .create_invitation(&CreateInvitation::email(ORG, "jane.doe@acme.com"))
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let headers = &requests[0].headers;
    assert!(headers.get("clerk-api-version").is_none(), "{headers:?}");
    assert_eq!(
        requests[0].url.query(),
        None,
        "no __clerk_api_version either"
    );
    assert_eq!(
        headers.get("authorization").unwrap().to_str().unwrap(),
        format!("Bearer {CLERK_SECRET_KEY}")
    );
    assert_eq!(headers.get("content-type").unwrap(), "application/json");
}

#[tokio::test]
async fn api_version_is_sent_once_by_default() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(clerk_ok())
        .expect(1)
        .mount(&server)
        .await;
    let (clerk, _) = clerk(&server);
    clerk
        .create_invitation(&CreateInvitation::email(ORG, "jane.doe@acme.com"))
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let values: Vec<_> = requests[0]
        .headers
        .get_all("clerk-api-version")
        .iter()
        .collect();
    assert_eq!(values, ["2026-05-12"]);
    assert_eq!(requests[0].url.query(), None);
}

#[test]
fn the_default_base_url_is_clerks_v1() {
    let clerk = Clerk::builder().token(CLERK_SECRET_KEY).build().unwrap();
    let debug = format!("{clerk:?}");
    assert!(debug.contains("\"https://api.clerk.com/v1\""), "{debug}");
    assert!(debug.contains("2026-05-12"), "{debug}");
}

#[tokio::test]
async fn works_through_dyn_provider_and_spawn() {
    let server = MockServer::start().await;
    expect_request(
        &server,
        INVITATIONS_PATH,
        json!({"email_address": "jane.doe@acme.com", "role": "org:member"}),
    )
    .await;
    let (clerk, _) = clerk(&server);
    let provider: std::sync::Arc<dyn Provider> = std::sync::Arc::new(clerk);
    assert_eq!(provider.kind(), orginvite::ProviderKind::Clerk);
    let task = tokio::spawn(async move {
        let request = CreateInvitation::email(ORG, "jane.doe@acme.com");
        provider.create_invitation(&request).await
    });
    let invitation = task.await.unwrap().unwrap();
    assert_eq!(invitation.provider, orginvite::ProviderKind::Clerk);
}
