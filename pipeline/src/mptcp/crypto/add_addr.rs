//! ADD_ADDR authentication (RFC 8684 §3.4.1).
//!
//! An MPTCP v1 ADD_ADDR carries the rightmost 64 bits of
//! HMAC-SHA256(Key=(Key-A || Key-B), Msg=(Address ID || Address || Port)), A being the host that
//! sends the ADD_ADDR. The address is 4 or 16 bytes in network order and the port 2 bytes in
//! network order, 0 when the option carries no port. This is what Linux computes
//! (`add_addr_generate_hmac` in `net/mptcp/options.c`: the message always ends in two port
//! bytes, zero without a port, and the value is the last 8 bytes of the 32-byte HMAC since
//! commits 12555a2d97e5 "use rightmost 64 bits in ADD_ADDR HMAC" and "use untruncated hash in
//! ADD_ADDR HMAC"). MPTCP v0 ADD_ADDR (RFC 6824 §3.4.1) carries no HMAC.

use core::net::IpAddr;

use subtle::ConstantTimeEq;

use super::join::{HmacKeys, HmacMismatch};
use super::keyed::{KeyedHmac, rightmost_64};

/// Proof that an ADD_ADDR's HMAC verified, holding the authenticated address.
///
/// Only [`HmacKeys::verify_add_addr_hmac`] builds one, and it carries the exact address ID,
/// address and port the HMAC covered, so the caller uses those and not unverified copies.
#[derive(Debug, PartialEq, Eq)]
pub struct VerifiedAddAddr {
    id: u8,
    addr: IpAddr,
    port: Option<u16>,
}

impl VerifiedAddAddr {
    /// The announced address ID.
    pub const fn id(&self) -> u8 {
        self.id
    }

    /// The announced address.
    pub const fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The announced port, if the option carried one.
    pub const fn port(&self) -> Option<u16> {
        self.port
    }
}

impl HmacKeys {
    /// The truncated HMAC for an ADD_ADDR this host sends (RFC 8684 §3.4.1), or `None` on a v0
    /// connection, whose ADD_ADDR has no HMAC. `port` is `None` when the option carries no
    /// port; the HMAC then covers a port of 0, so `Some(0)` gives the same value.
    pub fn add_addr_hmac(&self, id: u8, addr: IpAddr, port: Option<u16>) -> Option<u64> {
        add_addr_mac(&self.ours, id, addr, port)
    }

    /// Checks, in constant time, the truncated HMAC of an ADD_ADDR the peer sent
    /// (RFC 8684 §3.4.1: a mismatching ADD_ADDR is ignored). On a v0 connection there is no
    /// ADD_ADDR HMAC to verify and this always fails; v0 callers do not call it.
    pub fn verify_add_addr_hmac(
        &self,
        id: u8,
        addr: IpAddr,
        port: Option<u16>,
        received: u64,
    ) -> Result<VerifiedAddAddr, HmacMismatch> {
        let expected = add_addr_mac(&self.theirs, id, addr, port).ok_or(HmacMismatch)?;
        if bool::from(expected.ct_eq(&received)) {
            Ok(VerifiedAddAddr { id, addr, port })
        } else {
            Err(HmacMismatch)
        }
    }
}

/// Rightmost 64 bits of HMAC-SHA256 over (id || address || port), `None` for SHA-1 states.
fn add_addr_mac(state: &KeyedHmac, id: u8, addr: IpAddr, port: Option<u16>) -> Option<u64> {
    if !state.is_sha256() {
        return None;
    }
    let port = port.unwrap_or(0).to_be_bytes();
    let mac = match addr {
        IpAddr::V4(v4) => state.mac(&[&[id], &v4.octets(), &port]),
        IpAddr::V6(v6) => state.mac(&[&[id], &v6.octets(), &port]),
    };
    Some(rightmost_64(&mac))
}
