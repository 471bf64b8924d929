//! One emulated iPhone MPTCP connection: subflows (the pipeline's TCP engine in client
//! role) under a data level written for the client (RFC 8684 §3.3, RFC 6824 §3.3), with
//! xnu's habits (docs/ios-emulation.md). Sans I/O: segments in, segments out, time as a
//! parameter; the driver moves the bytes.

mod data;
mod hook;
mod input;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;

use netreaktor_pipeline::tcp::{Config, Connection};
use netreaktor_pipeline::time::{Duration, Instant};
use netreaktor_pipeline::wire::tcp::TcpSeqNumber;

pub(crate) use self::data::DataLevel;
use super::ios::Generation;
use super::keys::{self, Version};

/// When the cellular subflow is opened and how it is flagged (docs/ios-emulation.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Service {
    /// Cellular only when Wi-Fi looks bad; cellular joins are backups (B=1).
    Handover,
    /// Cellular opened at once, as a backup (B=1).
    Interactive,
    /// Cellular opened at once, not a backup.
    Aggregate,
}

/// The wire habits of xnu, each switchable so tests can turn it off (all on by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Habits {
    /// v1: pure ACKs repeat MP_CAPABLE (with both keys) until the first data byte.
    pub(crate) repeat_capable: bool,
    /// v1: the first data carries MP_CAPABLE with the data length, not a DSS.
    pub(crate) capable_data: bool,
    /// Cellular joins carry B=1 in handover and interactive modes.
    pub(crate) backup_cell: bool,
    /// The join third ACK is sent again every 500 ms, 12 times, until the server's ACK.
    pub(crate) join_ack_retx: bool,
    /// Handover mode: every cellular subflow is reset when Wi-Fi works again.
    pub(crate) reset_cell_on_recovery: bool,
}

impl Default for Habits {
    fn default() -> Self {
        Self {
            repeat_capable: true,
            capable_data: true,
            backup_cell: true,
            join_ack_retx: true,
            reset_cell_on_recovery: true,
        }
    }
}

/// Join third ACK repetition (docs/ios-emulation.md §7).
pub(crate) const JOIN_ACK_INTERVAL: Duration = Duration::from_millis(500);
/// How many times the join third ACK is repeated.
pub(crate) const JOIN_ACK_REPEATS: u32 = 12;

/// Why a connection that offered MPTCP ended up plain TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Fallback {
    /// The SYN/ACK carried no MP_CAPABLE.
    NoCapableInSynAck,
    /// The SYN/ACK's MP_CAPABLE was of another version.
    VersionMismatch,
    /// The SYN/ACK set the C flag and this generation treats that as invalid (iOS 11-12).
    CFlag,
    /// The SYN/ACK asked for DSS checksums, which this emulation does not compute.
    ChecksumsNotEmulated,
    /// The MP_CAPABLE SYNs were all lost: the option was dropped.
    SynRetries,
}

/// The MPTCP state of one subflow, kept beside its TCP engine.
#[derive(Debug)]
pub(crate) struct SubflowMp {
    /// Which radio it leaves by (index into the driver's radios).
    pub(crate) radio: usize,
    /// Joined (MP_JOIN) rather than the initial subflow.
    pub(crate) join: Option<Join>,
    /// SYNs written so far.
    pub(crate) syns: u32,
    /// The option of the SYN was dropped after too many SYNs.
    pub(crate) dropped_option: bool,
    /// Our mappings, in subflow offsets (bytes after the SYN): (offset, DSN, length).
    pub(crate) tx_maps: std::collections::VecDeque<(u64, u64, u16)>,
    /// Subflow bytes queued so far (the next mapping's offset).
    pub(crate) queued: u64,
    /// The server's mappings, in subflow offsets: (offset, DSN, length with no DATA_FIN).
    pub(crate) rx_maps: std::collections::VecDeque<(u64, u64, u64)>,
    /// Subflow bytes read so far.
    pub(crate) consumed: u64,
    /// The third ACK (MP_CAPABLE with both keys, or MP_JOIN's) has been written.
    pub(crate) third_ack_sent: bool,
    /// A data byte went out on this subflow.
    pub(crate) data_sent: bool,
    /// The server spoke after our third ACK (the "4th ACK" of a join).
    pub(crate) fourth_ack: bool,
    /// The DATA_FIN to write on our FIN: its DSN.
    pub(crate) data_fin: Option<u64>,
    /// The subflow was reset by the server.
    pub(crate) reset: bool,
    /// iOS judged it bad (2 RTOs with data pending) and moved its data away; cleared when
    /// its data is acknowledged again.
    pub(crate) stalled: bool,
    /// RTOs and acknowledged bytes when last seen making progress.
    pub(crate) progress: (u64, u64),
}

/// A joined subflow's handshake values (RFC 8684 §3.2).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Join {
    /// Our nonce.
    pub(crate) nonce: u32,
    /// The server's nonce, from its SYN/ACK.
    pub(crate) peer_nonce: Option<u32>,
    /// The backup bit we set.
    pub(crate) backup: bool,
    /// Our address id.
    pub(crate) addr_id: u8,
    /// Times the third ACK was repeated, and when last.
    pub(crate) repeats: (u32, Instant),
    /// The server's HMAC did not verify: the subflow is being reset.
    pub(crate) bad_hmac: bool,
}

impl SubflowMp {
    fn new(radio: usize, join: Option<Join>) -> Self {
        Self {
            radio,
            join,
            syns: 0,
            dropped_option: false,
            tx_maps: Default::default(),
            queued: 0,
            rx_maps: Default::default(),
            consumed: 0,
            third_ack_sent: false,
            data_sent: false,
            fourth_ack: false,
            data_fin: None,
            reset: false,
            stalled: false,
            progress: (0, 0),
        }
    }
}

/// One subflow: the TCP engine and its MPTCP state.
#[derive(Debug)]
pub(crate) struct Subflow {
    /// The TCP connection (client role).
    pub(crate) tcp: Connection,
    /// Its MPTCP state.
    pub(crate) mp: SubflowMp,
}

/// The connection-level values every subflow's options need.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shared {
    /// The generation emulated.
    pub(crate) generation: Generation,
    /// The service type.
    pub(crate) service: Service,
    /// Wire habits.
    pub(crate) habits: Habits,
    /// The version offered, or `None` for plain TCP from the start (`--tcp`).
    pub(crate) offered: Option<Version>,
    /// MPTCP is up (the SYN/ACK said yes).
    pub(crate) mptcp: bool,
    /// Why not, if it fell back.
    pub(crate) fallback: Option<Fallback>,
    /// Our key and the server's.
    pub(crate) key_a: u64,
    pub(crate) key_b: u64,
    /// Our IDSN and the server's.
    pub(crate) idsn_a: u64,
    pub(crate) idsn_b: u64,
    /// DATA_ACK we send (next DSN expected from the server).
    pub(crate) data_ack: u64,
    /// A DATA_ACK above IDSN+1 arrived: first-data MP_CAPABLE is no longer repeated.
    pub(crate) first_data_acked: bool,
}

/// Per-connection outcome for the report (docs/ios-emulation.md §4 "hung").
#[derive(Debug, Clone, Default, serde::Serialize)]
pub(crate) struct Record {
    /// "v0", "v1" or null for plain TCP.
    pub(crate) version: Option<Version>,
    /// The version offered.
    pub(crate) offered: Option<Version>,
    /// Why it fell back.
    pub(crate) fallback: Option<Fallback>,
    /// Joins completed (server's HMAC verified).
    pub(crate) joins: u32,
    /// Join third ACK repetitions sent.
    pub(crate) join_ack_repeats: u32,
    /// Longest gap between two arrivals of new data at the data level, in milliseconds.
    pub(crate) max_stall_ms: f64,
    /// Bytes we sent again at the data level on another subflow.
    pub(crate) reinjected_bytes: u64,
    /// Subflows reset by the server.
    pub(crate) subflow_resets: u32,
    /// Cellular subflows iOS reset itself when Wi-Fi recovered (handover mode).
    pub(crate) cell_resets: u32,
    /// An MP_FASTCLOSE arrived on a pure ACK.
    pub(crate) fastclose: bool,
    /// Every subflow was reset with no MP_FASTCLOSE on an ACK: an iOS app would hang.
    pub(crate) hung: bool,
    /// Malformed MPTCP options received.
    pub(crate) malformed: u32,
}

/// One emulated MPTCP connection.
#[derive(Debug)]
pub(crate) struct MpConn {
    /// Connection-level values.
    pub(crate) shared: Shared,
    /// Subflows, the initial one first.
    pub(crate) subflows: Vec<Subflow>,
    /// The data level (both directions).
    pub(crate) data: DataLevel,
    /// The outcome so far.
    pub(crate) record: Record,
    cfg: Arc<Config>,
}

impl MpConn {
    /// Opens the initial subflow from `local` (on radio `radio`) to `remote`, offering
    /// `offered` (`None`: plain TCP).
    pub(crate) fn connect(
        shared: Shared,
        cfg: Arc<Config>,
        radio: usize,
        local: SocketAddr,
        remote: SocketAddr,
        now: Instant,
    ) -> Self {
        let mut shared = shared;
        shared.key_a = keys::random_key();
        if let Some(v) = shared.offered {
            shared.idsn_a = keys::idsn(v, shared.key_a);
        }
        let iss = TcpSeqNumber(keys::random_u32());
        let mut tcp = Connection::connect(Arc::clone(&cfg), local, remote, iss, now);
        tcp.reserve_option_space(hook::OTHER_SPACE);
        let record = Record { offered: shared.offered, ..Record::default() };
        Self {
            data: DataLevel::new(shared.idsn_a.wrapping_add(1), now),
            shared,
            subflows: vec![Subflow { tcp, mp: SubflowMp::new(radio, None) }],
            record,
            cfg,
        }
    }

    /// Opens a joined subflow (RFC 8684 §3.2) from `local` on `radio`.
    pub(crate) fn join(&mut self, radio: usize, local: SocketAddr, backup: bool, now: Instant) {
        let remote = self.subflows[0].tcp.remote();
        let addr_id = u8::try_from(2 * self.subflows.len() + 1).unwrap_or(u8::MAX);
        let join = Join {
            nonce: keys::random_u32(),
            peer_nonce: None,
            backup,
            addr_id,
            repeats: (0, now),
            bad_hmac: false,
        };
        let iss = TcpSeqNumber(keys::random_u32());
        let mut tcp = Connection::connect(Arc::clone(&self.cfg), local, remote, iss, now);
        tcp.reserve_option_space(hook::OTHER_SPACE);
        self.subflows.push(Subflow { tcp, mp: SubflowMp::new(radio, Some(join)) });
    }

    /// The earliest time [`handle_timeout`](Self::handle_timeout) is due.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let mut t = self.subflows.iter().filter_map(|s| s.tcp.poll_timeout()).min();
        for s in &self.subflows {
            if let Some(j) = s.mp.join.filter(|_| self.join_ack_pending(s)) {
                let at = j.repeats.1 + JOIN_ACK_INTERVAL;
                t = Some(t.map_or(at, |t| t.min(at)));
            }
        }
        t
    }

    fn join_ack_pending(&self, s: &Subflow) -> bool {
        let Some(j) = s.mp.join else { return false };
        self.shared.habits.join_ack_retx
            && s.mp.third_ack_sent
            && !s.mp.fourth_ack
            && !s.tcp.is_closed()
            && j.repeats.0 < JOIN_ACK_REPEATS
    }

    /// Runs the subflows' timers and iOS's join third-ACK repetition.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.subflows.len() {
            if self.subflows[i].tcp.poll_timeout().is_some_and(|t| t <= now) {
                self.subflows[i].tcp.handle_timeout(now);
            }
            let due = self.join_ack_pending(&self.subflows[i]);
            let s = &mut self.subflows[i];
            if let Some(j) =
                s.mp.join.as_mut().filter(|j| due && now >= j.repeats.1 + JOIN_ACK_INTERVAL)
            {
                j.repeats = (j.repeats.0 + 1, now);
                s.mp.third_ack_sent = false;
                s.tcp.send_ack_now();
                self.record.join_ack_repeats += 1;
            }
        }
    }

    /// Writes the next segment of subflow `i` into `buf`.
    pub(crate) fn poll_transmit(
        &mut self,
        i: usize,
        now: Instant,
        buf: &mut [u8],
    ) -> Option<netreaktor_pipeline::tcp::Transmit> {
        self.push_data(i);
        let s = self.subflows.get_mut(i)?;
        let mut h = hook::Hook { mp: &mut s.mp, shared: &self.shared };
        s.tcp.poll_transmit(now, buf, &mut h)
    }

    /// Whether the connection is over at both levels.
    pub(crate) fn finished(&self) -> bool {
        self.data.done() || self.subflows.iter().all(|s| s.tcp.is_closed())
    }
}
