//! A test-only MPTCP v1 client (RFC 8684), built from our TCP engine: one
//! `tcp::Connection` per subflow and a [`ClientHook`](super::hook::ClientHook) that writes
//! its options. It is an oracle for the server: every mapping, DATA_ACK, DATA_FIN and
//! ADD_ADDR it receives is checked, and the first inconsistency is kept in `log.error`.
//! Incoming segments are in [`rx`](super::rx), the scheduler in [`tx`](super::tx).

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

use netreaktor_netsim::hosts::{Stream, wrap_segment};
use netreaktor_netsim::{IfaceId, Node, Rng, Transmit};
use netreaktor_pipeline::mptcp::crypto::{HashAlgo, HmacKeys, KeyMaterial};
use netreaktor_pipeline::tcp::{Config, Connection, State};
use netreaktor_pipeline::time::{Duration, Instant};
use netreaktor_pipeline::wire::frame::{ChecksumPolicy, Frame, parse_frame};
use netreaktor_pipeline::wire::mptcp::MptcpVersion;
use netreaktor_pipeline::wire::tcp::TcpSeqNumber;

use super::hook::{ClientHook, Mode, Signal};
use super::subflow::{Forge, Kind, Sub};

/// How the client offers MPTCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    Mptcp,
    /// MPTCP v0 (RFC 6824), as iOS 11-15: the key in the SYN, SHA-1 tokens, IDSNs and HMACs,
    /// the third ACK a pure ACK with both keys, data mapped by DSS from the first byte.
    V0,
    /// No MP_CAPABLE at all.
    Plain,
    /// MP_CAPABLE in the SYN only: a middlebox strips it from every later segment.
    Stripped,
}

/// Which subflow the client's new data goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sched {
    /// The first usable subflow.
    First,
    /// Each usable subflow in turn.
    RoundRobin,
}

/// Something the client does at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Opens a join from interface `iface` to `to` (address id = iface).
    Join { iface: u16, to: SocketAddr, backup: bool, forge: Forge },
    /// Sends REMOVE_ADDR for address id `id` on another subflow.
    Remove(u8),
    /// Resets the connection with MP_FASTCLOSE.
    FastClose,
}

/// What the client does.
#[derive(Debug, Clone)]
pub(crate) struct ClientCfg {
    pub(crate) tcp: Config,
    pub(crate) offer: Offer,
    pub(crate) sched: Sched,
    /// Local addresses, one per interface; interface 0 opens the connection.
    pub(crate) ips: Vec<IpAddr>,
    pub(crate) service: SocketAddr,
    pub(crate) actions: Vec<(Instant, Action)>,
    /// Join an address the server announces, from this interface.
    pub(crate) join_announced_from: Option<u16>,
    /// Never DATA_ACK the server's DATA_FIN (a client gone quiet after its own DATA_FIN).
    pub(crate) mute_data_fin: bool,
    pub(crate) tx: Stream,
    pub(crate) tx_len: u64,
    pub(crate) rx: Stream,
    pub(crate) rx_len: u64,
}

/// What happened on the client.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientLog {
    pub(crate) error: Option<String>,
    pub(crate) mode: Option<&'static str>,
    pub(crate) read_all_at: Option<Instant>,
    pub(crate) sent_all_acked_at: Option<Instant>,
    pub(crate) longest_stall: Duration,
    pub(crate) add_addrs: Vec<(u8, IpAddr)>,
    /// When the first ADD_ADDR arrived.
    pub(crate) first_add_addr_at: Option<Instant>,
    pub(crate) fastclose_from_server: u64,
    /// When the client acted on the server's MP_FASTCLOSE as iOS does (docs/ios-emulation.md §4
    /// rule 4: a segment of flags exactly ACK at SEQ = its RCV.NXT, its key): the application told.
    pub(crate) fastclose_acted_at: Option<Instant>,
    pub(crate) reinjected: u64,
    pub(crate) bad_frames: u64,
    pub(crate) unmatched: u64,
}

/// The client host.
pub(crate) struct MpClient {
    pub(crate) cfg: ClientCfg,
    pub(crate) subs: Vec<Sub>,
    pub(crate) key: KeyMaterial,
    pub(crate) server: Option<KeyMaterial>,
    pub(crate) hmac: Option<HmacKeys>,
    pub(crate) mode: Mode,
    pub(crate) rng: Rng,
    /// Data-level offsets we sent: acknowledged, highest given, the window's end.
    pub(crate) snd_una: u64,
    pub(crate) snd_nxt: u64,
    pub(crate) wnd_end: u64,
    pub(crate) reinject: VecDeque<(u64, u64)>,
    pub(crate) rr: usize,
    pub(crate) fin_acked: bool,
    pub(crate) data_progress_at: Instant,
    /// Data-level offsets received: intervals beyond `rcv_nxt`, sorted.
    pub(crate) rcv_nxt: u64,
    pub(crate) got: Vec<(u64, u64)>,
    pub(crate) peer_fin: Option<u64>,
    pub(crate) signals: VecDeque<Signal>,
    pub(crate) fastclosed: bool,
    /// The server's MP_FASTCLOSE was acted on: every subflow reset (plain RSTs, as iOS).
    pub(crate) server_fastclosed: bool,
    pub(crate) closed_subflows: bool,
    pub(crate) last_progress: Instant,
    pub(crate) last_seen: (u64, u64),
    pub(crate) fin_nudged: bool,
    pub(crate) next_port: u16,
    pub(crate) log: ClientLog,
    /// When the in-order data-level stream grew, and to where.
    pub(crate) deliveries: Vec<(Instant, u64)>,
    seg: Vec<u8>,
}

impl MpClient {
    pub(crate) fn new(cfg: ClientCfg, seed: u64) -> MpClient {
        let mut rng = Rng::stream(seed, 77);
        let algo = if cfg.offer == Offer::V0 { HashAlgo::Sha1 } else { HashAlgo::Sha256 };
        let key = KeyMaterial::new(rng.next_u64(), algo);
        let mode = if cfg.offer == Offer::Plain { Mode::Plain } else { Mode::Pending };
        let mut client = MpClient {
            seg: vec![0u8; usize::from(cfg.tcp.mss) + 120],
            cfg,
            subs: Vec::new(),
            key,
            server: None,
            hmac: None,
            mode,
            rng,
            snd_una: 0,
            snd_nxt: 0,
            wnd_end: 0,
            reinject: VecDeque::new(),
            rr: 0,
            fin_acked: false,
            data_progress_at: Instant::ZERO,
            rcv_nxt: 0,
            got: Vec::new(),
            peer_fin: None,
            signals: VecDeque::new(),
            fastclosed: false,
            server_fastclosed: false,
            closed_subflows: false,
            last_progress: Instant::ZERO,
            last_seen: (0, 0),
            fin_nudged: false,
            next_port: 40_000,
            log: ClientLog::default(),
            deliveries: Vec::new(),
        };
        let service = client.cfg.service;
        client.open(Instant::ZERO, 0, service, Kind::Initial);
        client
    }

    /// Opens a subflow from interface `iface` to `to`.
    pub(crate) fn open(&mut self, now: Instant, iface: u16, to: SocketAddr, kind: Kind) {
        let ip = self.cfg.ips[usize::from(iface)];
        let local = SocketAddr::new(ip, self.next_port);
        self.next_port += 1;
        let iss = TcpSeqNumber(self.rng.next_u32());
        let mut tcp = Connection::connect(self.cfg.tcp, local, to, iss, now);
        if self.cfg.offer != Offer::Plain {
            tcp.reserve_option_space(28);
        }
        self.subs.push(Sub::new(tcp, iface, kind, now));
    }

    /// Records the first inconsistency.
    pub(crate) fn fail(&mut self, msg: String) {
        self.log.error.get_or_insert(msg);
    }

    /// The MPTCP version offered.
    pub(crate) fn version(&self) -> MptcpVersion {
        if self.cfg.offer == Offer::V0 { MptcpVersion::V0 } else { MptcpVersion::V1 }
    }

    /// DSN of data-level offset 0: (ours, the server's).
    pub(crate) fn base(&self) -> (u64, u64) {
        let theirs = self.server.map_or(0, |k| k.idsn().wrapping_add(1));
        (self.key.idsn().wrapping_add(1), theirs)
    }

    /// The DATA_ACK we send: in-order data, plus one for the server's DATA_FIN once reached.
    pub(crate) fn data_ack(&self) -> u64 {
        let fin = u64::from(self.peer_fin == Some(self.rcv_nxt) && !self.cfg.mute_data_fin);
        self.base().1.wrapping_add(self.rcv_nxt + fin)
    }

    /// The real connection's subflows (not forged joins).
    pub(crate) fn real(&self) -> impl Iterator<Item = &Sub> + '_ {
        self.subs.iter().filter(|s| !s.forged())
    }

    /// Every subflow is CLOSED or in TIME-WAIT and the application is done: all read and
    /// acknowledged, or the connection reset.
    pub(crate) fn done(&self) -> bool {
        let subs_ended = self.subs.iter().all(Sub::ended);
        let clean = self.log.read_all_at.is_some() && self.fin_acked;
        subs_ended && (clean || self.fastclosed || self.server_fastclosed || self.reset())
    }

    /// The real connection's subflows all ended abnormally.
    pub(crate) fn reset(&self) -> bool {
        self.real().all(|s| s.ended() && s.tcp.state() != State::TimeWait)
            && self.real().any(|s| s.rst.is_some())
    }

    fn sub_for(&self, local: SocketAddr, remote: SocketAddr) -> Option<usize> {
        self.subs.iter().position(|s| s.tcp.local() == local && s.tcp.remote() == remote)
    }

    fn next_action_at(&self) -> Option<Instant> {
        self.cfg.actions.iter().map(|a| a.0).min()
    }

    fn run_actions(&mut self, now: Instant) {
        while let Some(i) = self.cfg.actions.iter().position(|a| a.0 <= now) {
            let (_, action) = self.cfg.actions.remove(i);
            self.act(now, action);
        }
    }

    fn act(&mut self, now: Instant, action: Action) {
        match action {
            Action::Join { iface, to, backup, forge } => {
                if self.mode == Mode::Pending {
                    // Not confirmed yet: try again shortly.
                    let later = now + Duration::from_millis(5);
                    return self.cfg.actions.push((later, action));
                }
                if self.mode == Mode::Plain || self.closed_subflows {
                    return;
                }
                let nonce = self.rng.next_u32();
                let kind = Kind::Join { nonce, addr_id: iface as u8, backup, forge };
                self.open(now, iface, to, kind);
            }
            Action::Remove(id) => {
                self.signals.push_back(Signal::Remove(id));
                let other = self.subs.iter_mut().find(|s| s.usable() && s.iface != id.into());
                if let Some(s) = other {
                    s.tcp.send_ack_now();
                }
            }
            Action::FastClose => {
                self.fastclosed = true;
                for s in self.subs.iter_mut().filter(|s| !s.ended()) {
                    s.tcp.abort(now);
                }
            }
        }
    }

    fn hook_for(&self, i: usize) -> ClientHook {
        let s = &self.subs[i];
        let fin_due = self.snd_nxt == self.cfg.tx_len && self.reinject.is_empty();
        let data_fin = (fin_due && !self.fin_acked && !self.fastclosed)
            .then(|| self.base().0.wrapping_add(self.cfg.tx_len));
        let signal_ok = s.usable() && self.mode == Mode::Mptcp;
        ClientHook {
            kind: s.kind,
            mode: self.mode,
            capable_after_syn: matches!(self.cfg.offer, Offer::Mptcp | Offer::V0),
            v0: self.cfg.offer == Offer::V0,
            joined: s.joined,
            ack_hmac: s.ack_hmac,
            keys: (self.key.key(), self.server.map_or(0, |k| k.key())),
            token: self.server.map_or(0, |k| k.token()),
            maps: s.tx.clone(),
            base: self.base(),
            data_ack: self.data_ack(),
            data_fin,
            fastclose: self.fastclosed,
            signal: self.signals.front().copied().filter(|_| signal_ok),
            wrote_signal: false,
        }
    }

    fn poll_sub(&mut self, now: Instant, i: usize) -> Option<Transmit> {
        let mut seg = std::mem::take(&mut self.seg);
        let mut hook = self.hook_for(i);
        let t = self.subs[i].tcp.poll_transmit(now, &mut seg, &mut hook);
        let wrote = hook.wrote_signal;
        let out = t.map(|t| {
            let s = &self.subs[i];
            let frame = wrap_segment(s.tcp.local(), s.tcp.remote(), &seg[..t.len]);
            Transmit::new(IfaceId(s.iface), frame)
        });
        if wrote {
            self.signals.pop_front();
        }
        self.seg = seg;
        out
    }
}

impl Node for MpClient {
    fn handle_frame(&mut self, now: Instant, _iface: IfaceId, frame: &[u8]) {
        match parse_frame(frame, ChecksumPolicy::Verify) {
            Ok(Frame::Tcp(f)) => {
                let remote = SocketAddr::new(f.ip.src_addr(), f.tcp.src_port);
                let local = SocketAddr::new(f.ip.dst_addr(), f.tcp.dst_port);
                match self.sub_for(local, remote) {
                    Some(i) => self.on_segment(now, i, &f.tcp),
                    None => self.log.unmatched += 1,
                }
            }
            _ => self.log.bad_frames += 1,
        }
        self.step(now);
        if self.deliveries.last().map_or(0, |d| d.1) < self.rcv_nxt {
            self.deliveries.push((now, self.rcv_nxt));
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        for s in &mut self.subs {
            if s.tcp.poll_timeout().is_some_and(|t| t <= now) {
                s.tcp.handle_timeout(now);
            }
        }
        self.run_actions(now);
        self.step(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let tcp = self.subs.iter().filter_map(|s| s.tcp.poll_timeout());
        let stalls = self.subs.iter().filter_map(Sub::stall_deadline);
        let own = [self.next_action_at(), self.data_deadline(), self.join_retry()];
        tcp.chain(stalls).chain(own.into_iter().flatten()).min()
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.step(now);
        (0..self.subs.len()).find_map(|i| self.poll_sub(now, i))
    }
}
