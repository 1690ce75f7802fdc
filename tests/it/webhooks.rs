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
