//! The buffer budget (`shard/memory.rs`): a client that does not read while its origin pushes
//! puts the shard under pressure with far less than its configured buffers held, still makes
//! progress under pressure, and every accounted byte returns once the connections close.

use super::super::*;
use super::{Rig, cfg};
use crate::tcp::{Config as TcpConfig, MIN_BUFFER};
use crate::time::Duration;

/// Fires the timers due within `dt` and moves the segments that follow.
fn step(rig: &mut Rig, dt: Duration) {
    rig.now += dt;
    rig.shard.handle_timeout(rig.now);
    rig.client.handle_timeout(rig.now);
    if let Some(origin) = &mut rig.origin {
        origin.handle_timeout(rig.now);
    }
    rig.shuttle();
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn a_slow_reader_is_held_under_pressure_and_its_bytes_return_after_close() {
    let budget = 64 << 10;
    let big = TcpConfig { send_buffer: 4 << 20, recv_buffer: 4 << 20, ..TcpConfig::default() };
    let mut config = cfg(0, 1);
    config.buffer_budget = Some(budget);
    config.origin_tcp = big;
    config.services[0].listener.tcp = big;
    let mut rig = Rig::with(config);
    rig.shuttle();
    let data = pattern(2 << 20);
    let mut sent = 0;
    // The origin pushes for 10 s; the client reads nothing.
    for _ in 0..1000 {
        sent += rig.origin.as_mut().expect("connected").send(&data[sent..]);
        step(&mut rig, Duration::from_millis(10));
    }
    let held = rig.shard.buffer_stats();
    assert!(held.pressure, "{held:?}");
    assert_eq!(held.pressure_entries, 1);
    assert_eq!(held.limit, budget as u64);
    // Far below the two 4 MiB buffers: the 64 KiB the client's window took leaves a send
    // buffer of at most twice that, and the origin side its initial receive space.
    assert!(held.bytes <= (4 * crate::tcp::INITIAL_RCV_SPACE) as u64, "{held:?}");
    let heap: usize = rig.shard.splices().map(Splice::heap_bytes).sum();
    assert_eq!(held.bytes, heap as u64, "accounted incrementally, equal to the walk");
    // The client reads now: the transfer completes byte-exact under pressure.
    let mut got = Vec::new();
    let mut buf = vec![0u8; 4096];
    for _ in 0..100_000 {
        sent += rig.origin.as_mut().expect("connected").send(&data[sent..]);
        let n = rig.client.recv(&mut buf);
        got.extend_from_slice(&buf[..n]);
        let stats = rig.shard.buffer_stats();
        if stats.pressure {
            // No splice grows past the minimum while the shard is under pressure.
            assert!(stats.bytes <= held.bytes.max(4 * MIN_BUFFER as u64), "{stats:?}");
        }
        if got.len() == data.len() {
            break;
        }
        step(&mut rig, Duration::from_millis(1));
    }
    assert!(got == data, "{} of {} bytes", got.len(), data.len());
    // Both close; every byte accounted returns and pressure ends.
    rig.origin.as_mut().expect("connected").close(rig.now);
    rig.client.close(rig.now);
    for _ in 0..200 {
        step(&mut rig, Duration::from_secs(1));
        rig.client.recv(&mut buf);
    }
    assert_eq!(rig.shard.connections(), 0);
    let after = rig.shard.buffer_stats();
    assert_eq!(after.bytes, 0, "{after:?}");
    assert!(!after.pressure);
    assert_eq!(after.pressure_entries, 1);
}

#[test]
fn pressure_begins_at_three_quarters_and_ends_below_half() {
    let mut b = BufferBudget::new(Some(1000));
    b.account(0, 700);
    assert!(!b.pressure());
    b.account(700, 750);
    assert!(b.pressure(), "entered at 750");
    b.account(0, 300);
    b.account(300, 0);
    assert!(b.pressure(), "held above half");
    b.account(750, 499);
    assert!(!b.pressure(), "left below 500");
    assert_eq!(b.stats().pressure_entries, 1);
    b.account(499, 0);
    assert_eq!(b.in_use(), 0);
    let mut none = BufferBudget::new(None);
    none.account(0, usize::MAX / 2);
    assert!(!none.pressure(), "no budget, no pressure");
}
