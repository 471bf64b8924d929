//! MP_FASTCLOSE both ways (RFC 8684 §3.5).

use super::harness::*;
use crate::mptcp::conn::{MptcpConfig, MptcpEnd};
use crate::wire::mptcp::{Dss, MpFastclose, MptcpOption};

/// A client ACK carrying MP_FASTCLOSE with `key`.
fn fastclose(h: &Harness, key: u64) -> Seg {
    let option = MptcpOption::MpFastclose(MpFastclose { receiver_key: key });
    Seg::ack(0, 0).dss(Dss::data_ack_only(h.our_dsn(0), true)).opt(option)
}

/// RFC 8684 §3.5: MP_FASTCLOSE with our key resets every subflow and ends the connection.
#[test]
fn mp_fastclose_with_our_key_resets_the_connection() {
    let mut h = Harness::new(MptcpConfig::default());
    let id = h.join(1, false);
    h.transmit();
    h.deliver(0, &fastclose(&h, SERVER_KEY));
    assert_eq!(h.conn.end(), Some(MptcpEnd::Reset));
    assert_eq!(h.conn.stats().fastclose_received, 1);
    let rst = Seg::rst(0, 0);
    assert_eq!(h.transmit(), [(0, rst.clone()), (id, rst)]);
    assert!(h.conn.is_closed());
}

/// RFC 8684 §3.5: MP_FASTCLOSE with any other key is ignored (counted).
#[test]
fn mp_fastclose_with_another_key_is_ignored() {
    let mut h = Harness::new(MptcpConfig::default());
    h.deliver(0, &fastclose(&h, SERVER_KEY ^ 1));
    assert_eq!(h.conn.end(), None);
    assert_eq!(h.conn.stats().bad_fastclose, 1);
    assert_eq!(h.transmit(), []);
    assert!(h.conn.subflow(0).expect("kept").tcp().state().is_synchronized());
}

/// RFC 8684 §3.5: our abort sends, on every subflow, a pure ACK carrying MP_FASTCLOSE with the
/// client's key (the form iOS acts on), then a RST carrying it too (the form Linux takes).
#[test]
fn abort_sends_mp_fastclose_on_an_ack_then_a_rst_on_every_subflow() {
    let mut h = Harness::new(MptcpConfig::default());
    let id = h.join(1, false);
    h.transmit();
    h.conn.abort(h.now);
    let option = MptcpOption::MpFastclose(MpFastclose { receiver_key: CLIENT_KEY });
    let out = h.transmit();
    let on = |sub| out.iter().filter(move |(s, _)| *s == sub).map(|(_, seg)| seg.clone());
    for sub in [0, id] {
        let segs: Vec<Seg> = on(sub).collect();
        assert_eq!(segs.len(), 2, "subflow {sub}: {segs:?}");
        assert_eq!(segs[0].flags, ACK, "a pure ACK first");
        assert_eq!(segs[0].mptcp, [option], "carrying only MP_FASTCLOSE");
        assert!(segs[0].data.is_empty());
        assert!(segs[1].flags.contains(RST), "then the RST");
        assert_eq!(segs[1].mptcp, [option]);
    }
    assert_eq!(h.conn.end(), Some(MptcpEnd::Reset));
    assert_eq!(h.transmit(), []);
}
