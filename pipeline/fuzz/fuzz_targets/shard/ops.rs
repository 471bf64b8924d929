//! The operations of the shard target, decoded from the input (the format is in the
//! target's module docs) and played by the fake clients and origins.

use netreaktor_pipeline::mptcp::crypto::{HashAlgo, HmacKeys, KeyMaterial};
use netreaktor_pipeline::time::Duration;
use netreaktor_pipeline::wire::mptcp::{
    DataSeq, Dss, DssMapping, MpCapable, MpCapableFlags, MpCapableKeys, MpFastclose, MpJoin,
    MptcpOption, MptcpVersion,
};
use netreaktor_pipeline::wire::tcp::TcpFlags;
use netreaktor_pipeline::wire::tcp_option::TcpOption;

use crate::peers::{CLIENTS, CONNS, Client, MpConn, Offer, client_addr};
use crate::wire::{Opts, Seg, dss_checksum, frame};
use crate::{Input, MPTCP, PLAIN, World, addr};

/// Decodes and plays one operation.
pub fn step(world: &mut World, input: &mut Input<'_>) {
    match input.u8() % 12 {
        0 => client_syn(world, input),
        1 => client_handshake_ack(world, input),
        2 => client_data(world, input),
        3 => client_ack(world, input),
        4 => client_rst(world, input),
        5 => origin_syn_ack(world, input),
        6 => origin_data(world, input),
        7 => origin_ack_or_rst(world, input),
        8 => {
            let queue = usize::from(input.u8());
            world.deliver(queue, input.bytes(255));
        }
        9 => fuzzed_segment(world, input),
        10 => time(world, input),
        _ => {
            let mode = input.u8();
            world.stop(usize::from(mode >> 1), mode & 1 != 0);
        }
    }
}

fn time(world: &mut World, input: &mut Input<'_>) {
    let mode = input.u8();
    let amount = u64::from(input.u16());
    let d = match mode % 4 {
        0 => match world.next_timeout() {
            Some(at) => at.saturating_duration_since(world.now),
            None => Duration::from_millis(amount),
        },
        1 => Duration::from_millis(amount),
        2 => Duration::from_micros(amount * 16),
        _ => Duration::from_secs(amount % 600),
    };
    world.advance(d);
}

/// A client key: any 64 bits, from the flow's slot and ISS.
fn client_key(slot: usize, iss: u32) -> u64 {
    (u64::from(iss) << 32 | slot as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Timestamps, if the flow agreed on them (RFC 7323 §3.2).
fn push_ts(opts: &mut Opts, tsval: u32, ts_recent: Option<u32>) {
    if let Some(tsecr) = ts_recent {
        opts.push(&TcpOption::Timestamps { tsval, tsecr });
    }
}

fn client_syn(world: &mut World, input: &mut Input<'_>) {
    let slot = usize::from(input.u8()) % CLIENTS;
    let kind = input.u8();
    let iss = input.u32();
    let service = addr(if kind & 0x08 != 0 { PLAIN } else { MPTCP });
    let mut opts = Opts::new();
    opts.push(&TcpOption::MaxSegmentSize(1460));
    if kind & 0x10 != 0 {
        opts.push(&TcpOption::Timestamps { tsval: world.tsval(), tsecr: 0 });
    }
    if kind & 0x20 != 0 {
        opts.push(&TcpOption::SackPermitted);
        opts.push(&TcpOption::WindowScale(7));
    }
    let key = client_key(slot, iss);
    let (mut offer, mut conn) = (Offer::Capable, Some(slot % CONNS));
    let version = if (kind & 7) % 5 == 3 { MptcpVersion::V0 } else { MptcpVersion::V1 };
    let mut flags = MpCapableFlags::HMAC_SHA;
    match (kind & 7) % 5 {
        0 => (offer, conn) = (Offer::Plain, None),
        4 => {
            let idx = usize::from(input.u8()) % CONNS;
            let nonce = input.u32();
            let known = world.peers.conns[idx].and_then(|c| c.token());
            conn = known.map(|_| idx);
            let token = known.unwrap_or(nonce);
            let (backup, addr_id) = (kind & 0x40 != 0, slot as u8);
            opts.push_mptcp(&MptcpOption::MpJoin(MpJoin::Syn { backup, addr_id, token, nonce }));
            offer = Offer::Join { nonce, server_nonce: None };
        }
        n => {
            let checksums = n == 2;
            if checksums {
                flags = flags.with(MpCapableFlags::CHECKSUM_REQUIRED);
            }
            let keys = match version {
                MptcpVersion::V0 => MpCapableKeys::Sender { sender: key },
                MptcpVersion::V1 => MpCapableKeys::None,
            };
            opts.push_mptcp(&MptcpOption::MpCapable(MpCapable { version, flags, keys }));
            let algo = HashAlgo::from(version);
            world.peers.conns[slot % CONNS] = Some(MpConn::new(key, checksums, algo));
        }
    }
    let client = Client {
        addr: client_addr(slot),
        service,
        queue: usize::from(kind >> 7),
        iss,
        snd_nxt: iss.wrapping_add(1),
        irs: None,
        rcv_nxt: 0,
        ts_recent: None,
        offer,
        conn,
    };
    world.peers.clients[slot] = Some(client);
    let seg = Seg {
        src: client.addr,
        dst: service,
        seq: iss,
        ack: 0,
        flags: TcpFlags::SYN,
        window: 65535,
        options: opts.as_slice(),
        payload: &[],
    };
    world.deliver(client.queue, &frame(&seg));
}

/// The client flow in `slot` once its SYN,ACK came, and its MPTCP connection if the shard
/// answered it with a key.
fn answered(world: &World, slot: usize) -> Option<(Client, Option<MpConn>)> {
    let client = world.peers.clients[slot]?;
    client.irs?;
    let conn = client.conn.and_then(|i| world.peers.conns[i]).filter(|c| c.server_key.is_some());
    Some((client, conn))
}

/// Sends `payload` on client flow `slot` with `flags` and `opts`, and moves its SND.NXT.
fn client_send(
    world: &mut World,
    slot: usize,
    flags: TcpFlags,
    window: u16,
    opts: &Opts,
    payload: &[u8],
) {
    let Some(client) = world.peers.clients[slot].as_mut() else { return };
    let seg = Seg {
        src: client.addr,
        dst: client.service,
        seq: client.snd_nxt,
        ack: client.rcv_nxt,
        flags,
        window,
        options: opts.as_slice(),
        payload,
    };
    let fin = u32::from(flags.contains(TcpFlags::FIN));
    client.snd_nxt = client.snd_nxt.wrapping_add(payload.len() as u32 + fin);
    let queue = client.queue;
    world.deliver(queue, &frame(&seg));
}

fn client_handshake_ack(world: &mut World, input: &mut Input<'_>) {
    let slot = usize::from(input.u8()) % CLIENTS;
    let mode = input.u8();
    let data = if mode & 1 != 0 { input.bytes(200) } else { &[] };
    let Some((client, conn)) = answered(world, slot) else { return };
    let mut opts = Opts::new();
    push_ts(&mut opts, world.tsval(), client.ts_recent);
    let spoil = u64::from(mode & 2 != 0);
    match (client.offer, conn) {
        _ if mode & 4 != 0 => {}
        (Offer::Capable, Some(c)) => {
            let receiver = c.server_key.unwrap_or_default() ^ spoil;
            let mut flags = MpCapableFlags::HMAC_SHA;
            if c.checksums {
                flags = flags.with(MpCapableFlags::CHECKSUM_REQUIRED);
            }
            let version = match c.algo {
                HashAlgo::Sha1 => MptcpVersion::V0,
                HashAlgo::Sha256 => MptcpVersion::V1,
            };
            // RFC 6824 §3.1: a v0 third ACK carries both keys and no data fields; data
            // with it is mapped by a DSS.
            let keys = if data.is_empty() || version == MptcpVersion::V0 {
                MpCapableKeys::Both { sender: c.key, receiver }
            } else {
                let data_len = data.len() as u16;
                let checksum = c.checksums.then(|| dss_checksum(c.dsn_nxt, 1, data_len, data));
                MpCapableKeys::BothWithData { sender: c.key, receiver, data_len, checksum }
            };
            opts.push_mptcp(&MptcpOption::MpCapable(MpCapable { version, flags, keys }));
            let i = client.conn.expect("an MPTCP connection");
            if let Some(c) = world.peers.conns[i].as_mut() {
                if version == MptcpVersion::V0 && !data.is_empty() {
                    if let Some(dss) = client_dss(c, 1, 1, data) {
                        opts.push_mptcp(&MptcpOption::Dss(dss));
                    }
                } else {
                    c.dsn_nxt = c.dsn_nxt.wrapping_add(data.len() as u64);
                }
            }
        }
        (Offer::Join { nonce, server_nonce: Some(theirs) }, Some(c)) => {
            let ours = KeyMaterial::new(c.key, c.algo);
            let keys = HmacKeys::new(&ours, c.server_key.unwrap_or_default());
            let mut hmac = keys.ack_hmac(nonce, theirs);
            hmac[0] ^= spoil as u8;
            opts.push_mptcp(&MptcpOption::MpJoin(MpJoin::Ack { hmac }));
        }
        _ => {}
    }
    let flags = if data.is_empty() { TcpFlags::ACK } else { TcpFlags::ACK | TcpFlags::PSH };
    client_send(world, slot, flags, 65535, &opts, data);
}

/// The DSS of client data: a mapping of `payload` (and the DATA_FIN), a DATA_ACK.
fn client_dss(c: &mut MpConn, rel_seq: u32, mode: u8, payload: &[u8]) -> Option<Dss> {
    let wide = mode & 0x20 != 0;
    let data_fin = mode & 0x08 != 0;
    let mut dss = Dss::default();
    if mode & 1 != 0 && (data_fin || !payload.is_empty()) {
        let len = payload.len() as u16 + u16::from(data_fin);
        let mapping = if payload.is_empty() {
            DssMapping::data_fin_only(c.dsn_nxt, wide)
        } else {
            DssMapping::new(c.dsn_nxt, wide, rel_seq, len)
        };
        let mapping = match c.checksums {
            true => {
                let sum = dss_checksum(c.dsn_nxt, mapping.subflow_seq, len, payload);
                mapping.with_checksum(sum ^ u16::from(mode & 0x40 != 0))
            }
            false => mapping,
        };
        c.dsn_nxt = c.dsn_nxt.wrapping_add(u64::from(len));
        dss = Dss { mapping: Some(mapping), data_fin, ..dss };
    }
    if mode & 2 != 0 {
        dss.data_ack = Some(DataSeq::new(c.data_rcv, wide));
    }
    (dss != Dss::default()).then_some(dss)
}

fn client_data(world: &mut World, input: &mut Input<'_>) {
    let slot = usize::from(input.u8()) % CLIENTS;
    let mode = input.u8();
    let payload = input.bytes(255);
    let Some((client, _)) = answered(world, slot) else { return };
    let mut opts = Opts::new();
    push_ts(&mut opts, world.tsval(), client.ts_recent);
    let rel_seq = client.snd_nxt.wrapping_sub(client.iss);
    let conn = client.conn.and_then(|i| world.peers.conns[i].as_mut());
    if let Some(dss) = conn.and_then(|c| client_dss(c, rel_seq, mode, payload)) {
        opts.push_mptcp(&MptcpOption::Dss(dss));
    }
    if mode & 0x10 != 0
        && let Some(c) = world.peers.clients[slot].as_mut()
    {
        c.queue ^= 1;
    }
    let mut flags = TcpFlags::ACK | TcpFlags::PSH;
    flags.set(TcpFlags::FIN, mode & 4 != 0);
    let window = if mode & 0x80 != 0 { 0 } else { 65535 };
    client_send(world, slot, flags, window, &opts, payload);
}

fn client_ack(world: &mut World, input: &mut Input<'_>) {
    let slot = usize::from(input.u8()) % CLIENTS;
    let mode = input.u8();
    let Some((client, conn)) = answered(world, slot) else { return };
    let mut opts = Opts::new();
    push_ts(&mut opts, world.tsval(), client.ts_recent);
    if let Some(c) = conn.filter(|_| mode & 1 == 0) {
        opts.push_mptcp(&MptcpOption::Dss(Dss::data_ack_only(c.data_rcv, false)));
    }
    if mode & 4 != 0
        && let Some(c) = world.peers.clients[slot].as_mut()
    {
        c.queue ^= 1;
    }
    let window = if mode & 2 != 0 { 0 } else { 65535 };
    client_send(world, slot, TcpFlags::ACK, window, &opts, &[]);
}

fn client_rst(world: &mut World, input: &mut Input<'_>) {
    let slot = usize::from(input.u8()) % CLIENTS;
    let mode = input.u8();
    let Some((client, conn)) = answered(world, slot) else { return };
    let mut opts = Opts::new();
    push_ts(&mut opts, world.tsval(), client.ts_recent);
    let fastclose = conn.and_then(|c| c.server_key).filter(|_| mode & 1 != 0);
    let flags = match fastclose {
        Some(receiver_key) => {
            opts.push_mptcp(&MptcpOption::MpFastclose(MpFastclose { receiver_key }));
            if mode & 2 != 0 { TcpFlags::RST } else { TcpFlags::ACK }
        }
        None => TcpFlags::RST,
    };
    client_send(world, slot, flags, 0, &opts, &[]);
}

/// The origin flow `idx` (modulo how many there are).
fn origin_index(world: &World, idx: u8) -> Option<usize> {
    let n = world.peers.origins.len();
    (n > 0).then(|| usize::from(idx) % n)
}

/// Sends from origin flow `i` and moves its SND.NXT.
fn origin_send(world: &mut World, i: usize, mode: u8, seg: Seg<'_>) {
    let fin = u32::from(seg.flags.contains(TcpFlags::FIN));
    let o = &mut world.peers.origins[i];
    o.snd_nxt = o.snd_nxt.wrapping_add(seg.payload.len() as u32 + fin);
    world.deliver(usize::from(mode >> 7), &frame(&seg));
}

fn origin_syn_ack(world: &mut World, input: &mut Input<'_>) {
    let (idx, mode, iss) = (input.u8(), input.u8(), input.u32());
    let Some(i) = origin_index(world, idx) else { return };
    let tsval = world.tsval();
    let o = &mut world.peers.origins[i];
    let mut opts = Opts::new();
    let (seq, flags) = if mode & 1 != 0 {
        (0, TcpFlags::RST | TcpFlags::ACK)
    } else {
        opts.push(&TcpOption::MaxSegmentSize(1460));
        o.ts = o.ts_recent.is_some() && mode & 2 == 0;
        push_ts(&mut opts, tsval, o.ts_recent.filter(|_| o.ts));
        o.snd_nxt = iss.wrapping_add(1);
        (iss, TcpFlags::SYN | TcpFlags::ACK)
    };
    let seg = Seg {
        src: o.addr,
        dst: o.shard,
        seq,
        ack: o.rcv_nxt,
        flags,
        window: 65535,
        options: opts.as_slice(),
        payload: &[],
    };
    world.deliver(usize::from(mode >> 7), &frame(&seg));
}

/// A segment from origin flow `i` at its SND.NXT, acknowledging what it got.
fn origin_seg<'a>(world: &World, i: usize, flags: TcpFlags, opts: &'a Opts) -> Seg<'a> {
    let o = &world.peers.origins[i];
    Seg {
        src: o.addr,
        dst: o.shard,
        seq: o.snd_nxt,
        ack: o.rcv_nxt,
        flags,
        window: 65535,
        options: opts.as_slice(),
        payload: &[],
    }
}

fn origin_opts(world: &World, i: usize) -> Opts {
    let o = &world.peers.origins[i];
    let mut opts = Opts::new();
    push_ts(&mut opts, world.tsval(), o.ts_recent.filter(|_| o.ts));
    opts
}

fn origin_data(world: &mut World, input: &mut Input<'_>) {
    let (idx, mode, payload) = (input.u8(), input.u8(), input.bytes(255));
    let Some(i) = origin_index(world, idx) else { return };
    let opts = origin_opts(world, i);
    let mut flags = TcpFlags::ACK | TcpFlags::PSH;
    flags.set(TcpFlags::FIN, mode & 1 != 0);
    let seg = Seg { payload, ..origin_seg(world, i, flags, &opts) };
    origin_send(world, i, mode, seg);
}

fn origin_ack_or_rst(world: &mut World, input: &mut Input<'_>) {
    let (idx, mode) = (input.u8(), input.u8());
    let Some(i) = origin_index(world, idx) else { return };
    let opts = origin_opts(world, i);
    let flags = if mode & 1 != 0 { TcpFlags::RST } else { TcpFlags::ACK };
    let window = if mode & 2 != 0 { 0 } else { 65535 };
    let seg = Seg { window, ..origin_seg(world, i, flags, &opts) };
    origin_send(world, i, mode, seg);
}

/// Any header fields, options and payload on a known flow's 4-tuple, its sequence numbers
/// near the flow's.
fn fuzzed_segment(world: &mut World, input: &mut Input<'_>) {
    let target = input.u8();
    let flags = TcpFlags::from_bits(input.u16());
    let (seq_off, ack_off) = (input.u16() as i16, input.u16() as i16);
    let window = input.u16();
    let mut opts = Opts::new();
    opts.push_raw(input.bytes(40));
    let payload = input.bytes(255);
    let (src, dst, seq, ack, queue) = if target & 0x80 != 0 {
        let Some(i) = origin_index(world, target) else { return };
        let o = &world.peers.origins[i];
        (o.addr, o.shard, o.snd_nxt, o.rcv_nxt, usize::from(target >> 6))
    } else {
        let Some(c) = world.peers.clients[usize::from(target) % CLIENTS] else { return };
        (c.addr, c.service, c.snd_nxt, c.rcv_nxt, c.queue)
    };
    let seq = seq.wrapping_add_signed(i32::from(seq_off));
    let ack = ack.wrapping_add_signed(i32::from(ack_off));
    let options = opts.as_slice();
    let seg = Seg { src, dst, seq, ack, flags, window, options, payload };
    world.deliver(queue, &frame(&seg));
}
