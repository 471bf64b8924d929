//! The hash algorithm of an MPTCP version, and the token and IDSN derived from a key.

use core::fmt;

use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The hash function MPTCP uses for tokens, IDSNs and HMACs.
///
/// One variant per protocol version, so mapping from a version enum is a one-line `match`
/// (v0 → [`Sha1`](HashAlgo::Sha1), v1 → [`Sha256`](HashAlgo::Sha256)), or use
/// [`HashAlgo::for_version`] with the 4-bit version number of MP_CAPABLE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgo {
    /// SHA-1 and HMAC-SHA1: MPTCP v0 (RFC 6824 §3.1, the "S" bit of MP_CAPABLE).
    Sha1,
    /// SHA-256 and HMAC-SHA256: MPTCP v1 (RFC 8684 §3.1, the "H" bit of MP_CAPABLE).
    Sha256,
}

impl HashAlgo {
    /// The algorithm of MP_CAPABLE version number `version`: 0 → SHA-1, 1 → SHA-256, any
    /// other number → `None`.
    pub const fn for_version(version: u8) -> Option<HashAlgo> {
        match version {
            0 => Some(HashAlgo::Sha1),
            1 => Some(HashAlgo::Sha256),
            _ => None,
        }
    }
}

impl From<crate::wire::mptcp::MptcpVersion> for HashAlgo {
    /// The algorithm a negotiated version uses: v0 SHA-1 (RFC 6824 §3.1), v1 SHA-256
    /// (RFC 8684 §3.1).
    fn from(version: crate::wire::mptcp::MptcpVersion) -> HashAlgo {
        match version {
            crate::wire::mptcp::MptcpVersion::V0 => HashAlgo::Sha1,
            crate::wire::mptcp::MptcpVersion::V1 => HashAlgo::Sha256,
        }
    }
}

/// The token of `key`: the most significant 32 bits of SHA-256(key) (v1, RFC 8684 §3.1) or
/// SHA-1(key) (v0, RFC 6824 §3.1), the key hashed as 8 bytes in network byte order.
pub fn token(key: u64, algo: HashAlgo) -> u32 {
    hash_key(key, algo).0
}

/// The initial data sequence number of `key`: the least significant 64 bits of SHA-256(key)
/// (v1, RFC 8684 §3.1) or SHA-1(key) (v0, RFC 6824 §3.1).
pub fn idsn(key: u64, algo: HashAlgo) -> u64 {
    hash_key(key, algo).1
}

/// Hashes `key` once and returns (token, IDSN): the first 4 and the last 8 digest bytes.
fn hash_key(key: u64, algo: HashAlgo) -> (u32, u64) {
    let input = key.to_be_bytes();
    match algo {
        HashAlgo::Sha1 => {
            let d: [u8; 20] = Sha1::digest(input).into();
            let [t0, t1, t2, t3, .., i0, i1, i2, i3, i4, i5, i6, i7] = d;
            (
                u32::from_be_bytes([t0, t1, t2, t3]),
                u64::from_be_bytes([i0, i1, i2, i3, i4, i5, i6, i7]),
            )
        }
        HashAlgo::Sha256 => {
            let d: [u8; 32] = Sha256::digest(input).into();
            let [t0, t1, t2, t3, .., i0, i1, i2, i3, i4, i5, i6, i7] = d;
            (
                u32::from_be_bytes([t0, t1, t2, t3]),
                u64::from_be_bytes([i0, i1, i2, i3, i4, i5, i6, i7]),
            )
        }
    }
}

/// A 64-bit MPTCP key with its token and IDSN, hashed once (RFC 8684 §3.1).
///
/// Used for the local key (its token names the connection in the host's token table, its IDSN
/// starts the sending data sequence space) and for the peer's key (its token goes into MP_JOIN
/// SYNs this host sends, its IDSN starts the receiving data sequence space). The fields are
/// private so the three values cannot disagree. `Debug` does not print the key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyMaterial {
    key: u64,
    token: u32,
    idsn: u64,
    algo: HashAlgo,
}

impl KeyMaterial {
    /// Derives the token and IDSN of `key` under `algo`.
    pub fn new(key: u64, algo: HashAlgo) -> Self {
        let (token, idsn) = hash_key(key, algo);
        KeyMaterial { key, token, idsn, algo }
    }

    /// The key as carried in MP_CAPABLE.
    pub const fn key(&self) -> u64 {
        self.key
    }

    /// The token: most significant 32 bits of the key's hash.
    pub const fn token(&self) -> u32 {
        self.token
    }

    /// The initial data sequence number: least significant 64 bits of the key's hash.
    pub const fn idsn(&self) -> u64 {
        self.idsn
    }

    /// The hash algorithm the token and IDSN were derived with.
    pub const fn algo(&self) -> HashAlgo {
        self.algo
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("key", &"<redacted>")
            .field("token", &format_args!("{:#010x}", self.token))
            .field("idsn", &format_args!("{:#018x}", self.idsn))
            .field("algo", &self.algo)
            .finish()
    }
}
