//! DSS, Data Sequence Signal (subtype 0x2): RFC 8684 §3.3, same format in RFC 6824 §3.3.
//!
//! ```text
//! +---------------+---------------+-------+----------------------+
//! |     Kind      |    Length     |Subtype| (reserved) |F|m|M|a|A|
//! +---------------+---------------+-------+----------------------+
//! |           Data ACK (4 or 8 octets, depending on flags)       |
//! +--------------------------------------------------------------+
//! |   Data sequence number (4 or 8 octets, depending on flags)   |
//! +--------------------------------------------------------------+
//! |              Subflow Sequence Number (4 octets)              |
//! +-------------------------------+------------------------------+
//! |  Data-Level Length (2 octets) |      Checksum (2 octets)     |
//! +-------------------------------+------------------------------+
//! ```
//!
//! A: DATA_ACK present; a: it is 8 octets. M: mapping (DSN, subflow sequence number,
//! data-level length, checksum) present; m: DSN is 8 octets. F: DATA_FIN. The checksum is
//! present exactly when the length has room for it (RFC 8684 §3.3: it is used when
//! negotiated in MP_CAPABLE). Any other length is `Malformed`. `a` without `A`, `m` without
//! `M` and the reserved bits carry nothing and are ignored on receipt.

use super::{DataSeq, MptcpSubtype, codec};
use crate::wire::{Error, Result};

/// Field offsets inside a DSS option.
mod field {
    pub(super) const FLAGS: usize = 3;
    /// The DATA_ACK, or the mapping when there is no DATA_ACK.
    pub(super) const BODY: usize = 4;
}

/// The flag bits of the fourth byte (RFC 8684 §3.3).
mod flag {
    pub(super) const DATA_ACK: u8 = 0x01;
    pub(super) const DATA_ACK_WIDE: u8 = 0x02;
    pub(super) const MAPPING: u8 = 0x04;
    pub(super) const DSN_WIDE: u8 = 0x08;
    pub(super) const DATA_FIN: u8 = 0x10;
}

/// Octets of a mapping after the DSN: subflow sequence number and data-level length.
const MAPPING_TAIL: usize = 6;
/// Octets of the optional DSS checksum.
const CHECKSUM_LEN: usize = 2;

/// A data sequence mapping (RFC 8684 §3.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DssMapping {
    /// The data sequence number of the first mapped octet.
    pub dsn: DataSeq,
    /// The subflow sequence number of the first mapped octet, relative to the subflow's
    /// initial sequence number (RFC 8684 §3.3.1).
    pub subflow_seq: u32,
    /// Mapped octets; 0 is the infinite mapping of a fallback (RFC 8684 §3.7).
    pub data_len: u16,
    /// The DSS checksum (RFC 8684 §3.3.1) as a big-endian `u16`, when negotiated.
    pub checksum: Option<u16>,
}

impl DssMapping {
    /// A mapping without checksum; `wide` sends the DSN as 8 octets.
    pub const fn new(dsn: u64, wide: bool, subflow_seq: u32, data_len: u16) -> DssMapping {
        DssMapping { dsn: DataSeq::new(dsn, wide), subflow_seq, data_len, checksum: None }
    }

    /// The mapping of a DATA_FIN sent without data: RFC 8684 §3.3.3 requires subflow
    /// sequence number 0, data-level length 1 and the DSN of the DATA_FIN itself.
    pub const fn data_fin_only(dsn: u64, wide: bool) -> DssMapping {
        DssMapping::new(dsn, wide, 0, 1)
    }

    /// This mapping with the DSS checksum set.
    pub const fn with_checksum(self, checksum: u16) -> DssMapping {
        DssMapping { checksum: Some(checksum), ..self }
    }

    /// Whether this is the infinite mapping (data-level length 0, RFC 8684 §3.7).
    pub const fn is_infinite(&self) -> bool {
        self.data_len == 0
    }

    /// Octets on the wire: DSN, subflow sequence number, data-level length, checksum.
    const fn wire_len(&self) -> usize {
        let csum = if self.checksum.is_some() { CHECKSUM_LEN } else { 0 };
        self.dsn.wire_len() + MAPPING_TAIL + csum
    }
}

/// A DSS option: DATA_ACK, mapping and DATA_FIN, each optional.
///
/// `data_fin` is kept as on the wire; RFC 8684 §3.3.3 has a DATA_FIN travel with a mapping
/// (whose data-level length counts it), which the engine checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Dss {
    /// The DATA_ACK (flag A), 4 or 8 octets.
    pub data_ack: Option<DataSeq>,
    /// The data sequence mapping (flag M).
    pub mapping: Option<DssMapping>,
    /// F: this mapping's last octet is the DATA_FIN.
    pub data_fin: bool,
}

impl Dss {
    /// A DSS carrying only a DATA_ACK; `wide` sends it as 8 octets.
    pub const fn data_ack_only(ack: u64, wide: bool) -> Dss {
        Dss { data_ack: Some(DataSeq::new(ack, wide)), mapping: None, data_fin: false }
    }

    /// A DSS carrying only a mapping.
    pub const fn mapping_only(mapping: DssMapping) -> Dss {
        Dss { data_ack: None, mapping: Some(mapping), data_fin: false }
    }

    /// This DSS with a DATA_ACK added; `wide` sends it as 8 octets.
    pub const fn with_data_ack(self, ack: u64, wide: bool) -> Dss {
        Dss { data_ack: Some(DataSeq::new(ack, wide)), ..self }
    }

    /// This DSS with the DATA_FIN flag set.
    pub const fn with_data_fin(self) -> Dss {
        Dss { data_fin: true, ..self }
    }

    /// Parses a DSS option (whole option bytes, kind first). `Malformed` when the length
    /// does not match the flags (with or without the 2-octet checksum when M is set).
    pub fn parse(option: &[u8]) -> Result<Dss> {
        let opt = codec::expect(option, MptcpSubtype::Dss)?;
        let flags = codec::read_u8(opt, field::FLAGS)?;
        check_len(opt.len(), flags)?;
        let mut at = field::BODY;
        let data_ack = if flags & flag::DATA_ACK != 0 {
            Some(read_seq(opt, &mut at, flags & flag::DATA_ACK_WIDE != 0)?)
        } else {
            None
        };
        let mapping = if flags & flag::MAPPING != 0 {
            Some(read_mapping(opt, at, flags & flag::DSN_WIDE != 0)?)
        } else {
            None
        };
        Ok(Dss { data_ack, mapping, data_fin: flags & flag::DATA_FIN != 0 })
    }

    /// The option length: 4 plus DATA_ACK and mapping octets.
    pub const fn buffer_len(&self) -> usize {
        let ack = match self.data_ack {
            Some(ack) => ack.wire_len(),
            None => 0,
        };
        let map = match &self.mapping {
            Some(m) => m.wire_len(),
            None => 0,
        };
        field::BODY + ack + map
    }

    /// Writes the option (kind and length included) to `buf[..self.buffer_len()]`.
    ///
    /// # Panics
    /// If `buf` is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit(&self, buf: &mut [u8]) {
        let buf = codec::write_header(buf, self.buffer_len(), MptcpSubtype::Dss, 0);
        buf[field::FLAGS] = self.flags();
        let mut at = field::BODY;
        if let Some(ack) = self.data_ack {
            at = write_seq(buf, at, ack);
        }
        if let Some(m) = self.mapping {
            at = write_seq(buf, at, m.dsn);
            codec::write_bytes(buf, at, &m.subflow_seq.to_be_bytes());
            codec::write_bytes(buf, at + 4, &m.data_len.to_be_bytes());
            if let Some(csum) = m.checksum {
                codec::write_bytes(buf, at + MAPPING_TAIL, &csum.to_be_bytes());
            }
        }
    }

    /// The flag byte this DSS is sent with (reserved bits zero).
    const fn flags(&self) -> u8 {
        let mut flags = if self.data_fin { flag::DATA_FIN } else { 0 };
        if let Some(ack) = self.data_ack {
            flags |= flag::DATA_ACK | if ack.is_wide() { flag::DATA_ACK_WIDE } else { 0 };
        }
        if let Some(m) = &self.mapping {
            flags |= flag::MAPPING | if m.dsn.is_wide() { flag::DSN_WIDE } else { 0 };
        }
        flags
    }
}

/// `Malformed` unless `len` is what the flags call for (RFC 8684 §3.3).
fn check_len(len: usize, flags: u8) -> Result<()> {
    let wide = |bit: u8| if flags & bit != 0 { 8 } else { 4 };
    let mut expected = field::BODY;
    if flags & flag::DATA_ACK != 0 {
        expected += wide(flag::DATA_ACK_WIDE);
    }
    if flags & flag::MAPPING != 0 {
        expected += wide(flag::DSN_WIDE) + MAPPING_TAIL;
        if len == expected + CHECKSUM_LEN {
            return Ok(());
        }
    }
    if len == expected { Ok(()) } else { Err(Error::Malformed) }
}

/// Reads a 4- or 8-octet sequence number at `*at` and advances `*at` past it.
fn read_seq(opt: &[u8], at: &mut usize, wide: bool) -> Result<DataSeq> {
    let seq = if wide {
        DataSeq::Full64(codec::read_u64(opt, *at)?)
    } else {
        DataSeq::Low32(codec::read_u32(opt, *at)?)
    };
    *at += seq.wire_len();
    Ok(seq)
}

/// Reads the mapping starting at `at`; the checksum is there when the option has room left.
fn read_mapping(opt: &[u8], mut at: usize, wide: bool) -> Result<DssMapping> {
    let dsn = read_seq(opt, &mut at, wide)?;
    let subflow_seq = codec::read_u32(opt, at)?;
    let data_len = codec::read_u16(opt, at + 4)?;
    let checksum = if opt.len() > at + MAPPING_TAIL {
        Some(codec::read_u16(opt, at + MAPPING_TAIL)?)
    } else {
        None
    };
    Ok(DssMapping { dsn, subflow_seq, data_len, checksum })
}

/// Writes a sequence number at `at` and returns the offset after it.
fn write_seq(buf: &mut [u8], at: usize, seq: DataSeq) -> usize {
    match seq {
        DataSeq::Low32(v) => codec::write_bytes(buf, at, &v.to_be_bytes()),
        DataSeq::Full64(v) => codec::write_bytes(buf, at, &v.to_be_bytes()),
    }
    at + seq.wire_len()
}
