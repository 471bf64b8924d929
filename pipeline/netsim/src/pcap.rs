//! A classic pcap writer into memory, so simulated traffic can be opened in Wireshark.
//!
//! Format: the libpcap file format (draft-ietf-opsawg-pcap): a 24-byte file header with
//! magic `0xA1B2C3D4` (microsecond timestamps), version 2.4 and link type
//! `LINKTYPE_ETHERNET` (1), then per frame a 16-byte record header (seconds, microseconds,
//! captured length, original length) and the frame bytes. All fields are written
//! little-endian; readers detect the byte order from the magic. Writing into a `Vec<u8>` is
//! not I/O: a test may save [`PcapWriter::as_bytes`] to a file itself.

use netreaktor_pipeline::time::Instant;

/// The pcap magic for microsecond timestamps.
const MAGIC_MICROS: u32 = 0xA1B2_C3D4;
/// `LINKTYPE_ETHERNET`: frames start with the destination MAC address.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// The largest frame part kept per record; longer frames are truncated.
pub const SNAPLEN: u32 = 65_535;

/// A pcap file being written into memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcapWriter {
    buf: Vec<u8>,
    frames: u64,
}

impl Default for PcapWriter {
    fn default() -> Self {
        PcapWriter::new()
    }
}

impl PcapWriter {
    /// A file holding only its header.
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(24);
        buf.extend_from_slice(&MAGIC_MICROS.to_le_bytes());
        buf.extend_from_slice(&2u16.to_le_bytes()); // version major
        buf.extend_from_slice(&4u16.to_le_bytes()); // version minor
        buf.extend_from_slice(&0i32.to_le_bytes()); // thiszone: UTC
        buf.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        buf.extend_from_slice(&SNAPLEN.to_le_bytes());
        buf.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        PcapWriter { buf, frames: 0 }
    }

    /// Appends `frame`, captured at `time`. Times past year 2106 (u32 seconds) saturate.
    pub fn write(&mut self, time: Instant, frame: &[u8]) {
        let micros = time.total_micros();
        let secs = u32::try_from(micros / 1_000_000).unwrap_or(u32::MAX);
        let usecs = (micros % 1_000_000) as u32; // < 10^6, fits
        let orig_len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let incl_len = orig_len.min(SNAPLEN);
        self.buf.extend_from_slice(&secs.to_le_bytes());
        self.buf.extend_from_slice(&usecs.to_le_bytes());
        self.buf.extend_from_slice(&incl_len.to_le_bytes());
        self.buf.extend_from_slice(&orig_len.to_le_bytes());
        self.buf.extend_from_slice(&frame[..incl_len as usize]);
        self.frames += 1;
    }

    /// The file so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The file, consuming the writer.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// How many frames were written.
    pub const fn frames(&self) -> u64 {
        self.frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_file::DataLink;
    use pcap_file::pcap::PcapReader;

    #[test]
    fn header_is_classic_pcap_ethernet() {
        let w = PcapWriter::new();
        assert_eq!(
            w.as_bytes(),
            &[
                0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 1, 0,
                0, 0
            ]
        );
    }

    #[test]
    fn pcap_file_reads_back_what_was_written() {
        let mut w = PcapWriter::new();
        w.write(Instant::from_micros(1_500_002), &[1, 2, 3]);
        w.write(Instant::from_secs(7), &[9; 60]);
        let mut reader = PcapReader::new(w.as_bytes()).expect("valid header");
        assert_eq!(reader.header().datalink, DataLink::ETHERNET);
        let first = reader.next_packet().expect("one record").expect("valid record");
        assert_eq!(first.timestamp, core::time::Duration::from_micros(1_500_002));
        assert_eq!(&*first.data, &[1, 2, 3]);
        let second = reader.next_packet().expect("two records").expect("valid record");
        assert_eq!(second.timestamp, core::time::Duration::from_secs(7));
        assert_eq!(second.orig_len, 60);
        assert!(reader.next_packet().is_none());
        assert_eq!(w.frames(), 2);
    }

    #[test]
    fn long_frames_are_truncated_to_snaplen() {
        let mut w = PcapWriter::new();
        w.write(Instant::ZERO, &vec![0u8; 70_000]);
        assert_eq!(w.as_bytes().len(), 24 + 16 + SNAPLEN as usize);
    }
}
