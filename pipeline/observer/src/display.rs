//! Human-readable reports: a few lines per connection, one line per event, check or
//! unknown join, so a command-line tool can print them as they are.

use core::fmt;

use netreaktor_pipeline::wire::mptcp::{MpTcpRst, MptcpVersion};

use super::{
    Check, CheckDetail, CheckKind, Event, EventKind, HmacStatus, ObservedConnection,
    ObservedSubflow, Outcome, Side, SubflowKind, SubflowState, UnknownJoin,
};

/// The most failed checks listed under a connection.
const MAX_FAILURES_SHOWN: usize = 8;

impl fmt::Display for ObservedConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let version = match self.version() {
            MptcpVersion::V0 => "v0",
            MptcpVersion::V1 => "v1",
        };
        write!(f, "MPTCP {version} {} -> {}", self.initiator(), self.listener())?;
        write!(f, " opened at {}", self.opened_at())?;
        writeln!(f, "{}", if self.checksums() { ", DSS checksums on" } else { "" })?;
        for side in Side::BOTH {
            match (self.token(side), self.idsn(side)) {
                (Some(token), Some(idsn)) => {
                    writeln!(f, "  {side}: token {token:#010x} idsn {idsn:#018x}")?
                }
                _ => writeln!(f, "  {side}: key not seen")?,
            }
        }
        match self.fallback() {
            Some(why) => writeln!(f, "  fell back to TCP: {why}")?,
            None if !self.is_established() => writeln!(f, "  handshake not completed")?,
            None => {}
        }
        for subflow in self.subflows() {
            writeln!(f, "  {subflow}")?;
        }
        self.fmt_checks(f)
    }
}

impl ObservedConnection {
    /// One line of verdicts, then the first failures.
    fn fmt_checks(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("  checks:")?;
        for kind in CheckKind::ALL {
            let verdict = self.verdict(kind);
            if verdict != Outcome::NotSeen {
                write!(f, " {} {kind};", verdict.symbol())?;
            }
        }
        writeln!(f)?;
        let failures = self.checks().iter().filter(|c| c.outcome == Outcome::Fail);
        for check in failures.take(MAX_FAILURES_SHOWN) {
            writeln!(f, "    {check}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ObservedSubflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind() {
            SubflowKind::Initial => "initial",
            SubflowKind::Join { .. } => "join",
        };
        write!(f, "subflow {} {kind} {} -> {}", self.index(), self.src(), self.dst())?;
        write!(f, " ({}", state_name(self.state()))?;
        for side in Side::BOTH.into_iter().filter(|&side| self.backup(side)) {
            write!(f, ", backup by {side}")?;
        }
        let up = self.bytes(Side::Initiator);
        let down = self.bytes(Side::Listener);
        write!(f, "): client->server {up} B, server->client {down} B")?;
        match (self.first_data_any(), self.last_data_any()) {
            (Some(first), Some(last)) => write!(f, ", data {first} to {last}"),
            _ => f.write_str(", no data"),
        }
    }
}

fn state_name(state: SubflowState) -> &'static str {
    match state {
        SubflowState::Opening => "opening",
        SubflowState::SynAcked => "SYN/ACK seen",
        SubflowState::PreEstablished => "join pre-established",
        SubflowState::Established => "established",
        SubflowState::Refused => "refused",
        SubflowState::Reset => "reset",
        SubflowState::Closed => "closed",
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Check { kind, outcome, at, subflow, from, detail } = self;
        write!(f, "{} {kind} at {at} on subflow {subflow} from {from}", outcome.symbol())?;
        match detail {
            Some(CheckDetail::Sequence { expected, got }) => {
                write!(f, ": expected {expected:#x}, got {got:#x}")
            }
            Some(CheckDetail::MappingConflict { subflow_seq, earlier_dsn, dsn }) => write!(
                f,
                ": subflow seq {subflow_seq} mapped to {earlier_dsn:#x}, then to {dsn:#x}"
            ),
            Some(CheckDetail::Token(token)) => write!(f, ": token {token:#010x}"),
            Some(CheckDetail::KeyMismatch) => f.write_str(": key mismatch"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} subflow {} {}: ", self.at, self.subflow, self.from)?;
        match &self.kind {
            EventKind::Established => f.write_str("MP_CAPABLE handshake completed"),
            EventKind::FellBack(why) => write!(f, "fell back to TCP: {why}"),
            EventKind::SubflowJoined { backup, addr_id } => {
                let backup = if *backup { " (backup)" } else { "" };
                write!(f, "subflow joined, address id {addr_id}{backup}")
            }
            EventKind::JoinRefused { tcprst } => {
                f.write_str("join refused")?;
                fmt_tcprst(f, tcprst)
            }
            EventKind::AddAddr { addr_id, addr, port, echo, hmac } => {
                f.write_str(if *echo { "ADD_ADDR echo " } else { "ADD_ADDR " })?;
                write!(f, "id {addr_id} {addr}")?;
                if let Some(port) = port {
                    write!(f, " port {port}")?;
                }
                fmt_hmac(f, *hmac)
            }
            EventKind::RemoveAddr { addr_ids } => write!(f, "REMOVE_ADDR ids {addr_ids:?}"),
            EventKind::MpPrio { backup, addr_id } => {
                write!(f, "MP_PRIO {}", if *backup { "backup" } else { "regular" })?;
                addr_id.map_or(Ok(()), |id| write!(f, " for address id {id}"))
            }
            EventKind::DataFin { dsn: Some(dsn) } => write!(f, "DATA_FIN at DSN {dsn:#x}"),
            EventKind::DataFin { dsn: None } => f.write_str("DATA_FIN"),
            EventKind::Fastclose { key_ok } => {
                let verdict =
                    key_ok.map_or("key not seen", |ok| if ok { "✓ key" } else { "✗ key" });
                write!(f, "MP_FASTCLOSE ({verdict})")
            }
            EventKind::MpFail { dsn } => write!(f, "MP_FAIL at DSN {dsn:#x}"),
            EventKind::Reset { tcprst } => {
                f.write_str("RST")?;
                fmt_tcprst(f, tcprst)
            }
        }
    }
}

fn fmt_tcprst(f: &mut fmt::Formatter<'_>, tcprst: &Option<MpTcpRst>) -> fmt::Result {
    let Some(rst) = tcprst else {
        return Ok(());
    };
    match rst.reason.name() {
        Some(name) => write!(f, " with MP_TCPRST: {name}")?,
        None => write!(f, " with MP_TCPRST: reason {:#04x}", rst.reason.0)?,
    }
    if rst.flags.transient() { f.write_str(" (transient)") } else { Ok(()) }
}

fn fmt_hmac(f: &mut fmt::Formatter<'_>, hmac: HmacStatus) -> fmt::Result {
    match hmac {
        HmacStatus::Verified => f.write_str(" (HMAC ✓)"),
        HmacStatus::Mismatch => f.write_str(" (HMAC ✗)"),
        HmacStatus::Unchecked => f.write_str(" (HMAC not checked: key not seen)"),
        HmacStatus::Absent => Ok(()),
    }
}

impl fmt::Display for UnknownJoin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let UnknownJoin { at, src, dst, token, backup, addr_id } = self;
        write!(f, "{at} MP_JOIN {src} -> {dst} with unknown token {token:#010x}")?;
        write!(f, ", address id {addr_id}{}", if *backup { ", backup" } else { "" })
    }
}
