//! The MP_CAPABLE handshake on the initial subflow (RFC 8684 §3.1, RFC 6824 §3.1).
//!
//! v1: the SYN carries no key, the SYN/ACK the listener's key, the third ACK both keys
//! (and the first data packet may repeat them with a data-level length). v0: the SYN
//! carries the initiator's key, the SYN/ACK the listener's, the third ACK both. The
//! SYN/ACK's version is the negotiated one.

use netreaktor_pipeline::wire::mptcp::{DataSeq, MpCapable};

use super::connection::Handshake;
use super::process::Seg;
use super::subflow::SubflowState;
use super::{CheckDetail, CheckKind, EventKind, Fallback, ObservedConnection, Outcome, Side};

impl ObservedConnection {
    /// The listener's SYN/ACK: its key, or the fallback when it carries no MP_CAPABLE.
    pub(super) fn on_mpc_syn_ack(&mut self, seg: &Seg<'_, '_>) {
        if seg.from != Side::Listener || self.handshake != Handshake::SynSent {
            return; // a retransmission, or not a SYN/ACK of this handshake
        }
        self.handshake = Handshake::SynAcked;
        if let Some(sub) = self.subflows.get_mut(seg.sub) {
            sub.state = SubflowState::SynAcked;
        }
        let offer = seg.opts.mp_capable.and_then(|mpc| Some((mpc, mpc.sender_key()?)));
        match offer {
            Some((mpc, key)) => {
                self.set_version(mpc.version);
                *self.flags.get_mut(Side::Listener) = Some(mpc.flags);
                self.set_key(Side::Listener, key);
            }
            None => self.fall_back(seg.now, seg.sub, seg.from, Fallback::SynAckWithoutMpCapable),
        }
    }

    /// An ACK from the initiator: the third ACK (both keys), or a later MP_CAPABLE that
    /// carries the first data (RFC 8684 §3.1).
    pub(super) fn on_mpc_ack(&mut self, seg: &Seg<'_, '_>) {
        if seg.from != Side::Initiator {
            return;
        }
        let third_ack = self.handshake == Handshake::SynAcked;
        if third_ack {
            self.handshake = Handshake::Established;
            self.establish(seg.sub, seg.now);
        }
        if self.fallback == Some(Fallback::SynAckWithoutMpCapable) {
            return;
        }
        let Some(mpc) = seg.opts.mp_capable else {
            if third_ack {
                let why = Fallback::ThirdAckWithoutMpCapable;
                self.fall_back(seg.now, seg.sub, seg.from, why);
            }
            return;
        };
        if mpc.receiver_key().is_none() {
            return;
        }
        self.check_key_echo(seg, &mpc, third_ack);
        if third_ack {
            self.push_event(seg.now, seg.sub, seg.from, EventKind::Established);
        }
        if let Some(len) = seg.opts.mpc_data_len() {
            self.on_mpc_data(seg, len);
        }
    }

    /// The keys of an MP_CAPABLE ACK against the ones seen before; learns the v1
    /// initiator's key. Recorded on the third ACK, and on any later mismatch.
    fn check_key_echo(&mut self, seg: &Seg<'_, '_>, mpc: &MpCapable, third_ack: bool) {
        let (Some(sender), Some(receiver)) = (mpc.sender_key(), mpc.receiver_key()) else {
            return;
        };
        let known = |side: Side, key: u64| self.key(side).is_none_or(|k| k == key);
        let consistent = known(Side::Initiator, sender) && known(Side::Listener, receiver);
        let outcome = match (consistent, self.key(Side::Listener)) {
            (false, _) => Outcome::Fail,
            (true, Some(_)) => Outcome::Pass,
            (true, None) => Outcome::NotSeen,
        };
        if self.key(Side::Initiator).is_none() {
            self.set_key(Side::Initiator, sender);
        }
        if self.key(Side::Listener).is_none() {
            self.set_key(Side::Listener, receiver);
        }
        if third_ack || outcome == Outcome::Fail {
            let detail = (outcome == Outcome::Fail).then_some(CheckDetail::KeyMismatch);
            self.record(seg.now, seg.sub, seg.from, CheckKind::KeyEcho, outcome, detail);
        }
    }

    /// The first data of an MP_CAPABLE ACK: an implicit mapping of `len` octets from
    /// subflow sequence number 1 to DSN IDSN + 1 (RFC 8684 §3.1).
    fn on_mpc_data(&mut self, seg: &Seg<'_, '_>, len: u16) {
        let Some(idsn) = self.idsn(Side::Initiator) else {
            return;
        };
        let dsn = idsn.wrapping_add(1);
        self.on_mapping_range(seg, DataSeq::Full64(dsn), 1, u32::from(len));
    }
}
