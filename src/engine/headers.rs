//! Reading the response headers vendors use for rate limits and request ids.
//!
//! Pure functions, shared by every vendor mapping. Each reads by the rule documented on
//! [`RetryPolicy`](crate::RetryPolicy): the first readable value of a header counts, and an
//! unreadable value counts as absent.

use std::time::{Duration, SystemTime};

use jiff::{SignedDuration, Timestamp};
use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::retry::Wait;
use crate::model::error::RateLimitInfo;

/// The first value of `name` that is valid UTF-8 text, trimmed and non-empty.
pub(crate) fn text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(str::trim)
        .find(|value| !value.is_empty())
        .map(str::to_owned)
}

/// `Retry-After`: delta-seconds, or an HTTP date (RFC 9110's IMF-fixdate).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Wait> {
    headers
        .get_all(RETRY_AFTER)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(parse_retry_after)
}

/// One `Retry-After` value.
pub(crate) fn parse_retry_after(value: &str) -> Option<Wait> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Digits only: seconds. More seconds than fit in a u64 still mean "very long".
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Wait::For(Duration::from_secs(seconds)));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value)
        .ok()?;
    Some(Wait::Until(SystemTime::from(at)))
}

/// An HTTP date (`Tue, 01 Dec 2026 10:00:00 GMT`).
pub(crate) fn parse_http_date(value: &str) -> Option<SystemTime> {
    jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value.trim())
        .ok()
        .map(SystemTime::from)
}

/// One duration value: Go-style (`1m30s`) or ISO 8601 (`PT1M`), not negative.
pub(crate) fn parse_duration(value: &str) -> Option<Duration> {
    let signed = value.trim().parse::<SignedDuration>().ok()?;
    Duration::try_from(signed).ok()
}

/// Resolves a wait to a duration from `now`, for reporting.
pub(crate) fn wait_from(wait: Wait, now: SystemTime) -> Option<Duration> {
    match wait {
        Wait::For(duration) => Some(duration),
        Wait::Until(at) => Some(at.duration_since(now).unwrap_or(Duration::ZERO)),
        Wait::Backoff { .. } => None,
    }
}

/// The `x-ratelimit-*` headers vendors agree on (`limit`, `remaining`, `used`) and
/// `Retry-After`, as far as they are present; every other `x-ratelimit-<field>` goes to
/// `vendor`, which reads what its vendor means by it (GitHub's `reset` is a Unix time, Elastic
/// Cloud's `interval` a window).
///
/// One pass over the headers (an answer can carry dozens): each field is the first value of
/// its header that reads (a whole number for the common ones).
pub(crate) fn rate_limit_info(
    headers: &HeaderMap,
    now: SystemTime,
    mut vendor: impl FnMut(&str, &str, &mut RateLimitInfo),
) -> RateLimitInfo {
    let mut info = RateLimitInfo {
        retry_after: retry_after(headers).and_then(|wait| wait_from(wait, now)),
        ..RateLimitInfo::default()
    };
    for (name, value) in headers {
        let Some(field) = name.as_str().strip_prefix("x-ratelimit-") else {
            continue;
        };
        let Ok(value) = value.to_str() else {
            continue;
        };
        let value = value.trim();
        let number = || value.parse::<u64>().ok();
        match field {
            "limit" if info.limit.is_none() => info.limit = number(),
            "remaining" if info.remaining.is_none() => info.remaining = number(),
            "used" if info.used.is_none() => info.used = number(),
            "limit" | "remaining" | "used" => {}
            other => vendor(other, value, &mut info),
        }
    }
    info
}

/// A vendor that sends no rate-limit fields beyond the common ones.
pub(crate) fn no_more_fields(_field: &str, _value: &str, _info: &mut RateLimitInfo) {}

/// A Unix time in whole seconds, as a timestamp.
pub(crate) fn unix_seconds(value: &str) -> Option<Timestamp> {
    value
        .parse::<u64>()
        .ok()
        .and_then(|seconds| i64::try_from(seconds).ok())
        .and_then(|seconds| Timestamp::from_second(seconds).ok())
}

/// The links of one `Link` header value (RFC 8288): each target URL with its `rel` value
/// (unquoted; possibly several space-separated relation types). A link whose target is not
/// enclosed in `<...>` ends the parse.
pub(crate) fn links(value: &str) -> Vec<(&str, &str)> {
    let mut links = Vec::new();
    let mut rest = value;
    loop {
        let Some(open) = rest.find('<') else {
            return links;
        };
        let Some(close) = rest[open..].find('>').map(|i| open + i) else {
            return links;
        };
        let target = &rest[open + 1..close];
        let after = &rest[close + 1..];
        // The parameters run to the next link (a comma outside quotes followed by `<`).
        let end = next_link_start(after);
        let params = after[..end].trim_end();
        let params = params.strip_suffix(',').unwrap_or(params);
        let rel = params
            .split(';')
            .filter_map(|param| param.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("rel"))
            .map(|(_, value)| value.trim().trim_matches('"'))
            .unwrap_or("");
        links.push((target.trim(), rel));
        rest = &after[end..];
    }
}

/// Where the next link of a `Link` header starts in `text` (the parameters of the current
/// one come before): at a `<` after a comma outside quotes, or the end.
fn next_link_start(text: &str) -> usize {
    let mut quoted = false;
    let mut after_comma = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => after_comma = true,
            '<' if !quoted && after_comma => return i,
            c if c.is_whitespace() => {}
            _ if !quoted => after_comma = false,
            _ => {}
        }
    }
    text.len()
}

#[cfg(test)]
mod tests {

    #[test]
    fn link_headers() {
        let value = r#"<https://api.github.com/organizations/1/invitations?per_page=2&page=2>; rel="next", <https://api.github.com/organizations/1/invitations?per_page=2&page=5>; rel="last""#;
        assert_eq!(
            super::links(value),
            [
                (
                    "https://api.github.com/organizations/1/invitations?per_page=2&page=2",
                    "next"
                ),
                (
                    "https://api.github.com/organizations/1/invitations?per_page=2&page=5",
                    "last"
                ),
            ]
        );
        // Commas inside targets and quoted parameters, several relation types, no quotes.
        let odd = r#"<https://x.test/a?ids=1,2>; title="a, b"; rel="prev next",<https://x.test/z>;rel=last"#;
        assert_eq!(
            super::links(odd),
            [
                ("https://x.test/a?ids=1,2", "prev next"),
                ("https://x.test/z", "last")
            ]
        );
        assert!(super::links("").is_empty());
        assert!(super::links("garbage; rel=next").is_empty());
        assert_eq!(super::links("<unterminated; rel=next"), []);
    }
    use super::*;
    use reqwest::header::HeaderValue;
    use std::time::UNIX_EPOCH;

    fn map(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_bytes(value).unwrap());
        }
        headers
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(
            parse_retry_after("120"),
            Some(Wait::For(Duration::from_secs(120)))
        );
        assert_eq!(parse_retry_after(" 0 "), Some(Wait::For(Duration::ZERO)));
        assert_eq!(
            parse_retry_after("99999999999999999999999"),
            Some(Wait::For(Duration::from_secs(u64::MAX)))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Wait::Until(UNIX_EPOCH + Duration::from_secs(784_111_777)))
        );
        for garbage in [
            "",
            "-5",
            "1.5",
            "soon",
            "Sun, 99 Nov 1994 08:49:37 GMT",
            "12abc",
        ] {
            assert_eq!(parse_retry_after(garbage), None, "{garbage:?}");
        }
    }

    #[test]
    fn first_readable_value_counts() {
        let headers = map(&[
            ("retry-after", b"soon"),
            ("retry-after", b"30"),
            ("retry-after", b"90"),
        ]);
        assert_eq!(
            retry_after(&headers),
            Some(Wait::For(Duration::from_secs(30)))
        );
        let now = UNIX_EPOCH;
        let headers = map(&[
            ("x-ratelimit-remaining", b"\xff"),
            ("x-ratelimit-limit", b"many"),
            ("x-ratelimit-remaining", b"0"),
            ("x-ratelimit-limit", b" 60 "),
            ("x-ratelimit-remaining", b"7"),
            ("x-ratelimit-used", b"3"),
            ("x-ratelimit-resource", b"  "),
            ("x-ratelimit-interval", b"1m"),
            ("x-ratelimit-reset", b"60"),
        ]);
        // The common fields here; the others go to the vendor's reader, trimmed, in order.
        let mut others = Vec::new();
        let info = rate_limit_info(&headers, now, |field, value, _| {
            others.push(format!("{field}={value}"));
        });
        assert_eq!(info.remaining, Some(0));
        assert_eq!(info.limit, Some(60));
        assert_eq!(info.used, Some(3));
        assert_eq!(others, ["resource=", "interval=1m", "reset=60"]);
        let headers = map(&[("x-ratelimit-remaining", b"-1")]);
        let info = rate_limit_info(&headers, now, no_more_fields);
        assert_eq!(info.remaining, None);
        assert!(info.is_empty());
    }

    #[test]
    fn rate_limit_headers() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let headers = map(&[
            ("x-ratelimit-limit", b"5000"),
            ("x-ratelimit-remaining", b"0"),
            ("x-ratelimit-used", b"5000"),
            ("retry-after", b"Thu, 01 Jan 1970 00:16:50 GMT"),
        ]);
        let info = rate_limit_info(&headers, now, no_more_fields);
        assert_eq!(info.limit, Some(5000));
        assert_eq!(info.remaining, Some(0));
        assert_eq!(info.used, Some(5000));
        assert_eq!(info.retry_after, Some(Duration::from_secs(10)));
        assert!(rate_limit_info(&HeaderMap::new(), now, no_more_fields).is_empty());
    }

    #[test]
    fn unix_times() {
        assert_eq!(
            unix_seconds("60"),
            Some(Timestamp::from_second(60).unwrap())
        );
        for garbage in ["-5", "soon", "", "18446744073709551615"] {
            assert_eq!(unix_seconds(garbage), None, "{garbage:?}");
        }
    }

    #[test]
    fn durations() {
        let cases = [
            ("1m", 60),
            ("60s", 60),
            (" 1h0m0s ", 3_600),
            ("1h", 3_600),
            ("1m30s", 90),
            ("PT1M", 60),
            ("0s", 0),
        ];
        for (text, seconds) in cases {
            assert_eq!(
                parse_duration(text),
                Some(Duration::from_secs(seconds)),
                "{text:?}"
            );
        }
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1_500)));
        for garbage in [
            "",
            "soon",
            "60",
            "-1m",
            "1x",
            "m1",
            "1h0m0s0",
            "99999999999999999999999h",
            "\u{0}",
        ] {
            assert_eq!(parse_duration(garbage), None, "{garbage:?}");
        }
    }
}
