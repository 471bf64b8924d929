//! Receive-path parser throughput on a full-size MPTCP data frame.
//!
//! The frame: Ethernet + IPv4 + TCP with NOP NOP Timestamps and a DSS option (8-byte DATA_ACK,
//! 8-byte DSN mapping; 40 option bytes with padding) and 1420 bytes of data: a full 1514-byte
//! frame at MTU 1500, as a subflow carries bulk data. Three measurements, each a frame per iteration (criterion reports frames per second):
//! - `headers`: Ethernet, IPv4 (header checksum verified) and TCP header, the TCP checksum
//!   trusted (NIC receive offload);
//! - `headers+options`: the same, plus decoding the timestamps and the DSS suboption, which is
//!   what the engine does with every segment;
//! - `headers+options+tcp_checksum`: the same with the TCP checksum verified in software.
//!
//! Run: `cargo bench -p netreaktor-bench --bench wire`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use netreaktor_pipeline::wire::ethernet::{EtherType, EthernetAddress, EthernetRepr};
use netreaktor_pipeline::wire::frame::{ChecksumPolicy, Frame, IpRepr, TcpFrame, parse_frame};
use netreaktor_pipeline::wire::mptcp::{DataSeq, Dss, DssMapping, MptcpOption, MptcpVersion};
use netreaktor_pipeline::wire::tcp::{TcpFlags, TcpRepr, TcpSeqNumber};
use netreaktor_pipeline::wire::tcp_option::{TcpOption, TcpOptionWriter, TcpOptions};

/// Data bytes per segment: MTU 1500 less IPv4, TCP and 40 bytes of options.
const PAYLOAD: usize = 1500 - 20 - 20 - 40;

fn data_frame() -> Vec<u8> {
    let mut opts = [0u8; 40];
    let mut writer = TcpOptionWriter::new(&mut opts);
    writer.push(&TcpOption::NoOperation).expect("room for options");
    writer.push(&TcpOption::NoOperation).expect("room for options");
    writer.push(&TcpOption::Timestamps { tsval: 7, tsecr: 9 }).expect("room for options");
    let dss = MptcpOption::Dss(Dss {
        data_ack: Some(DataSeq::Full64(0x0102_0304_0506_0708)),
        mapping: Some(DssMapping::new(0x1112_1314_1516_1718, true, 1, PAYLOAD as u16)),
        data_fin: false,
    });
    writer.push_with(dss.buffer_len(), |area| dss.emit(area)).expect("room for DSS");
    let opts_len = writer.finish();
    let payload = vec![0xa5; PAYLOAD];
    let frame = TcpFrame {
        ethernet: EthernetRepr {
            src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
            vlan: None,
            ethertype: EtherType::Ipv4,
        },
        ip: IpRepr::tcp([198, 51, 100, 7].into(), [203, 0, 113, 1].into()).expect("one IP family"),
        tcp: TcpRepr {
            src_port: 50_000,
            dst_port: 443,
            seq_number: TcpSeqNumber(1),
            ack_number: TcpSeqNumber(1),
            flags: TcpFlags::ACK,
            window_len: 65535,
            urgent_pointer: 0,
            options: TcpOptions::new(&opts[..opts_len]),
            payload: &payload,
        },
    };
    let mut buf = vec![0; frame.buffer_len()];
    frame.emit(&mut buf);
    buf
}

/// Parses the frame and decodes what the engine reads from every data segment.
fn receive(frame: &[u8], checksums: ChecksumPolicy) -> Option<(u32, u64)> {
    let Ok(Frame::Tcp(tcp)) = parse_frame(frame, checksums) else { return None };
    let (tsval, _) = tcp.tcp.options.timestamps()?;
    let raw = tcp.tcp.options.mptcp().next()?;
    match MptcpOption::parse(raw, MptcpVersion::V1) {
        Ok(MptcpOption::Dss(Dss { mapping: Some(mapping), .. })) => {
            Some((tsval, mapping.dsn.low32().into()))
        }
        _ => None,
    }
}

fn bench_receive(c: &mut Criterion) {
    let frame = data_frame();
    assert_eq!(frame.len(), 1514, "the frame must be a full 1500-byte-MTU frame");
    assert!(receive(&frame, ChecksumPolicy::Verify).is_some(), "the frame must parse");
    let mut group = c.benchmark_group("wire/receive_1500B_mptcp_data_frame");
    group.throughput(Throughput::Elements(1));
    group.bench_function("headers", |b| {
        b.iter(|| parse_frame(black_box(&frame), ChecksumPolicy::Trust).is_ok())
    });
    group.bench_function("headers+options", |b| {
        b.iter(|| receive(black_box(&frame), ChecksumPolicy::Trust))
    });
    group.bench_function("headers+options+tcp_checksum", |b| {
        b.iter(|| receive(black_box(&frame), ChecksumPolicy::Verify))
    });
    group.finish();
}

criterion_group!(benches, bench_receive);
criterion_main!(benches);
