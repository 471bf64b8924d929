//! The data level of one connection (RFC 8684 §3.3): data sequence numbers both ways, the
//! DATA_ACK, DATA_FIN, and the receive reassembly across subflows (duplicates from
//! reinjection are dropped by DSN).

use std::collections::{BTreeMap, VecDeque};

use netreaktor_pipeline::time::Instant;

/// The most unacknowledged bytes the application may queue.
const SEND_CAPACITY: usize = 1 << 20;

/// Both directions at the data level.
#[derive(Debug)]
pub(crate) struct DataLevel {
    /// Lowest DSN not DATA_ACKed by the server.
    pub(crate) snd_una: u64,
    /// Next DSN to hand to a subflow.
    pub(crate) snd_nxt: u64,
    /// Bytes from `snd_una` on, as the application wrote them.
    pub(crate) unacked: VecDeque<u8>,
    /// The application finished writing: DATA_FIN at `snd_una + unacked.len()`.
    pub(crate) fin_requested: bool,
    /// The server DATA_ACKed our DATA_FIN.
    pub(crate) fin_acked: bool,
    /// Next DSN expected from the server.
    pub(crate) rcv_nxt: u64,
    /// Data received beyond `rcv_nxt`, by DSN.
    ooo: BTreeMap<u64, Vec<u8>>,
    /// In-order data for the application.
    pub(crate) readable: VecDeque<u8>,
    /// The DSN of the server's DATA_FIN, once seen.
    pub(crate) peer_fin: Option<u64>,
    /// The server's DATA_FIN was reached in order.
    pub(crate) peer_finished: bool,
    /// When new data last arrived in order, and the longest gap between two arrivals.
    last_arrival: Option<Instant>,
    /// Longest gap, microseconds.
    pub(crate) max_gap_us: u64,
}

impl DataLevel {
    /// A data level whose first DSN to send is `first`; the receive side is set when the
    /// server's key is known ([`set_spaces`](Self::set_spaces)).
    pub(crate) fn new(first: u64, _now: Instant) -> Self {
        Self {
            snd_una: first,
            snd_nxt: first,
            unacked: VecDeque::new(),
            fin_requested: false,
            fin_acked: false,
            rcv_nxt: 0,
            ooo: BTreeMap::new(),
            readable: VecDeque::new(),
            peer_fin: None,
            peer_finished: false,
            last_arrival: None,
            max_gap_us: 0,
        }
    }

    /// Sets where both sequence spaces start (plain TCP uses 0 and 0: subflow offsets).
    pub(crate) fn set_spaces(&mut self, first_out: u64, first_in: u64) {
        self.snd_una = first_out;
        self.snd_nxt = first_out;
        self.rcv_nxt = first_in;
    }

    /// Queues application data; returns how much fit.
    pub(crate) fn write(&mut self, data: &[u8]) -> usize {
        if self.fin_requested {
            return 0;
        }
        let n = data.len().min(SEND_CAPACITY - self.unacked.len());
        self.unacked.extend(&data[..n]);
        n
    }

    /// The DSN after the application's last byte (where the DATA_FIN goes).
    pub(crate) fn end(&self) -> u64 {
        self.snd_una + self.unacked.len() as u64
    }

    /// Bytes not yet handed to any subflow, from `snd_nxt` on, at most `max`.
    pub(crate) fn next_chunk(&self, max: usize) -> (u64, Vec<u8>) {
        let from = usize::try_from(self.snd_nxt - self.snd_una).unwrap_or(usize::MAX);
        let chunk: Vec<u8> = self.unacked.iter().skip(from).take(max).copied().collect();
        (self.snd_nxt, chunk)
    }

    /// A DATA_ACK arrived (expanded to 64 bits).
    pub(crate) fn on_data_ack(&mut self, ack: u64) {
        let end = self.end();
        if ack > self.snd_una && ack <= end {
            let n = usize::try_from(ack - self.snd_una).unwrap_or(usize::MAX);
            self.unacked.drain(..n.min(self.unacked.len()));
            self.snd_una = ack;
            self.snd_nxt = self.snd_nxt.max(ack);
        } else if self.fin_requested && ack == end + 1 {
            self.on_data_ack(end);
            self.fin_acked = true;
        }
    }

    /// Sends everything unacknowledged again from `snd_una` (on another subflow); returns
    /// the bytes that will be sent twice.
    pub(crate) fn reinject(&mut self) -> u64 {
        let again = self.snd_nxt - self.snd_una;
        self.snd_nxt = self.snd_una;
        again
    }

    /// Data of DSN `dsn` arrived on some subflow.
    pub(crate) fn on_data(&mut self, dsn: u64, data: &[u8], now: Instant) {
        let end = dsn + data.len() as u64;
        if end <= self.rcv_nxt || data.is_empty() {
            return;
        }
        let skip = usize::try_from(self.rcv_nxt.saturating_sub(dsn)).unwrap_or(usize::MAX);
        let dsn = dsn.max(self.rcv_nxt);
        self.ooo.entry(dsn).or_insert_with(|| data[skip..].to_vec());
        let before = self.rcv_nxt;
        while let Some((&d, _)) = self.ooo.first_key_value().filter(|(d, _)| **d <= self.rcv_nxt) {
            let bytes = self.ooo.remove(&d).unwrap_or_default();
            let e = d + bytes.len() as u64;
            if e > self.rcv_nxt {
                let from = usize::try_from(self.rcv_nxt - d).unwrap_or(0);
                self.readable.extend(&bytes[from..]);
                self.rcv_nxt = e;
            }
        }
        if self.rcv_nxt > before {
            if let Some(last) = self.last_arrival {
                self.max_gap_us =
                    self.max_gap_us.max(now.saturating_duration_since(last).total_micros());
            }
            self.last_arrival = Some(now);
        }
        self.check_fin();
    }

    /// The server's DATA_FIN is at `dsn`.
    pub(crate) fn on_peer_fin(&mut self, dsn: u64) {
        self.peer_fin = Some(dsn);
        self.check_fin();
    }

    fn check_fin(&mut self) {
        if !self.peer_finished && self.peer_fin == Some(self.rcv_nxt) {
            self.peer_finished = true;
            self.rcv_nxt += 1;
        }
    }

    /// Both directions are complete.
    pub(crate) fn done(&self) -> bool {
        self.peer_finished && self.fin_acked
    }
}

/// The 64-bit number whose low 32 bits are `low`, closest to `near` (RFC 8684 §3.3.1:
/// 32-bit DSNs and DATA_ACKs are expanded against the current sequence numbers).
pub(crate) fn expand(near: u64, low: u32) -> u64 {
    let base = (near & !0xffff_ffff) | u64::from(low);
    [base.wrapping_sub(1 << 32), base, base.wrapping_add(1 << 32)]
        .into_iter()
        .min_by_key(|c| c.abs_diff(near))
        .unwrap_or(base)
}
