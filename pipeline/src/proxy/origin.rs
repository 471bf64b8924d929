//! Choosing the origin server: round-robin over a fixed list, and on a connect failure the
//! next one in the list, up to a configured number of tries.

use std::net::SocketAddr;

/// Round-robin over origin servers.
#[derive(Debug, Clone)]
pub struct OriginPicker {
    origins: Vec<SocketAddr>,
    /// Index of the origin the next client connection starts with.
    next: usize,
    /// Connect attempts per client connection, the first included (at least 1).
    max_tries: u32,
}

/// The origin attempts made for one client connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// Index of the origin tried last.
    index: usize,
    /// Attempts made so far.
    tries: u32,
}

impl Attempt {
    /// Attempts made so far (1 after [`OriginPicker::pick`]).
    pub fn tries(&self) -> u32 {
        self.tries
    }
}

impl OriginPicker {
    /// A picker over `origins` allowing `max_tries` connect attempts per client connection
    /// (0 is taken as 1). `None` when `origins` is empty.
    pub fn new(origins: Vec<SocketAddr>, max_tries: u32) -> Option<OriginPicker> {
        if origins.is_empty() {
            return None;
        }
        Some(OriginPicker { origins, next: 0, max_tries: max_tries.max(1) })
    }

    /// The origin servers, in order.
    pub fn origins(&self) -> &[SocketAddr] {
        &self.origins
    }

    /// The origin for a new client connection (round-robin), and its attempt record.
    pub fn pick(&mut self) -> (SocketAddr, Attempt) {
        // `origins` is not empty (checked in `new`), so every index below is in bounds.
        let index = self.next % self.origins.len();
        self.next = (index + 1) % self.origins.len();
        (self.origins[index], Attempt { index, tries: 1 })
    }

    /// The origin to try after the attempt in `attempt` failed: the next one in the list,
    /// or `None` once `max_tries` attempts were made (then the client is reset).
    pub fn retry(&self, attempt: &mut Attempt) -> Option<SocketAddr> {
        if attempt.tries >= self.max_tries {
            return None;
        }
        attempt.index = (attempt.index + 1) % self.origins.len();
        attempt.tries += 1;
        Some(self.origins[attempt.index])
    }
}
