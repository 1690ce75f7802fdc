//! `invite_all`: per-item outcomes, duplicates, early stop, deadlines, and the vendors' batch
//! endpoints, against the sandbox fakes.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use orginvite::testkit::{FakeServer, Sandbox};

use crate::lifecycle::run;
use orginvite::{
    BulkItem, BulkOptions, CreateInvitation, Ensured, Error, ErrorKind, InvitationStatus, Provider,
};

/// The input of the half-way-revoked run: people, duplicates, members, addresses the vendor
/// refuses and addresses refused before sending.
fn requests(org: &str, n: usize) -> Vec<CreateInvitation> {
    (0..n)
        .map(|i| {
            let email = if i % 50 == 49 {
                format!("not-an-email-{i}")
            } else if i % 33 == 32 {
                format!("p{i}@example.invalid")
            } else if i % 25 == 24 {
                format!("member{i}@example.com")
            } else if i % 10 == 9 {
                // The same person as five requests before, in another case.
                format!("P{}@Example.com", i - 5)
            } else {
                format!("p{i}@example.com")
            };
            CreateInvitation::email(org, email)
        })
        .collect()
}

/// What a fake holds per email (lower case): pending invitations.
fn held<V>(fake: &FakeServer<V>) -> HashMap<String, usize> {
    let mut held = HashMap::new();
    for invitation in fake.invitations() {
        if invitation.status == InvitationStatus::Pending {
            *held
                .entry(invitation.email.unwrap().to_lowercase())
                .or_default() += 1;
        }
    }
    held
}

fn person(item: &BulkItem) -> String {
    item.request.invitee.as_email().unwrap().to_lowercase()
}

/// Checks every item of a run against what the fake holds.
fn check(
    items: &[BulkItem],
    held: &HashMap<String, usize>,
    in_flight: usize,
    kind: &str,
) -> (usize, usize) {
    let (mut refused_401, mut skipped) = (0, 0);
    for item in items {
        let email = item.request.invitee.as_email().unwrap().to_lowercase();
        let holds = held.get(&email).copied().unwrap_or(0);
        assert!(holds <= 1, "{kind}: a duplicate for {email}");
        if let Some(first) = item.duplicate_of {
            // The same person, asked for earlier: never sent on its own.
            assert_eq!(first, item.index - 5, "{kind}");
            assert_eq!(person(&items[first]), person(item), "{kind}");
            continue;
        }
        match &item.outcome {
            Ok(Ensured::Created { invitation, .. }) => {
                assert_eq!(holds, 1, "{kind}: created {email} is held");
                assert_eq!(
                    invitation.email.as_deref().map(str::to_lowercase),
                    Some(email.clone())
                );
            }
            Ok(Ensured::AlreadyMember) => assert!(email.starts_with("member"), "{kind} {email}"),
            Ok(other) => panic!("{kind} {email}: {other:?}"),
            Err(error) if item.skipped => {
                skipped += 1;
                assert!(matches!(error, Error::Skipped { .. }), "{kind}: {error:?}");
                assert_eq!(error.kind(), ErrorKind::Unauthenticated, "{kind}");
                assert_eq!(holds, 0);
            }
            Err(error) => {
                assert_eq!(holds, 0, "{kind} {email}: {error}");
                match error.kind() {
                    ErrorKind::InvalidRequest => assert!(email.starts_with("not-an-email")),
                    ErrorKind::InvalidEmail => assert!(email.ends_with(".invalid")),
                    ErrorKind::Unauthenticated => refused_401 += 1,
                    other => panic!("{kind} {email}: {other}: {error}"),
                }
            }
        }
    }
    assert!(
        refused_401 >= 1 && refused_401 <= in_flight,
        "{kind}: {refused_401} people refused after the revocation"
    );
    (refused_401, skipped)
}

#[tokio::test]
async fn a_credential_revoked_half_way_stops_every_vendor_with_exact_outcomes() {
    let concurrency = 4;
    let options = BulkOptions::default()
        .precheck(false)
        .concurrency(concurrency);
    let (github_fake, github) = Sandbox::github().await;
    let (clerk_fake, clerk) = Sandbox::clerk().await;
    let (elastic_fake, elastic) = Sandbox::elastic().await;
    for (n, fake_org) in [(0, "acme"), (1, "org_sandbox"), (2, "sandbox-org")] {
        for i in (24..1000).step_by(25) {
            let email = format!("member{i}@example.com");
            match n {
                0 => drop(github_fake.add_member(fake_org, email)),
                1 => drop(clerk_fake.add_member(fake_org, email)),
                _ => drop(elastic_fake.add_member(fake_org, email)),
            }
        }
    }

    // GitHub: one request per person, one at a time.
    github_fake.revoke_token_after(400);
    let items = run(&github, requests("acme", 1000), options.clone()).await;
    assert_eq!(items.len(), 1000);
    // Every tenth request repeats an earlier person (not the members or refused addresses).
    let duplicates = items.iter().filter(|i| i.duplicate_of.is_some()).count();
    let special = |i: usize| i % 50 == 49 || i % 33 == 32 || i % 25 == 24;
    let expected = (0..1000)
        .filter(|&i| i % 10 == 9 && !special(i) && !special(i - 5))
        .count();
    assert_eq!(duplicates, expected);
    let (refused, skipped) = check(&items, &held(&github_fake), concurrency, "GitHub");
    let sent = github_fake.requests().await.len();
    assert_eq!(sent, 400 + refused, "nothing sent after the 401");
    assert_eq!(refused, 1, "GitHub's invitations go one at a time");
    assert!(skipped > 400, "{skipped}");

    // Clerk and Elastic Cloud: batches, with fallbacks for batches holding a member or an
    // address the vendor refuses.
    for (name, provider, fake_requests, fake_held, org) in [
        (
            "Clerk",
            &clerk as &dyn Provider,
            clerk_fake.requests().await.len(),
            0,
            "org_sandbox",
        ),
        (
            "Elastic Cloud",
            &elastic as &dyn Provider,
            elastic_fake.requests().await.len(),
            1,
            "sandbox-org",
        ),
    ] {
        assert_eq!(fake_requests, 0, "{name}: a fresh fake");
        if fake_held == 0 {
            clerk_fake.revoke_token_after(60);
        } else {
            elastic_fake.revoke_token_after(40);
        }
        let items = run(provider, requests(org, 1000), options.clone()).await;
        assert_eq!(items.len(), 1000);
        let holdings = if fake_held == 0 {
            held(&clerk_fake)
        } else {
            held(&elastic_fake)
        };
        // In flight when the refusal came: up to one batch per concurrent slot.
        let batch = if fake_held == 0 { 10 } else { 100 };
        let (refused, skipped) = check(&items, &holdings, concurrency * batch, name);
        let sent = if fake_held == 0 {
            clerk_fake.requests().await.len()
        } else {
            elastic_fake.requests().await.len()
        };
        let cap = if fake_held == 0 { 60 } else { 40 };
        assert!(
            sent <= cap + concurrency,
            "{name}: {sent} requests, nothing sent after the refusal"
        );
        assert!(skipped > 0, "{name}");
        let created = items
            .iter()
            .filter(|i| matches!(i.outcome, Ok(Ensured::Created { .. })))
            .count();
        println!("{name}: {created} created in {sent} requests before the revocation stopped the run; {refused} refused, {skipped} skipped");
    }
}

#[tokio::test]
async fn batches_carry_several_people_and_a_refused_batch_falls_back_to_single_requests() {
    let (fake, clerk) = Sandbox::clerk().await;
    fake.add_member("org_sandbox", "member@example.com");
    let mut input: Vec<CreateInvitation> = (0..25)
        .map(|i| CreateInvitation::email("org_sandbox", format!("p{i}@example.com")))
        .collect();
    // The third batch holds a member: Clerk refuses it whole, so its ten go alone.
    input[23] = CreateInvitation::email("org_sandbox", "member@example.com");
    let items = run(
        &clerk,
        input,
        BulkOptions::default().precheck(false).concurrency(1),
    )
    .await;
    let paths: Vec<String> = fake
        .requests()
        .await
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    let bulk = paths.iter().filter(|p| p.ends_with("/bulk")).count();
    let single = paths.len() - bulk;
    assert_eq!((bulk, single), (3, 5), "{paths:?}");
    assert!(matches!(items[23].outcome, Ok(Ensured::AlreadyMember)));
    assert_eq!(
        items
            .iter()
            .filter(|i| i.outcome.as_ref().is_ok_and(Ensured::created))
            .count(),
        24
    );
    assert_eq!(fake.invitations().len(), 24);

    let (fake, elastic) = Sandbox::elastic().await;
    let input: Vec<CreateInvitation> = (0..7)
        .map(|i| {
            let request = CreateInvitation::email("sandbox-org", format!("p{i}@example.com"));
            // Two roles: two batches.
            if i % 2 == 0 {
                request.role(orginvite::Role::Admin)
            } else {
                request
            }
        })
        .collect();
    let items = run(&elastic, input, BulkOptions::default().precheck(false)).await;
    assert!(items
        .iter()
        .all(|i| i.outcome.as_ref().is_ok_and(Ensured::created)));
    assert_eq!(fake.requests().await.len(), 2);
    // Off, one request per person.
    let input: Vec<CreateInvitation> = (7..10)
        .map(|i| CreateInvitation::email("sandbox-org", format!("p{i}@example.com")))
        .collect();
    run(
        &elastic,
        input,
        BulkOptions::default().precheck(false).batches(false),
    )
    .await;
    assert_eq!(fake.requests().await.len(), 5);
}

#[tokio::test]
async fn a_deadline_skips_what_the_pacing_cannot_send_in_time() {
    let (fake, clerk) = Sandbox::clerk().await;
    let input: Vec<CreateInvitation> = (0..300)
        .map(|i| CreateInvitation::email("org_sandbox", format!("p{i}@example.com")))
        .collect();
    let options = BulkOptions::default()
        .precheck(false)
        .batches(false)
        .deadline(Duration::from_secs(30 * 60));
    let items = run(&clerk, input, options).await;
    // Clerk's 250 an hour: the rest would start after the half-hour deadline.
    let created = items.iter().filter(|i| i.outcome.is_ok()).count();
    let skipped: Vec<&BulkItem> = items.iter().filter(|i| i.skipped).collect();
    assert_eq!((created, skipped.len()), (250, 50));
    assert!(skipped
        .iter()
        .all(|i| matches!(i.outcome, Err(Error::Throttled { .. }))));
    assert_eq!(fake.requests().await.len(), 250);
    assert_eq!(fake.rate_limited_count(), 0);
}

/// Invitations per hour on the virtual clock, after the first window's burst: Clerk allows
/// 250 creates an hour, and 50 bulk calls of 10.
#[tokio::test]
async fn throughput_at_clerks_documented_limits() {
    let hour = Duration::from_secs(3600);
    for (batches, expected) in [(false, 250.0), (true, 500.0)] {
        let (fake, clerk) = Sandbox::clerk().await;
        fake.rate_limit(250, hour).rate_limit_batches(50, hour);
        let n = 2000;
        let input: Vec<CreateInvitation> = (0..n)
            .map(|i| CreateInvitation::email("org_sandbox", format!("p{i}@example.com")))
            .collect();
        let clock = fake.virtual_clock().unwrap().clone();
        let start = orginvite::sleep::Sleeper::now(&clock);
        // One at a time: the shared virtual clock jumps a whole window at once, which would
        // move requests still in flight into the next window of the fake.
        let options = BulkOptions::default()
            .precheck(false)
            .batches(batches)
            .concurrency(1);
        let items = run(&clerk, input, options).await;
        let elapsed = orginvite::sleep::Sleeper::now(&clock)
            .duration_since(start)
            .unwrap();
        let failed: Vec<_> = items
            .iter()
            .filter(|i| i.outcome.is_err())
            .take(3)
            .collect();
        assert!(failed.is_empty(), "{failed:?}");
        assert_eq!(fake.invitations().len(), n);
        assert_eq!(
            fake.rate_limited_count(),
            0,
            "never above the vendor's limits"
        );
        let first_window = expected as usize;
        let per_hour = (n - first_window) as f64 / elapsed.as_secs_f64() * 3600.0;
        println!(
            "Clerk, {n} invitations, batches {}: {:.1} h on the virtual clock, {per_hour:.0} invitations per hour after the first window ({} requests)",
            if batches { "on" } else { "off" },
            elapsed.as_secs_f64() / 3600.0,
            fake.requests().await.len(),
        );
        assert!((per_hour - expected).abs() / expected < 0.01, "{per_hour}");
    }
}

#[tokio::test]
async fn a_batch_that_ended_in_doubt_is_settled_member_by_member() {
    use orginvite::testkit::Fault;
    let (fake, clerk) = Sandbox::clerk().await;
    let (elastic_fake, elastic) = Sandbox::elastic().await;
    for (provider, org) in [
        (&clerk as &dyn Provider, "org_sandbox"),
        (&elastic as &dyn Provider, "sandbox-org"),
    ] {
        let kind = provider.kind();
        for (n, fault) in [Fault::CreatedThenServerError, Fault::CreatedThenDrop]
            .into_iter()
            .enumerate()
        {
            if kind == orginvite::ProviderKind::Clerk {
                fake.inject(fault.clone());
            } else {
                elastic_fake.inject(fault.clone());
            }
            let input: Vec<CreateInvitation> = (0..5)
                .map(|i| CreateInvitation::email(org, format!("doubt{n}-{i}@example.com")))
                .collect();
            let items = run(provider, input, BulkOptions::default().precheck(false)).await;
            for item in &items {
                assert!(
                    matches!(
                        item.outcome,
                        Ok(Ensured::Created {
                            reconciled: true,
                            ..
                        })
                    ),
                    "{kind} {fault:?}: {item:?}"
                );
            }
        }
    }
    // Ten invitations each, every one once: the batch acted, the lookups found them.
    assert_eq!(fake.invitations().len(), 10);
    assert_eq!(elastic_fake.invitations().len(), 10);
    // One batch request each, then lookups only: no second create.
    let creates = fake
        .requests()
        .await
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(creates, 2);
}

#[tokio::test]
async fn a_stop_stays_within_its_organization_and_answers_about_one_request_stop_nothing() {
    let (fake, clerk) = Sandbox::clerk().await;
    fake.add_organization("org_other");
    let mut input = Vec::new();
    for i in 0..12 {
        // An unknown organization dooms its own requests only.
        input.push(CreateInvitation::email(
            "org_gone",
            format!("g{i}@example.com"),
        ));
        input.push(CreateInvitation::email(
            "org_other",
            format!("o{i}@example.com"),
        ));
    }
    // An unknown role is about one request: the others of its organization go on.
    input.push(
        CreateInvitation::email("org_other", "viewer@example.com")
            .role(orginvite::Role::Custom("org:viewer".into())),
    );
    input.push(CreateInvitation::email("org_other", "last@example.com"));
    let items = run(
        &clerk,
        input,
        BulkOptions::default()
            .precheck(false)
            .batches(false)
            .concurrency(1),
    )
    .await;
    let gone: Vec<&BulkItem> = items
        .iter()
        .filter(|i| i.request.organization == "org_gone")
        .collect();
    assert_eq!(
        gone[0].outcome.as_ref().unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(!gone[0].skipped);
    assert!(gone[1..].iter().all(|i| i.skipped), "{gone:?}");
    let other: Vec<&BulkItem> = items
        .iter()
        .filter(|i| i.request.organization == "org_other")
        .collect();
    assert_eq!(other.len(), 14);
    let created = other.iter().filter(|i| i.outcome.is_ok()).count();
    assert_eq!(created, 13, "{other:?}");
    let viewer = other
        .iter()
        .find(|i| i.request.invitee.as_email() == Some("viewer@example.com"))
        .unwrap();
    assert_eq!(
        viewer.outcome.as_ref().unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(!viewer.skipped);
    // One request for the unknown organization, one for each of the others.
    assert_eq!(fake.requests().await.len(), 1 + 14);
}

#[tokio::test]
async fn the_same_github_organization_in_another_case_is_the_same_organization() {
    let (fake, github) = Sandbox::github().await;
    fake.accept_repeats(true);
    let input = vec![
        CreateInvitation::email("acme", "jane@example.com"),
        CreateInvitation::email("ACME", "Jane@Example.com"),
    ];
    let items = run(&github, input, BulkOptions::default().precheck(false)).await;
    assert_eq!(items[1].duplicate_of, Some(0));
    assert_eq!(fake.invitations().len(), 1);
}

/// A clock whose waits never end: a request that has to wait for its turn waits until the
/// run is stopped, without taking real time in the test.
#[derive(Debug, Clone)]
struct Stuck(std::time::SystemTime);

impl orginvite::sleep::Sleeper for Stuck {
    fn sleep(&self, duration: Duration) -> orginvite::BoxFuture<'static, ()> {
        if duration.is_zero() {
            Box::pin(std::future::ready(()))
        } else {
            Box::pin(std::future::pending())
        }
    }

    fn now(&self) -> std::time::SystemTime {
        self.0
    }
}

/// Records what a run announces before sending, and refuses from the `refuse_from`-th
/// announcement on.
#[derive(Debug, Default)]
struct Announced {
    seen: std::sync::Mutex<Vec<Vec<usize>>>,
    refuse_from: Option<usize>,
}

impl orginvite::BulkObserver for Announced {
    fn sending<'a>(
        &'a self,
        indices: &'a [usize],
    ) -> orginvite::BoxFuture<'a, Result<(), Box<dyn std::error::Error + Send + Sync>>> {
        let mut seen = self.seen.lock().unwrap();
        seen.push(indices.to_vec());
        let refuse = self.refuse_from.is_some_and(|from| seen.len() > from);
        Box::pin(async move {
            if refuse {
                Err("the journal's disk is full".into())
            } else {
                Ok(())
            }
        })
    }
}

fn people(organization: &str, n: usize) -> Vec<CreateInvitation> {
    (0..n)
        .map(|i| CreateInvitation::email(organization, format!("p{i}@example.com")))
        .collect()
}

/// POSTs the fake received (creates).
async fn creates<V>(fake: &FakeServer<V>) -> usize {
    fake.requests()
        .await
        .iter()
        .filter(|request| request.method.as_str() == "POST")
        .count()
}

#[tokio::test]
async fn cancelling_a_run_abandons_the_requests_waiting_for_their_turn() {
    let fake = orginvite::testkit::FakeGitHub::start().await;
    let github = fake
        .client_builder()
        .sleeper(Stuck(
            std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        ))
        .build()
        .unwrap();
    let stop = orginvite::CancellationToken::new();
    let announced = std::sync::Arc::new(Announced::default());
    let options = BulkOptions::default()
        .precheck(false)
        .concurrency(4)
        .cancel_on(stop.clone())
        .observer(announced.clone());
    let mut stream = github.invite_all(people("acme", 6), options);
    // GitHub's pacing: one at a time, 1 s apart. The first goes at once; the next three wait
    // for their turn, on a clock whose waits never end.
    let first = stream.next().await.unwrap();
    assert_eq!(first.index, 0);
    assert!(
        matches!(first.outcome, Ok(Ensured::Created { .. })),
        "{first:?}"
    );
    stop.cancel();
    let rest: Vec<BulkItem> = tokio::time::timeout(Duration::from_secs(10), stream.collect())
        .await
        .expect("the waits are abandoned at once");
    assert_eq!(rest.len(), 5);
    assert!(first.sent);
    for item in &rest {
        assert!(item.skipped && !item.sent, "{item:?}");
        let error = item.outcome.as_ref().unwrap_err();
        assert!(matches!(error, Error::Cancelled { .. }), "{error:?}");
        assert_eq!(error.kind(), ErrorKind::Cancelled);
        assert!(error.nothing_sent());
    }
    // One create reached the vendor, and it alone was announced.
    assert_eq!(creates(&fake).await, 1);
    assert_eq!(fake.requests().await.len(), 1);
    assert_eq!(*announced.seen.lock().unwrap(), [vec![0]]);
    assert_eq!(fake.invitations().len(), 1);
}

#[tokio::test]
async fn an_observer_that_refuses_keeps_the_request_from_the_wire_and_stops_the_run() {
    let (fake, clerk) = Sandbox::clerk().await;
    let announced = std::sync::Arc::new(Announced {
        refuse_from: Some(1),
        ..Announced::default()
    });
    // Twelve people: a bulk call of ten, then one of two. The first is announced and sent;
    // the second is refused by the observer, and nothing more goes out.
    let options = BulkOptions::default()
        .precheck(false)
        .concurrency(1)
        .observer(announced.clone());
    let items = run(&clerk, people("org_sandbox", 12), options).await;
    let created = items.iter().filter(|i| i.outcome.is_ok()).count();
    assert_eq!(created, 10);
    for item in &items[10..] {
        assert!(item.skipped, "{item:?}");
        let error = item.outcome.as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Cancelled);
        assert!(error.to_string().contains("disk is full"), "{error}");
    }
    assert_eq!(
        *announced.seen.lock().unwrap(),
        [(0..10).collect::<Vec<_>>(), vec![10, 11]]
    );
    let paths: Vec<String> = fake
        .requests()
        .await
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(
        paths,
        ["POST /v1/organizations/org_sandbox/invitations/bulk"]
    );
}

#[tokio::test]
async fn requests_an_earlier_run_may_have_sent_are_looked_up_before_anything_is_sent() {
    let (fake, github) = Sandbox::github().await;
    // p2 was invited by someone else long before the earlier run; p0 was created by the
    // earlier run; p1 was not sent after all; p3 is new to this run.
    fake.add_invitation("acme", "p2@example.com");
    {
        use orginvite::sleep::Sleeper;
        fake.virtual_clock()
            .unwrap()
            .sleep(Duration::from_secs(2 * 3600))
            .await;
    }
    let now = github_now(&fake);
    fake.add_invitation("acme", "p0@example.com");
    let options = BulkOptions::default()
        .precheck(false)
        .maybe_sent(0, now - Duration::from_secs(100))
        .maybe_sent(1, now - Duration::from_secs(3600))
        .maybe_sent(2, now - Duration::from_secs(60));
    // A later request for p1 marked as sent counts for p1 (the earliest time wins), and a
    // request by user id, which GitHub cannot look up, stays in doubt.
    let mut input = people("acme", 4);
    input.push(CreateInvitation::email("acme", "P1@example.com"));
    input.push(CreateInvitation::user_id("acme", "583231"));
    let options = options.maybe_sent(5, now - Duration::from_secs(10));
    let items = run(&github, input, options.concurrency(1)).await;
    let outcomes: Vec<&str> = items
        .iter()
        .map(|i| i.outcome.as_ref().map_or("error", Ensured::as_str))
        .collect();
    assert_eq!(
        outcomes,
        [
            "created",
            "created",
            "already_invited",
            "created",
            "created",
            "error"
        ]
    );
    assert_eq!(items[4].duplicate_of, Some(1));
    let unsettled = &items[5];
    assert_eq!(
        unsettled.outcome.as_ref().unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    assert!(!unsettled.skipped && !unsettled.sent, "{unsettled:?}");
    // What this run sent: p1 and p3, after their lookups.
    let sent: Vec<usize> = items.iter().filter(|i| i.sent).map(|i| i.index).collect();
    assert_eq!(sent, [1, 3, 4]);
    assert!(items[0].outcome.as_ref().unwrap().reconciled());
    assert!(!items[1].outcome.as_ref().unwrap().reconciled());
    // The windows of those in doubt are long past: one read of the pending invitations,
    // made once the run began, answers all three; then p1 and p3 were created. p0 and p2
    // were not sent again.
    let requests = fake.requests().await;
    let lists = requests
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .count();
    assert_eq!((lists, creates(&fake).await), (1, 2));
    assert_eq!(fake.invitations().len(), 4);
}

fn github_now(fake: &orginvite::testkit::FakeGitHub) -> std::time::SystemTime {
    use orginvite::sleep::Sleeper;
    fake.virtual_clock().unwrap().now()
}

/// A credential source whose token never comes.
#[derive(Debug)]
struct NeverReady;

impl orginvite::Credentials for NeverReady {
    fn token<'a>(
        &'a self,
        _organization: &'a str,
    ) -> orginvite::BoxFuture<'a, Result<orginvite::SecretString, Error>> {
        Box::pin(std::future::pending())
    }
}

#[tokio::test]
async fn cancelling_a_run_abandons_a_wait_for_the_credential() {
    let fake = orginvite::testkit::FakeClerk::start().await;
    let clerk = fake
        .client_builder()
        .credentials(NeverReady)
        .build()
        .unwrap();
    let stop = orginvite::CancellationToken::new();
    let options = BulkOptions::default()
        .precheck(false)
        .cancel_on(stop.clone());
    let mut stream = clerk.invite_all(people("org_sandbox", 3), options);
    let first = tokio::select! {
        item = stream.next() => panic!("nothing can finish without a credential: {item:?}"),
        () = tokio::time::sleep(Duration::from_millis(50)) => {
            stop.cancel();
            tokio::time::timeout(Duration::from_secs(10), stream.next()).await
        }
    };
    let first = first.expect("the wait is abandoned at once").unwrap();
    assert_eq!(first.outcome.unwrap_err().kind(), ErrorKind::Cancelled);
    let rest: Vec<BulkItem> = stream.collect().await;
    assert!(rest.iter().all(|item| item.skipped && !item.sent));
    assert!(fake.requests().await.is_empty());
}
