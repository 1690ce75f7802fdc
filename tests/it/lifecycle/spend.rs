//! What workflows spend of the vendor's request budget: snapshots, the precheck of bulk runs,
//! and the lookups creates in doubt share, counted request by request on the fakes.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use orginvite::testkit::{FakeMember, FakeServer, Fault, Sandbox};
use orginvite::{
    BulkItem, BulkOptions, CreateInvitation, Ensured, Invitee, Pacing, Presence, Provider, Role,
};

/// Requests by kind: the method and the last segment of the path (`GET invitations`, `GET
/// members`, `POST invitations`, `POST bulk`).
async fn tally<V>(fake: &FakeServer<V>) -> BTreeMap<String, usize> {
    let mut kinds = BTreeMap::new();
    for request in fake.requests().await {
        let last = request
            .url
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        *kinds
            .entry(format!("{} {last}", request.method))
            .or_default() += 1;
    }
    kinds
}

fn kinds(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

async fn run(provider: &dyn Provider, requests: Vec<CreateInvitation>) -> Vec<BulkItem> {
    crate::lifecycle::run(provider, requests, BulkOptions::default()).await
}

/// How many items of each outcome.
fn outcomes(items: &[BulkItem]) -> BTreeMap<&'static str, usize> {
    let mut counted = BTreeMap::new();
    for item in items {
        let name = item.outcome.as_ref().map_or("error", Ensured::as_str);
        *counted.entry(name).or_default() += 1;
    }
    counted
}

/// The 300 rows: 100 new people by email, 100 of the 500 already invited by email, and 100
/// members by `member` (GitHub: their login; the others: their email).
fn rows(organization: &str, member: impl Fn(usize) -> Invitee) -> Vec<CreateInvitation> {
    let mut rows = Vec::new();
    for i in 0..100 {
        rows.push(CreateInvitation::email(
            organization,
            format!("new{i}@example.com"),
        ));
        rows.push(CreateInvitation::email(
            organization,
            format!("seed-{}@example.com", 1 + i * 5),
        ));
        rows.push(CreateInvitation::new(organization, member(i)));
    }
    rows
}

/// Checks the first run's and the second run's outcomes: the first creates the new, answers
/// the others from the snapshot; the second creates nothing.
fn check(first: &[BulkItem], again: &[BulkItem]) {
    let expected: BTreeMap<&str, usize> = [
        ("already_invited", 100),
        ("already_member", 100),
        ("created", 100),
    ]
    .into();
    assert_eq!(outcomes(first), expected);
    for (i, item) in first.iter().enumerate() {
        let invitation = item.outcome.as_ref().unwrap().invitation();
        match i % 3 {
            0 => assert!(item.sent && invitation.is_some(), "{item:?}"),
            1 => {
                // Answered from the snapshot, with the invitation it shows.
                assert!(!item.sent, "{item:?}");
                let email = invitation.and_then(|i| i.email.clone());
                assert_eq!(email.as_deref(), item.request.invitee.as_email());
            }
            _ => assert!(!item.sent && invitation.is_none(), "{item:?}"),
        }
    }
    let expected: BTreeMap<&str, usize> =
        [("already_invited", 200), ("already_member", 100)].into();
    assert_eq!(outcomes(again), expected);
    assert!(again.iter().all(|item| !item.sent));
}

#[tokio::test]
async fn a_github_run_sends_only_the_creates_that_count_and_a_rerun_sends_none() {
    let (fake, github) = Sandbox::github().await;
    fake.seed_invitations("acme", 500);
    for i in 0..100 {
        fake.add(
            FakeMember::new("acme")
                .login(format!("Member{i}"))
                .user_id((5000 + i).to_string()),
        );
    }
    let rows = rows("acme", |i| Invitee::login(format!("member{i}")));

    // The snapshot alone: the pending invitations 100 a page, the failed ones, the members.
    let snapshot = github.snapshot("acme").await.unwrap();
    assert_eq!(
        (snapshot.pending_count(), snapshot.member_count()),
        (500, 100)
    );
    assert!(matches!(
        snapshot.presence(&Invitee::login("MEMBER7")),
        Presence::Member(_)
    ));
    let pages = kinds(&[
        ("GET invitations", 5),
        ("GET failed_invitations", 1),
        ("GET members", 1),
    ]);
    assert_eq!(tally(&fake).await, pages);

    let first = run(&github, rows.clone()).await;
    let after_first = tally(&fake).await;
    let again = run(&github, rows).await;
    check(&first, &again);
    // The run: its snapshot (7 pages) and exactly the 100 creates that count; no lookup of a
    // login, no create the vendor refuses.
    let run_only: BTreeMap<String, usize> = after_first
        .iter()
        .map(|(kind, n)| (kind.clone(), n - pages.get(kind).copied().unwrap_or(0)))
        .collect();
    let mut expected = pages.clone();
    expected.insert("POST invitations".into(), 100);
    assert_eq!(run_only, expected);
    assert!(run_only.values().sum::<usize>() <= 110);
    // Again, without a journal: 600 pending invitations, 6 pages; nothing created.
    let rerun: usize =
        tally(&fake).await.values().sum::<usize>() - after_first.values().sum::<usize>();
    assert_eq!(rerun, 8);
    assert_eq!(fake.invitations().len(), 600);
}

#[tokio::test]
async fn a_clerk_run_reads_500_a_page_and_creates_in_batches_of_ten() {
    let (fake, clerk) = Sandbox::clerk().await;
    fake.seed_invitations("org_sandbox", 500);
    for i in 0..100 {
        fake.add_member("org_sandbox", format!("member{i}@example.com"));
    }
    let rows = rows("org_sandbox", |i| {
        Invitee::email(format!("Member{i}@example.com"))
    });
    let first = run(&clerk, rows.clone()).await;
    assert_eq!(
        tally(&fake).await,
        kinds(&[
            ("GET invitations", 1),
            ("GET memberships", 1),
            ("POST bulk", 10)
        ])
    );
    let again = run(&clerk, rows).await;
    check(&first, &again);
    // 600 pending invitations now: two pages of 500; no create.
    assert_eq!(
        tally(&fake).await,
        kinds(&[
            ("GET invitations", 3),
            ("GET memberships", 2),
            ("POST bulk", 10)
        ])
    );
    assert_eq!(fake.invitations().len(), 600);
}

#[tokio::test]
async fn an_elastic_cloud_run_reads_each_list_once_and_creates_in_one_batch() {
    let (fake, elastic) = Sandbox::elastic().await;
    fake.seed_invitations("sandbox-org", 500);
    for i in 0..100 {
        fake.add_member("sandbox-org", format!("member{i}@example.com"));
    }
    let rows = rows("sandbox-org", |i| {
        Invitee::email(format!("member{i}@example.com"))
    });
    let first = run(&elastic, rows.clone()).await;
    assert_eq!(
        tally(&fake).await,
        kinds(&[
            ("GET invitations", 1),
            ("GET members", 1),
            ("POST invitations", 1)
        ])
    );
    let again = run(&elastic, rows).await;
    check(&first, &again);
    assert_eq!(
        tally(&fake).await,
        kinds(&[
            ("GET invitations", 2),
            ("GET members", 2),
            ("POST invitations", 1)
        ])
    );
}

#[tokio::test]
async fn a_snapshot_tells_members_invited_lapsed_and_absent_on_every_vendor() {
    let (github_fake, github) = Sandbox::github().await;
    let (clerk_fake, clerk) = Sandbox::clerk().await;
    let (elastic_fake, elastic) = Sandbox::elastic().await;
    github_fake.add(FakeMember::new("acme").login("octocat").user_id("583231"));
    github_fake.add_member("acme", "hidden@example.com");
    clerk_fake.add(
        FakeMember::new("org_sandbox")
            .email("ada@example.com")
            .user_id("user_2ada")
            .role("org:admin"),
    );
    elastic_fake.add(
        FakeMember::new("sandbox-org")
            .email("ada@example.com")
            .user_id("4242"),
    );
    type Invite<'f> = Box<dyn Fn(&str) -> String + 'f>;
    let cases: [(&dyn Provider, &str, Invite<'_>); 3] = [
        (
            &github,
            "acme",
            Box::new(|email: &str| github_fake.add_invitation("acme", email)),
        ),
        (
            &clerk,
            "org_sandbox",
            Box::new(|email: &str| clerk_fake.add_invitation("org_sandbox", email)),
        ),
        (
            &elastic,
            "sandbox-org",
            Box::new(|email: &str| elastic_fake.add_invitation("sandbox-org", email)),
        ),
    ];
    for (provider, org, invite) in &cases {
        let kind = provider.kind();
        let pending = invite("Pending@Example.com");
        let lapsed = invite("lapsed@example.com");
        let status = orginvite::InvitationStatus::Expired;
        match kind {
            orginvite::ProviderKind::GitHub => github_fake.set_invitation_status(&lapsed, status),
            orginvite::ProviderKind::Clerk => clerk_fake.set_invitation_status(&lapsed, status),
            _ => elastic_fake.set_invitation_status(&lapsed, status),
        };
        let snapshot = provider.snapshot(org).await.unwrap();
        assert_eq!((snapshot.provider(), snapshot.organization()), (kind, *org));
        match snapshot.presence(&Invitee::email("pending@example.COM")) {
            Presence::Invited(invitation) => assert_eq!(invitation.id, pending, "{kind}"),
            other => panic!("{kind}: {other:?}"),
        }
        let new = snapshot.presence(&Invitee::email("new@example.com"));
        let lapsed_presence = snapshot.presence(&Invitee::email("lapsed@example.com"));
        match lapsed_presence {
            Presence::Lapsed(invitation) => assert_eq!(invitation.id, lapsed, "{kind}"),
            other => panic!("{kind}: {other:?}"),
        }
        if kind == orginvite::ProviderKind::GitHub {
            // Members' emails are hidden: anyone not invited by email may be one.
            assert_eq!(new, Presence::Unknown);
            let octocat = snapshot.member(&Invitee::user_id("583231")).unwrap();
            assert_eq!(octocat.login.as_deref(), Some("octocat"));
            assert_eq!(snapshot.member_count(), 2);
        } else {
            assert_eq!(new, Presence::Absent, "{kind}");
            let ada = snapshot.member(&Invitee::email("ADA@example.com")).unwrap();
            let expected_id = if kind == orginvite::ProviderKind::Clerk {
                "user_2ada"
            } else {
                "4242"
            };
            assert_eq!(ada.user_id.as_deref(), Some(expected_id), "{kind}");
            if kind == orginvite::ProviderKind::Clerk {
                assert_eq!(ada.role, Some(Role::Admin));
            }
        }
        assert_eq!(snapshot.pending_count(), 1, "{kind}");
    }
    // GitHub: invitations 100 a page, failed ones, members 100 a page.
    let github_paths: Vec<String> = github_fake
        .requests()
        .await
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .map(|r| format!("{}?{}", r.url.path(), r.url.query().unwrap_or_default()))
        .collect();
    assert_eq!(
        github_paths,
        [
            "/orgs/acme/invitations?per_page=100",
            "/orgs/acme/failed_invitations?per_page=100",
            "/orgs/acme/members?per_page=100"
        ]
    );
    let clerk_paths: Vec<String> = clerk_fake
        .requests()
        .await
        .iter()
        .map(|r| format!("{}?{}", r.url.path(), r.url.query().unwrap_or_default()))
        .collect();
    assert_eq!(
        clerk_paths,
        [
            "/v1/organizations/org_sandbox/invitations?limit=500&offset=0&status=pending&status=expired",
            "/v1/organizations/org_sandbox/memberships?limit=500&offset=0"
        ]
    );
}

/// 1,000 `ensure_invited` calls, 32 at a time, a fifth of the creates ending in doubt after
/// they acted, on a fake that would accept a repeated invitation: every invitation exists
/// exactly once, and the lookups after the doubts share their reads.
async fn shared_lookups<V>(fake: &FakeServer<V>, provider: &dyn Provider, org: &str) {
    fake.accept_repeats(true).chaos_on_creates(
        0.2,
        [Fault::CreatedThenServerError, Fault::CreatedThenDrop],
        11,
    );
    let results: Vec<(String, Result<Ensured, orginvite::Error>)> =
        futures_util::stream::iter(0..1000)
            .map(|i| async move {
                let email = format!("soak{i}@example.com");
                let request = CreateInvitation::email(org, email.clone());
                (email, provider.ensure_invited(&request).await)
            })
            .buffer_unordered(32)
            .collect()
            .await;
    fake.chaos(0.0, [], 0);
    let mut held: BTreeMap<String, usize> = BTreeMap::new();
    for invitation in fake.invitations() {
        *held.entry(invitation.email.unwrap()).or_default() += 1;
    }
    assert_eq!(held.len(), 1000);
    assert!(
        held.values().all(|n| *n == 1),
        "{}: a duplicate",
        provider.kind()
    );
    let doubtful = results
        .iter()
        .filter(|(_, result)| result.as_ref().is_ok_and(Ensured::reconciled))
        .count();
    assert!(results
        .iter()
        .all(|(_, result)| result.as_ref().is_ok_and(Ensured::created)));
    let requests = fake.requests().await;
    let lists = requests
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .count();
    let creates = requests
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    println!(
        "{}: {creates} creates, {doubtful} in doubt, settled with {lists} list requests",
        provider.kind()
    );
    assert_eq!(creates, 1000, "{}: no create sent twice", provider.kind());
    assert!(doubtful >= 150, "{}: {doubtful}", provider.kind());
    assert!(
        lists * 2 <= doubtful,
        "{}: {lists} lists for {doubtful} creates in doubt",
        provider.kind()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_after_creates_in_doubt_share_their_reads() {
    let (clerk_fake, _) = Sandbox::clerk().await;
    let clerk = clerk_fake
        .client_builder()
        .pacing(Pacing::off())
        .timeout(Some(Duration::from_secs(5)))
        .build()
        .unwrap();
    let (elastic_fake, _) = Sandbox::elastic().await;
    let elastic = elastic_fake
        .client_builder()
        .pacing(Pacing::off())
        .timeout(Some(Duration::from_secs(5)))
        .build()
        .unwrap();
    shared_lookups(&clerk_fake, &clerk, "org_sandbox").await;
    shared_lookups(&elastic_fake, &elastic, "sandbox-org").await;
}
