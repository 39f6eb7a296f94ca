//! Observers of the probe's own connection: whatever must be armed before the connect and read
//! after it. Conntrack's NEW events today (a refused connection's entry is gone by the time the
//! table could be read, but its event still names the endpoint DNAT chose); nf_tables rule
//! tracing and packet capture, each one more [`Observer`].
//!
//! An observer is armed once, then finished once; an armed observer that holds kernel state
//! (a trace table, a capture socket) removes it when dropped, so every exit path cleans up.

use std::net::SocketAddrV4;

use netdiag_model::report::{CounterDelta, InterfaceCapture, TracedRule};
use netdiag_model::{Check, Endpoint, Hop, Protocol, TracePlan};

use crate::capture;
use crate::dataplane::kube_proxy::Replacement;
use crate::kernel::conntrack::CtEvents;
use crate::path::{conntrack, firewall};

/// The connection about to be made, as observers see it when they are armed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    pub node: String,
    pub protocol: Protocol,
    pub target: SocketAddrV4,
    /// The probe socket's address in the pod, bound before the connect (None: binding failed).
    pub source: Option<SocketAddrV4>,
    /// What balances Services instead of kube-proxy on this node, if anything.
    pub replaced: Option<Replacement>,
    /// The addresses DNAT may send the probe to (the Service's endpoints).
    pub endpoints: Vec<std::net::Ipv4Addr>,
    /// The node side of the pod's veth, and the bridge it is a port of (capture taps).
    pub host_veth: Option<String>,
    pub bridge: Option<String>,
    /// The host veths (ifindexes) of the candidate endpoints that live on this node.
    pub endpoint_veths: Vec<u32>,
}

/// What the connect did, as observers need it to find its traces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connected {
    /// The probe socket's local address, when the kernel assigned one (also on a refused or
    /// timed-out TCP connect).
    pub local: Option<SocketAddrV4>,
    /// Whether the connect failed (refused, timed out, unreachable).
    pub failed: bool,
}

/// What an observer saw: hops for the path, and the endpoint the kernel chose, when it knows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observation {
    pub hops: Vec<Hop>,
    pub chosen: Option<Endpoint>,
    /// The rules the probe's packets met (evidence).
    pub rule_trace: Vec<TracedRule>,
    /// Legacy dropping rules whose counters moved while the probe ran (evidence).
    pub counters: Vec<CounterDelta>,
    /// The probe's packets per interface (evidence).
    pub capture: Vec<InterfaceCapture>,
    /// The same packets as a pcapng file (evidence).
    pub pcap: Option<Vec<u8>>,
}

/// Something that watches the probe's connection; [`Observer::arm`] runs just before the connect.
pub trait Observer {
    fn arm(self: Box<Self>, probe: &Probe) -> Box<dyn Armed>;
}

/// An armed observer; [`Armed::finish`] runs just after the connect.
pub trait Armed {
    fn finish(self: Box<Self>, done: &Connected) -> Observation;
}

/// The observers a plan asks for, in the order their hops appear.
pub fn observers(plan: &TracePlan) -> Vec<Box<dyn Observer>> {
    let mut out = evidence_observers(plan);
    if plan.wants(Check::Conntrack) {
        out.push(Box::new(ConntrackObserver));
    }
    out
}

/// The observers of the packet evidence (rule trace, legacy counters, capture), when the plan
/// asks for it: the source node's around its connect, the endpoint node's around its watch.
pub fn evidence_observers(plan: &TracePlan) -> Vec<Box<dyn Observer>> {
    if !plan.wants(Check::Evidence) {
        return Vec::new();
    }
    vec![
        Box::new(RuleTraceObserver),
        Box::new(LegacyCounterObserver),
        Box::new(CaptureObserver),
    ]
}

/// The Firewall hop: an nf_tables trace of the probe's own packets, armed before the connect.
pub struct RuleTraceObserver;

struct ArmedRuleTrace(Option<firewall::ArmedTrace>);

impl Observer for RuleTraceObserver {
    fn arm(self: Box<Self>, probe: &Probe) -> Box<dyn Armed> {
        Box::new(ArmedRuleTrace(probe.source.map(|source| {
            firewall::arm(&probe.node, probe.protocol, source, probe.target)
        })))
    }
}

impl Armed for ArmedRuleTrace {
    fn finish(self: Box<Self>, _done: &Connected) -> Observation {
        let Some(armed) = self.0 else {
            return Observation::default();
        };
        let (hop, rule_trace) = armed.finish();
        Observation {
            hops: vec![hop],
            chosen: None,
            rule_trace,
            ..Default::default()
        }
    }
}

/// Packet evidence: AF_PACKET sockets on the pod's host veth, its bridge and the node's egress
/// devices, opened (filtered to the probe's port) before the connect and read after it.
pub struct CaptureObserver;

struct ArmedCapture(Result<capture::Running, String>);

/// The taps cannot be chosen without the probe's port to filter on.
const NO_PORT: &str = "the probe socket could not be bound first, so there is no port to filter on";

impl Observer for CaptureObserver {
    fn arm(self: Box<Self>, probe: &Probe) -> Box<dyn Armed> {
        let running = probe.source.ok_or(NO_PORT.to_string()).and_then(|source| {
            let mut dsts = vec![*probe.target.ip()];
            dsts.extend(probe.endpoints.iter().take(4));
            let taps = capture::find_taps(
                probe.host_veth.as_deref(),
                probe.bridge.as_deref(),
                &probe.endpoint_veths,
                &dsts,
            )?;
            let filter = crate::kernel::packet::ProbeFilter {
                ip_proto: match probe.protocol {
                    Protocol::UDP => 17,
                    _ => 6,
                },
                port: source.port(),
                snaplen: netdiag_model::pcapng::SNAPLEN,
            };
            Ok(capture::Running::start(taps, filter))
        });
        Box::new(ArmedCapture(running))
    }
}

impl Armed for ArmedCapture {
    fn finish(self: Box<Self>, _done: &Connected) -> Observation {
        let (capture, pcap) = match self.0 {
            Ok(running) => {
                let (caps, pcap) = running.finish();
                (caps, Some(pcap))
            }
            Err(e) => (
                vec![InterfaceCapture {
                    interface: String::from("-"),
                    role: String::from("none"),
                    error: Some(format!("no capture: {e}")),
                    ..Default::default()
                }],
                None,
            ),
        };
        Observation {
            capture,
            pcap,
            ..Default::default()
        }
    }
}

/// Drop attribution on the legacy iptables backend: DROP/REJECT counters before and after.
pub struct LegacyCounterObserver;

struct ArmedCounters {
    probe: Probe,
    before: Option<firewall::counters::Snapshot>,
}

impl Observer for LegacyCounterObserver {
    fn arm(self: Box<Self>, probe: &Probe) -> Box<dyn Armed> {
        Box::new(ArmedCounters {
            probe: probe.clone(),
            before: firewall::counters::snapshot(),
        })
    }
}

impl Armed for ArmedCounters {
    fn finish(self: Box<Self>, done: &Connected) -> Observation {
        use firewall::counters::{deltas, judge, moved, rule_text, snapshot};
        let (Some(before), Some(after)) = (self.before, snapshot()) else {
            return Observation::default();
        };
        let moved = moved(&before, &after);
        let p = &self.probe;
        let source = p.source.or(done.local);
        let flow = match source {
            Some(s) => format!("{s} -> {}/{}", p.target, p.protocol),
            None => format!("{}/{}", p.target, p.protocol),
        };
        let mut addresses = vec![*p.target.ip()];
        addresses.extend(source.map(|s| *s.ip()));
        addresses.extend(p.endpoints.iter().copied());
        Observation {
            hops: judge(&p.node, &flow, &moved, &addresses, done.failed, rule_text)
                .into_iter()
                .collect(),
            counters: deltas(&moved, rule_text),
            ..Default::default()
        }
    }
}

/// The Conntrack hop: subscribe to NEW events before the connect (in the node's namespace, the
/// caller's), look the connection up after it.
pub struct ConntrackObserver;

struct ArmedConntrack {
    probe: Probe,
    events: Option<CtEvents>,
}

impl Observer for ConntrackObserver {
    fn arm(self: Box<Self>, probe: &Probe) -> Box<dyn Armed> {
        Box::new(ArmedConntrack {
            probe: probe.clone(),
            events: conntrack::watch(),
        })
    }
}

impl Armed for ArmedConntrack {
    fn finish(self: Box<Self>, done: &Connected) -> Observation {
        // Without a local address there is no tuple to look up.
        let Some(local) = done.local else {
            return Observation::default();
        };
        let p = &self.probe;
        let ct = conntrack::lookup_watched(&p.node, p.protocol, local, p.target, self.events);
        let hop = match p.replaced {
            Some(r) => conntrack::verdict::kept_elsewhere(ct.hop, r),
            None => ct.hop,
        };
        Observation {
            hops: vec![hop],
            chosen: ct.chosen,
            ..Default::default()
        }
    }
}
