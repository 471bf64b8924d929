//! Test hosts built on the pipeline's engines, shared by the simulator suites in
//! `pipeline/tests`: a TCP end host ([`TcpHost`]) whose application sends and verifies seeded
//! byte streams ([`Stream`]), and the Ethernet and IPv4 framing every TCP node needs
//! ([`wrap_segment`], [`reset_for`]).

mod frames;
mod stream;
mod tcp;

pub use frames::{reset_for, wrap_segment};
pub use stream::Stream;
pub use tcp::{HostLog, HostRole, TcpApp, TcpHost};
