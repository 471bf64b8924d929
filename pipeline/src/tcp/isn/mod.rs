//! Initial sequence numbers, RFC 6528.
//!
//! RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), where M is
//! the 4 microsecond timer and F a pseudorandom function of the connection identifier and a
//! secret key that cannot be computed from outside. Each 4-tuple gets its own sequence
//! number space that still advances with time (so a new incarnation of a connection starts
//! above the old one, RFC 9293 §3.4.1), while an off-path attacker cannot guess the ISN of
//! a connection from the ISNs of its own connections.
//!
//! Here M is derived from the [`Instant`] passed in (no clock is read): microseconds divided
//! by 4, modulo 2^32, so it grows by 250 per millisecond and wraps every 4.77 hours. F is
//! HMAC-SHA256 keyed with a 32-byte secret, truncated to its first 32 bits (RFC 6528 §3
//! suggests a cryptographic hash over the connection parameters and secret data, and §4
//! discusses the choice of hash; a keyed HMAC over SHA-256 avoids MD5's weaknesses). The
//! appliance draws the secret from the operating system at start; the keyed HMAC state is
//! computed once at construction.

#[cfg(test)]
mod tests;

use core::fmt;
use core::net::SocketAddr;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::time::Instant;
use crate::wire::tcp::TcpSeqNumber;

/// HMAC-SHA256, the keyed hash behind ISNs and SYN cookies.
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// Keys an HMAC-SHA256 with `secret`.
pub(crate) fn keyed_hmac(secret: &[u8; 32]) -> HmacSha256 {
    // RFC 2104 §2: HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length")
}

/// Feeds one endpoint to a MAC, unambiguously: a family tag, the address, the port.
fn feed_endpoint(mac: &mut HmacSha256, addr: SocketAddr) {
    match addr {
        SocketAddr::V4(a) => {
            mac.update(&[4]);
            mac.update(&a.ip().octets());
        }
        SocketAddr::V6(a) => {
            mac.update(&[6]);
            mac.update(&a.ip().octets());
        }
    }
    mac.update(&addr.port().to_be_bytes());
}

/// Feeds the connection identifier (local endpoint, then remote) to a MAC.
pub(crate) fn feed_tuple(mac: &mut HmacSha256, local: SocketAddr, remote: SocketAddr) {
    feed_endpoint(mac, local);
    feed_endpoint(mac, remote);
}

/// The first 32 bits of a finished MAC, big-endian.
pub(crate) fn first_u32(mac: HmacSha256) -> u32 {
    // The tag is a fixed 32-byte array: the four indexings are in bounds.
    let tag = mac.finalize().into_bytes();
    u32::from_be_bytes([tag[0], tag[1], tag[2], tag[3]])
}

/// M of RFC 6528 §3: the 4 µs timer, modulo 2^32.
pub fn four_microsecond_timer(now: Instant) -> u32 {
    // Truncation is the intended modulo 2^32.
    (now.total_micros() / 4) as u32
}

/// Generates RFC 6528 initial sequence numbers from a secret key.
#[derive(Clone)]
pub struct IsnGenerator {
    keyed: HmacSha256,
}

impl IsnGenerator {
    /// A generator keyed with `secret`, which must be random and kept secret (RFC 6528 §3).
    pub fn new(secret: [u8; 32]) -> Self {
        IsnGenerator { keyed: keyed_hmac(&secret) }
    }

    /// F of RFC 6528 §3: the keyed hash of the connection identifier.
    fn offset(&self, local: SocketAddr, remote: SocketAddr) -> u32 {
        let mut mac = self.keyed.clone();
        mac.update(b"netreaktor isn v1");
        feed_tuple(&mut mac, local, remote);
        first_u32(mac)
    }

    /// The ISN for a connection from `local` to `remote` opened at `now`: M + F (RFC 6528 §3).
    pub fn isn(&self, now: Instant, local: SocketAddr, remote: SocketAddr) -> TcpSeqNumber {
        TcpSeqNumber(four_microsecond_timer(now).wrapping_add(self.offset(local, remote)))
    }
}

impl fmt::Debug for IsnGenerator {
    /// Never prints the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IsnGenerator").finish_non_exhaustive()
    }
}
