//! Splits fuzz input into an answer: a status, a few headers, and a body.

use orginvite::fuzzing::{self, Target};

const HEADER_NAMES: [&str; 10] = [
    "retry-after",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-ratelimit-limit",
    "x-ratelimit-used",
    "x-ratelimit-interval",
    "x-github-request-id",
    "x-cloud-error-codes",
    "clerk-trace-id",
    "cf-ray",
];

/// Layout: 2 bytes status, 1 byte header count, per header 1 byte name index + 1 byte length
/// + value, then the body.
pub fn run(target: Target, data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let status = 100 + u16::from_le_bytes([data[0], data[1]]) % 500;
    let count = usize::from(data[2] % 8);
    let mut rest = &data[3..];
    let mut pairs: Vec<(&str, &[u8])> = Vec::new();
    for _ in 0..count {
        if rest.len() < 2 {
            break;
        }
        let name = HEADER_NAMES[usize::from(rest[0]) % HEADER_NAMES.len()];
        let len = usize::from(rest[1]).min(rest.len() - 2);
        pairs.push((name, &rest[2..2 + len]));
        rest = &rest[2 + len..];
    }
    let headers = fuzzing::header_map(&pairs);
    let result = fuzzing::decode(target, status, headers, rest, "jane@example.com");
    if let Err(error) = result {
        let _ = (
            error.kind(),
            error.to_string(),
            format!("{error:?}"),
            error.may_have_been_created(),
        );
    }
}
