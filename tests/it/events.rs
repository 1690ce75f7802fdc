//! Invitation events end to end on the fakes: three people invited, one accepts, one is
//! revoked, one lets the invitation expire. The webhook receiver and the polling stream each
//! yield exactly what the vendor tells, once; a redelivery is dropped.

use orginvite::events::{Deduplicator, EventCursor, InvitationEvent};
use orginvite::testkit::{FakeServer, Sandbox};
use orginvite::{clerk, github, CreateInvitation, Invitation, Provider, SecretString};
use reqwest::header::HeaderMap;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A receiver that answers 200 to everything; the test reads what it got.
async fn receiver() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

/// An event as the tests compare it: kind and who.
fn brief(event: &InvitationEvent) -> String {
    format!("{} {}", event.kind, event.who())
}

/// What the receiver got, verified and decoded by `receive`, each delivery id once.
async fn received(
    receiver: &MockServer,
    dedupe: &Deduplicator,
    receive: impl Fn(&HeaderMap, &[u8]) -> Option<InvitationEvent>,
) -> Vec<InvitationEvent> {
    let mut events = Vec::new();
    for request in receiver.received_requests().await.unwrap() {
        let Some(event) = receive(&request.headers, &request.body) else {
            continue;
        };
        if dedupe.first_time(event.delivery_id.as_deref().unwrap()) {
            events.push(event);
        }
    }
    events
}

#[tokio::test]
async fn github_webhooks_and_polling_tell_the_same_story_as_far_as_each_can() {
    let (fake, client) = Sandbox::github().await;
    let org = fake.organization().to_owned();
    let hooks = receiver().await;
    let secret = "It's a Secret to Everybody";
    fake.deliver_webhooks_to(format!("{}/hooks", hooks.uri()), secret);
    let mut cursor = EventCursor::new();
    assert!(client
        .poll_events(&org, &mut cursor)
        .await
        .unwrap()
        .is_empty());

    // By user id: GitHub links the new member to the invitation by login.
    let accepts = client
        .create_invitation(&CreateInvitation::user_id(&org, "4242"))
        .await
        .unwrap();
    let revoked = invite(&client, &org, "bo@example.com").await;
    let expires = invite(&client, &org, "cy@example.com").await;
    let polled = client.poll_events(&org, &mut cursor).await.unwrap();
    assert_eq!(
        polled.iter().map(brief).collect::<Vec<_>>(),
        [
            "invited user4242",
            "invited bo@example.com",
            "invited cy@example.com"
        ]
    );

    assert!(fake.accept(&accepts.id));
    client.cancel_invitation(&org, &revoked.id).await.unwrap();
    assert!(fake.expire(&expires.id));
    let before = fake.requests().await.len();
    let polled = client.poll_events(&org, &mut cursor).await.unwrap();
    assert_eq!(
        polled.iter().map(brief).collect::<Vec<_>>(),
        // GitHub lists an expired invitation among its failed ones.
        ["failed cy@example.com", "accepted user4242"]
    );
    assert_eq!(polled[1].user_id.as_deref(), Some("4242"));
    assert_eq!(
        polled[1].invitation_id.as_deref(),
        Some(accepts.id.as_str())
    );
    // One poll is one snapshot: a page of invitations, of failed ones, of members.
    let reads: Vec<String> = fake.requests().await[before..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(
        reads,
        [
            format!("GET /orgs/{org}/invitations"),
            format!("GET /orgs/{org}/failed_invitations"),
            format!("GET /orgs/{org}/members"),
        ]
    );
    // The cancelled invitation, gone from a second snapshot in a row, with nobody new:
    // revoked. Saved and read back after a restart: nothing replayed.
    let polled = client.poll_events(&org, &mut cursor).await.unwrap();
    assert_eq!(
        polled.iter().map(brief).collect::<Vec<_>>(),
        ["revoked bo@example.com"]
    );
    let saved = serde_json::to_string(&cursor).unwrap();
    let mut restarted: EventCursor = serde_json::from_str(&saved).unwrap();
    assert!(client
        .poll_events(&org, &mut restarted)
        .await
        .unwrap()
        .is_empty());

    // The webhooks: three invitations and one member added; GitHub has no action for a
    // cancelled or expired invitation.
    let deliveries = fake.webhook_deliveries().await;
    assert_eq!(deliveries.len(), 4);
    assert!(deliveries.iter().all(|d| d.answered == Some(200)));
    let member_added = &deliveries[3];
    assert!(fake.redeliver(&member_added.id));
    assert_eq!(fake.webhook_deliveries().await.len(), 5);
    let secrets = vec![SecretString::from(secret)];
    let dedupe = Deduplicator::new(100);
    let events = received(&hooks, &dedupe, |headers, body| {
        github::receive_webhook(headers, body, &secrets).unwrap()
    })
    .await;
    assert_eq!(hooks.received_requests().await.unwrap().len(), 5);
    assert_eq!(
        events.iter().map(brief).collect::<Vec<_>>(),
        [
            "invited user4242",
            "invited bo@example.com",
            "invited cy@example.com",
            "member_added user4242"
        ]
    );
    assert_eq!(
        events[0].invitation_id.as_deref(),
        Some(accepts.id.as_str())
    );
    assert_eq!(events[3].user_id.as_deref(), Some("4242"));
    let paths: Vec<String> = hooks
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert!(paths.iter().all(|p| p == "POST /hooks"));
}

async fn invite(client: &dyn Provider, org: &str, email: &str) -> Invitation {
    client
        .create_invitation(&CreateInvitation::email(org, email))
        .await
        .unwrap()
}

/// Invites three people, polls, then one accepts, one is revoked, one's invitation expires,
/// and polls again: the events of both polls, and the requests of the second.
async fn polling_story<V>(
    fake: &FakeServer<V>,
    client: &dyn Provider,
) -> (Vec<String>, Vec<String>, Vec<Invitation>) {
    let org = fake.organization().to_owned();
    let mut cursor = EventCursor::new();
    assert!(client
        .poll_events(&org, &mut cursor)
        .await
        .unwrap()
        .is_empty());
    let mut invited = Vec::new();
    for email in ["al@example.com", "bo@example.com", "cy@example.com"] {
        invited.push(invite(client, &org, email).await);
    }
    let first = client.poll_events(&org, &mut cursor).await.unwrap();
    assert!(fake.accept(&invited[0].id));
    client
        .cancel_invitation(&org, &invited[1].id)
        .await
        .unwrap();
    assert!(fake.expire(&invited[2].id));
    let before = fake.requests().await.len();
    let second = client.poll_events(&org, &mut cursor).await.unwrap();
    let reads = fake.requests().await[before..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    // The revoked invitation, gone from a second snapshot in a row: reported now, also from
    // the cursor saved and read back after a restart.
    let saved = serde_json::to_string(&cursor).unwrap();
    let third = client.poll_events(&org, &mut cursor).await.unwrap();
    let mut restarted: EventCursor = serde_json::from_str(&saved).unwrap();
    assert_eq!(
        client.poll_events(&org, &mut restarted).await.unwrap(),
        third
    );
    // Again: nothing new.
    assert!(client
        .poll_events(&org, &mut cursor)
        .await
        .unwrap()
        .is_empty());
    // Each poll's events in the order the vendor listed them (Clerk newest first): compared
    // as sets of each poll.
    let sorted = |events: &[InvitationEvent]| {
        let mut briefs: Vec<String> = events.iter().map(brief).collect();
        briefs.sort();
        briefs
    };
    let events = [first, second, third]
        .iter()
        .flat_map(|poll| sorted(poll))
        .collect();
    (events, reads, invited)
}

const STORY: [&str; 6] = [
    "invited al@example.com",
    "invited bo@example.com",
    "invited cy@example.com",
    "accepted al@example.com",
    "expired cy@example.com",
    "revoked bo@example.com",
];

#[tokio::test]
async fn clerk_webhooks_and_polling_each_yield_the_events_once() {
    let (fake, client) = Sandbox::clerk().await;
    let org = fake.organization().to_owned();
    let hooks = receiver().await;
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    fake.deliver_webhooks_to(hooks.uri(), secret);

    let (polled, reads, invited) = polling_story(&fake, &client).await;
    assert_eq!(polled, STORY);
    assert_eq!(
        reads,
        [
            format!("GET /v1/organizations/{org}/invitations"),
            format!("GET /v1/organizations/{org}/memberships"),
        ]
    );

    let now = fake.clock().now();
    let secrets = vec![SecretString::from(secret)];
    let dedupe = Deduplicator::new(100);
    let deliveries = fake.webhook_deliveries().await;
    assert_eq!(deliveries.len(), 6);
    assert!(deliveries.iter().all(|d| d.answered == Some(200)));
    assert!(fake.redeliver(&deliveries[3].id));
    fake.webhook_deliveries().await;
    let events = received(&hooks, &dedupe, |headers, body| {
        clerk::receive_webhook(headers, body, &secrets, now).unwrap()
    })
    .await;
    assert_eq!(hooks.received_requests().await.unwrap().len(), 7);
    // Clerk tells of no expiry.
    assert_eq!(
        events.iter().map(brief).collect::<Vec<_>>(),
        [
            "invited al@example.com",
            "invited bo@example.com",
            "invited cy@example.com",
            "accepted al@example.com",
            "member_added al@example.com",
            "revoked bo@example.com",
        ]
    );
    assert_eq!(
        events[0].invitation_id.as_deref(),
        Some(invited[0].id.as_str())
    );
    assert_eq!(events[3].user_id, events[4].user_id);
    assert!(events[3].user_id.is_some());
}

#[tokio::test]
async fn elastic_cloud_is_polled_for_every_event() {
    let (fake, client) = Sandbox::elastic().await;
    let org = fake.organization().to_owned();
    let (polled, reads, _) = polling_story(&fake, &client).await;
    assert_eq!(polled, STORY);
    assert_eq!(
        reads,
        [
            format!("GET /api/v1/organizations/{org}/invitations"),
            format!("GET /api/v1/organizations/{org}/members"),
        ]
    );
}
