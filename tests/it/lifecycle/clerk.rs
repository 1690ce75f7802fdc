//! Clerk: `GET .../invitations` paged by `limit`/`offset` until `total_count`,
//! `POST .../invitations/{id}/revoke`, `GET .../memberships` filtered by email, user id or
//! username.

use orginvite::clerk::ClerkListOptions;
use orginvite::{ErrorKind, InvitationStatus, Invitee, ListInvitations, Membership, Role};
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::clerk::*;
use crate::common::*;
use crate::lifecycle::{collect, first, ids};

const MEMBERSHIPS_PATH: &str = "/v1/organizations/org_2g7np7Hrk0SN6kj5EDMLDaKNL0S/memberships";

/// The official invitation with this id, email and status.
fn invitation(id: &str, email: &str, status: &str) -> Value {
    let mut item: Value = serde_json::from_str(&fixture("clerk/create-200.json")).unwrap();
    item["id"] = json!(id);
    item["email_address"] = json!(email);
    item["status"] = json!(status);
    item
}

fn page(items: &[Value], total: usize) -> ResponseTemplate {
    clerk_json(200, json!({"data": items, "total_count": total}))
}

fn get(path_: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path(path_))
        .and(header(
            "authorization",
            format!("Bearer {CLERK_SECRET_KEY}").as_str(),
        ))
        .and(header("clerk-api-version", "2026-05-12"))
        .and(header("accept", "application/json"))
        .and(header("user-agent", USER_AGENT))
}

#[tokio::test]
async fn pages_by_offset_until_total_count() {
    let server = MockServer::start().await;
    let items: Vec<Value> = (1..=5)
        .map(|n| {
            invitation(
                &format!("orginv_{n}"),
                &format!("p{n}@example.com"),
                "pending",
            )
        })
        .collect();
    for (offset, slice) in [(0, &items[0..2]), (2, &items[2..4]), (4, &items[4..5])] {
        get(INVITATIONS_PATH)
            .and(query_param("offset", offset.to_string()))
            .respond_with(page(slice, 5))
            .expect(1)
            .mount(&server)
            .await;
    }
    let (clerk, _) = clerk(&server);
    let query = ListInvitations::new(ORG).page_size(2);
    assert_eq!(
        ids(&clerk, &query).await,
        ["orginv_1", "orginv_2", "orginv_3", "orginv_4", "orginv_5"]
    );
    let queries: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.query().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        queries,
        [
            "limit=2&offset=0&status=pending",
            "limit=2&offset=2&status=pending",
            "limit=2&offset=4&status=pending",
        ]
    );
    server.verify().await;
}

#[tokio::test]
async fn the_default_page_is_clerks_largest_and_filters_go_to_clerk() {
    let server = MockServer::start().await;
    get(INVITATIONS_PATH)
        .respond_with(page(
            &[
                invitation("orginv_1", "jane@example.com", "revoked"),
                invitation("orginv_2", "jane@example.com", "expired"),
            ],
            2,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (clerk, _) = clerk(&server);
    let query = ListInvitations::new(ORG)
        .statuses([InvitationStatus::Revoked, InvitationStatus::Expired])
        .email("jane@example.com")
        .with(ClerkListOptions::new().order_by("+email_address"));
    let listed = collect(&clerk, &query).await.unwrap();
    assert_eq!(listed[0].status, InvitationStatus::Revoked);
    assert_eq!(listed[1].status, InvitationStatus::Expired);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests[0].url.query(),
        Some("limit=500&offset=0&status=revoked&status=expired&email_address=jane%40example.com&order_by=%2Bemail_address")
    );
}

#[tokio::test]
async fn every_status_sends_no_status_and_roles_are_matched_here() {
    let server = MockServer::start().await;
    let mut admin = invitation("orginv_1", "a@example.com", "accepted");
    admin["role"] = json!("org:admin");
    get(INVITATIONS_PATH)
        .respond_with(page(
            &[admin, invitation("orginv_2", "b@example.com", "pending")],
            2,
        ))
        .mount(&server)
        .await;
    let (clerk, _) = clerk(&server);
    let query = ListInvitations::new(ORG).any_status().role(Role::Admin);
    assert_eq!(ids(&clerk, &query).await, ["orginv_1"]);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].url.query(), Some("limit=500&offset=0"));
}

#[tokio::test]
async fn an_empty_page_ends_the_list_even_if_total_count_says_more() {
    let server = MockServer::start().await;
    get(INVITATIONS_PATH)
        .respond_with(page(&[], 7))
        .expect(1)
        .mount(&server)
        .await;
    let (clerk, _) = clerk(&server);
    assert!(ids(&clerk, &ListInvitations::new(ORG)).await.is_empty());
}

#[tokio::test]
async fn list_errors_are_classified() {
    let cases = [
        (
            clerk_error(
                400,
                "request_body_invalid",
                "bad",
                "The request is invalid.",
            ),
            ErrorKind::Validation,
        ),
        (
            clerk_error(
                404,
                "resource_not_found",
                "not found",
                "Given organization not found.",
            ),
            ErrorKind::NotFound,
        ),
        (
            clerk_error(
                422,
                "form_param_value_invalid",
                "is invalid",
                "limit is invalid.",
            ),
            ErrorKind::Validation,
        ),
        (
            clerk_error(
                401,
                "authentication_invalid",
                "Unauthenticated",
                "Invalid key.",
            ),
            ErrorKind::Unauthenticated,
        ),
        (clerk_json(200, json!({"data": "nope"})), ErrorKind::Decode),
    ];
    for (answer, kind) in cases {
        let server = MockServer::start().await;
        get(INVITATIONS_PATH)
            .respond_with(answer)
            .expect(1)
            .mount(&server)
            .await;
        let (clerk, _) = clerk(&server);
        let error = collect(&clerk, &ListInvitations::new(ORG))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), kind, "{error}");
        server.verify().await;
    }
}

#[tokio::test]
async fn find_filters_on_clerks_side() {
    let server = MockServer::start().await;
    get(INVITATIONS_PATH)
        .and(query_param("email_address", "Jane@Example.com"))
        .respond_with(page(
            &[invitation("orginv_9", "jane@example.com", "pending")],
            1,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (clerk, _) = clerk(&server);
    let found = clerk
        .find_invitation(ORG, &Invitee::email("Jane@Example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "orginv_9");
    let error = clerk
        .find_invitation(ORG, &Invitee::user_id("user_1"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    server.verify().await;
}

#[tokio::test]
async fn cancel_revokes_and_returns_the_revoked_invitation() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{INVITATIONS_PATH}/orginv_123/revoke")))
        .and(header(
            "authorization",
            format!("Bearer {CLERK_SECRET_KEY}").as_str(),
        ))
        .and(header("clerk-api-version", "2026-05-12"))
        .and(header("content-type", "application/json"))
        .and(header("user-agent", USER_AGENT))
        .and(body_json(json!({})))
        .respond_with(clerk_json(
            200,
            invitation("orginv_123", "jane@example.com", "revoked"),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (clerk, _) = clerk(&server);
    let cancelled = clerk.cancel_invitation(ORG, "orginv_123").await.unwrap();
    assert_eq!(cancelled.id, "orginv_123");
    let revoked = cancelled.invitation.unwrap();
    assert_eq!(revoked.status, InvitationStatus::Revoked);
    assert_eq!(revoked.email.as_deref(), Some("jane@example.com"));
}

#[tokio::test]
async fn cancel_errors_are_classified() {
    let cases = [
        (
            clerk_error(
                404,
                "organization_invitation_not_pending",
                "not pending",
                "The organization invitation is not in the 'pending' status.",
            ),
            ErrorKind::NotPending,
        ),
        (
            clerk_error(
                404,
                "resource_not_found",
                "not found",
                "No invitation was found with id orginv_123.",
            ),
            ErrorKind::NotPending,
        ),
        (
            clerk_error(
                403,
                "not_an_admin_in_organization",
                "forbidden",
                "Only admins can revoke.",
            ),
            ErrorKind::PermissionDenied,
        ),
        (
            clerk_error(
                400,
                "organization_invitation_revoked_code",
                "revoked",
                "This invitation has been revoked.",
            ),
            ErrorKind::NotPending,
        ),
        (
            clerk_error(400, "request_body_invalid", "bad", "Invalid."),
            ErrorKind::Validation,
        ),
    ];
    for (answer, kind) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(answer)
            .expect(1)
            .mount(&server)
            .await;
        let (clerk, _) = clerk(&server);
        let error = clerk
            .cancel_invitation(ORG, "orginv_123")
            .await
            .unwrap_err();
        assert_eq!(error.kind(), kind, "{error}");
        assert_eq!(error.request_id(), Some(BODY_TRACE_ID));
        server.verify().await;
    }
}

fn membership(role: &str) -> Value {
    membership_of(role, "user_1")
}

fn membership_of(role: &str, user_id: &str) -> Value {
    json!({
        "object": "organization_membership",
        "id": "orgmem_1",
        "role": role,
        "role_name": "Admin",
        "permissions": ["org:sys_memberships:manage"],
        "public_metadata": {},
        "created_at": 1716883200000_i64,
        "updated_at": 1716883200000_i64,
        "organization": {"object": "organization", "id": ORG, "name": "Acme"},
        "public_user_data": {"user_id": user_id, "first_name": "Jane", "last_name": null,
                             "profile_image_url": null, "image_url": "https://img.example/x",
                             "has_image": false, "identifier": "jane@example.com"}
    })
}

#[tokio::test]
async fn membership_asks_clerk_by_email_user_id_or_username() {
    let server = MockServer::start().await;
    get(MEMBERSHIPS_PATH)
        .and(query_param("email_address", "jane@example.com"))
        .respond_with(page(&[membership("org:admin")], 1))
        .expect(1)
        .mount(&server)
        .await;
    get(MEMBERSHIPS_PATH)
        .and(query_param("user_id", "user_2"))
        .respond_with(page(&[membership_of("org:member", "user_2")], 1))
        .expect(1)
        .mount(&server)
        .await;
    get(MEMBERSHIPS_PATH)
        .and(query_param("username", "nobody"))
        .respond_with(page(&[], 0))
        .expect(1)
        .mount(&server)
        .await;
    get(MEMBERSHIPS_PATH)
        .and(query_param("email_address", "invited@example.com"))
        .respond_with(page(&[], 0))
        .expect(1)
        .mount(&server)
        .await;
    get(INVITATIONS_PATH)
        .and(query_param("email_address", "invited@example.com"))
        .respond_with(page(
            &[invitation("orginv_5", "invited@example.com", "pending")],
            1,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (clerk, _) = clerk(&server);

    let jane = clerk
        .membership(ORG, &Invitee::email("jane@example.com"))
        .await
        .unwrap();
    assert!(
        matches!(
            jane,
            Membership::Member {
                role: Role::Admin,
                ..
            }
        ),
        "{jane:?}"
    );
    let by_id = clerk
        .membership(ORG, &Invitee::user_id("user_2"))
        .await
        .unwrap();
    assert!(
        matches!(
            by_id,
            Membership::Member {
                role: Role::Member,
                ..
            }
        ),
        "{by_id:?}"
    );
    // Clerk's invitations name emails only: whether a username that is no member has one
    // cannot be told.
    let nobody = clerk
        .membership(ORG, &Invitee::login("nobody"))
        .await
        .unwrap();
    assert_eq!(nobody, Membership::Unknown);
    let invited = clerk
        .membership(ORG, &Invitee::email("invited@example.com"))
        .await
        .unwrap();
    assert_eq!(
        invited.invitation().map(|i| i.id.as_str()),
        Some("orginv_5")
    );

    let membership_queries: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == MEMBERSHIPS_PATH)
        .map(|r| r.url.query().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        membership_queries,
        [
            "email_address=jane%40example.com&limit=1",
            "user_id=user_2&limit=1",
            "username=nobody&limit=1",
            "email_address=invited%40example.com&limit=1",
        ]
    );
    server.verify().await;
}

#[tokio::test]
async fn a_membership_that_names_someone_else_is_not_taken() {
    let server = MockServer::start().await;
    // The filter was not applied: several users, or another user than the one asked for.
    get(MEMBERSHIPS_PATH)
        .and(query_param("email_address", "jane@example.com"))
        .respond_with(page(&[membership("org:admin")], 37))
        .mount(&server)
        .await;
    get(MEMBERSHIPS_PATH)
        .and(query_param("user_id", "user_2"))
        .respond_with(page(&[membership("org:admin")], 1))
        .mount(&server)
        .await;
    let (clerk, _) = clerk(&server);
    for invitee in [
        Invitee::email("jane@example.com"),
        Invitee::user_id("user_2"),
    ] {
        let error = clerk.membership(ORG, &invitee).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decode, "{invitee:?}");
    }
}

#[tokio::test]
async fn a_dropped_stream_requests_no_further_page() {
    use futures_util::StreamExt;
    let server = MockServer::start().await;
    get(INVITATIONS_PATH)
        .and(query_param("offset", "0"))
        .respond_with(page(
            &[invitation("orginv_1", "a@example.com", "pending")],
            3,
        ))
        .expect(1)
        .mount(&server)
        .await;
    get(INVITATIONS_PATH)
        .and(query_param("offset", "1"))
        .respond_with(page(
            &[invitation("orginv_2", "b@example.com", "pending")],
            3,
        ))
        .expect(0)
        .mount(&server)
        .await;
    let (clerk, _) = clerk(&server);
    let query = ListInvitations::new(ORG).page_size(1);
    let mut stream = clerk.list_invitations(&query);
    assert_eq!(stream.next().await.unwrap().unwrap().id, "orginv_1");
    drop(stream);
    server.verify().await;
}

#[tokio::test]
async fn membership_errors_are_classified() {
    for (answer, kind) in [
        (
            clerk_error(
                401,
                "authentication_invalid",
                "Unauthenticated",
                "Invalid key.",
            ),
            ErrorKind::Unauthenticated,
        ),
        (
            clerk_error(
                422,
                "form_param_value_invalid",
                "is invalid",
                "email_address is invalid.",
            ),
            ErrorKind::Validation,
        ),
    ] {
        let server = MockServer::start().await;
        get(MEMBERSHIPS_PATH)
            .respond_with(answer)
            .expect(1)
            .mount(&server)
            .await;
        let (clerk, _) = clerk(&server);
        let error = clerk
            .membership(ORG, &Invitee::email("jane@example.com"))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), kind);
        server.verify().await;
    }
}

#[tokio::test]
async fn bad_input_sends_nothing() {
    let server = MockServer::start().await;
    let (clerk, _) = clerk(&server);
    for (query, kind) in [
        (
            ListInvitations::new(ORG).page_size(501),
            ErrorKind::InvalidRequest,
        ),
        (
            ListInvitations::new(ORG).status(InvitationStatus::Failed),
            ErrorKind::Unsupported,
        ),
        (
            ListInvitations::new(ORG).with(ClerkListOptions::new().order_by("-name")),
            ErrorKind::InvalidRequest,
        ),
    ] {
        let error = first(&clerk, &query).await.unwrap().unwrap_err();
        assert_eq!(error.kind(), kind, "{query:?}");
    }
    for id in ["", "orginv 1", "orginv_1\n"] {
        let error = clerk.cancel_invitation(ORG, id).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{id:?}");
    }
    assert_eq!(request_count(&server).await, 0);
}
