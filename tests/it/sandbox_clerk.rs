//! The fake Clerk keeps Clerk's contract: success shape, its own errors, state, rate limits
//! and faults.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use orginvite::clerk::ClerkOptions;
use orginvite::sleep::{RecordingSleeper, Sleeper};
use orginvite::testkit::{FakeClerk, Fault, Sandbox};
use orginvite::{Clerk, CreateInvitation, ErrorKind, InvitationStatus, Pacing, RetryPolicy, Role};
use serde_json::{json, Value};

const SECS: fn(u64) -> Duration = Duration::from_secs;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Where the virtual clocks of these tests start: 2027-01-15T08:00:00Z.
const START_SECS: u64 = 1_800_000_000;

fn start() -> SystemTime {
    UNIX_EPOCH + SECS(START_SECS)
}

/// What the fake answered to a raw request.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The codes of the `errors` array, in order.
    fn codes(&self) -> Vec<&str> {
        self.body["errors"]
            .as_array()
            .map(|errors| errors.iter().filter_map(|e| e["code"].as_str()).collect())
            .unwrap_or_default()
    }

    /// The `meta.param_name` of each error, in order.
    fn params(&self) -> Vec<Option<&str>> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| e["meta"]["param_name"].as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Asserts Clerk's error shape: JSON, `errors` entries with `message`, `long_message` and
    /// `code`, and one trace id in the body and the `Clerk-Trace-Id` header.
    fn assert_clerk_error(&self, status: u16, codes: &[&str]) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.codes(), codes, "{}", self.body);
        assert_eq!(self.header("content-type"), Some("application/json"));
        for entry in self.body["errors"].as_array().unwrap() {
            assert!(entry["message"].is_string(), "{entry}");
            assert!(entry["long_message"].is_string(), "{entry}");
            assert!(entry["code"].is_string(), "{entry}");
        }
        let trace = self.body["clerk_trace_id"].as_str().expect("a trace id");
        assert!(!trace.is_empty());
        assert_eq!(self.header("clerk-trace-id"), Some(trace));
    }
}

/// A raw request to the fake, so wrong requests can be sent on purpose.
async fn send(
    fake: &FakeClerk,
    method: reqwest::Method,
    path_and_query: &str,
    headers: &[(&str, String)],
    body: &str,
) -> Answer {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path_and_query}", fake.uri()))
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, value);
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

/// The headers Clerk's official SDK sends.
fn good_headers(fake: &FakeClerk) -> Vec<(&'static str, String)> {
    vec![
        ("authorization", format!("Bearer {}", fake.token())),
        ("content-type", "application/json".into()),
        ("user-agent", "test".into()),
        ("clerk-api-version", "2026-05-12".into()),
    ]
}

const PATH: &str = "/v1/organizations/org_sandbox/invitations";
const BODY: &str = r#"{"email_address":"jane@example.com","role":"org:member"}"#;

/// A POST to the invitations path with the good headers, `drop` left out and `replace` set.
async fn post_with(
    fake: &FakeClerk,
    drop: &str,
    replace: Option<(&'static str, &str)>,
    body: &str,
) -> Answer {
    let mut headers: Vec<(&str, String)> = good_headers(fake)
        .into_iter()
        .filter(|(name, _)| *name != drop)
        .collect();
    if let Some((name, value)) = replace {
        headers.retain(|(n, _)| *n != name);
        headers.push((name, value.to_owned()));
    }
    send(fake, reqwest::Method::POST, PATH, &headers, body).await
}

async fn post(fake: &FakeClerk, body: &str) -> Answer {
    post_with(fake, "", None, body).await
}

/// A fake on a virtual clock starting at [`start`], and the clock.
async fn virtual_fake() -> (FakeClerk, RecordingSleeper) {
    let clock = RecordingSleeper::starting_at(start());
    let fake = FakeClerk::start_with_clock(Arc::new(clock.clone())).await;
    (fake, clock)
}

fn email(address: &str) -> CreateInvitation {
    CreateInvitation::email("org_sandbox", address)
}

#[tokio::test]
async fn a_correct_request_gets_200_and_clerks_invitation_shape() {
    let (fake, _clock) = virtual_fake().await;
    let answer = post(
        &fake,
        r#"{"email_address":"jane@example.com","role":"org:admin",
            "inviter_user_id":"user_2V7JJKmoA9HqzHhfMqK5cpgLl56",
            "public_metadata":{"team":"design"},"private_metadata":{"seat":7},
            "redirect_url":"https://app.example.com/welcome","expires_in_days":7,"notify":false}"#,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert!(answer.header("clerk-trace-id").is_some());
    let body = &answer.body;
    assert_eq!(body["object"], json!("organization_invitation"));
    assert!(body["id"].as_str().unwrap().starts_with("orginv_"));
    assert_eq!(body["email_address"], json!("jane@example.com"));
    assert_eq!(body["role"], json!("org:admin"));
    assert_eq!(body["role_name"], json!("Admin"));
    assert_eq!(body["organization_id"], json!("org_sandbox"));
    assert_eq!(body["status"], json!("pending"));
    assert_eq!(
        body["inviter_id"],
        json!("user_2V7JJKmoA9HqzHhfMqK5cpgLl56")
    );
    assert_eq!(body["public_metadata"], json!({"team": "design"}));
    assert_eq!(body["private_metadata"], json!({"seat": 7}));
    assert!(body["url"].as_str().unwrap().starts_with("https://"));
    // Unix milliseconds, on the fake's clock; the expiry as asked.
    let created = (START_SECS * 1000) as i64;
    assert_eq!(body["created_at"], json!(created));
    assert_eq!(body["updated_at"], json!(created));
    assert_eq!(body["expires_at"], json!(created + 7 * DAY_MS));
    assert!(body.get("errors").is_none());

    // Every field of Clerk's own example is there.
    let example: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/clerk/create-200.json"
        ))
        .unwrap(),
    )
    .unwrap();
    for key in example.as_object().unwrap().keys() {
        assert!(body.get(key).is_some(), "missing {key}");
    }

    let kept = fake.invitations();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].id, body["id"].as_str().unwrap());
    assert_eq!(kept[0].organization, "org_sandbox");
    assert_eq!(kept[0].email.as_deref(), Some("jane@example.com"));
    assert_eq!(kept[0].role, "org:admin");
    assert_eq!(kept[0].details["notify"], json!(false));
    assert_eq!(
        kept[0].details["redirect_url"],
        json!("https://app.example.com/welcome")
    );
}

#[tokio::test]
async fn defaults_nulls_and_a_second_invitation() {
    let (fake, _clock) = virtual_fake().await;
    let first = post(&fake, BODY).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let created = first.body["created_at"].as_i64().unwrap();
    assert_eq!(
        first.body["expires_at"].as_i64().unwrap() - created,
        30 * DAY_MS,
        "30 days unless told"
    );
    assert_eq!(first.body["role_name"], json!("Member"));
    assert_eq!(first.body["inviter_id"], Value::Null);
    assert_eq!(first.body["public_metadata"], json!({}));
    assert_eq!(first.body["private_metadata"], json!({}));

    // Every optional field may be null.
    let second = post(
        &fake,
        r#"{"email_address":"joe@example.com","role":"org:member","inviter_user_id":null,
            "public_metadata":null,"private_metadata":null,"redirect_url":null,
            "expires_in_days":null,"notify":null}"#,
    )
    .await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_ne!(second.body["id"], first.body["id"]);
    assert_ne!(
        second.header("clerk-trace-id"),
        first.header("clerk-trace-id")
    );
    // No API version header is fine; so is the query parameter alone.
    let third = post_with(
        &fake,
        "clerk-api-version",
        None,
        r#"{"email_address":"ann@example.com","role":"org:member"}"#,
    )
    .await;
    assert_eq!(third.status, 200, "{}", third.body);
    let fourth = send(
        &fake,
        reqwest::Method::POST,
        &format!("{PATH}?__clerk_api_version=2025-04-10"),
        &good_headers(&fake)[..3],
        r#"{"email_address":"bob@example.com","role":"org:member"}"#,
    )
    .await;
    assert_eq!(fourth.status, 200, "{}", fourth.body);
    assert_eq!(fake.invitations().len(), 4);
}

#[tokio::test]
async fn the_client_round_trips_through_the_sandbox() {
    let (fake, clerk) = Sandbox::clerk().await;
    let metadata = json!({"team": "design"}).as_object().unwrap().clone();
    let invitation = clerk
        .create_invitation(
            &email("jane@example.com")
                .role(Role::Admin)
                .expires_in(SECS(7 * 24 * 60 * 60))
                .with(
                    ClerkOptions::new()
                        .inviter_user_id("user_1")
                        .public_metadata(metadata.clone())
                        .redirect_url("https://app.example.com/welcome")
                        .notify(false),
                ),
        )
        .await
        .unwrap();
    assert!(invitation.id.starts_with("orginv_"));
    assert_eq!(invitation.email.as_deref(), Some("jane@example.com"));
    assert_eq!(invitation.role, Role::Admin);
    assert_eq!(invitation.status, InvitationStatus::Pending);
    assert!(invitation.accept_url.is_some());
    assert_eq!(
        invitation.inviter.as_ref().and_then(|i| i.id.as_deref()),
        Some("user_1")
    );
    // The fake's clock is the client's: the invitation was made "now" on it.
    let now = jiff::Timestamp::try_from(fake.virtual_clock().unwrap().now()).unwrap();
    assert_eq!(
        invitation.created_at.unwrap().as_millisecond(),
        now.as_millisecond()
    );
    assert_eq!(
        invitation.expires_at.unwrap().as_millisecond() - now.as_millisecond(),
        7 * DAY_MS
    );
    let payload = invitation
        .payload
        .get::<orginvite::clerk::ClerkInvitation>()
        .unwrap();
    assert_eq!(payload.public_metadata.as_ref(), Some(&metadata));
    assert_eq!(payload.organization_id.as_deref(), Some("org_sandbox"));

    let requests = fake.requests().await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].url.path(), PATH);
    assert_eq!(
        requests[0].headers.get("clerk-api-version").unwrap(),
        "2026-05-12"
    );
}

#[tokio::test]
async fn organization_ids_are_one_percent_decoded_segment() {
    let fake = FakeClerk::start().await;
    fake.add_organization("org with/slash");
    let clerk = fake.client_builder().build().unwrap();
    clerk
        .create_invitation(&CreateInvitation::email(
            "org with/slash",
            "jane@example.com",
        ))
        .await
        .unwrap();
    assert_eq!(fake.invitations()[0].organization, "org with/slash");
    assert_eq!(
        fake.requests().await[0].url.path(),
        "/v1/organizations/org%20with%2Fslash/invitations"
    );
}

#[tokio::test]
async fn roles_the_fake_does_not_know_are_not_found() {
    let (fake, clerk) = Sandbox::clerk().await;
    let unknown = clerk
        .create_invitation(&email("jane@example.com").role(Role::Custom("org:billing".into())))
        .await
        .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound);
    assert_eq!(unknown.status().unwrap().as_u16(), 404);
    assert_eq!(unknown.vendor_code(), Some("resource_not_found"));
    assert_eq!(
        unknown.vendor_message(),
        Some("Organization role not found")
    );

    let raw = post(
        &fake,
        r#"{"email_address":"jane@example.com","role":"admin"}"#,
    )
    .await;
    raw.assert_clerk_error(404, &["resource_not_found"]);
    assert_eq!(raw.params(), [Some("role")]);

    fake.add_role("org:billing", "Billing");
    let known = clerk
        .create_invitation(&email("jane@example.com").role(Role::Custom("org:billing".into())))
        .await
        .unwrap();
    assert_eq!(known.role, Role::Custom("org:billing".into()));
    assert_eq!(
        known
            .payload
            .get::<orginvite::clerk::ClerkInvitation>()
            .unwrap()
            .role_name
            .as_deref(),
        Some("Billing")
    );
    assert_eq!(fake.invitations().len(), 1);
}

#[tokio::test]
async fn wrong_headers_get_clerks_own_errors() {
    let fake = FakeClerk::start().await;
    post_with(&fake, "authorization", None, BODY)
        .await
        .assert_clerk_error(401, &["authorization_header_format_invalid"]);
    let key = fake.token().to_owned();
    for malformed in [
        format!("Basic {key}"),
        format!("Token {key}"),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        key.clone(),
        format!("Bearer {key} extra"),
    ] {
        let answer = post_with(&fake, "", Some(("authorization", &malformed)), BODY).await;
        answer.assert_clerk_error(401, &["authorization_header_format_invalid"]);
        assert_eq!(
            answer.body["errors"][0]["long_message"],
            json!("Invalid Authorization header format. Must be 'Bearer <YOUR_API_KEY>'")
        );
    }
    for wrong in ["Bearer sk_test_wrong", "Bearer sk_live_sandbox"] {
        post_with(&fake, "", Some(("authorization", wrong)), BODY)
            .await
            .assert_clerk_error(401, &["clerk_key_invalid"]);
    }
    let api_version = post_with(&fake, "", Some(("clerk-api-version", "1999-01-01")), BODY).await;
    api_version.assert_clerk_error(400, &["api_version_invalid"]);
    assert!(api_version.body["errors"][0]["long_message"]
        .as_str()
        .unwrap()
        .starts_with("Invalid Clerk API version: "));
    // The header and the query parameter together are refused, even when they agree.
    send(
        &fake,
        reqwest::Method::POST,
        &format!("{PATH}?__clerk_api_version=2026-05-12"),
        &good_headers(&fake),
        BODY,
    )
    .await
    .assert_clerk_error(400, &["api_version_invalid"]);
    let bad_query = send(
        &fake,
        reqwest::Method::POST,
        &format!("{PATH}?__clerk_api_version=v2"),
        &good_headers(&fake)[..3],
        BODY,
    )
    .await;
    bad_query.assert_clerk_error(400, &["api_version_invalid"]);
    post_with(&fake, "", Some(("content-type", "text/plain")), BODY)
        .await
        .assert_clerk_error(415, &["unsupported_content_type"]);
    post_with(&fake, "content-type", None, BODY)
        .await
        .assert_clerk_error(415, &["unsupported_content_type"]);
    assert!(fake.invitations().is_empty());

    // The scheme is case-insensitive; a charset on the content type is fine.
    let lower = format!("bearer {key}");
    let ok = post_with(&fake, "", Some(("authorization", &lower)), BODY).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let charset = post_with(
        &fake,
        "",
        Some(("content-type", "application/json; charset=utf-8")),
        r#"{"email_address":"joe@example.com","role":"org:member"}"#,
    )
    .await;
    assert_eq!(charset.status, 200, "{}", charset.body);
    assert_eq!(fake.invitations().len(), 2);
}

#[tokio::test]
async fn the_client_classifies_a_wrong_key() {
    let fake = FakeClerk::start().await;
    let clerk = fake
        .client_builder()
        .token("sk_test_notTheSandboxKey")
        .build()
        .unwrap();
    let error = clerk
        .create_invitation(&email("jane@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);
    assert_eq!(error.status().unwrap().as_u16(), 401);
    assert_eq!(error.vendor_code(), Some("clerk_key_invalid"));
    assert_eq!(fake.requests().await.len(), 1);
    assert!(error.request_id().unwrap().starts_with("sandbox"));

    let version = fake
        .client_builder()
        .api_version("2020-01-01")
        .build()
        .unwrap()
        .create_invitation(&email("jane@example.com"))
        .await
        .unwrap_err();
    assert_eq!(version.kind(), ErrorKind::Validation);
    assert_eq!(version.vendor_code(), Some("api_version_invalid"));
}

#[tokio::test]
async fn unknown_routes_and_methods_are_not_found() {
    let fake = FakeClerk::start().await;
    let headers = good_headers(&fake);
    for (method, path) in [
        (reqwest::Method::DELETE, PATH),
        (reqwest::Method::PUT, PATH),
        (
            reqwest::Method::POST,
            "/organizations/org_sandbox/invitations",
        ),
        (
            reqwest::Method::POST,
            "/v1/organizations/org_sandbox/invitations/bulk/extra",
        ),
        (reqwest::Method::POST, "/v1/organizations//invitations"),
        (reqwest::Method::POST, "/v1/invitations"),
    ] {
        let answer = send(&fake, method.clone(), path, &headers, BODY).await;
        answer.assert_clerk_error(404, &["resource_not_found"]);
        assert_eq!(answer.params(), [None], "{method} {path}");
    }
    assert!(fake.invitations().is_empty());
}

/// A body, and the status, codes and `meta.param_name`s Clerk answers it with.
type BodyCase = (
    &'static str,
    u16,
    &'static [&'static str],
    &'static [Option<&'static str>],
);

#[tokio::test]
async fn wrong_bodies_get_clerks_own_errors() {
    let fake = FakeClerk::start().await;
    let cases: &[BodyCase] = &[
        ("not json", 400, &["request_body_invalid"], &[None]),
        ("[1,2]", 400, &["request_body_invalid"], &[None]),
        ("\"text\"", 400, &["request_body_invalid"], &[None]),
        (
            "{}",
            422,
            &["form_param_missing", "form_param_missing"],
            &[Some("email_address"), Some("role")],
        ),
        (
            "",
            422,
            &["form_param_missing", "form_param_missing"],
            &[Some("email_address"), Some("role")],
        ),
        (
            r#"{"email_address":"a@example.com"}"#,
            422,
            &["form_param_missing"],
            &[Some("role")],
        ),
        (
            r#"{"email_address":null,"role":"org:member"}"#,
            422,
            &["form_param_missing"],
            &[Some("email_address")],
        ),
        (
            r#"{"email_address":"a@example.com","role":"org:member","team":"x"}"#,
            422,
            &["form_param_unknown"],
            &[Some("team")],
        ),
        (
            r#"{"email_address":5,"role":"org:member"}"#,
            422,
            &["form_param_value_invalid"],
            &[Some("email_address")],
        ),
        (
            r#"{"email_address":"a@example.com","role":""}"#,
            422,
            &["form_param_value_invalid"],
            &[Some("role")],
        ),
        (
            r#"{"email_address":"not-an-email","role":"org:member"}"#,
            422,
            &["form_param_format_invalid"],
            &[Some("email_address")],
        ),
        (
            r#"{"email_address":"a@example.com","role":"org:member","expires_in_days":0}"#,
            422,
            &["form_param_value_invalid"],
            &[Some("expires_in_days")],
        ),
        (
            r#"{"email_address":"a@example.com","role":"org:member","expires_in_days":366}"#,
            422,
            &["form_param_value_invalid"],
            &[Some("expires_in_days")],
        ),
        (
            r#"{"email_address":"a@example.com","role":"org:member","expires_in_days":-3}"#,
            422,
            &["form_param_value_invalid"],
            &[Some("expires_in_days")],
        ),
        (
            r#"{"email_address":"a@example.com","role":"org:member","expires_in_days":7.5}"#,
            422,
            &["form_param_value_invalid"],
            &[Some("expires_in_days")],
        ),
        (
            r#"{"email_address":"a@example.com","role":"org:member","expires_in_days":"7"}"#,
            422,
            &["form_param_value_invalid"],
            &[Some("expires_in_days")],
        ),
        (
            r#"{"email_address":"a@example.com","role":"org:member","public_metadata":"x"}"#,
            422,
            &["form_param_value_invalid"],
            &[Some("public_metadata")],
        ),
        (
            r#"{"email_address":"a@example.com","role":"org:member","private_metadata":[1]}"#,
            422,
            &["form_param_value_invalid"],
            &[Some("private_metadata")],
        ),
        (
            r#"{"email_address":"a@example.com","role":"org:member","notify":"yes"}"#,
            422,
            &["form_param_value_invalid"],
            &[Some("notify")],
        ),
        (
            r#"{"email_address":"a@example.com","role":"org:member","inviter_user_id":""}"#,
            422,
            &["form_param_value_invalid"],
            &[Some("inviter_user_id")],
        ),
        (
            r#"{"email_address":"a@example.com","role":"org:member","redirect_url":7}"#,
            422,
            &["form_param_value_invalid"],
            &[Some("redirect_url")],
        ),
        // Every form error at once.
        (
            r#"{"email_address":"nope","extra":1,"notify":1}"#,
            422,
            &[
                "form_param_unknown",
                "form_param_missing",
                "form_param_format_invalid",
                "form_param_value_invalid",
            ],
            &[
                Some("extra"),
                Some("role"),
                Some("email_address"),
                Some("notify"),
            ],
        ),
    ];
    for (body, status, codes, params) in cases {
        let answer = post(&fake, body).await;
        answer.assert_clerk_error(*status, codes);
        assert_eq!(answer.params(), *params, "{body}");
    }
    let email = post(
        &fake,
        r#"{"email_address":"not-an-email","role":"org:member"}"#,
    )
    .await;
    assert_eq!(
        email.body["errors"][0]["long_message"],
        json!("email_address must be a valid email address.")
    );
    assert!(fake.invitations().is_empty());
}

#[tokio::test]
async fn duplicates_members_bad_addresses_and_unknown_orgs() {
    let (fake, clerk) = Sandbox::clerk().await;
    fake.add_member(fake.organization(), "member@example.com");
    clerk
        .create_invitation(&email("jane@example.com"))
        .await
        .unwrap();

    let again = clerk
        .create_invitation(&email("JANE@example.com").role(Role::Admin))
        .await
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::AlreadyInvited);
    assert_eq!(again.status().unwrap().as_u16(), 400);
    assert_eq!(
        again.vendor_code(),
        Some("organization_invitation_not_unique")
    );

    let member = clerk
        .create_invitation(&email("member@example.com"))
        .await
        .unwrap_err();
    assert_eq!(member.kind(), ErrorKind::AlreadyMember);
    assert_eq!(member.status().unwrap().as_u16(), 400);
    assert_eq!(
        member.vendor_code(),
        Some("already_a_member_in_organization")
    );

    let invalid = clerk
        .create_invitation(&email("jane@example.invalid"))
        .await
        .unwrap_err();
    assert_eq!(invalid.kind(), ErrorKind::InvalidEmail);
    assert_eq!(invalid.status().unwrap().as_u16(), 422);
    assert_eq!(invalid.vendor_code(), Some("form_param_format_invalid"));

    let nowhere = clerk
        .create_invitation(&CreateInvitation::email("org_nope", "jane@example.com"))
        .await
        .unwrap_err();
    assert_eq!(nowhere.kind(), ErrorKind::NotFound);
    assert_eq!(nowhere.vendor_code(), Some("resource_not_found"));
    assert_eq!(
        nowhere.vendor_message(),
        Some("Given organization not found.")
    );
    assert!(nowhere.request_id().unwrap().starts_with("sandbox"));

    // The same person may be invited to another organization.
    fake.add_organization("org_other");
    clerk
        .create_invitation(&CreateInvitation::email("org_other", "jane@example.com"))
        .await
        .unwrap();
    assert_eq!(fake.invitations().len(), 2);

    // The raw answers carry Clerk's codes and shape.
    post(
        &fake,
        r#"{"email_address":"jane@example.com","role":"org:member"}"#,
    )
    .await
    .assert_clerk_error(400, &["organization_invitation_not_unique"]);
    post(
        &fake,
        r#"{"email_address":"member@example.com","role":"org:member"}"#,
    )
    .await
    .assert_clerk_error(400, &["already_a_member_in_organization"]);
    let invalid = post(
        &fake,
        r#"{"email_address":"x@example.invalid","role":"org:member"}"#,
    )
    .await;
    invalid.assert_clerk_error(422, &["form_param_format_invalid"]);
    assert_eq!(invalid.params(), [Some("email_address")]);
    assert_eq!(fake.invitations().len(), 2);
}

/// A fake and a client sharing one virtual clock, the client without pacing.
async fn virtual_sandbox(policy: RetryPolicy) -> (FakeClerk, Clerk, RecordingSleeper) {
    let (fake, clock) = virtual_fake().await;
    let clerk = fake
        .client_builder()
        .retry_policy(policy)
        .pacing(Pacing::off())
        .build()
        .unwrap();
    (fake, clerk, clock)
}

#[tokio::test]
async fn the_limit_answers_429_with_retry_after_then_recovers() {
    let (fake, clerk, clock) = virtual_sandbox(RetryPolicy::never()).await;
    fake.rate_limit(2, SECS(10));
    for n in 0..2 {
        clerk
            .create_invitation(&email(&format!("u{n}@example.com")))
            .await
            .unwrap();
    }
    let limited = clerk
        .create_invitation(&email("u2@example.com"))
        .await
        .unwrap_err();
    assert_eq!(limited.kind(), ErrorKind::RateLimited);
    assert_eq!(limited.status().unwrap().as_u16(), 429);
    assert_eq!(limited.vendor_code(), Some("too_many_requests"));
    assert_eq!(limited.retry_after(), Some(SECS(10)));
    assert!(limited.request_id().is_some());

    let raw = post(&fake, BODY).await;
    raw.assert_clerk_error(429, &["too_many_requests"]);
    assert_eq!(raw.header("retry-after"), Some("10"));
    assert_eq!(fake.rate_limited_count(), 2);

    // The client holds its next request until the announced wait is over, then succeeds.
    clerk
        .create_invitation(&email("u2@example.com"))
        .await
        .unwrap();
    assert_eq!(clock.waits(), [SECS(10)]);
    assert_eq!(fake.rate_limited_count(), 2);
    assert_eq!(fake.invitations().len(), 3);
}

#[tokio::test]
async fn retry_after_is_whole_seconds_rounded_up() {
    let (fake, clock) = virtual_fake().await;
    fake.rate_limit(1, Duration::from_millis(2_500));
    assert_eq!(post(&fake, BODY).await.status, 200);
    let limited = post(&fake, BODY).await;
    limited.assert_clerk_error(429, &["too_many_requests"]);
    assert_eq!(limited.header("retry-after"), Some("3"));

    clock.sleep(Duration::from_millis(1_200)).await;
    assert_eq!(
        post(&fake, BODY).await.header("retry-after"),
        Some("2"),
        "1.3 s left"
    );
    clock.sleep(Duration::from_millis(1_300)).await;
    // A new window: the budget is back (and the address is already invited).
    post(&fake, BODY)
        .await
        .assert_clerk_error(400, &["organization_invitation_not_unique"]);
    assert_eq!(fake.rate_limited_count(), 2);
}

#[tokio::test]
async fn the_client_honours_the_sandbox_limit_by_itself() {
    let (fake, clerk, clock) = virtual_sandbox(RetryPolicy::default().jitter(false)).await;
    fake.rate_limit(1, SECS(5));
    for n in 0..3 {
        clerk
            .create_invitation(&email(&format!("u{n}@example.com")))
            .await
            .unwrap();
    }
    // The second invitation gets a 429 with `Retry-After: 5`, and the client waits it out and
    // sends again; from then on it knows one in 5 s (and the window's 100 ms margin), so the
    // third waits its turn instead of collecting another 429.
    assert_eq!(clock.waits(), [SECS(5), Duration::from_millis(5_100)]);
    assert_eq!(fake.rate_limited_count(), 1);
    assert_eq!(fake.invitations().len(), 3);
}

#[tokio::test]
async fn the_sandbox_client_keeps_clerks_default_pacing() {
    let (fake, clerk) = Sandbox::clerk().await;
    // Clerk's documented 250 per hour: 250 go at once, the 251st would need the hour (and the
    // window's margin of a second) to pass, longer than the default policy sleeps, so it is
    // refused at once, with nothing sent.
    for n in 0..250 {
        clerk
            .create_invitation(&email(&format!("u{n}@example.com")))
            .await
            .unwrap();
    }
    let error = clerk
        .create_invitation(&email("u250@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3601)));
    assert_eq!(fake.requests().await.len(), 250);
    assert_eq!(fake.rate_limited_count(), 0);

    // A caller who allows the wait gets the 251st an hour and a second after the first.
    let patient = fake
        .client_builder()
        .retry_policy(orginvite::RetryPolicy::default().max_wait(Duration::from_secs(7200)))
        .build()
        .unwrap();
    for n in 0..251 {
        patient
            .create_invitation(&email(&format!("p{n}@example.com")))
            .await
            .unwrap();
    }
    assert_eq!(
        fake.virtual_clock().unwrap().waits(),
        [Duration::from_secs(3601)]
    );
    assert_eq!(fake.invitations().len(), 501);
}

#[tokio::test]
async fn faults_are_injected_in_order() {
    let (fake, clerk) = Sandbox::clerk().await;
    fake.inject(Fault::ServerError).inject(Fault::HtmlGateway);
    let first = clerk
        .create_invitation(&email("a@example.com"))
        .await
        .unwrap_err();
    assert_eq!(
        (first.kind(), first.status().unwrap().as_u16()),
        (ErrorKind::ServerError, 500)
    );
    assert_eq!(first.vendor_code(), Some("internal_clerk_error"));
    assert!(first.request_id().unwrap().starts_with("sandbox"));
    let second = clerk
        .create_invitation(&email("a@example.com"))
        .await
        .unwrap_err();
    assert_eq!(
        (second.kind(), second.status().unwrap().as_u16()),
        (ErrorKind::ServerError, 502)
    );
    assert_eq!(second.vendor_message(), None);
    assert!(fake.invitations().is_empty(), "a fault creates nothing");
    clerk
        .create_invitation(&email("a@example.com"))
        .await
        .unwrap();
    assert_eq!(fake.requests().await.len(), 3);

    fake.inject(Fault::ServerError);
    post(&fake, BODY)
        .await
        .assert_clerk_error(500, &["internal_clerk_error"]);
}

#[tokio::test]
async fn a_delay_past_the_timeout_creates_the_invitation_anyway() {
    let fake = FakeClerk::start().await;
    let clerk = fake
        .client_builder()
        .timeout(Some(Duration::from_millis(100)))
        .build()
        .unwrap();
    fake.inject(Fault::Delay(SECS(2)));
    let error = clerk
        .create_invitation(&email("slow@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(error.may_have_been_created());
    assert_eq!(
        fake.invitations().len(),
        1,
        "Clerk acted before the client gave up"
    );
}

#[tokio::test]
async fn the_secret_key_never_shows_in_debug_output() {
    let (fake, clerk) = Sandbox::clerk().await;
    let key = fake.token().to_owned();
    assert!(key.starts_with("sk_test_"));
    for shown in [
        format!("{fake:?}"),
        format!("{:?}", fake.vendor()),
        format!("{clerk:?}"),
        format!("{:?}", fake.client_builder()),
    ] {
        assert!(!shown.contains(&key), "{shown}");
    }
}
