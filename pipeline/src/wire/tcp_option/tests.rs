use proptest::collection::vec;
use proptest::prelude::*;

use super::*;
use crate::wire::Error;

/// An owned stand-in for [`TcpOption`], so that proptest can generate options that borrow.
#[derive(Debug, Clone)]
pub(crate) enum Model {
    Eol,
    Nop,
    Mss(u16),
    Ws(u8),
    SackPerm,
    Sack(Vec<(u32, u32)>),
    Ts(u32, u32),
    /// The whole MPTCP option.
    Mptcp(Vec<u8>),
    Unknown(u8, Vec<u8>),
}

impl Model {
    pub(crate) fn option(&self) -> TcpOption<'_> {
        match self {
            Model::Eol => TcpOption::EndOfList,
            Model::Nop => TcpOption::NoOperation,
            Model::Mss(mss) => TcpOption::MaxSegmentSize(*mss),
            Model::Ws(shift) => TcpOption::WindowScale(*shift),
            Model::SackPerm => TcpOption::SackPermitted,
            Model::Sack(blocks) => TcpOption::SackRange(SackBlocks::new(blocks).unwrap()),
            Model::Ts(tsval, tsecr) => TcpOption::Timestamps { tsval: *tsval, tsecr: *tsecr },
            Model::Mptcp(bytes) => TcpOption::Mptcp(bytes),
            Model::Unknown(kind, data) => TcpOption::Unknown { kind: *kind, data },
        }
    }
}

const KNOWN_KINDS: [u8; 8] = [0, 1, 2, 3, 4, 5, 8, 30];

/// Any option `parse` can return except End of Option List.
pub(crate) fn arb_model() -> impl Strategy<Value = Model> {
    prop_oneof![
        Just(Model::Nop),
        any::<u16>().prop_map(Model::Mss),
        any::<u8>().prop_map(Model::Ws),
        Just(Model::SackPerm),
        vec(any::<(u32, u32)>(), 1..=4).prop_map(Model::Sack),
        any::<(u32, u32)>().prop_map(|(v, e)| Model::Ts(v, e)),
        (1..=38usize).prop_flat_map(|n| vec(any::<u8>(), n)).prop_map(|body| {
            let mut bytes = vec![kind::MPTCP, (body.len() + 2) as u8];
            bytes.extend(body);
            Model::Mptcp(bytes)
        }),
        (
            any::<u8>().prop_filter("kind has its own variant", |k| !KNOWN_KINDS.contains(k)),
            vec(any::<u8>(), 0..=38)
        )
            .prop_map(|(kind, data)| Model::Unknown(kind, data)),
    ]
}

/// Options that fit 40 bytes once padded, optionally ending with End of Option List.
pub(crate) fn arb_models() -> impl Strategy<Value = Vec<Model>> {
    (vec(arb_model(), 0..12), any::<bool>()).prop_map(|(models, eol)| {
        let mut room = MAX_OPTIONS_LEN;
        let mut fitting: Vec<Model> = models
            .into_iter()
            .take_while(|m| {
                let fits = m.option().buffer_len() <= room;
                room = room.saturating_sub(m.option().buffer_len());
                fits
            })
            .collect();
        if eol && room > 0 {
            fitting.push(Model::Eol);
        }
        fitting
    })
}

/// The option area a writer makes of `models`.
pub(crate) fn write_area(models: &[Model]) -> Vec<u8> {
    let mut area = [0; MAX_OPTIONS_LEN];
    let mut writer = TcpOptionWriter::new(&mut area);
    for model in models {
        writer.push(&model.option()).unwrap();
    }
    let len = writer.finish();
    area[..len].to_vec()
}

/// The first option of `bytes`, without the rest.
fn parse(bytes: &[u8]) -> Result<TcpOption<'_>, Error> {
    TcpOption::parse(bytes).map(|(option, _)| option)
}

fn parse_all(bytes: &[u8]) -> Vec<Result<TcpOption<'_>, Error>> {
    TcpOptions::new(bytes).iter().collect()
}

/// Options and timestamps of a Linux SYN: MSS 1460, SACK-permitted, timestamps, NOP, window
/// scale 7 (layout from Linux `tcp_options_write`, values chosen here).
const LINUX_SYN: [u8; 20] = [
    0x02, 0x04, 0x05, 0xb4, // MSS 1460
    0x04, 0x02, // SACK permitted
    0x08, 0x0a, 0x00, 0x01, 0xe2, 0x40, 0x00, 0x00, 0x00, 0x00, // TS 123456, 0
    0x01, // NOP
    0x03, 0x03, 0x07, // window scale 7
];

#[test]
fn linux_syn_options() {
    let expected = [
        TcpOption::MaxSegmentSize(1460),
        TcpOption::SackPermitted,
        TcpOption::Timestamps { tsval: 123_456, tsecr: 0 },
        TcpOption::NoOperation,
        TcpOption::WindowScale(7),
    ];
    assert_eq!(parse_all(&LINUX_SYN), expected.map(Ok));
    let options = TcpOptions::new(&LINUX_SYN);
    assert_eq!(options.mss(), Some(1460));
    assert_eq!(options.window_scale(), Some(7));
    assert!(options.sack_permitted());
    assert_eq!(options.timestamps(), Some((123_456, 0)));
    assert_eq!(options.sack_blocks(), None);
    assert_eq!(options.mptcp().count(), 0);
    assert_eq!(options.validate(), Ok(()));

    let mut area = [0xff; 40];
    let mut writer = TcpOptionWriter::new(&mut area);
    for option in &expected {
        writer.push(option).unwrap();
    }
    assert_eq!(writer.finish(), 20);
    assert_eq!(area[..20], LINUX_SYN);
}

/// An ACK with timestamps and two SACK blocks, Linux layout: NOP NOP TS NOP NOP SACK.
const SACK_ACK: [u8; 32] = [
    0x01, 0x01, 0x08, 0x0a, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x20, 0x00, // TS 4096, 8192
    0x01, 0x01, 0x05, 0x12, // SACK, 2 blocks
    0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, // 0xffffff00..0x100 (wraps)
    0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x30, 0x00, // 0x2000..0x3000
];

#[test]
fn sack_options() {
    let blocks = SackBlocks::new(&[(0xffff_ff00, 0x100), (0x2000, 0x3000)]).unwrap();
    let expected = [
        TcpOption::NoOperation,
        TcpOption::NoOperation,
        TcpOption::Timestamps { tsval: 4096, tsecr: 8192 },
        TcpOption::NoOperation,
        TcpOption::NoOperation,
        TcpOption::SackRange(blocks),
    ];
    assert_eq!(parse_all(&SACK_ACK), expected.map(Ok));
    let options = TcpOptions::new(&SACK_ACK);
    assert_eq!(options.timestamps(), Some((4096, 8192)));
    assert_eq!(options.sack_blocks(), Some(blocks));
    assert_eq!(options.sack_blocks().unwrap().as_slice()[1], (0x2000, 0x3000));
    assert_eq!(options.mss(), None);

    let mut area = [0; 40];
    let mut writer = TcpOptionWriter::new(&mut area);
    expected.iter().for_each(|option| writer.push(option).unwrap());
    assert_eq!(writer.finish(), 32);
    assert_eq!(area[..32], SACK_ACK);
}

#[test]
fn framing_errors() {
    assert_eq!(parse(&[]), Err(Error::Truncated));
    assert_eq!(parse(&[2]), Err(Error::Truncated));
    assert_eq!(parse(&[2, 0]), Err(Error::Malformed));
    assert_eq!(parse(&[99, 1, 0, 0]), Err(Error::Malformed));
    assert_eq!(parse(&[2, 4, 5]), Err(Error::Truncated));
    assert_eq!(parse(&[99, 40, 0, 0]), Err(Error::Truncated));
}

#[test]
fn length_errors() {
    assert_eq!(parse(&[2, 3, 5]), Err(Error::Malformed));
    assert_eq!(parse(&[2, 5, 5, 0xb4, 0]), Err(Error::Malformed));
    assert_eq!(parse(&[3, 4, 7, 0]), Err(Error::Malformed));
    assert_eq!(parse(&[4, 3, 0]), Err(Error::Malformed));
    assert_eq!(parse(&[8, 9, 0, 0, 0, 0, 0, 0, 0]), Err(Error::Malformed));
    // RFC 2018 §3: 2 + 8n with n in 1..=4.
    assert_eq!(parse(&[5, 2]), Err(Error::Malformed));
    assert_eq!(parse(&[5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Err(Error::Malformed));
    let mut five = vec![5, 42];
    five.resize(42, 0);
    assert_eq!(parse(&five), Err(Error::Malformed));
    // RFC 8684 §3: an MPTCP option has at least its subtype byte.
    assert_eq!(parse(&[30, 2]), Err(Error::Malformed));
    assert_eq!(parse(&[30, 3, 0x10]), Ok(TcpOption::Mptcp(&[30, 3, 0x10])));
}

#[test]
fn values_out_of_range_are_not_errors() {
    // RFC 7323 §2.3: a shift above 14 is clamped by the receiver, not rejected.
    assert_eq!(TcpOption::parse(&[3, 3, 15]), Ok((TcpOption::WindowScale(15), &[][..])));
    assert_eq!(TcpOption::parse(&[2, 4, 0, 0]), Ok((TcpOption::MaxSegmentSize(0), &[][..])));
    let tfo = [34, 6, 1, 2, 3, 4, 9];
    assert_eq!(
        TcpOption::parse(&tfo),
        Ok((TcpOption::Unknown { kind: 34, data: &[1, 2, 3, 4] }, &[9][..]))
    );
}

#[test]
fn unknown_with_a_known_kind_is_emitted_as_given() {
    // Not something `parse` returns: it reads back as the option of that kind.
    let option = TcpOption::Unknown { kind: kind::MAX_SEGMENT_SIZE, data: &[0x05, 0xb4] };
    let mut buf = [0; 4];
    assert_eq!(option.emit(&mut buf), 4);
    assert_eq!(parse(&buf), Ok(TcpOption::MaxSegmentSize(1460)));
}

#[test]
fn iteration_stops_after_end_of_list() {
    let bytes = [2, 4, 5, 0xb4, 0, 1, 2, 1];
    let mut iter = TcpOptions::new(&bytes).iter();
    assert_eq!(iter.next(), Some(Ok(TcpOption::MaxSegmentSize(1460))));
    assert_eq!(iter.next(), Some(Ok(TcpOption::EndOfList)));
    assert_eq!(iter.next(), None);
    assert_eq!(iter.rest(), &[1, 2, 1]);
    assert_eq!(TcpOptions::new(&bytes).validate(), Ok(()));
}

#[test]
fn iteration_stops_after_an_error() {
    let bytes = [3, 3, 7, 2, 1, 4, 2];
    let options = TcpOptions::new(&bytes);
    let mut iter = options.iter();
    assert_eq!(iter.next(), Some(Ok(TcpOption::WindowScale(7))));
    assert_eq!(iter.next(), Some(Err(Error::Malformed)));
    assert_eq!(iter.next(), None);
    assert_eq!(iter.rest(), &[2, 1, 4, 2]);
    assert_eq!(options.validate(), Err(Error::Malformed));
    // Options before the error are found; those after it are not looked at.
    assert_eq!(options.window_scale(), Some(7));
    assert!(!options.sack_permitted());
}

#[test]
fn mptcp_options_are_whole_and_all_found() {
    let bytes = [30, 4, 0x20, 0x01, 1, 30, 3, 0x50, 0, 0, 0, 0];
    let options = TcpOptions::new(&bytes);
    let found: Vec<&[u8]> = options.mptcp().collect();
    assert_eq!(found, [&[30, 4, 0x20, 0x01][..], &[30, 3, 0x50][..]]);
}

#[test]
fn first_of_duplicates_wins() {
    let bytes = [2, 4, 0x05, 0xb4, 2, 4, 0x02, 0x18];
    assert_eq!(TcpOptions::new(&bytes).mss(), Some(1460));
}

#[test]
fn writer_respects_the_option_space() {
    let mut area = [0; 60];
    let mut writer = TcpOptionWriter::new(&mut area);
    for _ in 0..10 {
        writer.push(&TcpOption::MaxSegmentSize(536)).unwrap();
    }
    assert_eq!(writer.remaining(), 0);
    assert_eq!(writer.push(&TcpOption::NoOperation), Err(Error::Truncated));
    assert_eq!(writer.finish(), 40);

    let mut short = [0; 39];
    let mut writer = TcpOptionWriter::new(&mut short);
    assert_eq!(writer.remaining(), 36);
    let called = &mut false;
    assert_eq!(writer.push_with(37, |_| *called = true), Err(Error::Truncated));
    assert!(!*called);
    assert!(writer.is_empty());
}

#[test]
fn writer_pads_with_end_of_list_and_zeros() {
    let mut area = [0xee; 40];
    let mut writer = TcpOptionWriter::new(&mut area);
    writer.push(&TcpOption::WindowScale(9)).unwrap();
    writer
        .push_with(4, |buf| {
            assert_eq!(buf, [0; 4]);
            buf.copy_from_slice(&[30, 4, 0x21, 0x00]);
        })
        .unwrap();
    assert_eq!(writer.len(), 7);
    assert_eq!(writer.finish(), 8);
    assert_eq!(area[..9], [3, 3, 9, 30, 4, 0x21, 0x00, 0, 0xee]);
}

#[test]
fn sack_blocks_hold_one_to_four() {
    assert_eq!(SackBlocks::new(&[]), None);
    assert_eq!(SackBlocks::new(&[(1, 2); 5]), None);
    let four = SackBlocks::new(&[(1, 2); 4]).unwrap();
    assert_eq!(TcpOption::SackRange(four).buffer_len(), 34);
    assert_eq!(format!("{four:?}"), "[(1, 2), (1, 2), (1, 2), (1, 2)]");
}

proptest! {
    #[test]
    fn parse_of_emit_is_identity(model in arb_model()) {
        let option = model.option();
        let mut buf = [0; 64];
        let len = option.emit(&mut buf);
        prop_assert_eq!(len, option.buffer_len());
        prop_assert_eq!(TcpOption::parse(&buf[..len]), Ok((option, &[][..])));
    }

    #[test]
    fn option_sequences_round_trip(models in arb_models()) {
        let area = write_area(&models);
        prop_assert!(area.len() <= MAX_OPTIONS_LEN && area.len().is_multiple_of(4));
        let parsed: Vec<TcpOption<'_>> =
            TcpOptions::new(&area).iter().collect::<Result<_, _>>().unwrap();
        let expected: Vec<TcpOption<'_>> = models.iter().map(Model::option).collect();
        prop_assert_eq!(&parsed[..expected.len()], &expected[..]);
        // Anything after the models is the End of Option List that starts the padding.
        prop_assert!(parsed[expected.len()..].iter().all(|o| *o == TcpOption::EndOfList));
        let mut again = [0; MAX_OPTIONS_LEN];
        let mut writer = TcpOptionWriter::new(&mut again);
        for option in &parsed {
            writer.push(option).unwrap();
        }
        let len = writer.finish();
        prop_assert_eq!(&again[..len], &area[..]);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_reassemble(bytes in vec(any::<u8>(), 0..80)) {
        let options = TcpOptions::new(&bytes);
        let mut iter = options.iter();
        let mut emitted = Vec::new();
        let mut count = 0;
        for item in iter.by_ref() {
            count += 1;
            if let Ok(option) = item {
                let mut buf = [0; 256];
                let len = option.emit(&mut buf);
                emitted.extend_from_slice(&buf[..len]);
            }
        }
        prop_assert!(count <= bytes.len() + 1);
        prop_assert_eq!(iter.next(), None);
        // What was decoded re-emits to the bytes it came from; the rest is left as it was.
        emitted.extend_from_slice(iter.rest());
        prop_assert_eq!(emitted, bytes.clone());
    }

    #[test]
    fn helpers_agree_with_iteration(bytes in vec(any::<u8>(), 0..48)) {
        let options = TcpOptions::new(&bytes);
        let valid: Vec<TcpOption<'_>> = options.iter().map_while(Result::ok).collect();
        let first = |f: fn(&TcpOption<'_>) -> bool| valid.iter().copied().find(f);
        prop_assert_eq!(
            options.timestamps(),
            first(|o| matches!(o, TcpOption::Timestamps { .. })).map(|o| match o {
                TcpOption::Timestamps { tsval, tsecr } => (tsval, tsecr),
                _ => unreachable!(),
            })
        );
        prop_assert_eq!(options.mss().is_some(), first(|o| o.kind() == kind::MAX_SEGMENT_SIZE).is_some());
        prop_assert_eq!(options.sack_permitted(), first(|o| *o == TcpOption::SackPermitted).is_some());
        let mptcp = valid.iter().filter(|o| o.kind() == kind::MPTCP).count();
        prop_assert_eq!(options.mptcp().count(), mptcp);
    }

    #[test]
    fn timestamps_fast_path_matches_slow_path(tsval: u32, tsecr: u32, tail in vec(any::<u8>(), 0..28)) {
        let mut bytes = vec![1, 1, 8, 10];
        bytes.extend_from_slice(&tsval.to_be_bytes());
        bytes.extend_from_slice(&tsecr.to_be_bytes());
        bytes.extend_from_slice(&tail);
        prop_assert_eq!(TcpOptions::new(&bytes).timestamps(), Some((tsval, tsecr)));
    }
}
