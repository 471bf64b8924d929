//! proptest strategies: every representable `Repr` per connection version, and valid option
//! bytes built from the wire layouts of the RFC figures, independently of `emit`.

use core::net::IpAddr;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use crate::wire::mptcp::MptcpVersion::{V0, V1};
use crate::wire::mptcp::*;

/// An option together with the bytes its borrowing variants point into.
#[derive(Debug, Clone)]
pub(super) enum Owned {
    /// A variant that borrows nothing.
    Plain(MptcpOption<'static>),
    /// REMOVE_ADDR with its address IDs.
    RemoveAddr(Vec<u8>),
    /// An unknown option with its body.
    Unknown(Vec<u8>),
}

impl Owned {
    /// The option, borrowing from `self`.
    pub(super) fn as_option(&self) -> MptcpOption<'_> {
        match self {
            Owned::Plain(o) => *o,
            Owned::RemoveAddr(ids) => {
                MptcpOption::RemoveAddr(RemoveAddr::new(ids).expect("strategy makes 1..=252 IDs"))
            }
            Owned::Unknown(body) => {
                MptcpOption::Unknown(UnknownOption::new(body).expect("strategy makes short bodies"))
            }
        }
    }
}

/// Either MPTCP version.
pub(super) fn version() -> impl Strategy<Value = MptcpVersion> {
    prop_oneof![Just(V0), Just(V1)]
}

/// A version together with a strategy's value for it.
pub(super) fn versioned<T: core::fmt::Debug>(
    f: fn(MptcpVersion) -> BoxedStrategy<T>,
) -> impl Strategy<Value = (MptcpVersion, T)> {
    version().prop_flat_map(move |v| (Just(v), f(v)))
}

fn data_seq() -> impl Strategy<Value = DataSeq> {
    prop_oneof![any::<u32>().prop_map(DataSeq::Low32), any::<u64>().prop_map(DataSeq::Full64)]
}

fn ip_addr() -> impl Strategy<Value = IpAddr> {
    prop_oneof![any::<[u8; 4]>().prop_map(IpAddr::from), any::<[u8; 16]>().prop_map(IpAddr::from),]
}

fn mp_capable() -> impl Strategy<Value = MpCapable> {
    let sender = any::<u64>().prop_map(|sender| MpCapableKeys::Sender { sender });
    let both =
        any::<(u64, u64)>().prop_map(|(sender, receiver)| MpCapableKeys::Both { sender, receiver });
    let data =
        any::<(u64, u64, u16, Option<u16>)>().prop_map(|(sender, receiver, data_len, checksum)| {
            MpCapableKeys::BothWithData { sender, receiver, data_len, checksum }
        });
    let v1 = prop_oneof![Just(MpCapableKeys::None), sender.clone(), both.clone(), data];
    let v0 = prop_oneof![sender, both];
    let flags = any::<u8>().prop_map(MpCapableFlags);
    prop_oneof![
        (flags.clone(), v1).prop_map(|(flags, keys)| MpCapable { version: V1, flags, keys }),
        (flags, v0).prop_map(|(flags, keys)| MpCapable { version: V0, flags, keys }),
    ]
}

fn mp_join() -> impl Strategy<Value = MpJoin> {
    prop_oneof![
        any::<(bool, u8, u32, u32)>().prop_map(|(backup, addr_id, token, nonce)| MpJoin::Syn {
            backup,
            addr_id,
            token,
            nonce
        }),
        any::<(bool, u8, [u8; 8], u32)>().prop_map(|(backup, addr_id, hmac, nonce)| {
            MpJoin::SynAck { backup, addr_id, hmac, nonce }
        }),
        any::<[u8; 20]>().prop_map(|hmac| MpJoin::Ack { hmac }),
    ]
}

fn dss() -> impl Strategy<Value = Dss> {
    let mapping = (data_seq(), any::<u32>(), any::<u16>(), any::<Option<u16>>()).prop_map(
        |(dsn, subflow_seq, data_len, checksum)| DssMapping {
            dsn,
            subflow_seq,
            data_len,
            checksum,
        },
    );
    (proptest::option::of(data_seq()), proptest::option::of(mapping), any::<bool>())
        .prop_map(|(data_ack, mapping, data_fin)| Dss { data_ack, mapping, data_fin })
}

fn add_addr(version: MptcpVersion) -> BoxedStrategy<AddAddr> {
    let form = match version {
        V0 => Just(AddAddrForm::V0).boxed(),
        V1 => prop_oneof![
            Just(AddAddrForm::Echo),
            any::<[u8; 8]>().prop_map(|hmac| AddAddrForm::Announce { hmac }),
        ]
        .boxed(),
    };
    (any::<u8>(), ip_addr(), any::<Option<u16>>(), form)
        .prop_map(|(addr_id, addr, port, form)| AddAddr { addr_id, addr, port, form })
        .boxed()
}

fn mp_prio(version: MptcpVersion) -> BoxedStrategy<MpPrio> {
    match version {
        V0 => any::<(bool, Option<u8>)>()
            .prop_map(|(backup, addr_id)| MpPrio { backup, addr_id })
            .boxed(),
        V1 => any::<bool>().prop_map(MpPrio::new).boxed(),
    }
}

/// Subtypes decoded as unknown on a connection of `version`.
fn unknown_subtypes(version: MptcpVersion) -> core::ops::RangeInclusive<u8> {
    match version {
        V0 => 0x8..=0xf,
        V1 => 0x9..=0xf,
    }
}

fn unknown_body(version: MptcpVersion) -> impl Strategy<Value = Vec<u8>> {
    (unknown_subtypes(version), 0u8..16, vec(any::<u8>(), 0..40)).prop_map(|(sub, low, rest)| {
        let mut body = vec![(sub << 4) | low];
        body.extend(rest);
        body
    })
}

/// Every representable option for a connection of `version`.
pub(super) fn repr(version: MptcpVersion) -> BoxedStrategy<Owned> {
    let plain = |s: BoxedStrategy<MptcpOption<'static>>| s.prop_map(Owned::Plain);
    let tcprst = (0u8..16, any::<u8>()).prop_map(|(f, r)| {
        let rst =
            MpTcpRst { flags: MpTcpRstFlags::from_bits_truncate(f), reason: MpTcpRstReason(r) };
        MptcpOption::MpTcpRst(rst)
    });
    let always = prop_oneof![
        plain(mp_capable().prop_map(MptcpOption::MpCapable).boxed()),
        plain(mp_join().prop_map(MptcpOption::MpJoin).boxed()),
        plain(dss().prop_map(MptcpOption::Dss).boxed()),
        plain(add_addr(version).prop_map(MptcpOption::AddAddr).boxed()),
        vec(any::<u8>(), 1..=252).prop_map(Owned::RemoveAddr),
        plain(mp_prio(version).prop_map(MptcpOption::MpPrio).boxed()),
        plain(any::<u64>().prop_map(|dsn| MptcpOption::MpFail(MpFail { dsn })).boxed()),
        plain(
            any::<u64>()
                .prop_map(|receiver_key| MptcpOption::MpFastclose(MpFastclose { receiver_key }))
                .boxed()
        ),
        unknown_body(version).prop_map(Owned::Unknown),
    ];
    match version {
        V0 => always.boxed(),
        V1 => prop_oneof![9 => always, 1 => plain(tcprst.boxed())].boxed(),
    }
}

/// `head` followed by `len` random bytes.
fn with_body(head: Vec<u8>, len: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), len).prop_map(move |body| {
        let mut bytes = head.clone();
        bytes.extend(body);
        bytes
    })
}

/// `len` as the option length byte; every layout here stays below 256.
fn len_byte(len: usize) -> u8 {
    u8::try_from(len).expect("test layouts are shorter than 256 bytes")
}

fn mp_capable_bytes() -> BoxedStrategy<Vec<u8>> {
    let shape = prop_oneof![
        (Just(0u8), select(vec![12usize, 20])),
        (Just(1u8), select(vec![4usize, 12, 20, 22, 24])),
    ];
    (shape, any::<u8>())
        .prop_flat_map(|((ver, len), flags)| {
            with_body(vec![30, len_byte(len), ver, flags], len - 4)
        })
        .boxed()
}

fn mp_join_bytes() -> BoxedStrategy<Vec<u8>> {
    let syn = (any::<bool>(), select(vec![12usize, 16]))
        .prop_flat_map(|(b, len)| with_body(vec![30, len_byte(len), 0x10 | u8::from(b)], len - 3));
    prop_oneof![syn, with_body(vec![30, 24, 0x10, 0], 20)].boxed()
}

fn dss_bytes() -> BoxedStrategy<Vec<u8>> {
    (0u8..32, any::<bool>())
        .prop_flat_map(|(mut flags, csum)| {
            let (ack, map) = (flags & 0x01 != 0, flags & 0x04 != 0);
            if !ack {
                flags &= !0x02;
            }
            if !map {
                flags &= !0x08;
            }
            let wide = |bit: u8| if flags & bit != 0 { 8 } else { 4 };
            let ack_len = if ack { wide(0x02) } else { 0 };
            let map_len = if map { wide(0x08) + 6 + if csum { 2 } else { 0 } } else { 0 };
            let len = 4 + ack_len + map_len;
            with_body(vec![30, len_byte(len), 0x20, flags], len - 4)
        })
        .boxed()
}

fn add_addr_bytes(version: MptcpVersion) -> BoxedStrategy<Vec<u8>> {
    any::<(bool, bool, bool)>()
        .prop_flat_map(move |(v6, port, echo)| {
            let (nibble, hmac) = match version {
                V0 => (if v6 { 6 } else { 4 }, false),
                V1 => (u8::from(echo), !echo),
            };
            let addr = if v6 { 16 } else { 4 };
            let len = 4 + addr + if port { 2 } else { 0 } + if hmac { 8 } else { 0 };
            with_body(vec![30, len_byte(len), 0x30 | nibble], len - 3)
        })
        .boxed()
}

fn remove_addr_bytes() -> BoxedStrategy<Vec<u8>> {
    vec(any::<u8>(), 1..=252)
        .prop_map(|ids| {
            let mut bytes = vec![30, len_byte(3 + ids.len()), 0x40];
            bytes.extend(ids);
            bytes
        })
        .boxed()
}

fn mp_prio_bytes(version: MptcpVersion) -> BoxedStrategy<Vec<u8>> {
    let id = match version {
        V0 => any::<Option<u8>>().boxed(),
        V1 => Just(None).boxed(),
    };
    (any::<bool>(), id)
        .prop_map(|(b, id)| {
            let mut bytes = vec![30, 3, 0x50 | u8::from(b)];
            bytes.extend(id);
            bytes[1] = len_byte(bytes.len());
            bytes
        })
        .boxed()
}

fn unknown_bytes(version: MptcpVersion) -> BoxedStrategy<Vec<u8>> {
    unknown_body(version)
        .prop_map(|body| {
            let mut bytes = vec![30, len_byte(2 + body.len())];
            bytes.extend(body);
            bytes
        })
        .boxed()
}

/// Option bytes a conforming sender of `version` can emit (reserved bits zero).
pub(super) fn valid_bytes(version: MptcpVersion) -> BoxedStrategy<Vec<u8>> {
    let always = prop_oneof![
        mp_capable_bytes(),
        mp_join_bytes(),
        dss_bytes(),
        add_addr_bytes(version),
        remove_addr_bytes(),
        mp_prio_bytes(version),
        with_body(vec![30, 12, 0x60, 0], 8),
        with_body(vec![30, 12, 0x70, 0], 8),
        unknown_bytes(version),
    ];
    let tcprst = (0u8..16, any::<u8>()).prop_map(|(f, r)| vec![30, 4, 0x80 | f, r]);
    match version {
        V0 => always.boxed(),
        V1 => prop_oneof![9 => always, 1 => tcprst].boxed(),
    }
}

/// The bits of bytes 2 and 3 that receivers ignore in the valid option `bytes`: reserved
/// bits, and the DSS `a` / `m` bits when `A` / `M` is clear.
pub(super) fn ignored_bits(bytes: &[u8], version: MptcpVersion) -> (u8, u8) {
    match (bytes[2] >> 4, version) {
        (0x1, _) if bytes.len() == 24 => (0x0f, 0xff),
        (0x1, _) => (0x0e, 0),
        (0x2, _) => {
            let flags = bytes[3];
            let a = if flags & 0x01 == 0 { 0x02 } else { 0 };
            let m = if flags & 0x04 == 0 { 0x08 } else { 0 };
            (0x0f, 0xe0 | a | m)
        }
        (0x3, V1) => (0x0e, 0),
        (0x4, _) => (0x0f, 0),
        (0x5, _) => (0x0e, 0),
        (0x6 | 0x7, _) => (0x0f, 0xff),
        _ => (0, 0),
    }
}
