//! The one topology the netdiag-testkit lab fixtures cannot build yet, because a lab spec has
//! no routed CNI: a calico-style routed pod (a /32 on eth0, a default route via the link-local
//! 169.254.1.1, a host route to the pod on the node's veth, no bridge). Built with `ip` (only
//! the code under test must read through netlink), in namespaces unique to one test
//! (`ndnl-<pid>-<n>-<role>`); nothing has an uplink; everything is removed when the [`Lab`]
//! is dropped, on success, failure or panic. Fold it into the lab spec with the routed CNI.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Run `ip ARGS...`, panicking with its stderr when it fails.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run ip {args:?}: {e}"));
    assert!(
        out.status.success(),
        "ip {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The namespaces of one test.
pub struct Lab {
    prefix: String,
    namespaces: Vec<String>,
}

impl Lab {
    pub fn new() -> Lab {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        Lab {
            prefix: format!("ndnl-{}-{n}", std::process::id()),
            namespaces: Vec::new(),
        }
    }

    /// Create a namespace `<prefix>-<role>` with `lo` up; returns its name.
    pub fn netns(&mut self, role: &str) -> String {
        let name = format!("{}-{role}", self.prefix);
        ip(&["netns", "add", &name]);
        self.namespaces.push(name.clone());
        ip(&["-n", &name, "link", "set", "lo", "up"]);
        name
    }

    /// A routed pod joined to `node` by a veth pair `veth` (node side) / `eth0` (pod side),
    /// created directly inside the namespaces: `pod_ip/32` on eth0, the default route via
    /// 169.254.1.1, and a host route to the pod on the veth.
    pub fn routed_pod(&mut self, node: &str, role: &str, veth: &str, pod_ip: &str) -> Ipv4Addr {
        let ns = self.netns(role);
        ip(&[
            "-n", node, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
        ]);
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{pod_ip}/32"),
            "dev",
            "eth0",
        ]);
        ip(&["-n", &ns, "link", "set", "eth0", "up"]);
        ip(&["-n", node, "link", "set", veth, "up"]);
        ip(&["-n", node, "route", "add", pod_ip, "dev", veth]);
        ip(&[
            "-n",
            &ns,
            "route",
            "add",
            "169.254.1.1",
            "dev",
            "eth0",
            "scope",
            "link",
        ]);
        ip(&[
            "-n",
            &ns,
            "route",
            "add",
            "default",
            "via",
            "169.254.1.1",
            "dev",
            "eth0",
        ]);
        pod_ip
            .parse()
            .unwrap_or_else(|_| panic!("bad pod address {pod_ip}"))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Pods first, so no veth outlives its node by a moment; deleting either end of a
        // veth removes both.
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// The path of a named namespace.
pub fn netns_path(ns: &str) -> PathBuf {
    Path::new("/var/run/netns").join(ns)
}
