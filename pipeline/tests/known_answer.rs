//! Known-answer tests against the Linux kernel: every frame of every capture in `tests/data`
//! (real kernel MPTCP v1 traffic, see `tests/data/README.md`) must parse, every field must
//! match what Wireshark's tshark decoded from the same bytes, and re-emitting must give the
//! same bytes. The tokens and IDSNs NetReaktor derives from the keys in MP_CAPABLE must match
//! tshark's, and the join tokens must match what the kernel then used.

mod support;

use std::collections::BTreeMap;

use netreaktor_pipeline::mptcp::crypto::{HashAlgo, idsn, token};
use netreaktor_pipeline::wire::frame::{ChecksumPolicy, Frame, IpRepr, TcpFrame, parse_frame};
use netreaktor_pipeline::wire::mptcp::{
    AddAddrForm, DataSeq, MpCapableKeys, MpJoin, MptcpOption, MptcpVersion,
};
use netreaktor_pipeline::wire::tcp_option::{TcpOption, TcpOptions};
use support::{TsharkOption, capture_names, data_dir, hex, read_options, read_pcap, read_tsv};

type Row = BTreeMap<String, String>;

#[test]
fn every_captured_frame_parses_matches_tshark_and_re_emits() {
    for name in capture_names() {
        let frames = read_pcap(&name);
        let rows = read_tsv(&data_dir().join(format!("{name}.tsv")));
        assert_eq!(frames.len(), rows.len(), "{name}: tshark saw as many frames");
        for (frame, row) in frames.iter().zip(&rows) {
            let context = format!("{name} frame {}", frame.number);
            let parsed = match parse_frame(&frame.data, ChecksumPolicy::Verify) {
                Ok(Frame::Tcp(tcp)) => tcp,
                other => panic!("{context}: not a valid TCP frame: {other:?}"),
            };
            check_headers(&parsed, row, &context);
            check_options(&parsed.tcp.options, row, &context);
            let mut out = vec![0; parsed.buffer_len()];
            parsed.emit(&mut out);
            assert_eq!(hex(&out), hex(&frame.data), "{context}: re-emitted bytes");
        }
    }
}

#[test]
fn every_mptcp_option_matches_tshark_and_re_emits() {
    let mut seen = BTreeMap::<String, usize>::new();
    for name in capture_names() {
        let frames = read_pcap(&name);
        let mut expected = read_options(&name).into_iter().peekable();
        for frame in &frames {
            let Ok(Frame::Tcp(parsed)) = parse_frame(&frame.data, ChecksumPolicy::Verify) else {
                panic!("{name} frame {}: not TCP", frame.number);
            };
            for (index, raw) in parsed.tcp.options.mptcp().enumerate() {
                let context = format!("{name} frame {} MPTCP option {index}", frame.number);
                let tshark = expected.next_if(|o| o.frame == frame.number);
                let tshark = tshark.unwrap_or_else(|| panic!("{context}: tshark saw no option"));
                check_mptcp_option(raw, &tshark, &context);
                *seen.entry(tshark.subtype_name.clone()).or_default() += 1;
            }
        }
        assert!(expected.next().is_none(), "{name}: tshark saw options we did not");
    }
    // The captures exercise every suboption the kernel sends.
    for subtype in [
        "MP_CAPABLE",
        "MP_JOIN",
        "DSS",
        "ADD_ADDR",
        "REMOVE_ADDR",
        "MP_PRIO",
        "MP_FAIL",
        "MP_FASTCLOSE",
        "MP_TCPRST",
    ] {
        assert!(seen.get(subtype).copied().unwrap_or(0) > 0, "no {subtype} in the captures");
    }
}

#[test]
fn tokens_and_idsns_match_tshark_and_the_kernel_joins() {
    let mut keys_checked = 0;
    let mut joins_checked = 0;
    for name in capture_names() {
        let options = read_options(&name);
        let mut tokens = Vec::new();
        for option in options.iter().filter(|o| o.subtype_name == "MP_CAPABLE") {
            let Some(key) = field_u64(&option.fields, "tcp.options.mptcp.sendkey") else {
                continue;
            };
            let context = format!("{name} frame {}", option.frame);
            let expected_token = field_u64(&option.fields, "mptcp.expected_token");
            let expected_idsn = field_u64(&option.fields, "mptcp.expected_idsn");
            assert_eq!(Some(u64::from(token(key, HashAlgo::Sha256))), expected_token, "{context}");
            assert_eq!(Some(idsn(key, HashAlgo::Sha256)), expected_idsn, "{context}");
            tokens.push(token(key, HashAlgo::Sha256));
            keys_checked += 1;
        }
        // RFC 8684 §3.2: a join SYN names the connection by the receiver's token, which the
        // kernel derived from its own key: our derivation must produce the same value.
        for option in options.iter().filter(|o| o.subtype_name == "MP_JOIN") {
            if let Some(join_token) = field_u64(&option.fields, "tcp.options.mptcp.recvtok") {
                let join_token = u32::try_from(join_token).expect("a 32-bit token");
                assert!(tokens.contains(&join_token), "{name} frame {}: token", option.frame);
                joins_checked += 1;
            }
        }
    }
    assert!(keys_checked >= 10, "only {keys_checked} keys in the captures");
    assert!(joins_checked >= 5, "only {joins_checked} join SYNs in the captures");
}

fn check_headers(frame: &TcpFrame<'_>, row: &Row, context: &str) {
    let mut ours: Vec<(&str, String)> = vec![
        ("eth.src", frame.ethernet.src_addr.to_string()),
        ("eth.dst", frame.ethernet.dst_addr.to_string()),
        ("tcp.srcport", frame.tcp.src_port.to_string()),
        ("tcp.dstport", frame.tcp.dst_port.to_string()),
        ("tcp.seq_raw", frame.tcp.seq_number.0.to_string()),
        ("tcp.flags", format!("0x{:04x}", frame.tcp.flags.bits())),
        ("tcp.window_size_value", frame.tcp.window_len.to_string()),
        ("tcp.hdr_len", frame.tcp.header_len().to_string()),
        ("tcp.len", frame.tcp.payload.len().to_string()),
        ("tcp.options", hex(frame.tcp.options.as_bytes())),
    ];
    if frame.tcp.flags.contains(netreaktor_pipeline::wire::tcp::TcpFlags::ACK) {
        ours.push(("tcp.ack_raw", frame.tcp.ack_number.0.to_string()));
    }
    match &frame.ip {
        IpRepr::V4(ip) => ours.extend([
            ("ip.src", ip.src_addr.to_string()),
            ("ip.dst", ip.dst_addr.to_string()),
            ("ip.ttl", ip.hop_limit.to_string()),
            ("ip.id", format!("0x{:04x}", ip.ident)),
            ("ip.len", (ip.buffer_len() + ip.payload_len).to_string()),
        ]),
        IpRepr::V6(ip) => ours.extend([
            ("ipv6.src", ip.src_addr.to_string()),
            ("ipv6.dst", ip.dst_addr.to_string()),
            ("ipv6.hlim", ip.hop_limit.to_string()),
            ("ipv6.plen", ip.payload_len.to_string()),
            ("ipv6.flow", format!("0x{:06x}", ip.flow_label)),
        ]),
    }
    for (field, value) in ours {
        assert_eq!(row.get(field), Some(&value), "{context}: {field}");
    }
}

fn check_options(options: &TcpOptions<'_>, row: &Row, context: &str) {
    let mut ours: Vec<(&str, String)> = Vec::new();
    let mut kinds = Vec::new();
    for option in options.iter() {
        let option = option.unwrap_or_else(|e| panic!("{context}: option: {e}"));
        kinds.push(option_kind(&option).to_string());
        match option {
            TcpOption::MaxSegmentSize(mss) => ours.push(("tcp.options.mss_val", mss.to_string())),
            TcpOption::WindowScale(shift) => {
                ours.push(("tcp.options.wscale.shift", shift.to_string()));
            }
            TcpOption::Timestamps { tsval, tsecr } => {
                ours.push(("tcp.options.timestamp.tsval", tsval.to_string()));
                ours.push(("tcp.options.timestamp.tsecr", tsecr.to_string()));
            }
            TcpOption::SackRange(blocks) => {
                let (le, re): (Vec<_>, Vec<_>) =
                    blocks.as_slice().iter().map(|(l, r)| (l.to_string(), r.to_string())).unzip();
                ours.push(("tcp.options.sack_le", le.join(",")));
                ours.push(("tcp.options.sack_re", re.join(",")));
            }
            _ => {}
        }
    }
    if !kinds.is_empty() {
        ours.push(("tcp.option_kind", kinds.join(",")));
    }
    for (field, value) in ours {
        assert_eq!(row.get(field), Some(&value), "{context}: {field}");
    }
}

fn option_kind(option: &TcpOption<'_>) -> u8 {
    match option {
        TcpOption::EndOfList => 0,
        TcpOption::NoOperation => 1,
        TcpOption::MaxSegmentSize(_) => 2,
        TcpOption::WindowScale(_) => 3,
        TcpOption::SackPermitted => 4,
        TcpOption::SackRange(_) => 5,
        TcpOption::Timestamps { .. } => 8,
        TcpOption::Mptcp(_) => 30,
        TcpOption::Unknown { kind, .. } => *kind,
    }
}

fn check_mptcp_option(raw: &[u8], tshark: &TsharkOption, context: &str) {
    assert_eq!(hex(raw), tshark.hex, "{context}: option bytes");
    let option = MptcpOption::parse(raw, MptcpVersion::V1)
        .unwrap_or_else(|e| panic!("{context}: {} does not parse: {e}", tshark.subtype_name));
    let mut out = vec![0; option.buffer_len()];
    option.emit(&mut out);
    assert_eq!(hex(&out), tshark.hex, "{context}: re-emitted option");
    let ours = mptcp_fields(&option);
    assert!(!ours.is_empty(), "{context}: no fields compared for {}", tshark.subtype_name);
    for (field, value) in ours {
        let key = if field.starts_with("mptcp.") {
            field.to_owned()
        } else {
            format!("tcp.options.mptcp.{field}")
        };
        assert_eq!(tshark.fields.get(&key), Some(&value), "{context}: {key}");
    }
}

/// Our decoding of an option, as tshark names and prints the fields.
fn mptcp_fields(option: &MptcpOption<'_>) -> Vec<(&'static str, String)> {
    let mut f: Vec<(&'static str, String)> = Vec::new();
    let flag = |b: bool| u8::from(b).to_string();
    match option {
        MptcpOption::MpCapable(cap) => {
            f.push(("version", cap.version.number().to_string()));
            f.push(("flags", format!("0x{:02x}", cap.flags.0)));
            if let Some(key) = cap.sender_key() {
                f.push(("sendkey", key.to_string()));
            }
            if let Some(key) = cap.receiver_key() {
                f.push(("recvkey", key.to_string()));
            }
            if let MpCapableKeys::BothWithData { data_len, checksum, .. } = cap.keys {
                f.push(("datalvllen", data_len.to_string()));
                if let Some(csum) = checksum {
                    f.push(("checksum", format!("0x{csum:04x}")));
                }
            }
        }
        MptcpOption::MpJoin(MpJoin::Syn { backup, addr_id, token, nonce }) => {
            f.push(("backup.flag", flag(*backup)));
            f.push(("addrid", addr_id.to_string()));
            f.push(("recvtok", token.to_string()));
            f.push(("sendrand", nonce.to_string()));
        }
        MptcpOption::MpJoin(MpJoin::SynAck { backup, addr_id, hmac, nonce }) => {
            f.push(("backup.flag", flag(*backup)));
            f.push(("addrid", addr_id.to_string()));
            f.push(("sendtrunchmac", u64::from_be_bytes(*hmac).to_string()));
            f.push(("sendrand", nonce.to_string()));
        }
        MptcpOption::MpJoin(MpJoin::Ack { hmac }) => {
            let colons: Vec<String> = hmac.iter().map(|b| format!("{b:02x}")).collect();
            f.push(("sendhmac", colons.join(":")));
        }
        MptcpOption::Dss(dss) => {
            f.push(("datafin.flag", flag(dss.data_fin)));
            if let Some(ack) = dss.data_ack {
                f.push(("dataack8.flag", flag(ack.is_wide())));
                f.push(("rawdataack", data_seq(ack).to_string()));
            }
            f.push(("dataackpresent.flag", flag(dss.data_ack.is_some())));
            f.push(("dseqnpresent.flag", flag(dss.mapping.is_some())));
            if let Some(mapping) = dss.mapping {
                f.push(("dseqn8.flag", flag(mapping.dsn.is_wide())));
                f.push(("rawdataseqno", data_seq(mapping.dsn).to_string()));
                f.push(("subflowseqno", mapping.subflow_seq.to_string()));
                f.push(("datalvllen", mapping.data_len.to_string()));
            }
        }
        MptcpOption::AddAddr(add) => {
            f.push(("addrid", add.addr_id.to_string()));
            f.push(("echo", flag(matches!(add.form, AddAddrForm::Echo))));
            match add.addr {
                std::net::IpAddr::V4(a) => f.push(("ipv4", a.to_string())),
                std::net::IpAddr::V6(a) => f.push(("ipv6", a.to_string())),
            }
            if let Some(port) = add.port {
                f.push(("port", port.to_string()));
            }
            if let AddAddrForm::Announce { hmac } = add.form {
                f.push(("addaddrtrunchmac", u64::from_be_bytes(hmac).to_string()));
            }
        }
        MptcpOption::RemoveAddr(remove) => {
            let ids: Vec<String> = remove.addr_ids().iter().map(u8::to_string).collect();
            f.push(("addrid", ids.join(",")));
            f.push(("mptcp.rm_addr.count", remove.addr_ids().len().to_string()));
        }
        MptcpOption::MpPrio(prio) => f.push(("backup.flag", flag(prio.backup))),
        MptcpOption::MpFail(fail) => f.push(("rawdataseqno", fail.dsn.to_string())),
        MptcpOption::MpFastclose(close) => f.push(("recvkey", close.receiver_key.to_string())),
        MptcpOption::MpTcpRst(rst) => {
            f.push(("rst_reason", format!("0x{:02x}", rst.reason.0)));
            for (name, bit) in [("flag_U.flag", 8), ("flag_V.flag", 4), ("flag_W.flag", 2)] {
                f.push((name, flag(rst.flags.bits() & bit != 0)));
            }
            f.push(("flag_T.flag", flag(rst.flags.bits() & 1 != 0)));
        }
        MptcpOption::Unknown(_) => {}
    }
    f
}

fn data_seq(seq: DataSeq) -> u64 {
    match seq {
        DataSeq::Low32(v) => u64::from(v),
        DataSeq::Full64(v) => v,
    }
}

fn field_u64(fields: &BTreeMap<String, String>, key: &str) -> Option<u64> {
    fields.get(key).map(|v| v.parse().unwrap_or_else(|e| panic!("{key}={v}: {e}")))
}
