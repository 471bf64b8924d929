//! Multipath TCP connection-level logic that does not depend on packet layout.
//!
//! For now this holds the cryptography of MPTCP ([`crypto`]): key generation, the token and
//! initial data sequence number derived from a key (RFC 8684 §3.1, RFC 6824 §3.1), the MP_JOIN
//! HMACs that authenticate a new subflow (RFC 8684 §3.2, RFC 6824 §3.2) and the ADD_ADDR HMAC
//! (RFC 8684 §3.4.1). The option formats themselves live in [`crate::wire::mptcp`].
//!
//! The passive observer that checks captured connections with these keys is the crate
//! `netreaktor-observer` (`pipeline/observer`).

pub mod conn;
pub mod crypto;
pub mod handshake;
