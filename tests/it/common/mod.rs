//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod clerk;
pub mod raw;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use orginvite::sleep::RecordingSleeper;
use orginvite::{GitHub, RetryPolicy};
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

pub mod elastic;

/// A token that must never show up in any output.
pub const GITHUB_TOKEN: &str = "ghp_SECRETtoken0123456789abcdefNEVERSHOWN";
/// The user agent the tests configure.
pub const USER_AGENT: &str = "orginvite-tests/1.0";

/// The virtual clock's start: a whole second, so reset headers line up exactly.
pub fn epoch() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

pub fn epoch_secs() -> u64 {
    1_800_000_000
}

/// Reads a fixture from `tests/fixtures/`.
pub fn fixture(path: &str) -> String {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// A GitHub client pointed at `server` with the GitHub Enterprise Server path `/api/v3`,
/// a recording sleeper and jitter off.
pub fn github(server: &MockServer) -> (GitHub, RecordingSleeper) {
    github_with(server, RetryPolicy::default().jitter(false))
}

pub fn github_with(server: &MockServer, policy: RetryPolicy) -> (GitHub, RecordingSleeper) {
    let sleeper = RecordingSleeper::starting_at(epoch());
    let client = GitHub::builder()
        .token(GITHUB_TOKEN)
        .base_url(format!("{}/api/v3", server.uri()))
        .user_agent(USER_AGENT)
        .retry_policy(policy)
        .sleeper(sleeper.clone())
        .build()
        .expect("valid test configuration");
    (client, sleeper)
}

/// Answers with each template in turn, repeating the last; counts the requests it saw.
pub struct Sequence {
    responses: Mutex<Vec<ResponseTemplate>>,
    seen: AtomicUsize,
}

impl Sequence {
    pub fn new(responses: Vec<ResponseTemplate>) -> Sequence {
        assert!(!responses.is_empty());
        Sequence {
            responses: Mutex::new(responses),
            seen: AtomicUsize::new(0),
        }
    }
}

impl Respond for Sequence {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let n = self.seen.fetch_add(1, Ordering::SeqCst);
        let responses = self.responses.lock().unwrap();
        responses[n.min(responses.len() - 1)].clone()
    }
}

/// The official 201 example as a response.
pub fn github_created() -> ResponseTemplate {
    ResponseTemplate::new(201)
        .insert_header("content-type", "application/json; charset=utf-8")
        .insert_header("x-github-request-id", "CAFE:0001")
        .set_body_string(fixture("github/create-201.json"))
}

/// The official list example's invitation with this id, email and login.
pub fn github_invitation(id: u64, email: &str, login: Option<&str>) -> serde_json::Value {
    let list: serde_json::Value = serde_json::from_str(&fixture("github/list-200.json")).unwrap();
    let mut item = list[0].clone();
    item["id"] = serde_json::json!(id);
    item["email"] = serde_json::json!(email);
    item["login"] = serde_json::json!(login);
    item
}

/// A JSON error answer with a request id.
pub fn github_error(status: u16, body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/json; charset=utf-8")
        .insert_header("x-github-request-id", "BEEF:0002")
        .set_body_json(body)
}

/// How many requests `server` received.
pub async fn request_count(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

/// Collects everything a `fmt` subscriber writes.
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// What was written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// A subscriber writing every event at `level` and above, without colours, here.
    pub fn subscriber(&self, level: tracing::Level) -> impl tracing::Subscriber + Send + Sync {
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(level)
            .with_writer(move || writer.clone())
            .finish()
    }
}
