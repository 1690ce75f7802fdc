//! A webhook receiver: it verifies each delivery, drops the ones it has seen, and prints the
//! invitation events. The local fakes of GitHub and Clerk send it their signed deliveries as
//! people are invited, accept and are revoked; Elastic Cloud has no webhooks (poll it:
//! `Provider::poll_events`).
//!
//! ```text
//! cargo run --example webhooks --features webhooks
//! ```

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use orginvite::events::{Deduplicator, InvitationEvent};
use orginvite::testkit::Sandbox;
use orginvite::webhook::WebhookError;
use orginvite::{clerk, github, CreateInvitation, SecretString};

/// What the receiver knows: each vendor's signing secrets (several while one is rotated) and
/// the deliveries it has seen.
struct Receiver {
    github_secrets: Vec<SecretString>,
    clerk_secrets: Vec<SecretString>,
    seen: Deduplicator,
}

const GITHUB_SECRET: &str = "a secret shared with GitHub";
const CLERK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Answers a delivery: 2xx once it is handled (or was before), 4xx when it is refused.
fn answer(
    received: Result<Option<InvitationEvent>, WebhookError>,
    seen: &Deduplicator,
) -> StatusCode {
    match received {
        Ok(Some(event)) => {
            let delivery = event.delivery_id.as_deref().unwrap_or_default();
            if seen.first_time(delivery) {
                println!(
                    "{:<8} {:<14} {:<22} invitation {}",
                    event.provider.as_str(),
                    event.kind.as_str(),
                    event.who(),
                    event.invitation_id.as_deref().unwrap_or("-"),
                );
            } else {
                println!(
                    "{:<8} (delivery {delivery} again: dropped)",
                    event.provider.as_str()
                );
            }
            StatusCode::NO_CONTENT
        }
        // Another event (a push, a user created): nothing to do.
        Ok(None) => StatusCode::NO_CONTENT,
        Err(refused) => {
            eprintln!("refused a delivery: {refused}");
            StatusCode::BAD_REQUEST
        }
    }
}

async fn from_github(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    answer(
        github::receive_webhook(&headers, &body, &receiver.github_secrets),
        &receiver.seen,
    )
}

async fn from_clerk(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let received =
        clerk::receive_webhook(&headers, &body, &receiver.clerk_secrets, SystemTime::now());
    answer(received, &receiver.seen)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let receiver = Arc::new(Receiver {
        github_secrets: vec![SecretString::from(GITHUB_SECRET)],
        clerk_secrets: vec![SecretString::from(CLERK_SECRET)],
        // GitHub redelivers for three days; size the memory for that many deliveries.
        seen: Deduplicator::new(100_000),
    });
    let app = Router::new()
        .route("/github", post(from_github))
        .route("/clerk", post(from_clerk))
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("receiving webhooks on http://{address}\n");

    // GitHub: two people invited, one accepts; GitHub says nothing of a cancelled invitation.
    let (fake, client) = Sandbox::github().await;
    fake.deliver_webhooks_to(format!("http://{address}/github"), GITHUB_SECRET);
    let org = fake.organization().to_owned();
    let jane = client
        .create_invitation(&CreateInvitation::user_id(&org, "4242"))
        .await?;
    let joe = client
        .create_invitation(&CreateInvitation::email(&org, "joe@example.com"))
        .await?;
    fake.accept(&jane.id);
    client.cancel_invitation(&org, &joe.id).await?;
    let sent = fake.webhook_deliveries().await;
    // GitHub redelivers with the same id when asked: the receiver drops it.
    fake.redeliver(&sent[0].id);
    fake.webhook_deliveries().await;

    // Clerk: the same story, told in full (no event when an invitation expires, though).
    let (fake, client) = Sandbox::clerk().await;
    fake.deliver_webhooks_to(format!("http://{address}/clerk"), CLERK_SECRET);
    let org = fake.organization().to_owned();
    let jane = client
        .create_invitation(&CreateInvitation::email(&org, "jane@example.com"))
        .await?;
    let joe = client
        .create_invitation(&CreateInvitation::email(&org, "joe@example.com"))
        .await?;
    fake.accept(&jane.id);
    client.cancel_invitation(&org, &joe.id).await?;
    let sent = fake.webhook_deliveries().await;
    let answered = sent.iter().filter(|d| d.answered == Some(204)).count();
    println!(
        "\nClerk sent {} deliveries; {answered} were answered 204",
        sent.len()
    );
    Ok(())
}
