//! netreaktor-bench: NetReaktor's load generator.
fn main() {}
