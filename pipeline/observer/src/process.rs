//! Routing one segment of a followed subflow through the connection's processing steps.

use netreaktor_pipeline::time::Instant;
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpRepr};

use super::connection::Handshake;
use super::options::SegmentOptions;
use super::subflow::SubflowKind;
use super::{Fallback, ObservedConnection, Side};

/// One segment of a followed subflow, with the MPTCP options it carries.
#[derive(Debug, Clone, Copy)]
pub(super) struct Seg<'s, 'a> {
    /// When it was seen.
    pub(super) now: Instant,
    /// The subflow's index in its connection.
    pub(super) sub: usize,
    /// The side that sent it.
    pub(super) from: Side,
    /// The TCP header and payload.
    pub(super) tcp: &'s TcpRepr<'a>,
    /// Its MPTCP options.
    pub(super) opts: &'s SegmentOptions<'a>,
}

impl ObservedConnection {
    /// Follows one segment of one of this connection's subflows.
    pub(super) fn on_segment(&mut self, seg: &Seg<'_, '_>) {
        let Some(subflow) = self.subflows.get_mut(seg.sub) else {
            return;
        };
        subflow.on_tcp(seg.now, seg.from, seg.tcp);
        let kind = subflow.kind();
        let flags = seg.tcp.flags;
        let (syn, ack) = (flags.contains(TcpFlags::SYN), flags.contains(TcpFlags::ACK));
        let rst = flags.contains(TcpFlags::RST);
        match kind {
            SubflowKind::Initial if syn && ack => self.on_mpc_syn_ack(seg),
            SubflowKind::Initial if ack && !syn && !rst => self.on_mpc_ack(seg),
            SubflowKind::Join { .. } if syn && ack => self.on_join_syn_ack(seg),
            SubflowKind::Join { .. } if ack && !syn && !rst => self.on_join_ack(seg),
            _ => {}
        }
        self.on_options(seg);
        self.check_unmapped_data(seg);
        if rst {
            self.on_rst(seg);
        }
    }

    /// The MPTCP options that may come on any segment after the handshake.
    fn on_options(&mut self, seg: &Seg<'_, '_>) {
        let opts = seg.opts;
        if let Some(dss) = opts.dss {
            self.on_dss(seg, &dss);
        }
        if let Some(add_addr) = opts.add_addr {
            self.on_add_addr(seg, &add_addr);
        }
        if let Some(remove) = opts.remove_addr {
            self.on_remove_addr(seg, remove.addr_ids());
        }
        if let Some(prio) = opts.mp_prio {
            self.on_mp_prio(seg, prio);
        }
        if let Some(fail) = opts.mp_fail {
            self.on_mp_fail(seg, fail);
        }
        if let Some(fastclose) = opts.fastclose {
            self.on_fastclose(seg, fastclose);
        }
    }

    /// RFC 8684 §3.7: data on the initial subflow before its sender ever sent a mapping
    /// means the options were stripped, and the connection falls back to TCP.
    fn check_unmapped_data(&mut self, seg: &Seg<'_, '_>) {
        let initial = seg.sub == 0;
        let unmapped = !self.data.get(seg.from).mapped;
        let after_handshake = self.handshake != Handshake::SynSent;
        if !seg.tcp.payload.is_empty() && initial && unmapped && after_handshake {
            self.fall_back(seg.now, seg.sub, seg.from, Fallback::FirstDataWithoutDss(seg.from));
        }
    }
}
