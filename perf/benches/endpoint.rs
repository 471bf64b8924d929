//! The cost of forwarding one 1448-byte segment through a worker's shard: an Ethernet frame
//! in, the frame toward the other side out (checksums verified on the way in and computed on
//! the way out, the Ethernet header written), in steady state, with the acknowledgements that
//! steady state brings (one per two segments, RFC 9293 §3.8.6.3) counted in.
//!
//! - `forward/{tcp,mptcp}/{upload,download}`: a client (plain TCP, or MPTCP v1 with a DSS on
//!   every segment, RFC 8684 §3.3) and an origin around one shard. Only the shard's calls are
//!   timed (`handle_frame`, `poll_frame`, `handle_timeout`); the
//!   two hosts' work happens between timed spans. One iteration is one data segment
//!   delivered to the far host.
//! - `floor/copy_and_checksum`: what forwarding one segment cannot go below: one copy of the
//!   1448 bytes and one Internet checksum over the TCP segment.
//!
//! Run: `cargo bench -p netreaktor-bench --bench endpoint`.

#[path = "endpoint/hosts.rs"]
mod hosts;

use std::hint::black_box;
use std::time::Duration as WallDuration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use netreaktor_pipeline::wire::checksum;

use hosts::{Direction, MSS_DATA, Rig};

fn forward(c: &mut Criterion) {
    let mut group = c.benchmark_group("forward");
    group.throughput(Throughput::Elements(1));
    for mptcp in [false, true] {
        for direction in [Direction::Upload, Direction::Download] {
            let name = format!("{}/{}", if mptcp { "mptcp" } else { "tcp" }, direction.name());
            let mut rig = Rig::established(mptcp);
            group.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    let mut spent = WallDuration::ZERO;
                    for _ in 0..iters {
                        spent += rig.forward_one(direction);
                    }
                    spent
                });
            });
        }
    }
    group.finish();
}

fn floor(c: &mut Criterion) {
    let src = vec![0x5au8; MSS_DATA];
    let mut dst = vec![0u8; MSS_DATA + 20];
    let mut group = c.benchmark_group("floor");
    group.throughput(Throughput::Elements(1));
    group.bench_function("copy_and_checksum", |b| {
        b.iter(|| {
            dst[20..].copy_from_slice(black_box(&src));
            black_box(checksum::data(&dst))
        });
    });
    group.finish();
}

criterion_group!(benches, forward, floor);
criterion_main!(benches);
