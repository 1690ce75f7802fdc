//! GitHub as a GitHub App: the JWT, installation tokens minted once and refreshed, the 401
//! retries, logins and team slugs looked up once, and no secret anywhere it could leak.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use futures_util::StreamExt;
use orginvite::github::{GitHubApp, GitHubOptions};
use orginvite::sleep::{RecordingSleeper, Sleeper};
use orginvite::testkit::{FakeGitHub, TEST_APP_PRIVATE_KEY};
use orginvite::{
    BoxFuture, CreateInvitation, Credentials, ErrorKind, GitHub, Pacing, SecretString,
};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

const CLIENT_ID: &str = "Iv23liSandboxApp";

/// A fake GitHub with the test app installed on `acme`, and a client acting as it, sharing a
/// virtual clock.
async fn app_sandbox() -> (FakeGitHub, GitHub, RecordingSleeper) {
    let clock = RecordingSleeper::starting_at(epoch());
    let fake = FakeGitHub::start_with_clock(Arc::new(clock.clone())).await;
    fake.install_app(CLIENT_ID, "acme", 4242);
    let github = fake
        .app_client_builder(CLIENT_ID)
        .pacing(Pacing::off())
        .sleeper(clock.clone())
        .build()
        .unwrap();
    (fake, github, clock)
}

/// The method and path of every request from `from` on.
async fn routes(fake: &FakeGitHub, from: usize) -> Vec<String> {
    fake.requests()
        .await
        .iter()
        .skip(from)
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}

fn invite(email: &str) -> CreateInvitation {
    CreateInvitation::email("acme", email)
}

/// Decodes a JWT's header and claims, after checking its signature with the test app's
/// public key.
fn decode_jwt(jwt: &str) -> (Value, Value) {
    use aws_lc_rs::signature::{
        KeyPair, RsaKeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
    };
    use rustls_pki_types::pem::PemObject;
    let der = rustls_pki_types::PrivatePkcs1KeyDer::from_pem_slice(TEST_APP_PRIVATE_KEY.as_bytes())
        .unwrap();
    let pair = RsaKeyPair::from_der(der.secret_pkcs1_der()).unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "{jwt}");
    let signed = format!("{}.{}", parts[0], parts[1]);
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pair.public_key().as_ref())
        .verify(
            signed.as_bytes(),
            &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
        )
        .expect("signed with the app's key");
    let part =
        |i: usize| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[i]).unwrap()).unwrap();
    (part(0), part(1))
}

#[tokio::test]
async fn the_jwt_is_rs256_with_iat_a_minute_back_exp_nine_minutes_ahead_and_the_issuer() {
    for (id, iss) in [(CLIENT_ID, json!(CLIENT_ID)), ("123456", json!(123456))] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/app/installations/7/access_tokens"))
            .respond_with(ResponseTemplate::new(201).set_body_json(
                json!({"token": "ghs_wire000000000000000000000000", "expires_at": "2027-01-15T09:00:00Z"}),
            ))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/orgs/acme/invitations"))
            .respond_with(github_created())
            .expect(1)
            .mount(&server)
            .await;
        let github = GitHub::builder()
            .base_url(server.uri())
            .user_agent(USER_AGENT)
            .sleeper(RecordingSleeper::starting_at(epoch()))
            .app(GitHubApp::new(id, TEST_APP_PRIVATE_KEY).installation_id(7))
            .build()
            .unwrap();
        github
            .create_invitation(&invite("octocat@github.com"))
            .await
            .unwrap();
        let requests = server.received_requests().await.unwrap();
        let jwt = requests[0].headers["authorization"]
            .to_str()
            .unwrap()
            .strip_prefix("Bearer ")
            .unwrap()
            .to_owned();
        let (header, claims) = decode_jwt(&jwt);
        assert_eq!(header, json!({"alg": "RS256", "typ": "JWT"}));
        let now = epoch_secs() as i64;
        assert_eq!(
            claims,
            json!({"iat": now - 60, "exp": now + 540, "iss": iss})
        );
        assert_eq!(
            serde_json::from_slice::<Value>(&requests[0].body).unwrap(),
            json!({})
        );
        assert_eq!(requests[0].headers["accept"], "application/vnd.github+json");
        // The invitation carries the installation token, not the JWT.
        assert_eq!(
            requests[1].headers["authorization"],
            "Bearer ghs_wire000000000000000000000000"
        );
    }
}

#[tokio::test]
async fn a_hundred_concurrent_calls_on_a_cold_client_mint_one_token() {
    let (fake, github, _) = app_sandbox().await;
    let results: Vec<_> = futures_util::stream::iter(0..100)
        .map(|i| {
            let github = github.clone();
            async move {
                github
                    .create_invitation(&invite(&format!("p{i}@example.com")))
                    .await
            }
        })
        .buffer_unordered(100)
        .collect()
        .await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(fake.invitations().len(), 100);
    assert_eq!(fake.app_tokens_minted(), 1);
    let routes = routes(&fake, 0).await;
    assert_eq!(
        routes
            .iter()
            .filter(|r| r.ends_with("/installation"))
            .count(),
        1
    );
    assert_eq!(
        routes
            .iter()
            .filter(|r| r.ends_with("/access_tokens"))
            .count(),
        1
    );
    assert_eq!(routes.len(), 102);
}

#[tokio::test]
async fn the_token_is_reused_until_the_margin_and_refreshed_once_after() {
    let (fake, github, clock) = app_sandbox().await;
    github
        .create_invitation(&invite("a@example.com"))
        .await
        .unwrap();
    // 54 minutes on: still more than the 5-minute margin before the hour is over.
    clock.sleep(Duration::from_secs(54 * 60)).await;
    github
        .create_invitation(&invite("b@example.com"))
        .await
        .unwrap();
    assert_eq!(fake.app_tokens_minted(), 1);
    clock.sleep(Duration::from_secs(2 * 60)).await;
    github
        .create_invitation(&invite("c@example.com"))
        .await
        .unwrap();
    github
        .create_invitation(&invite("d@example.com"))
        .await
        .unwrap();
    assert_eq!(fake.app_tokens_minted(), 2);
    assert_eq!(fake.invitations().len(), 4);
}

#[tokio::test]
async fn a_token_refused_before_its_time_is_refreshed_once_and_the_call_sent_once_more() {
    let (fake, github, clock) = app_sandbox().await;
    fake.app_token_lifetime(Duration::from_secs(10 * 60));
    github
        .create_invitation(&invite("a@example.com"))
        .await
        .unwrap();
    clock.sleep(Duration::from_secs(20 * 60)).await;
    let from = fake.requests().await.len();
    github
        .create_invitation(&invite("b@example.com"))
        .await
        .unwrap();
    assert_eq!(
        routes(&fake, from).await,
        [
            "POST /orgs/acme/invitations",
            "POST /app/installations/4242/access_tokens",
            "POST /orgs/acme/invitations",
        ]
    );
    assert_eq!(fake.app_tokens_minted(), 2);
    assert_eq!(fake.invitations().len(), 2, "one invitation each");
}

#[tokio::test]
async fn a_fresh_token_refused_for_replication_lag_is_tried_again_after_a_moment() {
    let (fake, github, clock) = app_sandbox().await;
    fake.app_token_lag(Duration::from_millis(500));
    let before = clock.now();
    github
        .create_invitation(&invite("a@example.com"))
        .await
        .unwrap();
    assert_eq!(
        routes(&fake, 0).await,
        [
            "GET /orgs/acme/installation",
            "POST /app/installations/4242/access_tokens",
            "POST /orgs/acme/invitations",
            "POST /orgs/acme/invitations",
        ]
    );
    assert_eq!(
        fake.app_tokens_minted(),
        1,
        "the same token, once it has replicated"
    );
    assert_eq!(
        clock.now().duration_since(before).unwrap(),
        Duration::from_secs(1)
    );
    assert_eq!(fake.invitations().len(), 1);
}

#[tokio::test]
async fn jwt_times_refused_for_clock_skew_are_signed_again_on_githubs_clock() {
    let (fake, github, clock) = app_sandbox().await;
    // GitHub's clock is 15 minutes behind: "exp is too far in the future".
    fake.app_clock_offset(-15 * 60);
    github
        .create_invitation(&invite("a@example.com"))
        .await
        .unwrap();
    assert_eq!(
        routes(&fake, 0).await,
        [
            "GET /orgs/acme/installation",
            "GET /orgs/acme/installation",
            "POST /app/installations/4242/access_tokens",
            "POST /orgs/acme/invitations",
        ]
    );
    // The offset is remembered: the next token (after the first's hour) needs no second try.
    clock.sleep(Duration::from_secs(56 * 60)).await;
    let from = fake.requests().await.len();
    github
        .create_invitation(&invite("b@example.com"))
        .await
        .unwrap();
    assert_eq!(
        routes(&fake, from).await,
        [
            "POST /app/installations/4242/access_tokens",
            "POST /orgs/acme/invitations",
        ]
    );
}

#[tokio::test]
async fn an_app_not_installed_on_the_organization_is_a_typed_error() {
    let (fake, github, _) = app_sandbox().await;
    let error = github
        .create_invitation(&CreateInvitation::email("elsewhere", "a@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert_eq!(routes(&fake, 0).await, ["GET /orgs/elsewhere/installation"]);
}

#[tokio::test]
async fn the_fake_refuses_a_jwt_it_cannot_verify() {
    let fake = FakeGitHub::start().await;
    fake.install_app(CLIENT_ID, "acme", 1);
    for jwt in ["a.b.c", "not-a-jwt", "e30.e30.e30"] {
        let answer = reqwest::Client::new()
            .get(format!("{}/orgs/acme/installation", fake.uri()))
            .header("authorization", format!("Bearer {jwt}"))
            .header("user-agent", "test")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 401);
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["message"], "A JSON web token could not be decoded");
    }
    // Another app's id is refused too.
    let other = fake
        .app_client_builder("Iv23liSomeoneElse")
        .build()
        .unwrap();
    let error = other
        .create_invitation(&invite("a@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);
}

#[tokio::test]
async fn logins_and_team_slugs_are_looked_up_once_per_client() {
    let (fake, github, _) = app_sandbox().await;
    fake.add_user("octocat", 583231)
        .add_team("acme", "design", 12);
    let request = CreateInvitation::github_login("acme", "OctoCat")
        .with(GitHubOptions::new().team_id(34).team_slug("design"));
    let invitation = github.create_invitation(&request).await.unwrap();
    assert_eq!(invitation.login.as_deref(), Some("octocat"));
    let posted = fake
        .requests()
        .await
        .into_iter()
        .rfind(|r| r.method.as_str() == "POST" && r.url.path() == "/orgs/acme/invitations")
        .unwrap();
    let body: Value = serde_json::from_slice(&posted.body).unwrap();
    assert_eq!(
        body,
        json!({"invitee_id": 583231, "role": "direct_member", "team_ids": [34, 12]})
    );
    let looked_up: Vec<String> = routes(&fake, 0)
        .await
        .into_iter()
        .filter(|r| r.contains("/users/") || r.contains("/teams/"))
        .collect();
    assert_eq!(
        looked_up,
        ["GET /users/OctoCat", "GET /orgs/acme/teams/design"]
    );
    // Remembered: the same names send no lookup again (the fake says already invited).
    let from = fake.requests().await.len();
    let again = github.ensure_invited(&request).await.unwrap();
    assert_eq!(again.as_str(), "already_invited");
    assert_eq!(
        again.invitation().map(|i| i.id.clone()),
        Some(invitation.id)
    );
    assert_eq!(
        routes(&fake, from).await,
        ["POST /orgs/acme/invitations", "GET /orgs/acme/invitations"]
    );
}

#[tokio::test]
async fn an_unknown_login_or_slug_is_a_typed_error_and_no_invitation_is_sent() {
    let (fake, github, _) = app_sandbox().await;
    fake.add_user("octocat", 583231);
    let error = github
        .create_invitation(&CreateInvitation::github_login("acme", "ghost"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert!(error.to_string().contains("`ghost`"), "{error}");
    let error = github
        .create_invitation(
            &CreateInvitation::github_login("acme", "octocat")
                .with(GitHubOptions::new().team_slug("nope")),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert!(error.to_string().contains("`nope`"), "{error}");
    let posts = routes(&fake, 0)
        .await
        .into_iter()
        .filter(|r| r == "POST /orgs/acme/invitations")
        .count();
    assert_eq!(posts, 0);
    assert!(fake.invitations().is_empty());
    // Other vendors invite by email only.
    let (_, clerk) = orginvite::testkit::Sandbox::clerk().await;
    let error = clerk
        .create_invitation(&CreateInvitation::github_login("org_sandbox", "octocat"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);
}

/// A credential source of the caller's own that rotates on refusal.
#[derive(Debug)]
struct Rotating {
    tokens: Mutex<Vec<String>>,
    refusals: Mutex<u32>,
}

impl Credentials for Rotating {
    fn token<'a>(
        &'a self,
        _organization: &'a str,
    ) -> BoxFuture<'a, Result<SecretString, orginvite::Error>> {
        let token = self
            .tokens
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap_or_default();
        Box::pin(async move { Ok(SecretString::from(token)) })
    }

    fn refused<'a>(
        &'a self,
        _organization: &'a str,
        _token: &'a SecretString,
    ) -> BoxFuture<'a, Option<Duration>> {
        *self.refusals.lock().unwrap() += 1;
        self.tokens.lock().unwrap().pop();
        Box::pin(async { Some(Duration::ZERO) })
    }
}

#[tokio::test]
async fn a_source_of_the_callers_own_is_asked_every_attempt_and_told_of_refusals() {
    let fake = FakeGitHub::start().await;
    let source = Arc::new(Rotating {
        tokens: Mutex::new(vec![fake.token().to_owned(), "ghp_stale".to_owned()]),
        refusals: Mutex::new(0),
    });
    let github = fake
        .client_builder()
        .credentials(ArcSource(source.clone()))
        .build()
        .unwrap();
    github
        .create_invitation(&invite("a@example.com"))
        .await
        .unwrap();
    assert_eq!(*source.refusals.lock().unwrap(), 1);
    assert_eq!(fake.requests().await.len(), 2);
    // Refused again after the rotation: one retry per call, then the 401.
    source.tokens.lock().unwrap().clear();
    source
        .tokens
        .lock()
        .unwrap()
        .extend(["ghp_a".to_owned(), "ghp_b".to_owned()]);
    let error = github
        .create_invitation(&invite("b@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);
    assert_eq!(fake.requests().await.len(), 4);
}

#[derive(Debug)]
struct ArcSource(Arc<Rotating>);

impl Credentials for ArcSource {
    fn token<'a>(
        &'a self,
        organization: &'a str,
    ) -> BoxFuture<'a, Result<SecretString, orginvite::Error>> {
        self.0.token(organization)
    }

    fn refused<'a>(
        &'a self,
        organization: &'a str,
        token: &'a SecretString,
    ) -> BoxFuture<'a, Option<Duration>> {
        self.0.refused(organization, token)
    }
}

/// Collects everything a `fmt` subscriber writes.
#[tokio::test]
async fn no_key_material_jwt_or_token_shows_in_debug_errors_or_logs() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(captured.subscriber(tracing::Level::TRACE));
    let (fake, github, clock) = app_sandbox().await;
    fake.app_token_lifetime(Duration::from_secs(60))
        .app_clock_offset(-15 * 60);
    github
        .create_invitation(&invite("a@example.com"))
        .await
        .unwrap();
    clock.sleep(Duration::from_secs(120)).await;
    github
        .create_invitation(&invite("b@example.com"))
        .await
        .unwrap();
    let error = github
        .create_invitation(&CreateInvitation::email("elsewhere", "c@example.com"))
        .await
        .unwrap_err();
    let mut shown = format!(
        "{github:?} {error} {error:?} {:?}",
        GitHubApp::new(CLIENT_ID, TEST_APP_PRIVATE_KEY)
    );
    shown.push_str(&captured.text());
    let key_lines: Vec<&str> = TEST_APP_PRIVATE_KEY
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    for line in key_lines {
        assert!(!shown.contains(line), "a line of the private key leaked");
    }
    assert!(
        !shown.contains("ghs_sandbox"),
        "an installation token leaked"
    );
    assert!(!shown.contains("eyJ"), "a JWT leaked");
    assert!(shown.contains("[redacted]"));
}

#[test]
fn a_bad_key_is_a_configuration_error_at_build_time() {
    for pem in [
        "",
        "-----BEGIN RSA PRIVATE KEY-----\ngarbage\n-----END RSA PRIVATE KEY-----\n",
    ] {
        let error = GitHub::builder()
            .app(GitHubApp::new(CLIENT_ID, pem))
            .build()
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidConfig);
        assert!(!error.to_string().contains("garbage"));
    }
    let error = GitHub::builder()
        .token("ghp_x")
        .app(GitHubApp::new(CLIENT_ID, TEST_APP_PRIVATE_KEY))
        .token("ghp_y")
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidConfig);
}

#[tokio::test]
async fn a_token_works_only_where_its_installation_is() {
    let (fake, github, _) = app_sandbox().await;
    fake.add_organization("beta");
    fake.install_app(CLIENT_ID, "beta", 777);
    github
        .create_invitation(&invite("a@example.com"))
        .await
        .unwrap();
    github
        .create_invitation(&CreateInvitation::email("beta", "b@example.com"))
        .await
        .unwrap();
    // One token per installation, each sent only to its organization.
    assert_eq!(fake.app_tokens_minted(), 2);
    let requests = fake.requests().await;
    let token_of = |path: &str| {
        requests
            .iter()
            .find(|r| r.url.path() == path && r.method.as_str() == "POST")
            .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
            .unwrap()
    };
    assert_ne!(
        token_of("/orgs/acme/invitations"),
        token_of("/orgs/beta/invitations")
    );
    // The fake refuses a token on another installation's organization.
    let acme_token = token_of("/orgs/acme/invitations");
    let answer = reqwest::Client::new()
        .get(format!("{}/orgs/beta/invitations", fake.uri()))
        .header("authorization", acme_token)
        .header("user-agent", "test")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
}

#[tokio::test]
async fn a_hundred_calls_at_the_refresh_point_refresh_once() {
    let (fake, github, clock) = app_sandbox().await;
    github
        .create_invitation(&invite("first@example.com"))
        .await
        .unwrap();
    clock.sleep(Duration::from_secs(56 * 60)).await;
    let results: Vec<_> = futures_util::stream::iter(0..100)
        .map(|i| {
            let github = github.clone();
            async move {
                github
                    .create_invitation(&invite(&format!("p{i}@example.com")))
                    .await
            }
        })
        .buffer_unordered(100)
        .collect()
        .await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(fake.app_tokens_minted(), 2);
}

#[tokio::test]
async fn calls_waiting_for_a_mint_that_fails_share_its_answer() {
    let (fake, _, _) = app_sandbox().await;
    // An installation the app does not have: the mint answers 404.
    let broken = fake
        .app_client_builder(CLIENT_ID)
        .pacing(Pacing::off())
        .app(GitHubApp::new(CLIENT_ID, TEST_APP_PRIVATE_KEY).installation_id(9999))
        .build()
        .unwrap();
    let results: Vec<_> = futures_util::stream::iter(0..20)
        .map(|i| {
            let broken = broken.clone();
            async move {
                broken
                    .create_invitation(&invite(&format!("p{i}@example.com")))
                    .await
            }
        })
        .buffer_unordered(20)
        .collect()
        .await;
    assert!(results
        .iter()
        .all(|r| r.as_ref().unwrap_err().kind() == ErrorKind::NotFound));
    let mints = routes(&fake, 0)
        .await
        .into_iter()
        .filter(|r| r.ends_with("/access_tokens"))
        .count();
    assert_eq!(mints, 1, "one request for all the waiting calls");
}

#[tokio::test]
async fn an_unknown_login_in_a_bulk_run_stops_nothing_else() {
    let (fake, github, _) = app_sandbox().await;
    fake.add_user("octocat", 583231);
    let requests = vec![
        CreateInvitation::github_login("acme", "ghost"),
        CreateInvitation::github_login("acme", "octocat"),
        invite("jane@example.com"),
    ];
    let mut items: Vec<orginvite::BulkItem> = github
        .invite_all(requests, orginvite::BulkOptions::default().concurrency(1))
        .collect()
        .await;
    items.sort_by_key(|item| item.index);
    assert_eq!(
        items[0].outcome.as_ref().unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(!items[0].skipped);
    assert!(items[1].outcome.as_ref().is_ok_and(|o| o.created()));
    assert!(items[2].outcome.as_ref().is_ok_and(|o| o.created()));
}

#[tokio::test]
async fn resend_works_for_an_invitation_by_login() {
    let (fake, github, _) = app_sandbox().await;
    fake.add_user("octocat", 583231);
    github
        .create_invitation(&CreateInvitation::github_login("acme", "octocat"))
        .await
        .unwrap();
    let resent = github
        .resend_invitation("acme", &orginvite::Invitee::login("octocat"))
        .await
        .unwrap();
    assert!(
        matches!(resent, orginvite::Resent::Resent { .. }),
        "{resent:?}"
    );
    assert_eq!(fake.invitations().len(), 2);
}
