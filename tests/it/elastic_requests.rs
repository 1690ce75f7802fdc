//! What Elastic Cloud receives: method, exact path, every header and the exact JSON body.

use std::time::Duration;

use crate::common::elastic::*;
use crate::common::*;
use orginvite::elastic::{
    DeploymentRole, ElasticOptions, OrganizationRole, PlatformRole, ProjectRole, RoleAssignments,
};
use orginvite::{CreateInvitation, ElasticCloud, Provider, ProviderKind, Role};
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const EMAIL: &str = "jane@example.com";
const DAY: u64 = 24 * 60 * 60;
const HOUR: u64 = 60 * 60;

/// Mounts a mock that only answers a request with Elastic Cloud's headers, `path` and exactly
/// `body`.
async fn expect_request(server: &MockServer, path_: &str, body: Value, answer: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(path_))
        .and(header(
            "authorization",
            format!("ApiKey {EC_API_KEY}").as_str(),
        ))
        .and(header("accept", "application/json"))
        .and(header("content-type", "application/json"))
        .and(header("user-agent", USER_AGENT))
        .and(body_json(body))
        .respond_with(answer)
        .expect(1)
        .mount(server)
        .await;
}

/// Checks the raw bytes too: exactly the expected JSON, no nulls.
async fn assert_exact_body(server: &MockServer, expected: &Value) {
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let sent: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(&sent, expected);
    let raw = String::from_utf8_lossy(&requests[0].body);
    assert!(!raw.contains("null"), "{raw}");
}

async fn run(request: CreateInvitation, expected: Value) {
    let server = MockServer::start().await;
    let path = format!("/api/v1/organizations/{ORG}/invitations");
    expect_request(&server, &path, expected.clone(), created_for(EMAIL)).await;
    let (elastic, _) = elastic(&server);
    let invitation = elastic.create_invitation(&request).await.expect("created");
    assert_eq!(invitation.id, "token");
    assert_eq!(invitation.provider, ProviderKind::ElasticCloud);
    assert_exact_body(&server, &expected).await;
}

fn invite() -> CreateInvitation {
    CreateInvitation::email(ORG, EMAIL)
}

fn organization_role(role_id: &str) -> Value {
    json!({"role_id": role_id, "organization_id": ORG})
}

#[tokio::test]
async fn member_sends_no_role_assignments() {
    run(invite(), json!({"emails": [EMAIL]})).await;
    run(invite().role(Role::Member), json!({"emails": [EMAIL]})).await;
}

#[tokio::test]
async fn admin_is_organization_admin() {
    run(
        invite().role(Role::Admin),
        json!({
            "emails": [EMAIL],
            "role_assignments": {"organization": [organization_role("organization-admin")]}
        }),
    )
    .await;
}

#[tokio::test]
async fn billing_manager_is_billing_admin() {
    run(
        invite().role(Role::BillingManager),
        json!({
            "emails": [EMAIL],
            "role_assignments": {"organization": [organization_role("billing-admin")]}
        }),
    )
    .await;
}

#[tokio::test]
async fn custom_role_is_an_organization_role() {
    run(
        invite().role(Role::Custom("organization-viewer".into())),
        json!({
            "emails": [EMAIL],
            "role_assignments": {"organization": [organization_role("organization-viewer")]}
        }),
    )
    .await;
}

#[tokio::test]
async fn expiry_in_whole_days() {
    run(
        invite().expires_in(Duration::from_secs(7 * DAY)),
        json!({"emails": [EMAIL], "expires_in": "7d"}),
    )
    .await;
    // 72 hours are whole days.
    run(
        invite().expires_in(Duration::from_secs(72 * HOUR)),
        json!({"emails": [EMAIL], "expires_in": "3d"}),
    )
    .await;
}

#[tokio::test]
async fn expiry_in_whole_hours() {
    run(
        invite().expires_in(Duration::from_secs(36 * HOUR)),
        json!({"emails": [EMAIL], "expires_in": "36h"}),
    )
    .await;
    run(
        invite().expires_in(Duration::from_secs(HOUR)),
        json!({"emails": [EMAIL], "expires_in": "1h"}),
    )
    .await;
}

#[tokio::test]
async fn the_official_request_example_is_reproduced() {
    let expected: Value = serde_json::from_str(&fixture("elastic/create-request.json")).unwrap();
    let server = MockServer::start().await;
    expect_request(
        &server,
        "/api/v1/organizations/testorg/invitations",
        expected.clone(),
        created_with(&official_reply()),
    )
    .await;
    let (elastic, _) = elastic(&server);
    elastic
        .create_invitation(
            &CreateInvitation::email("testorg", "test@mail")
                .expires_in(Duration::from_secs(3 * DAY)),
        )
        .await
        .unwrap();
    assert_exact_body(&server, &expected).await;
}

#[tokio::test]
async fn full_role_assignment_tree() {
    let roles = RoleAssignments::new()
        .organization(OrganizationRole::billing_admin())
        .deployment(DeploymentRole::all("deployment-viewer"))
        .deployment(
            DeploymentRole::ids("deployment-editor", ["d-1", "d-2"]).application_roles(["editor"]),
        )
        .elasticsearch(ProjectRole::all("elasticsearch-developer"))
        .observability(ProjectRole::ids("observability-viewer", ["p-1"]))
        .security(ProjectRole::all("security-t1-analyst").application_roles(["t1", "viewer"]))
        .platform(PlatformRole::new("platform-viewer"));
    run(
        invite()
            .role(Role::Admin)
            .expires_in(Duration::from_secs(2 * DAY))
            .with(ElasticOptions::new().role_assignments(roles)),
        json!({
            "emails": [EMAIL],
            "expires_in": "2d",
            "role_assignments": {
                "organization": [
                    organization_role("organization-admin"),
                    organization_role("billing-admin")
                ],
                "deployment": [
                    {"role_id": "deployment-viewer", "organization_id": ORG, "all": true},
                    {
                        "role_id": "deployment-editor",
                        "organization_id": ORG,
                        "deployment_ids": ["d-1", "d-2"],
                        "application_roles": ["editor"]
                    }
                ],
                "project": {
                    "elasticsearch": [
                        {"role_id": "elasticsearch-developer", "organization_id": ORG, "all": true}
                    ],
                    "observability": [
                        {"role_id": "observability-viewer", "organization_id": ORG, "project_ids": ["p-1"]}
                    ],
                    "security": [
                        {
                            "role_id": "security-t1-analyst",
                            "organization_id": ORG,
                            "all": true,
                            "application_roles": ["t1", "viewer"]
                        }
                    ]
                },
                "platform": [{"role_id": "platform-viewer"}]
            }
        }),
    )
    .await;
}

#[tokio::test]
async fn member_with_only_deployment_roles() {
    let roles = RoleAssignments::new().deployment(DeploymentRole::all("deployment-admin"));
    run(
        invite().with(ElasticOptions::new().role_assignments(roles)),
        json!({
            "emails": [EMAIL],
            "role_assignments": {
                "deployment": [{"role_id": "deployment-admin", "organization_id": ORG, "all": true}]
            }
        }),
    )
    .await;
}

#[tokio::test]
async fn the_role_is_not_sent_twice() {
    let roles = RoleAssignments::new().organization(OrganizationRole::admin());
    run(
        invite()
            .role(Role::Admin)
            .with(ElasticOptions::new().role_assignments(roles)),
        json!({
            "emails": [EMAIL],
            "role_assignments": {"organization": [organization_role("organization-admin")]}
        }),
    )
    .await;
}

#[tokio::test]
async fn empty_role_assignments_are_omitted() {
    run(
        invite().with(ElasticOptions::new().role_assignments(RoleAssignments::new())),
        json!({"emails": [EMAIL]}),
    )
    .await;
}

#[tokio::test]
async fn github_options_are_ignored() {
    run(
        invite().with(orginvite::github::GitHubOptions::new().team_id(7)),
        json!({"emails": [EMAIL]}),
    )
    .await;
}

#[tokio::test]
async fn the_organization_is_one_encoded_segment() {
    let server = MockServer::start().await;
    expect_request(
        &server,
        "/api/v1/organizations/a%2F..%2Fb%3Fx%23y/invitations",
        json!({"emails": [EMAIL]}),
        created_for(EMAIL),
    )
    .await;
    let (elastic, _) = elastic(&server);
    elastic
        .create_invitation(&CreateInvitation::email("a/../b?x#y", EMAIL))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_base_url_keeps_its_path_and_defaults_apply() {
    // A GovCloud-like base with a longer path and a trailing slash.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/gov/api/v1/organizations/{ORG}/invitations")))
        .and(header(
            "user-agent",
            concat!("orginvite/", env!("CARGO_PKG_VERSION")),
        ))
        .and(header(
            "authorization",
            format!("ApiKey {EC_API_KEY}").as_str(),
        ))
        .respond_with(created_for(EMAIL))
        .expect(1)
        .mount(&server)
        .await;
    let elastic = ElasticCloud::builder()
        .token(EC_API_KEY)
        .base_url(format!("{}/gov/api/v1/", server.uri()))
        .build()
        .unwrap();
    elastic.create_invitation(&invite()).await.unwrap();
}

#[tokio::test]
async fn works_through_dyn_provider_and_spawn() {
    let server = MockServer::start().await;
    let path = format!("/api/v1/organizations/{ORG}/invitations");
    expect_request(
        &server,
        &path,
        json!({"emails": [EMAIL]}),
        created_for(EMAIL),
    )
    .await;
    let (elastic, _) = elastic(&server);
    let provider: std::sync::Arc<dyn Provider> = std::sync::Arc::new(elastic);
    assert_eq!(provider.kind(), ProviderKind::ElasticCloud);
    let task = tokio::spawn(async move { provider.create_invitation(&invite()).await });
    let invitation = task.await.unwrap().unwrap();
    assert_eq!(invitation.provider, ProviderKind::ElasticCloud);
    assert!(invitation
        .payload
        .get::<orginvite::elastic::ElasticInvitation>()
        .is_some());
    assert!(invitation
        .payload
        .get::<orginvite::github::GitHubInvitation>()
        .is_none());
}
