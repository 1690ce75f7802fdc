//! The fake Elastic Cloud keeps Elastic Cloud's contract: success shape, its own errors (status,
//! `BasicFailedReply` body, `x-cloud-error-codes`), state, rate limits and faults.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use orginvite::elastic::{DeploymentRole, ElasticOptions, ProjectRole, RoleAssignments};
use orginvite::jiff::{SignedDuration, Timestamp};
use orginvite::sleep::{RecordingSleeper, Sleeper};
use orginvite::testkit::{FakeElasticCloud, Fault, Sandbox};
use orginvite::{CreateInvitation, ElasticCloud, ErrorKind, Pacing, RetryPolicy, Role};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

const SECS: fn(u64) -> Duration = Duration::from_secs;
const ORG: &str = "sandbox-org";
const PATH: &str = "/api/v1/organizations/sandbox-org/invitations";

fn t0() -> SystemTime {
    UNIX_EPOCH + SECS(1_800_000_000)
}

/// A fake on a virtual clock starting at [`t0`].
async fn fake_at_t0() -> (FakeElasticCloud, RecordingSleeper) {
    let clock = RecordingSleeper::starting_at(t0());
    let fake = FakeElasticCloud::start_with_clock(Arc::new(clock.clone())).await;
    (fake, clock)
}

/// What a raw request got back.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts Elastic Cloud's error shape with `code`, and returns the error element.
    fn assert_error(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.header("content-type"), Some("application/json"));
        assert_eq!(self.header("x-cloud-error-codes"), Some(code));
        assert!(self.header("retry-after").is_none());
        let errors = self.body["errors"].as_array().expect("an `errors` array");
        assert_eq!(errors.len(), 1, "{}", self.body);
        let error = &errors[0];
        assert_eq!(error["code"], json!(code));
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{error}"
        );
        error
    }
}

/// A raw request to the fake, so wrong requests can be sent on purpose.
async fn send(
    fake: &FakeElasticCloud,
    method: reqwest::Method,
    path: &str,
    authorization: Option<&str>,
    body: &str,
) -> Answer {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", fake.uri()))
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .header("user-agent", "test")
        .body(body.to_owned());
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    Answer {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

/// A correctly authenticated POST of `body` to the starting organization.
async fn post(fake: &FakeElasticCloud, body: &Value) -> Answer {
    let key = format!("ApiKey {}", fake.token());
    send(
        fake,
        reqwest::Method::POST,
        PATH,
        Some(&key),
        &body.to_string(),
    )
    .await
}

fn timestamp(value: &Value) -> Timestamp {
    value.as_str().expect("a string").parse().expect("RFC 3339")
}

#[tokio::test]
async fn a_correct_request_gets_201_and_elastics_invitation_shape() {
    let (fake, _clock) = fake_at_t0().await;
    let answer = post(
        &fake,
        &json!({"emails": ["jane@example.com"], "expires_in": "7d"}),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert!(
        answer.header("x-ratelimit-remaining").is_none(),
        "no window, no rate-limit headers"
    );
    let invitations = answer.body["invitations"].as_array().unwrap();
    assert_eq!(invitations.len(), 1);
    let invitation = &invitations[0];
    assert!(invitation["token"].as_str().is_some_and(|t| t.len() >= 16));
    assert_eq!(invitation["email"], json!("jane@example.com"));
    let created_at = timestamp(&invitation["created_at"]);
    assert_eq!(created_at, Timestamp::try_from(t0()).unwrap());
    assert_eq!(
        timestamp(&invitation["expires_at"]),
        created_at + SignedDuration::from_hours(7 * 24)
    );
    assert_eq!(invitation["expired"], json!(false));
    assert_eq!(invitation["organization"]["id"], json!(ORG));
    assert!(invitation["organization"]["name"].is_string());
    assert!(invitation.get("role_assignments").is_none());
    assert!(invitation.get("accepted_at").is_none());

    let created = fake.invitations();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].id, invitation["token"].as_str().unwrap());
    assert_eq!(created[0].organization, ORG);
    assert_eq!(
        created[0].role, "",
        "a plain member has no organization role"
    );
}

#[tokio::test]
async fn the_default_lifetime_is_three_days() {
    let (fake, _clock) = fake_at_t0().await;
    // The documented example request is accepted as it is.
    let example = include_str!("../fixtures/elastic/create-request.json");
    let answer = post(&fake, &serde_json::from_str(example).unwrap()).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.body["invitations"][0]["email"], json!("test@mail"));
    let answer = post(&fake, &json!({"emails": ["no-expiry@example.com"]})).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let invitation = &answer.body["invitations"][0];
    assert_eq!(
        timestamp(&invitation["expires_at"]),
        timestamp(&invitation["created_at"]) + SignedDuration::from_hours(72)
    );
    let answer = post(
        &fake,
        &json!({"emails": ["hours@example.com"], "expires_in": "36h"}),
    )
    .await;
    let invitation = &answer.body["invitations"][0];
    assert_eq!(
        timestamp(&invitation["expires_at"]),
        timestamp(&invitation["created_at"]) + SignedDuration::from_hours(36)
    );
}

#[tokio::test]
async fn role_assignments_are_checked_and_echoed() {
    let fake = FakeElasticCloud::start().await;
    let roles = json!({
        "organization": [{"role_id": "billing-admin", "organization_id": ORG}],
        "deployment": [
            {"role_id": "deployment-viewer", "organization_id": ORG, "all": true},
            {"role_id": "deployment-editor", "organization_id": ORG, "deployment_ids": ["d1"]}
        ],
        "project": {
            "elasticsearch": [{"role_id": "elasticsearch-developer", "organization_id": ORG, "project_ids": ["p1"], "application_roles": ["viewer"]}],
            "security": [{"role_id": "security-t1-analyst", "organization_id": ORG, "all": true}]
        },
        "platform": [{"role_id": "platform-viewer"}]
    });
    let answer = post(
        &fake,
        &json!({"emails": ["jane@example.com"], "role_assignments": roles}),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.body["invitations"][0]["role_assignments"], roles);
    let created = fake.invitations();
    assert_eq!(created[0].role, "billing-admin");
    assert_eq!(created[0].details["role_assignments"], roles);
}

#[tokio::test]
async fn one_call_invites_several_emails() {
    let fake = FakeElasticCloud::start().await;
    let answer = post(
        &fake,
        &json!({"emails": ["a@example.com", "b@example.com", "c@example.com", "A@example.com"], "expires_in": "72h"}),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let invitations = answer.body["invitations"].as_array().unwrap();
    let emails: Vec<&str> = invitations
        .iter()
        .map(|i| i["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        ["a@example.com", "b@example.com", "c@example.com"],
        "the same address twice is invited once"
    );
    let mut tokens: Vec<&str> = invitations
        .iter()
        .map(|i| i["token"].as_str().unwrap())
        .collect();
    tokens.sort_unstable();
    tokens.dedup();
    assert_eq!(tokens.len(), 3, "every invitation has its own token");
    assert_eq!(fake.invitations().len(), 3);
}

#[tokio::test]
async fn one_bad_address_fails_the_whole_call() {
    let fake = FakeElasticCloud::start().await;
    fake.add_member(ORG, "member@example.com");

    let answer = post(
        &fake,
        &json!({"emails": ["a@example.com", "b@example.invalid", "c@example.com"]}),
    )
    .await;
    let error = answer.assert_error(400, "organization.invitation_invalid_email");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("b@example.invalid"));
    assert_eq!(error["fields"], json!(["emails"]));

    let answer = post(
        &fake,
        &json!({"emails": ["a@example.com", "member@example.com"]}),
    )
    .await;
    answer.assert_error(400, "organization.user_organization_already_belongs");
    assert!(fake.invitations().is_empty(), "nothing was created");

    let answer = post(
        &fake,
        &json!({"emails": ["a@example.com", "c@example.com"]}),
    )
    .await;
    assert_eq!(answer.status, 201);
    let answer = post(
        &fake,
        &json!({"emails": ["new@example.com", "C@example.com"]}),
    )
    .await;
    let error = answer.assert_error(400, "organization.invitation_already_exists");
    assert!(error["message"].as_str().unwrap().contains("C@example.com"));
    assert_eq!(fake.invitations().len(), 2);
}

#[tokio::test]
async fn the_client_round_trips_through_the_sandbox() {
    let (fake, elastic) = Sandbox::elastic().await;
    let roles = RoleAssignments::new().deployment(DeploymentRole::all("deployment-viewer"));
    let request = CreateInvitation::email(ORG, "jane@example.com")
        .role(Role::Admin)
        .expires_in(SECS(7 * 24 * 60 * 60))
        .with(ElasticOptions::new().role_assignments(roles));
    let invitation = elastic.create_invitation(&request).await.unwrap();

    let created = fake.invitations();
    assert_eq!(created.len(), 1);
    assert_eq!(invitation.id, created[0].id);
    assert_eq!(invitation.role, Role::Admin);
    assert_eq!(invitation.email.as_deref(), Some("jane@example.com"));
    assert_eq!(
        invitation.expires_at.unwrap(),
        invitation.created_at.unwrap() + SignedDuration::from_hours(7 * 24)
    );
    let payload = invitation
        .payload
        .get::<orginvite::elastic::ElasticInvitation>()
        .unwrap();
    assert_eq!(payload.organization.as_ref().unwrap().id, ORG);
    let echoed = payload.role_assignments.as_ref().unwrap();
    assert_eq!(echoed.organization[0].role_id, "organization-admin");
    assert_eq!(echoed.deployment[0].role_id, "deployment-viewer");
    assert_eq!(created[0].role, "organization-admin");

    let requests = fake.requests().await;
    assert_eq!(requests[0].url.path(), PATH);
    assert_eq!(
        requests[0].headers["authorization"].to_str().unwrap(),
        format!("ApiKey {}", fake.token())
    );
}

#[tokio::test]
async fn organization_ids_are_one_percent_encoded_segment() {
    let (fake, elastic) = Sandbox::elastic().await;
    fake.add_organization("team/ops 1");
    let invitation = elastic
        .create_invitation(&CreateInvitation::email("team/ops 1", "jane@example.com"))
        .await
        .unwrap();
    assert_eq!(
        invitation
            .payload
            .get::<orginvite::elastic::ElasticInvitation>()
            .unwrap()
            .organization
            .as_ref()
            .unwrap()
            .id,
        "team/ops 1"
    );
    assert_eq!(fake.invitations()[0].organization, "team/ops 1");
    assert_eq!(
        fake.requests().await[0].url.path(),
        "/api/v1/organizations/team%2Fops%201/invitations"
    );
}

#[tokio::test]
async fn wrong_credentials_get_403_invalid_authentication() {
    let fake = FakeElasticCloud::start().await;
    let body = r#"{"emails":["jane@example.com"]}"#;
    let bearer = format!("Bearer {}", fake.token());
    let basic = format!("Basic {}", fake.token());
    for authorization in [
        None,
        Some(""),
        Some("ApiKey"),
        Some("ApiKey "),
        Some("ApiKey not-the-key"),
        Some(bearer.as_str()),
        Some(basic.as_str()),
        Some(fake.token()),
    ] {
        let answer = send(&fake, reqwest::Method::POST, PATH, authorization, body).await;
        answer.assert_error(403, "root.invalid_authentication");
    }
    assert!(fake.invitations().is_empty());

    let lower = format!("apikey {}", fake.token());
    let answer = send(&fake, reqwest::Method::POST, PATH, Some(&lower), body).await;
    assert_eq!(
        answer.status, 201,
        "authentication schemes are case-insensitive"
    );

    let wrong = fake.client_builder().token("not-the-key").build().unwrap();
    let error = wrong
        .create_invitation(&CreateInvitation::email(ORG, "someone@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);
    assert_eq!(error.status().unwrap().as_u16(), 403);
    assert_eq!(error.vendor_code(), Some("root.invalid_authentication"));
}

#[tokio::test]
async fn other_routes_get_elastics_404() {
    let fake = FakeElasticCloud::start().await;
    let key = format!("ApiKey {}", fake.token());
    let body = r#"{"emails":["jane@example.com"]}"#;
    for (method, path) in [
        (reqwest::Method::DELETE, PATH),
        (reqwest::Method::PUT, PATH),
        (
            reqwest::Method::POST,
            "/organizations/sandbox-org/invitations",
        ),
        (
            reqwest::Method::POST,
            "/api/v1/organizations/sandbox-org/invites",
        ),
        (
            reqwest::Method::POST,
            "/api/v1/organizations/sandbox-org/invitations/extra",
        ),
        (reqwest::Method::POST, "/api/v1/organizations//invitations"),
    ] {
        let answer = send(&fake, method.clone(), path, Some(&key), body).await;
        answer.assert_error(404, "root.resource_not_found");
    }
    assert!(fake.invitations().is_empty());
}

#[tokio::test]
async fn wrong_bodies_get_elastics_own_errors() {
    let fake = FakeElasticCloud::start().await;
    let schema = "root.invalid_json_request";
    let data = "root.invalid_data";
    let emails = json!(["jane@example.com"]);
    let with_roles = |roles: Value| json!({"emails": emails, "role_assignments": roles});
    let org_entry = |extra: Value| {
        let mut entry = json!({"role_id": "deployment-viewer", "organization_id": ORG});
        entry
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        entry
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!([1, 2]), schema, "body"),
        (json!({}), schema, "emails"),
        (json!({"emails": null}), schema, "emails"),
        (json!({"emails": "jane@example.com"}), schema, "emails"),
        (json!({"emails": []}), schema, "emails"),
        (json!({"emails": ["a@example.com", 7]}), schema, "emails"),
        (
            json!({"emails": emails, "expires_in": 3}),
            schema,
            "expires_in",
        ),
        (
            json!({"emails": emails, "expires_in": "2030-01-01T00:00:00Z"}),
            data,
            "expires_in",
        ),
        (
            json!({"emails": emails, "expires_in": "2w"}),
            data,
            "expires_in",
        ),
        (
            json!({"emails": emails, "expires_in": "0d"}),
            data,
            "expires_in",
        ),
        (with_roles(json!([])), schema, "role_assignments"),
        (
            with_roles(json!({"organization": [{"role_id": "billing-admin"}]})),
            schema,
            "role_assignments.organization[0].organization_id",
        ),
        (
            with_roles(json!({"organization": [{"organization_id": ORG}]})),
            schema,
            "role_assignments.organization[0].role_id",
        ),
        (
            with_roles(
                json!({"organization": [{"role_id": "billing-admin", "organization_id": "another-org"}]}),
            ),
            data,
            "role_assignments.organization[0].organization_id",
        ),
        (
            with_roles(json!({"deployment": [org_entry(json!({"all": true}))]})).clone(),
            "",
            "",
        ),
        (
            with_roles(
                json!({"deployment": [org_entry(json!({"all": true})), org_entry(json!({"all": true, "deployment_ids": ["d1"]}))]}),
            ),
            data,
            "role_assignments.deployment[1].deployment_ids",
        ),
        (
            with_roles(json!({"deployment": [org_entry(json!({}))]})),
            data,
            "role_assignments.deployment[0].deployment_ids",
        ),
        (
            with_roles(json!({"deployment": [org_entry(json!({"all": false}))]})),
            data,
            "role_assignments.deployment[0].deployment_ids",
        ),
        (
            with_roles(json!({"deployment": [org_entry(json!({"all": "yes"}))]})),
            schema,
            "role_assignments.deployment[0].all",
        ),
        (
            with_roles(json!({"deployment": [org_entry(json!({"deployment_ids": "d1"}))]})),
            schema,
            "role_assignments.deployment[0].deployment_ids",
        ),
        (
            with_roles(
                json!({"project": {"elasticsearch": [org_entry(json!({"all": true, "project_ids": ["p1"]}))]}}),
            ),
            data,
            "role_assignments.project.elasticsearch[0].project_ids",
        ),
        (
            with_roles(json!({"project": {"observability": [org_entry(json!({}))]}})),
            data,
            "role_assignments.project.observability[0].project_ids",
        ),
        (
            with_roles(json!({"project": {"security": [{"organization_id": ORG, "all": true}]}})),
            schema,
            "role_assignments.project.security[0].role_id",
        ),
        (
            with_roles(json!({"project": [1]})),
            schema,
            "role_assignments.project",
        ),
        (
            with_roles(json!({"platform": [{}]})),
            schema,
            "role_assignments.platform[0].role_id",
        ),
    ];
    let mut valid = 0;
    for (body, code, field) in cases {
        let answer = post(&fake, &body).await;
        if code.is_empty() {
            assert_eq!(answer.status, 201, "{body}: {}", answer.body);
            valid += 1;
            continue;
        }
        let error = answer.assert_error(400, code);
        assert_eq!(error["fields"], json!([field]), "{body}");
    }

    let key = format!("ApiKey {}", fake.token());
    let answer = send(&fake, reqwest::Method::POST, PATH, Some(&key), "not json").await;
    answer.assert_error(400, schema);
    assert_eq!(
        fake.invitations().len(),
        valid,
        "only the valid body created one"
    );
}

#[tokio::test]
async fn duplicates_members_bad_addresses_and_unknown_orgs() {
    let (fake, elastic) = Sandbox::elastic().await;
    fake.add_member(ORG, "member@example.com");
    let invite = |email: &str| CreateInvitation::email(ORG, email);
    elastic
        .create_invitation(&invite("jane@example.com"))
        .await
        .unwrap();

    let again = elastic
        .create_invitation(&invite("JANE@example.com"))
        .await
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::AlreadyInvited);
    assert_eq!(again.status().unwrap().as_u16(), 400);
    assert_eq!(
        again.vendor_code(),
        Some("organization.invitation_already_exists")
    );
    assert!(again.vendor_message().unwrap().contains("JANE@example.com"));

    let member = elastic
        .create_invitation(&invite("member@example.com"))
        .await
        .unwrap_err();
    assert_eq!(member.kind(), ErrorKind::AlreadyMember);
    assert_eq!(
        member.vendor_code(),
        Some("organization.user_organization_already_belongs")
    );

    let invalid = elastic
        .create_invitation(&invite("jane@example.invalid"))
        .await
        .unwrap_err();
    assert_eq!(invalid.kind(), ErrorKind::InvalidEmail);
    assert_eq!(
        invalid.vendor_message(),
        Some("Invitation email [jane@example.invalid] is not valid (fields: emails)")
    );

    // A malformed address never leaves the client; sent raw, the fake refuses it too.
    let answer = post(&fake, &json!({"emails": ["not an address"]})).await;
    answer.assert_error(400, "organization.invitation_invalid_email");

    let nowhere = elastic
        .create_invitation(&CreateInvitation::email("no-such-org", "jane@example.com"))
        .await
        .unwrap_err();
    assert_eq!(nowhere.kind(), ErrorKind::NotFound);
    assert_eq!(nowhere.status().unwrap().as_u16(), 404);
    assert_eq!(nowhere.vendor_code(), Some("organization.not_found"));
    let answer = send(
        &fake,
        reqwest::Method::POST,
        "/api/v1/organizations/no-such-org/invitations",
        Some(&format!("ApiKey {}", fake.token())),
        r#"{"emails":["jane@example.com"]}"#,
    )
    .await;
    answer.assert_error(404, "organization.not_found");

    assert_eq!(fake.invitations().len(), 1);
}

#[tokio::test]
async fn the_limit_answers_429_without_retry_after_then_recovers() {
    let (fake, clock) = fake_at_t0().await;
    fake.rate_limit(2, SECS(10));
    let invite = |email: &str| json!({"emails": [email]});

    let first = post(&fake, &invite("a@example.com")).await;
    assert_eq!(first.status, 201);
    assert_eq!(first.header("x-ratelimit-limit"), Some("2"));
    assert_eq!(first.header("x-ratelimit-remaining"), Some("1"));
    assert_eq!(first.header("x-ratelimit-interval"), Some("10s"));
    let second = post(&fake, &invite("b@example.com")).await;
    assert_eq!(second.header("x-ratelimit-remaining"), Some("0"));

    let limited = post(&fake, &invite("c@example.com")).await;
    limited.assert_error(429, "organization.invitations_rate_limit_exceeded");
    assert!(limited.header("retry-after").is_none());
    assert_eq!(limited.header("x-ratelimit-limit"), Some("2"));
    assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(limited.header("x-ratelimit-interval"), Some("10s"));
    assert_eq!(fake.rate_limited_count(), 1);
    assert_eq!(fake.invitations().len(), 2, "a 429 creates nothing");

    // Still inside the window: still refused.
    clock.sleep(SECS(9)).await;
    post(&fake, &invite("c@example.com"))
        .await
        .assert_error(429, "organization.invitations_rate_limit_exceeded");

    // The window is over: a fresh budget.
    clock.sleep(SECS(1)).await;
    let recovered = post(&fake, &invite("c@example.com")).await;
    assert_eq!(recovered.status, 201, "{}", recovered.body);
    assert_eq!(recovered.header("x-ratelimit-remaining"), Some("1"));
    assert_eq!(fake.rate_limited_count(), 2);
    assert_eq!(fake.invitations().len(), 3);
}

/// A client of `fake` with `pacing` and `policy` on the fake's clock.
fn client(fake: &FakeElasticCloud, pacing: Pacing, policy: RetryPolicy) -> ElasticCloud {
    fake.client_builder()
        .pacing(pacing)
        .retry_policy(policy)
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_client_classifies_the_429() {
    let (fake, clock) = fake_at_t0().await;
    let elastic = client(
        &fake,
        Pacing::off().learn_from_headers(false),
        RetryPolicy::never(),
    );
    fake.rate_limit(1, SECS(30));
    elastic
        .create_invitation(&CreateInvitation::email(ORG, "a@example.com"))
        .await
        .unwrap();
    let error = elastic
        .create_invitation(&CreateInvitation::email(ORG, "b@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.status().unwrap().as_u16(), 429);
    assert_eq!(
        error.vendor_code(),
        Some("organization.invitations_rate_limit_exceeded")
    );
    let info = error.rate_limit().unwrap();
    assert_eq!(
        (info.limit, info.remaining, info.interval, info.retry_after),
        (Some(1), Some(0), Some(SECS(30)), None)
    );
    assert_eq!(
        error.retry_after(),
        Some(SECS(30)),
        "the interval, announced"
    );
    assert!(!error.may_have_been_created());
    assert!(clock.waits().is_empty());
}

#[tokio::test]
async fn the_client_learns_the_limit_from_the_headers() {
    let (fake, clock) = fake_at_t0().await;
    let elastic = client(&fake, Pacing::off(), RetryPolicy::default().jitter(false));
    fake.rate_limit(2, SECS(10));
    for n in 0..5 {
        elastic
            .create_invitation(&CreateInvitation::email(ORG, format!("u{n}@example.com")))
            .await
            .unwrap();
    }
    // Two requests fit in each 10 s window. When an answer says `x-ratelimit-remaining: 0`,
    // the client holds the next request for the announced interval instead of collecting a 429.
    assert_eq!(clock.waits(), [SECS(10), SECS(10)]);
    assert_eq!(fake.rate_limited_count(), 0, "the fake never had to refuse");
    assert_eq!(fake.invitations().len(), 5);
}

#[tokio::test]
async fn without_learning_the_client_waits_out_the_429() {
    let (fake, clock) = fake_at_t0().await;
    let elastic = client(
        &fake,
        Pacing::off().learn_from_headers(false),
        RetryPolicy::default().jitter(false),
    );
    fake.rate_limit(2, SECS(10));
    for n in 0..3 {
        elastic
            .create_invitation(&CreateInvitation::email(ORG, format!("u{n}@example.com")))
            .await
            .unwrap();
    }
    // The third request got a 429 with `x-ratelimit-remaining: 0` and a 10 s interval.
    assert_eq!(clock.waits(), [SECS(10)]);
    assert_eq!(fake.rate_limited_count(), 1);
    assert_eq!(fake.invitations().len(), 3);
}

#[tokio::test]
async fn the_sandbox_client_shares_the_fakes_virtual_clock() {
    let (fake, elastic) = Sandbox::elastic().await;
    fake.rate_limit(1, SECS(30));
    for email in ["a@example.com", "b@example.com"] {
        elastic
            .create_invitation(&CreateInvitation::email(ORG, email))
            .await
            .unwrap();
    }
    let clock = fake
        .virtual_clock()
        .expect("the sandbox has a virtual clock");
    assert_eq!(clock.waits(), [SECS(30)]);
    assert_eq!(fake.rate_limited_count(), 0);
}

#[tokio::test]
async fn faults_are_injected_in_order() {
    let (fake, elastic) = Sandbox::elastic().await;
    fake.inject(Fault::ServerError)
        .inject(Fault::HtmlGateway)
        .inject(Fault::ServerError);
    let first = elastic
        .create_invitation(&CreateInvitation::email(ORG, "a@example.com"))
        .await
        .unwrap_err();
    assert_eq!(
        (first.kind(), first.status().unwrap().as_u16()),
        (ErrorKind::ServerError, 500)
    );
    assert_eq!(first.vendor_code(), Some("internal.server.error"));
    let second = elastic
        .create_invitation(&CreateInvitation::email(ORG, "a@example.com"))
        .await
        .unwrap_err();
    assert_eq!(
        (second.kind(), second.status().unwrap().as_u16()),
        (ErrorKind::ServerError, 502)
    );
    assert_eq!(second.vendor_message(), None);
    post(&fake, &json!({"emails": ["a@example.com"]}))
        .await
        .assert_error(500, "internal.server.error");
    assert!(fake.invitations().is_empty(), "faults create nothing");
    elastic
        .create_invitation(&CreateInvitation::email(ORG, "a@example.com"))
        .await
        .unwrap();
    assert_eq!(fake.requests().await.len(), 4);
}

#[tokio::test]
async fn a_delay_past_the_timeout_creates_the_invitation_anyway() {
    let fake = FakeElasticCloud::start().await;
    let elastic = fake
        .client_builder()
        .timeout(Some(Duration::from_millis(100)))
        .build()
        .unwrap();
    fake.inject(Fault::Delay(SECS(2)));
    let error = elastic
        .create_invitation(&CreateInvitation::email(ORG, "slow@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(error.may_have_been_created());
    assert_eq!(fake.invitations().len(), 1);
    // A retry after the timeout meets the invitation the vendor already made.
    let again = elastic
        .create_invitation(&CreateInvitation::email(ORG, "slow@example.com"))
        .await
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::AlreadyInvited);
}

#[tokio::test]
async fn the_api_key_never_shows() {
    let (fake, elastic) = Sandbox::elastic().await;
    let key = fake.token().to_owned();
    for text in [
        format!("{fake:?}"),
        format!("{elastic:?}"),
        format!("{:?}", fake.vendor()),
    ] {
        assert!(!text.contains(&key), "{text}");
    }
    let project = ProjectRole::all("observability-viewer");
    let error = elastic
        .create_invitation(
            &CreateInvitation::email("no-such-org", "jane@example.com").with(
                ElasticOptions::new()
                    .role_assignments(RoleAssignments::new().observability(project)),
            ),
        )
        .await
        .unwrap_err();
    assert!(!format!("{error:?} {error}").contains(&key));
}
