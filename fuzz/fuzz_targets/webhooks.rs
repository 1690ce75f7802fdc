#![no_main]

//! Webhook deliveries: any headers and body through both vendors' verifiers and decoders.
//! Nothing may panic, and an event decoded always names its delivery.

use libfuzzer_sys::fuzz_target;
use orginvite::fuzzing;
use orginvite::{clerk, github, SecretString};

const NAMES: [&str; 10] = [
    "x-github-event",
    "x-github-delivery",
    "x-hub-signature-256",
    "x-hub-signature",
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

// Layout: 1 byte header count, per header 1 byte name index + 1 byte length + value, then
// the body.
fuzz_target!(|data: &[u8]| {
    let Some((&count, mut rest)) = data.split_first() else {
        return;
    };
    let mut pairs: Vec<(&str, &[u8])> = Vec::new();
    for _ in 0..count % 10 {
        if rest.len() < 2 {
            break;
        }
        let name = NAMES[usize::from(rest[0]) % NAMES.len()];
        let len = usize::from(rest[1]).min(rest.len() - 2);
        pairs.push((name, &rest[2..2 + len]));
        rest = &rest[2 + len..];
    }
    let headers = fuzzing::header_map(&pairs);
    let body = rest;
    let secrets = [
        SecretString::from("It's a Secret to Everybody"),
        SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    ];
    let _ = github::verify_webhook(&headers, body, &secrets);
    let _ = clerk::verify_webhook(&headers, body, &secrets[1..], fuzzing::now());
    for decoded in [
        github::decode_webhook(&headers, body),
        clerk::decode_webhook(&headers, body),
    ] {
        if let Ok(Some(event)) = decoded {
            // Every event names its delivery and its organization.
            assert!(event.delivery_id.is_some());
            let _ = serde_json::to_string(&event);
        }
    }
});
