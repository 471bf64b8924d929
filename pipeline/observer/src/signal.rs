//! Options that signal addresses, priorities, failures and closes: ADD_ADDR, REMOVE_ADDR,
//! MP_PRIO, MP_FAIL, MP_FASTCLOSE (RFC 8684 §3.3.8, §3.4, §3.5, §3.7) and resets with or
//! without MP_TCPRST (RFC 8684 §3.6).

use netreaktor_pipeline::wire::mptcp::{AddAddr, AddAddrForm, MpFail, MpFastclose, MpPrio};

use super::join::pass_if;
use super::process::Seg;
use super::subflow::{SubflowKind, SubflowState};
use super::{CheckDetail, CheckKind, EventKind, HmacStatus, ObservedConnection, Outcome};

impl ObservedConnection {
    /// ADD_ADDR: an announcement (its HMAC checked from the receiver's point of view,
    /// RFC 8684 §3.4.1), an echo, or a v0 announcement without HMAC.
    pub(super) fn on_add_addr(&mut self, seg: &Seg<'_, '_>, add: &AddAddr) {
        let (echo, hmac) = match add.form {
            AddAddrForm::Echo => (true, HmacStatus::Absent),
            AddAddrForm::V0 => (false, HmacStatus::Absent),
            AddAddrForm::Announce { hmac } => (false, self.check_add_addr(seg, add, hmac)),
        };
        let (addr_id, addr, port) = (add.addr_id, add.addr, add.port);
        let kind = EventKind::AddAddr { addr_id, addr, port, echo, hmac };
        self.push_event(seg.now, seg.sub, seg.from, kind);
    }

    fn check_add_addr(&mut self, seg: &Seg<'_, '_>, add: &AddAddr, hmac: [u8; 8]) -> HmacStatus {
        let receiver = seg.from.peer();
        let (status, outcome) = match self.hmac_keys(receiver) {
            Some(keys) => {
                let received = u64::from_be_bytes(hmac);
                match keys.verify_add_addr_hmac(add.addr_id, add.addr, add.port, received) {
                    Ok(_) => (HmacStatus::Verified, Outcome::Pass),
                    Err(_) => (HmacStatus::Mismatch, Outcome::Fail),
                }
            }
            None => (HmacStatus::Unchecked, Outcome::NotSeen),
        };
        self.record(seg.now, seg.sub, seg.from, CheckKind::AddAddrHmac, outcome, None);
        status
    }

    /// REMOVE_ADDR (RFC 8684 §3.4.2).
    pub(super) fn on_remove_addr(&mut self, seg: &Seg<'_, '_>, addr_ids: &[u8]) {
        let kind = EventKind::RemoveAddr { addr_ids: addr_ids.to_vec() };
        self.push_event(seg.now, seg.sub, seg.from, kind);
    }

    /// MP_PRIO: the sender's backup wish for this subflow (v1, RFC 8684 §3.3.8), or for
    /// every subflow on which it uses the address ID (v0, RFC 6824 §3.3.8).
    pub(super) fn on_mp_prio(&mut self, seg: &Seg<'_, '_>, prio: MpPrio) {
        let from = seg.from;
        for sub in &mut self.subflows {
            let applies = match prio.addr_id {
                None => sub.index() == seg.sub,
                Some(id) => sub.addr_id(from) == Some(id),
            };
            if applies {
                *sub.backup.get_mut(from) = prio.backup;
            }
        }
        let kind = EventKind::MpPrio { backup: prio.backup, addr_id: prio.addr_id };
        self.push_event(seg.now, seg.sub, from, kind);
    }

    /// MP_FAIL (RFC 8684 §3.7).
    pub(super) fn on_mp_fail(&mut self, seg: &Seg<'_, '_>, fail: MpFail) {
        self.push_event(seg.now, seg.sub, seg.from, EventKind::MpFail { dsn: fail.dsn });
    }

    /// MP_FASTCLOSE: it must carry the receiver's key (RFC 8684 §3.5).
    pub(super) fn on_fastclose(&mut self, seg: &Seg<'_, '_>, fastclose: MpFastclose) {
        let key_ok = self.key(seg.from.peer()).map(|key| key == fastclose.receiver_key);
        let outcome = key_ok.map_or(Outcome::NotSeen, pass_if);
        let detail = (key_ok == Some(false)).then_some(CheckDetail::KeyMismatch);
        self.record(seg.now, seg.sub, seg.from, CheckKind::FastcloseKey, outcome, detail);
        self.push_event(seg.now, seg.sub, seg.from, EventKind::Fastclose { key_ok });
    }

    /// A TCP RST: a refused join if the subflow was a join not yet established, else a
    /// reset; either may carry MP_TCPRST (RFC 8684 §3.6). Later RSTs are ignored.
    pub(super) fn on_rst(&mut self, seg: &Seg<'_, '_>) {
        let Some(sub) = self.subflows.get_mut(seg.sub) else {
            return;
        };
        if sub.is_finished() {
            return;
        }
        let tcprst = seg.opts.tcprst;
        let join = matches!(sub.kind(), SubflowKind::Join { .. });
        let kind = if join && sub.state != SubflowState::Established {
            sub.finish(SubflowState::Refused, seg.now);
            EventKind::JoinRefused { tcprst }
        } else {
            sub.finish(SubflowState::Reset, seg.now);
            EventKind::Reset { tcprst }
        };
        self.push_event(seg.now, seg.sub, seg.from, kind);
    }
}
