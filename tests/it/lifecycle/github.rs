//! GitHub: `GET /orgs/{org}/invitations` and `failed_invitations` paged by `Link`,
//! `DELETE /orgs/{org}/invitations/{id}`, `GET /orgs/{org}/memberships/{username}`.

use futures_util::StreamExt;
use orginvite::github::GitHubListOptions;
use orginvite::{
    Error, ErrorKind, GitHub, InvitationStatus, Invitee, ListInvitations, Membership, Role,
};
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;
use crate::lifecycle::{collect, first, ids};

fn page(items: &[Value]) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/json; charset=utf-8")
        .insert_header("x-github-request-id", "CAFE:LIST")
        .set_body_json(Value::Array(items.to_vec()))
}

/// A page of one invitation whose `Link` names `next`.
fn linked(id: u64, email: &str, next: &str) -> ResponseTemplate {
    page(&[github_invitation(id, email, None)])
        .insert_header("link", format!(r#"<{next}>; rel="next""#))
}

/// The ids a list yields before its error, and the error.
async fn until_error(github: &GitHub, query: &ListInvitations) -> (Vec<String>, Error) {
    let mut ids = Vec::new();
    let mut items = github.list_invitations(query);
    while let Some(item) = items.next().await {
        match item {
            Ok(invitation) => ids.push(invitation.id),
            Err(error) => {
                assert!(items.next().await.is_none(), "nothing after the error");
                return (ids, error);
            }
        }
    }
    panic!("the list ended without an error: {ids:?}");
}

/// Mounts a mock for a GET of `path_` carrying GitHub's headers.
fn get(path_: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path(path_))
        .and(header(
            "authorization",
            format!("Bearer {GITHUB_TOKEN}").as_str(),
        ))
        .and(header("accept", "application/vnd.github+json"))
        .and(header("x-github-api-version", "2022-11-28"))
        .and(header("user-agent", USER_AGENT))
}

#[tokio::test]
async fn pages_follow_the_link_header_verbatim_until_it_is_gone() {
    let server = MockServer::start().await;
    let uri = server.uri();
    // GitHub's links name the organization by number and may carry parameters of their own;
    // the client must send them exactly as given.
    let second = format!(
        "{uri}/api/v3/organizations/42/invitations?per_page=100&page=2&after=Y3Vyc29yOjI%3D&x=a%2Cb"
    );
    let third = format!(
        "{uri}/api/v3/organizations/42/invitations?per_page=100&page=3&after=Y3Vyc29yOjQ%3D"
    );
    get("/api/v3/orgs/acme/invitations")
        .and(query_param("per_page", "100"))
        .respond_with(
            page(&[github_invitation(1, "a@example.com", None), github_invitation(2, "b@example.com", None)])
                .insert_header(
                    "link",
                    format!(r#"<{second}>; rel="next", <{uri}/api/v3/organizations/42/invitations?per_page=100&page=3>; rel="last""#),
                ),
        )
        .expect(1)
        .mount(&server)
        .await;
    get("/api/v3/organizations/42/invitations")
        .and(query_param("page", "2"))
        .and(query_param("after", "Y3Vyc29yOjI="))
        .and(query_param("x", "a,b"))
        .respond_with(
            page(&[github_invitation(3, "c@example.com", Some("carol"))])
                .insert_header("link", format!(r#"<{third}>; rel="next""#)),
        )
        .expect(1)
        .mount(&server)
        .await;
    get("/api/v3/organizations/42/invitations")
        .and(query_param("page", "3"))
        .respond_with(page(&[github_invitation(4, "d@example.com", None)]))
        .expect(1)
        .mount(&server)
        .await;
    let (github, _) = github(&server);

    let listed = collect(&github, &ListInvitations::new("acme"))
        .await
        .unwrap();
    let listed_ids: Vec<&str> = listed.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(listed_ids, ["1", "2", "3", "4"]);
    assert_eq!(listed[2].login.as_deref(), Some("carol"));
    assert_eq!(listed[0].status, InvitationStatus::Pending);
    assert_eq!(listed[0].role, Role::Member);

    // Exactly as linked: path and query byte for byte.
    let requests = server.received_requests().await.unwrap();
    let sent: Vec<String> = requests
        .iter()
        .map(|r| format!("{}?{}", r.url.path(), r.url.query().unwrap_or("")))
        .collect();
    let linked: Vec<String> = [&second, &third]
        .iter()
        .map(|url| url.strip_prefix(&uri).unwrap().to_owned())
        .collect();
    assert_eq!(sent[0], "/api/v3/orgs/acme/invitations?per_page=100");
    assert_eq!(sent[1..], linked);
    assert!(requests.iter().all(|r| r.body.is_empty()));
}

#[tokio::test]
async fn a_dropped_stream_requests_no_further_page() {
    let server = MockServer::start().await;
    let uri = server.uri();
    get("/api/v3/orgs/acme/invitations")
        .respond_with(
            page(&[
                github_invitation(1, "a@example.com", None),
                github_invitation(2, "b@example.com", None),
            ])
            .insert_header(
                "link",
                format!(r#"<{uri}/api/v3/organizations/42/invitations?page=2>; rel="next""#),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    get("/api/v3/organizations/42/invitations")
        .respond_with(page(&[github_invitation(3, "c@example.com", None)]))
        .expect(0)
        .mount(&server)
        .await;
    let (github, _) = github(&server);
    let query = ListInvitations::new("acme");
    let mut stream = github.list_invitations(&query);
    assert_eq!(stream.next().await.unwrap().unwrap().id, "1");
    assert_eq!(stream.next().await.unwrap().unwrap().id, "2");
    drop(stream);
    server.verify().await;
}

#[tokio::test]
async fn an_empty_204_is_an_empty_list_and_failed_invitations_have_their_own_route() {
    let server = MockServer::start().await;
    get("/api/v3/orgs/acme/invitations")
        .respond_with(ResponseTemplate::new(204))
        .expect(2)
        .mount(&server)
        .await;
    let mut failed = github_invitation(7, "gone@example.com", None);
    failed["failed_at"] = json!("2026-11-01T10:00:00Z");
    failed["failed_reason"] = json!("Invitation expired");
    get("/api/v3/orgs/acme/failed_invitations")
        .and(query_param("per_page", "100"))
        .respond_with(page(&[failed]))
        .expect(2)
        .mount(&server)
        .await;
    let (github, _) = github(&server);

    assert!(ids(&github, &ListInvitations::new("acme")).await.is_empty());
    let only_failed = collect(
        &github,
        &ListInvitations::new("acme").status(InvitationStatus::Failed),
    )
    .await
    .unwrap();
    assert_eq!(only_failed.len(), 1);
    assert_eq!(only_failed[0].status, InvitationStatus::Failed);
    let payload = only_failed[0]
        .payload
        .get::<orginvite::github::GitHubInvitation>()
        .unwrap();
    assert_eq!(payload.failed_reason(), Some("Invitation expired"));
    // Every status: the pending list (empty), then the failed one.
    let every = ids(&github, &ListInvitations::new("acme").any_status()).await;
    assert_eq!(every, ["7"]);
    let requests = server.received_requests().await.unwrap();
    let paths: Vec<&str> = requests.iter().map(|r| r.url.path()).collect();
    assert_eq!(
        paths,
        [
            "/api/v3/orgs/acme/invitations",
            "/api/v3/orgs/acme/failed_invitations",
            "/api/v3/orgs/acme/invitations",
            "/api/v3/orgs/acme/failed_invitations",
        ]
    );
}

#[tokio::test]
async fn role_source_and_page_size_go_in_the_query_and_email_is_matched_here() {
    let server = MockServer::start().await;
    get("/api/v3/orgs/acme/invitations")
        .respond_with(page(&[
            github_invitation(1, "Jane@Example.com", None),
            github_invitation(2, "john@example.com", None),
        ]))
        .mount(&server)
        .await;
    let (github, _) = github(&server);
    let query = ListInvitations::new("acme")
        .role(Role::Member)
        .email("jane@example.COM")
        .page_size(25)
        .with(GitHubListOptions::new().invitation_source("member"));
    assert_eq!(ids(&github, &query).await, ["1"]);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests[0].url.query(),
        Some("per_page=25&role=direct_member&invitation_source=member")
    );
}

#[tokio::test]
async fn a_link_to_another_host_is_not_followed() {
    let server = MockServer::start().await;
    get("/api/v3/orgs/acme/invitations")
        .respond_with(
            page(&[github_invitation(1, "a@example.com", None)]).insert_header(
                "link",
                r#"<https://attacker.example/steal?page=2>; rel="next""#,
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (github, _) = github(&server);
    let error = collect(&github, &ListInvitations::new("acme"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(error.to_string().contains("attacker.example"), "{error}");
    assert!(!error.may_have_been_created());
    assert_eq!(request_count(&server).await, 1);
}

#[tokio::test]
async fn list_errors_are_classified() {
    let cases: Vec<(ResponseTemplate, ErrorKind)> = vec![
        (
            github_error(401, json!({"message": "Bad credentials"})),
            ErrorKind::Unauthenticated,
        ),
        (
            github_error(
                403,
                json!({"message": "Must have admin rights to Repository."}),
            ),
            ErrorKind::PermissionDenied,
        ),
        (
            github_error(404, json!({"message": "Not Found"})),
            ErrorKind::NotFound,
        ),
        (
            github_error(
                422,
                json!({"message": "Validation Failed", "errors": [{"code": "invalid", "field": "role"}]}),
            ),
            ErrorKind::Validation,
        ),
        (
            page(&[]).set_body_string("<html>not json</html>"),
            ErrorKind::Decode,
        ),
    ];
    for (answer, kind) in cases {
        for (route, status) in [
            ("invitations", InvitationStatus::Pending),
            ("failed_invitations", InvitationStatus::Failed),
        ] {
            let server = MockServer::start().await;
            get(&format!("/api/v3/orgs/acme/{route}"))
                .respond_with(answer.clone())
                .expect(1)
                .mount(&server)
                .await;
            let (github, _) = github(&server);
            let query = ListInvitations::new("acme").status(status);
            let error = collect(&github, &query).await.unwrap_err();
            assert_eq!(error.kind(), kind, "{route}: {error}");
            assert!(!error.may_have_been_created(), "{error}");
            server.verify().await;
        }
    }
}

#[tokio::test]
async fn a_link_back_to_the_same_page_ends_the_list_with_an_error() {
    let server = MockServer::start().await;
    let uri = server.uri();
    get("/api/v3/orgs/acme/invitations")
        .respond_with(page(&[]).insert_header(
            "link",
            format!(r#"<{uri}/api/v3/orgs/acme/invitations?per_page=100>; rel="next""#),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (github, _) = github(&server);
    let error = collect(&github, &ListInvitations::new("acme"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(error.to_string().contains("back at this page"), "{error}");
    server.verify().await;
}

#[tokio::test]
async fn links_that_lead_round_in_a_circle_end_the_list_at_the_first_repeated_page() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let second = format!("{uri}/api/v3/organizations/42/invitations?page=2");
    let third = format!("{uri}/api/v3/organizations/42/invitations?page=3");
    get("/api/v3/orgs/acme/invitations")
        .respond_with(linked(1, "a@example.com", &second))
        .expect(2)
        .mount(&server)
        .await;
    // Page 2 names page 3, and page 3 names page 2 again.
    for (number, id, email, next) in [
        ("2", 2, "b@example.com", &third),
        ("3", 3, "c@example.com", &second),
    ] {
        get("/api/v3/organizations/42/invitations")
            .and(query_param("page", number))
            .respond_with(linked(id, email, next))
            .expect(2)
            .mount(&server)
            .await;
    }
    let (github, _) = github(&server);

    // Every invitation once, then one error, and nothing after it.
    let (listed, error) = until_error(&github, &ListInvitations::new("acme")).await;
    assert_eq!(listed, ["1", "2", "3"]);
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(error.to_string().contains("link in a circle"), "{error}");
    assert!(!error.may_have_been_created());
    // Three pages asked for, each once: the repeated one is not fetched again.
    assert_eq!(server.received_requests().await.unwrap().len(), 3);

    // Finding someone who is not there stops at the same place.
    let error = github
        .find_invitation("acme", &Invitee::email("nobody@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert_eq!(server.received_requests().await.unwrap().len(), 6);
    // Each page twice in all: once per list.
    server.verify().await;
}

#[tokio::test]
async fn a_link_back_to_the_first_page_by_another_address_is_not_followed() {
    let server = MockServer::start().await;
    let uri = server.uri();
    // The first page, asked for as `/orgs/acme/invitations?per_page=100`, is named again by
    // page 2 with its query in another order.
    let second = format!("{uri}/api/v3/orgs/acme/invitations?page=2&per_page=100");
    let first = format!("{uri}/api/v3/orgs/acme/invitations?per_page=100");
    get("/api/v3/orgs/acme/invitations")
        .respond_with(linked(1, "a@example.com", &second))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    get("/api/v3/orgs/acme/invitations")
        .and(query_param("page", "2"))
        .respond_with(linked(2, "b@example.com", &first))
        .expect(1)
        .mount(&server)
        .await;
    let (github, _) = github(&server);
    let (listed, error) = until_error(&github, &ListInvitations::new("acme")).await;
    assert_eq!(listed, ["1", "2"]);
    assert_eq!(error.kind(), ErrorKind::Decode);
    // The first page once, the second once: the repeated address is not asked for.
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_secondary_limit_on_a_list_waits_and_retries() {
    let server = MockServer::start().await;
    get("/api/v3/orgs/acme/invitations")
        .respond_with(Sequence::new(vec![
            github_error(
                403,
                json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}),
            )
            .insert_header("retry-after", "30"),
            page(&[github_invitation(1, "a@example.com", None)]),
        ]))
        .expect(2)
        .mount(&server)
        .await;
    let (github, sleeper) = github(&server);
    assert_eq!(ids(&github, &ListInvitations::new("acme")).await, ["1"]);
    assert_eq!(sleeper.waits(), [std::time::Duration::from_secs(30)]);
}

#[tokio::test]
async fn find_matches_the_email_without_regard_to_case_and_stops_at_the_first_match() {
    let server = MockServer::start().await;
    let uri = server.uri();
    get("/api/v3/orgs/acme/invitations")
        .respond_with(
            page(&[
                github_invitation(1, "a@example.com", None),
                github_invitation(2, "JANE@example.com", None),
            ])
            .insert_header(
                "link",
                format!(r#"<{uri}/api/v3/organizations/42/invitations?page=2>; rel="next""#),
            ),
        )
        .expect(3)
        .mount(&server)
        .await;
    get("/api/v3/organizations/42/invitations")
        .respond_with(page(&[github_invitation(
            3,
            "late@example.com",
            Some("latecomer"),
        )]))
        .expect(2)
        .mount(&server)
        .await;
    let (github, _) = github(&server);
    let found = github
        .find_invitation("acme", &Invitee::email("jane@EXAMPLE.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, "2");
    // A login on the second page; a person with no invitation reads both pages.
    let by_login = github
        .find_invitation("acme", &Invitee::login("LateComer"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_login.id, "3");
    assert_eq!(request_count(&server).await, 3);
    let none = github
        .find_invitation("acme", &Invitee::email("nobody@example.com"))
        .await;
    assert!(matches!(none, Ok(None)), "{none:?}");
    server.verify().await;
}

#[tokio::test]
async fn cancel_deletes_the_invitation_by_id() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/api/v3/orgs/acme/invitations/1234"))
        .and(header(
            "authorization",
            format!("Bearer {GITHUB_TOKEN}").as_str(),
        ))
        .and(header("accept", "application/vnd.github+json"))
        .and(header("x-github-api-version", "2022-11-28"))
        .and(header("user-agent", USER_AGENT))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let (github, _) = github(&server);
    let cancelled = github.cancel_invitation("acme", "1234").await.unwrap();
    assert_eq!(cancelled.id, "1234");
    assert_eq!(cancelled.invitation, None);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].url.query(), None);
    assert!(requests[0].body.is_empty());
    assert!(requests[0].headers.get("content-type").is_none());
}

#[tokio::test]
async fn cancel_errors_are_classified() {
    let cases = [
        (404, json!({"message": "Not Found"}), ErrorKind::NotPending),
        (
            422,
            json!({"message": "Validation Failed", "errors": []}),
            ErrorKind::Validation,
        ),
        (
            401,
            json!({"message": "Bad credentials"}),
            ErrorKind::Unauthenticated,
        ),
        (
            403,
            json!({"message": "You must be an organization owner."}),
            ErrorKind::PermissionDenied,
        ),
    ];
    for (status, body, kind) in cases {
        let server = MockServer::start().await;
        Mock::given(method("DELETE"))
            .respond_with(github_error(status, body))
            .expect(1)
            .mount(&server)
            .await;
        let (github, _) = github(&server);
        let error = github.cancel_invitation("acme", "9").await.unwrap_err();
        assert_eq!(error.kind(), kind, "{status}");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(error.request_id(), Some("BEEF:0002"));
        server.verify().await;
    }
}

#[tokio::test]
async fn cancellations_notify_people_so_they_are_spaced_like_invitations() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .expect(3)
        .mount(&server)
        .await;
    get("/api/v3/orgs/acme/invitations")
        .respond_with(page(&[]))
        .expect(3)
        .mount(&server)
        .await;
    let (github, sleeper) = github(&server);
    let outcomes = github.cancel_invitations("acme", ["1", "2", "3"]).await;
    assert!(outcomes.iter().all(|o| o.result.is_ok()));
    // GitHub's default pacing: notifying requests 1 s apart.
    assert_eq!(sleeper.waits(), [std::time::Duration::from_secs(1); 2]);
    // Reads are not spaced.
    for _ in 0..3 {
        ids(&github, &ListInvitations::new("acme")).await;
    }
    assert_eq!(sleeper.waits().len(), 2);
}

#[tokio::test]
async fn cancelling_many_stops_when_the_credential_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/api/v3/orgs/acme/invitations/1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/v3/orgs/acme/invitations/2"))
        .respond_with(github_error(404, json!({"message": "Not Found"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/v3/orgs/acme/invitations/3"))
        .respond_with(github_error(401, json!({"message": "Bad credentials"})))
        .expect(1)
        .mount(&server)
        .await;
    let (github, _) = github(&server);
    let outcomes = github
        .cancel_invitations("acme", ["1", "2", "1", "3", "4", "5"])
        .await;
    let summary: Vec<(&str, Option<ErrorKind>)> = outcomes
        .iter()
        .map(|o| (o.id.as_str(), o.result.as_ref().err().map(|e| e.kind())))
        .collect();
    assert_eq!(
        summary,
        [
            ("1", None),
            ("2", Some(ErrorKind::NotPending)),
            ("3", Some(ErrorKind::Unauthenticated)),
            ("4", Some(ErrorKind::Unauthenticated)),
            ("5", Some(ErrorKind::Unauthenticated)),
        ]
    );
    assert_eq!(request_count(&server).await, 3);
}

fn membership(state: &str, role: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/json; charset=utf-8")
        .set_body_json(json!({
            "url": "https://api.github.com/orgs/octocat/memberships/defunkt",
            "state": state,
            "role": role,
            "organization_url": "https://api.github.com/orgs/octocat",
            "organization": {"login": "github", "id": 1},
            "user": {"login": "defunkt", "id": 2}
        }))
}

#[tokio::test]
async fn membership_by_login_reads_the_memberships_route() {
    let server = MockServer::start().await;
    get("/api/v3/orgs/acme/memberships/defunkt")
        .respond_with(membership("active", "admin"))
        .expect(1)
        .mount(&server)
        .await;
    get("/api/v3/orgs/acme/memberships/pending-person")
        .respond_with(membership("pending", "member"))
        .expect(1)
        .mount(&server)
        .await;
    get("/api/v3/orgs/acme/memberships/stranger")
        .respond_with(github_error(404, json!({"message": "Not Found"})))
        .expect(1)
        .mount(&server)
        .await;
    get("/api/v3/orgs/acme/invitations")
        .respond_with(page(&[github_invitation(
            5,
            "p@example.com",
            Some("pending-person"),
        )]))
        .expect(2)
        .mount(&server)
        .await;
    let (github, _) = github(&server);

    let admin = github
        .membership("acme", &Invitee::login("defunkt"))
        .await
        .unwrap();
    assert!(
        matches!(
            admin,
            Membership::Member {
                role: Role::Admin,
                ..
            }
        ),
        "{admin:?}"
    );
    let pending = github
        .membership("acme", &Invitee::login("pending-person"))
        .await
        .unwrap();
    assert_eq!(pending.invitation().map(|i| i.id.as_str()), Some("5"));
    let stranger = github
        .membership("acme", &Invitee::login("stranger"))
        .await
        .unwrap();
    assert_eq!(stranger, Membership::NotMember);
    for request in server.received_requests().await.unwrap() {
        let expected = if request.url.path().ends_with("/invitations") {
            Some("per_page=100")
        } else {
            None
        };
        assert_eq!(request.url.query(), expected, "{}", request.url);
        assert!(request.body.is_empty());
        assert!(request.headers.get("content-type").is_none());
    }
    server.verify().await;
}

#[tokio::test]
async fn membership_by_email_can_only_see_invitations() {
    let server = MockServer::start().await;
    get("/api/v3/orgs/acme/invitations")
        .respond_with(page(&[github_invitation(5, "jane@example.com", None)]))
        .expect(2)
        .mount(&server)
        .await;
    let (github, _) = github(&server);
    let jane = github
        .membership("acme", &Invitee::email("jane@example.com"))
        .await
        .unwrap();
    assert_eq!(jane.invitation().map(|i| i.id.as_str()), Some("5"));
    // GitHub does not show members' emails: without an invitation, nobody can say.
    let other = github
        .membership("acme", &Invitee::email("other@example.com"))
        .await
        .unwrap();
    assert_eq!(other, Membership::Unknown);
    server.verify().await;
}

#[tokio::test]
async fn membership_errors_are_classified() {
    for (status, kind) in [
        (403, ErrorKind::PermissionDenied),
        (401, ErrorKind::Unauthenticated),
    ] {
        let server = MockServer::start().await;
        get("/api/v3/orgs/acme/memberships/defunkt")
            .respond_with(github_error(status, json!({"message": "no"})))
            .expect(1)
            .mount(&server)
            .await;
        let (github, _) = github(&server);
        let error = github
            .membership("acme", &Invitee::login("defunkt"))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), kind);
    }
}

#[tokio::test]
async fn bad_input_sends_nothing() {
    let server = MockServer::start().await;
    let (github, _) = github(&server);
    let refused = [
        (
            ListInvitations::new("acme").page_size(101),
            ErrorKind::InvalidRequest,
        ),
        (
            ListInvitations::new("acme").page_size(0),
            ErrorKind::InvalidRequest,
        ),
        (ListInvitations::new(""), ErrorKind::InvalidRequest),
        (
            ListInvitations::new("acme").email("not an email"),
            ErrorKind::InvalidRequest,
        ),
        (
            ListInvitations::new("acme").status(InvitationStatus::Revoked),
            ErrorKind::Unsupported,
        ),
        (
            ListInvitations::new("acme").with(GitHubListOptions::new().invitation_source("a b")),
            ErrorKind::InvalidRequest,
        ),
    ];
    for (query, kind) in refused {
        let error = first(&github, &query).await.unwrap().unwrap_err();
        assert_eq!(error.kind(), kind, "{query:?}");
        // The error ends the stream.
        assert!(github
            .list_invitations(&query)
            .skip(1)
            .next()
            .await
            .is_none());
    }
    for id in ["", "abc", "0", "-1", "1/../2"] {
        let error = github.cancel_invitation("acme", id).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{id:?}");
    }
    let error = github
        .find_invitation("acme", &Invitee::user_id("583231"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    let error = github
        .membership("acme", &Invitee::user_id("583231"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    let error = github
        .membership("acme", &Invitee::login("has space"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    let error = github
        .create_invitation(&orginvite::CreateInvitation::github_login(
            "acme", "octo cat",
        ))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert_eq!(request_count(&server).await, 0);
}
