//! An MPTCP connection, server side, v1 (RFC 8684) or v0 (RFC 6824): the subflows of one
//! client connection and the data-level byte stream they carry both ways.
//!
//! The version is the hash of the keys (SHA-1 for v0, SHA-256 for v1, RFC 6824 §3.1): it
//! selects the HMACs of joins, how options are parsed, the ADD_ADDR form (v0: no HMAC, sent
//! once since v0 has no echo), and whether a subflow's RST carries MP_TCPRST (v1 only).
//! DSS, DATA_ACK, DATA_FIN, MP_FASTCLOSE, failover and checksums are the same in both.
//!
//! - Data toward the peer sits in one data-level send buffer until DATA_ACKed (§3.3.2); the
//!   scheduler (`tx.rs`) gives runs of it to subflows, each run a DSS mapping (§3.3.1). A
//!   subflow that stops making progress, or closes, has its unacknowledged runs reinjected on
//!   the others at once (§3.3.6); duplicates are harmless at the data level.
//! - Data from the peer is read from each subflow in order, placed by its mapping into one
//!   data-level reassembly buffer (`rx.rs`), and read from there in data sequence order.
//! - DATA_FIN both ways (§3.3.3); MP_PRIO, ADD_ADDR, REMOVE_ADDR, MP_FASTCLOSE, MP_TCPRST and
//!   MP_FAIL (`signal.rs`); failover and retransmission timers (`timers.rs`).
//!
//! The handshakes happen before a connection exists: [`handshake`](super::handshake) checks
//! the MP_CAPABLE third ACK and builds the connection from it, and an MP_JOIN subflow is
//! attached with [`Connection::attach`] only with a [`VerifiedJoin`].
//!
//! Sans I/O like the TCP engine: segments in with [`Connection::handle_segment`], out with
//! [`Connection::poll_transmit`], time as a parameter.

mod budget;
mod config;
mod fastclose;
mod rx;
mod signal;
mod stats;
mod subflow;
mod timers;
mod tx;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::net::SocketAddr;

pub use config::{Checksums, MptcpConfig, Scheduler, Versions};
pub use fastclose::FASTCLOSE_RETRIES;
pub use stats::MptcpStats;
pub use subflow::Subflow;

use super::crypto::{HashAlgo, HmacKeys, KeyMaterial, VerifiedJoin};
use crate::tcp::buffer::{Reassembler, SendBuffer};
use crate::tcp::{CloseReason, Connection as Tcp, Transmit};
use crate::time::{Duration, Instant};
use crate::wire::mptcp::MptcpVersion;

/// ADD_ADDR sent at most this many times when not echoed.
pub const ADD_ADDR_TRIES: u32 = 3;

/// Option space a subflow reserves on every data segment for the DSS: flags, a 32-bit
/// DATA_ACK (never 64 bits beside a mapping: `tx::no_misread_ack`), a 64-bit DSN, subflow
/// sequence number, length and checksum (RFC 8684 §3.3); without the checksum the option is
/// 22 bytes, padded to 24 all the same.
pub const DSS_SPACE: usize = 24;

/// Data-level gaps (no DATA_ACK progress with data outstanding) at least this long are
/// remembered, the latest [`GAPS_KEPT`] of them, for the handover stall.
const GAP_NOTED: Duration = Duration::from_millis(5);
const GAPS_KEPT: usize = 8;

/// A subflow's place in its connection.
pub type SubflowId = u8;

/// How the connection ended, once it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MptcpEnd {
    /// DATA_FIN both ways, acknowledged.
    Closed,
    /// MP_FASTCLOSE (either way), or every subflow gone before the DATA_FINs.
    Reset,
}

/// A handover being measured: it lasts until every byte outstanding when it began is
/// DATA_ACKed, and its stall is the longest gap between two data-level progresses over that
/// time (the gap before the failure was found included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Handover {
    /// One past the last byte outstanding when it began.
    until: u64,
    /// The longest gap so far.
    gap: Duration,
}

/// An address we announce and whether the peer echoed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Announce {
    id: u8,
    addr: std::net::IpAddr,
    echoed: bool,
    sent: u32,
    due: Option<Instant>,
}

/// An MPTCP connection.
#[derive(Debug)]
pub struct Connection {
    cfg: MptcpConfig,
    local: KeyMaterial,
    remote: KeyMaterial,
    /// DSS checksums in use (negotiated in MP_CAPABLE, RFC 8684 §3.1).
    csum: bool,
    subflows: Vec<Option<Subflow>>,
    /// Data toward the peer, from DSN `snd_una` on.
    snd: SendBuffer,
    snd_una: u64,
    /// The next DSN not yet given to any subflow.
    snd_nxt: u64,
    /// One past the highest DSN the peer's receive window allows (RFC 8684 §3.3.7).
    snd_wnd_end: u64,
    /// The DSN of our DATA_FIN, once the stream toward the peer is closed.
    fin: Option<u64>,
    fin_acked: bool,
    /// Runs to send again on another subflow: (first DSN, one past the last).
    reinject: VecDeque<(u64, u64)>,
    /// Data from the peer; the first readable byte is DSN `rcv_base`.
    rcv: Reassembler,
    rcv_base: u64,
    /// The DSN of the peer's DATA_FIN, once seen.
    peer_fin: Option<u64>,
    announce: Vec<Announce>,
    /// An ADD_ADDR of the peer to echo: (id, address, port).
    echo: Option<(u8, std::net::IpAddr, Option<u16>)>,
    /// No ACK is sent for a signal still due before this (`timers.rs`, `nudge_signals`).
    signal_retry: Option<Instant>,
    end: Option<MptcpEnd>,
    /// We close with MP_FASTCLOSE (`fastclose.rs`): the RSTs of subflows reset after it carry
    /// it too.
    fastclose_out: bool,
    /// When the oldest unacknowledged data-level byte was last sent or acknowledged.
    data_progress_at: Instant,
    /// Data-level retransmission timeouts in a row without progress (the backoff).
    data_timeouts: u32,
    /// When the data level last made progress: DATA_ACK advanced, or data went out with none
    /// outstanding (the start of a possible stall).
    progress_at: Instant,
    /// A handover under way: a subflow failed or ended with data outstanding.
    handover: Option<Handover>,
    /// The latest data-level gaps of at least [`GAP_NOTED`]: (when each ended, its length).
    /// A failure is found after its subflow has been silent a while; the gap it caused may
    /// be over by then.
    recent_gaps: VecDeque<(Instant, Duration)>,
    /// A finished handover stall not taken yet.
    handover_stall: Option<Duration>,
    /// The longest finished handover stall.
    longest_stall: Option<Duration>,
    /// The time of the latest input or timeout (for work done without a time parameter,
    /// such as a checksum failure found when the owner consumes data).
    clock: Instant,
    /// The owner's buffer budget is under pressure (`budget.rs`).
    pressure: bool,
    stats: MptcpStats,
}

impl Connection {
    /// A connection whose MP_CAPABLE handshake completed on `initial` (RFC 8684 §3.1):
    /// `local` is our key, `remote_key` the peer's, `csum` whether checksums were agreed.
    pub fn new(
        cfg: MptcpConfig,
        local: KeyMaterial,
        remote_key: u64,
        csum: bool,
        initial: Tcp,
        now: Instant,
    ) -> Connection {
        let remote = KeyMaterial::new(remote_key, local.algo());
        let snd_start = local.idsn().wrapping_add(1);
        let rcv_start = remote.idsn().wrapping_add(1);
        let announce = cfg
            .announce
            .iter()
            .map(|&(id, addr)| Announce { id, addr, echoed: false, sent: 0, due: Some(now) })
            .collect();
        let mut conn = Connection {
            snd: SendBuffer::new(cfg.send_buffer),
            rcv: Reassembler::new(cfg.recv_buffer),
            cfg,
            local,
            remote,
            csum,
            subflows: Vec::new(),
            snd_una: snd_start,
            snd_nxt: snd_start,
            snd_wnd_end: snd_start,
            fin: None,
            fin_acked: false,
            reinject: VecDeque::new(),
            rcv_base: rcv_start,
            peer_fin: None,
            announce,
            echo: None,
            signal_retry: None,
            end: None,
            fastclose_out: false,
            data_progress_at: now,
            data_timeouts: 0,
            progress_at: now,
            handover: None,
            recent_gaps: VecDeque::new(),
            handover_stall: None,
            longest_stall: None,
            clock: now,
            pressure: false,
            stats: MptcpStats::default(),
        };
        conn.add_subflow(initial, 0, false, now);
        conn.update_window(0, snd_start);
        conn
    }

    /// Attaches a joined subflow (RFC 8684 §3.2). `proof` is the verified HMAC of its third
    /// ACK and must be for this connection; `remote_id` and `backup` come from its MP_JOIN
    /// SYN. Returns its id, or gives the connection back when the proof is for another
    /// connection or no slot is free.
    pub fn attach(
        &mut self,
        tcp: Tcp,
        proof: VerifiedJoin,
        remote_id: u8,
        backup: bool,
        now: Instant,
    ) -> Result<SubflowId, Box<Tcp>> {
        if proof.local_token() != self.local.token() || !self.has_room() {
            return Err(Box::new(tcp));
        }
        let id = self.add_subflow(tcp, remote_id, backup, now);
        if let Some(s) = self.subflow_mut(id) {
            // RFC 8684 §3.2: the third ACK of a join is acknowledged before data flows.
            s.tcp.send_ack_now();
        }
        self.reinject_stalled();
        Ok(id)
    }

    fn add_subflow(&mut self, mut tcp: Tcp, remote_id: u8, backup: bool, now: Instant) -> u8 {
        tcp.reserve_option_space(DSS_SPACE);
        tcp.set_memory_pressure(self.pressure);
        let sub = subflow::Subflow::new(tcp, remote_id, backup, now);
        self.stats.subflows_attached += 1;
        let free = self.subflows.iter().position(Option::is_none);
        let id = free.unwrap_or(self.subflows.len());
        match self.subflows.get_mut(id) {
            Some(slot) => *slot = Some(sub),
            None => self.subflows.push(Some(sub)),
        }
        // At most `max_subflows` (<= 255) slots are ever in use.
        id as u8
    }

    /// Whether another subflow may join (the subflow limit, RFC 8684 §3.2).
    pub fn has_room(&self) -> bool {
        self.live_subflows() < self.cfg.max_subflows && self.end.is_none()
    }

    /// Subflows not ended.
    pub fn live_subflows(&self) -> usize {
        self.subflows.iter().flatten().filter(|s| !s.ended()).count()
    }

    /// The MPTCP version: v0 when the keys hash with SHA-1 (RFC 6824 §3.1), else v1.
    pub fn version(&self) -> MptcpVersion {
        match self.local.algo() {
            HashAlgo::Sha1 => MptcpVersion::V0,
            HashAlgo::Sha256 => MptcpVersion::V1,
        }
    }

    /// Our token (names this connection in MP_JOIN SYNs).
    pub fn token(&self) -> u32 {
        self.local.token()
    }

    /// The keyed HMACs of this connection (for MP_JOIN SYN,ACKs and third ACKs, ADD_ADDR).
    ///
    /// Built on each call (four SHA-256 compressions) rather than kept: they serve a join or an
    /// announcement, a few times in a connection's life, and kept they would cost every
    /// connection 328 bytes (docs/performance.md, "Memory").
    pub fn hmac(&self) -> HmacKeys {
        HmacKeys::new(&self.local, self.remote.key())
    }

    /// The peer's key material (its key and token).
    pub fn remote_key(&self) -> &KeyMaterial {
        &self.remote
    }

    /// Our key material.
    pub fn local_key(&self) -> &KeyMaterial {
        &self.local
    }

    /// The subflow `id`, if it exists.
    pub fn subflow(&self, id: SubflowId) -> Option<&Subflow> {
        self.subflows.get(usize::from(id)).and_then(Option::as_ref)
    }

    fn subflow_mut(&mut self, id: SubflowId) -> Option<&mut Subflow> {
        self.subflows.get_mut(usize::from(id)).and_then(Option::as_mut)
    }

    /// Every subflow with its id.
    pub fn subflows(&self) -> impl Iterator<Item = (SubflowId, &Subflow)> + '_ {
        self.subflows.iter().enumerate().filter_map(|(i, s)| Some((i as u8, s.as_ref()?)))
    }

    /// The 4-tuple (ours, the peer's) of the subflow `id`.
    pub fn tuple(&self, id: SubflowId) -> Option<(SocketAddr, SocketAddr)> {
        self.subflow(id).map(|s| (s.tcp.local(), s.tcp.remote()))
    }

    /// Subflow ids in use or once used: every id [`reap`](Self::reap) may take is below it.
    pub fn subflow_slots(&self) -> SubflowId {
        // At most `max_subflows` (<= 255) slots are ever in use.
        self.subflows.len().min(usize::from(SubflowId::MAX)) as SubflowId
    }

    /// Removes an ended subflow that has nothing more to send; returns its 4-tuple so the
    /// owner can forget it. Call for each id after polling transmits.
    pub fn reap(&mut self, id: SubflowId) -> Option<(SocketAddr, SocketAddr)> {
        let slot = self.subflows.get_mut(usize::from(id))?;
        if !slot.as_ref().is_some_and(Subflow::is_closed) {
            return None;
        }
        let s = slot.take()?;
        Some((s.tcp.local(), s.tcp.remote()))
    }

    /// The counters.
    pub fn stats(&self) -> &MptcpStats {
        &self.stats
    }

    /// The initial subflow's addresses, or any subflow's: (ours, the peer's).
    pub fn addresses(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.subflows.iter().flatten().next().map(|s| (s.tcp.local(), s.tcp.remote()))
    }

    /// Bytes held in buffers: the data-level buffers and every subflow's.
    pub fn heap_bytes(&self) -> usize {
        let subs: usize = self.subflows.iter().flatten().map(|s| s.tcp.heap_bytes()).sum();
        subs + self.snd.allocated_bytes() + self.rcv.allocated_bytes()
    }

    // --- The byte stream, as a splice uses it. ---

    /// Data received in order and not consumed: up to two slices.
    pub fn readable(&self) -> (&[u8], &[u8]) {
        self.rcv.readable()
    }

    /// Consumes `n` readable bytes; subflow data waiting for room moves in.
    pub fn consume(&mut self, n: usize) -> usize {
        let n = self.rcv.consume(n);
        self.rcv_base = self.rcv_base.wrapping_add(n as u64);
        if n > 0 {
            self.drain_all();
        }
        n
    }

    /// Queues `data` toward the peer; returns the bytes taken (the send buffer's room).
    pub fn send(&mut self, data: &[u8]) -> usize {
        if self.fin.is_some() || self.end.is_some() {
            return 0;
        }
        self.snd.write(data)
    }

    /// Bytes held in the data-level send buffer: queued and not DATA_ACKed.
    pub fn send_queued(&self) -> usize {
        self.snd.len()
    }

    /// How much more the data-level send buffer should be given now: its room up to the
    /// send limit ([`send_limit`](Self::send_limit)).
    pub fn send_capacity(&self) -> usize {
        if self.fin.is_some() || self.end.is_some() {
            return 0;
        }
        self.send_limit().saturating_sub(self.snd.len()).min(self.snd.remaining())
    }

    /// Whether the peer's DATA_FIN arrived and every byte before it was consumed.
    pub fn is_read_closed(&self) -> bool {
        self.peer_fin.is_some_and(|fin| fin == self.rcv_base)
    }

    /// Closes the stream toward the peer: a DATA_FIN follows the queued data (§3.3.3).
    pub fn close(&mut self, now: Instant) {
        if self.fin.is_none() && self.end.is_none() {
            self.fin = Some(self.snd_una.wrapping_add(self.snd.len() as u64));
            self.data_progress_at = now;
            // With all data mapped already, the DATA_FIN goes out now, not at a later input.
            self.after_input(now);
        }
    }

    /// How the connection ended, once it has: `Closed` after a clean exchange of DATA_FINs,
    /// a reset reason otherwise.
    pub fn close_reason(&self) -> Option<CloseReason> {
        match self.end? {
            MptcpEnd::Closed => Some(CloseReason::Closed),
            MptcpEnd::Reset => Some(CloseReason::Reset),
        }
    }

    /// How the connection ended, if it has.
    pub fn end(&self) -> Option<MptcpEnd> {
        self.end
    }

    /// Whether both DATA_FINs were exchanged and acknowledged.
    pub fn done_cleanly(&self) -> bool {
        self.end == Some(MptcpEnd::Closed)
    }

    /// Whether nothing more will pass on any subflow: every subflow CLOSED or in TIME-WAIT
    /// (or, after our fast close, with only its RST left to send). After a clean exchange
    /// of DATA_FINs the subflows still close with their own FINs (RFC 8684 §3.3.3), and a
    /// subflow FIN is retransmitted until acknowledged or the subflow gives up (RFC 9293
    /// §3.8.1, §3.8.3 R2): the connection is not over before that, or the client's subflow
    /// would wait in FIN-WAIT-2 for a FIN that was lost. It no longer counts toward
    /// `max_connections` once its streams are done ([`streams_done`](Self::streams_done)).
    pub fn ended(&self) -> bool {
        self.subflows.iter().flatten().all(Subflow::ended)
    }

    /// The last handover stall, once. A handover begins when a subflow is found potentially
    /// failed, or ends, with data outstanding (§3.3.6), and ends when every byte outstanding
    /// then is DATA_ACKed; its stall is the longest time the data level made no progress
    /// over it, the gap already running when it began included. What a client sees as the
    /// longest gap in its download when a path fails: data the failed path still delivers
    /// (from a router's queue, say) shortens the first gap, and the reinjected data's wait
    /// behind the other path's queue makes a later one.
    pub fn take_handover_stall(&mut self) -> Option<Duration> {
        self.handover_stall.take()
    }

    /// The longest handover stall of the connection so far (each one is also given once by
    /// [`take_handover_stall`](Self::take_handover_stall)).
    pub fn longest_handover_stall(&self) -> Option<Duration> {
        self.longest_stall
    }

    /// Whether both byte streams are complete: the peer's DATA_FIN arrived and was read, and
    /// every byte before ours is DATA_ACKed. What may remain is the DATA_ACK of our DATA_FIN
    /// (a data-level LAST-ACK, bounded by its retransmissions) and the subflows' FINs.
    pub fn streams_done(&self) -> bool {
        self.end.is_some() || self.only_data_fin_outstanding()
    }

    /// The peer's DATA_FIN is read and every byte before ours is DATA_ACKed: a data-level
    /// LAST-ACK (or past it).
    fn only_data_fin_outstanding(&self) -> bool {
        self.is_read_closed() && self.fin.is_some_and(|fin| fin == self.snd_una)
    }

    /// Whether every subflow is CLOSED, no fast close waiting on any.
    pub fn is_closed(&self) -> bool {
        self.subflows.iter().flatten().all(Subflow::is_closed)
    }

    /// The next segment of any subflow, written into `buf` (TCP header on), with the
    /// subflow's 4-tuple. Call until `None` after every input and timeout.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<(SubflowId, Transmit)> {
        self.schedule(now);
        for id in 0..self.subflows.len() {
            if let Some(t) = self.poll_subflow(now, id as u8, buf) {
                return Some((id as u8, t));
            }
        }
        None
    }
}
