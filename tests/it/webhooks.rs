//! Webhook verification: the vendors' published test vectors, and each refusal typed.

use std::time::{Duration, SystemTime};

use orginvite::webhook::WebhookError;
use orginvite::{clerk, github, SecretString};
use reqwest::header::HeaderMap;

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        headers.insert(*name, value.parse().unwrap());
    }
    headers
}

const GITHUB_SECRET: &str = "It's a Secret to Everybody";
const GITHUB_SIGNATURE: &str =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

#[test]
fn github_deliveries_verify_by_their_sha256_signature_only() {
    let secret = || vec![SecretString::from(GITHUB_SECRET)];
    let signed = headers(&[("x-hub-signature-256", GITHUB_SIGNATURE)]);
    assert_eq!(
        github::verify_webhook(&signed, b"Hello, World!", &secret()),
        Ok(())
    );
    // A changed byte, a wrong secret.
    assert_eq!(
        github::verify_webhook(&signed, b"Hello, World?", &secret()),
        Err(WebhookError::BadSignature)
    );
    let wrong = vec![SecretString::from("another secret")];
    assert_eq!(
        github::verify_webhook(&signed, b"Hello, World!", &wrong),
        Err(WebhookError::BadSignature)
    );
    // Rotation: any of the secrets.
    let both = vec![
        SecretString::from("the new secret"),
        SecretString::from(GITHUB_SECRET),
    ];
    assert_eq!(
        github::verify_webhook(&signed, b"Hello, World!", &both),
        Ok(())
    );
    // SHA-1 alone, no signature, a malformed one, no secret.
    let sha1 = headers(&[(
        "x-hub-signature",
        "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59",
    )]);
    assert_eq!(
        github::verify_webhook(&sha1, b"Hello, World!", &secret()),
        Err(WebhookError::Sha1Only)
    );
    assert_eq!(
        github::verify_webhook(&HeaderMap::new(), b"Hello, World!", &secret()),
        Err(WebhookError::MissingHeader("X-Hub-Signature-256"))
    );
    for bad in [
        "757107ea",
        "sha256=757107",
        "sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    ] {
        let error =
            github::verify_webhook(&headers(&[("x-hub-signature-256", bad)]), b"x", &secret())
                .unwrap_err();
        assert!(
            matches!(error, WebhookError::MalformedHeader { .. }),
            "{bad}: {error:?}"
        );
    }
    assert_eq!(
        github::verify_webhook(&signed, b"Hello, World!", &[]),
        Err(WebhookError::NoSecret)
    );
}

const SVIX_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const SVIX_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
const SVIX_TIMESTAMP: u64 = 1_649_367_553;
const SVIX_BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
const SVIX_SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
}

fn svix(signature: &str) -> HeaderMap {
    headers(&[
        ("svix-id", SVIX_ID),
        ("svix-timestamp", &SVIX_TIMESTAMP.to_string()),
        ("svix-signature", signature),
    ])
}

#[test]
fn clerk_deliveries_verify_by_svix_signature_within_five_minutes() {
    let secret = || vec![SecretString::from(SVIX_SECRET)];
    let now = at(SVIX_TIMESTAMP);
    assert_eq!(
        clerk::verify_webhook(&svix(SVIX_SIGNATURE), SVIX_BODY, &secret(), now),
        Ok(())
    );
    // The documented second vector.
    let docs = headers(&[
        ("svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
        ("svix-timestamp", "1614265330"),
        (
            "svix-signature",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ),
    ]);
    let docs_secret = vec![SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")];
    assert_eq!(
        clerk::verify_webhook(
            &docs,
            br#"{"test": 2432232314}"#,
            &docs_secret,
            at(1_614_265_330)
        ),
        Ok(())
    );
    // Any entry of the list may match; other versions are left out.
    let listed = format!(
        "v1,AAAA v2,{} v1,bm9wZQ== {SVIX_SIGNATURE}",
        &SVIX_SIGNATURE[3..]
    );
    assert_eq!(
        clerk::verify_webhook(&svix(&listed), SVIX_BODY, &secret(), now),
        Ok(())
    );
    // The unbranded header names.
    let plain = headers(&[
        ("webhook-id", SVIX_ID),
        ("webhook-timestamp", &SVIX_TIMESTAMP.to_string()),
        ("webhook-signature", SVIX_SIGNATURE),
    ]);
    assert_eq!(
        clerk::verify_webhook(&plain, SVIX_BODY, &secret(), now),
        Ok(())
    );
    // A changed byte, a wrong secret.
    let mut changed = SVIX_BODY.to_vec();
    changed[3] ^= 1;
    assert_eq!(
        clerk::verify_webhook(&svix(SVIX_SIGNATURE), &changed, &secret(), now),
        Err(WebhookError::BadSignature)
    );
    let wrong = vec![SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")];
    assert_eq!(
        clerk::verify_webhook(&svix(SVIX_SIGNATURE), SVIX_BODY, &wrong, now),
        Err(WebhookError::BadSignature)
    );
    // 300 s either way passes; 301 does not.
    let verify_at =
        |seconds| clerk::verify_webhook(&svix(SVIX_SIGNATURE), SVIX_BODY, &secret(), at(seconds));
    assert_eq!(verify_at(SVIX_TIMESTAMP + 300), Ok(()));
    assert_eq!(verify_at(SVIX_TIMESTAMP - 300), Ok(()));
    assert_eq!(
        verify_at(SVIX_TIMESTAMP + 301),
        Err(WebhookError::Stale(Duration::from_secs(301)))
    );
    assert_eq!(
        verify_at(SVIX_TIMESTAMP - 301),
        Err(WebhookError::Future(Duration::from_secs(301)))
    );
    // Missing and malformed headers, a malformed secret.
    let missing = headers(&[("svix-id", SVIX_ID), ("svix-signature", SVIX_SIGNATURE)]);
    assert_eq!(
        clerk::verify_webhook(&missing, SVIX_BODY, &secret(), now),
        Err(WebhookError::MissingHeader("svix-timestamp"))
    );
    let negative = headers(&[
        ("svix-id", SVIX_ID),
        ("svix-timestamp", "-5"),
        ("svix-signature", SVIX_SIGNATURE),
    ]);
    assert!(matches!(
        clerk::verify_webhook(&negative, SVIX_BODY, &secret(), now),
        Err(WebhookError::MalformedHeader {
            header: "svix-timestamp",
            ..
        })
    ));
    let garbled = vec![SecretString::from("whsec_not base64!")];
    assert!(matches!(
        clerk::verify_webhook(&svix(SVIX_SIGNATURE), SVIX_BODY, &garbled, now),
        Err(WebhookError::BadSecret(_))
    ));
    // Nothing of a secret in an error or in Debug.
    let error = clerk::verify_webhook(&svix("v1,AAAA"), SVIX_BODY, &secret(), now).unwrap_err();
    for text in [
        error.to_string(),
        format!("{error:?}"),
        format!("{:?}", secret()),
    ] {
        assert!(!text.contains("C2FVsBQIhrscChlQIMV"), "{text}");
    }
}

/// What the tests compare of an event: everything but the payload.
fn summary(event: &orginvite::events::InvitationEvent) -> String {
    format!(
        "{} {} {} inv={:?} email={:?} login={:?} user={:?} at={:?} delivery={:?}",
        event.provider.as_str(),
        event.organization,
        event.kind,
        event.invitation_id,
        event.email,
        event.login,
        event.user_id,
        event.at.map(|at| at.to_string()),
        event.delivery_id,
    )
}

fn github_delivery(event: &str) -> HeaderMap {
    headers(&[
        ("x-github-event", event),
        ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
    ])
}

#[test]
fn githubs_example_organization_payloads_decode_into_events() {
    let cases = [
        (
            include_str!("../fixtures/github/webhook-organization-member_invited.json"),
            r#"github Octocoders invited inv=Some("39652351") email=None login=Some("hacktocat") user=Some("39652351") at=Some("2021-05-24T04:10:21Z") delivery=Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")"#,
        ),
        (
            include_str!("../fixtures/github/webhook-organization-member_added.json"),
            r#"github Octocoders member_added inv=None email=None login=Some("hacktocat") user=Some("39652351") at=None delivery=Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")"#,
        ),
        (
            include_str!("../fixtures/github/webhook-organization-member_removed.json"),
            r#"github Octocoders member_removed inv=None email=None login=Some("Hacktocat") user=Some("5") at=None delivery=Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")"#,
        ),
    ];
    for (body, expected) in cases {
        let event = github::decode_webhook(&github_delivery("organization"), body.as_bytes())
            .unwrap()
            .expect("an invitation event");
        assert_eq!(summary(&event), expected);
        assert_eq!(event.source, orginvite::events::EventSource::Webhook);
        // The whole delivery is kept.
        let kept = event
            .payload
            .get::<orginvite::events::WebhookBody>()
            .unwrap();
        assert_eq!(
            kept.json(),
            &serde_json::from_str::<serde_json::Value>(body).unwrap()
        );
    }
}

#[test]
fn github_deliveries_that_are_not_invitation_events_are_none_and_bad_ones_typed() {
    let invited = include_str!("../fixtures/github/webhook-organization-member_invited.json");
    // Another event, another action.
    assert_eq!(
        github::decode_webhook(&github_delivery("push"), b"{}"),
        Ok(None)
    );
    let renamed = br#"{"action":"renamed","organization":{"login":"acme"}}"#;
    assert_eq!(
        github::decode_webhook(&github_delivery("organization"), renamed),
        Ok(None)
    );
    // Missing headers.
    let no_delivery = headers(&[("x-github-event", "organization")]);
    assert_eq!(
        github::decode_webhook(&no_delivery, invited.as_bytes()),
        Err(WebhookError::MissingHeader("X-GitHub-Delivery"))
    );
    assert_eq!(
        github::decode_webhook(&HeaderMap::new(), invited.as_bytes()),
        Err(WebhookError::MissingHeader("X-GitHub-Event"))
    );
    // A form-encoded hook, a body cut short: not JSON, and the body is not in the error.
    for body in [&b"payload=%7B%22action%22"[..], &invited.as_bytes()[..200]] {
        match github::decode_webhook(&github_delivery("organization"), body) {
            Err(WebhookError::NotJson(reason)) => assert!(!reason.contains("action")),
            other => panic!("expected NotJson, got {other:?}"),
        }
    }
    // `member_invited` without its invitation.
    let bare = br#"{"action":"member_invited","organization":{"login":"acme"}}"#;
    assert_eq!(
        github::decode_webhook(&github_delivery("organization"), bare),
        Err(WebhookError::MissingField {
            event: "organization.member_invited".into(),
            field: "invitation",
        })
    );
}

#[test]
fn a_github_delivery_is_verified_then_decoded() {
    let secret = vec![SecretString::from(GITHUB_SECRET)];
    let body = br#"{"action":"member_removed","organization":{"login":"acme"},"membership":{"user":{"login":"octocat","id":1}}}"#;
    let mut signed = github_delivery("organization");
    signed.insert(
        "x-hub-signature-256",
        "sha256=0000000000000000000000000000000000000000000000000000000000000000"
            .parse()
            .unwrap(),
    );
    assert_eq!(
        github::receive_webhook(&signed, body, &secret),
        Err(WebhookError::BadSignature)
    );
}

fn svix_delivery() -> HeaderMap {
    headers(&[("svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")])
}

#[test]
fn clerks_example_payloads_decode_into_events() {
    let cases = [
        (
            include_str!("../fixtures/clerk/webhook-organizationInvitation.created.json"),
            r#"clerk org_2g7np7Hrk0SN6kj5EDMLDaKNL0S invited inv=Some("orginv_2g7np7Hrk0SN6kj5EDMLDaKNL0S") email=Some("jane.doe@acme.com") login=None user=None at=Some("2024-05-28T08:00:00Z") delivery=Some("msg_p5jXN8AQM9LWM0D4loKWxJek")"#,
        ),
        (
            include_str!("../fixtures/clerk/webhook-organizationInvitation.accepted.json"),
            r#"clerk org_2g7np7Hrk0SN6kj5EDMLDaKNL0S accepted inv=Some("orginv_2g7np7Hrk0SN6kj5EDMLDaKNL0S") email=Some("jane.doe@acme.com") login=None user=Some("user_2h8op3Isl1QR7tKu5FGNfaLKEoU") at=Some("2024-05-28T08:05:00Z") delivery=Some("msg_p5jXN8AQM9LWM0D4loKWxJek")"#,
        ),
        (
            include_str!("../fixtures/clerk/webhook-organizationInvitation.revoked.json"),
            r#"clerk org_2g7np7Hrk0SN6kj5EDMLDaKNL0S revoked inv=Some("orginv_2g7np7Hrk0SN6kj5EDMLDaKNL0S") email=Some("jane.doe@acme.com") login=None user=None at=Some("2024-05-28T08:05:00Z") delivery=Some("msg_p5jXN8AQM9LWM0D4loKWxJek")"#,
        ),
        (
            include_str!("../fixtures/clerk/webhook-organizationMembership.created.json"),
            r#"clerk org_2g7np7Hrk0SN6kj5EDMLDaKNL0S member_added inv=None email=Some("jane.doe@acme.com") login=None user=Some("user_2h8op3Isl1QR7tKu5FGNfaLKEoU") at=Some("2024-05-28T08:00:00Z") delivery=Some("msg_p5jXN8AQM9LWM0D4loKWxJek")"#,
        ),
        (
            include_str!("../fixtures/clerk/webhook-organizationMembership.deleted.json"),
            // The envelope's time: the membership's own are of its creation.
            r#"clerk org_2g7np7Hrk0SN6kj5EDMLDaKNL0S member_removed inv=None email=Some("jane.doe@acme.com") login=None user=Some("user_2h8op3Isl1QR7tKu5FGNfaLKEoU") at=Some("2024-05-28T08:00:00Z") delivery=Some("msg_p5jXN8AQM9LWM0D4loKWxJek")"#,
        ),
    ];
    for (body, expected) in cases {
        let event = clerk::decode_webhook(&svix_delivery(), body.as_bytes())
            .unwrap()
            .expect("an invitation event");
        assert_eq!(summary(&event), expected);
    }
    // The unbranded header names.
    let plain = headers(&[("webhook-id", "msg_1")]);
    let body = include_str!("../fixtures/clerk/webhook-organizationInvitation.revoked.json");
    let event = clerk::decode_webhook(&plain, body.as_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(event.delivery_id.as_deref(), Some("msg_1"));
}

#[test]
fn clerk_deliveries_of_other_types_are_none_and_bad_ones_typed() {
    let user_created = br#"{"object":"event","type":"user.created","timestamp":1,"data":{}}"#;
    assert_eq!(
        clerk::decode_webhook(&svix_delivery(), user_created),
        Ok(None)
    );
    assert_eq!(
        clerk::decode_webhook(&HeaderMap::new(), user_created),
        Err(WebhookError::MissingHeader("svix-id"))
    );
    assert!(matches!(
        clerk::decode_webhook(&svix_delivery(), b"<html>"),
        Err(WebhookError::NotJson(_))
    ));
    let no_data = br#"{"object":"event","type":"organizationInvitation.created","timestamp":1}"#;
    assert_eq!(
        clerk::decode_webhook(&svix_delivery(), no_data),
        Err(WebhookError::MissingField {
            event: "organizationInvitation.created".into(),
            field: "data",
        })
    );
    // Without `created_at`, the envelope's timestamp, in seconds or in milliseconds.
    for envelope in ["1654012591", "1654012591835"] {
        let body = format!(
            r#"{{"object":"event","type":"organizationInvitation.created","timestamp":{envelope},
                "data":{{"id":"orginv_1","organization_id":"org_1","email_address":"a@example.com"}}}}"#
        );
        let event = clerk::decode_webhook(&svix_delivery(), body.as_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(event.at.unwrap().as_second(), 1654012591);
    }
}

#[test]
fn a_timestamp_past_what_a_clock_holds_is_refused_not_a_panic() {
    let secret = [SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")];
    for timestamp in [
        "18446744073709551615",
        "9223372036854775808",
        "10000000000000000000",
    ] {
        let delivery = headers(&[
            ("svix-id", "msg_1"),
            ("svix-timestamp", timestamp),
            ("svix-signature", "v1,AAAA"),
        ]);
        assert!(matches!(
            clerk::verify_webhook(&delivery, b"{}", &secret, at(1_614_265_330)),
            Err(WebhookError::Future(_))
        ));
    }
}

#[test]
fn a_clerk_membership_event_without_its_user_names_no_one() {
    let body =
        br#"{"object":"event","type":"organizationMembership.deleted","timestamp":1716883300,
        "data":{"id":"orgmem_1","organization":{"id":"org_1"},"created_at":1716883200000}}"#;
    let event = clerk::decode_webhook(&svix_delivery(), body)
        .unwrap()
        .unwrap();
    assert_eq!(event.kind, orginvite::events::EventKind::MemberRemoved);
    assert_eq!((event.user_id, event.email), (None, None));
    assert_eq!(event.at.unwrap().as_second(), 1716883300);
}

#[test]
fn redeliveries_are_dropped_by_the_deduplicator_within_its_bound() {
    let seen = orginvite::events::Deduplicator::new(2);
    assert!(seen.first_time("a"));
    assert!(!seen.first_time("a"));
    assert!(seen.first_time("b"));
    assert!(seen.first_time("c"));
    // Bounded: the oldest is forgotten.
    assert_eq!(seen.len(), 2);
    assert!(seen.first_time("a"));
    assert!(!seen.first_time("c"));
}

use proptest::prelude::*;

proptest! {
    /// Any body and any header values: a typed answer, never a panic.
    #[test]
    fn any_delivery_is_answered_without_panicking(
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..256),
            r#"\{"(action|type|data|organization|membership|invitation)":[\[\]\{\}":,a-z0-9_.]{0,60}\}"#
                .prop_map(String::into_bytes),
        ],
        event in "(organization|push|)",
        signature in "(sha256=|v1,)?[0-9a-zA-Z+/=]{0,70}",
        timestamp in "[0-9]{0,21}",
    ) {
        let headers = headers(&[
            ("x-github-event", event.as_str()),
            ("x-github-delivery", "d-1"),
            ("x-hub-signature-256", signature.as_str()),
            ("svix-id", "msg_1"),
            ("svix-timestamp", timestamp.as_str()),
            ("svix-signature", signature.as_str()),
        ]);
        let secrets = [SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")];
        let _ = github::receive_webhook(&headers, &body, &secrets);
        let _ = clerk::receive_webhook(&headers, &body, &secrets, at(1_614_265_330));
        let _ = github::decode_webhook(&headers, &body);
        let _ = clerk::decode_webhook(&headers, &body);
    }
}
