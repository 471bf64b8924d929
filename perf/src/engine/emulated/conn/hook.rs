//! The MPTCP options of one subflow's outgoing segments, written through the TCP engine's
//! [`SegmentHook`] in the order and forms xnu uses (docs/ios-emulation.md §2-§3, §7).

use netreaktor_pipeline::tcp::{Outgoing, SegmentHook, SegmentKind};
use netreaktor_pipeline::wire::tcp::TcpFlags;
use netreaktor_pipeline::wire::tcp_option::TcpOptionWriter;

use super::super::keys::{self, Version};
use super::super::options::{self, Mapping};
use super::{Shared, SubflowMp};

/// Option space reserved on every non-SYN segment: the 22-byte first-data MP_CAPABLE or an
/// 18-byte DSS, rounded up to whole words.
pub(crate) const OTHER_SPACE: usize = 24;

/// One subflow's hook: its MPTCP state and the connection's shared values.
pub(crate) struct Hook<'a> {
    pub(crate) mp: &'a mut SubflowMp,
    pub(crate) shared: &'a Shared,
}

impl Hook<'_> {
    fn version(&self) -> Option<Version> {
        self.shared.offered.filter(|_| !self.mp.dropped_option)
    }

    /// The option of a SYN: MP_CAPABLE (until the generation's retry count is spent) or
    /// MP_JOIN.
    fn syn_option(&mut self) -> Option<Vec<u8>> {
        let v = self.version()?;
        self.mp.syns += 1;
        if let Some(j) = self.mp.join {
            let token = keys::token(v, self.shared.key_b);
            return Some(options::join_syn(j.backup, j.addr_id, token, j.nonce));
        }
        if self.mp.syns > self.shared.generation.capable_syns() {
            // docs/ios-emulation.md §1: after 3 or 5 MP_CAPABLE SYNs iOS drops the option.
            self.mp.dropped_option = true;
            return None;
        }
        Some(options::capable_syn(v, self.shared.key_a))
    }

    /// The option of any other segment.
    fn other_option(&mut self, seg: &Outgoing) -> Option<Vec<u8>> {
        let v = self.version()?;
        if !self.shared.mptcp {
            return None;
        }
        let sh = self.shared;
        if !self.mp.third_ack_sent && seg.payload_len == 0 {
            self.mp.third_ack_sent = true;
            return Some(match self.mp.join {
                // RFC 8684 §3.2: HMAC(key_A‖key_B, R_A‖R_B), 160 bits.
                Some(j) => {
                    let mac = keys::join_hmac(v, sh.key_a, sh.key_b, j.nonce, j.peer_nonce?);
                    options::join_ack(&mac)
                }
                None => options::capable_keys(v, sh.key_a, sh.key_b),
            });
        }
        self.mp.third_ack_sent = true;
        if seg.flags.contains(TcpFlags::FIN)
            && seg.payload_len == 0
            && let Some(d) = self.mp.data_fin
        {
            // RFC 8684 §3.3.3: a DATA_FIN without data maps subflow sequence 0, length 1.
            let m = Mapping { dsn: d, ssn: 0, len: 1, fin: true };
            return Some(options::dss(sh.data_ack, Some(m), None));
        }
        if seg.payload_len > 0 {
            return Some(self.data_option(v, seg.stream_offset));
        }
        if v == Version::V1
            && sh.habits.repeat_capable
            && self.mp.join.is_none()
            && !self.mp.data_sent
        {
            // docs/ios-emulation.md §3: until its first byte, iOS's ACKs repeat MP_CAPABLE.
            return Some(options::capable_keys(v, sh.key_a, sh.key_b));
        }
        Some(options::dss(sh.data_ack, None, None))
    }

    /// The mapping of the data at `offset`: the v1 first-data MP_CAPABLE or a DSS.
    fn data_option(&mut self, v: Version, offset: u64) -> Vec<u8> {
        self.mp.data_sent = true;
        let sh = self.shared;
        let Some(&(off, dsn, len)) =
            self.mp.tx_maps.iter().find(|m| m.0 <= offset && offset < m.0 + u64::from(m.2))
        else {
            return options::dss(sh.data_ack, None, None);
        };
        let first = self.mp.join.is_none() && off == 0 && dsn == sh.idsn_a.wrapping_add(1);
        if v == Version::V1 && sh.habits.capable_data && first && !sh.first_data_acked {
            // docs/ios-emulation.md §3: DSN = IDSN+1 and SSN = 1 are implied.
            return options::capable_data(sh.key_a, sh.key_b, len, None);
        }
        let ssn = u32::try_from(off + 1).unwrap_or(u32::MAX);
        options::dss(sh.data_ack, Some(Mapping { dsn, ssn, len, fin: false }), None)
    }
}

impl SegmentHook for Hook<'_> {
    fn option_space(&self, kind: SegmentKind) -> usize {
        match (kind, self.version()) {
            (_, None) => 0,
            (SegmentKind::Syn, Some(Version::V1)) if self.mp.join.is_none() => 4,
            (SegmentKind::Syn, Some(_)) => 12,
            (SegmentKind::Other, Some(_)) if self.shared.mptcp => OTHER_SPACE,
            _ => 0,
        }
    }

    fn write_options(&mut self, segment: &Outgoing, writer: &mut TcpOptionWriter<'_>) {
        let option = match segment.kind {
            SegmentKind::Syn => self.syn_option(),
            SegmentKind::Other => self.other_option(segment),
            _ => None,
        };
        if let Some(o) = option {
            let _ = writer.push_with(o.len(), |area| area.copy_from_slice(&o));
        }
    }

    fn max_payload(&self, stream_offset: u64) -> usize {
        self.mp
            .tx_maps
            .iter()
            .find(|m| m.0 <= stream_offset && stream_offset < m.0 + u64::from(m.2))
            .map_or(usize::MAX, |m| {
                usize::try_from(m.0 + u64::from(m.2) - stream_offset).unwrap_or(usize::MAX)
            })
    }
}
