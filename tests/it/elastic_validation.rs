//! Bad input for Elastic Cloud is refused with a typed error before anything is sent.

use std::time::Duration;

use crate::common::elastic::*;
use crate::common::request_count;
use orginvite::elastic::{
    DeploymentRole, ElasticOptions, OrganizationRole, PlatformRole, ProjectRole, RoleAssignments,
};
use orginvite::{CreateInvitation, Error, ErrorKind, ProviderKind, Role};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer};

/// Runs `request` against a server that must receive nothing; returns the error.
async fn refused(request: CreateInvitation) -> Error {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(created_for("jane@example.com"))
        .expect(0)
        .mount(&server)
        .await;
    let (elastic, sleeper) = elastic(&server);
    let error = elastic
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

/// The field at fault, and whether it was Elastic Cloud's own rule.
fn field(error: &Error) -> (&'static str, Option<ProviderKind>) {
    match error {
        Error::InvalidRequest(e) => (e.field, e.provider),
        other => panic!("not an invalid request: {other:?}"),
    }
}

fn with_roles(roles: RoleAssignments) -> CreateInvitation {
    CreateInvitation::email(ORG, "jane@example.com")
        .with(ElasticOptions::new().role_assignments(roles))
}

#[tokio::test]
async fn email_must_be_given_and_well_formed() {
    for email in ["", "jane", "jane@", "@example.com", "ja ne@example.com"] {
        let error = refused(CreateInvitation::email(ORG, email)).await;
        assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{email:?}");
        assert_eq!(field(&error).0, "email", "{email:?}");
    }
}

#[tokio::test]
async fn user_id_invitees_are_unsupported() {
    let error = refused(CreateInvitation::user_id(ORG, "12345")).await;
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    assert_eq!(error.provider(), Some(ProviderKind::ElasticCloud));
}

#[tokio::test]
async fn expiry_must_be_whole_hours_or_days() {
    for expiry in [
        Duration::from_secs(90 * 60),
        Duration::from_secs(30),
        Duration::from_millis(3_600_500),
        Duration::ZERO,
    ] {
        let error =
            refused(CreateInvitation::email(ORG, "jane@example.com").expires_in(expiry)).await;
        assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{expiry:?}");
        assert_eq!(field(&error).0, "expires_in", "{expiry:?}");
    }
    let error = refused(
        CreateInvitation::email(ORG, "jane@example.com").expires_in(Duration::from_secs(90 * 60)),
    )
    .await;
    assert_eq!(field(&error).1, Some(ProviderKind::ElasticCloud));
    assert!(error.to_string().contains("whole number of hours or days"));
}

#[tokio::test]
async fn all_and_ids_exclude_each_other() {
    let mut deployment = DeploymentRole::all("deployment-viewer");
    deployment.deployment_ids.push("d-1".into());
    let error = refused(with_roles(RoleAssignments::new().deployment(deployment))).await;
    assert_eq!(
        field(&error),
        (
            "role_assignments.deployment",
            Some(ProviderKind::ElasticCloud)
        )
    );
    assert!(error.to_string().contains("pick one"), "{error}");

    let mut project = ProjectRole::ids("observability-viewer", ["p-1"]);
    project.all = true;
    let error = refused(with_roles(RoleAssignments::new().observability(project))).await;
    assert_eq!(field(&error).0, "role_assignments.project.observability");
}

#[tokio::test]
async fn a_scope_is_needed() {
    let error = refused(with_roles(RoleAssignments::new().deployment(
        DeploymentRole::ids("deployment-editor", Vec::<String>::new()),
    )))
    .await;
    assert_eq!(field(&error).0, "role_assignments.deployment");

    let mut project = ProjectRole::all("elasticsearch-developer");
    project.all = false;
    let error = refused(with_roles(RoleAssignments::new().elasticsearch(project))).await;
    assert_eq!(field(&error).0, "role_assignments.project.elasticsearch");

    let error = refused(with_roles(
        RoleAssignments::new().security(ProjectRole::ids("security-viewer", [""])),
    ))
    .await;
    assert_eq!(field(&error).0, "role_assignments.project.security");
}

#[tokio::test]
async fn role_ids_must_not_be_empty() {
    let error = refused(with_roles(
        RoleAssignments::new().platform(PlatformRole::new(" ")),
    ))
    .await;
    assert_eq!(field(&error).0, "role_assignments.platform");
    let error = refused(with_roles(
        RoleAssignments::new().organization(OrganizationRole::new("")),
    ))
    .await;
    assert_eq!(field(&error).0, "role_assignments.organization");
    // The shared rule for custom roles runs first.
    let error =
        refused(CreateInvitation::email(ORG, "jane@example.com").role(Role::Custom("".into())))
            .await;
    assert_eq!(field(&error), ("role", None));
}

#[tokio::test]
async fn entries_cannot_name_another_organization() {
    let mut role = OrganizationRole::billing_admin();
    role.organization_id = Some("someone-else".into());
    let error = refused(with_roles(RoleAssignments::new().organization(role))).await;
    assert_eq!(field(&error).0, "role_assignments.organization");
    assert!(error.to_string().contains("someone-else"), "{error}");
}
