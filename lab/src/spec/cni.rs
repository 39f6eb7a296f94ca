//! Which CNI's shape the lab's nodes and pods take.

use serde::{Deserialize, Serialize};

/// The pod network the lab builds, after the CNIs the seeds' clusters use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Cni {
    /// kind's shape: a `cni0` bridge per node with the pods' veths, and routes to the other
    /// nodes' pod CIDRs via their node IPs.
    #[default]
    Bridge,
    /// flannel's VXLAN backend: `cni0` as with bridge, plus `flannel.1` (VNI 1, port 8472,
    /// nolearning, MTU 1450) with the static neighbour and FDB entries flanneld writes per
    /// remote node, and routes `via 10.244.N.0 dev flannel.1 onlink`.
    Vxlan,
    /// Calico's shape without encapsulation: `cali*` host veths with proxy ARP and a `/32`
    /// route per pod, no bridge, pods' default route via 169.254.1.1, other nodes' pod CIDRs
    /// via their node IPs.
    Routed,
}

impl Cni {
    pub fn as_str(self) -> &'static str {
        match self {
            Cni::Bridge => "bridge",
            Cni::Vxlan => "vxlan",
            Cni::Routed => "routed",
        }
    }

    /// The pods' MTU: the node network's 1500, less VXLAN's 50 bytes on flannel.
    pub fn pod_mtu(self) -> u32 {
        match self {
            Cni::Vxlan => 1450,
            Cni::Bridge | Cni::Routed => 1500,
        }
    }
}

impl std::fmt::Display for Cni {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
