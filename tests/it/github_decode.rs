//! GitHub's answers decode into the unified `Invitation`, losslessly.

use crate::common::*;
use orginvite::github::GitHubInvitation;
use orginvite::{CreateInvitation, ErrorKind, InvitationStatus, ProviderKind, Role};
use serde_json::json;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn create_with(answer: ResponseTemplate) -> Result<orginvite::Invitation, orginvite::Error> {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(answer)
        .mount(&server)
        .await;
    let (github, _) = github(&server);
    github
        .create_invitation(&CreateInvitation::email("acme", "octocat@github.com"))
        .await
}

#[tokio::test]
async fn official_201_example_decodes() {
    let invitation = create_with(github_created()).await.unwrap();
    assert_eq!(invitation.provider, ProviderKind::GitHub);
    assert_eq!(invitation.id, "1");
    assert_eq!(invitation.email.as_deref(), Some("octocat@github.com"));
    assert_eq!(invitation.role, Role::Member);
    assert_eq!(invitation.status, InvitationStatus::Pending);
    assert_eq!(
        invitation.created_at.unwrap().to_string(),
        "2016-11-30T14:46:10Z"
    );
    assert_eq!(
        invitation.expires_at.unwrap().to_string(),
        "2016-12-07T14:46:10Z"
    );
    let inviter = invitation.inviter.clone().unwrap();
    assert_eq!(inviter.id.as_deref(), Some("1"));
    assert_eq!(inviter.name.as_deref(), Some("other_user"));
    assert_eq!(invitation.accept_url, None);

    let raw = invitation
        .payload
        .get::<orginvite::github::GitHubInvitation>()
        .unwrap();
    assert_eq!(raw.id(), 1);
    assert_eq!(raw.login(), Some("monalisa"));
    assert_eq!(raw.email(), Some("octocat@github.com"));
    assert_eq!(raw.role(), Some("direct_member"));
    assert_eq!(raw.created_at(), Some("2016-11-30T06:46:10-08:00"));
    assert_eq!(raw.node_id(), Some("MDQ6VXNlcjE="));
    assert_eq!(raw.team_count(), Some(2));
    assert_eq!(raw.invitation_source(), Some("member"));
    assert_eq!(
        raw.invitation_teams_url(),
        Some("https://api.github.com/organizations/2/invitations/1/teams")
    );
    assert_eq!(raw.failed_at(), None);
    let inviter = raw.inviter().unwrap();
    assert_eq!(inviter.login(), Some("other_user"));
    assert_eq!(inviter.id(), Some(1));
    assert_eq!(inviter.get("type"), Some(json!("User")));
    assert_eq!(inviter.get("site_admin"), Some(json!(false)));
    assert_eq!(inviter.get("no_such_field"), None);
    // The payload is GitHub's object, whole: it reads back as the fixture.
    let sent: serde_json::Value = serde_json::from_str(&fixture("github/create-201.json")).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(raw.json()).unwrap(),
        sent
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(inviter.json()).unwrap(),
        sent["inviter"]
    );
    assert_eq!(serde_json::to_value(raw).unwrap(), sent);
}

#[test]
fn list_example_with_empty_string_failures_decodes() {
    let list: Vec<GitHubInvitation> =
        serde_json::from_str(&fixture("github/list-200.json")).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id(), 1);
    assert_eq!(list[0].failed_at(), None);
    assert_eq!(list[0].failed_reason(), None);
    // Empty strings read as absent, but the object is kept as sent.
    assert_eq!(list[0].get("failed_at"), Some(json!("")));
}

#[tokio::test]
async fn a_list_entry_served_as_the_answer_is_pending() {
    let list: serde_json::Value = serde_json::from_str(&fixture("github/list-200.json")).unwrap();
    let invitation = create_with(ResponseTemplate::new(201).set_body_json(&list[0]))
        .await
        .unwrap();
    assert_eq!(invitation.status, InvitationStatus::Pending);
}

#[tokio::test]
async fn unknown_fields_are_kept_and_sparse_bodies_decode() {
    let body = json!({
        "id": 99,
        "login": null,
        "email": "octocat@github.com",
        "role": "hiring_manager",
        "created_at": "2026-01-02T03:04:05Z",
        "brand_new_field": {"nested": [1, 2, 3]},
        "failed_at": "2026-01-03T00:00:00Z",
        "failed_reason": "bounced"
    });
    let invitation = create_with(ResponseTemplate::new(201).set_body_json(&body))
        .await
        .unwrap();
    assert_eq!(invitation.id, "99");
    assert_eq!(invitation.role, Role::Custom("hiring_manager".into()));
    assert_eq!(invitation.status, InvitationStatus::Failed);
    assert_eq!(invitation.inviter, None);
    let raw = invitation
        .payload
        .get::<orginvite::github::GitHubInvitation>()
        .unwrap();
    assert_eq!(
        raw.get("brand_new_field"),
        Some(json!({"nested": [1, 2, 3]}))
    );
    assert_eq!(raw.failed_reason(), Some("bounced"));
    assert_eq!(raw.login(), None);
    // Serializing gives the vendor's fields back, unknown ones included.
    let out = serde_json::to_value(&invitation).unwrap();
    assert_eq!(
        out["payload"]["brand_new_field"],
        json!({"nested": [1, 2, 3]})
    );
    assert_eq!(out["provider"], json!("github"));
    assert_eq!(out["role"], json!("hiring_manager"));
    assert_eq!(out["created_at"], json!("2026-01-02T03:04:05Z"));
}

#[tokio::test]
async fn unreadable_success_bodies_are_decode_errors_that_may_have_created() {
    let cases = [
        (ResponseTemplate::new(201), "the body is empty"),
        (
            ResponseTemplate::new(201).set_body_string("<html>ok</html>"),
            "is not JSON",
        ),
        (
            ResponseTemplate::new(201).set_body_string("{\"id\": 1, \"login\""),
            "is not JSON",
        ),
        (
            ResponseTemplate::new(201).set_body_json(json!({"login": "x"})),
            "JSON body is not an organization invitation",
        ),
    ];
    for (answer, reason) in cases {
        let error = create_with(answer).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decode);
        assert_eq!(error.status().map(|s| s.as_u16()), Some(201));
        assert!(error.may_have_been_created());
        assert!(error.to_string().contains(reason), "{error}");
        let orginvite::Error::Decode(decode) = &error else {
            panic!("{error:?}")
        };
        assert_eq!(decode.provider, ProviderKind::GitHub);
    }
}

#[tokio::test]
async fn a_success_for_someone_else_is_a_decode_error() {
    // The official example invites octocat@github.com; ask for someone else.
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(github_created())
        .mount(&server)
        .await;
    let (github, _) = github(&server);
    let error = github
        .create_invitation(&CreateInvitation::email("acme", "someone.else@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(error.may_have_been_created());
    assert!(
        error
            .to_string()
            .contains("not an invitation for the invited email"),
        "{error}"
    );
    // The same address in another case is the same person.
    let ok = github
        .create_invitation(&CreateInvitation::email("acme", "OctoCat@GitHub.com"))
        .await
        .unwrap();
    assert_eq!(ok.id, "1");
}

#[tokio::test]
async fn a_missing_role_reports_the_requested_one() {
    let body = json!({"id": 5, "email": "octocat@github.com"});
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(201).set_body_json(&body))
        .mount(&server)
        .await;
    let (github, _) = github(&server);
    let invitation = github
        .create_invitation(&CreateInvitation::email("acme", "octocat@github.com").role(Role::Admin))
        .await
        .unwrap();
    assert_eq!(invitation.role, Role::Admin);
}

#[test]
fn escaped_strings_and_whitespace_decode_to_their_text() {
    let invitation = GitHubInvitation::from_json(
        "\r\n {\"id\": 3, \"login\": \"mona\\u006Cisa\", \"email\": \"a\\/b@example.com\",\n\
         \"inviter\": {\"login\": \"o\\\"q\", \"id\": 9}, \"failed_reason\": \"\"} \n",
    )
    .unwrap();
    assert_eq!(invitation.login(), Some("monalisa"));
    assert_eq!(invitation.email(), Some("a/b@example.com"));
    assert_eq!(invitation.inviter().unwrap().login(), Some("o\"q"));
    assert_eq!(invitation.inviter().unwrap().id(), Some(9));
    assert_eq!(invitation.failed_reason(), None);
    assert!(invitation.json().starts_with('{') && invitation.json().ends_with('}'));
    // Deserializing through serde and from_json give the same invitation.
    let through_serde: GitHubInvitation = serde_json::from_str(invitation.json()).unwrap();
    assert_eq!(through_serde, invitation);
    assert_eq!(through_serde.login(), Some("monalisa"));
    assert_eq!(through_serde.id(), 3);
    assert_eq!(
        serde_json::to_value(&through_serde).unwrap(),
        serde_json::from_str::<serde_json::Value>(invitation.json()).unwrap()
    );
    // Equal when the objects hold the same fields and values, however they are written.
    let respaced: GitHubInvitation =
        "{\"failed_reason\":\"\",\"inviter\":{\"id\":9,\"login\":\"o\\\"q\"},\"email\":\"a/b@example.com\",\"login\":\"monalisa\",\"id\":3}"
            .parse()
            .unwrap();
    assert_eq!(respaced, invitation);
    assert_eq!(respaced.inviter(), invitation.inviter());
    let other = GitHubInvitation::from_json("{\"id\": 4}").unwrap();
    assert_ne!(other, invitation);
    // Debug shows the inviter's fields, not the whole invitation again.
    let debug = format!("{:?}", invitation.inviter().unwrap());
    assert_eq!(
        debug,
        "GitHubUser { login: Some(\"o\\\"q\"), id: Some(9), .. }"
    );
    // Not an object, or no id: errors, not panics.
    for bad in [
        "[]",
        "{\"id\": \"x\"}",
        "{\"login\": \"x\"}",
        "{\"id\": 1, \"inviter\": 5}",
        "",
    ] {
        assert!(GitHubInvitation::from_json(bad).is_err(), "{bad}");
    }
}
