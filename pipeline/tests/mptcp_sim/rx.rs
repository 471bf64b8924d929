//! What the test client does with a segment from the server: the subflow's TCP processing,
//! the handshake options of its SYN,ACK (RFC 8684 §3.1, §3.2: the server's key, the join
//! HMAC verified), then DSS (§3.3: DATA_ACK, mappings, DATA_FIN), ADD_ADDR (§3.4.1: HMAC
//! verified, echoed, joined) and MP_TCPRST; then the subflow's in-order bytes go to the data
//! level by their mappings, each byte checked against the stream the origin sends.

use std::net::SocketAddr;

use netreaktor_pipeline::mptcp::crypto::{HmacKeys, KeyMaterial};
use netreaktor_pipeline::tcp::State;
use netreaktor_pipeline::time::Instant;
use netreaktor_pipeline::wire::mptcp::{AddAddr, AddAddrForm, Dss, MpJoin, MptcpOption};
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpRepr};

use super::client::{Action, MpClient};
use super::hook::{Mode, Signal};
use super::subflow::{Forge, Kind, Map};

impl MpClient {
    pub(crate) fn on_segment(&mut self, now: Instant, i: usize, seg: &TcpRepr<'_>) {
        let opts: Vec<MptcpOption<'_>> = seg
            .options
            .mptcp()
            .filter_map(|b| MptcpOption::parse(b, self.version()).ok())
            .collect();
        if seg.flags.contains(TcpFlags::RST) {
            let reason = opts.iter().find_map(|o| match o {
                MptcpOption::MpTcpRst(r) => Some(r.reason.0),
                _ => None,
            });
            self.subs[i].rst = Some(reason);
        }
        let fastclose = opts.iter().find_map(|o| match o {
            MptcpOption::MpFastclose(f) => Some(f.receiver_key),
            _ => None,
        });
        if let Some(key) = fastclose {
            self.log.fastclose_from_server += 1;
            if self.acts_on_fastclose(i, seg, key) {
                return self.on_server_fastclose(now);
            }
        }
        let syn_sent = self.subs[i].tcp.state() == State::SynSent;
        let received = self.subs[i].tcp.handle_segment(now, seg);
        if std::env::var_os("MPTCP_SIM_DEBUG").is_some() {
            eprintln!(
                "{now} sub {i} seq {} len {} {received:?} opts {opts:?}",
                seg.seq_number,
                seg.payload.len()
            );
        }
        let state = self.subs[i].tcp.state();
        if syn_sent && !matches!(state, State::SynSent | State::Closed) {
            self.on_syn_ack(i, &opts);
        }
        let control = seg.flags.contains(TcpFlags::RST) || seg.flags.contains(TcpFlags::SYN);
        if !received.accepted || control {
            return;
        }
        self.decide_mode(i, &opts);
        if matches!(self.subs[i].kind, Kind::Join { .. }) && self.subs[i].ack_hmac.is_some() {
            self.subs[i].joined = true;
        }
        if self.mode == Mode::Mptcp {
            for o in &opts {
                match o {
                    MptcpOption::Dss(dss) => self.on_dss(now, i, dss, received.data),
                    MptcpOption::AddAddr(add) => self.on_add_addr(now, add),
                    _ => {}
                }
            }
        }
        self.drain(i);
        if self.subs[i].rx_bytes > 0 {
            self.subs[i].first_rx_at.get_or_insert(now);
        }
    }

    /// The SYN,ACK: the server's key, or the join's HMAC (RFC 8684 §3.1, §3.2).
    fn on_syn_ack(&mut self, i: usize, opts: &[MptcpOption<'_>]) {
        match self.subs[i].kind {
            Kind::Initial => {
                let key = opts.iter().find_map(|o| match o {
                    MptcpOption::MpCapable(c) if c.version == self.version() => c.sender_key(),
                    _ => None,
                });
                match (key, self.mode) {
                    (Some(k), Mode::Pending) => {
                        let server = KeyMaterial::new(k, self.key.algo());
                        self.hmac = Some(HmacKeys::new(&self.key, k));
                        self.server = Some(server);
                    }
                    (Some(_), Mode::Plain) => {
                        self.fail("MP_CAPABLE answered to a plain SYN".into())
                    }
                    (None, _) => self.mode = Mode::Plain,
                    _ => {}
                }
            }
            Kind::Join { nonce, forge, .. } => {
                let synack = opts.iter().find_map(|o| match o {
                    MptcpOption::MpJoin(MpJoin::SynAck { hmac, nonce, .. }) => {
                        Some((*hmac, *nonce))
                    }
                    _ => None,
                });
                let Some((mac, theirs)) = synack else {
                    return self.fail(format!("join {i}: SYN,ACK without MP_JOIN"));
                };
                let hmac = self.hmac.as_ref().expect("joins start after MP_CAPABLE");
                if hmac.verify_syn_ack_hmac(nonce, theirs, u64::from_be_bytes(mac)).is_err() {
                    return self.fail(format!("join {i}: the SYN,ACK's HMAC is wrong"));
                }
                let mut ack = hmac.ack_hmac(nonce, theirs);
                if forge == Forge::Hmac {
                    ack[0] ^= 0xff;
                }
                self.subs[i].ack_hmac = Some(ack);
            }
        }
    }

    /// RFC 8684 §3.1: the first segment after the handshake says whether the server speaks
    /// MPTCP (a DSS) or fell back (no MPTCP option at all).
    fn decide_mode(&mut self, i: usize, opts: &[MptcpOption<'_>]) {
        if self.mode != Mode::Pending || self.subs[i].kind != Kind::Initial {
            return;
        }
        let dss = opts.iter().any(|o| matches!(o, MptcpOption::Dss(_)));
        self.mode = if dss { Mode::Mptcp } else { Mode::Plain };
        self.log.mode = Some(if dss { "mptcp" } else { "fallback" });
    }

    fn on_dss(&mut self, now: Instant, i: usize, dss: &Dss, data: Option<(u64, usize)>) {
        let wide_dsn = dss.mapping.is_some_and(|m| m.dsn.is_wide());
        if wide_dsn && dss.data_ack.is_some_and(|a| a.is_wide()) {
            // docs/ios-emulation.md §4 rule 6: iOS would read this DATA_ACK from the DSN field.
            return self.fail(format!("subflow {i}: a 64-bit DSN beside a 64-bit DATA_ACK"));
        }
        if let Some(ack) = dss.data_ack {
            let ack = ack.expand(self.base().0.wrapping_add(self.snd_una));
            self.on_data_ack(now, i, ack.wrapping_sub(self.base().0));
        }
        let Some(m) = dss.mapping else { return };
        if m.is_infinite() {
            return self.fail(format!("subflow {i}: infinite mapping"));
        }
        let base = self.base().1;
        let off = m.dsn.expand(base.wrapping_add(self.rcv_nxt)).wrapping_sub(base);
        let len = u64::from(m.data_len);
        if dss.data_fin {
            let fin = off + len - 1;
            if fin != self.cfg.rx_len || self.peer_fin.is_some_and(|f| f != fin) {
                return self.fail(format!("DATA_FIN at {fin}, the stream is {}", self.cfg.rx_len));
            }
            self.peer_fin = Some(fin);
            if m.subflow_seq == 0 && len == 1 {
                return;
            }
        }
        let len = len - u64::from(dss.data_fin);
        if off + len > self.cfg.rx_len {
            return self.fail(format!("mapping {off}+{len} past the stream's end"));
        }
        let Some((seg_off, seg_len)) = data else { return };
        let sub = u64::from(m.subflow_seq.wrapping_sub(1));
        let map = Map { sub, data: off, len };
        if !(map.covers(seg_off) && seg_off + seg_len as u64 <= map.end()) {
            return self.fail(format!("subflow {i}: segment {seg_off}+{seg_len} outside {map:?}"));
        }
        if !self.subs[i].add_rx_map(map) {
            self.fail(format!("subflow {i}: mapping {map:?} contradicts {:?}", self.subs[i].rx));
        }
    }

    /// A DATA_ACK for our data-level offset `ack` (RFC 8684 §3.3.2).
    fn on_data_ack(&mut self, now: Instant, i: usize, ack: u64) {
        let fin_sent = self.snd_nxt == self.cfg.tx_len;
        let highest = self.snd_nxt + u64::from(fin_sent);
        if ack > highest && ack < u64::MAX / 2 {
            return self.fail(format!("DATA_ACK {ack} beyond what was sent ({highest})"));
        }
        if ack > self.snd_una.max(u64::MAX / 2) || ack < self.snd_una {
            return; // an older DATA_ACK, reordered
        }
        let wnd = ack + u64::from(self.subs[i].tcp.send_window());
        self.wnd_end = self.wnd_end.max(wnd);
        if ack > self.snd_una {
            self.snd_una = ack.min(self.cfg.tx_len);
            self.data_progress_at = now;
            self.last_progress = now;
            self.reinject.retain(|r| r.1 > ack);
        }
        if ack == self.cfg.tx_len + 1 {
            self.fin_acked = true;
            self.log.sent_all_acked_at.get_or_insert(now);
        }
    }

    /// Whether an MP_FASTCLOSE with `key` on `seg` counts, by iOS's rules (docs/ios-emulation.md §4
    /// rule 4: flags exactly ACK, SEQ exactly the subflow's RCV.NXT, our key); on a RST or anywhere
    /// else in the window it is ignored.
    fn acts_on_fastclose(&self, i: usize, seg: &TcpRepr<'_>, key: u64) -> bool {
        let s = &self.subs[i];
        seg.flags == TcpFlags::ACK
            && key == self.key.key()
            && s.tcp.state().is_synchronized()
            && seg.seq_number == s.tcp.rcv_nxt()
    }

    /// The server's MP_FASTCLOSE, accepted: the connection is over for the application, and
    /// every subflow is reset (plain RSTs, as iOS answers, RFC 8684 §3.5).
    fn on_server_fastclose(&mut self, now: Instant) {
        self.log.fastclose_acted_at.get_or_insert(now);
        self.server_fastclosed = true;
        for s in self.subs.iter_mut().filter(|s| !s.ended()) {
            s.tcp.abort(now);
        }
    }

    /// An ADD_ADDR (RFC 8684 §3.4.1): verified, echoed, and joined when configured.
    /// A v0 ADD_ADDR (RFC 6824 §3.4.1) has no HMAC and no echo.
    fn on_add_addr(&mut self, now: Instant, add: &AddAddr) {
        match add.form {
            AddAddrForm::Announce { hmac } => {
                let keys = self.hmac.as_ref().expect("MPTCP mode has keys");
                let mac = u64::from_be_bytes(hmac);
                if keys.verify_add_addr_hmac(add.addr_id, add.addr, add.port, mac).is_err() {
                    return self.fail(format!("ADD_ADDR {add:?} with a wrong HMAC"));
                }
                self.signals.push_back(Signal::Echo(add.addr_id, add.addr, add.port));
                if let Some(s) = self.subs.iter_mut().find(|s| s.usable()) {
                    s.tcp.send_ack_now();
                }
            }
            AddAddrForm::V0 => {}
            AddAddrForm::Echo => return,
        }
        self.log.first_add_addr_at.get_or_insert(now);
        if self.log.add_addrs.iter().any(|a| a.0 == add.addr_id) {
            return;
        }
        self.log.add_addrs.push((add.addr_id, add.addr));
        if let Some(iface) = self.cfg.join_announced_from {
            let port = add.port.unwrap_or(self.cfg.service.port());
            let to = SocketAddr::new(add.addr, port);
            let join = Action::Join { iface, to, backup: false, forge: Forge::None };
            self.cfg.actions.push((now, join));
        }
    }

    /// Moves subflow `i`'s in-order bytes to the data level by their mappings.
    pub(crate) fn drain(&mut self, i: usize) {
        loop {
            let s = &mut self.subs[i];
            let avail = s.tcp.readable().0.len() as u64;
            if avail == 0 {
                return;
            }
            let off = s.rx_read;
            let (data, n) = if self.mode == Mode::Plain {
                (off, avail)
            } else {
                let Some(m) = s.rx_map(off) else {
                    let n = avail;
                    self.fail(format!("subflow {i}: {n} bytes at {off} without a mapping"));
                    return;
                };
                (m.data + (off - m.sub), avail.min(m.end() - off))
            };
            let s = &mut self.subs[i];
            let bytes = s.tcp.readable().0[..n as usize].to_vec();
            s.tcp.consume(n as usize);
            s.rx_read += n;
            s.rx_bytes += n;
            self.deliver(data, &bytes);
        }
    }

    /// Data-level bytes at offset `off`: checked against the stream, then reassembled.
    fn deliver(&mut self, off: u64, bytes: &[u8]) {
        let end = off + bytes.len() as u64;
        if end > self.cfg.rx_len {
            return self.fail(format!("data {off}..{end} past the stream's end"));
        }
        if let Some(p) = self.cfg.rx.mismatch(off, bytes) {
            return self.fail(format!("data byte {} differs (mapping wrong)", off + p as u64));
        }
        if end <= self.rcv_nxt {
            return;
        }
        self.got.push((off.max(self.rcv_nxt), end));
        self.got.sort_unstable();
        let mut nxt = self.rcv_nxt;
        self.got.retain(|&(a, b)| {
            if a <= nxt {
                nxt = nxt.max(b);
                false
            } else {
                true
            }
        });
        self.rcv_nxt = nxt;
    }
}
