//! DSS: DATA_ACKs, mappings and DATA_FINs (RFC 8684 §3.3, RFC 6824 §3.3), checked against
//! the IDSNs derived from the keys and against the subflow's earlier mappings.

use netreaktor_pipeline::wire::mptcp::{DataSeq, Dss};

use super::mapping::MapRange;
use super::process::Seg;
use super::{CheckDetail, CheckKind, EventKind, Fallback, ObservedConnection, Outcome, Side};

/// How far past the peer's IDSN + 1 a first DATA_ACK may be: half the 32-bit space, the
/// most any sender can have outstanding before its first acknowledgment (RFC 9293 §3.4).
const FIRST_ACK_SPAN: u64 = 1 << 31;

impl ObservedConnection {
    /// A DSS option: DATA_ACK, mapping, DATA_FIN.
    pub(super) fn on_dss(&mut self, seg: &Seg<'_, '_>, dss: &Dss) {
        // RFC 8684 §3.1: a DSS from the listener confirms that MPTCP is in use.
        if seg.from == Side::Listener {
            self.confirmed = true;
        }
        if let Some(ack) = dss.data_ack {
            self.check_first_data_ack(seg, ack);
        }
        let mut fin_dsn = None;
        if let Some(mapping) = dss.mapping {
            if mapping.is_infinite() {
                let why = Fallback::InfiniteMapping(seg.from);
                self.fall_back(seg.now, seg.sub, seg.from, why);
            } else {
                // RFC 8684 §3.3.3: a DATA_FIN takes one DSN but no subflow sequence space.
                let data_len = u32::from(mapping.data_len);
                let octets = data_len.saturating_sub(u32::from(dss.data_fin));
                let dsn = self.on_mapping_range(seg, mapping.dsn, mapping.subflow_seq, octets);
                fin_dsn =
                    dss.data_fin.then(|| dsn.wrapping_add(u64::from(data_len.saturating_sub(1))));
            }
        }
        if dss.data_fin {
            self.on_data_fin(seg, fin_dsn);
        }
    }

    /// A mapping of `len` subflow octets from `ssn` to `raw`: checked against the sender's
    /// IDSN if it is the first, and against the subflow's earlier mappings. Returns the
    /// 64-bit DSN.
    pub(super) fn on_mapping_range(
        &mut self,
        seg: &Seg<'_, '_>,
        raw: DataSeq,
        ssn: u32,
        len: u32,
    ) -> u64 {
        let dsn = self.expand_dsn(seg.from, raw);
        if self.fallback.is_some() {
            return dsn;
        }
        self.check_first_mapping(seg, raw, dsn);
        self.data.get_mut(seg.from).mapped = true;
        if len > 0 {
            self.log_mapping(seg, MapRange { ssn, len, dsn });
        }
        dsn
    }

    /// The 64-bit DSN of a mapping `from` sent (RFC 8684 §3.3.1: a 4-octet DSN is the low
    /// half, the upper half taken from the sender's recent DSNs).
    fn expand_dsn(&mut self, from: Side, raw: DataSeq) -> u64 {
        let start = self.idsn(from).map(|idsn| idsn.wrapping_add(1));
        let state = self.data.get_mut(from);
        let dsn = raw.expand(state.dsn_ref.or(start).unwrap_or(0));
        state.dsn_ref = Some(dsn);
        dsn
    }

    /// RFC 8684 §3.3: the first data octet a side sends has DSN IDSN + 1.
    fn check_first_mapping(&mut self, seg: &Seg<'_, '_>, raw: DataSeq, dsn: u64) {
        let Some(idsn) = self.idsn(seg.from) else {
            return;
        };
        if self.data.get(seg.from).first_mapping_checked {
            return;
        }
        self.data.get_mut(seg.from).first_mapping_checked = true;
        let expected = idsn.wrapping_add(1);
        let (expected, got) = match raw {
            DataSeq::Low32(low) => (u64::from(expected as u32), u64::from(low)),
            DataSeq::Full64(_) => (expected, dsn),
        };
        let outcome = if expected == got { Outcome::Pass } else { Outcome::Fail };
        let detail = Some(CheckDetail::Sequence { expected, got });
        self.record(seg.now, seg.sub, seg.from, CheckKind::Idsn, outcome, detail);
    }

    /// RFC 8684 §3.3.2: a DATA_ACK names the next DSN expected from the peer, so the first
    /// one is at least the peer's IDSN + 1.
    fn check_first_data_ack(&mut self, seg: &Seg<'_, '_>, ack: DataSeq) {
        let Some(peer_idsn) = self.idsn(seg.from.peer()) else {
            return;
        };
        if self.data.get(seg.from).first_ack_checked {
            return;
        }
        self.data.get_mut(seg.from).first_ack_checked = true;
        let expected = peer_idsn.wrapping_add(1);
        let (expected, got, ahead) = match ack {
            DataSeq::Low32(low) => {
                let expected = expected as u32;
                (u64::from(expected), u64::from(low), u64::from(low.wrapping_sub(expected)))
            }
            DataSeq::Full64(full) => (expected, full, full.wrapping_sub(expected)),
        };
        let outcome = if ahead < FIRST_ACK_SPAN { Outcome::Pass } else { Outcome::Fail };
        let detail = Some(CheckDetail::Sequence { expected, got });
        self.record(seg.now, seg.sub, seg.from, CheckKind::DataAckIdsn, outcome, detail);
    }

    /// Adds a mapping to the subflow's log and records a conflict with an earlier one.
    fn log_mapping(&mut self, seg: &Seg<'_, '_>, range: MapRange) {
        let Some(sub) = self.subflows.get_mut(seg.sub) else {
            return;
        };
        let (outcome, detail) = match sub.mappings.get_mut(seg.from).insert(range) {
            Ok(()) => (Outcome::Pass, None),
            Err(c) => {
                let (subflow_seq, earlier_dsn, dsn) = (c.ssn, c.earlier_dsn, c.dsn);
                (
                    Outcome::Fail,
                    Some(CheckDetail::MappingConflict { subflow_seq, earlier_dsn, dsn }),
                )
            }
        };
        self.record(seg.now, seg.sub, seg.from, CheckKind::MappingConsistency, outcome, detail);
    }

    /// The first DATA_FIN of a side.
    fn on_data_fin(&mut self, seg: &Seg<'_, '_>, dsn: Option<u64>) {
        let state = self.data.get_mut(seg.from);
        if state.data_fin {
            return;
        }
        state.data_fin = true;
        self.push_event(seg.now, seg.sub, seg.from, EventKind::DataFin { dsn });
    }
}
