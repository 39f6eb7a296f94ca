//! DNS probe (in progress).

pub mod wire;
