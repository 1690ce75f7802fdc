//! Elastic Cloud helpers for the integration tests.

use orginvite::sleep::RecordingSleeper;
use orginvite::{ElasticCloud, RetryPolicy};
use serde_json::Value;
use wiremock::{MockServer, ResponseTemplate};

use super::{epoch, fixture, USER_AGENT};

/// An API key that must never show up in any output.
pub const EC_API_KEY: &str = "essu_SECRETapikey0123456789abcdefNEVERSHOWN";

/// The organization the tests invite to.
pub const ORG: &str = "1234567890";

/// An Elastic Cloud client pointed at `server` with the API path `/api/v1`, a recording
/// sleeper and jitter off.
pub fn elastic(server: &MockServer) -> (ElasticCloud, RecordingSleeper) {
    elastic_with(server, RetryPolicy::default().jitter(false))
}

pub fn elastic_with(server: &MockServer, policy: RetryPolicy) -> (ElasticCloud, RecordingSleeper) {
    let sleeper = RecordingSleeper::starting_at(epoch());
    let client = ElasticCloud::builder()
        .token(EC_API_KEY)
        .base_url(format!("{}/api/v1", server.uri()))
        .user_agent(USER_AGENT)
        .retry_policy(policy)
        .sleeper(sleeper.clone())
        .build()
        .expect("valid test configuration");
    (client, sleeper)
}

/// The official 201 example as JSON (its one invitation is for `test@mail`).
pub fn official_reply() -> Value {
    serde_json::from_str(&fixture("elastic/create-201.json")).expect("the fixture is JSON")
}

/// A 201 answer with `reply` as its body.
pub fn created_with(reply: &Value) -> ResponseTemplate {
    ResponseTemplate::new(201)
        .insert_header("content-type", "application/json")
        .set_body_json(reply)
}

/// The official 201 example, its invitation re-addressed to `email`.
pub fn created_for(email: &str) -> ResponseTemplate {
    let mut reply = official_reply();
    reply["invitations"][0]["email"] = Value::from(email);
    created_with(&reply)
}

/// An error answer in Elastic Cloud's `BasicFailedReply` shape, without the
/// `x-cloud-error-codes` header.
pub fn failed(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/json")
        .set_body_json(serde_json::json!({"errors": [{"code": code, "message": message}]}))
}

/// An HTML answer (a proxy's error page) naming `codes` only in `x-cloud-error-codes`.
pub fn html_with_codes(status: u16, codes: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "text/html")
        .insert_header("x-cloud-error-codes", codes)
        .set_body_string("<html><body><h1>Error</h1></body></html>")
}
