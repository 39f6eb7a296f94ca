//! One module per hop kind. Each function returns finished hops with verdicts.

pub mod connect;
pub mod conntrack;
pub mod dns;
pub mod listener;
pub mod pod;
pub mod route;
pub mod settings;
