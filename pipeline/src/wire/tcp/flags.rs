//! The control bits of the TCP header (RFC 9293 §3.1, RFC 3168 §6.1, RFC 3540 / AccECN).

use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign};

/// The 12 bits of the TCP header after the data offset: 3 reserved bits, AE, CWR, ECE, URG,
/// ACK, PSH, RST, SYN, FIN (RFC 9293 §3.1 Figure 1, with the AE bit of Accurate ECN).
///
/// The bit positions are those of the low 12 bits of header bytes 12-13 read as a big-endian
/// `u16`. Reserved bits are kept, so a header re-emitted from its parsed form is byte-exact;
/// RFC 9293 §3.1 says a receiver ignores them, which is the engine's business.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(u16);

impl TcpFlags {
    /// No bit set.
    pub const NONE: TcpFlags = TcpFlags(0);
    /// FIN: no more data from sender.
    pub const FIN: TcpFlags = TcpFlags(0x001);
    /// SYN: synchronize sequence numbers.
    pub const SYN: TcpFlags = TcpFlags(0x002);
    /// RST: reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x004);
    /// PSH: push function.
    pub const PSH: TcpFlags = TcpFlags(0x008);
    /// ACK: the acknowledgment number is significant.
    pub const ACK: TcpFlags = TcpFlags(0x010);
    /// URG: the urgent pointer is significant.
    pub const URG: TcpFlags = TcpFlags(0x020);
    /// ECE: ECN-Echo (RFC 3168 §6.1).
    pub const ECE: TcpFlags = TcpFlags(0x040);
    /// CWR: Congestion Window Reduced (RFC 3168 §6.1).
    pub const CWR: TcpFlags = TcpFlags(0x080);
    /// AE: Accurate ECN counter bit; formerly NS, the ECN-nonce bit of RFC 3540 (historic
    /// since RFC 8311).
    pub const AE: TcpFlags = TcpFlags(0x100);
    /// The three bits RFC 9293 §3.1 still reserves ("must be zero" on sending).
    pub const RESERVED: TcpFlags = TcpFlags(0xe00);
    /// All 12 bits.
    pub const ALL: TcpFlags = TcpFlags(0xfff);

    /// Names for `Debug`, lowest bit first as Wireshark lists them (`SYN|ACK`).
    const NAMES: [(TcpFlags, &'static str); 9] = [
        (TcpFlags::FIN, "FIN"),
        (TcpFlags::SYN, "SYN"),
        (TcpFlags::RST, "RST"),
        (TcpFlags::PSH, "PSH"),
        (TcpFlags::ACK, "ACK"),
        (TcpFlags::URG, "URG"),
        (TcpFlags::ECE, "ECE"),
        (TcpFlags::CWR, "CWR"),
        (TcpFlags::AE, "AE"),
    ];

    /// The flags in the low 12 bits of `bits`; higher bits are dropped.
    pub const fn from_bits(bits: u16) -> TcpFlags {
        TcpFlags(bits & TcpFlags::ALL.0)
    }

    /// The flags as the low 12 bits of a `u16`.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any bit of `other` is set in `self`.
    pub const fn intersects(self, other: TcpFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Sets the bits of `other`.
    pub fn insert(&mut self, other: TcpFlags) {
        self.0 |= other.0;
    }

    /// Clears the bits of `other`.
    pub fn remove(&mut self, other: TcpFlags) {
        self.0 &= !other.0;
    }

    /// Sets or clears the bits of `other`.
    pub fn set(&mut self, other: TcpFlags, value: bool) {
        if value { self.insert(other) } else { self.remove(other) }
    }
}

impl BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        self.insert(rhs);
    }
}

impl BitAnd for TcpFlags {
    type Output = TcpFlags;
    fn bitand(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 & rhs.0)
    }
}

/// Prints the names of the set bits joined by `|`, e.g. `SYN|ACK`, then any reserved bits in
/// hex; no bit prints as `(empty)`.
impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("(empty)");
        }
        let mut sep = "";
        for (flag, name) in TcpFlags::NAMES {
            if self.contains(flag) {
                write!(f, "{sep}{name}")?;
                sep = "|";
            }
        }
        let reserved = self.0 & TcpFlags::RESERVED.0;
        if reserved != 0 {
            write!(f, "{sep}{reserved:#05x}")?;
        }
        Ok(())
    }
}
