//! The endpoint role's watch: on another node than the source's, the probe's packets can only be
//! traced if this node's trace table, counters and capture are in place before the source
//! connects. So this run arms them first, says so (the armed file: the controller's readiness
//! probe, the lab's go-ahead for the source run), and waits until the probe's packets have come
//! and gone, the source is done (the lab's done file), or the plan's window ends.

use std::net::SocketAddrV4;
use std::path::Path;
use std::time::{Duration, Instant};

use netdiag_model::report::InterfaceCapture;
use netdiag_model::{Hop, Protocol};

use super::Trace;
use crate::kernel::nftables::trace::TraceEvents;
use crate::path::firewall::watch::{self, EventStream};
use crate::run::observe::{Connected, Probe, evidence_observers};

/// Whether a capture on this node saw the probe arrive and go unanswered: a packet from the
/// probe's socket, and none from anyone else back to it. Here that is what tells a connection
/// that failed from one that worked, which only the source knows otherwise. Pure.
pub(super) fn unanswered(capture: &[InterfaceCapture], source: SocketAddrV4) -> bool {
    let from_source = source.to_string();
    let packets = (capture.iter().flat_map(|c| c.packets.iter()))
        .filter(|p| matches!(p.protocol.as_deref(), Some("tcp" | "udp")));
    let (mut arrived, mut answered) = (false, false);
    for p in packets {
        match p.src.as_deref() {
            Some(s) if s == from_source => arrived = true,
            Some(_) => answered = true,
            None => {}
        }
    }
    arrived && !answered
}

/// Say the watch is armed: create `path` (its parent made if needed). The controller's
/// readiness probe and the lab wait for it.
fn say_armed(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, b"armed\n")
}

impl Trace<'_> {
    /// Arm the evidence for the probe from `sourceIp:sourcePort`, wait for its packets, and
    /// report what this node saw of them.
    pub(super) fn endpoint_watch(&mut self, hops: &mut Vec<Hop>) {
        let plan = self.plan;
        let (Some(window), Some(port), Some(ip)) =
            (plan.watch_ms, plan.source_port, plan.source_ip)
        else {
            return;
        };
        let source = SocketAddrV4::new(ip, port);
        let protocol = plan
            .target
            .as_ref()
            .map(|t| t.protocol)
            .unwrap_or(Protocol::TCP);
        // The probe arrives for the endpoint (DNAT happened at the source), or for this node's
        // own address and NodePort (the target) on a NodePort's node.
        let Some(dst) = (plan.endpoint.map(|e| e.socket())).or_else(|| {
            plan.target
                .as_ref()
                .map(|t| SocketAddrV4::new(t.ip, t.port))
        }) else {
            return;
        };
        // Subscribed before the table is installed: no event of the probe's can come earlier.
        let mut events = TraceEvents::subscribe().ok();
        let probe = Probe {
            node: self.node().to_string(),
            protocol,
            target: dst,
            source: Some(source),
            replaced: None,
            // The capture taps the devices the routes to these leave by: back to the source.
            endpoints: vec![ip],
            host_veth: None,
            bridge: None,
            endpoint_veths: self.endpoint_veths(dst),
        };
        let armed: Vec<_> = evidence_observers(plan)
            .into_iter()
            .map(|o| o.arm(&probe))
            .collect();
        if let Some(path) = &self.env.armed_file
            && let Err(e) = say_armed(path)
        {
            // The watch goes on: the source run then starts when its starter stops waiting for
            // the file (the controller after ARM_WAIT, the lab after its own wait).
            eprintln!(
                "netdiag-agent: cannot write the armed file {}: {e}",
                path.display()
            );
        }
        let done = self.env.done_file.clone();
        let stop = move || done.as_deref().is_some_and(Path::exists);
        let deadline = Instant::now() + Duration::from_millis(window);
        let stream = events.as_mut().map(|e| e as &mut dyn EventStream);
        // How the wait ended is for the wait; the evidence read below says what happened.
        let _ = watch::wait(stream, deadline, &stop);
        drop(events);
        // The capture is read first (it is armed last): whether it saw an answer is what tells
        // the counters' judge here whether the connection failed, which only the source knows
        // otherwise. No capture, or an answer: the counters can only warn.
        let mut failed = false;
        let mut seen = Vec::new();
        for a in armed.into_iter().rev() {
            let s = a.finish(&Connected {
                local: Some(source),
                failed,
            });
            if !s.capture.is_empty() {
                failed = unanswered(&s.capture, source);
            }
            seen.push(s);
        }
        for s in seen.into_iter().rev() {
            self.keep(s, hops);
        }
    }

    /// The endpoint pod's host veth, when it is on this node (for the capture).
    fn endpoint_veths(&self, dst: SocketAddrV4) -> Vec<u32> {
        crate::kernel::netns::discover::find_pod_netns(
            *dst.ip(),
            &self.env.netns_dir,
            &self.env.proc,
        )
        .map(|ns| vec![ns.peer_ifindex])
        .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use netdiag_model::report::CapturedPacket;

    use super::*;

    fn packet(src: &str) -> CapturedPacket {
        CapturedPacket {
            protocol: Some("tcp".into()),
            src: Some(src.into()),
            ..Default::default()
        }
    }

    fn on_uplink(packets: Vec<CapturedPacket>) -> Vec<InterfaceCapture> {
        vec![InterfaceCapture {
            interface: "eth0".into(),
            role: "uplink".into(),
            packets,
            error: None,
        }]
    }

    #[test]
    fn only_a_probe_that_arrived_and_got_no_answer_is_unanswered() {
        let src = SocketAddrV4::new([10, 244, 1, 2].into(), 40000);
        let syn = packet("10.244.1.2:40000");
        let answer = packet("10.244.2.7:8080");
        assert!(unanswered(&on_uplink(vec![syn.clone(), syn.clone()]), src));
        assert!(!unanswered(&on_uplink(vec![syn, answer.clone()]), src));
        assert!(!unanswered(&on_uplink(vec![]), src), "nothing arrived");
        assert!(!unanswered(&on_uplink(vec![answer]), src));
    }
}
