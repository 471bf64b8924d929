//! HyStart++ (RFC 9406): leave the initial slow start when the RTT starts to grow, before the
//! bottleneck queue overflows.
//!
//! Slow start doubles the window every round trip until a loss; on a path with a deep queue
//! that loss comes when the window is about twice what the path holds, and the recovery that
//! follows loses retransmissions too. HyStart++ watches the minimum RTT of each round (§4.2):
//! once a round's minimum exceeds the previous round's by `clamp(lastRoundMinRTT / 8, 4 ms,
//! 16 ms)`, the queue is building, and slow start ends.
//!
//! Deviation, stated: on detection this ends slow start at once (ssthresh = cwnd) instead of
//! entering Conservative Slow Start (§4.2 CSS), as Linux's HyStart does. Used only in the
//! initial slow start (§4.3: not after a loss or timeout).

use crate::time::Duration;
use crate::wire::tcp::TcpSeqNumber;

/// §4.3 MIN_RTT_THRESH.
const MIN_RTT_THRESH: Duration = Duration::from_millis(4);
/// §4.3 MAX_RTT_THRESH.
const MAX_RTT_THRESH: Duration = Duration::from_millis(16);
/// §4.3 MIN_RTT_DIVISOR.
const MIN_RTT_DIVISOR: u64 = 8;
/// §4.3 N_RTT_SAMPLE: samples a round needs before it can end slow start.
const N_RTT_SAMPLE: u32 = 8;

/// The per-round RTT state of HyStart++.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HyStart {
    /// windowEnd: the round ends when this is acknowledged.
    round_end: Option<TcpSeqNumber>,
    last_round_min: Option<Duration>,
    current_round_min: Option<Duration>,
    samples: u32,
    /// Slow start has ended (by detection, loss or timeout): HyStart++ is over.
    done: bool,
}

impl HyStart {
    /// Feeds one ACK: its acknowledgment number, SND.NXT when it arrived, an RTT sample if it
    /// gave one, and whether the controller is in slow start. Returns true when slow start
    /// should end now (the caller sets ssthresh to cwnd).
    pub fn on_ack(
        &mut self,
        ack: TcpSeqNumber,
        snd_nxt: TcpSeqNumber,
        rtt: Option<Duration>,
        in_slow_start: bool,
    ) -> bool {
        if self.done || !in_slow_start {
            self.done |= !in_slow_start && self.round_end.is_some();
            return false;
        }
        if self.round_end.is_none_or(|end| ack - end >= 0) {
            self.last_round_min = self.current_round_min.or(self.last_round_min);
            self.current_round_min = None;
            self.samples = 0;
            self.round_end = Some(snd_nxt);
        }
        // The minimum over the round's first N_RTT_SAMPLE samples, as Linux's HyStart takes
        // it: in slow start the ACKs that open a round come back through a queue the previous
        // round's burst left, and later samples of the same round would only mask the growth
        // with ACKs of segments sent before it.
        if let Some(rtt) = rtt.filter(|_| self.samples < N_RTT_SAMPLE) {
            self.current_round_min = Some(self.current_round_min.map_or(rtt, |m| m.min(rtt)));
            self.samples += 1;
        }
        self.delay_increased()
    }

    /// §4.2: the current round's minimum RTT exceeds the last one's by the threshold.
    fn delay_increased(&mut self) -> bool {
        let (Some(last), Some(current)) = (self.last_round_min, self.current_round_min) else {
            return false;
        };
        if self.samples < N_RTT_SAMPLE || self.done {
            return false;
        }
        let eighth = Duration::from_micros(last.total_micros() / MIN_RTT_DIVISOR);
        let thresh = eighth.max(MIN_RTT_THRESH).min(MAX_RTT_THRESH);
        self.done = current >= last + thresh;
        self.done
    }

    /// A loss or timeout ended slow start: HyStart++ stops for this connection (§4.3).
    pub fn stop(&mut self) {
        self.done = true;
    }

    /// Whether HyStart++ has finished.
    pub fn is_done(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    /// Runs `rounds` rounds of 10 ACKs each, the RTT of round `r` given by `rtt(r)`; returns
    /// the round in which HyStart++ ended slow start.
    fn exit_round(rounds: u32, rtt: impl Fn(u32) -> Duration) -> Option<u32> {
        let mut hs = HyStart::default();
        let mut nxt = TcpSeqNumber(1000);
        for r in 0..rounds {
            let start = nxt;
            nxt += 10_000usize;
            for i in 1..=10usize {
                if hs.on_ack(start + i * 1000, nxt, Some(rtt(r)), true) {
                    return Some(r);
                }
            }
        }
        None
    }

    #[test]
    fn a_steady_rtt_never_ends_slow_start() {
        assert_eq!(exit_round(20, |_| ms(20)), None);
    }

    #[test]
    fn a_growing_queue_ends_slow_start_in_the_round_it_shows() {
        // 20 ms base; from round 5 the queue adds 5 ms (above the 4 ms floor of the threshold).
        assert_eq!(exit_round(20, |r| if r < 5 { ms(20) } else { ms(25) }), Some(5));
        // 3 ms is below clamp(20/8, 4, 16) = 4 ms: no exit.
        assert_eq!(exit_round(20, |r| if r < 5 { ms(20) } else { ms(23) }), None);
    }

    #[test]
    fn the_threshold_is_an_eighth_of_the_rtt_clamped() {
        // 80 ms base: threshold 10 ms.
        assert_eq!(exit_round(20, |r| if r < 3 { ms(80) } else { ms(89) }), None);
        assert_eq!(exit_round(20, |r| if r < 3 { ms(80) } else { ms(90) }), Some(3));
        // 400 ms base: 50 ms clamped to 16 ms.
        assert_eq!(exit_round(20, |r| if r < 3 { ms(400) } else { ms(416) }), Some(3));
    }

    #[test]
    fn too_few_samples_or_leaving_slow_start_disarm_it() {
        let mut hs = HyStart::default();
        let n = TcpSeqNumber(0);
        assert!(!hs.on_ack(n, n + 100usize, Some(ms(20)), true));
        hs.stop();
        assert!(hs.is_done());
        assert!(!hs.on_ack(n + 200usize, n + 300usize, Some(ms(99)), true));
    }
}
