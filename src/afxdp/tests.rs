//! Unit tests of the configuration and frame budget (anywhere), and, as root only, real
//! sockets over veth between two network namespaces (see `veth.rs`).

mod veth;

use super::*;

/// True when running as root; otherwise prints why the test is skipped.
fn root_or_skip(test: &str) -> bool {
    crate::testnet::root_or_skip(test, "AF_XDP sockets, BPF programs, namespaces")
}

#[test]
fn default_budget_splits_frames_between_rx_and_tx() {
    let config = PortConfig::default();
    assert_eq!(config.budget().expect("valid"), FrameBudget { rx: 2048, tx: 2048 });
    let small_fill = PortConfig { fill_ring: 512, ..PortConfig::default() };
    assert_eq!(small_fill.budget().expect("valid"), FrameBudget { rx: 512, tx: 2048 });
    let small_rings = PortConfig { frames: 64, tx_ring: 16, ..PortConfig::default() };
    assert_eq!(small_rings.budget().expect("valid"), FrameBudget { rx: 32, tx: 16 });
    let odd = PortConfig { frames: 5, completion_ring: 2, ..PortConfig::default() };
    assert_eq!(odd.budget().expect("valid"), FrameBudget { rx: 2, tx: 2 });
}

#[test]
fn bad_configurations_are_refused() {
    let cases = [
        PortConfig { rx_ring: 1000, ..PortConfig::default() },
        PortConfig { tx_ring: 0, ..PortConfig::default() },
        PortConfig { fill_ring: 3, ..PortConfig::default() },
        PortConfig { completion_ring: 6, ..PortConfig::default() },
        PortConfig { frames: 1, ..PortConfig::default() },
        PortConfig { rx_batch: 0, ..PortConfig::default() },
        PortConfig { need_wakeup: false, ..PortConfig::default() },
    ];
    for config in cases {
        assert!(config.budget().is_err(), "{config:?}");
    }
}

#[test]
fn frame_sizes_leave_the_kernel_headroom() {
    assert_eq!(FrameSize::TwoK.capacity(), 1792);
    assert_eq!(FrameSize::FourK.capacity(), 3840);
    assert_eq!(BindMode::ZeroCopy.to_string(), "zero-copy");
    assert_eq!(BindMode::Copy.to_string(), "copy");
}

#[test]
fn counters_display() {
    let counters = PortCounters { rx: 3, tx: 2, completions: 1, ..PortCounters::default() };
    assert!(counters.to_string().starts_with("rx=3 tx=2 completions=1 tx_ring_full=0"));
    let kernel = KernelCounters { fill_ring_empty: 4, ..KernelCounters::default() };
    assert!(kernel.to_string().contains("fill_ring_empty=4"), "{kernel}");
}
