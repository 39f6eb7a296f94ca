//! `netdiag-bench`: prints the benchmark table (B1-B4). Being written.
fn main() {}
