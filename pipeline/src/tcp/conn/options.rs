//! Option negotiation on the SYNs (RFC 9293 §3.7.1 MSS, RFC 7323 window scale and
//! timestamps, RFC 2018 SACK-permitted) and the timestamp state: TS.Recent, PAWS, RTTM.

use super::Connection;
use crate::tcp::config::MAX_WSCALE;
use crate::time::{Duration, Instant};
use crate::wire::tcp::{TcpRepr, TcpSeqNumber};
use crate::wire::tcp_option::{TcpOption, TcpOptionWriter};

/// RFC 7323 §5.5: a TS.Recent older than 24 days is no longer compared against.
const PAWS_IDLE: Duration = Duration::from_secs(24 * 24 * 3600);

/// Bytes of the timestamp option as we lay it out: NOP, NOP, kind, length, TSval, TSecr.
pub(super) const TS_SPACE: usize = 12;

/// What a SYN offered, from its options or from a SYN cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct PeerSyn {
    pub(crate) mss: Option<u16>,
    pub(crate) wscale: Option<u8>,
    pub(crate) sack_permitted: bool,
    pub(crate) tsval: Option<u32>,
}

impl PeerSyn {
    pub(crate) fn from_segment(seg: &TcpRepr<'_>) -> PeerSyn {
        let opts = seg.options;
        PeerSyn {
            mss: opts.mss(),
            wscale: opts.window_scale(),
            sack_permitted: opts.sack_permitted(),
            tsval: opts.timestamps().map(|(tsval, _)| tsval),
        }
    }
}

/// RFC 7323 §4-§5 state.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timestamps {
    /// Both SYNs carried the option.
    pub(super) enabled: bool,
    /// TS.Recent: the peer's TSval to echo.
    pub(super) recent: u32,
    /// When TS.Recent was last set (RFC 7323 §5.5).
    pub(super) recent_at: Instant,
    /// Added to our millisecond clock so TSval does not reveal uptime (RFC 7323 §7.1).
    offset: u32,
    /// Last.ACK.sent: the acknowledgment number of our last segment (RFC 7323 §4.3).
    pub(super) last_ack_sent: TcpSeqNumber,
}

impl Timestamps {
    pub(super) fn new(iss: TcpSeqNumber) -> Timestamps {
        Timestamps {
            enabled: false,
            recent: 0,
            recent_at: Instant::ZERO,
            // The ISN is already a keyed hash per 4-tuple (RFC 6528); reusing it as the
            // offset gives each connection its own clock base.
            offset: iss.0.rotate_left(16),
            last_ack_sent: TcpSeqNumber(0),
        }
    }

    /// Our TSval at `now`: a 1 ms clock (RFC 7323 §5.4: between 1 ms and 1 s per tick).
    pub(super) fn clock(&self, now: Instant) -> u32 {
        // Truncation is the intended modulo 2^32 of a wrapping clock.
        (now.total_millis() as u32).wrapping_add(self.offset)
    }

    /// How long ago, in ms, we sent the TSval `tsecr` echoes; `None` if it is in the future.
    pub(super) fn age_of(&self, now: Instant, tsecr: u32) -> Option<Duration> {
        let delta = self.clock(now).wrapping_sub(tsecr);
        (delta < 1 << 31).then(|| Duration::from_millis(u64::from(delta)))
    }

    /// RFC 7323 §5.3 R1: the segment's TSval is older than TS.Recent (and TS.Recent is
    /// not stale, §5.5).
    pub(super) fn paws_rejects(&self, now: Instant, tsval: u32) -> bool {
        self.older_than_recent(tsval) && self.paws_active(now)
    }

    /// RFC 7323 §4.3 (2): remember the TSval of a segment that covers Last.ACK.sent.
    pub(super) fn update_recent(&mut self, now: Instant, seg_seq: TcpSeqNumber, tsval: u32) {
        if seg_seq <= self.last_ack_sent
            && (!self.older_than_recent(tsval) || !self.paws_active(now))
        {
            self.recent = tsval;
            self.recent_at = now;
        }
    }

    /// Whether TS.Recent is recent enough to compare against (RFC 7323 §5.5).
    fn paws_active(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.recent_at) < PAWS_IDLE
    }

    /// `tsval` is before TS.Recent in the modular order of RFC 7323 §5.2.
    fn older_than_recent(&self, tsval: u32) -> bool {
        (tsval.wrapping_sub(self.recent) as i32) < 0
    }
}

impl Connection {
    /// Takes in what the peer's SYN offered (RFC 9293 §3.7.1 MSS, RFC 7323 §2.2 window scale
    /// and §3.2 timestamps, RFC 2018 §2 SACK-permitted). On a SYN,ACK the peer may only
    /// accept what our SYN offered, which `cfg` says.
    pub(super) fn negotiate(&mut self, now: Instant, peer: PeerSyn) {
        // RFC 9293 §3.7.1: the option bounds what we send, and so does our own MSS. A peer MSS
        // below 64 would make segments all header; it is raised to 64, Linux's floor.
        self.snd.mss = peer.mss.map_or(self.snd.mss, |m| m.max(64)).min(self.cfg.mss);
        match peer.wscale {
            Some(shift) if self.cfg.window_scaling => {
                // RFC 7323 §2.3: a shift above 14 is used as 14.
                self.snd.wscale = shift.min(MAX_WSCALE);
                self.rcv.wscale = self.cfg.rcv_wscale();
                self.wscale_ok = true;
            }
            _ => {
                (self.snd.wscale, self.rcv.wscale) = (0, 0);
                self.wscale_ok = false;
            }
        }
        self.sack_ok = self.cfg.sack && peer.sack_permitted;
        match peer.tsval {
            Some(tsval) if self.cfg.timestamps => {
                self.ts.enabled = true;
                self.ts.recent = tsval;
                self.ts.recent_at = now;
            }
            _ => self.ts.enabled = false,
        }
        self.update_eff_mss();
    }

    /// Recomputes the data bytes of a full segment and tells the loss-recovery parts.
    pub(super) fn update_eff_mss(&mut self) {
        let ts = if self.ts.enabled { TS_SPACE } else { 0 };
        let eff = usize::from(self.snd.mss).saturating_sub(ts + self.hook_space).max(1);
        self.snd.eff_mss = eff;
        crate::tcp::cc::CongestionControl::set_mss(&mut self.cc, eff);
        self.sb.set_smss(u32::try_from(eff).unwrap_or(u32::MAX));
    }

    /// Writes the options of a SYN (`ack` false) or SYN,ACK (`ack` true): MSS, then
    /// SACK-permitted and timestamps, then window scale, laid out as Linux does. A SYN,ACK
    /// carries only what the peer's SYN offered (RFC 7323 §2.2, §3.2; RFC 2018 §2).
    pub(super) fn write_syn_options(&self, now: Instant, ack: bool, w: &mut TcpOptionWriter<'_>) {
        let cfg = &self.cfg;
        let ws = if ack { self.wscale_ok } else { cfg.window_scaling };
        let sack = if ack { self.sack_ok } else { cfg.sack };
        let ts = if ack { self.ts.enabled } else { cfg.timestamps };
        // Each push fits: 4 + 12 + 4 = 20 bytes of the 40.
        let _ = w.push(&TcpOption::MaxSegmentSize(cfg.mss));
        match (sack, ts) {
            (true, true) => {
                let _ = w.push(&TcpOption::SackPermitted);
                let _ = w.push(&self.ts_option(now));
            }
            (false, true) => {
                let _ = w.push(&TcpOption::NoOperation);
                let _ = w.push(&TcpOption::NoOperation);
                let _ = w.push(&self.ts_option(now));
            }
            (true, false) => {
                let _ = w.push(&TcpOption::NoOperation);
                let _ = w.push(&TcpOption::NoOperation);
                let _ = w.push(&TcpOption::SackPermitted);
            }
            (false, false) => {}
        }
        if ws {
            let _ = w.push(&TcpOption::NoOperation);
            let _ = w.push(&TcpOption::WindowScale(cfg.rcv_wscale()));
        }
    }

    /// The timestamp option for a segment sent at `now` (TSecr = TS.Recent, RFC 7323 §4.3).
    pub(super) fn ts_option(&self, now: Instant) -> TcpOption<'static> {
        TcpOption::Timestamps { tsval: self.ts.clock(now), tsecr: self.ts.recent }
    }
}
