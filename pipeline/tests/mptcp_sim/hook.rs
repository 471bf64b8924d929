//! The options the test client writes on its subflows' segments (RFC 8684 §3.1 MP_CAPABLE,
//! §3.2 MP_JOIN, §3.3 DSS, §3.4 ADD_ADDR echo and REMOVE_ADDR, §3.5 MP_FASTCLOSE).

use std::collections::VecDeque;
use std::net::IpAddr;

use netreaktor_pipeline::tcp::hooks::{Outgoing, SegmentHook, SegmentKind};
use netreaktor_pipeline::wire::mptcp::{
    AddAddr, Dss, DssMapping, MpCapable, MpCapableFlags, MpFastclose, MpJoin, MptcpVersion,
    RemoveAddr,
};
use netreaktor_pipeline::wire::tcp_option::TcpOptionWriter;

use super::subflow::{Forge, Kind, Map};

/// A control option waiting for a pure ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Echo(u8, IpAddr, Option<u16>),
    Remove(u8),
}

/// Where the connection is, as far as options go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// MP_CAPABLE offered; no segment from the server after its SYN,ACK yet.
    Pending,
    /// MPTCP: DSS on every segment.
    Mptcp,
    /// Plain TCP (never offered, refused, or fallen back).
    Plain,
}

/// The hook of one segment.
pub(crate) struct ClientHook {
    pub(crate) kind: Kind,
    pub(crate) mode: Mode,
    /// Whether MP_CAPABLE goes on segments after the SYN (false: a middlebox strips it).
    pub(crate) capable_after_syn: bool,
    /// MPTCP v0 (RFC 6824).
    pub(crate) v0: bool,
    pub(crate) joined: bool,
    pub(crate) ack_hmac: Option<[u8; 20]>,
    pub(crate) keys: (u64, u64),
    pub(crate) token: u32,
    pub(crate) maps: VecDeque<Map>,
    /// DSN of data-level offset 0 of each direction: (ours, the server's).
    pub(crate) base: (u64, u64),
    pub(crate) data_ack: u64,
    /// Our DATA_FIN's DSN when due.
    pub(crate) data_fin: Option<u64>,
    pub(crate) fastclose: bool,
    pub(crate) signal: Option<Signal>,
    pub(crate) wrote_signal: bool,
}

const FLAGS: MpCapableFlags = MpCapableFlags::HMAC_SHA;

impl ClientHook {
    fn syn(&self, w: &mut TcpOptionWriter<'_>) {
        match self.kind {
            Kind::Initial if self.mode != Mode::Plain && self.v0 => {
                // RFC 6824 §3.1: the v0 SYN carries the sender's key.
                let opt = MpCapable::syn(MptcpVersion::V0, FLAGS, self.keys.0);
                let _ = w.push_with(opt.buffer_len(), |b| opt.emit(b));
            }
            Kind::Initial if self.mode != Mode::Plain => {
                let opt = MpCapable::syn(MptcpVersion::V1, FLAGS, 0);
                let _ = w.push_with(opt.buffer_len(), |b| opt.emit(b));
            }
            Kind::Initial => {}
            Kind::Join { nonce, addr_id, backup, forge } => {
                let token = if forge == Forge::Token { !self.token } else { self.token };
                let opt = MpJoin::Syn { backup, addr_id, token, nonce };
                let _ = w.push_with(opt.buffer_len(), |b| opt.emit(b));
            }
        }
    }

    fn capable(&mut self, seg: &Outgoing, w: &mut TcpOptionWriter<'_>) {
        if !self.capable_after_syn {
            return;
        }
        let (ours, theirs) = self.keys;
        if self.v0 {
            // RFC 6824 §3.1: both keys on pure ACKs; v0 has no MP_CAPABLE with data, the
            // data is mapped by DSS from its first byte.
            if seg.payload_len > 0 {
                return self.dss(seg, w);
            }
            let opt = MpCapable::ack(MptcpVersion::V0, FLAGS, ours, theirs);
            let _ = w.push_with(opt.buffer_len(), |b| opt.emit(b));
            return;
        }
        let first = self.maps.iter().find(|m| m.sub == 0);
        let opt = match first {
            Some(m) if seg.payload_len > 0 && seg.stream_offset == 0 => {
                MpCapable::ack_with_data(FLAGS, ours, theirs, m.len as u16, None)
            }
            _ => MpCapable::ack(MptcpVersion::V1, FLAGS, ours, theirs),
        };
        let _ = w.push_with(opt.buffer_len(), |b| opt.emit(b));
    }

    fn dss(&mut self, seg: &Outgoing, w: &mut TcpOptionWriter<'_>) {
        let mut dss = Dss::data_ack_only(self.data_ack, true);
        let map = self.maps.iter().find(|m| m.covers(seg.stream_offset));
        match map {
            Some(m) if seg.payload_len > 0 => {
                let dsn = self.base.0.wrapping_add(m.data);
                let ssn = (m.sub as u32).wrapping_add(1);
                dss.mapping = Some(DssMapping::new(dsn, true, ssn, m.len as u16));
            }
            _ => {
                if let Some(fin) = self.data_fin.filter(|_| seg.payload_len == 0) {
                    dss = dss.with_data_fin();
                    dss.mapping = Some(DssMapping::data_fin_only(fin, true));
                }
            }
        }
        let _ = w.push_with(dss.buffer_len(), |b| dss.emit(b));
        if seg.payload_len == 0 {
            self.write_signal(w);
        }
    }

    fn write_signal(&mut self, w: &mut TcpOptionWriter<'_>) {
        let ok = match self.signal {
            Some(Signal::Echo(id, addr, port)) => {
                let opt = AddAddr::echo(id, addr, port);
                w.push_with(opt.buffer_len(), |b| opt.emit(b)).is_ok()
            }
            Some(Signal::Remove(id)) => {
                let ids = [id];
                let opt = RemoveAddr::new(&ids).expect("one id");
                w.push_with(opt.buffer_len(), |b| opt.emit(b)).is_ok()
            }
            None => false,
        };
        self.wrote_signal = ok;
    }
}

impl SegmentHook for ClientHook {
    fn option_space(&self, kind: SegmentKind) -> usize {
        match kind {
            SegmentKind::Syn => 12,
            SegmentKind::Other => 28,
            _ => 12,
        }
    }

    fn write_options(&mut self, seg: &Outgoing, w: &mut TcpOptionWriter<'_>) {
        match seg.kind {
            SegmentKind::Syn => self.syn(w),
            SegmentKind::Reset if self.fastclose => {
                let opt = MpFastclose { receiver_key: self.keys.1 };
                let _ = w.push_with(opt.buffer_len(), |b| opt.emit(b));
            }
            SegmentKind::Other => match (self.kind, self.mode) {
                (Kind::Join { .. }, _) if !self.joined => {
                    if let Some(hmac) = self.ack_hmac {
                        let opt = MpJoin::Ack { hmac };
                        let _ = w.push_with(opt.buffer_len(), |b| opt.emit(b));
                    }
                }
                (Kind::Initial, Mode::Pending) => self.capable(seg, w),
                (_, Mode::Mptcp) => self.dss(seg, w),
                _ => {}
            },
            _ => {}
        }
    }

    fn max_payload(&self, stream_offset: u64) -> usize {
        if self.mode == Mode::Plain {
            return 0;
        }
        let m = self.maps.iter().find(|m| m.covers(stream_offset));
        m.map_or(0, |m| (m.end() - stream_offset) as usize)
    }
}
