//! Bad input is refused with a typed error before anything is sent.

use std::time::Duration;

use crate::common::*;
use orginvite::github::GitHubOptions;
use orginvite::{CreateInvitation, Error, ErrorKind, GitHub, Invitee, Role};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer};

/// Runs `request` against a server that must receive nothing; returns the error.
async fn refused(request: CreateInvitation) -> Error {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(github_created())
        .expect(0)
        .mount(&server)
        .await;
    let (github, sleeper) = github(&server);
    let error = github
        .create_invitation(&request)
        .await
        .expect_err("refused before sending");
    assert_eq!(
        request_count(&server).await,
        0,
        "nothing may reach the server"
    );
    assert!(sleeper.waits().is_empty());
    assert!(!error.may_have_been_created());
    error
}

fn field(error: &Error) -> &'static str {
    match error {
        Error::InvalidRequest(e) => e.field,
        other => panic!("not an invalid request: {other:?}"),
    }
}

#[tokio::test]
async fn organization_must_be_plain() {
    for org in ["", "   ", "acme\n", "ac\u{7}me", "..", "."] {
        let error = refused(CreateInvitation::email(org, "octocat@github.com")).await;
        assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{org:?}");
        assert_eq!(field(&error), "organization", "{org:?}");
    }
}

#[tokio::test]
async fn email_must_be_well_formed() {
    for email in [
        "",
        "octocat",
        "octocat@",
        "@github.com",
        "octo cat@github.com",
        "a@b@c",
        "x@y..z",
    ] {
        let error = refused(CreateInvitation::email("acme", email)).await;
        assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{email:?}");
        assert_eq!(field(&error), "email");
    }
}

#[tokio::test]
async fn email_and_user_id_both_or_neither() {
    let both = Invitee::from_parts(Some("a@b.c".into()), Some("1".into())).unwrap_err();
    assert_eq!(both.kind(), ErrorKind::InvalidRequest);
    assert_eq!(field(&both), "invitee");
    let neither = Invitee::from_parts(None, None).unwrap_err();
    assert_eq!(neither.kind(), ErrorKind::InvalidRequest);
}

#[tokio::test]
async fn github_user_ids_are_positive_integers() {
    for id in ["abc", "0", "-1", "1.5", "99999999999999999999999"] {
        let error = refused(CreateInvitation::user_id("acme", id)).await;
        assert_eq!(field(&error), "user_id", "{id:?}");
        assert!(
            error
                .to_string()
                .starts_with("invalid request: GitHub: `user_id`"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn expiry_is_unsupported_on_github() {
    let error = refused(
        CreateInvitation::email("acme", "octocat@github.com")
            .expires_in(Duration::from_secs(86_400)),
    )
    .await;
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    assert_eq!(error.provider(), Some(orginvite::ProviderKind::GitHub));
    assert_eq!(
        error.to_string(),
        "GitHub does not support choosing an expiry (GitHub invitations always last 7 days)"
    );
}

#[tokio::test]
async fn reinstate_excludes_teams_and_roles() {
    let error = refused(
        CreateInvitation::user_id("acme", "1")
            .with(GitHubOptions::new().reinstate(true).team_id(5)),
    )
    .await;
    assert_eq!(field(&error), "team_ids");
    let error = refused(
        CreateInvitation::user_id("acme", "1")
            .role(Role::Admin)
            .with(GitHubOptions::new().reinstate(true)),
    )
    .await;
    assert_eq!(field(&error), "role");
    let error = refused(
        CreateInvitation::user_id("acme", "1")
            .role(Role::Custom("reinstate".into()))
            .with(GitHubOptions::new().team_id(5)),
    )
    .await;
    assert_eq!(field(&error), "team_ids");
}

#[tokio::test]
async fn team_ids_must_be_positive() {
    let error = refused(
        CreateInvitation::email("acme", "octocat@github.com").with(GitHubOptions::new().team_id(0)),
    )
    .await;
    assert_eq!(field(&error), "team_ids");
}

#[tokio::test]
async fn custom_roles_cannot_smuggle_control_characters() {
    let error = refused(
        CreateInvitation::email("acme", "octocat@github.com")
            .role(Role::Custom("admin\r\n".into())),
    )
    .await;
    assert_eq!(field(&error), "role");
}

#[test]
fn configuration_is_checked_at_build() {
    let kind = |b: orginvite::github::GitHubBuilder| b.build().unwrap_err().kind();
    assert_eq!(kind(GitHub::builder()), ErrorKind::InvalidConfig);
    assert_eq!(kind(GitHub::builder().token("")), ErrorKind::InvalidConfig);
    assert_eq!(
        kind(GitHub::builder().token("ghp_a\r\nX-Evil: 1")),
        ErrorKind::InvalidConfig
    );
    assert_eq!(
        kind(
            GitHub::builder()
                .token("ghp_x")
                .user_agent("ua\r\nX-Evil: 1")
        ),
        ErrorKind::InvalidConfig
    );
    assert_eq!(
        kind(GitHub::builder().token("ghp_x").api_version("2022-11-28\n")),
        ErrorKind::InvalidConfig
    );
    assert_eq!(
        kind(
            GitHub::builder()
                .token("ghp_x")
                .base_url("http://api.github.com")
        ),
        ErrorKind::InvalidConfig
    );
    assert!(GitHub::builder()
        .token("ghp_x")
        .base_url("https://ghe.example.com/api/v3")
        .build()
        .is_ok());
}

#[tokio::test]
async fn check_invitation_refuses_what_a_create_would_without_sending() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(github_created())
        .expect(0)
        .mount(&server)
        .await;
    let (github, _) = github(&server);
    let provider: &dyn orginvite::Provider = &github;
    // The shared rules.
    let error = provider
        .check_invitation(&CreateInvitation::email("acme", "no-at-sign"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    // GitHub's own: no expiry.
    let error = provider
        .check_invitation(
            &CreateInvitation::email("acme", "jane@example.com")
                .expires_in(Duration::from_secs(86_400)),
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    // A login and a team slug are checked for form only: nothing is looked up.
    provider
        .check_invitation(
            &CreateInvitation::github_login("acme", "octocat")
                .with(GitHubOptions::new().team_slug("design")),
        )
        .unwrap();
    assert!(provider
        .check_invitation(&CreateInvitation::github_login("acme", "not a login"))
        .is_err());
    provider
        .check_invitation(&CreateInvitation::email("acme", "jane@example.com").role(Role::Admin))
        .unwrap();
}

#[tokio::test]
async fn a_role_github_does_not_take_is_refused() {
    // GitHub's create takes admin, direct_member, billing_manager and reinstate only.
    for role in ["superuser", "hiring_manager", "Admin"] {
        let error = refused(
            CreateInvitation::email("acme", "a@example.com").role(Role::Custom(role.into())),
        )
        .await;
        assert_eq!(field(&error), "role", "{role}");
        assert!(
            error
                .to_string()
                .contains(&format!("unknown role {role:?}")),
            "{error}"
        );
    }
}
