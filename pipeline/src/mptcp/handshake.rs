//! The server side of the MPTCP handshakes before a connection exists (RFC 8684 §3.1
//! MP_CAPABLE, §3.2 MP_JOIN): what a SYN offers, the options of our SYN,ACK, what the
//! third ACK carries, and the RST option of a refused join (§3.6).
//!
//! Both versions are read: v1 (RFC 8684) and v0 (RFC 6824, what iOS 11-14 speak and iOS 15
//! tries first, docs/architecture.md "MPTCP v0"). A SYN is always answered in its own version:
//! a v0 SYN,ACK to a v1 SYN makes iOS 16+ fall back to TCP. A v0 SYN carries the client's key
//! (RFC 6824 §3.1), which the caller keeps with the half-open connection: the v0 third ACK is
//! sent once and never retransmitted, and when it is lost the first DSS completes the
//! handshake without the keys.
//!
//! Our key is derived, not stored: a keyed hash of the connection's 4-tuple and the
//! client's ISN under the appliance's secret, retried with a counter until its token names
//! the worker that owns the connection (docs/architecture.md, "`shard/`"). The SYN,ACK
//! (kept half-open or a SYN cookie, RFC 4987) and the third ACK derive the same key, so the
//! handshake needs no state of its own and works under SYN cookies, where the third ACK
//! echoes both keys (§3.1). Without the secret the key is unpredictable (§5).

use std::net::SocketAddr;

use sha2::{Digest, Sha256};

use super::crypto::{HashAlgo, KeyMaterial};
use crate::tcp::hooks::SynAckOptions;
use crate::wire::mptcp::{
    MpCapable, MpCapableFlags, MpCapableKeys, MpJoin, MpTcpRst, MpTcpRstReason, MptcpOption,
    MptcpVersion,
};
use crate::wire::tcp_option::TcpOptions;

/// Key candidates tried per connection before giving up on MPTCP for it (each owns the
/// worker with probability 1/workers).
const KEY_ATTEMPTS: u32 = 64;

/// Why a SYN offering MPTCP gets plain TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decline {
    /// MPTCP v0 (RFC 6824): not enabled for the service.
    Version0,
    /// MPTCP v1 (RFC 8684): not enabled for the service.
    Version1,
    /// Unknown flags: B (extensibility) set, or no HMAC algorithm we know (§3.1).
    Flags,
    /// The option did not parse.
    Malformed,
}

/// What a SYN asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynOffer {
    /// No MPTCP option: plain TCP.
    Plain,
    /// MP_CAPABLE in `version`; the client requires DSS checksums when `checksums`.
    Capable {
        /// The version of the SYN's option, which our SYN,ACK must answer in.
        version: MptcpVersion,
        /// The A flag (§3.1).
        checksums: bool,
        /// The client's key: a v0 SYN carries it (RFC 6824 §3.1), a v1 SYN does not.
        peer_key: Option<u64>,
    },
    /// An MP_CAPABLE we answer with plain TCP.
    Declined(Decline),
    /// MP_JOIN: a new subflow for the connection with `token` (§3.2).
    Join {
        /// Our token, naming the connection.
        token: u32,
        /// The client's nonce.
        nonce: u32,
        /// The client's id for its source address.
        addr_id: u8,
        /// B: the client wants this subflow used only as a backup.
        backup: bool,
    },
}

/// The version an MP_CAPABLE carries (v1 for any other option: MP_JOIN's handshake forms are
/// the same in both versions, RFC 6824 §3.2).
fn option_version(bytes: &[u8]) -> MptcpVersion {
    match crate::wire::mptcp::peek_version(bytes) {
        Ok(0) => MptcpVersion::V0,
        _ => MptcpVersion::V1,
    }
}

/// Reads what a SYN offers.
pub fn syn_offer(options: TcpOptions<'_>) -> SynOffer {
    for bytes in options.mptcp() {
        return match MptcpOption::parse(bytes, option_version(bytes)) {
            Ok(MptcpOption::MpCapable(cap)) => capable_offer(cap),
            Ok(MptcpOption::MpJoin(MpJoin::Syn { backup, addr_id, token, nonce })) => {
                SynOffer::Join { token, nonce, addr_id, backup }
            }
            Ok(_) => continue,
            Err(_) => SynOffer::Declined(Decline::Malformed),
        };
    }
    SynOffer::Plain
}

/// RFC 8684 §3.1, RFC 6824 §3.1: B (extensibility) set, or H (the only HMAC algorithm
/// either version defines) clear, is a proposal we do not understand: plain TCP. A v0 SYN
/// must carry the client's key (length 12); a v1 SYN must not (length 4).
fn capable_offer(cap: MpCapable) -> SynOffer {
    if cap.flags.extensibility() || !cap.flags.hmac_sha() {
        return SynOffer::Declined(Decline::Flags);
    }
    let peer_key = match (cap.version, cap.keys) {
        (MptcpVersion::V0, MpCapableKeys::Sender { sender }) => Some(sender),
        (MptcpVersion::V1, MpCapableKeys::None) => None,
        _ => return SynOffer::Declined(Decline::Malformed),
    };
    SynOffer::Capable { version: cap.version, checksums: cap.flags.checksum_required(), peer_key }
}

impl SynOffer {
    /// This offer, or plain TCP counted as `Declined` when its version is not in `enabled`
    /// (`enabled(version)` says whether the service terminates it).
    pub fn within(self, enabled: impl Fn(MptcpVersion) -> bool) -> SynOffer {
        match self {
            SynOffer::Capable { version, .. } if !enabled(version) => {
                SynOffer::Declined(match version {
                    MptcpVersion::V0 => Decline::Version0,
                    MptcpVersion::V1 => Decline::Version1,
                })
            }
            other => other,
        }
    }
}

/// Derives our MPTCP keys from the appliance secret.
#[derive(Clone)]
pub struct KeyDeriver {
    secret: [u8; 32],
}

impl core::fmt::Debug for KeyDeriver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KeyDeriver { .. }")
    }
}

impl KeyDeriver {
    /// A deriver keyed with `secret` (random, shared by the appliance's workers).
    pub fn new(secret: [u8; 32]) -> KeyDeriver {
        KeyDeriver { secret }
    }

    /// Our key for the connection `local` <- `remote` whose client ISN is `client_isn`: the
    /// first candidate whose token under `algo` (the version's hash: SHA-1 for v0, RFC 6824
    /// §3.1; SHA-256 for v1) `owns` accepts. `None` if none of the attempts does.
    pub fn key(
        &self,
        local: SocketAddr,
        remote: SocketAddr,
        client_isn: u32,
        algo: HashAlgo,
        owns: impl Fn(u32) -> bool,
    ) -> Option<KeyMaterial> {
        (0..KEY_ATTEMPTS)
            .map(|i| KeyMaterial::new(self.candidate(local, remote, client_isn, i), algo))
            .find(|k| owns(k.token()))
    }

    fn candidate(&self, local: SocketAddr, remote: SocketAddr, isn: u32, i: u32) -> u64 {
        let mut h = Sha256::new();
        h.update(self.secret);
        h.update(b"netreaktor mptcp key");
        for addr in [local, remote] {
            match addr.ip() {
                std::net::IpAddr::V4(v4) => h.update(v4.octets()),
                std::net::IpAddr::V6(v6) => h.update(v6.octets()),
            }
            h.update(addr.port().to_be_bytes());
        }
        h.update(isn.to_be_bytes());
        h.update(i.to_be_bytes());
        let digest = h.finalize();
        let mut key = [0u8; 8];
        key.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(key)
    }
}

/// Our MP_CAPABLE SYN,ACK option (§3.1) in `version`: 12 bytes, H (HMAC-SHA256 in v1,
/// HMAC-SHA1 in v0), our key; A when checksums are used. C when the peer should open no
/// subflows to this address, in v1 only: the bit is unassigned in v0 (RFC 6824 §3.1) and
/// iOS 11-12 fall back to TCP on it.
pub fn capable_syn_ack(
    version: MptcpVersion,
    key: u64,
    checksums: bool,
    no_join_to_source: bool,
) -> SynAckOptions {
    let mut flags = MpCapableFlags::HMAC_SHA;
    if checksums {
        flags = flags.with(MpCapableFlags::CHECKSUM_REQUIRED);
    }
    if no_join_to_source && version == MptcpVersion::V1 {
        flags = flags.with(MpCapableFlags::NO_JOIN_TO_SOURCE);
    }
    let opt = MpCapable { version, flags, keys: MpCapableKeys::Sender { sender: key } };
    SynAckOptions::with(opt.buffer_len(), |b| opt.emit(b)).unwrap_or(SynAckOptions::EMPTY)
}

/// Our MP_JOIN SYN,ACK option (§3.2): the truncated HMAC, our nonce and address id.
pub fn join_syn_ack(hmac: u64, nonce: u32, addr_id: u8) -> SynAckOptions {
    let opt = MpJoin::SynAck { backup: false, addr_id, hmac: hmac.to_be_bytes(), nonce };
    SynAckOptions::with(opt.buffer_len(), |b| opt.emit(b)).unwrap_or(SynAckOptions::EMPTY)
}

/// The MP_TCPRST option of a RST refusing a subflow (§3.6).
pub fn reset_option(reason: MpTcpRstReason) -> SynAckOptions {
    let opt = MpTcpRst::new(reason, false);
    SynAckOptions::with(opt.buffer_len(), |b| opt.emit(b)).unwrap_or(SynAckOptions::EMPTY)
}

/// What the segment completing a handshake carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThirdAck {
    /// No MPTCP option: plain TCP (or a fallback, if the SYN offered MPTCP).
    Plain,
    /// MP_CAPABLE with both keys (§3.1), and the mapping length of data it carries.
    Capable {
        /// The version of the option.
        version: MptcpVersion,
        /// The client's key.
        remote_key: u64,
        /// Our key as the client echoes it.
        local_key: u64,
        /// The client's A flag: it requires DSS checksums.
        checksums: bool,
    },
    /// MP_JOIN with the client's 160-bit HMAC (§3.2).
    Join {
        /// The HMAC.
        hmac: [u8; 20],
    },
}

/// Reads what the segment completing a handshake carries.
pub fn third_ack(options: TcpOptions<'_>) -> ThirdAck {
    for bytes in options.mptcp() {
        match MptcpOption::parse(bytes, option_version(bytes)) {
            Ok(MptcpOption::MpCapable(cap)) => match cap.keys {
                MpCapableKeys::Both { sender, receiver }
                | MpCapableKeys::BothWithData { sender, receiver, .. } => {
                    let checksums = cap.flags.checksum_required();
                    return ThirdAck::Capable {
                        version: cap.version,
                        remote_key: sender,
                        local_key: receiver,
                        checksums,
                    };
                }
                _ => {}
            },
            Ok(MptcpOption::MpJoin(MpJoin::Ack { hmac })) => return ThirdAck::Join { hmac },
            _ => {}
        }
    }
    ThirdAck::Plain
}
