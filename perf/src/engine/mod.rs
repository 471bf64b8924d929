//! Engines: how the bench opens connections: `kernel`, the OS's sockets, and `emulated`, an
//! iPhone built on the pipeline's TCP engine.

pub(crate) mod emulated;
pub(crate) mod kernel;

use std::fmt;

/// The transport protocol a socket speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Transport {
    /// Plain TCP (`IPPROTO_TCP`).
    Tcp,
    /// Multipath TCP (`IPPROTO_MPTCP`, 262); falls back to TCP when the peer does not speak it.
    Mptcp,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tcp => "tcp",
            Self::Mptcp => "mptcp",
        })
    }
}
