//! Clerk's 200 answers decode into `Invitation`, keeping the whole Clerk payload.

use crate::common::clerk::*;
use orginvite::{CreateInvitation, ErrorKind, Invitation, InvitationStatus, Role};
use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Invites against a server answering `answer` once; returns the invitation.
async fn decode(request: CreateInvitation, answer: ResponseTemplate) -> Invitation {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(answer)
        .expect(1)
        .mount(&server)
        .await;
    let (clerk, _) = clerk(&server);
    clerk.create_invitation(&request).await.expect("decoded")
}

fn ok(body: Value) -> ResponseTemplate {
    clerk_json(200, body)
}

fn request() -> CreateInvitation {
    CreateInvitation::email(ORG, "jane.doe@acme.com")
}

#[tokio::test]
async fn the_official_example_decodes() {
    let invitation = decode(request(), clerk_ok()).await;
    assert_eq!(invitation.provider, orginvite::ProviderKind::Clerk);
    assert_eq!(invitation.id, "orginv_2g7np7Hrk0SN6kj5EDMLDaKNL0S");
    assert_eq!(invitation.email.as_deref(), Some("jane.doe@acme.com"));
    assert_eq!(invitation.role, Role::Member);
    assert_eq!(invitation.status, InvitationStatus::Pending);
    assert_eq!(
        invitation.created_at.unwrap().to_string(),
        "2024-05-28T08:00:00Z"
    );
    assert_eq!(
        invitation.expires_at.unwrap().to_string(),
        "2024-06-04T07:59:59Z"
    );
    assert_eq!(
        invitation.accept_url.as_deref(),
        Some("https://accounts.acme.com/accept-invitation?token=abc123")
    );
    assert_eq!(invitation.inviter, None);
    assert!(invitation
        .payload
        .get::<orginvite::github::GitHubInvitation>()
        .is_none());

    let clerk = invitation
        .payload
        .get::<orginvite::clerk::ClerkInvitation>()
        .expect("a Clerk payload");
    assert_eq!(clerk.object.as_deref(), Some("organization_invitation"));
    assert_eq!(clerk.role_name.as_deref(), Some("Member"));
    assert_eq!(
        clerk.organization_id.as_deref(),
        Some("org_2g7np7Hrk0SN6kj5EDMLDaKNL0S")
    );
    assert_eq!(clerk.updated_at, Some(1_716_883_200_000));
    assert_eq!(clerk.public_metadata, Some(serde_json::Map::new()));
    assert!(clerk.extra.is_empty(), "{:?}", clerk.extra);
}

#[tokio::test]
async fn the_unified_invitation_serializes_with_rfc3339_timestamps() {
    let invitation = decode(request(), clerk_ok()).await;
    let value = serde_json::to_value(&invitation).unwrap();
    assert_eq!(value["provider"], "clerk");
    assert_eq!(value["role"], "member");
    assert_eq!(value["status"], "pending");
    assert_eq!(value["created_at"], "2024-05-28T08:00:00Z");
    assert_eq!(value["expires_at"], "2024-06-04T07:59:59Z");
    assert_eq!(value["payload"]["role_name"], "Member");
    assert_eq!(value["payload"]["expires_at"], 1_717_487_999_000u64);
}

#[tokio::test]
async fn a_body_without_the_required_inviter_and_status_decodes() {
    let invitation = decode(
        request().role(Role::Admin),
        ok(json!({
            "object": "organization_invitation",
            "id": "orginv_minimal",
            "email_address": "jane.doe@acme.com",
            "role": "org:admin",
            "created_at": 1_716_883_200_123i64
        })),
    )
    .await;
    assert_eq!(invitation.id, "orginv_minimal");
    assert_eq!(invitation.role, Role::Admin);
    assert_eq!(invitation.status, InvitationStatus::Pending);
    assert_eq!(invitation.inviter, None);
    assert_eq!(invitation.expires_at, None);
    assert_eq!(invitation.accept_url, None);
    assert_eq!(
        invitation.created_at.unwrap().to_string(),
        "2024-05-28T08:00:00.123Z"
    );
    let clerk = invitation
        .payload
        .get::<orginvite::clerk::ClerkInvitation>()
        .unwrap();
    assert_eq!(clerk.inviter_id, None);
    assert_eq!(clerk.public_inviter_data, None);
    assert_eq!(clerk.status, None);
}

#[tokio::test]
async fn nulls_where_the_schema_allows_them_decode() {
    let invitation = decode(
        request(),
        ok(json!({
            "id": "orginv_nulls",
            "inviter_id": null,
            "public_inviter_data": null,
            "url": null,
            "expires_at": null,
            "public_metadata": null
        })),
    )
    .await;
    assert_eq!(invitation.id, "orginv_nulls");
    assert_eq!(invitation.email, None);
    assert_eq!(invitation.role, Role::Member, "the role that was asked for");
    assert_eq!(invitation.inviter, None);
    assert_eq!(invitation.expires_at, None);
    assert_eq!(invitation.accept_url, None);
}

#[tokio::test]
async fn the_inviter_comes_from_inviter_id_and_public_inviter_data() {
    let invitation = decode(
        request(),
        ok(json!({
            "id": "orginv_1",
            "role": "org:viewer",
            "inviter_id": "user_2V7JJKmoA9HqzHhfMqK5cpgLl56",
            "public_inviter_data": {
                "user_id": "user_2V7JJKmoA9HqzHhfMqK5cpgLl56",
                "first_name": "Ada",
                "last_name": "Lovelace",
                "image_url": "https://img.clerk.com/x",
                "has_image": true,
                "identifier": "ada@acme.com"
            }
        })),
    )
    .await;
    let inviter = invitation.inviter.as_ref().expect("an inviter");
    assert_eq!(
        inviter.id.as_deref(),
        Some("user_2V7JJKmoA9HqzHhfMqK5cpgLl56")
    );
    assert_eq!(inviter.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(invitation.role, Role::Custom("org:viewer".into()));
    let data = invitation
        .payload
        .get::<orginvite::clerk::ClerkInvitation>()
        .unwrap()
        .public_inviter_data
        .clone()
        .unwrap();
    assert_eq!(data.has_image, Some(true));
    assert_eq!(data.identifier.as_deref(), Some("ada@acme.com"));

    let nameless = decode(
        request(),
        ok(json!({
            "id": "orginv_2",
            "public_inviter_data": {"user_id": "user_9", "first_name": null, "last_name": null,
                                    "identifier": "ops@acme.com"}
        })),
    )
    .await;
    assert_eq!(
        nameless.inviter.as_ref().unwrap().id.as_deref(),
        Some("user_9")
    );
    assert_eq!(
        nameless.inviter.as_ref().unwrap().name.as_deref(),
        Some("ops@acme.com")
    );

    let id_only = decode(
        request(),
        ok(json!({"id": "orginv_3", "inviter_id": "user_7"})),
    )
    .await;
    assert_eq!(
        id_only.inviter.as_ref().unwrap().id.as_deref(),
        Some("user_7")
    );
    assert_eq!(id_only.inviter.as_ref().unwrap().name, None);
}

#[tokio::test]
async fn every_status_and_unknown_ones() {
    let cases = [
        ("pending", InvitationStatus::Pending),
        ("accepted", InvitationStatus::Accepted),
        ("revoked", InvitationStatus::Revoked),
        ("expired", InvitationStatus::Expired),
        ("on_hold", InvitationStatus::Other("on_hold".into())),
    ];
    for (word, status) in cases {
        let invitation = decode(request(), ok(json!({"id": "orginv_1", "status": word}))).await;
        assert_eq!(invitation.status, status, "{word}");
        assert_eq!(
            invitation
                .payload
                .get::<orginvite::clerk::ClerkInvitation>()
                .unwrap()
                .status
                .as_deref(),
            Some(word)
        );
    }
}

#[tokio::test]
async fn unknown_fields_are_kept() {
    let invitation = decode(
        request(),
        ok(json!({
            "id": "orginv_1",
            "email_address": "jane.doe@acme.com",
            "role": "org:member",
            "role_name": "Member",
            "brand_new_field": {"nested": [1, 2, 3]},
            "public_inviter_data": {"user_id": "user_1", "banned": false}
        })),
    )
    .await;
    let clerk = invitation
        .payload
        .get::<orginvite::clerk::ClerkInvitation>()
        .unwrap();
    assert_eq!(clerk.extra.len(), 1, "{:?}", clerk.extra);
    assert_eq!(clerk.extra["brand_new_field"], json!({"nested": [1, 2, 3]}));
    let data = clerk.public_inviter_data.as_ref().unwrap();
    assert_eq!(data.extra["banned"], json!(false));
    let value = serde_json::to_value(&invitation).unwrap();
    assert_eq!(value["payload"]["brand_new_field"]["nested"][2], 3);
}

#[tokio::test]
async fn an_undecodable_200_may_have_created_and_is_not_retried() {
    for (body, reason) in [
        ("<html>ok</html>", "is not JSON"),
        ("", "is empty"),
        (
            "{\"object\": \"organization_invitation\"}",
            "is not an organization invitation",
        ),
        (
            "{\"id\": \"orginv_1\", \"created_at\": \"yesterday\"}",
            "is not an organization invitation",
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("clerk-trace-id", "trace-from-header")
                    .set_body_string(body),
            )
            .expect(1)
            .mount(&server)
            .await;
        let (clerk, sleeper) = clerk(&server);
        let error = clerk.create_invitation(&request()).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decode, "{body}");
        assert_eq!(error.status().unwrap().as_u16(), 200);
        assert!(error.may_have_been_created(), "{body}");
        assert_eq!(error.request_id(), Some("trace-from-header"));
        assert!(error.to_string().contains(reason), "{error}");
        assert!(sleeper.waits().is_empty());
    }
}

#[tokio::test]
async fn a_success_for_someone_else_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(clerk_ok())
        .expect(1)
        .mount(&server)
        .await;
    let (clerk, _) = clerk(&server);
    let error = clerk
        .create_invitation(&CreateInvitation::email(ORG, "someone.else@acme.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(error.may_have_been_created());
}
