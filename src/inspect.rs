//! `netreaktor inspect`: a capture replayed through the passive MPTCP observer of
//! `netreaktor-observer`.
//!
//! Reads pcap or pcapng (told apart by their magic numbers), hands every Ethernet frame with
//! its capture timestamp to [`Observer`], and prints each connection's summary and the
//! observer's drop counters. Exits 1 when any check failed or any MPTCP option was malformed,
//! so scripts can use it as a verdict.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use netreaktor_observer::{Observer, ObserverConfig, Outcome};
use netreaktor_pipeline::time::Instant;
use netreaktor_pipeline::wire::frame::ChecksumPolicy;
use pcap_file::DataLink;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};

/// The magic number that starts a pcapng file (its Section Header Block type).
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Decodes the capture at `path` and prints the report. `verify_checksums`: verify TCP
/// checksums (off by default: a capture taken on a sending host holds checksums its NIC had
/// not filled in yet).
pub(crate) fn run(path: &Path, verify_checksums: bool) -> Result<ExitCode> {
    let checksums = if verify_checksums { ChecksumPolicy::Verify } else { ChecksumPolicy::Trust };
    let mut observer = Observer::with_config(ObserverConfig { checksums, ..Default::default() });
    let frames = feed(path, &mut observer)?;
    print_report(&observer, frames);
    let failed = observer
        .connections()
        .iter()
        .flat_map(|conn| conn.checks())
        .any(|check| check.outcome == Outcome::Fail);
    let malformed = observer.stats().malformed_total();
    Ok(if failed || malformed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Feeds every frame of the capture to the observer; returns how many there were.
fn feed(path: &Path, observer: &mut Observer) -> Result<u64> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = BufReader::new(file);
    // Peek at the magic number without consuming it: both readers parse it themselves.
    let starts_pcapng = reader.fill_buf()?.starts_with(&PCAPNG_MAGIC);
    if starts_pcapng { feed_pcapng(reader, observer) } else { feed_pcap(reader, observer) }
        .with_context(|| format!("{}: cannot read the capture", path.display()))
}

/// Capture timestamps relative to the first frame, so reports read "at 1.250s".
#[derive(Debug, Default)]
struct Clock {
    first: Option<std::time::Duration>,
}

impl Clock {
    fn instant(&mut self, timestamp: std::time::Duration) -> Instant {
        let first = *self.first.get_or_insert(timestamp);
        let since = timestamp.saturating_sub(first);
        Instant::from_micros(u64::try_from(since.as_micros()).unwrap_or(u64::MAX))
    }
}

fn feed_pcap(reader: impl Read, observer: &mut Observer) -> Result<u64> {
    let mut clock = Clock::default();
    let mut pcap = PcapReader::new(reader)?;
    if pcap.header().datalink != DataLink::ETHERNET {
        bail!("link type {:?}: only Ethernet captures are supported", pcap.header().datalink);
    }
    let mut frames = 0;
    while let Some(packet) = pcap.next_packet() {
        let packet = packet?;
        observer.handle_frame(clock.instant(packet.timestamp), &packet.data);
        frames += 1;
    }
    Ok(frames)
}

fn feed_pcapng(reader: impl Read, observer: &mut Observer) -> Result<u64> {
    let mut clock = Clock::default();
    let mut pcapng = PcapNgReader::new(reader)?;
    let mut frames = 0;
    // Link types by interface, in the order the interface blocks came.
    let mut linktypes = Vec::new();
    while let Some(block) = pcapng.next_block() {
        match block? {
            Block::InterfaceDescription(interface) => linktypes.push(interface.linktype),
            Block::EnhancedPacket(packet) => {
                let linktype = linktypes.get(packet.interface_id as usize);
                if linktype == Some(&DataLink::ETHERNET) {
                    observer.handle_frame(clock.instant(packet.timestamp), &packet.data);
                    frames += 1;
                }
            }
            _ => {}
        }
    }
    Ok(frames)
}

fn print_report(observer: &Observer, frames: u64) {
    let connections = observer.connections();
    println!("{frames} frames, {} MPTCP connection(s)\n", connections.len());
    for conn in connections {
        println!("{conn}");
    }
    let stats = observer.stats();
    println!(
        "frames not parsed: {}, malformed MPTCP options: {}",
        stats.parse_errors(),
        stats.malformed_total()
    );
}
