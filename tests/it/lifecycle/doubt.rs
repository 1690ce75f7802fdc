//! `invite_all` when answers are in doubt or doom the rest: what each member of a batch
//! becomes, and exactly which requests reach the vendor.

use orginvite::testkit::{Fault, Sandbox};
use orginvite::{BulkOptions, CreateInvitation, Ensured, Error, ErrorKind};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::common::clerk::{clerk, clerk_error, ORG};
use crate::lifecycle::run;

/// Each request as `METHOD /path`.
fn calls(requests: &[wiremock::Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}

fn people(organization: &str, range: std::ops::Range<usize>) -> Vec<CreateInvitation> {
    range
        .map(|i| CreateInvitation::email(organization, format!("p{i}@example.com")))
        .collect()
}

/// One by one, without the snapshot before the run: the requests of these tests are the
/// batch's and its lookups' only.
fn one_by_one() -> BulkOptions {
    BulkOptions::default().concurrency(1).precheck(false)
}

#[tokio::test]
async fn a_member_its_batch_created_is_created_and_sent_at_most_once_after_the_batch() {
    let (fake, clerk) = Sandbox::clerk().await;
    // The bulk call creates its three and the connection drops; every lookup of the window
    // trails the write, so each member is sent alone and hears "already invited".
    fake.inject(Fault::CreatedThenDrop);
    for _ in 0..3 {
        fake.inject(Fault::ListLag(std::time::Duration::from_secs(60)));
    }
    let items = run(&clerk, people("org_sandbox", 0..3), one_by_one()).await;
    let held = fake.invitations();
    assert_eq!(held.len(), 3, "{held:?}");
    for (item, invitation) in items.iter().zip(&held) {
        match &item.outcome {
            Ok(Ensured::Created {
                invitation: found,
                reconciled: true,
                ..
            }) => assert_eq!(found.id, invitation.id, "{item:?}"),
            other => panic!("{}: {other:?}", item.index),
        }
        assert!(item.sent && !item.skipped);
    }
    let received = calls(&fake.requests().await);
    let list = "GET /v1/organizations/org_sandbox/invitations";
    let create = "POST /v1/organizations/org_sandbox/invitations";
    let mut expected = vec![
        format!("{create}/bulk"),
        list.into(),
        list.into(),
        list.into(),
    ];
    for _ in 0..3 {
        // Alone once, then the lookup of the invitation it heard about.
        expected.extend([create.to_owned(), list.to_owned()]);
    }
    assert_eq!(received, expected);
}

#[tokio::test]
async fn a_batch_of_ten_in_doubt_is_settled_with_the_windows_reads_not_one_per_member() {
    let (fake, clerk) = Sandbox::clerk().await;
    let (elastic_fake, elastic) = Sandbox::elastic().await;
    fake.seed_invitations("org_sandbox", 1200);
    elastic_fake.seed_invitations("sandbox-org", 300);
    // An hour later: a read newest first stops at the seeds.
    {
        use orginvite::sleep::Sleeper;
        fake.virtual_clock()
            .unwrap()
            .sleep(std::time::Duration::from_secs(3600))
            .await;
    }
    // Clerk: the bulk call ends in a 500 after acting, and the first two reads trail it.
    fake.inject(Fault::CreatedThenServerError)
        .inject(Fault::ListLag(std::time::Duration::from_secs(4)))
        .inject(Fault::ListLag(std::time::Duration::from_secs(4)));
    let items = run(&clerk, people("org_sandbox", 0..10), one_by_one()).await;
    assert!(
        items
            .iter()
            .all(|i| i.outcome.as_ref().is_ok_and(Ensured::reconciled)),
        "{items:?}"
    );
    let received = calls(&fake.requests().await);
    let list = "GET /v1/organizations/org_sandbox/invitations";
    // One bulk call, then the window's three reads: one page each, newest first, however
    // many invitations the organization holds.
    assert_eq!(
        received,
        [
            "POST /v1/organizations/org_sandbox/invitations/bulk",
            list,
            list,
            list
        ]
    );
    let newest_first = fake.requests().await[1]
        .url
        .query_pairs()
        .any(|(k, v)| k == "order_by" && v == "-created_at");
    assert!(newest_first);

    // Elastic Cloud: its list is the whole organization; one read settles all ten.
    elastic_fake.inject(Fault::CreatedThenDrop);
    let items = run(&elastic, people("sandbox-org", 0..10), one_by_one()).await;
    assert!(
        items
            .iter()
            .all(|i| i.outcome.as_ref().is_ok_and(Ensured::reconciled)),
        "{items:?}"
    );
    assert_eq!(
        calls(&elastic_fake.requests().await),
        [
            "POST /api/v1/organizations/sandbox-org/invitations",
            "GET /api/v1/organizations/sandbox-org/invitations"
        ]
    );
    assert_eq!(elastic_fake.invitations().len(), 310);
}

#[tokio::test]
async fn nothing_is_sent_after_a_refused_credential_answers_a_lookup() {
    // A bulk call ends in doubt; the credential is refused by the first lookup.
    let (fake, clerk) = Sandbox::clerk().await;
    fake.inject(Fault::CreatedThenServerError)
        .revoke_token_after(1);
    let items = run(&clerk, people("org_sandbox", 0..20), one_by_one()).await;
    assert_eq!(
        calls(&fake.requests().await),
        [
            "POST /v1/organizations/org_sandbox/invitations/bulk",
            "GET /v1/organizations/org_sandbox/invitations"
        ]
    );
    for item in &items[..10] {
        // Still in doubt: sent, and the create's own error.
        let error = item.outcome.as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ServerError, "{item:?}");
        assert!(error.may_have_been_created() && item.sent && !item.skipped);
    }
    for item in &items[10..] {
        assert!(item.skipped && !item.sent, "{item:?}");
        let error = item.outcome.as_ref().unwrap_err();
        assert!(matches!(error, Error::Skipped { .. }), "{error:?}");
        assert_eq!(error.kind(), ErrorKind::Unauthenticated);
    }

    // Without batches: a single create in doubt, the same refusal on its lookup.
    let (fake, github) = Sandbox::github().await;
    fake.inject(Fault::CreatedThenServerError)
        .revoke_token_after(1);
    let items = run(&github, people("acme", 0..3), one_by_one()).await;
    assert_eq!(
        calls(&fake.requests().await),
        ["POST /orgs/acme/invitations", "GET /orgs/acme/invitations"]
    );
    assert!(items[0]
        .outcome
        .as_ref()
        .unwrap_err()
        .may_have_been_created());
    for item in &items[1..] {
        assert!(item.skipped && !item.sent, "{item:?}");
        let error = item.outcome.as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Unauthenticated);
    }
}

#[tokio::test]
async fn a_bulk_call_refused_with_403_is_that_answer_for_every_member_and_stops_the_organization() {
    let server = MockServer::start().await;
    let bulk = format!("/v1/organizations/{ORG}/invitations/bulk");
    Mock::given(method("POST"))
        .and(path(bulk.as_str()))
        .respond_with(clerk_error(
            403,
            "authorization_invalid",
            "Unauthorized request",
            "You are not authorized to perform this request",
        ))
        .mount(&server)
        .await;
    let (clerk, _) = clerk(&server);
    let items = run(&clerk, people(ORG, 0..15), one_by_one()).await;
    let requests = server.received_requests().await.unwrap();
    assert_eq!(calls(&requests), [format!("POST {bulk}")]);
    for item in &items[..10] {
        // Its call was sent: refused, not skipped.
        let error = item.outcome.as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{item:?}");
        assert!(matches!(error, Error::Api(_)), "{error:?}");
        assert!(item.sent && !item.skipped, "{item:?}");
    }
    for item in &items[10..] {
        let error = item.outcome.as_ref().unwrap_err();
        assert!(matches!(error, Error::Skipped { .. }), "{error:?}");
        assert_eq!(error.kind(), ErrorKind::PermissionDenied);
        assert!(item.skipped && !item.sent, "{item:?}");
    }
}
