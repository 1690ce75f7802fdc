#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use orginvite::fuzzing;

const NAMES: [&str; 6] = [
    "retry-after",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-ratelimit-limit",
    "x-ratelimit-used",
    "x-ratelimit-interval",
];

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let attempt = u32::from(data[0]);
    let name = NAMES[usize::from(data[1]) % NAMES.len()];
    let value = &data[2..];
    let _ = fuzzing::retry_after(&String::from_utf8_lossy(value));
    let headers = fuzzing::header_map(&[(name, value), (name, value)]);
    for target in fuzzing::Target::ALL {
        let _ = fuzzing::rate_limit(target, &headers);
    }
    if let Some(wait) = fuzzing::retry_decision(&headers, attempt, Duration::ZERO, 0.5) {
        assert!(wait <= Duration::from_secs(120));
    }
});
