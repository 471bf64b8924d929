//! Unit tests of the MPTCP connection.
