//! One MPTCP subflow carrying more than 4 GiB each way through a shard (RFC 8684 §3.3.1: the
//! subflow sequence numbers of mappings are relative and 32-bit, the stream offsets they are
//! matched against must not be). Before the TCP engine's stream offsets were 64-bit, an upload
//! stalled for good at exactly 2^32 bytes: the mapping of the next segment was expanded
//! against a wrapped offset and never covered the bytes it described.
//!
//! 3 million segments each way: about 10 s in a release build, so a debug build skips it.

#[path = "../benches/endpoint/hosts.rs"]
#[allow(dead_code)] // The benchmark's rig; this test forwards segments and reads counters.
mod hosts;

use hosts::{Direction, MSS_DATA, Rig};

/// Past 2^32 bytes by a few megabytes.
const SEGMENTS: u64 = (1 << 32) / MSS_DATA as u64 + 4096;

#[test]
#[cfg_attr(debug_assertions, ignore = "forwards 4.3 GB each way: run with --release")]
fn an_mptcp_subflow_carries_more_than_4_gib_each_way() {
    for direction in [Direction::Upload, Direction::Download] {
        let mut rig = Rig::established(true);
        for _ in 0..SEGMENTS {
            let _ = rig.forward_one(direction);
        }
        let s = rig.shard().stats();
        let moved = match direction {
            Direction::Upload => s.bytes_to_origin,
            Direction::Download => s.bytes_to_client,
        };
        assert!(moved > 1 << 32, "{}: {moved} bytes", direction.name());
    }
}
