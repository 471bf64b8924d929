//! One MPTCP option (kind 30) under each version: never panics, and a parsed option
//! round-trips: parse(emit(parse(x))) == parse(x).
#![no_main]

use libfuzzer_sys::fuzz_target;
use netreaktor_pipeline::wire::mptcp::{MptcpOption, MptcpVersion};

fuzz_target!(|data: &[u8]| {
    let mut option = Vec::with_capacity(data.len() + 2);
    option.push(30);
    option.push(u8::try_from(data.len() + 2).unwrap_or(u8::MAX));
    option.extend_from_slice(data);
    for version in [MptcpVersion::V0, MptcpVersion::V1] {
        let Ok(parsed) = MptcpOption::parse(&option, version) else {
            continue;
        };
        let mut out = vec![0; parsed.buffer_len()];
        parsed.emit(&mut out);
        assert_eq!(MptcpOption::parse(&out, version).ok(), Some(parsed));
    }
});
