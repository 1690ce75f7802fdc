//! Why a webhook delivery was refused: [`WebhookError`], the same for every vendor.

use std::time::{Duration, SystemTime};

/// How far a signed delivery's timestamp may be from the receiver's clock, either way (Svix,
/// for Clerk).
pub const TIMESTAMP_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// Why a webhook delivery was refused. Nothing of the secrets is ever in it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// No secret to check the delivery with.
    #[error("no webhook secret to verify the delivery with")]
    NoSecret,
    /// A secret is not in the vendor's form (Svix: `whsec_` and base64).
    #[error("a webhook secret is malformed: {0}")]
    BadSecret(&'static str),
    /// A header the vendor always sends is missing.
    #[error("the delivery has no `{0}` header")]
    MissingHeader(&'static str),
    /// A header is not in the vendor's form.
    #[error("the delivery's `{header}` header is malformed: {reason}")]
    MalformedHeader {
        /// The header.
        header: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The delivery is signed with SHA-1 only (GitHub's legacy `X-Hub-Signature`), which is
    /// not accepted.
    #[error(
        "the delivery is signed with SHA-1 only (`X-Hub-Signature`); only `X-Hub-Signature-256` \
         is accepted"
    )]
    Sha1Only,
    /// No signature of the delivery matches its body under any of the secrets.
    #[error("no signature of the delivery matches its body with any of the secrets")]
    BadSignature,
    /// The signed timestamp is older than the tolerance: a replay, or a delivery held too long.
    #[error("the delivery's timestamp is {} s old, more than the {} s tolerated", .0.as_secs(), TIMESTAMP_TOLERANCE.as_secs())]
    Stale(Duration),
    /// The signed timestamp is further ahead than the tolerance.
    #[error("the delivery's timestamp is {} s ahead, more than the {} s tolerated", .0.as_secs(), TIMESTAMP_TOLERANCE.as_secs())]
    Future(Duration),
    /// The delivery's body is not JSON (a hook sending `x-www-form-urlencoded`, or a body cut
    /// short). What the parser said is kept, never the body.
    #[error("the delivery's body is not JSON: {0}")]
    NotJson(String),
    /// The body is JSON, but an event this crate reads lacks a field the vendor always sends.
    #[error("the `{event}` delivery has no `{field}`")]
    MissingField {
        /// The vendor's event (GitHub's `organization.member_invited`, Clerk's type).
        event: String,
        /// The field.
        field: &'static str,
    },
}

/// The body as JSON.
pub(crate) fn parse_body(body: &[u8]) -> Result<serde_json::Value, WebhookError> {
    serde_json::from_slice(body).map_err(|e| {
        // The parser's words and position, without the body's text.
        let mut reason = format!("{e}");
        reason.truncate(200);
        WebhookError::NotJson(reason)
    })
}

/// An id the vendor writes as a number or a string, as text.
pub(crate) fn id_text(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(text) if !text.is_empty() => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// A string field, when it is a non-empty string.
pub(crate) fn text(value: Option<&serde_json::Value>) -> Option<String> {
    value
        .and_then(serde_json::Value::as_str)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

/// Checks a signed Unix timestamp (seconds) against `now`, within [`TIMESTAMP_TOLERANCE`].
pub(crate) fn check_timestamp(timestamp: u64, now: SystemTime) -> Result<(), WebhookError> {
    // A time past what the clock can hold is as far ahead as it gets.
    let Some(at) = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(timestamp)) else {
        return Err(WebhookError::Future(Duration::from_secs(timestamp)));
    };
    match now.duration_since(at) {
        Ok(age) if age > TIMESTAMP_TOLERANCE => Err(WebhookError::Stale(age)),
        Ok(_) => Ok(()),
        Err(ahead) if ahead.duration() > TIMESTAMP_TOLERANCE => {
            Err(WebhookError::Future(ahead.duration()))
        }
        Err(_) => Ok(()),
    }
}

/// Whether `tag` is the HMAC-SHA256 of `message` under `key`, compared in constant time.
pub(crate) fn hmac_matches(key: &[u8], message: &[&[u8]], tag: &[u8]) -> bool {
    use aws_lc_rs::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut context = hmac::Context::with_key(&key);
    for part in message {
        context.update(part);
    }
    let computed = context.sign();
    aws_lc_rs::constant_time::verify_slices_are_equal(computed.as_ref(), tag).is_ok()
}

/// A header's value as text, if it is there and readable.
pub(crate) fn header<'h>(headers: &'h reqwest::header::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}
