//! Elastic Cloud's 201 answers: the official example, newer servers' extra fields, and replies
//! that do not hold the invited person's invitation.

use crate::common::elastic::*;
use orginvite::jiff::Timestamp;
use orginvite::{CreateInvitation, Error, ErrorKind, Invitation, InvitationStatus, Role};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Answers `answer` to an invitation of `email` to `org`; exactly one request is expected.
async fn create(org: &str, email: &str, answer: ResponseTemplate) -> Result<Invitation, Error> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v1/organizations/{org}/invitations")))
        .respond_with(answer)
        .expect(1)
        .mount(&server)
        .await;
    let (elastic, sleeper) = elastic(&server);
    let result = elastic
        .create_invitation(&CreateInvitation::email(org, email))
        .await;
    assert!(sleeper.waits().is_empty());
    result
}

fn at(text: &str) -> Option<Timestamp> {
    Some(text.parse().unwrap())
}

#[tokio::test]
async fn the_official_example_decodes() {
    let invitation = create("testorg", "test@mail", created_with(&official_reply()))
        .await
        .unwrap();
    assert_eq!(invitation.id, "token");
    assert_eq!(invitation.email.as_deref(), Some("test@mail"));
    assert_eq!(invitation.created_at, at("2019-01-01T00:00:00Z"));
    assert_eq!(invitation.expires_at, at("2019-01-01T00:00:00Z"));
    // `accepted_at` is set in the example.
    assert_eq!(invitation.status, InvitationStatus::Accepted);
    assert_eq!(invitation.role, Role::BillingManager);
    assert_eq!(invitation.inviter, None);
    assert_eq!(invitation.accept_url, None);

    let raw = invitation
        .payload
        .get::<orginvite::elastic::ElasticInvitation>()
        .expect("the Elastic Cloud payload");
    assert_eq!(raw.token, "token");
    assert_eq!(raw.expired, Some(false));
    assert_eq!(raw.accepted_at.as_deref(), Some("2019-01-01T00:00:00Z"));
    let organization = raw.organization.as_ref().unwrap();
    assert_eq!(organization.id, "testorg");
    assert_eq!(organization.name.as_deref(), Some("testorganization"));
    assert_eq!(
        organization.extra["billing_contacts"],
        json!(["billing@mail"])
    );
    assert_eq!(
        organization.extra["operational_contacts"],
        json!(["op@mail"])
    );
    assert_eq!(
        organization.extra["default_disk_usage_alerts_enabled"],
        json!(true)
    );
    let roles = raw.role_assignments.as_ref().unwrap();
    assert_eq!(roles.organization.len(), 1);
    assert_eq!(roles.organization[0].role_id, "billing-admin");
    assert_eq!(
        roles.organization[0].organization_id.as_deref(),
        Some("testorg")
    );
    assert!(raw.extra.is_empty());

    // The payload serializes back to the vendor's invitation.
    let serialized = serde_json::to_value(&invitation).unwrap();
    assert_eq!(serialized["provider"], "elastic_cloud");
    assert_eq!(serialized["status"], "accepted");
    assert_eq!(serialized["role"], "billing_manager");
    assert_eq!(serialized["created_at"], "2019-01-01T00:00:00Z");
    assert_eq!(serialized["payload"], official_reply()["invitations"][0]);
}

#[tokio::test]
async fn the_email_is_matched_without_regard_to_case() {
    let invitation = create("testorg", "Test@MAIL", created_with(&official_reply()))
        .await
        .unwrap();
    assert_eq!(invitation.email.as_deref(), Some("test@mail"));
}

#[tokio::test]
async fn newer_servers_extra_fields_decode() {
    let mut reply = official_reply();
    let invitation = &mut reply["invitations"][0];
    invitation["sent_by"] = json!({"user_id": "42"});
    invitation["organization"]["sso_login_identifier"] = json!("acme-sso");
    invitation["role_assignments"]["project"] = json!({
        "search_ai_lake": [{"role_id": "lake-viewer", "organization_id": "testorg", "all": true}]
    });
    invitation["role_assignments"]["future_scope"] = json!([{"role_id": "x"}]);
    reply["next_page"] = json!(null);
    let invitation = create("testorg", "test@mail", created_with(&reply))
        .await
        .unwrap();
    let raw = invitation
        .payload
        .get::<orginvite::elastic::ElasticInvitation>()
        .unwrap();
    assert_eq!(raw.extra["sent_by"], json!({"user_id": "42"}));
    assert_eq!(
        raw.organization.as_ref().unwrap().extra["sso_login_identifier"],
        "acme-sso"
    );
    let roles = raw.role_assignments.as_ref().unwrap();
    assert!(roles.project.extra.contains_key("search_ai_lake"));
    assert!(roles.extra.contains_key("future_scope"));
    assert_eq!(invitation.role, Role::BillingManager);
}

#[tokio::test]
async fn status_and_role_follow_the_invitation() {
    let invitation = |extra: Value| {
        let mut base = json!({
            "token": "tok-1",
            "email": "jane@example.com",
            "created_at": "2026-03-01T10:00:00Z",
            "expires_at": "2026-03-04T10:00:00.5+01:00",
            "expired": false,
            "organization": {"id": ORG, "name": "Acme"}
        });
        base.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"invitations": [base]})
    };
    let pending = create(
        ORG,
        "jane@example.com",
        created_with(&invitation(json!({}))),
    )
    .await
    .unwrap();
    assert_eq!(pending.status, InvitationStatus::Pending);
    assert_eq!(pending.role, Role::Member);
    assert_eq!(pending.id, "tok-1");
    assert_eq!(pending.created_at, at("2026-03-01T10:00:00Z"));
    assert_eq!(pending.expires_at, at("2026-03-04T09:00:00.5Z"));

    let expired = create(
        ORG,
        "jane@example.com",
        created_with(&invitation(json!({
            "expired": true,
            "role_assignments": {"organization": [
                {"role_id": "billing-admin", "organization_id": ORG},
                {"role_id": "organization-admin", "organization_id": ORG}
            ]}
        }))),
    )
    .await
    .unwrap();
    assert_eq!(expired.status, InvitationStatus::Expired);
    assert_eq!(expired.role, Role::Admin);

    let custom = create(
        ORG,
        "jane@example.com",
        created_with(&invitation(json!({
            "role_assignments": {
                "organization": [{"role_id": "organization-viewer", "organization_id": ORG}],
                "deployment": [{"role_id": "deployment-viewer", "organization_id": ORG, "all": true}]
            }
        }))),
    )
    .await
    .unwrap();
    assert_eq!(custom.role, Role::Custom("organization-viewer".into()));
}

#[tokio::test]
async fn several_invitations_give_the_invitees() {
    let mut reply = official_reply();
    let first = reply["invitations"][0].clone();
    let mut other = first.clone();
    other["email"] = json!("someone-else@example.com");
    other["token"] = json!("other-token");
    let mut ours = first;
    ours["email"] = json!("jane@example.com");
    ours["token"] = json!("our-token");
    reply["invitations"] = json!([other, ours]);
    let invitation = create("testorg", "jane@example.com", created_with(&reply))
        .await
        .unwrap();
    assert_eq!(invitation.id, "our-token");
}

fn assert_created_but_undecodable(error: &Error) {
    assert_eq!(error.kind(), ErrorKind::Decode, "{error:?}");
    assert!(error.may_have_been_created(), "{error:?}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(201));
}

#[tokio::test]
async fn zero_invitations_is_a_decode_error() {
    let error = create(
        ORG,
        "jane@example.com",
        created_with(&json!({"invitations": []})),
    )
    .await
    .unwrap_err();
    assert_created_but_undecodable(&error);
    assert!(error.to_string().contains("invitation"), "{error}");
    let source = std::error::Error::source(&error).expect("a reason");
    assert!(source.to_string().contains("0 invitation"), "{source}");
}

#[tokio::test]
async fn another_email_is_a_decode_error() {
    let error = create(ORG, "jane@example.com", created_with(&official_reply()))
        .await
        .unwrap_err();
    assert_created_but_undecodable(&error);
    let source = std::error::Error::source(&error).expect("a reason");
    assert!(source.to_string().contains("1 invitation"), "{source}");
}

#[tokio::test]
async fn unreadable_success_bodies_are_decode_errors() {
    for body in [
        "",
        "<html>ok</html>",
        "{}",
        r#"{"invitations": {}}"#,
        r#"{"invitations": [{"email": "jane@example.com"}]}"#,
    ] {
        let answer = ResponseTemplate::new(201)
            .insert_header("x-request-id", "req-201")
            .set_body_string(body);
        let error = create(ORG, "jane@example.com", answer).await.unwrap_err();
        assert_created_but_undecodable(&error);
        assert_eq!(error.request_id(), Some("req-201"), "{body}");
    }
}
