//! Every name and path a lab uses, derived from the lab's name, so parallel labs never collide
//! and `lab down` can find a crashed lab's leftovers by prefix alone.
//!
//! Lab names are lower-case letters and digits only: with no `-` in a lab name, the prefix
//! `nd-<lab>-` of one lab can never be the prefix of another lab's namespaces.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::spec::Cni;

/// The default lab name.
pub const DEFAULT_LAB: &str = "netdiag";
/// Where each lab keeps its state file, pid files, logs and DNS files.
pub const LABS_DIR: &str = "/run/netdiag/labs";
/// Where `ip netns` keeps named namespaces.
pub const NETNS_DIR: &str = "/var/run/netns";
/// Where `ip netns exec` finds per-namespace files to bind over /etc.
pub const ETC_NETNS_DIR: &str = "/etc/netns";

/// Lab names: 1-12 lower-case letters or digits.
pub fn valid_lab_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 12
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The names of one lab's objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabNames {
    pub lab: String,
}

impl LabNames {
    pub fn new(lab: &str) -> Self {
        LabNames { lab: lab.into() }
    }

    /// `nd-<lab>-`: every namespace of this lab starts with it, and no other lab's does.
    pub fn prefix(&self) -> String {
        format!("nd-{}-", self.lab)
    }

    /// The namespace of a node or a pod (`nd-netdiag-node-a`, `nd-netdiag-curl`).
    pub fn netns(&self, object: &str) -> String {
        format!("{}{object}", self.prefix())
    }

    /// The namespace holding the bridge that joins the nodes.
    pub fn cluster_netns(&self) -> String {
        self.netns(super::spec::CLUSTER_NETWORK_NAME)
    }

    pub fn netns_path(&self, object: &str) -> PathBuf {
        PathBuf::from(NETNS_DIR).join(self.netns(object))
    }

    pub fn state_dir(&self) -> PathBuf {
        PathBuf::from(LABS_DIR).join(&self.lab)
    }

    pub fn state_file(&self) -> PathBuf {
        self.state_dir().join("state.json")
    }

    /// `/etc/netns/<pod netns>`: its resolv.conf is what processes in the pod see.
    pub fn etc_netns_dir(&self, object: &str) -> PathBuf {
        PathBuf::from(ETC_NETNS_DIR).join(self.netns(object))
    }

    pub fn pid_file(&self, what: &str) -> PathBuf {
        self.state_dir().join(format!("{what}.pid"))
    }

    pub fn log_file(&self, what: &str) -> PathBuf {
        self.state_dir().join(format!("{what}.log"))
    }
}

/// The node-side name of a pod's veth: `veth` + 8 hex digits, like the CNI plugins'
/// `veth1a2b3c4d`, or Calico's `cali` + 11 hex digits on the routed CNI. Hashed from the pod's
/// name so it is stable and fits IFNAMSIZ.
pub fn host_veth(cni: Cni, pod: &str) -> String {
    let digest = Sha256::digest(pod.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    match cni {
        Cni::Routed => format!("cali{}", &hex[..11]),
        Cni::Bridge | Cni::Vxlan => format!("veth{}", &hex[..8]),
    }
}

/// The name, inside the cluster-network namespace, of the link to node number `index`.
pub fn cluster_port(index: usize) -> String {
    format!("node{index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_names_forbid_dashes_so_prefixes_cannot_overlap() {
        assert!(valid_lab_name("netdiag"));
        assert!(valid_lab_name("t1a2b3"));
        assert!(!valid_lab_name("my-lab"));
        assert!(!valid_lab_name(""));
        assert!(!valid_lab_name("averyverylongname"));
        assert!(!valid_lab_name("../etc"));
    }

    #[test]
    fn names_follow_the_lab_name() {
        let n = LabNames::new("netdiag");
        assert_eq!(n.netns("node-a"), "nd-netdiag-node-a");
        assert_eq!(n.netns("curl"), "nd-netdiag-curl");
        assert_eq!(n.cluster_netns(), "nd-netdiag-net");
        assert_eq!(
            n.netns_path("curl"),
            PathBuf::from("/var/run/netns/nd-netdiag-curl")
        );
        assert_eq!(
            n.state_file(),
            PathBuf::from("/run/netdiag/labs/netdiag/state.json")
        );
        assert_eq!(
            n.etc_netns_dir("curl"),
            PathBuf::from("/etc/netns/nd-netdiag-curl")
        );
        assert!(
            !LabNames::new("a")
                .netns("x")
                .starts_with(&LabNames::new("ab").prefix())
        );
    }

    #[test]
    fn host_veths_are_stable_short_and_distinct() {
        let a = host_veth(Cni::Bridge, "echo-1");
        assert_eq!(a, host_veth(Cni::Vxlan, "echo-1"));
        assert_ne!(a, host_veth(Cni::Bridge, "echo-2"));
        assert!(a.starts_with("veth") && a.len() == 12, "{a}");
        let c = host_veth(Cni::Routed, "echo-1");
        assert!(c.starts_with("cali") && c.len() == 15, "{c}");
    }
}
