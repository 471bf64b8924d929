//! Known-answer and property tests for MPTCP keys, tokens, IDSNs and HMACs.
//!
//! There are no official RFC test vectors. The expected values below were computed
//! independently with Python 3's `hashlib` and `hmac` modules (script reproduced in the
//! comments), keys packed as 8 bytes big-endian (`struct.pack('>Q', key)`), nonces as 4
//! (`'>I'`), ports as 2 (`'>H'`), addresses with `ipaddress.ip_address(a).packed`:
//!
//! ```text
//! d = hashlib.sha256(struct.pack('>Q', key)).digest()   # or hashlib.sha1
//! token, idsn = d[:4], d[-8:]
//! hmac.new(pack('>Q', KA) + pack('>Q', KB), pack('>I', RA) + pack('>I', RB), sha256).digest()
//! ```
//!
//! The Linux KUnit vectors of `net/mptcp/crypto_test.c` are checked as well; Python agrees
//! with them.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;

const KA: u64 = 0x0123_4567_89ab_cdef;
const KB: u64 = 0xfedc_ba98_7654_3210;
const RA: u32 = 0x1122_3344;
const RB: u32 = 0xaabb_ccdd;
const ALGOS: [HashAlgo; 2] = [HashAlgo::Sha1, HashAlgo::Sha256];

fn hex<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    assert_eq!(s.len(), 2 * N, "test vector length");
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("test vector is hex");
    }
    out
}

/// (host A's keys, host B's keys): A opens the join, B answers it.
fn pair(algo: HashAlgo) -> (HmacKeys, HmacKeys) {
    let a = HmacKeys::new(&KeyMaterial::new(KA, algo), KB);
    let b = HmacKeys::new(&KeyMaterial::new(KB, algo), KA);
    (a, b)
}

#[test]
fn token_and_idsn_sha256_match_python() {
    // RFC 8684 §3.1. python3: hashlib.sha256(struct.pack('>Q', key)).digest()
    let cases = [
        (KA, 0x55c5_3f5d, 0x5707_62cd_38be_9818), // 55c53f5d...570762cd38be9818
        (KB, 0x18f9_781b, 0x2808_18bf_0fa7_e28e), // 18f9781b...280818bf0fa7e28e
        (0, 0xaf55_70f5, 0xe5b2_328d_e0e8_3dfc),  // af5570f5...e5b2328de0e83dfc
    ];
    for (key, tok, isn) in cases {
        assert_eq!(token(key, HashAlgo::Sha256), tok, "token of {key:#x}");
        assert_eq!(idsn(key, HashAlgo::Sha256), isn, "idsn of {key:#x}");
    }
}

#[test]
fn token_and_idsn_sha1_match_python() {
    // RFC 6824 §3.1. python3: hashlib.sha1(struct.pack('>Q', key)).digest()
    let cases = [
        (KA, 0x0ca2_eadb, 0xe3df_8ee1_21f1_0547), // 0ca2eadb...e3df8ee121f10547
        (KB, 0xa5be_6871, 0x334f_c234_bee4_95ca), // a5be6871...334fc234bee495ca
        (0, 0x05fe_4057, 0xac55_8654_f107_c7e9),  // 05fe4057...ac558654f107c7e9
    ];
    for (key, tok, isn) in cases {
        assert_eq!(token(key, HashAlgo::Sha1), tok, "token of {key:#x}");
        assert_eq!(idsn(key, HashAlgo::Sha1), isn, "idsn of {key:#x}");
    }
}

#[test]
fn key_material_hashes_once_and_hides_the_key() {
    for algo in ALGOS {
        let m = KeyMaterial::new(KA, algo);
        assert_eq!((m.key(), m.algo()), (KA, algo));
        assert_eq!((m.token(), m.idsn()), (token(KA, algo), idsn(KA, algo)));
        let debug = format!("{m:?}");
        assert!(!debug.contains("123456789abcdef") && !debug.contains(&KA.to_string()));
    }
}

#[test]
fn hash_algo_maps_from_version_number() {
    assert_eq!(HashAlgo::for_version(0), Some(HashAlgo::Sha1));
    assert_eq!(HashAlgo::for_version(1), Some(HashAlgo::Sha256));
    assert_eq!(HashAlgo::for_version(2), None);
}

#[test]
fn join_hmacs_sha256_match_python() {
    // RFC 8684 §3.2. python3:
    // HMAC-B = hmac.new(pack('>Q',KB)+pack('>Q',KA), pack('>I',RB)+pack('>I',RA), sha256)
    //        = 3bae5abc810a33c2e293af8b4572e4827e89510eea113d42...
    // HMAC-A = hmac.new(pack('>Q',KA)+pack('>Q',KB), pack('>I',RA)+pack('>I',RB), sha256)
    //        = f61753d6b8ac227764b9d1b17a6f5ceeec9d1a8a4351afe5...
    let (a, b) = pair(HashAlgo::Sha256);
    assert_eq!(b.syn_ack_hmac(RB, RA), 0x3bae_5abc_810a_33c2);
    assert_eq!(a.ack_hmac(RA, RB), hex("f61753d6b8ac227764b9d1b17a6f5ceeec9d1a8a"));
}

#[test]
fn join_hmacs_sha1_match_python() {
    // RFC 6824 §3.2, same inputs with hashlib.sha1:
    // HMAC-B = 327e3a27097c3dc0ee2bb63754182181cf0ada04
    // HMAC-A = 73f372c7fb45d80f5ac7adb91baca5c87b0c783d
    let (a, b) = pair(HashAlgo::Sha1);
    assert_eq!(b.syn_ack_hmac(RB, RA), 0x327e_3a27_097c_3dc0);
    assert_eq!(a.ack_hmac(RA, RB), hex("73f372c7fb45d80f5ac7adb91baca5c87b0c783d"));
}

#[test]
fn join_hmac_matches_linux_kunit_vectors() {
    // net/mptcp/crypto_test.c: the key and message strings are used as raw ASCII bytes, so
    // key1 = "01020304", key2 = "05060708", nonces "cdcd", "cdcd"; HMAC-SHA256 =
    // e73b9ba9969969cefb04aa0d6df18ec2fcc075b6f23b4d8c4da736a5dbbc6e7d.
    let local = KeyMaterial::new(0x3031_3032_3033_3034, HashAlgo::Sha256);
    let keys = HmacKeys::new(&local, 0x3035_3036_3037_3038);
    assert_eq!(keys.syn_ack_hmac(0x6364_6364, 0x6364_6364), 0xe73b_9ba9_9699_69ce);
    assert_eq!(
        keys.ack_hmac(0x6364_6364, 0x6364_6364),
        hex("e73b9ba9969969cefb04aa0d6df18ec2fcc075b6")
    );
    // key "0b0b0b0b0b0b0b0b", msg "48692054": 8385e24fb4235ac3...
    let local = KeyMaterial::new(0x3062_3062_3062_3062, HashAlgo::Sha256);
    let keys = HmacKeys::new(&local, 0x3062_3062_3062_3062);
    assert_eq!(keys.syn_ack_hmac(0x3438_3639, 0x3230_3534), 0x8385_e24f_b423_5ac3);
}

#[test]
fn join_verifies_across_hosts_and_proves_what_it_checked() {
    for algo in ALGOS {
        let (a, b) = pair(algo);
        let proof = a.verify_syn_ack_hmac(RA, RB, b.syn_ack_hmac(RB, RA)).expect("SYN/ACK");
        assert_eq!(proof.step(), JoinStep::SynAck);
        assert_eq!(proof.local_token(), token(KA, algo));
        assert_eq!((proof.local_nonce(), proof.remote_nonce()), (RA, RB));

        let proof = b.verify_ack_hmac(RB, RA, &a.ack_hmac(RA, RB)).expect("third ACK");
        assert_eq!(proof.step(), JoinStep::ThirdAck);
        assert_eq!(proof.local_token(), token(KB, algo));
        assert_eq!((proof.local_nonce(), proof.remote_nonce()), (RB, RA));
    }
}

#[test]
fn join_rejects_swapped_nonces_and_wrong_keys() {
    for algo in ALGOS {
        let (a, b) = pair(algo);
        // Reflection: B's own value sent back to B, or nonces in the wrong order.
        assert_eq!(b.verify_ack_hmac(RB, RA, &b.ack_hmac(RB, RA)), Err(HmacMismatch));
        assert!(a.verify_syn_ack_hmac(RB, RA, b.syn_ack_hmac(RB, RA)).is_err());
        let stranger = HmacKeys::new(&KeyMaterial::new(KB ^ 1, algo), KA);
        assert!(a.verify_syn_ack_hmac(RA, RB, stranger.syn_ack_hmac(RB, RA)).is_err());
    }
}

#[test]
fn add_addr_hmac_matches_python() {
    // RFC 8684 §3.4.1, sender A. python3:
    // hmac.new(pack('>Q',KA)+pack('>Q',KB), bytes([id]) + ip.packed + pack('>H', port),
    //          sha256).digest()[-8:]
    let v4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let cases = [
        (1, v4, None, 0x7faa_8ea2_6898_8972), // c0c56ca6...7faa8ea268988972
        (2, v4, Some(8443), 0x445d_87e5_a41d_108f), // 96706eba...445d87e5a41d108f
        (3, ip6(1), None, 0x3fb0_4379_44b9_1899), // 0fc1325b...3fb0437944b91899
        (4, ip6(2), Some(443), 0x1377_76ca_8b27_e9a3), // d4d82205...137776ca8b27e9a3
    ];
    let (a, b) = pair(HashAlgo::Sha256);
    for (id, addr, port, expected) in cases {
        assert_eq!(a.add_addr_hmac(id, addr, port), Some(expected), "id {id}");
        let proof = b.verify_add_addr_hmac(id, addr, port, expected).expect("verifies");
        assert_eq!((proof.id(), proof.addr(), proof.port()), (id, addr, port));
    }
}

fn ip6(last: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last))
}

#[test]
fn add_addr_rejects_changed_fields_and_own_hmac() {
    let (a, b) = pair(HashAlgo::Sha256);
    let v4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let mac = a.add_addr_hmac(2, v4, Some(8443)).expect("v1");
    assert!(b.verify_add_addr_hmac(2, v4, Some(8443), mac).is_ok());
    assert!(b.verify_add_addr_hmac(3, v4, Some(8443), mac).is_err());
    assert!(b.verify_add_addr_hmac(2, v4, Some(8444), mac).is_err());
    assert!(b.verify_add_addr_hmac(2, v4, None, mac).is_err());
    assert!(
        b.verify_add_addr_hmac(2, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), Some(8443), mac)
            .is_err()
    );
    // A's ADD_ADDR reflected back to A must not verify: the key order differs.
    assert!(a.verify_add_addr_hmac(2, v4, Some(8443), mac).is_err());
    // No port and port 0 hash the same two zero bytes, as in Linux.
    assert_eq!(a.add_addr_hmac(1, v4, None), a.add_addr_hmac(1, v4, Some(0)));
}

#[test]
fn add_addr_has_no_hmac_in_v0() {
    let (a, b) = pair(HashAlgo::Sha1);
    let v4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(a.add_addr_hmac(1, v4, None), None);
    assert_eq!(b.verify_add_addr_hmac(1, v4, None, 0), Err(HmacMismatch));
}

#[test]
fn key_rng_is_deterministic_per_seed() {
    let mut x = KeyRng::from_seed([7; 32]);
    let mut y = KeyRng::from_seed([7; 32]);
    let mut z = KeyRng::from_seed([8; 32]);
    let xs: Vec<u64> = (0..4).map(|_| x.generate_key()).collect();
    let ys: Vec<u64> = (0..4).map(|_| y.generate_key()).collect();
    let zs: Vec<u64> = (0..4).map(|_| z.generate_key()).collect();
    assert_eq!(xs, ys);
    assert_ne!(xs, zs);
    assert_ne!(x.random_u32(), z.random_u32());
    assert_eq!(format!("{x:?}"), "KeyRng { .. }");
}

#[test]
fn generate_key_where_returns_an_accepted_token() {
    let mut rng = KeyRng::from_seed([1; 32]);
    for algo in ALGOS {
        // The appliance's use: the low byte of the token names worker 5.
        let m = rng.generate_key_where(algo, 8192, |t| t & 0xff == 5).expect("found");
        assert_eq!(m.token() & 0xff, 5);
        assert_eq!(m, KeyMaterial::new(m.key(), algo));
    }
}

#[test]
fn generate_key_where_gives_up_after_max_attempts() {
    let mut rng = KeyRng::from_seed([2; 32]);
    let mut calls = 0;
    let found = rng.generate_key_where(HashAlgo::Sha256, 37, |_| {
        calls += 1;
        false
    });
    assert_eq!((found, calls), (None, 37));
    assert_eq!(rng.generate_key_where(HashAlgo::Sha256, 0, |_| true), None);
}

proptest! {
    #[test]
    fn any_join_verifies_and_any_bit_flip_fails(
        ka: u64, kb: u64, ra: u32, rb: u32, bit in 0usize..160, v1: bool,
    ) {
        let algo = if v1 { HashAlgo::Sha256 } else { HashAlgo::Sha1 };
        let a = HmacKeys::new(&KeyMaterial::new(ka, algo), kb);
        let b = HmacKeys::new(&KeyMaterial::new(kb, algo), ka);
        let synack = b.syn_ack_hmac(rb, ra);
        prop_assert!(a.verify_syn_ack_hmac(ra, rb, synack).is_ok());
        prop_assert!(a.verify_syn_ack_hmac(ra, rb, synack ^ (1 << (bit % 64))).is_err());
        let mut ack = a.ack_hmac(ra, rb);
        prop_assert!(b.verify_ack_hmac(rb, ra, &ack).is_ok());
        ack[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(b.verify_ack_hmac(rb, ra, &ack).is_err());
    }

    #[test]
    fn truncated_syn_ack_hmac_is_the_prefix_of_the_full_one(k1: u64, k2: u64, n1: u32, n2: u32, v1: bool) {
        let algo = if v1 { HashAlgo::Sha256 } else { HashAlgo::Sha1 };
        let keys = HmacKeys::new(&KeyMaterial::new(k1, algo), k2);
        let full = keys.ack_hmac(n1, n2);
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(&full[..8]);
        prop_assert_eq!(keys.syn_ack_hmac(n1, n2), u64::from_be_bytes(prefix));
    }
}
