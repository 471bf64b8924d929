//! Unit tests of the MPTCP connection: one [`Connection`](super::Connection) driven with
//! hand-built client segments, the options it writes compared exactly (`harness`), one
//! file per topic, and property tests of the sequence arithmetic.

mod harness;

mod checksums;
mod data_fin;
mod failover;
mod fastclose;
mod joins;
mod probe;
mod properties;
mod receive;
mod send;
mod signals;
mod v0;
