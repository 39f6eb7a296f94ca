//! What IPVS holds, in ipvsadm's terms: a virtual service, a real server, the protocol and the
//! forwarding method, with the kernel's numbers for each.

use std::fmt;
use std::net::IpAddr;

use super::uapi::*;

/// A transport protocol as IPVS numbers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
    Sctp,
    Other(u16),
}

impl Proto {
    pub fn from_kernel(n: u16) -> Proto {
        match n {
            IPPROTO_TCP => Proto::Tcp,
            IPPROTO_UDP => Proto::Udp,
            IPPROTO_SCTP => Proto::Sctp,
            other => Proto::Other(other),
        }
    }

    pub fn number(self) -> u16 {
        match self {
            Proto::Tcp => IPPROTO_TCP,
            Proto::Udp => IPPROTO_UDP,
            Proto::Sctp => IPPROTO_SCTP,
            Proto::Other(n) => n,
        }
    }
}

impl fmt::Display for Proto {
    /// ipvsadm's words: `TCP`, `UDP`, `SCTP`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Proto::Tcp => f.write_str("TCP"),
            Proto::Udp => f.write_str("UDP"),
            Proto::Sctp => f.write_str("SCTP"),
            Proto::Other(n) => write!(f, "protocol {n}"),
        }
    }
}

/// How IPVS forwards to a real server (IP_VS_CONN_F_FWD_MASK).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forward {
    /// NAT: the destination address is rewritten. The only method kube-proxy programs.
    Masq,
    /// The real server is this node (ipvsadm prints `Local`).
    Local,
    /// IP-in-IP (or GUE/GRE) tunnelling (`Tunnel`).
    Tunnel,
    /// Direct routing, the packet is sent unchanged to the server's MAC (`Route`).
    Route,
    /// Cache bypass (`Bypass`).
    Bypass,
    Other(u32),
}

impl Forward {
    pub fn from_kernel(flags: u32) -> Forward {
        match flags & IP_VS_CONN_F_FWD_MASK {
            IP_VS_CONN_F_MASQ => Forward::Masq,
            IP_VS_CONN_F_LOCALNODE => Forward::Local,
            IP_VS_CONN_F_TUNNEL => Forward::Tunnel,
            IP_VS_CONN_F_DROUTE => Forward::Route,
            IP_VS_CONN_F_BYPASS => Forward::Bypass,
            other => Forward::Other(other),
        }
    }

    pub fn to_kernel(self) -> u32 {
        match self {
            Forward::Masq => IP_VS_CONN_F_MASQ,
            Forward::Local => IP_VS_CONN_F_LOCALNODE,
            Forward::Tunnel => IP_VS_CONN_F_TUNNEL,
            Forward::Route => IP_VS_CONN_F_DROUTE,
            Forward::Bypass => IP_VS_CONN_F_BYPASS,
            Forward::Other(n) => n,
        }
    }
}

impl fmt::Display for Forward {
    /// ipvsadm's column words.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Forward::Masq => f.write_str("Masq"),
            Forward::Local => f.write_str("Local"),
            Forward::Tunnel => f.write_str("Tunnel"),
            Forward::Route => f.write_str("Route"),
            Forward::Bypass => f.write_str("Bypass"),
            Forward::Other(n) => write!(f, "forwarding method {n}"),
        }
    }
}

/// One virtual service, like a `TCP  10.0.0.1:443 rr persistent 10800` line of `ipvsadm -Ln`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpvsService {
    /// AF_INET or AF_INET6.
    pub af: u16,
    pub protocol: Proto,
    /// None for a firewall-mark service.
    pub addr: Option<IpAddr>,
    pub port: u16,
    pub fwmark: Option<u32>,
    /// `rr`, `wrr`, `lc`, `wlc`, `sh`...
    pub scheduler: String,
    /// The persistence timeout in seconds when IP_VS_SVC_F_PERSISTENT is set (ClientIP affinity).
    pub persistent: Option<u32>,
    /// IP_VS_SVC_F_* as the kernel holds them.
    pub flags: u32,
    /// The raw timeout (seconds), set or not.
    pub timeout: u32,
    pub netmask: u32,
    /// A persistence engine (`sip`), rare.
    pub pe_name: Option<String>,
}

impl IpvsService {
    /// ipvsadm's line for it: `TCP 10.0.0.1:443 rr persistent 10800`, `FWM 7 rr`.
    pub fn ipvsadm_line(&self) -> String {
        let mut line = match (self.fwmark, self.addr) {
            (Some(mark), _) => format!("FWM {mark} {}", self.scheduler),
            (None, Some(addr)) => format!(
                "{} {} {}",
                self.protocol,
                socket(addr, self.port),
                self.scheduler
            ),
            (None, None) => format!("{} ? {}", self.protocol, self.scheduler),
        };
        if let Some(t) = self.persistent {
            line.push_str(&format!(" persistent {t}"));
        }
        line
    }
}

/// `10.0.0.1:443`, `[fd00::1]:443`.
pub fn socket(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// One real server of a virtual service, like a `-> 192.168.0.1:6443 Masq 1 1 0` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpvsDest {
    pub addr: IpAddr,
    pub port: u16,
    pub forward: Forward,
    /// 0: draining (kube-proxy keeps a terminating endpoint at weight 0 until it is idle).
    pub weight: u32,
    pub upper_threshold: u32,
    pub lower_threshold: u32,
    pub active_conns: u32,
    pub inactive_conns: u32,
    pub persist_conns: u32,
}
