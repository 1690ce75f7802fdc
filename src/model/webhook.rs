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
}

/// Checks a signed Unix timestamp (seconds) against `now`, within [`TIMESTAMP_TOLERANCE`].
pub(crate) fn check_timestamp(timestamp: u64, now: SystemTime) -> Result<(), WebhookError> {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(timestamp);
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
