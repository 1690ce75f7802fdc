//! Verifying a Clerk webhook delivery, sent through Svix: `svix-id`, `svix-timestamp` and
//! `svix-signature` (or the unbranded `webhook-*` names).

use std::time::SystemTime;

use base64::Engine as _;
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};

use jiff::Timestamp;
use serde_json::Value;

use crate::model::event::{EventKind, EventSource, InvitationEvent, WebhookBody};
use crate::model::extension::Payload;
use crate::model::webhook::{
    check_timestamp, header, hmac_matches, parse_body, text, WebhookError,
};

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

/// Reads a Clerk webhook delivery (already verified with [`verify_webhook`]) as an
/// [`InvitationEvent`]: `organizationInvitation.created` (invited), `.accepted` (with the
/// accepting user's id), `.revoked`, and `organizationMembership.created` (member added) and
/// `.deleted` (member removed), with the invitation or membership id's organization, the
/// email, and when it happened (the object's `created_at` or `updated_at`; for a deleted
/// membership, and where those are missing, the envelope's `timestamp`, read as seconds or
/// milliseconds since Clerk's documents say both). Any other type is `Ok(None)`. The event keeps the whole body as a [`WebhookBody`]
/// payload and the delivery id (`svix-id`) for
/// [`Deduplicator`](crate::events::Deduplicator).
///
/// Clerk sends no event when an invitation expires: poll for that
/// ([`Provider::poll_events`](crate::Provider::poll_events)).
///
/// ```
/// use orginvite::clerk::decode_webhook;
/// use orginvite::events::EventKind;
/// use reqwest::header::HeaderMap;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek".parse().unwrap());
/// let body = br#"{"object":"event","type":"organizationInvitation.accepted",
///     "timestamp":1716883200,"data":{"object":"organization_invitation",
///     "id":"orginv_1","email_address":"jane@example.com","organization_id":"org_1",
///     "status":"accepted","user_id":"user_1","updated_at":1716883500000}}"#;
/// let event = decode_webhook(&headers, body).unwrap().expect("an invitation event");
/// assert_eq!(event.kind, EventKind::Accepted);
/// assert_eq!(event.user_id.as_deref(), Some("user_1"));
/// assert_eq!(event.at.unwrap().as_second(), 1716883500);
/// ```
pub fn decode_webhook(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<InvitationEvent>, WebhookError> {
    let delivery = header(headers, "svix-id")
        .or_else(|| header(headers, "webhook-id"))
        .ok_or(WebhookError::MissingHeader("svix-id"))?;
    let json = parse_body(body)?;
    let kind_of = json.get("type").and_then(Value::as_str).unwrap_or("");
    let (kind, invitation, changed) = match kind_of {
        "organizationInvitation.created" => (EventKind::Invited, true, false),
        "organizationInvitation.accepted" => (EventKind::Accepted, true, true),
        "organizationInvitation.revoked" => (EventKind::Revoked, true, true),
        "organizationMembership.created" => (EventKind::MemberAdded, false, false),
        "organizationMembership.deleted" => (EventKind::MemberRemoved, false, true),
        _ => return Ok(None),
    };
    let missing = |field| WebhookError::MissingField {
        event: kind_of.to_owned(),
        field,
    };
    let data = json
        .get("data")
        .filter(|data| data.is_object())
        .ok_or_else(|| missing("data"))?;
    let organization = if invitation {
        text(data.get("organization_id"))
    } else {
        text(data.pointer("/organization/id"))
    };
    let organization = organization.ok_or_else(|| missing("data.organization_id"))?;
    let mut event = InvitationEvent::new(
        crate::ProviderKind::Clerk,
        organization,
        kind,
        EventSource::Webhook,
    );
    if invitation {
        event.invitation_id = Some(text(data.get("id")).ok_or_else(|| missing("data.id"))?);
        event.email = text(data.get("email_address"));
        event.user_id = text(data.get("user_id"));
    } else {
        // Optional in Clerk's schema: without it, the event names no one.
        let user = data.get("public_user_data");
        event.user_id = text(user.and_then(|user| user.get("user_id")));
        event.email =
            text(user.and_then(|user| user.get("identifier"))).filter(|email| email.contains('@'));
        event.login = text(user.and_then(|user| user.get("username")));
    }
    let envelope = || {
        let envelope = json.get("timestamp").and_then(Value::as_i64)?;
        // Seconds in the spec's examples, milliseconds in Clerk's guide.
        if envelope >= 100_000_000_000 {
            Timestamp::from_millisecond(envelope).ok()
        } else {
            Timestamp::from_second(envelope).ok()
        }
    };
    let object_time = |field: &str| {
        data.get(field)
            .and_then(Value::as_i64)
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
    };
    event.at = match kind {
        // A deleted membership's own times are of its life, not of its end.
        EventKind::MemberRemoved => envelope().or_else(|| object_time("updated_at")),
        _ if changed => object_time("updated_at").or_else(envelope),
        _ => object_time("created_at").or_else(envelope),
    };
    event.delivery_id = Some(delivery.to_owned());
    event.payload = Payload::new(WebhookBody::new(json));
    Ok(Some(event))
}

/// Verifies a Clerk webhook delivery ([`verify_webhook`], at `now`) and reads it
/// ([`decode_webhook`]): what a receiver calls with the raw body and its headers.
pub fn receive_webhook(
    headers: &HeaderMap,
    body: &[u8],
    secrets: &[SecretString],
    now: SystemTime,
) -> Result<Option<InvitationEvent>, WebhookError> {
    verify_webhook(headers, body, secrets, now)?;
    decode_webhook(headers, body)
}
