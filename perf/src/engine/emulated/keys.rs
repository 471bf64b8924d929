//! The client's MPTCP keys and what derives from them, per version: the token and the
//! initial data sequence number (RFC 6824 §3.1 and RFC 8684 §3.1: SHA-1 for v0, SHA-256
//! for v1) and the MP_JOIN HMACs (RFC 6824 §3.2 HMAC-SHA1, RFC 8684 §3.2 HMAC-SHA256).
//! Written for the emulated iPhone only, from the RFCs and docs/ios-emulation.md; it shares
//! nothing with the appliance's own MPTCP crypto on purpose.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Which MPTCP an iPhone speaks on one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Version {
    /// RFC 6824.
    V0,
    /// RFC 8684.
    V1,
}

impl Version {
    /// The MP_CAPABLE version field.
    pub(crate) fn number(self) -> u8 {
        match self {
            Version::V0 => 0,
            Version::V1 => 1,
        }
    }
}

/// The hash of `key` (8 bytes, network order) with the version's function.
fn digest(version: Version, key: u64) -> Vec<u8> {
    match version {
        Version::V0 => Sha1::digest(key.to_be_bytes()).to_vec(),
        Version::V1 => Sha256::digest(key.to_be_bytes()).to_vec(),
    }
}

/// The token of `key`: the most significant 32 bits of its hash (RFC 8684 §3.2, RFC 6824
/// §3.2).
pub(crate) fn token(version: Version, key: u64) -> u32 {
    let d = digest(version, key);
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// The initial data sequence number of `key`: the least significant 64 bits of its hash
/// (RFC 8684 §3.1; for SHA-1 that is bytes 12..20 of the 20-byte digest).
pub(crate) fn idsn(version: Version, key: u64) -> u64 {
    let d = digest(version, key);
    let n = d.len();
    let mut low = [0u8; 8];
    low.copy_from_slice(&d[n - 8..]);
    u64::from_be_bytes(low)
}

/// The full MP_JOIN HMAC with key `k1 ‖ k2` over `r1 ‖ r2` (RFC 8684 §3.2: the SYN/ACK's
/// MAC uses the server's key first, the third ACK's the client's).
pub(crate) fn join_hmac(version: Version, k1: u64, k2: u64, r1: u32, r2: u32) -> Vec<u8> {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&k1.to_be_bytes());
    key[8..].copy_from_slice(&k2.to_be_bytes());
    let mut msg = [0u8; 8];
    msg[..4].copy_from_slice(&r1.to_be_bytes());
    msg[4..].copy_from_slice(&r2.to_be_bytes());
    match version {
        Version::V0 => {
            let mut mac = Hmac::<Sha1>::new_from_slice(&key).expect("HMAC takes any key length");
            mac.update(&msg);
            mac.finalize().into_bytes().to_vec()
        }
        Version::V1 => {
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
            mac.update(&msg);
            mac.finalize().into_bytes().to_vec()
        }
    }
}

/// A fresh random 64-bit key (RFC 8684 §3.1: random, unpredictable).
pub(crate) fn random_key() -> u64 {
    let mut b = [0u8; 8];
    // The OS random source failing leaves a key from the clock: still unique per run.
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        b = (t as u64).to_be_bytes();
    }
    u64::from_be_bytes(b)
}

/// A fresh random 32-bit value (MP_JOIN nonces, ISNs).
pub(crate) fn random_u32() -> u32 {
    (random_key() >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_token_and_idsn_are_the_ends_of_sha256() {
        // The RFCs give no vectors: the definition, computed directly (tshark checks the
        // same values end to end in tests/scripts/emulated-e2e.sh).
        let key = 0x0102_0304_0506_0708u64;
        let d = Sha256::digest(key.to_be_bytes());
        assert_eq!(token(Version::V1, key), u32::from_be_bytes(d[..4].try_into().unwrap()));
        assert_eq!(idsn(Version::V1, key), u64::from_be_bytes(d[24..].try_into().unwrap()));
    }

    #[test]
    fn v0_idsn_is_digest_bytes_12_to_19() {
        let key = 0xdead_beef_0000_0001u64;
        let d = Sha1::digest(key.to_be_bytes());
        assert_eq!(token(Version::V0, key), u32::from_be_bytes(d[..4].try_into().unwrap()));
        assert_eq!(idsn(Version::V0, key), u64::from_be_bytes(d[12..20].try_into().unwrap()));
    }

    #[test]
    fn join_hmac_lengths() {
        assert_eq!(join_hmac(Version::V0, 1, 2, 3, 4).len(), 20);
        assert_eq!(join_hmac(Version::V1, 1, 2, 3, 4).len(), 32);
        assert_ne!(join_hmac(Version::V1, 1, 2, 3, 4), join_hmac(Version::V1, 2, 1, 3, 4));
    }
}
