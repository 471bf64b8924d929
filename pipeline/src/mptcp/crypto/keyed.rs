//! A keyed HMAC state, computed once per (key, key) pair and cloned per message.
//!
//! HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)). Both padded keys are one hash block, so
//! `hmac::Hmac` compresses them when it is created and keeps the two midstates. Cloning a
//! ready state and finalizing it over a short message costs two compression-function calls
//! (the message block, then the outer block over the inner digest) instead of four. Every
//! MPTCP message fits one block: 8 bytes for MP_JOIN, at most 19 for ADD_ADDR.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

use super::keys::HashAlgo;

/// An HMAC state keyed with `first || second`, each key 8 bytes in network byte order.
#[derive(Clone)]
pub(super) enum KeyedHmac {
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
}

impl KeyedHmac {
    /// Keys an HMAC with `first || second` (RFC 8684 §3.2: Key=(Key-A || Key-B)).
    pub(super) fn new(algo: HashAlgo, first: u64, second: u64) -> Self {
        let mut key = [0u8; 16];
        let (a, b) = key.split_at_mut(8);
        a.copy_from_slice(&first.to_be_bytes());
        b.copy_from_slice(&second.to_be_bytes());
        // RFC 2104 §2: HMAC accepts keys of any length, so `new_from_slice` cannot fail.
        const ANY_LEN: &str = "HMAC takes keys of any length";
        match algo {
            HashAlgo::Sha1 => KeyedHmac::Sha1(Hmac::new_from_slice(&key).expect(ANY_LEN)),
            HashAlgo::Sha256 => KeyedHmac::Sha256(Hmac::new_from_slice(&key).expect(ANY_LEN)),
        }
    }

    /// The HMAC of the concatenation of `parts`, left-aligned in 32 bytes. A SHA-1 HMAC fills
    /// the first 20 bytes and leaves the rest zero.
    pub(super) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut out = [0u8; 32];
        match self {
            KeyedHmac::Sha1(state) => {
                let digest: [u8; 20] = finish(state.clone(), parts).into();
                let (head, _) = out.split_at_mut(20);
                head.copy_from_slice(&digest);
            }
            KeyedHmac::Sha256(state) => out = finish(state.clone(), parts).into(),
        }
        out
    }

    /// Whether this state hashes with SHA-256.
    pub(super) fn is_sha256(&self) -> bool {
        matches!(self, KeyedHmac::Sha256(_))
    }
}

/// Feeds `parts` into a cloned state and returns the full HMAC output.
fn finish<M: Mac>(mut state: M, parts: &[&[u8]]) -> hmac::digest::Output<M> {
    for part in parts {
        state.update(part);
    }
    state.finalize().into_bytes()
}

/// The leftmost 64 bits of an HMAC, as a big-endian integer (RFC 8684 §3.2).
pub(super) fn leftmost_64(mac: &[u8; 32]) -> u64 {
    let [b0, b1, b2, b3, b4, b5, b6, b7, ..] = *mac;
    u64::from_be_bytes([b0, b1, b2, b3, b4, b5, b6, b7])
}

/// The leftmost 160 bits of an HMAC (RFC 8684 §3.2; all of an HMAC-SHA1 in RFC 6824 §3.2).
pub(super) fn leftmost_160(mac: &[u8; 32]) -> [u8; 20] {
    let mut out = [0u8; 20];
    let (head, _) = mac.split_at(20);
    out.copy_from_slice(head);
    out
}

/// The rightmost 64 bits of an HMAC-SHA256, as a big-endian integer (RFC 8684 §3.4.1).
pub(super) fn rightmost_64(mac: &[u8; 32]) -> u64 {
    let [.., b0, b1, b2, b3, b4, b5, b6, b7] = *mac;
    u64::from_be_bytes([b0, b1, b2, b3, b4, b5, b6, b7])
}
