//! What this node's data plane runs, parsed and modelled.
//!
//! - [`kube_proxy`]: the Service data plane, a mode-neutral model and judge with one module
//!   per mode (iptables today; nftables, IPVS and eBPF detection go beside it);
//! - [`netfilter`]: the kernel's packet filter as the tools print it or the kernel hands it
//!   out (iptables rules, the legacy x_tables decoder), knowing nothing of kube-proxy.
//! - [`cni`]: which CNI built the pod network (flannel, Calico, Cilium, kube-router, kindnet),
//!   from links and routes.

pub mod cni;
pub mod kube_proxy;
pub mod netfilter;
