//! TIME-WAIT table tests.
