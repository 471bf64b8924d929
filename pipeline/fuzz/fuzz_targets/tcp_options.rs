//! The TCP option area: iteration terminates, never panics, and what decodes re-encodes to
//! the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netreaktor_pipeline::wire::tcp_option::{TcpOption, TcpOptions};

fuzz_target!(|data: &[u8]| {
    let options = TcpOptions::new(&data[..data.len().min(40)]);
    let mut consumed = 0;
    for option in options.iter() {
        let Ok(option) = option else { break };
        let mut out = [0u8; 64];
        let len = option.emit(&mut out);
        if !matches!(option, TcpOption::EndOfList) {
            assert_eq!(&out[..len], &options.as_bytes()[consumed..consumed + len]);
        }
        consumed += len;
    }
    let _ = (options.timestamps(), options.mss(), options.window_scale(), options.sack_blocks());
    for raw in options.mptcp() {
        let _ = raw;
    }
});
