//! Tests of the MPTCP suboption formats.
