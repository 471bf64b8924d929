//! Wire-format benchmarks (written once the parsers land).
fn main() {}
