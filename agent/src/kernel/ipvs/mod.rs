//! IPVS over generic netlink, like `ipvsadm -Ln -t VIP:PORT`: one virtual service by its key
//! (IPVS_CMD_GET_SERVICE as a plain request) and its real servers (IPVS_CMD_GET_DEST dump), or
//! every service (a GET_SERVICE dump). Numbers from `include/uapi/linux/ip_vs.h` ([`uapi`]);
//! decoding is pure ([`decode`]); the bytes on the wire both ways are in [`wire`].
//!
//! Readers go through [`IpvsSource`], implemented by the real socket ([`IpvsSocket`]) and, in
//! tests, by a source answering with the kernel's bytes built from the uapi layout: this
//! machine's kernel has no `ip_vs`, so the socket's own exchange with IPVS is not run here.

pub mod decode;
mod model;
mod socket;
pub mod uapi;
pub mod wire;

#[cfg(test)]
pub mod testing;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::IpAddr;

pub use decode::{DecodeError, Forward, IpvsDest, IpvsService, Proto};
pub use socket::{IpvsError, IpvsSocket};

/// Which virtual service: what `ipvsadm -t|-u ADDR:PORT` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ServiceKey {
    pub protocol: Proto,
    pub addr: IpAddr,
    pub port: u16,
}

impl ServiceKey {
    /// Whether `svc` is this key's service.
    pub fn matches(&self, svc: &IpvsService) -> bool {
        svc.fwmark.is_none()
            && svc.protocol == self.protocol
            && svc.addr == Some(self.addr)
            && svc.port == self.port
    }

    /// The address family of the key (AF_INET, AF_INET6).
    pub fn af(&self) -> u16 {
        match self.addr {
            IpAddr::V4(_) => uapi::AF_INET,
            IpAddr::V6(_) => uapi::AF_INET6,
        }
    }
}

impl fmt::Display for ServiceKey {
    /// `TCP 10.96.0.10:53`, as ipvsadm prints a service.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            self.protocol,
            decode::socket(self.addr, self.port)
        )
    }
}

/// Where IPVS state comes from: the kernel, or bytes built like the kernel's in tests.
pub trait IpvsSource {
    type Error: std::error::Error + 'static;

    /// The virtual service of `key`; None when IPVS has no such service.
    fn service(&mut self, key: &ServiceKey) -> Result<Option<IpvsService>, Self::Error>;

    /// The real servers of `key`'s service, in the kernel's order (empty when it has none, or
    /// when the service is gone).
    fn dests(&mut self, key: &ServiceKey) -> Result<Vec<IpvsDest>, Self::Error>;

    /// Every virtual service (the bench's dump; the reader uses it only to tell "IPVS holds no
    /// services at all" from "none for this key").
    fn services(&mut self) -> Result<Vec<IpvsService>, Self::Error>;
}
