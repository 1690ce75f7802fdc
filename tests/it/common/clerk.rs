//! Helpers for the Clerk integration tests.

use orginvite::sleep::RecordingSleeper;
use orginvite::{Clerk, RetryPolicy};
use serde_json::{json, Value};
use wiremock::{MockServer, ResponseTemplate};

use super::{epoch, fixture, USER_AGENT};

/// A secret key that must never show up in any output.
pub const CLERK_SECRET_KEY: &str = "sk_test_SECRETclerkKey0123456789NEVERSHOWN";
/// The organization the tests invite to.
pub const ORG: &str = "org_2g7np7Hrk0SN6kj5EDMLDaKNL0S";
/// The path the tests expect, under a base URL with the `/v1` path.
pub const INVITATIONS_PATH: &str = "/v1/organizations/org_2g7np7Hrk0SN6kj5EDMLDaKNL0S/invitations";
/// The trace id the error answers carry in their body.
pub const BODY_TRACE_ID: &str = "8b2f4e1c0a9d7e6f5b4a3c2d1e0f9a8b";

/// A Clerk client pointed at `server` + `/v1`, with a recording sleeper and jitter off.
pub fn clerk(server: &MockServer) -> (Clerk, RecordingSleeper) {
    clerk_with(server, RetryPolicy::default().jitter(false))
}

pub fn clerk_with(server: &MockServer, policy: RetryPolicy) -> (Clerk, RecordingSleeper) {
    let sleeper = RecordingSleeper::starting_at(epoch());
    let client = Clerk::builder()
        .token(CLERK_SECRET_KEY)
        .base_url(format!("{}/v1", server.uri()))
        .user_agent(USER_AGENT)
        .retry_policy(policy)
        .sleeper(sleeper.clone())
        .build()
        .expect("valid test configuration");
    (client, sleeper)
}

/// The official 200 example as a response.
pub fn clerk_ok() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/json")
        .insert_header("clerk-trace-id", "header-trace-ok")
        .set_body_string(fixture("clerk/create-200.json"))
}

/// A JSON answer with `body`, as Clerk sends it.
pub fn clerk_json(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/json")
        .set_body_json(body)
}

/// A Clerk error answer with one error and the body trace id.
pub fn clerk_error(status: u16, code: &str, message: &str, long_message: &str) -> ResponseTemplate {
    clerk_json(
        status,
        json!({
            "errors": [{"code": code, "message": message, "long_message": long_message}],
            "clerk_trace_id": BODY_TRACE_ID,
        }),
    )
}
