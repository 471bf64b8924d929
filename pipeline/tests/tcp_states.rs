//! RFC 9293 state x event tests with exact segments: one [`Connection`] driven by hand-built
//! segments, and every segment it writes compared field by field (sequence and
//! acknowledgment numbers, flags, window field, options, data).
//!
//! The helpers are in `tcp_states/harness.rs` (an integration test's root resolves `mod`
//! next to itself, hence the `#[path]`s); the tests are grouped by state. The MUST
//! requirements these tests cover are listed in `docs/rfc9293-musts.md`.

#[path = "tcp_states/harness.rs"]
mod harness;

#[path = "tcp_states/closing.rs"]
mod closing;
#[path = "tcp_states/established.rs"]
mod established;
#[path = "tcp_states/options.rs"]
mod options;
#[path = "tcp_states/syn_received.rs"]
mod syn_received;
#[path = "tcp_states/syn_sent.rs"]
mod syn_sent;
#[path = "tcp_states/timers.rs"]
mod timers;
