//! Verifying a GitHub webhook delivery: `X-Hub-Signature-256` over the raw body.

use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};

use serde_json::Value;

use crate::model::event::{EventKind, EventSource, InvitationEvent, WebhookBody};
use crate::model::extension::Payload;
use crate::model::webhook::{header, hmac_matches, id_text, parse_body, text, WebhookError};
use crate::vendors::timestamp;

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

/// Reads a GitHub webhook delivery (already verified with [`verify_webhook`]) as an
/// [`InvitationEvent`]: the `organization` event's `member_invited` (invitation id, email or
/// login, the invitee's user id, when it was made), `member_added` (an invitation accepted:
/// the new member's login and user id; GitHub names no invitation and no email) and
/// `member_removed`. Any other event or action is `Ok(None)`, after the delivery's headers
/// are checked. The event keeps the whole body as a [`WebhookBody`] payload and the delivery
/// id (`X-GitHub-Delivery`) for [`Deduplicator`](crate::events::Deduplicator).
///
/// GitHub sends nothing when an invitation expires, fails or is cancelled: poll for those
/// ([`Provider::poll_events`](crate::Provider::poll_events)).
///
/// ```
/// use orginvite::events::EventKind;
/// use orginvite::github::decode_webhook;
/// use reqwest::header::HeaderMap;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("x-github-event", "organization".parse().unwrap());
/// headers.insert("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958".parse().unwrap());
/// let body = br#"{"action":"member_added","organization":{"login":"acme"},
///     "membership":{"state":"active","role":"member","user":{"login":"octocat","id":1}}}"#;
/// let event = decode_webhook(&headers, body).unwrap().expect("an invitation event");
/// assert_eq!(event.kind, EventKind::MemberAdded);
/// assert_eq!(event.login.as_deref(), Some("octocat"));
/// assert_eq!(event.user_id.as_deref(), Some("1"));
/// ```
pub fn decode_webhook(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<InvitationEvent>, WebhookError> {
    let name =
        header(headers, "x-github-event").ok_or(WebhookError::MissingHeader("X-GitHub-Event"))?;
    let delivery = header(headers, "x-github-delivery")
        .ok_or(WebhookError::MissingHeader("X-GitHub-Delivery"))?;
    if name != "organization" {
        return Ok(None);
    }
    let json = parse_body(body)?;
    let action = json.get("action").and_then(Value::as_str).unwrap_or("");
    let kind = match action {
        "member_invited" => EventKind::Invited,
        "member_added" => EventKind::MemberAdded,
        "member_removed" => EventKind::MemberRemoved,
        _ => return Ok(None),
    };
    let missing = |field| WebhookError::MissingField {
        event: format!("organization.{action}"),
        field,
    };
    let organization =
        text(json.pointer("/organization/login")).ok_or_else(|| missing("organization.login"))?;
    let mut event = InvitationEvent::new(
        crate::ProviderKind::GitHub,
        organization,
        kind,
        EventSource::Webhook,
    );
    if kind == EventKind::Invited {
        let invitation = json
            .get("invitation")
            .filter(|i| i.is_object())
            .ok_or_else(|| missing("invitation"))?;
        event.invitation_id =
            Some(id_text(invitation.get("id")).ok_or_else(|| missing("invitation.id"))?);
        event.email = text(invitation.get("email"));
        event.login = text(invitation.get("login")).or_else(|| text(json.pointer("/user/login")));
        event.user_id = id_text(json.pointer("/user/id"));
        event.at = text(invitation.get("created_at")).and_then(|at| timestamp::parse(&at));
    } else {
        let user = json
            .pointer("/membership/user")
            .filter(|u| u.is_object())
            .ok_or_else(|| missing("membership.user"))?;
        event.login = text(user.get("login"));
        event.user_id = id_text(user.get("id"));
    }
    event.delivery_id = Some(delivery.to_owned());
    event.payload = Payload::new(WebhookBody::new(json));
    Ok(Some(event))
}

/// Verifies a GitHub webhook delivery ([`verify_webhook`]) and reads it
/// ([`decode_webhook`]): what a receiver calls with the raw body and its headers.
pub fn receive_webhook(
    headers: &HeaderMap,
    body: &[u8],
    secrets: &[SecretString],
) -> Result<Option<InvitationEvent>, WebhookError> {
    verify_webhook(headers, body, secrets)?;
    decode_webhook(headers, body)
}
