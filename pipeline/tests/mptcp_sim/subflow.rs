//! One subflow of the test MPTCP client: our TCP engine's connection, what kind of subflow it
//! is (the MP_CAPABLE one or an MP_JOIN), and the DSS mappings of the bytes it carries each
//! way (RFC 8684 §3.3.1), in subflow stream offsets (bytes after the SYN).

use std::collections::VecDeque;

use netreaktor_pipeline::tcp::cc::CongestionControl;
use netreaktor_pipeline::tcp::{Connection, State};
use netreaktor_pipeline::time::{Duration, Instant};

/// Subflow stream bytes and the data-level offsets they carry (offset 0 = IDSN + 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Map {
    pub(crate) sub: u64,
    pub(crate) data: u64,
    pub(crate) len: u64,
}

impl Map {
    pub(crate) fn end(&self) -> u64 {
        self.sub + self.len
    }

    pub(crate) fn covers(&self, off: u64) -> bool {
        off >= self.sub && off < self.end()
    }
}

/// How a join's third ACK is forged, for the forged-join scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forge {
    /// An honest join.
    None,
    /// The SYN names a token no connection has.
    Token,
    /// The third ACK's HMAC is wrong.
    Hmac,
}

/// The MP_CAPABLE subflow, or a join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Initial,
    Join { nonce: u32, addr_id: u8, backup: bool, forge: Forge },
}

/// A subflow.
pub(crate) struct Sub {
    pub(crate) tcp: Connection,
    pub(crate) iface: u16,
    pub(crate) kind: Kind,
    /// The HMAC of our join third ACK, once the SYN,ACK's HMAC verified.
    pub(crate) ack_hmac: Option<[u8; 20]>,
    /// A join: the server acknowledged our third ACK (RFC 8684 §3.2), data may flow.
    pub(crate) joined: bool,
    /// Mappings of bytes given to its send buffer and not acknowledged by it.
    pub(crate) tx: VecDeque<Map>,
    pub(crate) tx_end: u64,
    pub(crate) acked: u64,
    pub(crate) progress_at: Instant,
    pub(crate) stalled: bool,
    /// Mappings received for bytes not read yet, sorted by subflow offset.
    pub(crate) rx: Vec<Map>,
    pub(crate) rx_read: u64,
    /// Data bytes that arrived on it in order.
    pub(crate) rx_bytes: u64,
    /// When its first data byte arrived in order.
    pub(crate) first_rx_at: Option<Instant>,
    /// It got a RST; with the MP_TCPRST reason when one was attached.
    pub(crate) rst: Option<Option<u8>>,
    pub(crate) closing: bool,
    /// Its end was handled (unacknowledged mappings reinjected).
    pub(crate) end_seen: bool,
}

impl Sub {
    pub(crate) fn new(tcp: Connection, iface: u16, kind: Kind, now: Instant) -> Sub {
        Sub {
            tcp,
            iface,
            kind,
            ack_hmac: None,
            joined: kind == Kind::Initial,
            tx: VecDeque::new(),
            tx_end: 0,
            acked: 0,
            progress_at: now,
            stalled: false,
            rx: Vec::new(),
            rx_read: 0,
            rx_bytes: 0,
            first_rx_at: None,
            rst: None,
            closing: false,
            end_seen: false,
        }
    }

    pub(crate) fn backup(&self) -> bool {
        matches!(self.kind, Kind::Join { backup: true, .. })
    }

    pub(crate) fn forged(&self) -> bool {
        matches!(self.kind, Kind::Join { forge, .. } if forge != Forge::None)
    }

    /// CLOSED or TIME-WAIT.
    pub(crate) fn ended(&self) -> bool {
        self.tcp.is_closed() || self.tcp.state() == State::TimeWait
    }

    /// It may carry new data.
    pub(crate) fn usable(&self) -> bool {
        let open = matches!(self.tcp.state(), State::Established | State::CloseWait);
        open && self.joined && !self.closing && !self.forged()
    }

    /// Bytes its congestion and send windows have room for.
    pub(crate) fn room(&self) -> usize {
        let cwnd = self.tcp.congestion().cwnd();
        let window = (self.tcp.send_window() as usize).max(self.tcp.effective_mss());
        cwnd.min(window).saturating_sub(self.tcp.send_queued()).min(self.tcp.send_capacity())
    }

    /// Whole segments up to the 16-bit mapping length.
    pub(crate) fn map_limit(&self) -> u64 {
        let mss = self.tcp.effective_mss().max(1) as u64;
        (u64::from(u16::MAX) / mss).max(1) * mss
    }

    /// Records data-level bytes `data..data + taken` given to its send buffer.
    pub(crate) fn record_tx(&mut self, now: Instant, data: u64, taken: u64) {
        if self.tx.is_empty() {
            self.progress_at = now;
        }
        let sub = self.tx_end;
        self.tx_end += taken;
        let limit = self.map_limit();
        if let Some(last) = self.tx.back_mut()
            && last.end() == sub
            && last.data + last.len == data
            && last.len + taken <= limit
        {
            last.len += taken;
            return;
        }
        self.tx.push_back(Map { sub, data, len: taken });
    }

    /// Drops the mappings its peer acknowledged at the subflow level; notes progress.
    pub(crate) fn retire(&mut self, now: Instant) {
        let acked = self.tx_end - (self.tcp.send_queued() as u64).min(self.tx_end);
        if acked > self.acked {
            self.acked = acked;
            self.progress_at = now;
            self.stalled = false;
        }
        while self.tx.front().is_some_and(|m| m.end() <= acked) {
            self.tx.pop_front();
        }
    }

    /// When it counts as stalled: data outstanding, no acknowledgement for a while.
    pub(crate) fn stall_deadline(&self) -> Option<Instant> {
        if self.stalled || self.tx.is_empty() || self.ended() {
            return None;
        }
        let srtt = self.tcp.rtt().srtt().unwrap_or(Duration::from_millis(300));
        Some(self.progress_at + srtt.saturating_mul(3).max(Duration::from_millis(300)))
    }

    /// The received mapping covering subflow offset `off`.
    pub(crate) fn rx_map(&mut self, off: u64) -> Option<Map> {
        self.rx.retain(|m| m.end() > off);
        self.rx.iter().copied().find(|m| m.covers(off))
    }

    /// Adds a received mapping; false when it contradicts one held for the same bytes.
    pub(crate) fn add_rx_map(&mut self, map: Map) -> bool {
        if map.end() <= self.rx_read {
            return true;
        }
        for m in &self.rx {
            let overlap = m.sub < map.end() && map.sub < m.end();
            if overlap && m.data.wrapping_sub(m.sub) != map.data.wrapping_sub(map.sub) {
                return false;
            }
        }
        if !self.rx.contains(&map) {
            let at = self.rx.iter().position(|m| m.sub > map.sub).unwrap_or(self.rx.len());
            self.rx.insert(at, map);
        }
        true
    }
}
