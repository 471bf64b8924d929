//! A worker's connection log: one line at `info` per connection end (pipeline, client,
//! origin, duration, bytes each way, MPTCP subflows, the end reason spelled as the
//! `netreaktor_splices_ended_total` label spells it), at most `log.connections.per_second`
//! lines per second, and one summary line per second saying how many were dropped above that.
//! Connection starts and origin retries stay at `debug`, unlimited.
//!
//! The rate limit is [`RateLimit`], time a parameter: a window of one second opens with the
//! first line after the previous window ended; past `per_second` lines in it, lines are
//! counted, not written, and the count is reported once the window has ended (with the next
//! line, or by [`ConnLog::flush`] on the worker's next publication, whichever comes first).

use netreaktor_pipeline::shard::{EndKind, ShardEvent};
use netreaktor_pipeline::time::{Duration, Instant};
use tracing::{debug, info};

/// One second of lines.
const WINDOW: Duration = Duration::from_secs(1);

/// At most `per_second` lines per one-second window; the rest counted.
#[derive(Debug, Clone)]
pub(crate) struct RateLimit {
    per_second: u64,
    /// When the current window opened (`None`: no line yet).
    opened: Option<Instant>,
    /// Lines written in the current window.
    written: u64,
    /// Lines dropped in the current window.
    dropped: u64,
}

/// What to do with one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Admission {
    /// Lines dropped in the window that ended before this line: report them first.
    pub(crate) report_dropped: Option<u64>,
    /// Write this line.
    pub(crate) write: bool,
}

impl RateLimit {
    /// At most `per_second` lines a second; 0 admits none (and counts none: the lines are
    /// off, not suppressed).
    pub(crate) fn new(per_second: u64) -> RateLimit {
        RateLimit { per_second, opened: None, written: 0, dropped: 0 }
    }

    /// Whether lines are on at all.
    pub(crate) fn is_on(&self) -> bool {
        self.per_second > 0
    }

    /// A line at `now`.
    pub(crate) fn admit(&mut self, now: Instant) -> Admission {
        if !self.is_on() {
            return Admission { report_dropped: None, write: false };
        }
        let report_dropped = self.flush(now);
        if self.opened.is_none() {
            self.opened = Some(now);
        }
        let write = self.written < self.per_second;
        if write {
            self.written += 1;
        } else {
            self.dropped += 1;
        }
        Admission { report_dropped, write }
    }

    /// Ends the current window, over or not (the worker stops); returns the lines it dropped.
    pub(crate) fn close(&mut self) -> Option<u64> {
        self.opened = None;
        self.written = 0;
        Some(std::mem::take(&mut self.dropped)).filter(|&d| d > 0)
    }

    /// Ends the current window if it is over at `now`; returns the lines it dropped, if any.
    pub(crate) fn flush(&mut self, now: Instant) -> Option<u64> {
        let opened = self.opened?;
        if now - opened < WINDOW {
            return None;
        }
        let dropped = std::mem::take(&mut self.dropped);
        self.opened = None;
        self.written = 0;
        (dropped > 0).then_some(dropped)
    }
}

/// A worker's connection log.
#[derive(Debug)]
pub(crate) struct ConnLog {
    worker: usize,
    /// The pipelines' names, by service index.
    pipelines: Vec<String>,
    limit: RateLimit,
    /// Log starts and retries (`debug` is on).
    debug: bool,
}

impl ConnLog {
    /// The log of worker `worker`, whose shard serves `pipelines` (by service index); end
    /// lines at most `per_second` a second, start and retry lines if `debug`.
    pub(crate) fn new(worker: usize, pipelines: Vec<String>, per_second: u64, debug: bool) -> Self {
        ConnLog { worker, pipelines, limit: RateLimit::new(per_second), debug }
    }

    /// Logs one shard event at `now`.
    pub(crate) fn event(&mut self, now: Instant, event: ShardEvent) {
        let worker = self.worker;
        match event {
            ShardEvent::Accepted { client, origin, service } if self.debug => {
                let pipeline = self.pipeline(service);
                debug!(target: "netreaktor", worker, pipeline, %client, %origin, "accepted");
            }
            ShardEvent::Retry { client, origin, after } if self.debug => {
                debug!(target: "netreaktor", worker, %client, ?after, %origin, "origin failed, retrying");
            }
            ShardEvent::Ended { .. } if self.limit.is_on() => {
                let admission = self.limit.admit(now);
                if let Some(dropped) = admission.report_dropped {
                    self.report_dropped(dropped);
                }
                if admission.write {
                    self.ended(event);
                }
            }
            _ => {}
        }
    }

    /// Reports the lines dropped in a window that is over at `now` (call about every 10 ms).
    pub(crate) fn flush(&mut self, now: Instant) {
        if let Some(dropped) = self.limit.flush(now) {
            self.report_dropped(dropped);
        }
    }

    /// Reports the lines dropped so far in the current window (the worker stops).
    pub(crate) fn finish(&mut self) {
        if let Some(dropped) = self.limit.close() {
            self.report_dropped(dropped);
        }
    }

    fn pipeline(&self, service: usize) -> &str {
        self.pipelines.get(service).map_or("?", String::as_str)
    }

    fn report_dropped(&self, dropped: u64) {
        info!(
            target: "netreaktor",
            worker = self.worker,
            suppressed = dropped,
            per_second = self.limit.per_second,
            "connection end lines suppressed (log.connections.per_second)"
        );
    }

    fn ended(&self, event: ShardEvent) {
        let ShardEvent::Ended { client, service, origin, duration, end, moved, mptcp } = event
        else {
            return;
        };
        let worker = self.worker;
        let pipeline = self.pipeline(service);
        let end = EndKind::from(end).name();
        let duration_s = seconds(duration);
        let (bytes_to_origin, bytes_to_client) = moved;
        match mptcp {
            None => info!(
                target: "netreaktor",
                worker, pipeline, %client, %origin, duration_s, bytes_to_origin, bytes_to_client,
                end, "connection ended"
            ),
            Some(m) => info!(
                target: "netreaktor",
                worker, pipeline, %client, %origin, duration_s, bytes_to_origin, bytes_to_client,
                end, subflows = m.subflows, subflows_closed = m.subflows_closed,
                stalls = m.potentially_failed, reinjected = m.reinjected_bytes,
                handover_stall_ms = %stall_millis(m.longest_stall),
                "MPTCP connection ended"
            ),
        }
    }
}

/// The longest handover stall in milliseconds to the tenth, `-` when none was measured.
fn stall_millis(stall: Option<Duration>) -> String {
    stall.map_or_else(|| "-".into(), |d| format!("{:.1}", d.total_micros() as f64 / 1000.0))
}

/// A duration in seconds, to the millisecond.
fn seconds(d: Duration) -> f64 {
    d.total_millis() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use netreaktor_pipeline::proxy::{ConnectFailure, SpliceEnd};
    use netreaktor_pipeline::shard::HandoverSummary;

    use super::*;

    fn at(millis: u64) -> Instant {
        Instant::from_millis(millis)
    }

    /// Admits lines at each of `times` (ms); returns (lines written, dropped counts reported).
    fn run(limit: &mut RateLimit, times: impl IntoIterator<Item = u64>) -> (u64, Vec<u64>) {
        let mut written = 0;
        let mut reported = Vec::new();
        for t in times {
            let a = limit.admit(at(t));
            written += u64::from(a.write);
            reported.extend(a.report_dropped);
        }
        (written, reported)
    }

    #[test]
    fn under_the_limit_every_line_is_written() {
        let mut limit = RateLimit::new(3);
        assert_eq!(run(&mut limit, [0, 10, 20, 1000, 1500, 1999, 2000]), (7, vec![]));
        assert_eq!(limit.flush(at(5000)), None, "nothing was dropped");
    }

    #[test]
    fn above_the_limit_lines_are_dropped_and_reported_once_the_second_is_over() {
        let mut limit = RateLimit::new(2);
        assert_eq!(run(&mut limit, [0, 1, 2, 3, 999]), (2, vec![]));
        // Not reported while the window lasts.
        assert_eq!(limit.flush(at(999)), None);
        // The next line, a second after the window opened, reports the three dropped first.
        assert_eq!(limit.admit(at(1000)), Admission { report_dropped: Some(3), write: true });
        assert_eq!(run(&mut limit, [1001, 1002]), (1, vec![]));
        // No further line: the worker's periodic flush reports the one dropped, once.
        assert_eq!(limit.flush(at(1999)), None);
        assert_eq!(limit.flush(at(2000)), Some(1));
        assert_eq!(limit.flush(at(2010)), None);
    }

    #[test]
    fn closing_reports_what_the_open_window_dropped() {
        let mut limit = RateLimit::new(1);
        assert_eq!(run(&mut limit, [0, 1, 2]), (1, vec![]));
        assert_eq!(limit.close(), Some(2));
        assert_eq!(limit.close(), None);
        assert_eq!(run(&mut limit, [3]), (1, vec![]), "a new window opens");
    }

    #[test]
    fn a_window_opens_with_the_first_line_after_a_quiet_spell() {
        let mut limit = RateLimit::new(1);
        assert_eq!(run(&mut limit, [0, 500]), (1, vec![]));
        assert_eq!(limit.flush(at(60_000)), Some(1));
        // The window now opens at 60.5 s, not on a one-second grid.
        assert_eq!(run(&mut limit, [60_500, 61_400, 61_500]), (2, vec![1]));
    }

    #[test]
    fn zero_turns_the_lines_off_without_counting_them() {
        let mut limit = RateLimit::new(0);
        assert!(!limit.is_on());
        assert_eq!(run(&mut limit, [0, 1, 2]), (0, vec![]));
        assert_eq!(limit.flush(at(10_000)), None);
    }

    /// A `tracing` writer into a shared buffer.
    #[derive(Clone, Default)]
    struct Buf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("not poisoned").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn ended(client_port: u16, mptcp: Option<HandoverSummary>) -> ShardEvent {
        ShardEvent::Ended {
            client: format!("10.1.0.2:{client_port}").parse().expect("an address"),
            service: 1,
            origin: "10.10.0.2:8080".parse().expect("an address"),
            duration: Duration::from_millis(2_500),
            end: SpliceEnd::OriginUnreachable(ConnectFailure::Refused),
            moved: (10, 2_000_000),
            mptcp,
        }
    }

    #[test]
    fn the_lines_an_operator_reads() {
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .without_time()
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let mut log = ConnLog::new(3, vec!["web".into(), "api".into()], 2, false);
            let m = HandoverSummary {
                subflows: 2,
                potentially_failed: 1,
                reinjected_bytes: 1400,
                subflows_closed: 1,
                longest_stall: Some(Duration::from_micros(27_460)),
            };
            log.event(at(0), ended(1000, None));
            log.event(at(1), ended(1001, Some(m)));
            log.event(at(2), ended(1002, None));
            log.event(at(3), ended(1003, None));
            log.flush(at(1000));
        });
        let text = String::from_utf8(buf.0.lock().expect("not poisoned").clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                " INFO netreaktor: connection ended worker=3 pipeline=\"api\" client=10.1.0.2:1000 \
                 origin=10.10.0.2:8080 duration_s=2.5 bytes_to_origin=10 bytes_to_client=2000000 \
                 end=\"origin_unreachable\"",
                " INFO netreaktor: MPTCP connection ended worker=3 pipeline=\"api\" \
                 client=10.1.0.2:1001 origin=10.10.0.2:8080 duration_s=2.5 bytes_to_origin=10 \
                 bytes_to_client=2000000 end=\"origin_unreachable\" subflows=2 subflows_closed=1 \
                 stalls=1 reinjected=1400 handover_stall_ms=27.5",
                " INFO netreaktor: connection end lines suppressed (log.connections.per_second) \
                 worker=3 suppressed=2 per_second=2",
            ]
        );
    }

    #[test]
    fn durations_are_seconds_to_the_millisecond() {
        assert_eq!(seconds(Duration::from_micros(1_234_567)), 1.234);
        assert_eq!(seconds(Duration::from_micros(999)), 0.0);
    }
}
