//! MP_CAPABLE (subtype 0x0): RFC 8684 §3.1 (v1) and RFC 6824 §3.1 (v0).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +---------------+---------------+-------+-------+---------------+
//! |     Kind      |    Length     |Subtype|Version|A|B|C|D|E|F|G|H|
//! +---------------+---------------+-------+-------+---------------+
//! |                   Option Sender's Key (64 bits)               |
//! |                      (if option Length > 4)                   |
//! +---------------------------------------------------------------+
//! |                  Option Receiver's Key (64 bits)              |
//! |                      (if option Length > 12)                  |
//! +-------------------------------+-------------------------------+
//! |  Data-Level Length (16 bits)  |  Checksum (16 bits, optional) |
//! +-------------------------------+-------------------------------+
//! ```
//!
//! Lengths: v1 SYN 4, v1 SYN/ACK 12, v1 third ACK 20, v1 third ACK or first data packet with
//! data-level length 22, and with DSS checksum 24 (RFC 8684 §3.1). v0 SYN and SYN/ACK 12,
//! v0 third ACK 20 (RFC 6824 §3.1). The version is read from the option itself.

use super::{MptcpSubtype, MptcpVersion, codec};
use crate::wire::{Error, Result};

/// Field offsets inside an MP_CAPABLE option.
mod field {
    pub(super) const FLAGS: usize = 3;
    pub(super) const SENDER_KEY: usize = 4;
    pub(super) const RECEIVER_KEY: usize = 12;
    pub(super) const DATA_LEN: usize = 20;
    pub(super) const CHECKSUM: usize = 22;
}

/// The option lengths MP_CAPABLE can have.
mod len {
    pub(super) const NO_KEY: usize = 4;
    pub(super) const SENDER: usize = 12;
    pub(super) const BOTH: usize = 20;
    pub(super) const DATA: usize = 22;
    pub(super) const DATA_CSUM: usize = 24;
}

/// The MP_CAPABLE flag byte (bits A to H), kept exactly as on the wire.
///
/// RFC 8684 §3.1: A "checksum required", B "extensibility" (must be 0 in this version: a
/// receiver that sees B=1 without understanding it falls back to TCP), C "do not attempt to
/// establish new subflows to this source address" (v1 only; unassigned in v0), D-G
/// unassigned, H "HMAC-SHA256" (in v0, RFC 6824 §3.1: HMAC-SHA1). An MP_CAPABLE with no
/// crypto bit set is treated as plain TCP by the receiver. Those decisions are the engine's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MpCapableFlags(pub u8);

impl MpCapableFlags {
    /// A: checksum required (RFC 8684 §3.1).
    pub const CHECKSUM_REQUIRED: MpCapableFlags = MpCapableFlags(0x80);
    /// B: extensibility; zero in v0 and v1.
    pub const EXTENSIBILITY: MpCapableFlags = MpCapableFlags(0x40);
    /// C (v1 only): do not attempt to establish new subflows to the source address.
    pub const NO_JOIN_TO_SOURCE: MpCapableFlags = MpCapableFlags(0x20);
    /// H: HMAC-SHA256 in v1 (RFC 8684 §3.1), HMAC-SHA1 in v0 (RFC 6824 §3.1).
    pub const HMAC_SHA: MpCapableFlags = MpCapableFlags(0x01);

    /// Whether every bit of `other` is set here.
    pub const fn contains(self, other: MpCapableFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// These flags with the bits of `other` set as well.
    pub const fn with(self, other: MpCapableFlags) -> MpCapableFlags {
        MpCapableFlags(self.0 | other.0)
    }

    /// A: the sender requires DSS checksums.
    pub const fn checksum_required(self) -> bool {
        self.contains(Self::CHECKSUM_REQUIRED)
    }

    /// B: the extensibility bit.
    pub const fn extensibility(self) -> bool {
        self.contains(Self::EXTENSIBILITY)
    }

    /// C: the sender asks not to be joined at this source address (v1).
    pub const fn no_join_to_source(self) -> bool {
        self.contains(Self::NO_JOIN_TO_SOURCE)
    }

    /// H: the HMAC algorithm of the version (SHA-256 in v1, SHA-1 in v0).
    pub const fn hmac_sha(self) -> bool {
        self.contains(Self::HMAC_SHA)
    }
}

/// What follows the flag byte; the variant decides the option length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MpCapableKeys {
    /// No key: the v1 SYN (length 4). Not valid in v0.
    None,
    /// The sender's key: v1 SYN/ACK, v0 SYN and SYN/ACK (length 12).
    Sender {
        /// The option sender's 64-bit key, big-endian on the wire.
        sender: u64,
    },
    /// Both keys: the third ACK (length 20).
    Both {
        /// The option sender's key.
        sender: u64,
        /// The option receiver's key (echoed back).
        receiver: u64,
    },
    /// Both keys and the mapping of the first data (v1 only, length 22 or 24 with checksum).
    /// RFC 8684 §3.1: these data parameters mean what they mean in a DSS mapping whose data
    /// sequence number is the IDSN + 1 and whose subflow sequence number is 1.
    BothWithData {
        /// The option sender's key.
        sender: u64,
        /// The option receiver's key.
        receiver: u64,
        /// The data-level length of the mapping.
        data_len: u16,
        /// The DSS checksum, present when checksums were negotiated.
        checksum: Option<u16>,
    },
}

/// An MP_CAPABLE option (RFC 8684 §3.1, RFC 6824 §3.1).
///
/// Every value is emittable; the representable set that parses back to itself is: v1 with
/// any keys, v0 with `Sender` or `Both` (v0 has neither the 4-byte SYN nor the data fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MpCapable {
    /// The version carried in the option (not the connection's hint).
    pub version: MptcpVersion,
    /// The flag byte A..H.
    pub flags: MpCapableFlags,
    /// Keys and data fields; they decide the length.
    pub keys: MpCapableKeys,
}

impl MpCapable {
    /// The MP_CAPABLE of an initial SYN: v1 carries no key (length 4), v0 carries the
    /// sender's key (length 12).
    pub const fn syn(version: MptcpVersion, flags: MpCapableFlags, local_key: u64) -> MpCapable {
        let keys = match version {
            MptcpVersion::V0 => MpCapableKeys::Sender { sender: local_key },
            MptcpVersion::V1 => MpCapableKeys::None,
        };
        MpCapable { version, flags, keys }
    }

    /// The MP_CAPABLE of a SYN/ACK: the sender's key (length 12) in both versions.
    pub const fn syn_ack(
        version: MptcpVersion,
        flags: MpCapableFlags,
        local_key: u64,
    ) -> MpCapable {
        let keys = MpCapableKeys::Sender { sender: local_key };
        MpCapable { version, flags, keys }
    }

    /// The MP_CAPABLE of the third ACK: both keys (length 20).
    pub const fn ack(
        version: MptcpVersion,
        flags: MpCapableFlags,
        local_key: u64,
        remote_key: u64,
    ) -> MpCapable {
        let keys = MpCapableKeys::Both { sender: local_key, receiver: remote_key };
        MpCapable { version, flags, keys }
    }

    /// The v1 MP_CAPABLE of the first data packet: both keys and the data-level length, with
    /// the DSS checksum if negotiated (length 22 or 24).
    pub const fn ack_with_data(
        flags: MpCapableFlags,
        local_key: u64,
        remote_key: u64,
        data_len: u16,
        checksum: Option<u16>,
    ) -> MpCapable {
        let keys = MpCapableKeys::BothWithData {
            sender: local_key,
            receiver: remote_key,
            data_len,
            checksum,
        };
        MpCapable { version: MptcpVersion::V1, flags, keys }
    }

    /// The option sender's key, if carried.
    pub const fn sender_key(&self) -> Option<u64> {
        match self.keys {
            MpCapableKeys::None => None,
            MpCapableKeys::Sender { sender }
            | MpCapableKeys::Both { sender, .. }
            | MpCapableKeys::BothWithData { sender, .. } => Some(sender),
        }
    }

    /// The option receiver's key, if carried.
    pub const fn receiver_key(&self) -> Option<u64> {
        match self.keys {
            MpCapableKeys::None | MpCapableKeys::Sender { .. } => None,
            MpCapableKeys::Both { receiver, .. } | MpCapableKeys::BothWithData { receiver, .. } => {
                Some(receiver)
            }
        }
    }

    /// Parses an MP_CAPABLE option (whole option bytes, kind first).
    ///
    /// `Unsupported` for a version other than 0 or 1 (checked before the length, since a
    /// future version may have other lengths; see [`peek_version`](super::peek_version));
    /// `Malformed` for a length the version does not define.
    pub fn parse(option: &[u8]) -> Result<MpCapable> {
        let opt = codec::expect(option, MptcpSubtype::MpCapable)?;
        let number = codec::low_nibble(opt)?;
        let version = MptcpVersion::from_number(number).ok_or(Error::Unsupported)?;
        let keys = parse_keys(opt, version)?;
        let flags = MpCapableFlags(codec::read_u8(opt, field::FLAGS)?);
        Ok(MpCapable { version, flags, keys })
    }

    /// The option length: 4, 12, 20, 22 or 24.
    pub const fn buffer_len(&self) -> usize {
        match self.keys {
            MpCapableKeys::None => len::NO_KEY,
            MpCapableKeys::Sender { .. } => len::SENDER,
            MpCapableKeys::Both { .. } => len::BOTH,
            MpCapableKeys::BothWithData { checksum: None, .. } => len::DATA,
            MpCapableKeys::BothWithData { checksum: Some(_), .. } => len::DATA_CSUM,
        }
    }

    /// Writes the option (kind and length included) to `buf[..self.buffer_len()]`.
    ///
    /// # Panics
    /// If `buf` is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit(&self, buf: &mut [u8]) {
        let len = self.buffer_len();
        let buf = codec::write_header(buf, len, MptcpSubtype::MpCapable, self.version.number());
        buf[field::FLAGS] = self.flags.0;
        if let Some(key) = self.sender_key() {
            codec::write_bytes(buf, field::SENDER_KEY, &key.to_be_bytes());
        }
        if let Some(key) = self.receiver_key() {
            codec::write_bytes(buf, field::RECEIVER_KEY, &key.to_be_bytes());
        }
        if let MpCapableKeys::BothWithData { data_len, checksum, .. } = self.keys {
            codec::write_bytes(buf, field::DATA_LEN, &data_len.to_be_bytes());
            if let Some(csum) = checksum {
                codec::write_bytes(buf, field::CHECKSUM, &csum.to_be_bytes());
            }
        }
    }
}

/// The keys and data fields a length defines for `version` (RFC 8684 §3.1, RFC 6824 §3.1).
fn parse_keys(opt: &[u8], version: MptcpVersion) -> Result<MpCapableKeys> {
    let v1 = version == MptcpVersion::V1;
    Ok(match opt.len() {
        len::NO_KEY if v1 => MpCapableKeys::None,
        len::SENDER => MpCapableKeys::Sender { sender: codec::read_u64(opt, field::SENDER_KEY)? },
        len::BOTH => MpCapableKeys::Both {
            sender: codec::read_u64(opt, field::SENDER_KEY)?,
            receiver: codec::read_u64(opt, field::RECEIVER_KEY)?,
        },
        len::DATA | len::DATA_CSUM if v1 => MpCapableKeys::BothWithData {
            sender: codec::read_u64(opt, field::SENDER_KEY)?,
            receiver: codec::read_u64(opt, field::RECEIVER_KEY)?,
            data_len: codec::read_u16(opt, field::DATA_LEN)?,
            checksum: match opt.len() {
                len::DATA_CSUM => Some(codec::read_u16(opt, field::CHECKSUM)?),
                _ => None,
            },
        },
        _ => return Err(Error::Malformed),
    })
}
