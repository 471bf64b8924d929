//! MP_JOIN (subtype 0x1): RFC 8684 §3.2, same format in RFC 6824 §3.2.
//!
//! ```text
//! SYN (length 12):
//! +---------------+---------------+-------+-----+-+---------------+
//! |     Kind      |  Length = 12  |Subtype|(rsv)|B|   Address ID  |
//! +---------------+---------------+-------+-----+-+---------------+
//! |                   Receiver's Token (32 bits)                  |
//! +---------------------------------------------------------------+
//! |                Sender's Random Number (32 bits)               |
//! +---------------------------------------------------------------+
//!
//! SYN/ACK (length 16):
//! +---------------+---------------+-------+-----+-+---------------+
//! |     Kind      |  Length = 16  |Subtype|(rsv)|B|   Address ID  |
//! +---------------+---------------+-------+-----+-+---------------+
//! |                Sender's Truncated HMAC (64 bits)              |
//! +---------------------------------------------------------------+
//! |                Sender's Random Number (32 bits)               |
//! +---------------------------------------------------------------+
//!
//! ACK (length 24):
//! +---------------+---------------+-------+-----------------------+
//! |     Kind      |  Length = 24  |Subtype|      (reserved)       |
//! +---------------+---------------+-------+-----------------------+
//! |                    Sender's HMAC (160 bits)                   |
//! +---------------------------------------------------------------+
//! ```
//!
//! The reserved bits are ignored on receipt (see the module docs of `wire::mptcp`).

use super::{MptcpSubtype, codec};
use crate::wire::{Error, Result};

/// Field offsets inside an MP_JOIN option.
mod field {
    pub(super) const ADDR_ID: usize = 3;
    pub(super) const SYN_TOKEN: usize = 4;
    pub(super) const SYN_NONCE: usize = 8;
    pub(super) const SYNACK_HMAC: usize = 4;
    pub(super) const SYNACK_NONCE: usize = 12;
    pub(super) const ACK_HMAC: usize = 4;
}

/// The option lengths of the three MP_JOIN forms.
mod len {
    pub(super) const SYN: usize = 12;
    pub(super) const SYN_ACK: usize = 16;
    pub(super) const ACK: usize = 24;
}

/// The B (backup) bit in the low nibble of the subtype byte.
const BACKUP: u8 = 0x01;

/// An MP_JOIN option; the variant is told apart by the option length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MpJoin {
    /// On the SYN of a new subflow (length 12).
    Syn {
        /// B: the sender wants this subflow used as backup only (RFC 8684 §3.2).
        backup: bool,
        /// The sender's identifier for the source address of this subflow.
        addr_id: u8,
        /// The receiver's token: the connection to join (RFC 8684 §3.2).
        token: u32,
        /// The sender's random number (nonce) for the HMAC.
        nonce: u32,
    },
    /// On the SYN/ACK (length 16).
    SynAck {
        /// B: the sender wants this subflow used as backup only.
        backup: bool,
        /// The sender's address identifier.
        addr_id: u8,
        /// The leftmost 64 bits of the sender's HMAC (RFC 8684 §3.2).
        hmac: [u8; 8],
        /// The sender's random number (nonce).
        nonce: u32,
    },
    /// On the third ACK (length 24).
    Ack {
        /// The sender's full 160-bit HMAC (RFC 8684 §3.2: SHA-256 truncated to 160 bits;
        /// RFC 6824: HMAC-SHA1).
        hmac: [u8; 20],
    },
}

impl MpJoin {
    /// Parses an MP_JOIN option (whole option bytes, kind first). `Malformed` for a length
    /// other than 12, 16 or 24.
    pub fn parse(option: &[u8]) -> Result<MpJoin> {
        let opt = codec::expect(option, MptcpSubtype::MpJoin)?;
        let backup = codec::low_nibble(opt)? & BACKUP != 0;
        match opt.len() {
            len::SYN => Ok(MpJoin::Syn {
                backup,
                addr_id: codec::read_u8(opt, field::ADDR_ID)?,
                token: codec::read_u32(opt, field::SYN_TOKEN)?,
                nonce: codec::read_u32(opt, field::SYN_NONCE)?,
            }),
            len::SYN_ACK => Ok(MpJoin::SynAck {
                backup,
                addr_id: codec::read_u8(opt, field::ADDR_ID)?,
                hmac: codec::read_array(opt, field::SYNACK_HMAC)?,
                nonce: codec::read_u32(opt, field::SYNACK_NONCE)?,
            }),
            len::ACK => Ok(MpJoin::Ack { hmac: codec::read_array(opt, field::ACK_HMAC)? }),
            _ => Err(Error::Malformed),
        }
    }

    /// The option length: 12, 16 or 24.
    pub const fn buffer_len(&self) -> usize {
        match self {
            MpJoin::Syn { .. } => len::SYN,
            MpJoin::SynAck { .. } => len::SYN_ACK,
            MpJoin::Ack { .. } => len::ACK,
        }
    }

    /// Writes the option (kind and length included) to `buf[..self.buffer_len()]`.
    ///
    /// # Panics
    /// If `buf` is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit(&self, buf: &mut [u8]) {
        let len = self.buffer_len();
        match *self {
            MpJoin::Syn { backup, addr_id, token, nonce } => {
                let buf = codec::write_header(buf, len, MptcpSubtype::MpJoin, backup_bit(backup));
                buf[field::ADDR_ID] = addr_id;
                codec::write_bytes(buf, field::SYN_TOKEN, &token.to_be_bytes());
                codec::write_bytes(buf, field::SYN_NONCE, &nonce.to_be_bytes());
            }
            MpJoin::SynAck { backup, addr_id, hmac, nonce } => {
                let buf = codec::write_header(buf, len, MptcpSubtype::MpJoin, backup_bit(backup));
                buf[field::ADDR_ID] = addr_id;
                codec::write_bytes(buf, field::SYNACK_HMAC, &hmac);
                codec::write_bytes(buf, field::SYNACK_NONCE, &nonce.to_be_bytes());
            }
            MpJoin::Ack { hmac } => {
                let buf = codec::write_header(buf, len, MptcpSubtype::MpJoin, 0);
                buf[codec::field::BODY] = 0;
                codec::write_bytes(buf, field::ACK_HMAC, &hmac);
            }
        }
    }
}

/// The low nibble carrying the B flag.
const fn backup_bit(backup: bool) -> u8 {
    if backup { BACKUP } else { 0 }
}
