//! The systemd notification protocol (`sd_notify(3)`, `Type=notify` units) through the
//! `sd-notify` crate: `READY=1` once the appliance runs, `STOPPING=1` when it drains or stops,
//! `STATUS=` lines for `systemctl status`, and the watchdog (`WatchdogSec=`).
//!
//! Without `$NOTIFY_SOCKET` (not started by systemd) every call does nothing. Errors are
//! ignored: the appliance runs the same with or without a supervisor.
//!
//! The watchdog: when systemd sets `$WATCHDOG_USEC`, the control loop calls
//! [`Watchdog::tick`] on every iteration; at half the interval it sends `WATCHDOG=1`, but only
//! if every worker thread is alive and its loop counter (`netreaktor_loops_total`, published
//! every 10 ms even by an idle worker, which wakes at least every 10 ms) advanced since the
//! previous check. A stuck worker withholds the pings, so systemd kills the service
//! (`WatchdogSignal=`, SIGABRT by default) and `Restart=on-failure` starts it again.

use std::time::{Duration, Instant};

use sd_notify::NotifyState;

/// Start-up finished: `READY=1` with a status line.
pub(crate) fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// Draining or stopping: `STOPPING=1` with a status line.
pub(crate) fn stopping(status: &str) {
    send(&[NotifyState::Stopping, NotifyState::Status(status)]);
}

/// A status line alone.
fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

fn send(states: &[NotifyState<'_>]) {
    let _ = sd_notify::notify(states);
}

/// What the control loop sees of one worker at a watchdog check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pulse {
    /// Its thread has not ended.
    pub(crate) alive: bool,
    /// Its published loop counter.
    pub(crate) loops: u64,
}

/// The outcome of a watchdog check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Every worker is alive and advanced: ping.
    Healthy,
    /// These workers (ids) ended or made no progress: withhold the ping.
    Stuck(Vec<usize>),
}

/// The watchdog decision: healthy when every worker is alive and its loop counter moved since
/// `before` (the counters at the previous check, one per worker). A worker missing from
/// `before` (none should be) counts as having moved.
pub(crate) fn verdict(before: &[u64], now: &[Pulse]) -> Verdict {
    let stuck: Vec<usize> = now
        .iter()
        .enumerate()
        .filter(|(id, p)| !p.alive || before.get(*id).is_some_and(|&b| p.loops == b))
        .map(|(id, _)| id)
        .collect();
    if stuck.is_empty() { Verdict::Healthy } else { Verdict::Stuck(stuck) }
}

/// The service watchdog, when systemd asked for one.
#[derive(Debug)]
pub(crate) struct Watchdog {
    /// Half the interval systemd set: how often the workers are checked.
    every: Duration,
    /// When the next check is due.
    next: Instant,
    /// The workers' loop counters at the previous check.
    seen: Vec<u64>,
    /// The previous check withheld its ping (its warning is logged once per episode).
    withheld: bool,
}

impl Watchdog {
    /// The watchdog systemd asked for (`$WATCHDOG_USEC`, for this process), if any.
    pub(crate) fn from_env(now: Instant, pulses: &[Pulse]) -> Option<Watchdog> {
        sd_notify::watchdog_enabled().map(|interval| Watchdog::new(interval, now, pulses))
    }

    /// A watchdog of `interval`: the first check is half of it after `now`.
    pub(crate) fn new(interval: Duration, now: Instant, pulses: &[Pulse]) -> Watchdog {
        let every = interval / 2;
        Watchdog {
            every,
            next: now + every,
            seen: pulses.iter().map(|p| p.loops).collect(),
            withheld: false,
        }
    }

    /// How often it checks (and pings).
    pub(crate) fn every(&self) -> Duration {
        self.every
    }

    /// Call on every control loop iteration: when a check is due, sends `WATCHDOG=1` if
    /// [`verdict`] finds every worker healthy; otherwise withholds it and logs (once until
    /// the workers recover) which worker is stuck. Returns the verdict of a check made now.
    pub(crate) fn tick(&mut self, now: Instant, pulses: &[Pulse]) -> Option<Verdict> {
        if now < self.next {
            return None;
        }
        self.next = now + self.every;
        let verdict = verdict(&self.seen, pulses);
        self.seen = pulses.iter().map(|p| p.loops).collect();
        match &verdict {
            Verdict::Healthy => {
                send(&[NotifyState::Watchdog]);
                if std::mem::take(&mut self.withheld) {
                    tracing::info!(target: "netreaktor", "every worker progresses again; watchdog pings resumed");
                    status("running");
                }
            }
            Verdict::Stuck(workers) if !self.withheld => {
                self.withheld = true;
                tracing::error!(
                    target: "netreaktor",
                    workers = ?workers,
                    "worker ended or made no progress; watchdog pings withheld (systemd restarts the service)"
                );
                status(&format!("worker(s) {workers:?} stuck; watchdog pings withheld"));
            }
            Verdict::Stuck(_) => {}
        }
        Some(verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;
    use std::process::Command;

    const ALIVE: fn(u64) -> Pulse = |loops| Pulse { alive: true, loops };

    #[test]
    fn healthy_when_every_worker_is_alive_and_advanced() {
        assert_eq!(verdict(&[1, 7], &[ALIVE(2), ALIVE(90)]), Verdict::Healthy);
        assert_eq!(verdict(&[], &[]), Verdict::Healthy);
    }

    #[test]
    fn a_worker_whose_counter_stood_still_is_stuck() {
        assert_eq!(
            verdict(&[1, 7, 3], &[ALIVE(2), ALIVE(7), ALIVE(3)]),
            Verdict::Stuck(vec![1, 2])
        );
    }

    #[test]
    fn a_worker_that_ended_is_stuck_even_if_its_counter_moved() {
        let ended = Pulse { alive: false, loops: 9 };
        assert_eq!(verdict(&[1, 7], &[ALIVE(2), ended]), Verdict::Stuck(vec![1]));
    }

    #[test]
    fn checks_at_half_the_interval_against_the_previous_check() {
        let t0 = Instant::now();
        let mut w = Watchdog::new(Duration::from_secs(10), t0, &[ALIVE(5)]);
        assert_eq!(w.every(), Duration::from_secs(5));
        assert_eq!(w.tick(t0 + Duration::from_secs(4), &[ALIVE(5)]), None);
        let at = t0 + Duration::from_secs(5);
        assert_eq!(w.tick(at, &[ALIVE(6)]), Some(Verdict::Healthy));
        // Not due again until 5 s later, whatever the workers do meanwhile.
        assert_eq!(w.tick(at + Duration::from_secs(1), &[ALIVE(6)]), None);
        let at = at + Duration::from_secs(5);
        assert_eq!(w.tick(at, &[ALIVE(6)]), Some(Verdict::Stuck(vec![0])));
        // Stays withheld while stuck, resumes once the worker moves again.
        let at = at + Duration::from_secs(5);
        assert_eq!(w.tick(at, &[ALIVE(6)]), Some(Verdict::Stuck(vec![0])));
        let at = at + Duration::from_secs(5);
        assert_eq!(w.tick(at, &[ALIVE(7)]), Some(Verdict::Healthy));
    }

    /// The notifications through a real socket: a child process (this test binary, running
    /// [`notifying_child`]) gets `NOTIFY_SOCKET` and `WATCHDOG_USEC` the way systemd sets
    /// them; the environment of this process is left alone.
    #[test]
    fn sends_ready_watchdog_and_stopping_to_the_notify_socket() {
        let dir = std::env::temp_dir().join(format!("nr-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path).unwrap();
        listener.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["notify::tests::notifying_child", "--exact", "--ignored"])
            .env("NOTIFY_SOCKET", &path)
            .env("WATCHDOG_USEC", "2000000")
            .env_remove("WATCHDOG_PID")
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&child.stdout);
        assert!(child.status.success(), "{out}{}", String::from_utf8_lossy(&child.stderr));
        assert!(out.contains("1 passed"), "{out}");
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        for _ in 0..4 {
            let n = listener.recv(&mut buf).unwrap();
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            got,
            [
                "READY=1\nSTATUS=1 worker(s) running\n",
                "WATCHDOG=1\n",
                // The stuck check sends its status, and no WATCHDOG=1.
                "STATUS=worker(s) [0] stuck; watchdog pings withheld\n",
                "STOPPING=1\nSTATUS=stopping\n",
            ]
        );
    }

    /// Run by [`sends_ready_watchdog_and_stopping_to_the_notify_socket`] in a child process.
    #[test]
    #[ignore = "run in a child process by sends_ready_watchdog_and_stopping_to_the_notify_socket"]
    fn notifying_child() {
        if std::env::var_os("NOTIFY_SOCKET").is_none() {
            return; // run by hand (--include-ignored): nothing to notify
        }
        let t0 = Instant::now();
        ready("1 worker(s) running");
        let mut w = Watchdog::from_env(t0, &[ALIVE(1)]).expect("WATCHDOG_USEC is set");
        assert_eq!(w.every(), Duration::from_secs(1));
        assert_eq!(w.tick(t0 + w.every(), &[ALIVE(2)]), Some(Verdict::Healthy));
        let stuck = w.tick(t0 + 2 * w.every(), &[ALIVE(2)]);
        assert_eq!(stuck, Some(Verdict::Stuck(vec![0])));
        stopping("stopping");
    }
}
