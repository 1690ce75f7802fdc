//! The fakes serve every lifecycle route with the vendor's contract (raw requests), and the
//! clients list, find, cancel and look up members through them, behind `dyn Provider`.

use std::time::Duration;

use futures_util::StreamExt;
use orginvite::testkit::{FakeClerk, FakeElasticCloud, FakeGitHub, FakeMember, Fault, Sandbox};
use orginvite::{
    CreateInvitation, ErrorKind, InvitationStatus, Invitee, ListInvitations, Membership, Provider,
    Role,
};
use serde_json::{json, Value};

use crate::lifecycle::{collect, ids};

/// One raw request with the credential the fake accepts.
async fn send(
    method: reqwest::Method,
    url: String,
    authorization: String,
    extra: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = reqwest::Client::new()
        .request(method, url)
        .header("authorization", authorization)
        .header("user-agent", "contract-test");
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn github_get(
    fake: &FakeGitHub,
    path_and_query: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    send(
        reqwest::Method::GET,
        format!("{}{path_and_query}", fake.uri()),
        format!("Bearer {}", fake.token()),
        &[("x-github-api-version", "2022-11-28")],
    )
    .await
}

/// Splits a `Link` header into `(rel, url)` pairs.
fn links(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    let Some(value) = headers.get("link") else {
        return Vec::new();
    };
    value
        .to_str()
        .unwrap()
        .split(", ")
        .map(|link| {
            let (url, rel) = link.split_once("; rel=").unwrap();
            (
                rel.trim_matches('"').to_owned(),
                url.trim_start_matches('<').trim_end_matches('>').to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn github_lists_pages_with_link_headers_and_serves_its_links() {
    let fake = FakeGitHub::start().await;
    fake.seed_invitations("acme", 250);
    let uri = fake.uri();

    let (status, headers, body) = github_get(
        &fake,
        "/orgs/acme/invitations?per_page=100&page=1&extra=kept",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), 100);
    assert_eq!(body[0]["email"], json!("seed-1@example.com"));
    assert_eq!(body[0]["role"], json!("direct_member"));
    assert_eq!(
        links(&headers),
        [
            (
                "next".to_owned(),
                format!("{uri}/organizations/1/invitations?extra=kept&per_page=100&page=2")
            ),
            (
                "last".to_owned(),
                format!("{uri}/organizations/1/invitations?extra=kept&per_page=100&page=3")
            ),
        ]
    );
    let (status, headers, body) = github_get(
        &fake,
        "/organizations/1/invitations?extra=kept&per_page=100&page=3",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), 50);
    let rels: Vec<String> = links(&headers).into_iter().map(|(rel, _)| rel).collect();
    assert_eq!(rels, ["prev", "first"]);

    // The default page is 30; a list that fits one page has no Link; GitHub caps at 100.
    let (_, headers, body) = github_get(&fake, "/orgs/acme/invitations").await;
    assert_eq!(body.as_array().unwrap().len(), 30);
    assert!(headers.contains_key("link"));
    fake.add_organization("tiny");
    fake.seed_invitations("tiny", 3);
    let (_, headers, body) = github_get(&fake, "/orgs/tiny/invitations").await;
    assert_eq!(body.as_array().unwrap().len(), 3);
    assert!(!headers.contains_key("link"), "{headers:?}");
    let (_, _, body) = github_get(&fake, "/orgs/acme/invitations?per_page=500").await;
    assert_eq!(body.as_array().unwrap().len(), 100);
    let (status, _, body) = github_get(&fake, "/orgs/acme/invitations?role=owner").await;
    assert_eq!(status, 422, "{body}");
    let (status, _, _) = github_get(&fake, "/orgs/nope/invitations").await;
    assert_eq!(status, 404);
    let (status, _, body) = send(
        reqwest::Method::GET,
        format!("{uri}/orgs/acme/invitations"),
        "Bearer wrong".into(),
        &[],
    )
    .await;
    assert_eq!(
        (status, body["message"].clone()),
        (401, json!("Bad credentials"))
    );
}

#[tokio::test]
async fn github_cancels_lists_failed_invitations_and_answers_memberships() {
    let (fake, github) = Sandbox::github().await;
    let kept = fake.add_invitation("acme", "kept@example.com");
    let gone = fake.add_invitation("acme", "gone@example.com");
    let failed = fake.add_invitation("acme", "failed@example.com");
    assert!(fake.set_invitation_status(&failed, InvitationStatus::Failed));
    fake.add(FakeMember::new("acme").login("octocat").role("admin"));
    let uri = fake.uri();
    let auth = format!("Bearer {}", fake.token());

    let delete = |id: String| {
        send(
            reqwest::Method::DELETE,
            format!("{uri}/orgs/acme/invitations/{id}"),
            auth.clone(),
            &[],
        )
    };
    let (status, _, body) = delete(gone.clone()).await;
    assert_eq!((status, body), (204, json!("")));
    let (status, _, body) = delete(gone.clone()).await;
    assert_eq!((status, body["message"].clone()), (404, json!("Not Found")));

    let (_, _, pending) = github_get(&fake, "/orgs/acme/invitations").await;
    let pending: Vec<&Value> = pending.as_array().unwrap().iter().collect();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["id"].to_string(), kept);
    let (_, _, failed_list) = github_get(&fake, "/orgs/acme/failed_invitations").await;
    assert_eq!(failed_list[0]["email"], json!("failed@example.com"));
    assert!(failed_list[0]["failed_at"].is_string());

    let (status, _, body) = github_get(&fake, "/orgs/acme/memberships/OctoCat").await;
    assert_eq!(
        (status, body["state"].clone(), body["role"].clone()),
        (200, json!("active"), json!("admin"))
    );
    let (status, _, _) = github_get(&fake, "/orgs/acme/memberships/stranger").await;
    assert_eq!(status, 404);

    // The client sees the same.
    assert_eq!(
        ids(&github, &ListInvitations::new("acme")).await,
        std::slice::from_ref(&kept)
    );
    let octocat = github
        .membership("acme", &Invitee::login("octocat"))
        .await
        .unwrap();
    assert!(matches!(
        octocat,
        Membership::Member {
            role: Role::Admin,
            ..
        }
    ));
    let invited = github
        .create_invitation(&CreateInvitation::user_id("acme", "4242"))
        .await
        .unwrap();
    assert_eq!(invited.login.as_deref(), Some("user4242"));
    let pending = github
        .membership("acme", &Invitee::login("user4242"))
        .await
        .unwrap();
    assert_eq!(pending.invitation().map(|i| i.id.clone()), Some(invited.id));
}

#[tokio::test]
async fn github_reads_are_rate_limited_and_faulted_like_writes() {
    let (fake, github) = Sandbox::github().await;
    fake.seed_invitations("acme", 3);
    fake.rate_limit(1, Duration::from_secs(60));
    fake.inject(Fault::ServerError);
    // The 500 is retried (a read), then the window's one request, then a secondary limit
    // that the client waits out on the virtual clock.
    assert_eq!(ids(&github, &ListInvitations::new("acme")).await.len(), 3);
    assert_eq!(ids(&github, &ListInvitations::new("acme")).await.len(), 3);
    assert_eq!(fake.rate_limited_count(), 1);
    let waits = fake.virtual_clock().unwrap().waits();
    assert!(
        waits.iter().any(|w| *w >= Duration::from_secs(59)),
        "{waits:?}"
    );
}

#[tokio::test]
async fn clerk_pages_by_offset_filters_revokes_and_lists_members() {
    let fake = FakeClerk::start().await;
    fake.seed_invitations("org_sandbox", 12);
    let ids_: Vec<String> = fake.invitations().iter().map(|i| i.id.clone()).collect();
    fake.add(
        FakeMember::new("org_sandbox")
            .email("admin@example.com")
            .login("boss")
            .role("org:admin"),
    );
    let base = format!("{}/v1/organizations/org_sandbox", fake.uri());
    let auth = format!("Bearer {}", fake.token());
    let get = |query: &str| {
        send(
            reqwest::Method::GET,
            format!("{base}/invitations{query}"),
            auth.clone(),
            &[],
        )
    };

    let (status, headers, body) = get("?limit=5&offset=10").await;
    assert_eq!(status, 200);
    assert!(headers.contains_key("clerk-trace-id"));
    assert_eq!(body["total_count"], json!(12));
    // Newest first, as Clerk orders by default.
    let page: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(page, [ids_[1].as_str(), ids_[0].as_str()]);
    let (_, _, body) = get("").await;
    assert_eq!(
        body["data"].as_array().unwrap().len(),
        10,
        "Clerk's default limit"
    );
    let (_, _, body) = get("?order_by=%2Bemail_address&limit=2").await;
    assert_eq!(
        body["data"][0]["email_address"],
        json!("seed-10@example.com")
    );
    assert_eq!(
        body["data"][1]["email_address"],
        json!("seed-11@example.com")
    );
    let (status, _, body) = get("?limit=501").await;
    assert_eq!(
        (status, body["errors"][0]["code"].clone()),
        (422, json!("form_param_value_invalid"))
    );
    let (status, _, _) = get("?status=gone").await;
    assert_eq!(status, 422);

    let revoke = |id: &str| {
        send(
            reqwest::Method::POST,
            format!("{base}/invitations/{id}/revoke"),
            auth.clone(),
            &[],
        )
    };
    let (status, _, body) = revoke(&ids_[0]).await;
    assert_eq!((status, body["status"].clone()), (200, json!("revoked")));
    let (status, _, body) = revoke(&ids_[0]).await;
    assert_eq!(
        (status, body["errors"][0]["code"].clone()),
        (404, json!("organization_invitation_not_pending"))
    );
    let (status, _, body) = revoke("orginv_unknown").await;
    assert_eq!(
        (status, body["errors"][0]["code"].clone()),
        (404, json!("resource_not_found"))
    );
    let (_, _, body) = get("?status=revoked").await;
    assert_eq!(body["total_count"], json!(1));
    let (_, _, body) = get("?status=pending&email_address=SEED-2@example.com").await;
    assert_eq!(body["data"][0]["id"], json!(ids_[1]));

    let (status, _, body) = send(
        reqwest::Method::GET,
        format!("{base}/memberships?username=boss"),
        auth.clone(),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["total_count"], json!(1));
    assert_eq!(body["data"][0]["role"], json!("org:admin"));
    assert_eq!(
        body["data"][0]["public_user_data"]["identifier"],
        json!("admin@example.com")
    );
    let (_, _, body) = send(
        reqwest::Method::GET,
        format!("{base}/memberships?email_address=x@example.com"),
        auth.clone(),
        &[],
    )
    .await;
    assert_eq!(body["total_count"], json!(0));
    let (status, _, _) = send(
        reqwest::Method::GET,
        format!("{base}/memberships"),
        "Bearer sk_test_wrong".into(),
        &[],
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn elastic_lists_deletes_comma_separated_tokens_and_lists_members() {
    let fake = FakeElasticCloud::start().await;
    let a = fake.add_invitation("sandbox-org", "a@example.com");
    let b = fake.add_invitation("sandbox-org", "b@example.com");
    let c = fake.add_invitation("sandbox-org", "c@example.com");
    fake.add(
        FakeMember::new("sandbox-org")
            .email("m@example.com")
            .user_id("77")
            .role("organization-admin"),
    );
    let base = format!("{}/api/v1/organizations/sandbox-org", fake.uri());
    let auth = format!("ApiKey {}", fake.token());

    let (status, _, body) = send(
        reqwest::Method::DELETE,
        format!("{base}/invitations/{a},{b}"),
        auth.clone(),
        &[],
    )
    .await;
    assert_eq!((status, body), (200, json!({})));
    let (status, headers, body) = send(
        reqwest::Method::DELETE,
        format!("{base}/invitations/{a},{c}"),
        auth.clone(),
        &[],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        body["errors"][0]["code"],
        json!("organization.invitation_not_found")
    );
    assert_eq!(
        headers["x-cloud-error-codes"],
        "organization.invitation_not_found"
    );
    let (_, _, body) = send(
        reqwest::Method::GET,
        format!("{base}/invitations"),
        auth.clone(),
        &[],
    )
    .await;
    let tokens: Vec<&str> = body["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["token"].as_str().unwrap())
        .collect();
    assert_eq!(tokens, [c.as_str()], "all or nothing: c was not deleted");
    let (_, _, body) = send(
        reqwest::Method::GET,
        format!("{base}/members"),
        auth.clone(),
        &[],
    )
    .await;
    assert_eq!(body["members"][0]["user_id"], json!("77"));
    assert_eq!(
        body["members"][0]["role_assignments"]["organization"][0]["role_id"],
        json!("organization-admin")
    );
    let (status, _, _) = send(
        reqwest::Method::GET,
        format!("{base}/members"),
        "ApiKey wrong".into(),
        &[],
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn expiry_follows_the_fakes_clock() {
    let (fake, clerk) = Sandbox::clerk().await;
    let id = fake.add_invitation("org_sandbox", "late@example.com");
    let clock = fake.virtual_clock().unwrap();
    orginvite::sleep::Sleeper::sleep(clock, Duration::from_secs(31 * 24 * 60 * 60)).await;
    let expired = collect(
        &clerk,
        &ListInvitations::new("org_sandbox").status(InvitationStatus::Expired),
    )
    .await
    .unwrap();
    assert_eq!(expired[0].id, id);
    assert!(ids(&clerk, &ListInvitations::new("org_sandbox"))
        .await
        .is_empty());
    // An expired invitation no longer blocks a new one.
    clerk
        .create_invitation(&CreateInvitation::email("org_sandbox", "late@example.com"))
        .await
        .unwrap();
}

#[tokio::test]
async fn every_provider_lists_finds_cancels_and_looks_up_through_dyn_provider() {
    let (github_fake, github) = Sandbox::github().await;
    let (clerk_fake, clerk) = Sandbox::clerk().await;
    let (elastic_fake, elastic) = Sandbox::elastic().await;
    github_fake.seed_invitations("acme", 150);
    clerk_fake.seed_invitations("org_sandbox", 600);
    elastic_fake.seed_invitations("sandbox-org", 40);
    let providers: Vec<(Box<dyn Provider>, &str, usize)> = vec![
        (Box::new(github), "acme", 150),
        (Box::new(clerk), "org_sandbox", 600),
        (Box::new(elastic), "sandbox-org", 40),
    ];
    for (provider, org, seeded) in &providers {
        let kind = provider.kind();
        let jane = CreateInvitation::email(*org, "jane@example.com").role(Role::Admin);
        let created = provider.create_invitation(&jane).await.unwrap();

        let listed = collect(provider.as_ref(), &ListInvitations::new(*org))
            .await
            .unwrap();
        assert_eq!(listed.len(), seeded + 1, "{kind}");
        let admins = ids(
            provider.as_ref(),
            &ListInvitations::new(*org).role(Role::Admin),
        )
        .await;
        assert_eq!(admins, std::slice::from_ref(&created.id), "{kind}");

        let found = provider
            .find_invitation(org, &Invitee::email("JANE@example.com"))
            .await
            .unwrap()
            .expect("jane's invitation");
        assert_eq!(found.id, created.id, "{kind}");
        let membership = provider
            .membership(org, &Invitee::email("jane@example.com"))
            .await
            .unwrap();
        assert_eq!(
            membership.invitation().map(|i| i.id.clone()),
            Some(created.id.clone()),
            "{kind}"
        );

        let cancelled = provider.cancel_invitation(org, &found.id).await.unwrap();
        assert_eq!(cancelled.id, created.id, "{kind}");
        let again = provider
            .cancel_invitation(org, &found.id)
            .await
            .unwrap_err();
        assert_eq!(again.kind(), ErrorKind::NotPending, "{kind}");
        assert!(provider
            .find_invitation(org, &Invitee::email("jane@example.com"))
            .await
            .unwrap()
            .is_none());

        // Several at once: two seeded invitations and one already cancelled.
        let two: Vec<String> = listed
            .iter()
            .filter(|i| i.id != created.id)
            .take(2)
            .map(|i| i.id.clone())
            .collect();
        let outcomes = provider
            .cancel_invitations(
                org,
                vec![two[0].clone(), created.id.clone(), two[1].clone()],
            )
            .await;
        let kinds: Vec<Option<ErrorKind>> = outcomes
            .iter()
            .map(|o| o.result.as_ref().err().map(|e| e.kind()))
            .collect();
        assert_eq!(kinds, [None, Some(ErrorKind::NotPending), None], "{kind}");
        let left = provider
            .list_invitations(&ListInvitations::new(*org))
            .count()
            .await;
        assert_eq!(left, seeded - 2, "{kind}");
    }
}

#[tokio::test]
async fn the_relay_in_front_of_each_fake_frames_every_answer() {
    let fake = FakeGitHub::start().await;
    let client = reqwest::Client::new();
    // HEAD has no body: the same connection answers the next request at once.
    for _ in 0..2 {
        let head = client
            .head(format!("{}/orgs/acme/invitations", fake.uri()))
            .header("authorization", format!("Bearer {}", fake.token()))
            .header("user-agent", "relay-test")
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), 404);
        let get = client
            .get(format!("{}/orgs/acme/invitations", fake.uri()))
            .header("authorization", format!("Bearer {}", fake.token()))
            .header("user-agent", "relay-test")
            .send()
            .await
            .unwrap();
        assert_eq!(get.status(), 200);
        assert_eq!(get.text().await.unwrap(), "[]");
    }
}
