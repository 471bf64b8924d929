//! Control options from the peer (RFC 8684 §3.4 ADD_ADDR / REMOVE_ADDR, §3.3.8 MP_PRIO,
//! §3.6 MP_TCPRST, §3.7 MP_FAIL) and the ADD_ADDR announcements we send.

use super::{ADD_ADDR_TRIES, Connection, SubflowId};
use crate::time::Instant;
use crate::wire::mptcp::{AddAddrForm, MpJoin, MpTcpRstReason, MptcpOption, MptcpVersion};
use crate::wire::tcp::TcpRepr;

impl Connection {
    /// A control option received on subflow `id`.
    pub(super) fn on_signal(&mut self, now: Instant, id: SubflowId, option: &MptcpOption<'_>) {
        match option {
            MptcpOption::MpPrio(prio) => {
                // RFC 8684 §3.3.8: the subflow it arrives on changes its backup state; a v0
                // MP_PRIO with an address id, every subflow from that address (RFC 6824
                // §3.3.8).
                self.stats.prio_changes += 1;
                match prio.addr_id {
                    Some(rid) => {
                        let from = |s: &&mut super::Subflow| s.remote_id == rid;
                        self.subflows.iter_mut().flatten().filter(from).for_each(|s| {
                            s.backup = prio.backup;
                        });
                    }
                    None => {
                        if let Some(s) = self.subflow_mut(id) {
                            s.backup = prio.backup;
                        }
                    }
                }
            }
            MptcpOption::AddAddr(add) => match add.form {
                AddAddrForm::Echo => self.on_echo(add.addr_id),
                AddAddrForm::Announce { hmac } => {
                    let mac = u64::from_be_bytes(hmac);
                    let verified =
                        self.hmac().verify_add_addr_hmac(add.addr_id, add.addr, add.port, mac);
                    match verified {
                        // RFC 8684 §3.4.1: echo it. We open no subflows (the server side).
                        Ok(v) => self.echo = Some((v.id(), v.addr(), v.port())),
                        Err(_) => self.stats.bad_add_addr += 1,
                    }
                }
                // RFC 6824 §3.4.1: unauthenticated; we open no subflows (the server side).
                AddAddrForm::V0 => {}
            },
            MptcpOption::RemoveAddr(remove) => {
                // RFC 8684 §3.4.2: unauthenticated, so it may only close subflows.
                self.stats.remove_addr += 1;
                for &rid in remove.addr_ids() {
                    self.close_subflows_of(now, rid);
                }
            }
            MptcpOption::MpJoin(MpJoin::Ack { .. }) => {
                // RFC 8684 §3.2: the third ACK of a join repeated on an attached subflow: our
                // ACK of it was lost. It is a duplicate pure ACK, which TCP leaves unanswered,
                // and iOS repeats it every 500 ms until it is acknowledged and sends nothing
                // else on the subflow meanwhile (docs/ios-emulation.md §7): answer each one,
                // or an idle backup subflow never becomes usable.
                if let Some(s) = self.subflow_mut(id) {
                    s.tcp.send_ack_now();
                }
            }
            MptcpOption::MpFail(_) => {
                // RFC 8684 §3.7: a checksum failed at the peer. With other subflows the
                // affected one is reset; the data it held is reinjected on the others.
                self.stats.mp_fail += 1;
                if self.live_subflows() > 1
                    && let Some(s) = self.subflow_mut(id)
                {
                    s.reset(now, MpTcpRstReason(0x01));
                }
            }
            _ => {}
        }
    }

    /// Closes the subflows whose source is the peer's address `remote_id`.
    fn close_subflows_of(&mut self, now: Instant, remote_id: u8) {
        for s in self.subflows.iter_mut().flatten() {
            if s.remote_id == remote_id && !s.ended() {
                s.closing = true;
                // RFC 8684 §3.6: 0x00, unspecified (the peer withdrew the address).
                s.reset(now, MpTcpRstReason(0x00));
            }
        }
    }

    /// A RST on a subflow: its MP_TCPRST, if any, is counted (RFC 8684 §3.6: the reason is
    /// informational; the subflow's end is handled like any other).
    pub(super) fn note_rst(&mut self, seg: &TcpRepr<'_>) {
        if !seg.flags.contains(crate::wire::tcp::TcpFlags::RST) {
            return;
        }
        let tcprst = seg
            .options
            .mptcp()
            .any(|b| matches!(MptcpOption::parse(b, self.version()), Ok(MptcpOption::MpTcpRst(_))));
        if tcprst {
            self.stats.mp_tcprst_received += 1;
        }
    }

    fn on_echo(&mut self, id: u8) {
        if let Some(a) = self.announce.iter_mut().find(|a| a.id == id) {
            a.echoed = true;
            a.due = None;
        }
    }

    /// The announcement due now, if any.
    pub(super) fn announce_due(&self, now: Instant) -> Option<(u8, std::net::IpAddr)> {
        if self.end.is_some() {
            return None;
        }
        let a = self.announce.iter().find(|a| a.due.is_some_and(|at| at <= now))?;
        Some((a.id, a.addr))
    }

    /// An announcement went out: due again after the timeout unless echoed, at most
    /// [`ADD_ADDR_TRIES`] times. A v0 announcement is sent once: v0 has no echo (RFC 6824
    /// §3.4.1).
    pub(super) fn announce_sent(&mut self, now: Instant, id: u8) {
        let timeout = self.cfg.add_addr_timeout;
        let tries = if self.version() == MptcpVersion::V0 { 1 } else { ADD_ADDR_TRIES };
        self.stats.add_addr_sent += 1;
        if let Some(a) = self.announce.iter_mut().find(|a| a.id == id) {
            a.sent += 1;
            a.due = (a.sent < tries).then_some(now + timeout);
        }
    }

    /// The earliest announcement due, not before the next try of one still due
    /// (`signal_retry`: an announcement that did not fit is tried again then, not in a loop
    /// of timeouts); none once the connection ended.
    pub(super) fn announce_deadline(&self) -> Option<Instant> {
        if self.end.is_some() {
            return None;
        }
        let due = self.announce.iter().filter_map(|a| a.due).min()?;
        Some(self.signal_retry.map_or(due, |at| due.max(at)))
    }
}
