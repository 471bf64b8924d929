//! The MP_JOIN handshake of an additional subflow (RFC 8684 §3.2, RFC 6824 §3.2).
//!
//! The joiner's SYN carries the responder's token and the joiner's nonce (handled when the
//! subflow is created); the responder's SYN/ACK its truncated HMAC and nonce, checked from
//! the joiner's point of view with [`HmacKeys::verify_syn_ack_hmac`]; the joiner's third
//! ACK its 160-bit HMAC, checked from the responder's point of view with
//! [`HmacKeys::verify_ack_hmac`]. The subflow is established when the responder
//! acknowledges the third ACK.
//!
//! [`HmacKeys::verify_syn_ack_hmac`]: netreaktor_pipeline::mptcp::crypto::HmacKeys::verify_syn_ack_hmac
//! [`HmacKeys::verify_ack_hmac`]: netreaktor_pipeline::mptcp::crypto::HmacKeys::verify_ack_hmac

use netreaktor_pipeline::wire::mptcp::MpJoin;

use super::process::Seg;
use super::subflow::{JoinNonces, SubflowState};
use super::{CheckKind, EventKind, ObservedConnection, Outcome};

impl ObservedConnection {
    /// The responder's SYN/ACK: its address ID, backup bit, nonce and truncated HMAC.
    pub(super) fn on_join_syn_ack(&mut self, seg: &Seg<'_, '_>) {
        let responder = seg.from;
        let Some(sub) = self.subflows.get_mut(seg.sub) else {
            return;
        };
        if responder == sub.opened_by() || sub.state != SubflowState::Opening {
            return; // a retransmission, or not an answer to the SYN
        }
        let Some(MpJoin::SynAck { backup, addr_id, hmac, nonce }) = seg.opts.mp_join else {
            // Answered as plain TCP: the join failed (RFC 8684 §3.2).
            sub.finish(SubflowState::Refused, seg.now);
            let refused = EventKind::JoinRefused { tcprst: seg.opts.tcprst };
            self.push_event(seg.now, seg.sub, responder, refused);
            return;
        };
        sub.state = SubflowState::SynAcked;
        *sub.addr_id.get_mut(responder) = Some(addr_id);
        *sub.backup.get_mut(responder) = backup;
        let Some(nonces) = sub.join.as_mut() else {
            return;
        };
        nonces.responder = Some(nonce);
        let joiner_nonce = nonces.joiner;
        let joiner = responder.peer();
        let outcome = match self.hmac_keys(joiner) {
            Some(keys) => {
                let received = u64::from_be_bytes(hmac);
                pass_if(keys.verify_syn_ack_hmac(joiner_nonce, nonce, received).is_ok())
            }
            None => Outcome::NotSeen,
        };
        self.record(seg.now, seg.sub, responder, CheckKind::JoinSynAckHmac, outcome, None);
    }

    /// An ACK on a join subflow: the joiner's third ACK with its HMAC, or the responder's
    /// acknowledgment of it.
    pub(super) fn on_join_ack(&mut self, seg: &Seg<'_, '_>) {
        let Some(sub) = self.subflows.get(seg.sub) else {
            return;
        };
        let (from_joiner, state, nonces) = (seg.from == sub.opened_by(), sub.state, sub.join);
        match state {
            SubflowState::SynAcked if from_joiner => self.on_join_third_ack(seg, nonces),
            SubflowState::PreEstablished if !from_joiner => self.on_join_fourth_ack(seg),
            _ => {}
        }
    }

    /// The joiner's third ACK: its HMAC, from the responder's point of view.
    fn on_join_third_ack(&mut self, seg: &Seg<'_, '_>, nonces: Option<JoinNonces>) {
        let Some(MpJoin::Ack { hmac }) = seg.opts.mp_join else {
            return;
        };
        if let Some(sub) = self.subflows.get_mut(seg.sub) {
            sub.state = SubflowState::PreEstablished;
        }
        let responder = seg.from.peer();
        let keys = self.hmac_keys(responder);
        let outcome = match (keys, nonces.and_then(|n| Some((n.joiner, n.responder?)))) {
            (Some(keys), Some((joiner_nonce, responder_nonce))) => {
                pass_if(keys.verify_ack_hmac(responder_nonce, joiner_nonce, &hmac).is_ok())
            }
            _ => Outcome::NotSeen,
        };
        self.record(seg.now, seg.sub, seg.from, CheckKind::JoinAckHmac, outcome, None);
    }

    /// The responder acknowledged the third ACK: the subflow is joined.
    fn on_join_fourth_ack(&mut self, seg: &Seg<'_, '_>) {
        self.establish(seg.sub, seg.now);
        self.confirmed = true;
        let Some(sub) = self.subflows.get(seg.sub) else {
            return;
        };
        let joiner = sub.opened_by();
        let backup = sub.backup(joiner);
        let addr_id = sub.addr_id(joiner).unwrap_or(0);
        self.push_event(seg.now, seg.sub, joiner, EventKind::SubflowJoined { backup, addr_id });
    }
}

/// `Pass` when `ok`, else `Fail`.
pub(super) fn pass_if(ok: bool) -> Outcome {
    if ok { Outcome::Pass } else { Outcome::Fail }
}
