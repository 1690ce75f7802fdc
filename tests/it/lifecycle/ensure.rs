//! `ensure_invited`: every branch of reconciling a create that ended in doubt, with exact
//! request counts, and the sandbox's faults for doubt.

use std::time::Duration;

use orginvite::testkit::{Fault, Sandbox};
use orginvite::{CreateInvitation, Ensured, ErrorKind, Provider, Reconcile, RetryPolicy};
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

const EMAIL: &str = "octocat@github.com";

fn request() -> CreateInvitation {
    CreateInvitation::email("acme", EMAIL)
}

/// The pending list, holding octocat's invitation (created at the test clock's start) or not.
fn listing(holds: bool) -> ResponseTemplate {
    listing_created_at(holds, "2027-01-15T08:00:00Z")
}

fn listing_created_at(holds: bool, created_at: &str) -> ResponseTemplate {
    let mut created: Value = serde_json::from_str(&fixture("github/create-201.json")).unwrap();
    created["created_at"] = json!(created_at);
    let items = if holds { vec![created] } else { Vec::new() };
    ResponseTemplate::new(200).set_body_json(Value::Array(items))
}

fn bad_gateway() -> ResponseTemplate {
    ResponseTemplate::new(502).set_body_raw("<html>502</html>", "text/html")
}

/// Mounts the answers to creates and to lists, each in turn, and counts both.
async fn serve(creates: Vec<ResponseTemplate>, lists: Vec<ResponseTemplate>) -> MockServer {
    let server = MockServer::start().await;
    if !creates.is_empty() {
        Mock::given(method("POST"))
            .respond_with(Sequence::new(creates))
            .mount(&server)
            .await;
    }
    if !lists.is_empty() {
        Mock::given(method("GET"))
            .respond_with(Sequence::new(lists))
            .mount(&server)
            .await;
    }
    server
}

async fn counts(server: &MockServer) -> (usize, usize) {
    let requests = server.received_requests().await.unwrap();
    let posts = requests
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    (posts, requests.len() - posts)
}

fn member_answer() -> ResponseTemplate {
    github_error(
        422,
        json!({"message": "Validation Failed", "errors": [{"message": "A user with this email addresss is already a part of this organization"}]}),
    )
}

fn invited_answer() -> ResponseTemplate {
    github_error(
        422,
        json!({"message": "Validation Failed", "errors": [{"message": "Invitee has already been invited to this organization"}]}),
    )
}

#[tokio::test]
async fn definite_answers_need_no_lookup_or_one() {
    // (create answers, list answers, expected outcome, POSTs, GETs)
    type Case = (
        Vec<ResponseTemplate>,
        Vec<ResponseTemplate>,
        &'static str,
        usize,
        usize,
    );
    let cases: Vec<Case> = vec![
        (vec![github_created()], vec![], "created", 1, 0),
        (vec![member_answer()], vec![], "already_member", 1, 0),
        (
            vec![invited_answer()],
            vec![listing(true)],
            "already_invited",
            1,
            1,
        ),
    ];
    for (creates, lists, outcome, posts, gets) in cases {
        let server = serve(creates, lists).await;
        let (github, _) = github(&server);
        let ensured = github.ensure_invited(&request()).await.unwrap();
        assert_eq!(ensured.as_str(), outcome);
        assert!(!ensured.reconciled());
        if outcome == "already_invited" {
            assert_eq!(ensured.invitation().unwrap().id, "1");
        }
        assert_eq!(counts(&server).await, (posts, gets), "{outcome}");
    }
}

#[tokio::test]
async fn already_invited_stays_definite_when_the_lookup_fails() {
    let server = serve(
        vec![invited_answer()],
        vec![github_error(401, json!({"message": "Bad credentials"}))],
    )
    .await;
    let (github, _) = github(&server);
    let ensured = github.ensure_invited(&request()).await.unwrap();
    assert!(
        matches!(
            ensured,
            Ensured::AlreadyInvited {
                invitation: None,
                ..
            }
        ),
        "{ensured:?}"
    );
    assert_eq!(counts(&server).await, (1, 1));
}

#[tokio::test]
async fn a_5xx_then_found_is_created_and_reconciled() {
    let server = serve(vec![bad_gateway()], vec![listing(true)]).await;
    let (github, _) = github(&server);
    let ensured = github.ensure_invited(&request()).await.unwrap();
    assert!(ensured.created() && ensured.reconciled(), "{ensured:?}");
    assert_eq!(ensured.invitation().unwrap().id, "1");
    assert_eq!(counts(&server).await, (1, 1));
}

#[tokio::test]
async fn an_invitation_found_from_well_before_the_call_is_someone_elses() {
    // A gateway's 502 in front of an "already invited": the invitation found is a day old.
    let server = serve(
        vec![bad_gateway()],
        vec![listing_created_at(true, "2027-01-14T08:00:00Z")],
    )
    .await;
    let (github, _) = github(&server);
    let ensured = github.ensure_invited(&request()).await.unwrap();
    assert!(
        matches!(
            ensured,
            Ensured::AlreadyInvited {
                invitation: Some(_),
                ..
            }
        ),
        "{ensured:?}"
    );
    assert_eq!(counts(&server).await, (1, 1));
}

#[tokio::test]
async fn already_invited_on_a_second_create_is_the_first_creates_invitation() {
    // The first create's invitation was not listed within the window; the second create
    // hears "already invited", and the lookup finds the invitation made during the call.
    let server = serve(
        vec![bad_gateway(), invited_answer()],
        vec![
            listing(false),
            listing(false),
            listing(false),
            listing(true),
        ],
    )
    .await;
    let (github, _) = github(&server);
    let ensured = github.ensure_invited(&request()).await.unwrap();
    assert!(ensured.created() && ensured.reconciled(), "{ensured:?}");
    assert_eq!(counts(&server).await, (2, 4));
}

#[tokio::test]
async fn an_unreadable_success_then_found_is_created_and_reconciled() {
    let server = serve(
        vec![ResponseTemplate::new(201).set_body_string("{\"id\": ")],
        vec![listing(true)],
    )
    .await;
    let (github, _) = github(&server);
    let ensured = github.ensure_invited(&request()).await.unwrap();
    assert!(ensured.reconciled(), "{ensured:?}");
    assert_eq!(counts(&server).await, (1, 1));
}

#[tokio::test]
async fn a_lagging_list_is_looked_at_again_over_the_window() {
    let server = serve(
        vec![bad_gateway()],
        vec![listing(false), listing(false), listing(true)],
    )
    .await;
    let (github, sleeper) = github(&server);
    let ensured = github.ensure_invited(&request()).await.unwrap();
    assert!(ensured.reconciled(), "{ensured:?}");
    assert_eq!(counts(&server).await, (1, 3));
    // The default window: three lookups over five seconds.
    assert_eq!(sleeper.waits(), [Duration::from_millis(2500); 2]);
}

#[tokio::test]
async fn not_found_after_the_window_sends_the_create_again() {
    let server = serve(vec![bad_gateway(), github_created()], vec![listing(false)]).await;
    let (github, sleeper) = github(&server);
    let ensured = github.ensure_invited(&request()).await.unwrap();
    assert!(ensured.created() && !ensured.reconciled(), "{ensured:?}");
    assert_eq!(counts(&server).await, (2, 3));
    // Two lookup waits, then the pacing's second between two invitations already passed.
    assert_eq!(sleeper.waits(), [Duration::from_millis(2500); 2]);
}

#[tokio::test]
async fn a_failed_lookup_leaves_the_create_in_doubt_and_sends_no_second_create() {
    let server = serve(
        vec![bad_gateway(), github_created()],
        vec![github_error(
            403,
            json!({"message": "Resource not accessible by integration"}),
        )],
    )
    .await;
    let (github, _) = github(&server);
    let error = github.ensure_invited(&request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServerError);
    assert!(error.may_have_been_created());
    assert_eq!(counts(&server).await, (1, 1));
}

#[tokio::test]
async fn spent_attempts_end_with_an_error_that_is_no_longer_in_doubt() {
    let server = serve(vec![bad_gateway()], vec![listing(false)]).await;
    let (github, _) = github_with(
        &server,
        RetryPolicy::default().jitter(false).max_attempts(2),
    );
    let error = github.ensure_invited(&request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServerError);
    // Looked for three times after each create: it does not exist.
    assert!(!error.may_have_been_created());
    assert_eq!(counts(&server).await, (2, 6));
}

#[tokio::test]
async fn the_window_is_configurable() {
    let server = serve(vec![bad_gateway(), github_created()], vec![listing(false)]).await;
    let sleeper = orginvite::sleep::RecordingSleeper::starting_at(epoch());
    let github = orginvite::GitHub::builder()
        .token(GITHUB_TOKEN)
        .base_url(format!("{}/api/v3", server.uri()))
        .user_agent(USER_AGENT)
        .sleeper(sleeper.clone())
        .reconcile(
            Reconcile::default()
                .lookups(5)
                .window(Duration::from_secs(20)),
        )
        .build()
        .unwrap();
    assert!(github.ensure_invited(&request()).await.unwrap().created());
    assert_eq!(counts(&server).await, (2, 5));
    assert_eq!(sleeper.waits()[..4], [Duration::from_secs(5); 4]);
}

#[tokio::test]
async fn a_user_id_cannot_be_looked_up_on_github_so_it_stays_in_doubt() {
    let server = serve(vec![bad_gateway()], vec![]).await;
    let (github, _) = github(&server);
    let error = github
        .ensure_invited(&CreateInvitation::user_id("acme", "583231"))
        .await
        .unwrap_err();
    assert!(error.may_have_been_created());
    assert_eq!(counts(&server).await, (1, 0));
}

#[tokio::test]
async fn bad_input_sends_nothing() {
    let server = serve(vec![github_created()], vec![listing(true)]).await;
    let (github, _) = github(&server);
    let error = github
        .ensure_invited(&CreateInvitation::email("acme", "not an email"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert_eq!(counts(&server).await, (0, 0));
}

#[tokio::test]
async fn the_sandboxs_faults_for_doubt_are_reconciled_on_every_vendor() {
    let (github_fake, github) = Sandbox::github().await;
    let (clerk_fake, clerk) = Sandbox::clerk().await;
    let (elastic_fake, elastic) = Sandbox::elastic().await;
    type Fake<'a> = (
        &'a dyn Provider,
        &'a str,
        &'a dyn Fn(Fault),
        &'a dyn Fn() -> usize,
    );
    let fakes: [Fake<'_>; 3] = [
        (
            &github,
            "acme",
            &|f| {
                github_fake.inject(f);
            },
            &|| github_fake.invitations().len(),
        ),
        (
            &clerk,
            "org_sandbox",
            &|f| {
                clerk_fake.inject(f);
            },
            &|| clerk_fake.invitations().len(),
        ),
        (
            &elastic,
            "sandbox-org",
            &|f| {
                elastic_fake.inject(f);
            },
            &|| elastic_fake.invitations().len(),
        ),
    ];
    for (provider, org, inject, held) in fakes {
        let kind = provider.kind();
        for (n, faults) in [
            vec![Fault::CreatedThenServerError],
            vec![Fault::CreatedThenDrop],
            vec![
                Fault::CreatedThenServerError,
                Fault::ListLag(Duration::from_secs(3)),
            ],
        ]
        .into_iter()
        .enumerate()
        {
            let before = held();
            for fault in faults.clone() {
                inject(fault);
            }
            let request = CreateInvitation::email(org, format!("doubt{n}@example.com"));
            let ensured = provider.ensure_invited(&request).await.unwrap();
            assert!(ensured.reconciled(), "{kind} {faults:?}: {ensured:?}");
            assert_eq!(
                held(),
                before + 1,
                "{kind} {faults:?}: exactly one invitation"
            );
        }
        // Nothing created: the create is sent again.
        inject(Fault::ServerError);
        let request = CreateInvitation::email(org, "retried@example.com");
        let ensured = provider.ensure_invited(&request).await.unwrap();
        assert!(
            ensured.created() && !ensured.reconciled(),
            "{kind}: {ensured:?}"
        );
    }
}

#[tokio::test]
async fn each_fault_for_doubt_leaves_a_plain_create_in_doubt_with_the_invitation_held() {
    let (fake, github) = Sandbox::github().await;
    for (n, (fault, kind)) in [
        (Fault::CreatedThenServerError, ErrorKind::ServerError),
        (Fault::CreatedThenDrop, ErrorKind::Transport),
    ]
    .into_iter()
    .enumerate()
    {
        fake.inject(fault.clone());
        let error = github
            .create_invitation(&CreateInvitation::email(
                "acme",
                format!("p{n}@example.com"),
            ))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), kind, "{fault:?}: {error}");
        assert!(error.may_have_been_created(), "{fault:?}");
        assert_eq!(fake.invitations().len(), n + 1, "{fault:?}");
    }
    // A lagging list leaves out what was created within the lag, on the fake's clock.
    fake.inject(Fault::ListLag(Duration::from_secs(3)));
    let query = orginvite::ListInvitations::new("acme");
    assert!(crate::lifecycle::ids(&github, &query).await.is_empty());
    assert_eq!(crate::lifecycle::ids(&github, &query).await.len(), 2);
}

/// The method and path of every request the fake received from `from` on.
async fn routes<V>(fake: &orginvite::testkit::FakeServer<V>, from: usize) -> Vec<String> {
    fake.requests()
        .await
        .iter()
        .skip(from)
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}

#[tokio::test]
async fn resend_cancels_and_creates_again_with_the_same_role_and_options() {
    use orginvite::clerk::ClerkOptions;
    use orginvite::elastic::{DeploymentRole, ElasticOptions, RoleAssignments};
    use orginvite::github::GitHubOptions;
    use orginvite::{InvitationStatus, Invitee, Resent, Role};
    let jane = Invitee::email("jane@example.com");

    let (fake, github) = Sandbox::github().await;
    let request = CreateInvitation::email("acme", "jane@example.com")
        .role(Role::Admin)
        .with(GitHubOptions::new().team_id(12).team_id(34));
    github.create_invitation(&request).await.unwrap();
    let from = fake.requests().await.len();
    let Resent::Resent {
        previous, outcome, ..
    } = github.resend_invitation("acme", &jane).await.unwrap()
    else {
        panic!("resent");
    };
    assert_eq!(
        routes(&fake, from).await,
        [
            "GET /orgs/acme/invitations",
            "GET /orgs/acme/invitations/1/teams",
            "DELETE /orgs/acme/invitations/1",
            "POST /orgs/acme/invitations",
        ]
    );
    let sent: Value = serde_json::from_slice(&fake.requests().await.last().unwrap().body).unwrap();
    assert_eq!(
        sent,
        json!({"email": "jane@example.com", "role": "admin", "team_ids": [12, 34]})
    );
    assert_eq!(previous.id, "1");
    assert_eq!(outcome.invitation().unwrap().id, "2");
    let held = fake.invitations();
    assert_eq!(held[0].status, InvitationStatus::Revoked);
    assert_eq!(held[1].status, InvitationStatus::Pending);

    let (fake, clerk) = Sandbox::clerk().await;
    let mut metadata = serde_json::Map::new();
    metadata.insert("team".into(), json!("design"));
    let request = CreateInvitation::email("org_sandbox", "jane@example.com")
        .role(Role::Admin)
        .with(
            ClerkOptions::new()
                .public_metadata(metadata)
                .inviter_user_id("user_boss"),
        );
    clerk.create_invitation(&request).await.unwrap();
    let from = fake.requests().await.len();
    let resent = clerk.resend_invitation("org_sandbox", &jane).await.unwrap();
    assert!(matches!(resent, Resent::Resent { .. }), "{resent:?}");
    assert_eq!(
        routes(&fake, from).await,
        [
            "GET /v1/organizations/org_sandbox/invitations",
            "POST /v1/organizations/org_sandbox/invitations/orginv_sandbox00000000000000000001/revoke",
            "POST /v1/organizations/org_sandbox/invitations",
        ]
    );
    let sent: Value = serde_json::from_slice(&fake.requests().await.last().unwrap().body).unwrap();
    assert_eq!(
        sent,
        json!({"email_address": "jane@example.com", "role": "org:admin",
               "inviter_user_id": "user_boss", "public_metadata": {"team": "design"}})
    );

    let (fake, elastic) = Sandbox::elastic().await;
    let roles = RoleAssignments::new().deployment(DeploymentRole::all("deployment-viewer"));
    let request = CreateInvitation::email("sandbox-org", "jane@example.com")
        .role(Role::Admin)
        .with(ElasticOptions::new().role_assignments(roles));
    elastic.create_invitation(&request).await.unwrap();
    let first: Value = serde_json::from_slice(&fake.requests().await[0].body).unwrap();
    let from = fake.requests().await.len();
    let resent = elastic
        .resend_invitation("sandbox-org", &jane)
        .await
        .unwrap();
    assert!(matches!(resent, Resent::Resent { .. }), "{resent:?}");
    let token = &fake.invitations()[0].id;
    assert_eq!(
        routes(&fake, from).await,
        [
            "GET /api/v1/organizations/sandbox-org/invitations".to_owned(),
            format!("DELETE /api/v1/organizations/sandbox-org/invitations/{token}"),
            "POST /api/v1/organizations/sandbox-org/invitations".to_owned(),
        ]
    );
    let sent: Value = serde_json::from_slice(&fake.requests().await.last().unwrap().body).unwrap();
    assert_eq!(sent, first, "the same roles, organization role included");
}

#[tokio::test]
async fn resend_without_a_pending_invitation_or_after_a_failed_create() {
    use orginvite::{Invitee, Resent};
    let (fake, clerk) = Sandbox::clerk().await;
    let nobody = clerk
        .resend_invitation("org_sandbox", &Invitee::email("nobody@example.com"))
        .await
        .unwrap();
    assert!(matches!(nobody, Resent::NothingPending));
    assert_eq!(fake.requests().await.len(), 1, "one list, nothing else");

    clerk
        .create_invitation(&CreateInvitation::email("org_sandbox", "jane@example.com"))
        .await
        .unwrap();
    // The list and the revocation go through; the credential is gone before the new create.
    fake.revoke_token_after(2);
    let resent = clerk
        .resend_invitation("org_sandbox", &Invitee::email("jane@example.com"))
        .await
        .unwrap();
    let Resent::CancelledOnly {
        previous, error, ..
    } = resent
    else {
        panic!("{resent:?}");
    };
    assert_eq!(previous.email.as_deref(), Some("jane@example.com"));
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);

    // The new invitation's login is looked up before the old one goes: an unknown one cancels
    // nothing.
    let (fake, github) = Sandbox::github().await;
    github
        .create_invitation(&CreateInvitation::user_id("acme", "4242"))
        .await
        .unwrap();
    let error = github
        .resend_invitation("acme", &Invitee::login("user4242"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert_eq!(
        routes(&fake, 1).await,
        ["GET /orgs/acme/invitations", "GET /users/user4242"]
    );
}
