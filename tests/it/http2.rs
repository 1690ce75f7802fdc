//! HTTP/2 streams a server resets: sent again only when the server says it did not process
//! them (RFC 9113, section 8.7), by the engine itself, and never when it may have.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use orginvite::sleep::RecordingSleeper;
use orginvite::{CreateInvitation, Error, GitHub, Pacing, RetryPolicy};
use tokio::net::TcpListener;

use crate::common::{epoch, fixture, GITHUB_TOKEN, USER_AGENT};

/// What the server does with each stream, in turn.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// Resets the stream with this reason once the request is read.
    Reset(h2::Reason),
    /// Answers with GitHub's documented `201`.
    Created,
}

/// A request the server read whole.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    method: String,
    path: String,
    content_type: Option<String>,
    body: serde_json::Value,
}

/// An HTTP/2 server (prior knowledge, no TLS) on loopback answering each stream as
/// `answers` says, in turn; returns its base URL and what it read.
async fn serve(answers: Vec<Answer>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        let mut answers = answers.into_iter();
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let mut connection = h2::server::handshake(socket).await.unwrap();
            while let Some(Ok((request, mut respond))) = connection.accept().await {
                let (parts, mut body) = request.into_parts();
                let mut bytes = Vec::new();
                while let Some(chunk) = body.data().await {
                    let chunk = chunk.unwrap();
                    body.flow_control().release_capacity(chunk.len()).unwrap();
                    bytes.extend_from_slice(&chunk);
                }
                record.lock().unwrap().push(Seen {
                    method: parts.method.to_string(),
                    path: parts.uri.path().to_owned(),
                    content_type: parts
                        .headers
                        .get("content-type")
                        .map(|v| v.to_str().unwrap().to_owned()),
                    body: serde_json::from_slice(&bytes).unwrap(),
                });
                match answers.next().expect("no more requests than answers") {
                    Answer::Reset(reason) => respond.send_reset(reason),
                    Answer::Created => {
                        let response = http::Response::builder()
                            .status(201)
                            .header("content-type", "application/json; charset=utf-8")
                            .body(())
                            .unwrap();
                        let mut stream = respond.send_response(response, false).unwrap();
                        let body = fixture("github/create-201.json");
                        stream.send_data(body.into_bytes().into(), true).unwrap();
                    }
                }
            }
        }
    });
    (url, seen)
}

/// A GitHub client over HTTP/2 with reqwest's own retries off (as the crate's own client
/// has them), so that only the engine can send a request again.
fn client(url: &str, policy: RetryPolicy) -> (GitHub, RecordingSleeper) {
    let sleeper = RecordingSleeper::starting_at(epoch());
    let http = reqwest::Client::builder()
        .http2_prior_knowledge()
        .retry(reqwest::retry::never().max_retries_per_request(0))
        .build()
        .unwrap();
    let client = GitHub::builder()
        .token(GITHUB_TOKEN)
        .base_url(url)
        .user_agent(USER_AGENT)
        .http_client(http)
        .pacing(Pacing::off())
        .retry_policy(policy)
        .sleeper(sleeper.clone())
        .build()
        .unwrap();
    (client, sleeper)
}

/// `error` is a transport failure after the request was sent, on the `attempts`-th attempt,
/// that may or may not have created the invitation.
fn assert_sent(error: &Error, may_have_been_created: bool, attempts: u32) {
    let Error::Transport(transport) = error else {
        panic!("expected a transport error, got {error:?}");
    };
    assert!(transport.sent);
    assert_eq!(transport.may_have_been_created, may_have_been_created);
    assert_eq!(error.may_have_been_created(), may_have_been_created);
    assert_eq!(transport.attempts, attempts);
}

/// Invites octocat@github.com to `acme`.
async fn invite(github: &GitHub) -> Result<orginvite::Invitation, Error> {
    github
        .create_invitation(&CreateInvitation::email("acme", "octocat@github.com"))
        .await
}

fn the_request() -> Seen {
    Seen {
        method: "POST".to_owned(),
        path: "/orgs/acme/invitations".to_owned(),
        content_type: Some("application/json".to_owned()),
        body: serde_json::json!({ "email": "octocat@github.com", "role": "direct_member" }),
    }
}

#[tokio::test]
async fn a_stream_refused_unprocessed_is_sent_again_at_once_outside_the_policy() {
    let (url, seen) = serve(vec![
        Answer::Reset(h2::Reason::REFUSED_STREAM),
        Answer::Created,
    ])
    .await;
    // No retries at all: the resend is not one of the policy's attempts.
    let (github, sleeper) = client(&url, RetryPolicy::never());

    let invitation = invite(&github)
        .await
        .expect("created on the second attempt");

    assert_eq!(invitation.id, "1");
    assert_eq!(invitation.email.as_deref(), Some("octocat@github.com"));
    assert_eq!(*seen.lock().unwrap(), [the_request(), the_request()]);
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn refused_streams_past_two_are_retried_as_the_policy_says() {
    let refused = Answer::Reset(h2::Reason::REFUSED_STREAM);
    let (url, seen) = serve(vec![refused, refused, refused, Answer::Created]).await;
    let (github, sleeper) = client(&url, RetryPolicy::default().jitter(false));

    let invitation = invite(&github)
        .await
        .expect("created on the fourth request");

    assert_eq!(invitation.id, "1");
    assert_eq!(seen.lock().unwrap().len(), 4);
    assert!(seen
        .lock()
        .unwrap()
        .iter()
        .all(|seen| *seen == the_request()));
    // Two at once, then the policy's first backoff, waited on the injected clock.
    assert_eq!(sleeper.waits(), [Duration::from_secs(1)]);

    // Without retries, the third refusal is the answer: nothing was created.
    let (url, seen) = serve(vec![refused, refused, refused, Answer::Created]).await;
    let (github, sleeper) = client(&url, RetryPolicy::never());
    let error = invite(&github)
        .await
        .expect_err("refused three times, no retries");
    assert_sent(&error, false, 1);
    assert_eq!(seen.lock().unwrap().len(), 3);
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn a_stream_reset_after_the_request_may_have_been_processed_is_not_sent_again() {
    let (url, seen) = serve(vec![
        Answer::Reset(h2::Reason::INTERNAL_ERROR),
        Answer::Created,
    ])
    .await;
    let (github, sleeper) = client(&url, RetryPolicy::default().jitter(false));

    let error = invite(&github)
        .await
        .expect_err("a reset stream is a transport failure");

    assert_sent(&error, true, 1);
    assert_eq!(*seen.lock().unwrap(), [the_request()]);
    assert!(sleeper.waits().is_empty());
}
