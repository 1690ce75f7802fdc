//! The fake GitHub keeps GitHub's contract: success shape, its own errors, state, rate limits
//! and faults.

use std::sync::Arc;
use std::time::Duration;

use orginvite::sleep::RecordingSleeper;
use orginvite::testkit::{FakeGitHub, Fault, GitHubLimit, Sandbox};
use orginvite::{CreateInvitation, ErrorKind, Pacing, RetryPolicy};
use serde_json::{json, Value};

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// A raw POST to the fake, so wrong requests can be sent on purpose.
async fn raw(
    fake: &FakeGitHub,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/orgs/acme/invitations", fake.uri()))
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn good_headers(token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("authorization", format!("Bearer {token}")),
        ("accept", "application/vnd.github+json".into()),
        ("x-github-api-version", "2022-11-28".into()),
        ("user-agent", "test".into()),
        ("content-type", "application/json".into()),
    ]
}

async fn raw_with(
    fake: &FakeGitHub,
    drop: &str,
    replace: Option<(&str, &str)>,
    body: &str,
) -> (u16, Value) {
    let token = fake.token().to_owned();
    let mut headers: Vec<(&str, String)> = good_headers(&token)
        .into_iter()
        .filter(|(name, _)| *name != drop)
        .collect();
    if let Some((name, value)) = replace {
        headers.retain(|(n, _)| *n != name);
        headers.push((name, value.to_owned()));
    }
    let refs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let (status, _, text) = raw(fake, &refs, body).await;
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn a_correct_request_gets_201_and_githubs_invitation_shape() {
    let fake = FakeGitHub::start().await;
    let token = fake.token().to_owned();
    let headers = good_headers(&token);
    let refs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let (status, headers, text) = raw(
        &fake,
        &refs,
        r#"{"email":"jane@example.com","role":"admin"}"#,
    )
    .await;
    assert_eq!(status, 201);
    assert!(headers.contains_key("x-github-request-id"));
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["id"], json!(1));
    assert_eq!(body["email"], json!("jane@example.com"));
    assert_eq!(body["role"], json!("admin"));
    assert_eq!(body["login"], Value::Null);
    assert!(body["created_at"].is_string());
    assert_eq!(body["inviter"]["login"], json!("sandbox-owner"));
    let created = fake.invitations();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].organization, "acme");
    assert_eq!(created[0].role, "admin");
}

#[tokio::test]
async fn the_client_round_trips_through_the_sandbox() {
    let (fake, github) = Sandbox::github().await;
    let invitation = github
        .create_invitation(&CreateInvitation::user_id("ACME", "583231"))
        .await
        .unwrap();
    assert_eq!(invitation.id, "1");
    assert_eq!(
        invitation
            .payload
            .get::<orginvite::github::GitHubInvitation>()
            .unwrap()
            .login(),
        Some("user583231")
    );
    assert_eq!(fake.invitations()[0].user_id.as_deref(), Some("583231"));
}

#[tokio::test]
async fn wrong_headers_get_githubs_own_errors() {
    let fake = FakeGitHub::start().await;
    let body = r#"{"email":"jane@example.com"}"#;
    let (status, answer) = raw_with(&fake, "authorization", None, body).await;
    assert_eq!(
        (status, answer["message"].as_str()),
        (401, Some("Requires authentication"))
    );
    let (status, answer) = raw_with(&fake, "", Some(("authorization", "Bearer nope")), body).await;
    assert_eq!(
        (status, answer["message"].as_str()),
        (401, Some("Bad credentials"))
    );
    let (status, answer) = raw_with(&fake, "", Some(("authorization", "Basic abc")), body).await;
    assert_eq!(
        (status, answer["message"].as_str()),
        (401, Some("Bad credentials"))
    );
    let token_form = format!("token {}", fake.token());
    let (status, _) = raw_with(&fake, "", Some(("authorization", &token_form)), body).await;
    assert_eq!(status, 201, "the `token` scheme is accepted too");
    let (status, answer) = raw_with(&fake, "user-agent", None, body).await;
    assert_eq!(status, 403);
    assert!(answer.as_str().unwrap().contains("User-Agent"));
    let (status, answer) = raw_with(
        &fake,
        "",
        Some(("x-github-api-version", "1999-01-01")),
        body,
    )
    .await;
    assert_eq!(status, 400);
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("X-GitHub-Api-Version"));
    assert_eq!(
        fake.invitations().len(),
        1,
        "only the valid request created one"
    );
}

#[tokio::test]
async fn wrong_bodies_get_githubs_own_errors() {
    let fake = FakeGitHub::start().await;
    let cases = [
        ("not json", 400, "Problems parsing JSON"),
        ("[1,2]", 400, "Problems parsing JSON"),
        ("{}", 422, "Invite requires either user or email"),
        (
            r#"{"email":"a@example.com","invitee_id":5}"#,
            422,
            "Invite can only be delivered to either user or email",
        ),
        (
            r#"{"invitee_id":5,"role":"reinstate","team_ids":[1]}"#,
            422,
            "Invite may not specify teams while reinstating",
        ),
    ];
    for (body, status, message) in cases {
        let (got, answer) = raw_with(&fake, "", None, body).await;
        assert_eq!(got, status, "{body}");
        let text = answer.to_string();
        assert!(text.contains(message), "{body}: {text}");
    }
    let (status, answer) = raw_with(
        &fake,
        "",
        None,
        r#"{"email":"a@example.com","role":"owner"}"#,
    )
    .await;
    assert_eq!(status, 422);
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("properties/role"));
    assert!(fake.invitations().is_empty());
}

#[tokio::test]
async fn duplicates_members_bad_addresses_and_unknown_orgs() {
    let (fake, github) = Sandbox::github().await;
    fake.add_member("acme", "member@example.com");
    let invite = |email: &str| CreateInvitation::email("acme", email);
    github
        .create_invitation(&invite("jane@example.com"))
        .await
        .unwrap();

    let again = github
        .create_invitation(&invite("JANE@example.com"))
        .await
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::AlreadyInvited);
    assert_eq!(again.status().unwrap().as_u16(), 422);

    let member = github
        .create_invitation(&invite("member@example.com"))
        .await
        .unwrap_err();
    assert_eq!(member.kind(), ErrorKind::AlreadyMember);
    assert_eq!(
        member.vendor_message(),
        Some("Validation Failed: A user with this email addresss is already a part of this organization")
    );

    let invalid = github
        .create_invitation(&invite("jane@example.invalid"))
        .await
        .unwrap_err();
    assert_eq!(invalid.kind(), ErrorKind::InvalidEmail);

    let nowhere = github
        .create_invitation(&CreateInvitation::email("no-such-org", "jane@example.com"))
        .await
        .unwrap_err();
    assert_eq!(nowhere.kind(), ErrorKind::NotFound);
    assert!(nowhere.request_id().unwrap().starts_with("SANDBOX:"));
    assert_eq!(fake.invitations().len(), 1);
}

/// A fake and a client sharing one virtual clock: waits take no time, windows still pass.
async fn virtual_sandbox(policy: RetryPolicy) -> (FakeGitHub, orginvite::GitHub, RecordingSleeper) {
    let clock = RecordingSleeper::starting_at(std::time::UNIX_EPOCH + SECS(1_800_000_000));
    let fake = FakeGitHub::start_with_clock(Arc::new(clock.clone())).await;
    let github = fake.client_builder().retry_policy(policy).build().unwrap();
    (fake, github, clock)
}

#[tokio::test]
async fn a_rolling_window_counts_the_last_window_whenever_it_ends() {
    let (fake, _) = orginvite::testkit::Sandbox::github().await;
    let clock = fake.virtual_clock().unwrap().clone();
    let github = fake
        .client_builder()
        .pacing(orginvite::Pacing::off().learn_from_headers(false))
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    fake.rate_limit_rolling(2, SECS(10));
    let invite = |n: u32| CreateInvitation::email("acme", format!("r{n}@example.com"));
    // Accepted at 0 s and 1 s: the window is full until 10 s.
    github.create_invitation(&invite(0)).await.unwrap();
    orginvite::sleep::Sleeper::sleep(&clock, SECS(1)).await;
    github.create_invitation(&invite(1)).await.unwrap();
    let limited = github.create_invitation(&invite(2)).await.unwrap_err();
    assert_eq!(limited.kind(), ErrorKind::RateLimited);
    assert_eq!(limited.retry_after(), Some(SECS(9)));
    // At 10 s one place is free: the request of 1 s counts until 11 s (a fixed window
    // starting at 10 s would take two).
    orginvite::sleep::Sleeper::sleep(&clock, SECS(9)).await;
    github.create_invitation(&invite(2)).await.unwrap();
    let limited = github.create_invitation(&invite(3)).await.unwrap_err();
    assert_eq!(limited.retry_after(), Some(SECS(1)));
    assert_eq!(fake.rate_limited_count(), 2);
    assert_eq!(fake.invitations().len(), 3);
}

#[tokio::test]
async fn secondary_limit_answers_403_with_retry_after_then_recovers() {
    let (fake, github, clock) = virtual_sandbox(RetryPolicy::never()).await;
    fake.rate_limit(2, SECS(10));
    for n in 0..2 {
        github
            .create_invitation(&CreateInvitation::email(
                "acme",
                format!("u{n}@example.com"),
            ))
            .await
            .unwrap();
    }
    // GitHub's pacing spaced the first two 1 s apart; the third starts at 2 s.
    let limited = github
        .create_invitation(&CreateInvitation::email("acme", "u2@example.com"))
        .await
        .unwrap_err();
    assert_eq!(limited.kind(), ErrorKind::RateLimited);
    assert_eq!(limited.status().unwrap().as_u16(), 403);
    assert_eq!(limited.retry_after(), Some(SECS(8)));
    assert!(limited
        .vendor_message()
        .unwrap()
        .contains("secondary rate limit"));
    assert_eq!(fake.rate_limited_count(), 1);

    // The client holds its next request until the announced wait is over, then succeeds.
    github
        .create_invitation(&CreateInvitation::email("acme", "u2@example.com"))
        .await
        .unwrap();
    assert_eq!(clock.waits(), [SECS(1), SECS(1), SECS(8)]);
    assert_eq!(fake.rate_limited_count(), 1);
    assert_eq!(fake.invitations().len(), 3);
}

#[tokio::test]
async fn the_client_honours_the_sandbox_limit_by_itself() {
    let (fake, github, clock) = virtual_sandbox(RetryPolicy::default().jitter(false)).await;
    fake.rate_limit(1, SECS(5));
    for n in 0..3 {
        github
            .create_invitation(&CreateInvitation::email(
                "acme",
                format!("u{n}@example.com"),
            ))
            .await
            .unwrap();
    }
    // Secondary limits are invisible until hit: 1 s pacing, a 403 with retry-after 4, a wait.
    // From then on the pacer knows one in 5 s (and the window's 100 ms margin): the third
    // waits its turn instead of collecting a second refusal.
    assert_eq!(
        clock.waits(),
        [SECS(1), SECS(4), Duration::from_millis(5_100)]
    );
    assert_eq!(fake.rate_limited_count(), 1);
    assert_eq!(fake.invitations().len(), 3);
}

#[tokio::test]
async fn primary_limit_headers_are_heeded_before_a_403() {
    let (fake, github, clock) = virtual_sandbox(RetryPolicy::default().jitter(false)).await;
    fake.rate_limit(1, SECS(30))
        .limit_shape(GitHubLimit::Primary);
    github
        .create_invitation(&CreateInvitation::email("acme", "a@example.com"))
        .await
        .unwrap();
    github
        .create_invitation(&CreateInvitation::email("acme", "b@example.com"))
        .await
        .unwrap();
    // The first answer said `remaining: 0` and the reset (30 s): the pacer waited for it
    // (+1 s margin) and the vendor never had to refuse.
    assert_eq!(clock.waits(), [SECS(31)]);
    assert_eq!(fake.rate_limited_count(), 0);
}

#[tokio::test]
async fn primary_limit_answer_when_learning_is_off() {
    let (fake, github, clock) = virtual_sandbox(RetryPolicy::default().jitter(false)).await;
    let github = github;
    drop(github);
    let github = fake
        .client_builder()
        .retry_policy(RetryPolicy::default().jitter(false))
        .pacing(Pacing::off().learn_from_headers(false))
        .build()
        .unwrap();
    fake.rate_limit(1, SECS(30))
        .limit_shape(GitHubLimit::Primary);
    github
        .create_invitation(&CreateInvitation::email("acme", "a@example.com"))
        .await
        .unwrap();
    github
        .create_invitation(&CreateInvitation::email("acme", "b@example.com"))
        .await
        .unwrap();
    assert_eq!(clock.waits(), [SECS(31)]);
    assert_eq!(fake.rate_limited_count(), 1);
}

#[tokio::test]
async fn header_less_secondary_limit_waits_60s() {
    let (fake, github, clock) = virtual_sandbox(RetryPolicy::default().jitter(false)).await;
    fake.rate_limit(1, SECS(30))
        .limit_shape(GitHubLimit::SecondaryWithoutRetryAfter);
    github
        .create_invitation(&CreateInvitation::email("acme", "a@example.com"))
        .await
        .unwrap();
    github
        .create_invitation(&CreateInvitation::email("acme", "b@example.com"))
        .await
        .unwrap();
    assert_eq!(clock.waits(), [SECS(1), SECS(60)]);
    assert_eq!(fake.rate_limited_count(), 1);
}

#[tokio::test]
async fn faults_are_injected_in_order() {
    let (fake, github) = Sandbox::github().await;
    fake.inject(Fault::ServerError).inject(Fault::HtmlGateway);
    let first = github
        .create_invitation(&CreateInvitation::email("acme", "a@example.com"))
        .await
        .unwrap_err();
    assert_eq!(
        (first.kind(), first.status().unwrap().as_u16()),
        (ErrorKind::ServerError, 500)
    );
    let second = github
        .create_invitation(&CreateInvitation::email("acme", "a@example.com"))
        .await
        .unwrap_err();
    assert_eq!(
        (second.kind(), second.status().unwrap().as_u16()),
        (ErrorKind::ServerError, 502)
    );
    assert_eq!(second.vendor_message(), None);
    github
        .create_invitation(&CreateInvitation::email("acme", "a@example.com"))
        .await
        .unwrap();
    assert_eq!(fake.requests().await.len(), 3);
}

#[tokio::test]
async fn a_delay_past_the_timeout_creates_the_invitation_anyway() {
    let fake = FakeGitHub::start().await;
    let github = fake
        .client_builder()
        .timeout(Some(Duration::from_millis(100)))
        .build()
        .unwrap();
    fake.inject(Fault::Delay(SECS(2)));
    let error = github
        .create_invitation(&CreateInvitation::email("acme", "slow@example.com"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(error.may_have_been_created());
    assert_eq!(
        fake.invitations().len(),
        1,
        "the vendor acted before the client gave up"
    );
}

#[tokio::test]
async fn the_primary_budget_headers_count_down_and_reset_every_hour() {
    let clock = RecordingSleeper::starting_at(std::time::UNIX_EPOCH + SECS(1_800_000_000));
    let fake = FakeGitHub::start_with_clock(Arc::new(clock.clone())).await;
    let token = fake.token().to_owned();
    let remaining = |n: usize| {
        let fake = &fake;
        let token = token.clone();
        async move {
            let response = reqwest::Client::new()
                .post(format!("{}/orgs/acme/invitations", fake.uri()))
                .header("authorization", format!("Bearer {token}"))
                .header("user-agent", "test")
                .body(format!(r#"{{"email":"u{n}@example.com"}}"#))
                .send()
                .await
                .unwrap();
            let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
            (header("x-ratelimit-remaining"), header("x-ratelimit-reset"))
        }
    };
    assert_eq!(remaining(0).await, ("4999".into(), "1800003600".into()));
    assert_eq!(remaining(1).await, ("4998".into(), "1800003600".into()));
    orginvite::sleep::Sleeper::sleep(&clock, SECS(3600)).await;
    assert_eq!(remaining(2).await, ("4999".into(), "1800007200".into()));
}

#[tokio::test]
async fn a_member_invited_by_user_id_is_already_a_member() {
    let (fake, github) = Sandbox::github().await;
    fake.add_member_id("acme", "583231");
    let error = github
        .create_invitation(&CreateInvitation::user_id("acme", "583231"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AlreadyMember);
    assert_eq!(
        error.vendor_message(),
        Some("Validation Failed: Invitee is already a part of this organization")
    );
    github
        .create_invitation(&CreateInvitation::user_id("acme", "42"))
        .await
        .unwrap();
}
