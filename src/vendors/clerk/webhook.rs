//! Verifying a Clerk webhook delivery, sent through Svix: `svix-id`, `svix-timestamp` and
//! `svix-signature` (or the unbranded `webhook-*` names).

use std::time::SystemTime;

use base64::Engine as _;
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};

use crate::model::webhook::{check_timestamp, header, hmac_matches, WebhookError};

/// Checks that a Clerk webhook delivery was signed with one of `secrets` (the endpoint's
/// signing secrets, `whsec_...`; several while one is rotated) and is fresh at `now` (pass
/// `SystemTime::now()`; tests pass their own clock).
///
/// The signed content is `{svix-id}.{svix-timestamp}.{body}`, the raw body as received;
/// `svix-signature` is a space-separated list of `v1,<base64>` signatures, any of which may
/// match. The timestamp may be at most five minutes off either way
/// ([`TIMESTAMP_TOLERANCE`](crate::webhook::TIMESTAMP_TOLERANCE)). Comparisons take the same time
/// whatever the signature. Svix resends a failed delivery with the same `svix-id`: keep the
/// ids seen to drop repeats.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use orginvite::clerk::verify_webhook;
/// use orginvite::SecretString;
/// use reqwest::header::HeaderMap;
///
/// let secret = SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
/// let mut headers = HeaderMap::new();
/// headers.insert("svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek".parse().unwrap());
/// headers.insert("svix-timestamp", "1614265330".parse().unwrap());
/// headers.insert(
///     "svix-signature",
///     "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".parse().unwrap(),
/// );
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1614265330 + 10);
/// assert_eq!(verify_webhook(&headers, br#"{"test": 2432232314}"#, &[secret], now), Ok(()));
/// ```
pub fn verify_webhook(
    headers: &HeaderMap,
    body: &[u8],
    secrets: &[SecretString],
    now: SystemTime,
) -> Result<(), WebhookError> {
    if secrets.is_empty() {
        return Err(WebhookError::NoSecret);
    }
    let either = |branded: &'static str, plain: &str| {
        header(headers, branded)
            .or_else(|| header(headers, plain))
            .ok_or(WebhookError::MissingHeader(branded))
    };
    let id = either("svix-id", "webhook-id")?;
    let timestamp = either("svix-timestamp", "webhook-timestamp")?;
    let signatures = either("svix-signature", "webhook-signature")?;
    let seconds: u64 = timestamp
        .parse()
        .map_err(|_| WebhookError::MalformedHeader {
            header: "svix-timestamp",
            reason: "not a whole number of seconds",
        })?;
    check_timestamp(seconds, now)?;
    let mut keys = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let encoded = secret.expose_secret();
        let encoded = encoded.strip_prefix("whsec_").unwrap_or(encoded);
        let key = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| WebhookError::BadSecret("a signing secret is `whsec_` and base64"))?;
        keys.push(key);
    }
    let message: [&[u8]; 5] = [id.as_bytes(), b".", timestamp.as_bytes(), b".", body];
    let matched = signatures
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok()
        })
        .any(|tag| keys.iter().any(|key| hmac_matches(key, &message, &tag)));
    if matched {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}
