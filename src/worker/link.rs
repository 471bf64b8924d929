//! The link layer around the workers: each interface's MAC, and the origins' next hops.
//!
//! A worker never asks the kernel anything on its data path. Its shard learns every peer's
//! MAC from the frames the peer sends (`netreaktor_pipeline::shard`, `link.rs`); what no frame
//! has taught yet, the next hop toward each origin before the first SYN to it, the control
//! thread reads from the kernel's neighbour table ([`crate::neigh`]) into a [`NextHopBoard`]
//! at start and then once a second ([`Resolver`]). Workers read the board without locks when
//! its version moves, between batches, and hand the addresses to their shards.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::neigh::Neighbours;

/// How often the control thread reads the origins' next hops again.
pub(crate) const REFRESH: Duration = Duration::from_secs(1);

/// Bit of a board cell that says it holds a MAC (in its low 48 bits).
const KNOWN: u64 = 1 << 48;

/// An interface's MAC, from sysfs.
pub(crate) fn interface_mac(interface: &str) -> anyhow::Result<[u8; 6]> {
    let path = format!("/sys/class/net/{interface}/address");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let mut mac = [0u8; 6];
    let mut parts = text.trim().split(':');
    for byte in &mut mac {
        let part = parts.next().with_context(|| format!("{path}: not a MAC: {text}"))?;
        *byte = u8::from_str_radix(part, 16).with_context(|| format!("{path}: {text}"))?;
    }
    Ok(mac)
}

/// The next-hop MAC of every origin, written by the control thread, read by the workers.
#[derive(Debug)]
pub(crate) struct NextHopBoard {
    /// Each origin address and its next hop's MAC ([`KNOWN`] set once resolved).
    hops: Vec<(IpAddr, AtomicU64)>,
    /// Moves on every change, so a worker reads the cells only then.
    version: AtomicU64,
}

fn pack(mac: [u8; 6]) -> u64 {
    let mut b = [0u8; 8];
    b[..6].copy_from_slice(&mac);
    u64::from_le_bytes(b) | KNOWN
}

fn unpack(cell: u64) -> Option<[u8; 6]> {
    let b = cell.to_le_bytes();
    (cell & KNOWN != 0).then(|| [b[0], b[1], b[2], b[3], b[4], b[5]])
}

impl NextHopBoard {
    /// A board for `origins` (duplicates kept once), nothing resolved yet.
    pub(crate) fn new(origins: impl IntoIterator<Item = IpAddr>) -> Arc<NextHopBoard> {
        let mut ips: Vec<IpAddr> = origins.into_iter().collect();
        ips.sort();
        ips.dedup();
        let hops = ips.into_iter().map(|ip| (ip, AtomicU64::new(0))).collect();
        Arc::new(NextHopBoard { hops, version: AtomicU64::new(0) })
    }

    /// Changes on every update of any cell.
    pub(crate) fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Calls `f` with every origin whose next hop is known.
    pub(crate) fn each_known(&self, mut f: impl FnMut(IpAddr, [u8; 6])) {
        for (ip, cell) in &self.hops {
            if let Some(mac) = unpack(cell.load(Ordering::Relaxed)) {
                f(*ip, mac);
            }
        }
    }

    fn set(&self, i: usize, mac: [u8; 6]) {
        if let Some((_, cell)) = self.hops.get(i)
            && cell.swap(pack(mac), Ordering::Relaxed) != pack(mac)
        {
            self.version.fetch_add(1, Ordering::Release);
        }
    }

    fn unknown(&self) -> impl Iterator<Item = usize> + '_ {
        let cells = self.hops.iter().enumerate();
        cells.filter(|(_, (_, c))| unpack(c.load(Ordering::Relaxed)).is_none()).map(|(i, _)| i)
    }
}

/// The control thread's side of the board: reads the kernel's neighbour table.
#[derive(Debug)]
pub(crate) struct Resolver {
    neighbours: Neighbours,
    board: Arc<NextHopBoard>,
    read_at: Option<Instant>,
}

impl Resolver {
    pub(crate) fn open(board: Arc<NextHopBoard>) -> anyhow::Result<Resolver> {
        let neighbours = Neighbours::open().context("opening rtnetlink")?;
        Ok(Resolver { neighbours, board, read_at: None })
    }

    /// Reads every origin's next hop; the kernel is asked once to resolve the unknown ones,
    /// and the table is polled for them for up to `wait`.
    pub(crate) fn resolve_all(&mut self, wait: Duration) {
        let started = Instant::now();
        self.read_all();
        while self.board.unknown().next().is_some() && started.elapsed() < wait {
            std::thread::sleep(Duration::from_millis(5));
            let _ = self.neighbours.refresh();
            let unknown: Vec<usize> = self.board.unknown().collect();
            for i in unknown {
                self.look_up(i);
            }
        }
    }

    /// One origin's next hop from the table as last refreshed, without soliciting it again
    /// (the first read did).
    fn look_up(&mut self, i: usize) {
        let Some(ip) = self.board.hops.get(i).map(|(ip, _)| *ip) else {
            return;
        };
        if let Ok(Some((index, hop))) = self.neighbours.route_next_hop(ip)
            && let Some(mac) = self.neighbours.lookup(index, hop)
        {
            self.board.set(i, mac);
        }
    }

    /// Reads the table again once [`REFRESH`] has passed (the control loop calls it often).
    pub(crate) fn tick(&mut self) {
        if self.read_at.is_some_and(|at| at.elapsed() < REFRESH) {
            return;
        }
        let _ = self.neighbours.refresh();
        self.read_all();
    }

    fn read_all(&mut self) {
        self.read_at = Some(Instant::now());
        for i in 0..self.board.hops.len() {
            self.read(i);
        }
    }

    /// One origin's next hop: the kernel's answer, or a solicitation (the next read finds it).
    fn read(&mut self, i: usize) {
        let Some(ip) = self.board.hops.get(i).map(|(ip, _)| *ip) else {
            return;
        };
        if let Ok(Some((_, mac))) = self.neighbours.next_hop_mac(ip) {
            self.board.set(i, mac);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_board_publishes_changes_only() {
        let a: IpAddr = "10.10.0.2".parse().unwrap();
        let b: IpAddr = "fd00::2".parse().unwrap();
        let board = NextHopBoard::new([a, b, a]);
        assert_eq!(board.hops.len(), 2, "duplicates once");
        let mut seen = Vec::new();
        board.each_known(|ip, mac| seen.push((ip, mac)));
        assert!(seen.is_empty());
        let v0 = board.version();
        board.set(0, [2, 0, 0, 0, 0, 7]);
        assert_ne!(board.version(), v0);
        let v1 = board.version();
        board.set(0, [2, 0, 0, 0, 0, 7]);
        assert_eq!(board.version(), v1, "the same MAC is no change");
        board.each_known(|ip, mac| seen.push((ip, mac)));
        assert_eq!(seen, [(a, [2, 0, 0, 0, 0, 7])]);
        assert_eq!(board.unknown().collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn cells_round_trip_every_mac() {
        for mac in [[0u8; 6], [0xff; 6], [2, 0xab, 0, 0xcd, 0, 1]] {
            assert_eq!(unpack(pack(mac)), Some(mac));
        }
        assert_eq!(unpack(0), None);
    }
}
