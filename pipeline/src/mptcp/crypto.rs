//! MPTCP keys, tokens, IDSNs and HMACs (RFC 8684 §3.1, §3.2, §3.4.1; RFC 6824 §3.1, §3.2).
//!
//! - [`KeyRng`] draws the 64-bit keys a host puts in MP_CAPABLE, and the 32-bit nonces of
//!   MP_JOIN, from a ChaCha20 generator the caller seeds (the pipeline reads no OS randomness).
//! - [`KeyMaterial`] is a key together with its token and IDSN, hashed once.
//! - [`HmacKeys`] holds, per connection, the keyed HMAC states for the values this host sends
//!   and the values the peer sends. Verifying a peer's MP_JOIN HMAC yields a [`VerifiedJoin`],
//!   verifying an ADD_ADDR yields a [`VerifiedAddAddr`]; only verification can build either,
//!   so code that attaches a subflow or uses an announced address can demand the proof.
//!
//! [`HashAlgo`] selects SHA-1 (MPTCP v0, RFC 6824) or SHA-256 (MPTCP v1, RFC 8684).
//!
//! Byte order: keys enter every hash and HMAC as 8 bytes in network byte order, nonces as 4,
//! ports as 2; tokens, IDSNs and truncated HMACs are read from digests as big-endian integers.
//! This matches the Linux implementation (`net/mptcp/crypto.c`, `options.c`).

mod add_addr;
mod join;
mod keyed;
mod keys;
mod rng;

pub use add_addr::VerifiedAddAddr;
pub use join::{HmacKeys, HmacMismatch, JoinStep, VerifiedJoin};
pub use keys::{HashAlgo, KeyMaterial, idsn, token};
pub use rng::KeyRng;

#[cfg(test)]
mod tests;
