//! The NetReaktor appliance binary.
fn main() {}
