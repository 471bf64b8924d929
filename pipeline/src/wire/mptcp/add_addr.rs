//! ADD_ADDR (subtype 0x3): RFC 8684 §3.4.1 (v1) and RFC 6824 §3.4.1 (v0).
//!
//! ```text
//! v1, RFC 8684:
//! +---------------+---------------+-------+-------+---------------+
//! |     Kind      |     Length    |Subtype|(rsv)|E|  Address ID   |
//! +---------------+---------------+-------+-------+---------------+
//! |           Address (IPv4: 4 octets / IPv6: 16 octets)          |
//! +-------------------------------+-------------------------------+
//! |   Port (2 octets, optional)   |                               |
//! +-------------------------------+                               |
//! |                Truncated HMAC (8 octets, if E=0)              |
//! |                               +-------------------------------+
//! |                               |
//! +-------------------------------+
//!
//! v0, RFC 6824:
//! +---------------+---------------+-------+-------+---------------+
//! |     Kind      |     Length    |Subtype| IPVer |  Address ID   |
//! +---------------+---------------+-------+-------+---------------+
//! |          Address (IPv4 - 4 octets / IPv6 - 16 octets)         |
//! +-------------------------------+-------------------------------+
//! |   Port (2 octets, optional)   |
//! +-------------------------------+
//! ```
//!
//! v1 lengths: IPv4 8/10 (echo, without/with port), 16/18 (with HMAC); IPv6 20/22 (echo),
//! 28/30 (with HMAC). v0 lengths: IPv4 8/10, IPv6 20/22, and IPVer must agree. A v0 IPv4
//! ADD_ADDR and a v1 IPv4 echo are both 8 bytes: the connection's version decides. The v1
//! reserved bits are ignored on receipt; an IPVer other than 4 or 6, or one that disagrees
//! with the length, is `Malformed`.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{MptcpSubtype, MptcpVersion, codec};
use crate::wire::{Error, Result};

/// Field offsets inside an ADD_ADDR option.
mod field {
    pub(super) const ADDR_ID: usize = 3;
    pub(super) const ADDR: usize = 4;
}

/// E: this ADD_ADDR echoes one received (RFC 8684 §3.4.1).
const ECHO: u8 = 0x01;
/// Octets of the optional port.
const PORT_LEN: usize = 2;
/// Octets of the truncated HMAC.
const HMAC_LEN: usize = 8;

/// Which of the three ADD_ADDR formats this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddAddrForm {
    /// RFC 6824: IPVer nibble, no echo, no HMAC.
    V0,
    /// RFC 8684 with E=1: the echo that acknowledges an ADD_ADDR, without HMAC.
    Echo,
    /// RFC 8684 with E=0: an announcement authenticated by the leftmost 64 bits of
    /// HMAC-SHA256 over address ID, address and port (RFC 8684 §3.4.1).
    Announce {
        /// The truncated HMAC.
        hmac: [u8; 8],
    },
}

/// An ADD_ADDR option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddAddr {
    /// The sender's identifier for this address.
    pub addr_id: u8,
    /// The announced address; its family decides the address length.
    pub addr: IpAddr,
    /// The port to join on, if not the port of this subflow.
    pub port: Option<u16>,
    /// v0, v1 echo, or v1 announcement with HMAC.
    pub form: AddAddrForm,
}

/// What the length (and, in v0, the IPVer nibble) says the option contains.
struct Layout {
    v6: bool,
    port: bool,
    hmac: bool,
}

impl AddAddr {
    /// A v1 announcement with its truncated HMAC.
    pub const fn announce(addr_id: u8, addr: IpAddr, port: Option<u16>, hmac: [u8; 8]) -> AddAddr {
        AddAddr { addr_id, addr, port, form: AddAddrForm::Announce { hmac } }
    }

    /// The v1 echo of a received announcement.
    pub const fn echo(addr_id: u8, addr: IpAddr, port: Option<u16>) -> AddAddr {
        AddAddr { addr_id, addr, port, form: AddAddrForm::Echo }
    }

    /// A v0 (RFC 6824) announcement.
    pub const fn v0(addr_id: u8, addr: IpAddr, port: Option<u16>) -> AddAddr {
        AddAddr { addr_id, addr, port, form: AddAddrForm::V0 }
    }

    /// The MPTCP version whose format this is.
    pub const fn version(&self) -> MptcpVersion {
        match self.form {
            AddAddrForm::V0 => MptcpVersion::V0,
            AddAddrForm::Echo | AddAddrForm::Announce { .. } => MptcpVersion::V1,
        }
    }

    /// The truncated HMAC of a v1 announcement.
    pub const fn hmac(&self) -> Option<[u8; 8]> {
        match self.form {
            AddAddrForm::Announce { hmac } => Some(hmac),
            AddAddrForm::V0 | AddAddrForm::Echo => None,
        }
    }

    /// Parses an ADD_ADDR option (whole option bytes, kind first) in the format of
    /// `version`. `Malformed` for a length (or v0 IPVer) that fits no format of the version.
    pub fn parse(option: &[u8], version: MptcpVersion) -> Result<AddAddr> {
        let opt = codec::expect(option, MptcpSubtype::AddAddr)?;
        let nibble = codec::low_nibble(opt)?;
        let layout = layout(opt.len(), version, nibble)?;
        let addr_id = codec::read_u8(opt, field::ADDR_ID)?;
        let (addr, mut at) = if layout.v6 {
            let octets: [u8; 16] = codec::read_array(opt, field::ADDR)?;
            (IpAddr::V6(Ipv6Addr::from(octets)), field::ADDR + 16)
        } else {
            let octets: [u8; 4] = codec::read_array(opt, field::ADDR)?;
            (IpAddr::V4(Ipv4Addr::from(octets)), field::ADDR + 4)
        };
        let port = if layout.port { Some(codec::read_u16(opt, at)?) } else { None };
        if port.is_some() {
            at += PORT_LEN;
        }
        let form = match (version, layout.hmac) {
            (MptcpVersion::V0, _) => AddAddrForm::V0,
            (MptcpVersion::V1, false) => AddAddrForm::Echo,
            (MptcpVersion::V1, true) => AddAddrForm::Announce { hmac: codec::read_array(opt, at)? },
        };
        Ok(AddAddr { addr_id, addr, port, form })
    }

    /// The option length: 8 to 30, see the module docs.
    pub const fn buffer_len(&self) -> usize {
        let port = if self.port.is_some() { PORT_LEN } else { 0 };
        let hmac = if self.hmac().is_some() { HMAC_LEN } else { 0 };
        field::ADDR + addr_len(self.addr) + port + hmac
    }

    /// Writes the option (kind and length included) to `buf[..self.buffer_len()]`.
    ///
    /// # Panics
    /// If `buf` is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit(&self, buf: &mut [u8]) {
        let buf =
            codec::write_header(buf, self.buffer_len(), MptcpSubtype::AddAddr, self.low_nibble());
        buf[field::ADDR_ID] = self.addr_id;
        match self.addr {
            IpAddr::V4(a) => codec::write_bytes(buf, field::ADDR, &a.octets()),
            IpAddr::V6(a) => codec::write_bytes(buf, field::ADDR, &a.octets()),
        }
        let mut at = field::ADDR + addr_len(self.addr);
        if let Some(port) = self.port {
            codec::write_bytes(buf, at, &port.to_be_bytes());
            at += PORT_LEN;
        }
        if let Some(hmac) = self.hmac() {
            codec::write_bytes(buf, at, &hmac);
        }
    }

    /// The low nibble of the subtype byte: IPVer in v0, the E flag in v1.
    const fn low_nibble(&self) -> u8 {
        match (self.form, self.addr) {
            (AddAddrForm::V0, IpAddr::V4(_)) => 4,
            (AddAddrForm::V0, IpAddr::V6(_)) => 6,
            (AddAddrForm::Echo, _) => ECHO,
            (AddAddrForm::Announce { .. }, _) => 0,
        }
    }
}

/// Octets of the address.
const fn addr_len(addr: IpAddr) -> usize {
    match addr {
        IpAddr::V4(_) => 4,
        IpAddr::V6(_) => 16,
    }
}

/// The layout a length means in `version` (v0: with the IPVer nibble; v1: with the E bit).
fn layout(len: usize, version: MptcpVersion, nibble: u8) -> Result<Layout> {
    let (hmac, v6_by_ipver) = match version {
        MptcpVersion::V0 => match nibble {
            4 => (false, Some(false)),
            6 => (false, Some(true)),
            _ => return Err(Error::Malformed),
        },
        MptcpVersion::V1 => (nibble & ECHO == 0, None),
    };
    let fixed = field::ADDR + if hmac { HMAC_LEN } else { 0 };
    let (v6, port) = match len.checked_sub(fixed) {
        Some(4) => (false, false),
        Some(6) => (false, true),
        Some(16) => (true, false),
        Some(18) => (true, true),
        _ => return Err(Error::Malformed),
    };
    match v6_by_ipver {
        Some(ipver_v6) if ipver_v6 != v6 => Err(Error::Malformed),
        _ => Ok(Layout { v6, port, hmac }),
    }
}
