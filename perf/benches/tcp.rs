//! The TCP engine's per-segment cost on a 1448-byte MSS (1460 less 12 bytes of timestamps).
//!
//! - `receive_in_order`: one in-order data segment handed to an established connection, the
//!   data consumed by the application, and the ACK it owes emitted (one ACK per two segments,
//!   RFC 9293 §3.8.6.3), checksum included. The segment's header is patched in place for each
//!   iteration (sequence number), as a NIC ring would deliver fresh bytes.
//! - `send`: the application queues 1448 bytes and the connection emits the data segment
//!   (header, timestamps, copy of the data, checksum); every second segment an ACK for both
//!   is handed back, so the send buffer and the windows stay in steady state.
//!
//! The checksum of received segments is not verified here: the caller does that (or the NIC).
//! Run: `cargo bench -p netreaktor-bench --bench tcp`.

use std::hint::black_box;
use std::net::SocketAddr;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use netreaktor_pipeline::tcp::{Config, Connection};
use netreaktor_pipeline::time::{Duration, Instant};
use netreaktor_pipeline::wire::tcp::{TcpPacket, TcpRepr, TcpSeqNumber};

const MSS_DATA: usize = 1448;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("benchmark address")
}

fn parse(bytes: &[u8]) -> TcpRepr<'_> {
    let packet = TcpPacket::new_checked(bytes).expect("engine output parses");
    TcpRepr::parse(&packet).expect("engine output parses")
}

/// Delivers everything `from` wants to send to `to`; returns the last segment's bytes.
fn shuttle(now: Instant, from: &mut Connection, to: &mut Connection) -> Option<Vec<u8>> {
    let mut buf = [0u8; 2048];
    let mut last = None;
    while let Some(t) = from.poll_transmit(now, &mut buf, &mut ()) {
        let bytes = buf[..t.len].to_vec();
        to.handle_segment(now, &parse(&bytes));
        last = Some(bytes);
    }
    last
}

/// A client and server connection, established, with large buffers.
fn established_pair(now: Instant) -> (Connection, Connection) {
    let cfg = Config { send_buffer: 1 << 22, recv_buffer: 1 << 22, ..Config::default() };
    let (c, s) = (addr("10.0.0.1:40000"), addr("10.0.0.2:80"));
    let mut client = Connection::connect(cfg, c, s, TcpSeqNumber(1_000), now);
    let mut buf = [0u8; 2048];
    let syn = client.poll_transmit(now, &mut buf, &mut ()).expect("SYN");
    let mut server =
        Connection::accept(cfg, s, c, TcpSeqNumber(9_000), &parse(&buf[..syn.len]), now);
    shuttle(now, &mut server, &mut client);
    shuttle(now, &mut client, &mut server);
    (client, server)
}

fn receive_in_order(c: &mut Criterion) {
    let mut now = Instant::from_secs(1);
    let (mut client, mut server) = established_pair(now);
    client.send(&[0x5a; MSS_DATA]);
    let mut template = [0u8; 2048];
    let t = client.poll_transmit(now, &mut template, &mut ()).expect("data segment");
    let mut segment = template[..t.len].to_vec();
    let mut seq = t.seq;
    let mut out = [0u8; 2048];
    let mut sink = vec![0u8; MSS_DATA];
    let mut group = c.benchmark_group("tcp");
    group.throughput(Throughput::Elements(1));
    group.bench_function("receive_in_order", |b| {
        b.iter(|| {
            TcpPacket::new_unchecked(&mut segment[..]).set_seq_number(seq);
            seq += MSS_DATA;
            now += Duration::from_micros(1);
            server.handle_segment(now, &parse(&segment));
            server.recv(&mut sink);
            while let Some(t) = server.poll_transmit(now, &mut out, &mut ()) {
                black_box(&out[..t.len]);
            }
        });
    });
    group.finish();
    let stats = server.stats();
    assert_eq!(stats.dropped_unacceptable, 0, "every benchmark segment was in order");
    assert!(stats.bytes_in >= MSS_DATA as u64, "the data was received");
}

fn send(c: &mut Criterion) {
    let mut now = Instant::from_secs(1);
    let (mut client, mut server) = established_pair(now);
    // An ACK template from the server, patched with the acknowledgment number each time.
    client.send(&[0x5a; MSS_DATA]);
    shuttle(now, &mut client, &mut server);
    now += Duration::from_millis(50);
    server.handle_timeout(now);
    let mut ack = shuttle(now, &mut server, &mut client).expect("an ACK");
    let data = [0xa5u8; MSS_DATA];
    let mut out = [0u8; 2048];
    let mut sent = 0u64;
    let mut group = c.benchmark_group("tcp");
    group.throughput(Throughput::Elements(1));
    group.bench_function("send", |b| {
        b.iter(|| {
            now += Duration::from_micros(1);
            client.send(&data);
            if let Some(t) = client.poll_transmit(now, &mut out, &mut ()) {
                black_box(&out[..t.len]);
                sent += 1;
                if sent.is_multiple_of(2) {
                    TcpPacket::new_unchecked(&mut ack[..]).set_ack_number(t.seq + t.payload_len);
                    client.handle_segment(now, &parse(&ack));
                }
            }
        });
    });
    group.finish();
    assert_eq!(client.stats().retransmits, 0, "the benchmark never retransmits");
    assert!(client.stats().bytes_acked >= sent.saturating_sub(2) * MSS_DATA as u64);
}

criterion_group!(benches, receive_in_order, send);
criterion_main!(benches);
