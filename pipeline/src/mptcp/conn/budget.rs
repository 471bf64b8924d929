//! The data level's share of buffer sizing (docs/operations.md, "Memory model"): the
//! data-level send buffer is given what its subflows' send limits add up to, and memory
//! pressure reaches every subflow and the data-level receive buffer.

use super::Connection;
use crate::tcp::MIN_BUFFER;

impl Connection {
    /// Tells the connection and every subflow whether the owner's buffer budget is under
    /// pressure ([`tcp::Connection::set_memory_pressure`](crate::tcp::Connection::set_memory_pressure)):
    /// the subflows' windows and send limits fall to [`MIN_BUFFER`], and the data level takes
    /// no more than that from them while its own receive buffer holds unread bytes.
    pub fn set_memory_pressure(&mut self, on: bool) {
        self.pressure = on;
        for s in self.subflows.iter_mut().flatten() {
            s.tcp.set_memory_pressure(on);
        }
    }

    /// The most bytes the data-level send buffer is given now: the live subflows' send
    /// limits together, at least [`MIN_BUFFER`], at most `send_buffer`; [`MIN_BUFFER`] under
    /// pressure.
    pub fn send_limit(&self) -> usize {
        let cap = self.snd.capacity();
        if self.pressure {
            return MIN_BUFFER.min(cap);
        }
        let paths: usize = self.subflows.iter().flatten().map(|s| s.tcp.send_limit()).sum();
        paths.clamp(MIN_BUFFER.min(cap), cap)
    }

    /// Room at the data level for bytes the subflows received: the buffer's, and under
    /// pressure no more than [`MIN_BUFFER`] unread (the rest waits in the subflows, whose
    /// windows then close).
    pub(super) fn receive_room(&self) -> usize {
        let room = self.rcv.window_remaining();
        if self.pressure {
            room.min(MIN_BUFFER.saturating_sub(self.rcv.readable_len()))
        } else {
            room
        }
    }
}
