//! The transport protocol of a target, and the checks a probe can run: shared by the NetProbe
//! spec and the agent's plan.

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Protocol {
    #[default]
    TCP,
    UDP,
    /// A protocol this version does not know (a newer controller's or CRD's): validation and
    /// the agent refuse it by name instead of failing to read the whole object.
    #[serde(other)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    Unknown,
}

impl Protocol {
    /// Lower-case name as iptables and conntrack print it.
    pub fn as_lower(self) -> &'static str {
        match self {
            Protocol::TCP => "tcp",
            Protocol::UDP => "udp",
            Protocol::Unknown => "unknown",
        }
    }

    /// Upper-case name as Kubernetes spells it in a Service port (`80/TCP`), as `kubectl get
    /// svc` and `ipvsadm` print it.
    pub fn as_upper(self) -> &'static str {
        match self {
            Protocol::TCP => "TCP",
            Protocol::UDP => "UDP",
            Protocol::Unknown => "UNKNOWN",
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_lower())
    }
}

impl std::str::FromStr for Protocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Protocol::TCP),
            "udp" => Ok(Protocol::UDP),
            other => Err(format!("unknown protocol {other:?}: expected tcp or udp")),
        }
    }
}

/// The checks a probe can run.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Check {
    /// Pod interface, veth, bridge, kube-proxy rules, routes and node settings.
    Path,
    /// A real TCP connect or UDP exchange from inside the source pod.
    Connect,
    /// The conntrack entry of that connection: which endpoint DNAT chose.
    Conntrack,
    /// DNS queries through each of the pod's nameservers and cluster DNS.
    DNS,
    /// Evidence of the probe's own packets: the nf_tables rules they meet (which one drops them).
    Evidence,
    /// After a connect that worked, full-size and small pings with DF set from the pod to the
    /// endpoint it reached: a path MTU black hole between the nodes. Runs only with Connect.
    MTU,
    /// A check this version does not know (a newer controller's): the agent runs the checks it
    /// knows and skips this one.
    #[serde(other)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    Unknown,
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Check::Path => "Path",
            Check::Connect => "Connect",
            Check::Conntrack => "Conntrack",
            Check::DNS => "DNS",
            Check::Evidence => "Evidence",
            Check::MTU => "MTU",
            Check::Unknown => "Unknown",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Protocol;

    #[test]
    fn each_protocol_has_one_lower_and_one_upper_spelling() {
        assert_eq!(Protocol::TCP.to_string(), "tcp");
        assert_eq!(Protocol::UDP.as_upper(), "UDP");
        for p in [Protocol::TCP, Protocol::UDP, Protocol::Unknown] {
            assert_eq!(p.as_upper(), p.as_lower().to_ascii_uppercase());
        }
    }
}
