//! Multipath TCP connection-level logic that does not depend on packet layout.
//!
//! For now this holds the cryptography of MPTCP ([`crypto`]): key generation, the token and
//! initial data sequence number derived from a key (RFC 8684 §3.1, RFC 6824 §3.1), the MP_JOIN
//! HMACs that authenticate a new subflow (RFC 8684 §3.2, RFC 6824 §3.2) and the ADD_ADDR HMAC
//! (RFC 8684 §3.4.1). The option formats themselves live in [`crate::wire::mptcp`].
//!
//! [`observer`] follows MPTCP connections passively through a capture and checks their
//! handshakes, HMACs, IDSNs and mappings with those keys (for tests and `netreaktor inspect`).

pub mod conn;
pub mod crypto;
pub mod handshake;
pub mod observer;
