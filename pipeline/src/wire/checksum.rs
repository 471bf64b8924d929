//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! IPv4 headers, TCP, UDP and ICMP carry the ones'-complement of the ones'-complement sum of
//! their 16-bit words (RFC 1071 §1). The functions here return that *sum*, folded to 16 bits
//! but not complemented, so that partial sums (pseudo-header, header, payload) can be added
//! with [`combine`]; the caller complements once, e.g.
//! `!combine(&[pseudo_header_v4(..), data(segment)])`. Bytes that include their checksum
//! field verify when their sum is `0xFFFF`.
//!
//! A rewrite of a few fields (an address, a port, the TTL) updates the stored checksum field
//! with RFC 1624 eqn. 3 ([`update_u16`], [`update_u32`], [`update_bytes`]) instead of summing
//! the whole packet again.

use core::net::{Ipv4Addr, Ipv6Addr};

/// Bytes summed per block: the 64-bit accumulator of 32-bit lanes cannot overflow within one.
const BLOCK: usize = 1 << 20;

/// The ones'-complement sum of `bytes` read as big-endian 16-bit words, folded to 16 bits and
/// not complemented (RFC 1071 §1). An odd trailing byte is summed as if followed by a zero
/// byte (RFC 9293 §3.1, "Checksum"). The sum of all-zero (or empty) input is `0`.
///
/// Sums that are later [`combine`]d must each cover data that starts at an even offset of the
/// checksummed whole; only the last part may have an odd length.
pub fn data(bytes: &[u8]) -> u16 {
    let mut total: u64 = 0;
    for block in bytes.chunks(BLOCK) {
        total += u64::from(block_sum(block));
    }
    fold(total)
}

/// The folded sum of one block of at most [`BLOCK`] bytes.
///
/// The block is read as native-endian 32-bit lanes added into a `u64` without carries (no
/// byte swaps, so the loop vectorises). Each lane is two 16-bit words and `2^16 ≡ 1` modulo
/// `0xFFFF`, so folding gives the sum of native-endian words; that is the byte-swap of the
/// big-endian sum (RFC 1071 §2(B)), which `u16::from_be` undoes on little-endian machines.
fn block_sum(block: &[u8]) -> u16 {
    let mut acc: u64 = 0;
    let mut lanes = block.chunks_exact(4);
    for lane in &mut lanes {
        let mut word = [0u8; 4];
        // `chunks_exact(4)` yields slices of exactly 4 bytes.
        word.copy_from_slice(lane);
        acc += u64::from(u32::from_ne_bytes(word));
    }
    let rest = lanes.remainder();
    let mut tail = [0u8; 4];
    // The remainder of `chunks_exact(4)` is shorter than 4 bytes; zero padding is RFC 1071's.
    tail[..rest.len()].copy_from_slice(rest);
    acc += u64::from(u32::from_ne_bytes(tail));
    u16::from_be(fold(acc))
}

/// Folds a sum of 16-bit words to 16 bits by adding the deferred carries back in
/// (RFC 1071 §2(C), §2(D)).
fn fold(mut sum: u64) -> u16 {
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    // The loop leaves `sum <= 0xFFFF`.
    sum as u16
}

/// The ones'-complement sum of several folded sums (RFC 1071 §2(A): the sum is associative).
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| u64::from(s)).sum())
}

/// The sum of the IPv4 pseudo-header for TCP, UDP and the like: source and destination
/// address, a zero byte, `protocol`, and the upper-layer `length` (RFC 9293 §3.1, RFC 768).
/// `length` is a 16-bit field on the wire for IPv4; it is summed as a 32-bit value so that
/// any value below 65 536 gives the same result.
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u32) -> u16 {
    let addrs = u64::from(src.to_bits()) + u64::from(dst.to_bits());
    fold(addrs + u64::from(protocol) + u64::from(length))
}

/// The sum of the IPv6 pseudo-header: source and destination address, the 32-bit
/// upper-layer packet `length`, three zero bytes and `next_header` (RFC 8200 §8.1).
pub fn pseudo_header_v6(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, length: u32) -> u16 {
    let words = src.segments().into_iter().chain(dst.segments());
    let addrs: u64 = words.map(u64::from).sum();
    fold(addrs + u64::from(next_header) + u64::from(length))
}

/// The new value of a stored checksum field `checksum` after a 16-bit word of the covered
/// data (at an even offset) changes from `old` to `new`: RFC 1624 §3 eqn. 3,
/// `HC' = ~(~HC + ~m + m')`.
///
/// Unlike eqn. 2 this never turns a correct `0x0000` into `0xFFFF` (RFC 1624 §4). It
/// differs from a full recomputation in one case only: when the data becomes all zero, where
/// recomputing gives `0xFFFF` and this gives `0x0000` (both are zero in ones'-complement;
/// headers that carry a version field can never be all zero).
pub fn update_u16(checksum: u16, old: u16, new: u16) -> u16 {
    !fold(u64::from(!checksum) + u64::from(!old) + u64::from(new))
}

/// [`update_u16`] for a 32-bit field (an IPv4 address, a sequence number) at an even offset:
/// `!old` complements both of its 16-bit words at once.
pub fn update_u32(checksum: u16, old: u32, new: u32) -> u16 {
    !fold(u64::from(!checksum) + u64::from(!old) + u64::from(new))
}

/// [`update_u16`] for a byte range (an IPv6 address, say) that changes from `old` to `new`.
///
/// Both must start at the same even offset of the checksummed data and normally have the
/// same, even length; an odd length is summed as if padded with a zero byte, which is right
/// only where the range ends the data.
pub fn update_bytes(checksum: u16, old: &[u8], new: &[u8]) -> u16 {
    !fold(u64::from(!checksum) + u64::from(!data(old)) + u64::from(data(new)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::Index;

    /// RFC 1071 word by word, as the specification states it.
    fn reference(bytes: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        for pair in bytes.chunks(2) {
            let word = u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]);
            sum += u32::from(word);
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        sum as u16
    }

    fn words_to_bytes(words: &[u16]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    /// The checksum field value of `packet` with its field at `at`, computed from scratch.
    fn recompute(packet: &[u8], at: usize) -> u16 {
        let mut copy = packet.to_vec();
        copy[at..at + 2].fill(0);
        !data(&copy)
    }

    fn store(packet: &mut [u8], at: usize, value: u16) {
        packet[at..at + 2].copy_from_slice(&value.to_be_bytes());
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(data(&bytes), 0xddf2);
        assert_eq!(!data(&bytes), 0x220d);
        assert_eq!(combine(&[data(&bytes[..4]), data(&bytes[4..])]), 0xddf2);
    }

    #[test]
    fn odd_lengths_pad_with_zero() {
        assert_eq!(data(&[]), 0);
        assert_eq!(data(&[0x01]), 0x0100);
        assert_eq!(data(&[0x00, 0x01, 0xf2]), 0xf201);
        assert_eq!(data(&[0xff; 7]), 0xff00);
        assert_eq!(data(&[0xff; 8]), 0xffff);
    }

    #[test]
    fn rfc1624_example() {
        // RFC 1624 §4: m = 0x5555 -> m' = 0x3285 with the other words summing to 0xCD7A;
        // HC = 0xDD2F and the correct new checksum is 0x0000 (eqn. 2 would give 0xFFFF).
        assert_eq!(update_u16(0xDD2F, 0x5555, 0x3285), 0x0000);
        let before = words_to_bytes(&[0xCD7A, 0xDD2F, 0x5555]);
        assert_eq!(recompute(&before, 2), 0xDD2F);
        let after = words_to_bytes(&[0xCD7A, 0x0000, 0x3285]);
        assert_eq!(recompute(&after, 2), 0x0000);
    }

    #[test]
    fn stored_ffff_on_zero_data_updates() {
        // All-zero data with a stored 0xFFFF: the only way a full computation yields 0xFFFF.
        assert_eq!(recompute(&[0, 0, 0, 0], 0), 0xFFFF);
        assert_eq!(update_u16(0xFFFF, 0x0000, 0x1234), !0x1234);
    }

    #[test]
    fn pseudo_headers_match_their_bytes() {
        let (s4, d4) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(198, 51, 100, 7));
        let mut v4 = Vec::new();
        v4.extend_from_slice(&s4.octets());
        v4.extend_from_slice(&d4.octets());
        v4.extend_from_slice(&[0, 6, 0x05, 0xdc]);
        assert_eq!(pseudo_header_v4(s4, d4, 6, 1500), data(&v4));

        let s6: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let d6: Ipv6Addr = "2001:db8:ffff::abcd".parse().unwrap();
        let mut v6 = Vec::new();
        v6.extend_from_slice(&s6.octets());
        v6.extend_from_slice(&d6.octets());
        v6.extend_from_slice(&0x0001_0010u32.to_be_bytes());
        v6.extend_from_slice(&[0, 0, 0, 17]);
        assert_eq!(pseudo_header_v6(&s6, &d6, 17, 0x0001_0010), data(&v6));
    }

    /// How a generated packet is steered into RFC 1624's corner cases.
    fn steer(packet: &mut [u8], ck: usize, field: usize, new: &mut u16, corner: u8) {
        let mut others = packet.to_vec();
        others[ck..ck + 2].fill(0);
        others[field..field + 2].fill(0);
        let negated = !data(&others);
        match corner {
            // The new data sums to 0xFFFF: the recomputed checksum is 0x0000.
            1 => *new = negated,
            // The old data sums to 0xFFFF: the stored checksum is 0x0000.
            2 => store(packet, field, negated),
            _ => {}
        }
        let checksum = recompute(packet, ck);
        store(packet, ck, checksum);
    }

    proptest! {
        #[test]
        fn data_matches_reference(bytes in vec(any::<u8>(), 0..3000), skip in 0usize..8) {
            let bytes = bytes.get(skip..).unwrap_or(&[]);
            prop_assert_eq!(data(bytes), reference(bytes));
        }

        #[test]
        fn combine_matches_concatenation(a in vec(any::<u16>(), 0..100), b in vec(any::<u8>(), 0..100)) {
            let a = words_to_bytes(&a);
            let whole = [a.as_slice(), b.as_slice()].concat();
            prop_assert_eq!(combine(&[data(&a), data(&b)]), data(&whole));
        }

        #[test]
        fn update_u16_matches_recomputation(
            words in vec(any::<u16>(), 2..40),
            ck in any::<Index>(),
            field in any::<Index>(),
            mut new in any::<u16>(),
            corner in 0u8..3,
        ) {
            let mut packet = words_to_bytes(&words);
            let ck = 2 * ck.index(words.len());
            let field = 2 * ((ck / 2 + 1 + field.index(words.len() - 1)) % words.len());
            steer(&mut packet, ck, field, &mut new, corner);
            let old = u16::from_be_bytes([packet[field], packet[field + 1]]);
            let stored = u16::from_be_bytes([packet[ck], packet[ck + 1]]);
            store(&mut packet, field, new);
            let expected = recompute(&packet, ck);
            prop_assume!(packet.iter().enumerate().any(|(i, &b)| b != 0 && i / 2 != ck / 2));
            prop_assert_eq!(update_u16(stored, old, new), expected);
            store(&mut packet, ck, expected);
            prop_assert_eq!(data(&packet), 0xFFFF);
        }

        #[test]
        fn update_u32_and_bytes_match_recomputation(
            words in vec(any::<u16>(), 14..40),
            new in vec(any::<u8>(), 16),
            start in 0usize..4,
        ) {
            // Checksum at 0, a 32-bit field at 2 + 2 * start, a 16-byte field after it.
            let mut packet = words_to_bytes(&words);
            let ck = recompute(&packet, 0);
            store(&mut packet, 0, ck);
            let at = 2 + 2 * start;
            let old32 = u32::from_be_bytes(packet[at..at + 4].try_into().unwrap());
            let new32 = u32::from_be_bytes(new[..4].try_into().unwrap());
            packet[at..at + 4].copy_from_slice(&new[..4]);
            let ck32 = recompute(&packet, 0);
            prop_assume!(packet[2..].iter().any(|&b| b != 0));
            prop_assert_eq!(update_u32(ck, old32, new32), ck32);

            let range = at + 4..at + 20;
            let old = packet[range.clone()].to_vec();
            packet[range].copy_from_slice(&new);
            let ck_bytes = recompute(&packet, 0);
            prop_assume!(packet[2..].iter().any(|&b| b != 0));
            prop_assert_eq!(update_bytes(ck32, &old, &new), ck_bytes);
        }
    }
}
