//! Origin-side source ports: each worker deals from its own share of the operator's range
//! (RFC 6056 §2.1: the port is the shard's, not random), round-robin, and takes back a port
//! whose previous connection to the same origin has been in TIME-WAIT long enough (RFC 6191,
//! Linux's `tcp_tw_reuse`).

use std::net::SocketAddr;

use super::Shard;
use super::table::FourTuple;
use crate::proxy::Side;
use crate::time::{Duration, Instant};

/// How long an origin connection stays in TIME-WAIT before its port may be reused
/// (Linux's `tcp_tw_reuse` waits one second too).
const TIME_WAIT_REUSE: Duration = Duration::from_secs(1);

impl Shard {
    /// The next port of this worker's share (`first + worker + k * workers`) not in use
    /// toward `origin`, round-robin. A port whose previous connection to `origin` has been
    /// in TIME-WAIT for a second, with timestamps, is reused (RFC 6191, Linux's
    /// `tcp_tw_reuse`): an appliance that closes origin connections first would otherwise
    /// hold each port for the whole TIME-WAIT and run out at a few hundred connections a
    /// second.
    /// The address is the origin source of `origin`'s IP version; with none, `None`.
    pub(super) fn free_port(&mut self, now: Instant, origin: SocketAddr) -> Option<SocketAddr> {
        let source = self.origin_sources.for_origin(origin.ip())?;
        let first = u32::from(*self.origin_ports.start());
        let last = u32::from(*self.origin_ports.end());
        let (worker, workers) = (u32::from(self.worker), u32::from(self.workers));
        let share = (last + 1).checked_sub(first + worker)?.div_ceil(workers);
        for _ in 0..share {
            let k = self.next_port % share;
            self.next_port = self.next_port.wrapping_add(1);
            let port = u16::try_from(first + worker + k * workers).ok()?;
            let local = SocketAddr::new(source, port);
            let tuple = (local, origin);
            let free = if self.check_holds(&tuple) {
                false
            } else if self.table.contains(&tuple) {
                self.reuse(now, tuple)
            } else {
                !self.time_wait.contains(Side::Origin, tuple) || self.reuse_retired(now, tuple)
            };
            if free {
                return Some(local);
            }
        }
        None
    }

    /// Frees a 4-tuple held by an origin connection in TIME-WAIT, if it may be reused.
    fn reuse(&mut self, now: Instant, tuple: FourTuple) -> bool {
        let Some((slot, Side::Origin, _)) = self.table.find(tuple.0, tuple.1) else {
            return false;
        };
        let reused = self
            .table
            .get_mut(slot)
            .is_some_and(|e| e.splice.reuse_origin_tuple(now, TIME_WAIT_REUSE));
        if reused {
            self.table.unindex(slot, &tuple);
            self.stats.time_wait_reused += 1;
            self.table.touch(slot);
        }
        reused
    }

    /// Frees a 4-tuple held by a TIME-WAIT entry, if it may be reused.
    fn reuse_retired(&mut self, now: Instant, tuple: FourTuple) -> bool {
        let reused = self.time_wait.reuse_origin(now, tuple, TIME_WAIT_REUSE);
        self.stats.time_wait_reused += u64::from(reused);
        reused
    }
}
