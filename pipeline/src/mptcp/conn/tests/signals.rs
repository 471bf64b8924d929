//! Control options: ADD_ADDR both ways (RFC 8684 §3.4.1), REMOVE_ADDR (§3.4.2), MP_PRIO
//! (§3.3.8), MP_TCPRST received (§3.6).

use super::harness::*;
use crate::mptcp::conn::{ADD_ADDR_TRIES, MptcpConfig};
use crate::mptcp::crypto::{HashAlgo, HmacKeys, KeyMaterial};
use crate::wire::mptcp::{AddAddr, Dss, MpPrio, MpTcpRst, MpTcpRstReason, MptcpOption};

/// A connection announcing 192.0.2.2 as address id 1.
fn announcing() -> Harness {
    let cfg = MptcpConfig { announce: vec![(1, ip("192.0.2.2"))], ..MptcpConfig::default() };
    Harness::new(cfg)
}

/// Our ADD_ADDR of 192.0.2.2, id 1, on a pure ACK: its HMAC verified with the client's
/// keys (the sender's key first, RFC 8684 §3.4.1) before the segment is built.
fn our_announcement(h: &Harness) -> (u8, Seg) {
    let ours = HmacKeys::new(&KeyMaterial::new(SERVER_KEY, HashAlgo::Sha256), CLIENT_KEY);
    let mac = ours.add_addr_hmac(1, ip("192.0.2.2"), None).expect("v1 HMAC");
    let verified = h.client_hmac().verify_add_addr_hmac(1, ip("192.0.2.2"), None, mac);
    assert!(verified.is_ok(), "the client accepts our HMAC");
    let add = AddAddr::announce(1, ip("192.0.2.2"), None, mac.to_be_bytes());
    (0, Seg::ours(ACK, 0, 0, h.peer_dsn(0)).opt(MptcpOption::AddAddr(add)))
}

/// A pure ACK from the client with a DATA_ACK of our first DSN and `option`.
fn client_signal(h: &Harness, option: MptcpOption<'static>) -> Seg {
    Seg::ack(0, 0).dss(Dss::data_ack_only(h.our_dsn(0), true)).opt(option)
}

/// RFC 8684 §3.4.1: an announced address goes out on a pure ACK once the connection is
/// established, with the rightmost 64 bits of HMAC-SHA256(our key ‖ client key, id ‖
/// address ‖ port 0).
#[test]
fn an_announced_address_carries_the_add_addr_hmac() {
    let mut h = announcing();
    assert_eq!(h.transmit(), [our_announcement(&h)]);
    assert_eq!(h.conn.stats().add_addr_sent, 1);
}

/// RFC 8684 §3.4.1: an ADD_ADDR not echoed is sent again after the timeout (2 s); the echo
/// stops it.
#[test]
fn an_unechoed_add_addr_is_sent_again_and_stops_after_the_echo() {
    let mut h = announcing();
    assert_eq!(h.transmit(), [our_announcement(&h)]);
    assert_eq!(h.fire(), ms(2000));
    assert_eq!(h.transmit(), [our_announcement(&h)]);
    let echo = AddAddr::echo(1, ip("192.0.2.2"), None);
    h.deliver(0, &client_signal(&h, MptcpOption::AddAddr(echo)));
    assert_eq!(h.conn.poll_timeout(), None);
    h.advance(ms(10_000));
    assert_eq!(h.transmit(), []);
    assert_eq!(h.conn.stats().add_addr_sent, 2);
}

/// RFC 8684 §3.4.1 leaves the retransmission count open: ours stops after
/// [`ADD_ADDR_TRIES`] (3) sends without an echo.
#[test]
fn an_add_addr_never_echoed_is_sent_three_times() {
    let mut h = announcing();
    for _ in 0..ADD_ADDR_TRIES {
        h.advance(ms(2000));
        assert_eq!(h.transmit(), [our_announcement(&h)]);
    }
    assert_eq!(h.conn.poll_timeout(), None);
    assert_eq!(h.conn.stats().add_addr_sent, u64::from(ADD_ADDR_TRIES));
}

/// RFC 8684 §3.4.1: a received ADD_ADDR whose HMAC verifies is echoed (E=1, same id,
/// address and port).
#[test]
fn a_received_add_addr_with_a_good_hmac_is_echoed() {
    let mut h = Harness::new(MptcpConfig::default());
    let (addr, port) = (ip("203.0.113.50"), Some(8080));
    let mac = h.client_hmac().add_addr_hmac(5, addr, port).expect("v1 HMAC");
    let add = AddAddr::announce(5, addr, port, mac.to_be_bytes());
    h.deliver(0, &client_signal(&h, MptcpOption::AddAddr(add)));
    let echo = MptcpOption::AddAddr(AddAddr::echo(5, addr, port));
    assert_eq!(h.transmit(), [(0, Seg::ours(ACK, 0, 0, h.peer_dsn(0)).opt(echo))]);
    assert_eq!(h.conn.stats().bad_add_addr, 0);
}

/// RFC 8684 §3.4.1: an ADD_ADDR whose HMAC does not verify is ignored (no echo), counted.
#[test]
fn a_received_add_addr_with_a_wrong_hmac_is_ignored() {
    let mut h = Harness::new(MptcpConfig::default());
    let (addr, port) = (ip("203.0.113.50"), Some(8080));
    let mac = h.client_hmac().add_addr_hmac(5, addr, port).expect("v1 HMAC") ^ 1;
    let add = AddAddr::announce(5, addr, port, mac.to_be_bytes());
    h.deliver(0, &client_signal(&h, MptcpOption::AddAddr(add)));
    assert_eq!(h.transmit(), []);
    assert_eq!(h.conn.stats().bad_add_addr, 1);
}

/// RFC 8684 §3.4.2, §3.6: REMOVE_ADDR resets the subflows from the address id it names
/// (MP_TCPRST reason 0x00), and only those; the connection goes on.
#[test]
fn remove_addr_closes_only_the_subflow_with_that_id() {
    let mut h = Harness::new(MptcpConfig::default());
    let two = h.join(2, false);
    let three = h.join(3, false);
    h.transmit();
    h.deliver(0, &client_signal(&h, remove_addr(&[2])));
    let rst = MptcpOption::MpTcpRst(MpTcpRst::new(MpTcpRstReason(0x00), false));
    assert_eq!(h.transmit(), [(two, Seg::rst(0, 0).opt(rst))]);
    assert_eq!(h.conn.live_subflows(), 2);
    assert!(h.conn.subflow(three).expect("kept").tcp().state().is_synchronized());
    assert_eq!(h.conn.end(), None);
    assert_eq!(h.conn.stats().remove_addr, 1);
}

/// RFC 8684 §3.3.8: MP_PRIO sets the backup state of the subflow it arrives on; the
/// scheduler then leaves that subflow alone.
#[test]
fn mp_prio_sets_the_backup_state_of_its_subflow() {
    let mut h = Harness::new(MptcpConfig::default());
    let id = h.join(1, false);
    h.transmit();
    h.deliver(id, &client_signal(&h, MptcpOption::MpPrio(MpPrio::new(true))));
    assert!(h.conn.subflow(id).expect("joined").is_backup());
    assert!(!h.conn.subflow(0).expect("initial").is_backup());
    h.deliver(id, &client_signal(&h, MptcpOption::MpPrio(MpPrio::new(false))));
    assert!(!h.conn.subflow(id).expect("joined").is_backup());
    assert_eq!(h.conn.stats().prio_changes, 2);
}

/// RFC 8684 §3.6: a RST carrying MP_TCPRST ends its subflow only; the option is counted.
#[test]
fn a_received_mp_tcprst_is_counted_and_ends_only_its_subflow() {
    let mut h = Harness::new(MptcpConfig::default());
    let id = h.join(1, false);
    h.transmit();
    let rst = MptcpOption::MpTcpRst(MpTcpRst::new(MpTcpRstReason(0x05), true));
    h.deliver(id, &Seg::new(RST, 0, 0).opt(rst));
    assert_eq!(h.conn.stats().mp_tcprst_received, 1);
    assert_eq!(h.conn.stats().subflows_closed, 1);
    assert_eq!(h.conn.live_subflows(), 1);
    assert_eq!(h.conn.end(), None);
}

/// The IPv6 address a v1 connection over IPv4 announces (docs/ios-emulation.md §6: an iPhone on
/// IPv4 Wi-Fi and IPv6-only cellular joins through it).
fn announcing_v6() -> Harness {
    let cfg = MptcpConfig { announce: vec![(1, ip("2001:db8:71::1"))], ..MptcpConfig::default() };
    Harness::new(cfg)
}

/// Our ADD_ADDR of 2001:db8:71::1, id 1, on a pure ACK at `seq` with the DATA_ACK of the
/// client's first byte (this harness has no timestamps: the DSS fits beside it).
fn our_v6_announcement(h: &Harness, seq: u32) -> (u8, Seg) {
    let ours = HmacKeys::new(&KeyMaterial::new(SERVER_KEY, HashAlgo::Sha256), CLIENT_KEY);
    let addr = ip("2001:db8:71::1");
    let mac = ours.add_addr_hmac(1, addr, None).expect("v1 HMAC");
    let add = AddAddr::announce(1, addr, None, mac.to_be_bytes());
    (0, Seg::ours(ACK, seq, 0, h.peer_dsn(0)).opt(MptcpOption::AddAddr(add)))
}

/// RFC 8684 §3.4.1, docs/ios-emulation.md §6: an announcement due during a download, which sends no
/// segment without data, goes out on a pure ACK of its own ahead of the data.
#[test]
fn during_a_download_a_due_add_addr_goes_on_a_pure_ack_ahead_of_the_data() {
    let mut h = announcing_v6();
    assert_eq!(h.transmit(), [our_v6_announcement(&h, 0)]);
    assert_eq!(h.conn.send(&pattern(200_000)), 200_000);
    let first = h.transmit();
    assert!(first.len() > 2 && first.iter().all(|(_, s)| !s.data.is_empty()));
    let sent: usize = first.iter().map(|(_, s)| s.data.len()).sum();
    // Not echoed: due again after the timeout, when the client's ACK opens the window.
    h.now += ms(2000);
    let acked = sent as u32;
    h.deliver(0, &Seg::ack(0, acked).dss(Dss::data_ack_only(h.our_dsn(sent as u64), true)));
    let out = h.transmit();
    assert_eq!(out.first(), Some(&our_v6_announcement(&h, acked)), "{out:?}");
    assert!(out.len() > 1 && out[1..].iter().all(|(_, s)| !s.data.is_empty()), "then data");
    assert_eq!(h.conn.stats().add_addr_sent, 2);
}

/// RFC 8684 §3.4.1, docs/ios-emulation.md §3: iOS echoes an announcement without the port; the echo
/// matches by its id, so it stops the retransmission.
#[test]
fn an_echo_without_a_port_stops_the_announcement() {
    let mut h = announcing_v6();
    assert_eq!(h.transmit(), [our_v6_announcement(&h, 0)]);
    let echo = AddAddr::echo(1, ip("2001:db8:71::1"), None);
    h.deliver(0, &client_signal(&h, MptcpOption::AddAddr(echo)));
    assert_eq!(h.conn.poll_timeout(), None);
    h.advance(ms(10_000));
    assert_eq!(h.transmit(), []);
    assert_eq!(h.conn.stats().add_addr_sent, 1);
}

/// A due announcement that finds no room (here beside the echo of the client's IPv6
/// ADD_ADDR: 20 + 28 bytes) is tried again a smoothed RTT later: the connection's timer is
/// not due at once, which would make an owner loop on timeouts.
#[test]
fn an_announcement_that_did_not_fit_is_tried_again_later() {
    let mut h = announcing_v6();
    assert_eq!(h.transmit(), [our_v6_announcement(&h, 0)]);
    h.now += ms(2000);
    let theirs = ip("2001:db8:99::7");
    let mac = h.client_hmac().add_addr_hmac(5, theirs, None).expect("v1 HMAC");
    let add = AddAddr::announce(5, theirs, None, mac.to_be_bytes());
    h.deliver(0, &client_signal(&h, MptcpOption::AddAddr(add)));
    let echo = MptcpOption::AddAddr(AddAddr::echo(5, theirs, None));
    assert_eq!(h.transmit(), [(0, Seg::new(ACK, 0, 0).opt(echo))], "the echo alone");
    let next = h.conn.poll_timeout().expect("the announcement's next try");
    assert!(next > h.now);
    h.fire();
    assert_eq!(h.transmit(), [our_v6_announcement(&h, 0)]);
    assert_eq!(h.conn.stats().add_addr_sent, 2);
}
