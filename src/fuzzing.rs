//! Entry points for fuzzing the vendor encoders, decoders and header parsers, and for
//! benchmarking them (feature `fuzzing`). Not part of the stable API: they exist for `fuzz/`
//! and `benches/` and may change at any time.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use url::Url;

use crate::engine::retry::RetryPolicy;
use crate::engine::retry::{Decision, RetryHint, Wait};
use crate::engine::{headers, RawResponse};
use crate::model::error::{Error, RateLimitInfo};
use crate::model::invitation::Invitation;
use crate::model::kind::ProviderKind;
use crate::model::request::CreateInvitation;
use crate::vendors::codec;
use crate::vendors::codec::Reading;

/// Which vendor's decoder to feed.
pub type Target = ProviderKind;

/// The organization of the requests and queries the entry points build: one every vendor
/// accepts.
const ORGANIZATION: &str = "acme";

/// A fixed moment for decoding, so runs repeat.
pub fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// Builds a header map from raw pairs, skipping pairs that are not valid HTTP.
pub fn header_map(pairs: &[(&str, &[u8])]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            map.append(name, value);
        }
    }
    map
}

/// Builds the HTTP request `target` would send for `request` (validation included): the
/// method, the URL and the body, on the vendor's default base URL.
pub fn encode(target: Target, request: &CreateInvitation) -> Result<(Method, Url, Bytes), Error> {
    let plan = codec(target).encode(request)?;
    Ok((plan.method, plan.url, plan.body))
}

/// Decodes one answer as `target` would, for an email invitation to `email`.
pub fn decode(
    target: Target,
    status: u16,
    headers: HeaderMap,
    body: &[u8],
    email: &str,
) -> Result<Invitation, Error> {
    Answer::new(target, status, headers, body, email).decode()
}

/// An answer to a create, ready to be decoded: what [`decode`] takes apart, so that the
/// decoding alone can be timed or counted.
#[derive(Debug)]
pub struct Answer {
    target: Target,
    request: CreateInvitation,
    response: RawResponse,
}

impl Answer {
    /// The answer `status`, `headers`, `body` to `target`'s create of an email invitation to
    /// `email`.
    pub fn new(
        target: Target,
        status: u16,
        headers: HeaderMap,
        body: &[u8],
        email: &str,
    ) -> Answer {
        Answer {
            target,
            request: CreateInvitation::email(ORGANIZATION, email),
            response: RawResponse::read(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                headers,
                Bytes::copy_from_slice(body),
            ),
        }
    }

    /// Decodes the answer as the create call would.
    pub fn decode(&self) -> Result<Invitation, Error> {
        let reading = Reading {
            response: &self.response,
            now: now(),
        };
        codec(self.target)
            .created(&self.request, reading)
            .map_err(|failure| failure.error)
    }
}

/// Decodes one page of a list of pending invitations as `target` would; the number of
/// invitations on the page.
pub fn decode_list(
    target: Target,
    status: u16,
    headers: HeaderMap,
    body: Bytes,
) -> Result<usize, Error> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let response = RawResponse::read(status, headers, body);
    let query = crate::model::request::ListInvitations::new(ORGANIZATION);
    let reading = Reading {
        response: &response,
        now: now(),
    };
    codec(target)
        .page(&query, reading)
        .map_err(|failure| failure.error)
}

/// Reads a `Retry-After` value into a wait from [`now`].
pub fn retry_after(value: &str) -> Option<Duration> {
    headers::parse_retry_after(value).and_then(|wait| headers::wait_from(wait, now()))
}

/// Reads the rate-limit headers of an answer as `target` does.
pub fn rate_limit(target: Target, headers: &HeaderMap) -> RateLimitInfo {
    codec(target).rate_limit(headers, now())
}

/// Runs the retry decision for an answer's `Retry-After` headers, at attempt `attempt`,
/// `elapsed` into a call; returns the wait, or `None` to stop.
pub fn retry_decision(
    headers: &HeaderMap,
    attempt: u32,
    elapsed: Duration,
    unit: f64,
) -> Option<Duration> {
    let hint = RetryHint::After(headers::retry_after(headers).unwrap_or(Wait::Backoff {
        floor: Duration::ZERO,
    }));
    match RetryPolicy::default().decide(hint, attempt, attempt, elapsed, now(), unit) {
        Decision::RetryAfter(wait) => Some(wait),
        Decision::Stop { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::error::ErrorKind;
    use proptest::prelude::*;

    const TARGETS: [Target; 3] = ProviderKind::ALL;

    fn statuses() -> impl Strategy<Value = u16> {
        prop_oneof![
            Just(200u16),
            Just(201),
            Just(400),
            Just(401),
            Just(403),
            Just(404),
            Just(409),
            Just(422),
            Just(429),
            Just(449),
            Just(500),
            Just(503),
            100u16..600
        ]
    }

    /// The words of `list`.
    fn words(list: &'static str) -> Vec<&'static str> {
        list.split_whitespace().collect()
    }

    /// The vendors' field names, for JSON values that look like their answers.
    const JSON_KEYS: &str = concat!(
        "id email errors code message invitations token created_at expires_at role status ",
        "meta organization role_assignments",
    );

    /// JSON values of any shape, a few levels deep, with the vendors' field names about.
    fn json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            ".{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            let key = prop_oneof![
                prop::sample::select(words(JSON_KEYS)).prop_map(str::to_owned),
                "[a-z_]{1,8}",
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map(key, inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// The vendors' header names, read by the parsers under test.
    const HEADER_NAMES: &str = concat!(
        "retry-after x-ratelimit-remaining x-ratelimit-reset x-ratelimit-limit x-ratelimit-used ",
        "x-ratelimit-interval x-github-request-id x-cloud-error-codes clerk-trace-id cf-ray",
    );

    fn header_pairs() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
        let name = prop::sample::select(words(HEADER_NAMES)).prop_map(str::to_owned);
        let value = prop_oneof![
            prop::collection::vec(any::<u8>(), 0..24),
            any::<i64>().prop_map(|n| n.to_string().into_bytes()),
            any::<u64>().prop_map(|n| n.to_string().into_bytes()),
            Just(b"Sun, 06 Nov 1994 08:49:37 GMT".to_vec()),
            Just(b"Fri, 31 Dec 9999 23:59:59 GMT".to_vec()),
            "[0-9]{1,30}[smhd]?".prop_map(String::into_bytes),
        ];
        prop::collection::vec((name, value), 0..6)
    }

    fn map(pairs: &[(String, Vec<u8>)]) -> HeaderMap {
        let borrowed: Vec<(&str, &[u8])> = pairs
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        header_map(&borrowed)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn random_bytes_never_panic(status in statuses(), body in prop::collection::vec(any::<u8>(), 0..512), pairs in header_pairs()) {
            for target in TARGETS {
                let result = decode(target, status, map(&pairs), &body, "jane@example.com");
                if let Err(error) = &result {
                    let _ = (error.kind(), error.to_string(), format!("{error:?}"));
                    if status >= 400 {
                        prop_assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
                    }
                }
                if (200..300).contains(&status) {
                    // A success status never becomes a vendor-error kind.
                    if let Err(error) = &result {
                        prop_assert_eq!(error.kind(), ErrorKind::Decode);
                        prop_assert!(error.may_have_been_created());
                    }
                }
            }
        }

        #[test]
        fn random_json_never_panics(status in statuses(), body in json(), pairs in header_pairs()) {
            let bytes = serde_json::to_vec(&body).unwrap();
            for target in TARGETS {
                match decode(target, status, map(&pairs), &bytes, "jane@example.com") {
                    Ok(invitation) => prop_assert!((200..300).contains(&status), "{invitation:?}"),
                    Err(error) => {
                        let _ = (error.kind().as_str(), error.to_string());
                        prop_assert!(!(error.kind() == ErrorKind::RateLimited && (200..300).contains(&status)));
                    }
                }
            }
        }

        #[test]
        fn header_parsers_never_panic(pairs in header_pairs(), attempt in 0u32..100, elapsed in any::<u64>(), unit in 0.0f64..1.0) {
            let headers = map(&pairs);
            for target in TARGETS {
                let _ = rate_limit(target, &headers);
            }
            if let Some(wait) = retry_decision(&headers, attempt, Duration::from_millis(elapsed), unit) {
                prop_assert!(wait <= Duration::from_secs(120), "{wait:?} is over the default max_wait");
            }
            for (_, value) in &pairs {
                let _ = retry_after(&String::from_utf8_lossy(value));
            }
        }

        #[test]
        fn retry_after_reads_whole_seconds_exactly(seconds in any::<u64>()) {
            prop_assert_eq!(retry_after(&seconds.to_string()), Some(Duration::from_secs(seconds)));
        }
    }
}
