//! Packet capture: what a worker receives and sends, written to a pcapng file that Wireshark,
//! tshark and `netreaktor inspect` read. One file per worker; each frame is recorded whole
//! (inspect needs whole frames) with its direction (the pcapng `epb_flags` inbound/outbound
//! bits) on the interface it crossed. The file stops growing at its size limit: later frames
//! are counted, not written. It is a diagnostic switch: each frame costs a copy and a clock
//! read.

use std::borrow::Cow;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use pcap_file::DataLink;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};

/// pcapng `epb_flags` direction bits (RFC draft-ietf-opsawg-pcapng, 4.3.1).
const INBOUND: u32 = 0b01;
const OUTBOUND: u32 = 0b10;

/// A worker's capture file.
pub(crate) struct Capture {
    writer: PcapNgWriter<BufWriter<File>>,
    written: u64,
    max_bytes: u64,
    /// Frames not written because the file reached its limit.
    pub(crate) skipped: u64,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture").field("written", &self.written).finish_non_exhaustive()
    }
}

/// Where worker `id`'s file goes: `{worker}` in `path` replaced by the id, else `-ID` added
/// before the extension.
pub(crate) fn worker_path(path: &Path, id: usize) -> PathBuf {
    let text = path.to_string_lossy();
    if text.contains("{worker}") {
        return PathBuf::from(text.replace("{worker}", &id.to_string()));
    }
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{id}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{id}"),
    };
    path.with_file_name(name)
}

impl Capture {
    /// Creates `path` (truncating it) with one interface description per name, in order:
    /// frames are recorded against their index.
    pub(crate) fn create(
        path: &Path,
        max_bytes: u64,
        interfaces: &[&str],
    ) -> std::io::Result<Capture> {
        let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
        let mut writer = PcapNgWriter::new(file).map_err(std::io::Error::other)?;
        for name in interfaces {
            let idb = InterfaceDescriptionBlock {
                linktype: DataLink::ETHERNET,
                snaplen: 0,
                options: vec![InterfaceDescriptionOption::IfName(Cow::Borrowed(name))],
            };
            writer.write_pcapng_block(idb).map_err(std::io::Error::other)?;
        }
        Ok(Capture { writer, written: 0, max_bytes, skipped: 0 })
    }

    /// Records one frame that crossed interface `iface`, received (`inbound`) or sent.
    pub(crate) fn record(&mut self, iface: u32, inbound: bool, frame: &[u8]) {
        let size = frame.len() as u64 + 40;
        if self.written + size > self.max_bytes {
            self.skipped += 1;
            return;
        }
        let timestamp =
            SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        let flags = if inbound { INBOUND } else { OUTBOUND };
        let epb = EnhancedPacketBlock {
            interface_id: iface,
            timestamp,
            original_len: frame.len() as u32,
            data: Cow::Borrowed(frame),
            options: vec![EnhancedPacketOption::Flags(flags)],
        };
        match self.writer.write_pcapng_block(epb) {
            Ok(n) => self.written += n as u64,
            Err(_) => self.skipped += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_file::pcapng::PcapNgReader;

    #[test]
    fn frames_are_written_with_direction_and_the_file_is_bounded() {
        let dir = std::env::temp_dir().join(format!("nr-capture-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = worker_path(&dir.join("cap.pcapng"), 1);
        assert_eq!(path.file_name().unwrap(), "cap-1.pcapng");
        let mut capture = Capture::create(&path, 400, &["srv0", "org0"]).unwrap();
        capture.record(0, true, &[0xaa; 60]);
        capture.record(1, false, &[0xbb; 100]);
        capture.record(0, true, &[0xcc; 1000]);
        assert_eq!(capture.skipped, 1);
        drop(capture);
        let mut reader = PcapNgReader::new(File::open(&path).unwrap()).unwrap();
        let mut packets = Vec::new();
        while let Some(block) = reader.next_block() {
            if let Some(p) = block.unwrap().into_enhanced_packet() {
                let flags = p.options.iter().find_map(|o| match o {
                    EnhancedPacketOption::Flags(f) => Some(*f),
                    _ => None,
                });
                packets.push((p.interface_id, p.data.len(), flags));
            }
        }
        assert_eq!(packets.len(), 2);
        assert_eq!((packets[0].0, packets[0].1), (0, 60));
        assert_eq!(packets[0].2, Some(INBOUND));
        assert_eq!(packets[1].2, Some(OUTBOUND));
        assert_eq!((packets[1].0, packets[1].1), (1, 100));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(worker_path(Path::new("/x/{worker}.pcapng"), 3), PathBuf::from("/x/3.pcapng"));
    }
}
