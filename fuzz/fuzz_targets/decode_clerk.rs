#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use orginvite::fuzzing::Target;

fuzz_target!(|data: &[u8]| common::run(Target::Clerk, data));
