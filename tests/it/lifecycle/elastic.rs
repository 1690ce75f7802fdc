//! Elastic Cloud: `GET .../invitations` (one list), `DELETE .../invitations/{tokens}` (one
//! token or several, comma-separated), `GET .../members`.

use orginvite::{ErrorKind, InvitationStatus, Invitee, ListInvitations, Membership, Role};
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::elastic::*;
use crate::common::*;
use crate::lifecycle::{collect, first, ids};

const INVITATIONS: &str = "/api/v1/organizations/1234567890/invitations";
const MEMBERS: &str = "/api/v1/organizations/1234567890/members";

/// The official invitation with this token and email, open and unaccepted.
fn invitation(token: &str, email: &str) -> Value {
    let mut item = official_reply()["invitations"][0].clone();
    item["token"] = json!(token);
    item["email"] = json!(email);
    item.as_object_mut().unwrap().remove("accepted_at");
    item
}

fn listing(items: &[Value]) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/json")
        .set_body_json(json!({"invitations": items}))
}

fn with_key(builder: wiremock::MockBuilder) -> wiremock::MockBuilder {
    builder
        .and(header(
            "authorization",
            format!("ApiKey {EC_API_KEY}").as_str(),
        ))
        .and(header("accept", "application/json"))
        .and(header("user-agent", USER_AGENT))
}

#[tokio::test]
async fn one_request_lists_everything_and_statuses_are_read_from_the_flags() {
    let server = MockServer::start().await;
    let mut expired = invitation("t-expired", "old@example.com");
    expired["expired"] = json!(true);
    let mut accepted = invitation("t-accepted", "in@example.com");
    accepted["accepted_at"] = json!("2026-11-02T00:00:00Z");
    let mut admin = invitation("t-admin", "boss@example.com");
    admin["role_assignments"] = json!({"organization": [{"organization_id": "1234567890", "role_id": "organization-admin"}]});
    with_key(Mock::given(method("GET")).and(path(INVITATIONS)))
        .respond_with(listing(&[
            invitation("t-1", "Jane@Example.com"),
            expired,
            accepted,
            admin,
        ]))
        .expect(5)
        .mount(&server)
        .await;
    let (elastic, _) = elastic(&server);

    // Pending by default: the open, unexpired, unaccepted ones.
    assert_eq!(
        ids(&elastic, &ListInvitations::new(ORG)).await,
        ["t-1", "t-admin"]
    );
    let expired = ListInvitations::new(ORG).status(InvitationStatus::Expired);
    assert_eq!(ids(&elastic, &expired).await, ["t-expired"]);
    let every = ListInvitations::new(ORG).any_status();
    let all = collect(&elastic, &every).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[2].status, InvitationStatus::Accepted);
    // Role and email are matched on the client.
    let admins = ListInvitations::new(ORG).role(Role::Admin);
    assert_eq!(ids(&elastic, &admins).await, ["t-admin"]);
    let jane = ListInvitations::new(ORG).email("jane@example.com");
    assert_eq!(ids(&elastic, &jane).await, ["t-1"]);
    let requests = server.received_requests().await.unwrap();
    assert!(requests
        .iter()
        .all(|r| r.url.query().is_none() && r.body.is_empty()));
    server.verify().await;
}

#[tokio::test]
async fn list_errors_are_classified() {
    for (answer, kind) in [
        (
            failed(
                404,
                "organization.not_found",
                "The organization was not found",
            ),
            ErrorKind::NotFound,
        ),
        (
            failed(
                403,
                "root.invalid_authentication",
                "The supplied authentication is invalid",
            ),
            ErrorKind::Unauthenticated,
        ),
        (
            ResponseTemplate::new(200).set_body_string("{\"invitations\": 3}"),
            ErrorKind::Decode,
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(answer)
            .expect(1)
            .mount(&server)
            .await;
        let (elastic, _) = elastic(&server);
        let error = collect(&elastic, &ListInvitations::new(ORG))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), kind, "{error}");
        server.verify().await;
    }
}

#[tokio::test]
async fn find_reads_the_one_list() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(INVITATIONS))
        .respond_with(listing(&[
            invitation("t-1", "a@example.com"),
            invitation("t-2", "Jane@example.com"),
        ]))
        .expect(1)
        .mount(&server)
        .await;
    let (elastic, _) = elastic(&server);
    let found = elastic
        .find_invitation(ORG, &Invitee::email("jane@EXAMPLE.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "t-2");
    server.verify().await;
}

#[tokio::test]
async fn cancel_deletes_one_token() {
    let server = MockServer::start().await;
    with_key(Mock::given(method("DELETE")).and(path(format!("{INVITATIONS}/tok%2Fen-1"))))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_string("{}"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (elastic, _) = elastic(&server);
    let cancelled = elastic.cancel_invitation(ORG, "tok/en-1").await.unwrap();
    assert_eq!(cancelled.id, "tok/en-1");
    assert_eq!(cancelled.invitation, None);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].url.query(), None);
    assert!(requests[0].body.is_empty());
    assert!(requests[0].headers.get("content-type").is_none());
    server.verify().await;
}

#[tokio::test]
async fn cancel_errors_are_classified() {
    for (answer, kind) in [
        (
            failed(
                404,
                "organization.invitation_not_found",
                "Invitation not found",
            ),
            ErrorKind::NotPending,
        ),
        (
            failed(
                400,
                "root.invalid_data",
                "No valid invitation token was supplied.",
            ),
            ErrorKind::NotPending,
        ),
        (
            failed(
                404,
                "organization.not_found",
                "The organization was not found",
            ),
            ErrorKind::NotFound,
        ),
        (
            ResponseTemplate::new(404)
                .insert_header("x-cloud-error-codes", "organization.invitation_not_found")
                .set_body_string("<html>gone</html>"),
            ErrorKind::NotPending,
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("DELETE"))
            .respond_with(answer)
            .expect(1)
            .mount(&server)
            .await;
        let (elastic, _) = elastic(&server);
        let error = elastic.cancel_invitation(ORG, "t-1").await.unwrap_err();
        assert_eq!(error.kind(), kind, "{error}");
        server.verify().await;
    }
}

#[tokio::test]
async fn cancelling_many_uses_one_comma_separated_delete_for_the_open_ones() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(INVITATIONS))
        .respond_with(listing(&[
            invitation("t-1", "a@example.com"),
            invitation("t,2", "b@example.com"),
            invitation("t-3", "c@example.com"),
        ]))
        .expect(1)
        .mount(&server)
        .await;
    with_key(Mock::given(method("DELETE")).and(path(format!("{INVITATIONS}/t-1,t%2C2,t-3"))))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .expect(1)
        .mount(&server)
        .await;
    // A token that is not open is sent alone, so that Elastic Cloud's own answer says so.
    Mock::given(method("DELETE"))
        .and(path(format!("{INVITATIONS}/t-unknown")))
        .respond_with(failed(
            404,
            "organization.invitation_not_found",
            "Invitation not found",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (elastic, _) = elastic(&server);
    let outcomes = elastic
        .cancel_invitations(ORG, ["t-1", "t-unknown", "t,2", "t-3", "t-1"])
        .await;
    let summary: Vec<(&str, Option<ErrorKind>)> = outcomes
        .iter()
        .map(|o| (o.id.as_str(), o.result.as_ref().err().map(|e| e.kind())))
        .collect();
    assert_eq!(
        summary,
        [
            ("t-1", None),
            ("t-unknown", Some(ErrorKind::NotPending)),
            ("t,2", None),
            ("t-3", None),
        ]
    );
    server.verify().await;
}

#[tokio::test]
async fn a_refused_batch_reports_the_cause_for_every_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(listing(&[
            invitation("t-1", "a@example.com"),
            invitation("t-2", "b@example.com"),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(failed(403, "root.invalid_authentication", "no"))
        .expect(1)
        .mount(&server)
        .await;
    let (elastic, _) = elastic(&server);
    let outcomes = elastic.cancel_invitations(ORG, ["t-1", "t-2"]).await;
    assert_eq!(outcomes.len(), 2);
    for outcome in &outcomes {
        assert_eq!(
            outcome.result.as_ref().unwrap_err().kind(),
            ErrorKind::Unauthenticated
        );
    }
    server.verify().await;
}

fn members(items: Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/json")
        .set_body_json(json!({"members": items}))
}

#[tokio::test]
async fn membership_matches_the_members_list_by_email_or_user_id() {
    let server = MockServer::start().await;
    with_key(Mock::given(method("GET")).and(path(MEMBERS)))
        .respond_with(members(json!([
            {"organization_id": ORG, "user_id": "111", "member_since": "2025-01-01T00:00:00Z",
             "email": "Boss@Example.com",
             "role_assignments": {"organization": [{"organization_id": ORG, "role_id": "organization-admin"}]}},
            {"organization_id": ORG, "user_id": "222", "member_since": "2025-01-01T00:00:00Z"}
        ])))
        .expect(4)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(INVITATIONS))
        .respond_with(listing(&[invitation("t-9", "new@example.com")]))
        .expect(2)
        .mount(&server)
        .await;
    let (elastic, _) = elastic(&server);
    let boss = elastic
        .membership(ORG, &Invitee::email("boss@example.com"))
        .await
        .unwrap();
    assert!(
        matches!(
            boss,
            Membership::Member {
                role: Role::Admin,
                ..
            }
        ),
        "{boss:?}"
    );
    let by_id = elastic
        .membership(ORG, &Invitee::user_id("222"))
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
    let new = elastic
        .membership(ORG, &Invitee::email("new@example.com"))
        .await
        .unwrap();
    assert_eq!(new.invitation().map(|i| i.id.as_str()), Some("t-9"));
    let stranger = elastic
        .membership(ORG, &Invitee::email("stranger@example.com"))
        .await
        .unwrap();
    assert_eq!(stranger, Membership::NotMember);
    for request in server.received_requests().await.unwrap() {
        assert_eq!(request.url.query(), None, "{}", request.url);
        assert!(request.body.is_empty());
    }
    server.verify().await;
}

#[tokio::test]
async fn membership_errors_are_classified() {
    for (answer, kind) in [
        (
            failed(
                404,
                "organization.not_found",
                "The organization was not found",
            ),
            ErrorKind::NotFound,
        ),
        (
            failed(
                403,
                "root.invalid_authentication",
                "The supplied authentication is invalid",
            ),
            ErrorKind::Unauthenticated,
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(MEMBERS))
            .respond_with(answer)
            .expect(1)
            .mount(&server)
            .await;
        let (elastic, _) = elastic(&server);
        let error = elastic
            .membership(ORG, &Invitee::email("jane@example.com"))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), kind, "{error}");
        server.verify().await;
    }
}

#[tokio::test]
async fn bad_input_sends_nothing() {
    let server = MockServer::start().await;
    let (elastic, _) = elastic(&server);
    let error = first(
        &elastic,
        &ListInvitations::new(ORG).status(InvitationStatus::Revoked),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    for token in ["", "a b", "t\r\n"] {
        let error = elastic.cancel_invitation(ORG, token).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{token:?}");
    }
    let error = elastic
        .membership(ORG, &Invitee::login("jane"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    assert_eq!(request_count(&server).await, 0);
    // In a batch, a malformed token is refused alone; the others go ahead.
    Mock::given(method("DELETE"))
        .and(path(format!("{INVITATIONS}/ok")))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .expect(1)
        .mount(&server)
        .await;
    let outcomes = elastic.cancel_invitations(ORG, ["ok", "not ok"]).await;
    assert!(outcomes[0].result.is_ok());
    assert_eq!(
        outcomes[1].result.as_ref().unwrap_err().kind(),
        ErrorKind::InvalidRequest
    );
    server.verify().await;
}

#[tokio::test]
async fn a_list_answered_whole_may_be_sixteen_times_the_body_cap_and_no_larger() {
    let server = MockServer::start().await;
    let client = |cap: usize| {
        orginvite::ElasticCloud::builder()
            .token(EC_API_KEY)
            .base_url(format!("{}/api/v1", server.uri()))
            .user_agent(USER_AGENT)
            .max_body_bytes(cap)
            .build()
            .unwrap()
    };
    let items: Vec<Value> = (0..40)
        .map(|i| invitation(&format!("token{i:04}"), &format!("p{i}@example.com")))
        .collect();
    let body = serde_json::to_vec(&json!({"invitations": items})).unwrap();
    with_key(Mock::given(method("GET")).and(path(INVITATIONS)))
        .respond_with(listing(&items))
        .mount(&server)
        .await;
    with_key(Mock::given(method("GET")).and(path(MEMBERS)))
        .respond_with(members(json!([])))
        .mount(&server)
        .await;
    // A cap a little over a sixteenth of the list: the list is read whole.
    let cap = body.len() / 16 + 1;
    let listed = collect(&client(cap), &ListInvitations::new(ORG))
        .await
        .unwrap();
    assert_eq!(listed.len(), 40);
    let snapshot = orginvite::Provider::snapshot(&client(cap), ORG)
        .await
        .unwrap();
    assert_eq!(snapshot.pending_count(), 40);
    // Under a sixteenth: refused with the status, unread.
    let error = collect(&client(body.len() / 16 - 1), &ListInvitations::new(ORG))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert_eq!(error.status().map(|s| s.as_u16()), Some(200));
}
