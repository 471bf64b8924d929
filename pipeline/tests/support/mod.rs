//! Shared by the integration tests of the pipeline and of the observer: the kernel captures in
//! `pipeline/tests/data` and tshark's decoding of them (see `tests/data/README.md`).

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use std::process::Command;

use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};

/// One captured frame: its number in the file (from 1, as tshark counts), its capture time in
/// microseconds and its bytes.
pub struct CapturedFrame {
    pub number: usize,
    pub micros: u64,
    pub data: Vec<u8>,
}

/// The directory of the captures, `pipeline/tests/data`. The observer's tests
/// (`pipeline/observer/tests`) include this module by `#[path]` too, so the manifest of the
/// crate compiling it is either the pipeline's or that of a crate one level inside it.
pub fn data_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pipeline = if manifest.join("tests/data").is_dir() {
        manifest
    } else {
        manifest.parent().expect("a crate inside pipeline/ has a parent directory")
    };
    pipeline.join("tests/data")
}

/// Every capture's name (file stem), sorted.
pub fn capture_names() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(data_dir())
        .expect("tests/data exists")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "pcap").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no captures in {}", data_dir().display());
    names
}

/// The frames of capture `name`.
pub fn read_pcap(name: &str) -> Vec<CapturedFrame> {
    let path = data_dir().join(format!("{name}.pcap"));
    let file = fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = PcapReader::new(file).expect("a classic pcap file");
    assert_eq!(reader.header().datalink, DataLink::ETHERNET, "{name}: Ethernet frames");
    let mut frames = Vec::new();
    while let Some(packet) = reader.next_packet() {
        let packet = packet.expect("a readable packet record");
        assert_eq!(packet.orig_len as usize, packet.data.len(), "{name}: captured whole");
        frames.push(CapturedFrame {
            number: frames.len() + 1,
            micros: u64::try_from(packet.timestamp.as_micros()).expect("a sane timestamp"),
            data: packet.data.into_owned(),
        });
    }
    frames
}

/// A tshark `-T fields` export with a header line: one map of column to value per row.
pub fn read_tsv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_tsv(&text)
}

/// The rows of a tshark `-T fields` export with a header line, as [`read_tsv`] reads them.
fn parse_tsv(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header line").split('\t').collect();
    lines
        .filter(|line| !line.is_empty())
        .map(|line| {
            header
                .iter()
                .zip(line.split('\t'))
                .filter(|(_, value)| !value.is_empty())
                .map(|(key, value)| ((*key).to_owned(), value.to_owned()))
                .collect()
        })
        .collect()
}

/// Writes Ethernet `frames` (1 ms apart) to a pcap in a temporary directory named after
/// `tag`, and returns tshark's `fields` of each frame, decoded with the preferences `prefs`
/// (`name:value`): one map of field to value per frame (several occurrences joined by `,`).
pub fn tshark_fields(
    tag: &str,
    frames: &[Vec<u8>],
    prefs: &[&str],
    fields: &[&str],
) -> Vec<BTreeMap<String, String>> {
    let dir = std::env::temp_dir().join(format!("netreaktor-{tag}-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("temp dir");
    let pcap = dir.join("frames.pcap");
    let header = PcapHeader { datalink: DataLink::ETHERNET, ..Default::default() };
    let file = fs::File::create(&pcap).expect("pcap");
    let mut writer = PcapWriter::with_header(file, header).expect("pcap header");
    for (i, f) in frames.iter().enumerate() {
        let at = std::time::Duration::from_millis(i as u64);
        let len = u32::try_from(f.len()).expect("a frame under 4 GiB");
        writer.write_packet(&PcapPacket::new(at, len, f)).expect("write");
    }
    drop(writer);
    let mut command = Command::new("tshark");
    command.arg("-r").arg(&pcap);
    for pref in prefs {
        command.args(["-o", pref]);
    }
    command.args(["-T", "fields", "-E", "header=y", "-E", "separator=/t"]);
    command.args(["-E", "occurrence=a", "-E", "aggregator=,"]);
    for field in fields {
        command.args(["-e", field]);
    }
    let output = command.output().expect("tshark runs (tests/scripts/setup.sh installs it)");
    assert!(output.status.success(), "tshark: {}", String::from_utf8_lossy(&output.stderr));
    let _ = fs::remove_dir_all(&dir);
    parse_tsv(&String::from_utf8_lossy(&output.stdout))
}

/// One MPTCP option as tshark decoded it (`<name>.options.tsv`): the frame, the option's
/// bytes and its `field=value` pairs.
pub struct TsharkOption {
    pub frame: usize,
    pub hex: String,
    pub subtype_name: String,
    pub fields: BTreeMap<String, String>,
}

/// The MPTCP options of capture `name`, in frame and option order.
pub fn read_options(name: &str) -> Vec<TsharkOption> {
    read_tsv(&data_dir().join(format!("{name}.options.tsv")))
        .into_iter()
        .map(|row| TsharkOption {
            frame: row["frame.number"].parse().expect("a frame number"),
            hex: row["opt.hex"].clone(),
            subtype_name: row["subtype.name"].clone(),
            fields: row
                .get("fields")
                .map(|fields| {
                    fields
                        .split(';')
                        .filter_map(|pair| pair.split_once('='))
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// Lowercase hex of `bytes`, no separators.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
