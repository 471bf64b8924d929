//! MP_JOIN authentication (RFC 8684 §3.2, RFC 6824 §3.2).
//!
//! Host A opens a subflow with an MP_JOIN SYN carrying the token of B's key and a nonce R-A.
//! B answers with a SYN/ACK carrying its nonce R-B and the leftmost 64 bits of
//! HMAC-B = HMAC(Key=(Key-B || Key-A), Msg=(R-B || R-A)). A checks it and sends a third ACK
//! carrying the leftmost 160 bits of HMAC-A = HMAC(Key=(Key-A || Key-B), Msg=(R-A || R-B)),
//! which B checks. Seen from one host, the HMAC it sends is keyed with (own key || peer key)
//! over (own nonce || peer nonce), and the HMAC it receives with both pairs swapped.

use core::fmt;

use subtle::ConstantTimeEq;

use super::keyed::{KeyedHmac, leftmost_64, leftmost_160};
use super::keys::{HashAlgo, KeyMaterial};

/// The keyed HMAC states of one MPTCP connection, for MP_JOIN and ADD_ADDR.
///
/// Built once when both keys are known, from the local [`KeyMaterial`] and the peer's key.
/// Holds two HMAC states, keyed `local || remote` for the values this host sends and
/// `remote || local` for the values the peer sends. Each HMAC afterwards costs two
/// compression-function calls, not four (see the `keyed` module). `Debug` prints no keys.
#[derive(Clone)]
pub struct HmacKeys {
    pub(super) algo: HashAlgo,
    pub(super) local_token: u32,
    /// Key = (local key || remote key): what this host sends.
    pub(super) ours: KeyedHmac,
    /// Key = (remote key || local key): what the peer sends.
    pub(super) theirs: KeyedHmac,
}

/// Which MP_JOIN message a [`VerifiedJoin`] proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoinStep {
    /// The peer's SYN/ACK carried the right truncated HMAC: this host initiated the subflow.
    SynAck,
    /// The peer's third ACK carried the right 160-bit HMAC: the peer initiated the subflow.
    ThirdAck,
}

/// Proof that a peer's MP_JOIN HMAC verified (RFC 8684 §3.2).
///
/// Only [`HmacKeys::verify_syn_ack_hmac`] and [`HmacKeys::verify_ack_hmac`] can build one:
/// the fields are private and there is no constructor. Attaching a subflow to a connection
/// takes this value, so an unauthenticated join cannot be attached. It is not `Clone`: one
/// verification proves one join. It records the connection (its local token) and the nonces
/// it was computed over, so the caller can check that the proof is for this subflow.
#[derive(Debug, PartialEq, Eq)]
pub struct VerifiedJoin {
    local_token: u32,
    local_nonce: u32,
    remote_nonce: u32,
    step: JoinStep,
}

impl VerifiedJoin {
    /// The token of the local key: names the connection the subflow joins.
    pub const fn local_token(&self) -> u32 {
        self.local_token
    }

    /// The nonce this host sent in the join.
    pub const fn local_nonce(&self) -> u32 {
        self.local_nonce
    }

    /// The nonce the peer sent in the join.
    pub const fn remote_nonce(&self) -> u32 {
        self.remote_nonce
    }

    /// Which message was verified.
    pub const fn step(&self) -> JoinStep {
        self.step
    }
}

/// A peer's HMAC did not match the expected value (RFC 8684 §3.2: the subflow is reset;
/// §3.4.1: the ADD_ADDR is ignored). Peer misbehaviour or an attack, never a parse error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HmacMismatch;

impl fmt::Display for HmacMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MPTCP HMAC mismatch")
    }
}

impl std::error::Error for HmacMismatch {}

impl HmacKeys {
    /// Keys the HMACs of a connection whose local key is `local` and whose peer sent
    /// `remote_key`; the hash algorithm is `local.algo()`.
    pub fn new(local: &KeyMaterial, remote_key: u64) -> Self {
        let algo = local.algo();
        HmacKeys {
            algo,
            local_token: local.token(),
            ours: KeyedHmac::new(algo, local.key(), remote_key),
            theirs: KeyedHmac::new(algo, remote_key, local.key()),
        }
    }

    /// The hash algorithm of these HMACs.
    pub const fn algo(&self) -> HashAlgo {
        self.algo
    }

    /// The truncated HMAC this host puts in its MP_JOIN SYN/ACK when the peer opened the
    /// subflow: leftmost 64 bits of HMAC(local key || remote key, local nonce || remote
    /// nonce) (RFC 8684 §3.2, HMAC-B as seen from B).
    pub fn syn_ack_hmac(&self, local_nonce: u32, remote_nonce: u32) -> u64 {
        leftmost_64(&nonce_mac(&self.ours, local_nonce, remote_nonce))
    }

    /// The HMAC this host puts in its MP_JOIN third ACK when it opened the subflow: leftmost
    /// 160 bits of HMAC(local key || remote key, local nonce || remote nonce) (RFC 8684 §3.2,
    /// HMAC-A as seen from A; in v0 the whole HMAC-SHA1, RFC 6824 §3.2).
    pub fn ack_hmac(&self, local_nonce: u32, remote_nonce: u32) -> [u8; 20] {
        leftmost_160(&nonce_mac(&self.ours, local_nonce, remote_nonce))
    }

    /// Checks the truncated HMAC of the peer's MP_JOIN SYN/ACK, in constant time, when this
    /// host opened the subflow (RFC 8684 §3.2). On a mismatch the subflow must be reset.
    pub fn verify_syn_ack_hmac(
        &self,
        local_nonce: u32,
        remote_nonce: u32,
        received: u64,
    ) -> Result<VerifiedJoin, HmacMismatch> {
        let expected = leftmost_64(&nonce_mac(&self.theirs, remote_nonce, local_nonce));
        let ok = bool::from(expected.ct_eq(&received));
        self.proof(ok, local_nonce, remote_nonce, JoinStep::SynAck)
    }

    /// Checks the 160-bit HMAC of the peer's MP_JOIN third ACK, in constant time, when the
    /// peer opened the subflow (RFC 8684 §3.2). On a mismatch the subflow must be reset.
    pub fn verify_ack_hmac(
        &self,
        local_nonce: u32,
        remote_nonce: u32,
        received: &[u8; 20],
    ) -> Result<VerifiedJoin, HmacMismatch> {
        let expected = leftmost_160(&nonce_mac(&self.theirs, remote_nonce, local_nonce));
        let ok = bool::from(expected.ct_eq(received));
        self.proof(ok, local_nonce, remote_nonce, JoinStep::ThirdAck)
    }

    fn proof(
        &self,
        ok: bool,
        local_nonce: u32,
        remote_nonce: u32,
        step: JoinStep,
    ) -> Result<VerifiedJoin, HmacMismatch> {
        if !ok {
            return Err(HmacMismatch);
        }
        Ok(VerifiedJoin { local_token: self.local_token, local_nonce, remote_nonce, step })
    }
}

/// HMAC over (first nonce || second nonce), each 4 bytes in network byte order.
fn nonce_mac(state: &KeyedHmac, first: u32, second: u32) -> [u8; 32] {
    state.mac(&[&first.to_be_bytes(), &second.to_be_bytes()])
}

impl fmt::Debug for HmacKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacKeys")
            .field("algo", &self.algo)
            .field("local_token", &format_args!("{:#010x}", self.local_token))
            .finish_non_exhaustive()
    }
}
