//! Verifying a GitHub webhook delivery: `X-Hub-Signature-256` over the raw body.

use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};

use crate::model::webhook::{header, hmac_matches, WebhookError};

/// Checks that a GitHub webhook delivery was signed with one of `secrets` (several while a
/// secret is rotated): `X-Hub-Signature-256` must be `sha256=` and the lower-case hex
/// HMAC-SHA256 of `body`, the raw bytes as received (never the JSON parsed and written again).
/// A delivery signed with SHA-1 alone (`X-Hub-Signature`) is refused. The comparison takes the
/// same time whatever the signature.
///
/// GitHub signs no timestamp: replays are told apart by `X-GitHub-Delivery`, which a
/// redelivery keeps.
///
/// ```
/// use orginvite::github::verify_webhook;
/// use orginvite::{SecretString, webhook::WebhookError};
/// use reqwest::header::HeaderMap;
///
/// let secret = SecretString::from("It's a Secret to Everybody");
/// let mut headers = HeaderMap::new();
/// headers.insert(
///     "x-hub-signature-256",
///     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17".parse().unwrap(),
/// );
/// assert_eq!(verify_webhook(&headers, b"Hello, World!", &[secret.clone()]), Ok(()));
/// assert_eq!(
///     verify_webhook(&headers, b"Hello, World?", &[secret]),
///     Err(WebhookError::BadSignature)
/// );
/// ```
pub fn verify_webhook(
    headers: &HeaderMap,
    body: &[u8],
    secrets: &[SecretString],
) -> Result<(), WebhookError> {
    if secrets.is_empty() {
        return Err(WebhookError::NoSecret);
    }
    let Some(signature) = header(headers, "x-hub-signature-256") else {
        return Err(if headers.contains_key("x-hub-signature") {
            WebhookError::Sha1Only
        } else {
            WebhookError::MissingHeader("X-Hub-Signature-256")
        });
    };
    let malformed = |reason| WebhookError::MalformedHeader {
        header: "X-Hub-Signature-256",
        reason,
    };
    let hex = signature
        .strip_prefix("sha256=")
        .ok_or_else(|| malformed("it does not start with `sha256=`"))?;
    let tag = decode_hex(hex).ok_or_else(|| malformed("not 64 hexadecimal digits"))?;
    let matched = secrets
        .iter()
        .any(|secret| hmac_matches(secret.expose_secret().as_bytes(), &[body], &tag));
    if matched {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// 64 hexadecimal digits as 32 bytes.
fn decode_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let digit = |c: u8| (c as char).to_digit(16);
        *byte = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
    }
    Some(bytes)
}
