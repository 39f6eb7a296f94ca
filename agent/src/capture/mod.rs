//! Packet evidence of the probe on one node: which interfaces to watch ([`taps`], pure), the
//! capture sockets opened before the connect and read after it ([`Running`]), and what they saw
//! as per-interface summaries and one pcapng file ([`summarise`], pure).

pub mod decode;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use netdiag_model::pcapng;
use netdiag_model::report::{CapturedPacket, InterfaceCapture};

use crate::kernel::packet::{Capture, Frame, ProbeFilter};
use crate::kernel::rtnl::{Link, LinkKind, Rtnl};

/// How long after the connect late frames (the final ACK, a reply crossing nodes) may arrive.
const GRACE: Duration = Duration::from_millis(5);
/// Frames kept per interface; the pcap bound cuts the file further.
const MAX_FRAMES: usize = 256;

/// The role of a local endpoint pod's host veth: tapped on every candidate, reported only
/// where the probe showed up.
pub const ENDPOINT_VETH: &str = "endpoint veth";

/// One interface to capture on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tap {
    pub interface: String,
    pub ifindex: u32,
    /// `host veth`, `bridge`, `uplink` or `overlay`.
    pub role: &'static str,
}

/// The interfaces the probe crosses on this node, from what was read: pure. The pod's host
/// veth, its bridge, the host veths of the endpoints that live on this node (a same-node
/// endpoint behind a bridge shows on no other interface), then each egress device a route
/// names (an overlay device by its kind), each once.
pub fn taps(
    links: &[Link],
    host_veth: Option<&str>,
    bridge: Option<&str>,
    endpoint_veths: &[u32],
    route_oifs: &[u32],
) -> Vec<Tap> {
    let mut out: Vec<Tap> = Vec::new();
    let mut push = |link: &Link, role| {
        if !out.iter().any(|t| t.ifindex == link.index) {
            out.push(Tap {
                interface: link.name.clone(),
                ifindex: link.index,
                role,
            });
        }
    };
    let named = |n: Option<&str>| links.iter().find(|l| Some(l.name.as_str()) == n);
    if let Some(l) = named(host_veth) {
        push(l, "host veth");
    }
    if let Some(l) = named(bridge) {
        push(l, "bridge");
    }
    for ifindex in endpoint_veths {
        if let Some(l) = links.iter().find(|l| l.index == *ifindex) {
            push(l, ENDPOINT_VETH);
        }
    }
    for oif in route_oifs {
        if let Some(l) = links.iter().find(|l| l.index == *oif) {
            let role = match l.kind {
                Some(LinkKind::Vxlan | LinkKind::Geneve | LinkKind::IpIp) => "overlay",
                _ => "uplink",
            };
            push(l, role);
        }
    }
    out
}

/// Read the links and the egress devices towards `dsts` and the default route, in the
/// calling thread's namespace, and pick the taps.
pub fn find_taps(
    host_veth: Option<&str>,
    bridge: Option<&str>,
    endpoint_veths: &[u32],
    dsts: &[Ipv4Addr],
) -> Result<Vec<Tap>, String> {
    let mut rtnl = Rtnl::open().map_err(|e| e.to_string())?;
    let links = rtnl.links().map_err(|e| e.to_string())?;
    let mut oifs: Vec<u32> = dsts
        .iter()
        .filter_map(|d| rtnl.route_get(*d).ok()?.oif)
        .collect();
    if let Ok(Some(gw)) = rtnl.default_gateway() {
        oifs.extend(gw.oif);
    }
    Ok(taps(&links, host_veth, bridge, endpoint_veths, &oifs))
}

/// Capture sockets open on the taps.
pub struct Running {
    started: SystemTime,
    open: Vec<(Tap, Result<Capture, String>)>,
}

impl Running {
    /// Open one socket per tap, filtered to the probe's port.
    pub fn start(taps: Vec<Tap>, filter: ProbeFilter) -> Running {
        Running {
            started: SystemTime::now(),
            open: taps
                .into_iter()
                .map(|t| {
                    let c = Capture::open(t.ifindex, filter).map_err(|e| e.to_string());
                    (t, c)
                })
                .collect(),
        }
    }

    /// Read every socket and summarise. The sockets are closed on a thread of their own:
    /// closing a packet socket waits for an RCU grace period (`synchronize_net`), some 10 ms
    /// each, which the trace need not wait for.
    pub fn finish(self) -> (Vec<InterfaceCapture>, Vec<u8>) {
        let deadline = Instant::now() + GRACE;
        let mut sockets = Vec::new();
        let seen: Vec<(Tap, Result<Vec<Frame>, String>)> = self
            .open
            .into_iter()
            .map(|(t, c)| {
                let frames = c.map(|c| {
                    let frames = c.drain(deadline, MAX_FRAMES);
                    sockets.push(c);
                    frames
                });
                (t, frames)
            })
            .collect();
        std::thread::spawn(move || drop(sockets));
        summarise(self.started, &seen)
    }
}

fn micros(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default()
}

/// Per-interface summaries and one pcapng file (an interface block per tap), bounded to
/// [`pcapng::MAX_BYTES`]: pure.
pub fn summarise(
    started: SystemTime,
    seen: &[(Tap, Result<Vec<Frame>, String>)],
) -> (Vec<InterfaceCapture>, Vec<u8>) {
    let mut file = pcapng::Capture::default();
    let mut out = Vec::new();
    for (tap, frames) in seen {
        // A candidate endpoint's veth the probe never crossed is not on its path.
        if tap.role == ENDPOINT_VETH && frames.as_ref().is_ok_and(Vec::is_empty) {
            continue;
        }
        let id = file.interfaces.len();
        file.interfaces.push(tap.interface.clone());
        let mut cap = InterfaceCapture {
            interface: tap.interface.clone(),
            role: tap.role.to_string(),
            ..Default::default()
        };
        match frames {
            Err(e) => cap.error = Some(e.clone()),
            Ok(frames) => {
                for f in frames {
                    let d = decode::decode(&f.data);
                    let at_us = micros(f.at).saturating_sub(micros(started));
                    cap.packets.push(CapturedPacket {
                        at_ms: at_us as f64 / 1000.0,
                        direction: if f.outgoing { "out" } else { "in" }.to_string(),
                        summary: d.summary,
                        src_mac: d.src_mac,
                        dst_mac: d.dst_mac,
                        ttl: d.ttl,
                        protocol: d.protocol.map(str::to_string),
                        src: d.src,
                        dst: d.dst,
                        tcp_flags: d.tcp_flags,
                        icmp_type: d.icmp.map(|(t, _)| t),
                        icmp_code: d.icmp.map(|(_, c)| c),
                    });
                    file.packets.push(pcapng::Packet {
                        interface: id as u32,
                        ts_us: micros(f.at),
                        wire_len: f.wire_len,
                        data: f.data.clone(),
                    });
                }
            }
        }
        out.push(cap);
    }
    file.packets.sort_by_key(|p| p.ts_us);
    (out, pcapng::write(&file, pcapng::MAX_BYTES).0)
}

#[cfg(test)]
mod tests;
