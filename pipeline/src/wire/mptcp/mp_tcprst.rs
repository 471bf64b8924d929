//! MP_TCPRST, subflow reset (subtype 0x8): RFC 8684 §3.6 (v1 only; unassigned in RFC 6824).
//!
//! ```text
//! +---------------+---------------+-------+-----------------------+
//! |     Kind      |    Length     |Subtype|U|V|W|T|    Reason     |
//! +---------------+---------------+-------+-----------------------+
//! ```
//!
//! Length 4, carried on a TCP RST to say why a subflow is closed or a join refused. Flags
//! and reason are kept exactly: RFC 8684 assigns only T, so U, V and W are sent as zero and
//! left uninterpreted; a reason code outside the registry is kept as it is (the engine may
//! treat it as "unspecified error").

use super::{MptcpSubtype, codec};
use crate::wire::{Error, Result};

/// Offset of the reason code.
const REASON: usize = 3;
/// The only MP_TCPRST length.
const LEN: usize = 4;

/// The four flag bits U, V, W, T of an MP_TCPRST (the low nibble of the subtype byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MpTcpRstFlags(u8);

impl MpTcpRstFlags {
    /// U: unassigned.
    pub const U: MpTcpRstFlags = MpTcpRstFlags(0x8);
    /// V: unassigned.
    pub const V: MpTcpRstFlags = MpTcpRstFlags(0x4);
    /// W: unassigned.
    pub const W: MpTcpRstFlags = MpTcpRstFlags(0x2);
    /// T: the error is transient; the subflow may be retried later (RFC 8684 §3.6).
    pub const T: MpTcpRstFlags = MpTcpRstFlags(0x1);

    /// The flags from the low 4 bits of `bits` (higher bits are dropped).
    pub const fn from_bits_truncate(bits: u8) -> MpTcpRstFlags {
        MpTcpRstFlags(bits & 0x0f)
    }

    /// The 4 flag bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether every bit of `other` is set here.
    pub const fn contains(self, other: MpTcpRstFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// T: the condition is transient (set) or permanent (clear).
    pub const fn transient(self) -> bool {
        self.contains(Self::T)
    }
}

/// The reason code of an MP_TCPRST (RFC 8684 §3.6 and the IANA "MPTCP MP_TCPRST Reason
/// Codes" registry), kept as the raw byte so that unassigned codes survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MpTcpRstReason(pub u8);

impl MpTcpRstReason {
    /// 0x00: unspecified error.
    pub const UNSPECIFIED: MpTcpRstReason = MpTcpRstReason(0x00);
    /// 0x01: MPTCP-specific error (e.g. a failed MP_JOIN HMAC).
    pub const MPTCP_SPECIFIC: MpTcpRstReason = MpTcpRstReason(0x01);
    /// 0x02: lack of resources (e.g. too many subflows).
    pub const LACK_OF_RESOURCES: MpTcpRstReason = MpTcpRstReason(0x02);
    /// 0x03: administratively prohibited.
    pub const ADMINISTRATIVELY_PROHIBITED: MpTcpRstReason = MpTcpRstReason(0x03);
    /// 0x04: too much outstanding data on the subflow.
    pub const TOO_MUCH_OUTSTANDING_DATA: MpTcpRstReason = MpTcpRstReason(0x04);
    /// 0x05: unacceptable performance (e.g. RTT or loss).
    pub const UNACCEPTABLE_PERFORMANCE: MpTcpRstReason = MpTcpRstReason(0x05);
    /// 0x06: middlebox interference detected.
    pub const MIDDLEBOX_INTERFERENCE: MpTcpRstReason = MpTcpRstReason(0x06);

    /// The RFC 8684 §3.6 name of an assigned code; `None` for unassigned ones.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x00 => "unspecified error",
            0x01 => "MPTCP-specific error",
            0x02 => "lack of resources",
            0x03 => "administratively prohibited",
            0x04 => "too much outstanding data",
            0x05 => "unacceptable performance",
            0x06 => "middlebox interference",
            _ => return None,
        })
    }
}

/// An MP_TCPRST option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MpTcpRst {
    /// U, V, W, T.
    pub flags: MpTcpRstFlags,
    /// Why the subflow was reset.
    pub reason: MpTcpRstReason,
}

impl MpTcpRst {
    /// An MP_TCPRST with the T flag set as given and U, V, W clear.
    pub const fn new(reason: MpTcpRstReason, transient: bool) -> MpTcpRst {
        let flags = if transient { MpTcpRstFlags::T } else { MpTcpRstFlags(0) };
        MpTcpRst { flags, reason }
    }

    /// Parses an MP_TCPRST option (whole option bytes, kind first); any length but 4 is
    /// `Malformed`.
    pub fn parse(option: &[u8]) -> Result<MpTcpRst> {
        let opt = codec::expect(option, MptcpSubtype::MpTcpRst)?;
        if opt.len() != LEN {
            return Err(Error::Malformed);
        }
        let flags = MpTcpRstFlags::from_bits_truncate(codec::low_nibble(opt)?);
        let reason = MpTcpRstReason(codec::read_u8(opt, REASON)?);
        Ok(MpTcpRst { flags, reason })
    }

    /// The option length: 4.
    pub const fn buffer_len(&self) -> usize {
        LEN
    }

    /// Writes the option (kind and length included) to `buf[..4]`.
    ///
    /// # Panics
    /// If `buf` is shorter than 4 bytes.
    pub fn emit(&self, buf: &mut [u8]) {
        let buf = codec::write_header(buf, LEN, MptcpSubtype::MpTcpRst, self.flags.bits());
        buf[REASON] = self.reason.0;
    }
}
