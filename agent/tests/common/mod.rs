//! A mini data plane for the netlink probe tests: "node" namespaces with a bridge holding the
//! pod gateway, "pod" namespaces joined to a node by veth pairs created directly inside the
//! namespaces, and optional links between nodes. Built with `ip` (only the code under test
//! must read through netlink). Names are unique per test (`ndnl-<pid>-<n>-<role>`) so tests
//! run in parallel; nothing has an uplink to the machine's network. Everything is removed
//! when the [`Lab`] is dropped, on success, failure or panic.

#![allow(dead_code)] // each test binary uses a different part of the helper

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub use netdiag_agent::lab::exec::root_or_skip;

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

/// The namespaces, `/etc/netns` entries and processes of one test.
pub struct Lab {
    prefix: String,
    namespaces: Vec<String>,
    etc_netns: Vec<PathBuf>,
    children: Vec<Child>,
}

/// A pod namespace and its veth.
#[derive(Clone, Debug)]
pub struct Pod {
    pub ns: String,
    pub ip: Ipv4Addr,
    /// The node side of the veth, in the node namespace.
    pub veth: String,
}

impl Lab {
    pub fn new() -> Lab {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        Lab {
            prefix: format!("ndnl-{}-{n}", std::process::id()),
            namespaces: Vec::new(),
            etc_netns: Vec::new(),
            children: Vec::new(),
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

    /// A node namespace with bridge `cni0` holding `gw/24` (the pods' gateway).
    pub fn node(&mut self, role: &str, gw: &str) -> String {
        let node = self.netns(role);
        ip(&["-n", &node, "link", "add", "cni0", "type", "bridge"]);
        ip(&[
            "-n",
            &node,
            "addr",
            "add",
            &format!("{gw}/24"),
            "dev",
            "cni0",
        ]);
        ip(&["-n", &node, "link", "set", "cni0", "up"]);
        node
    }

    /// A pod namespace joined to `node` by a veth pair `veth` (node side) / `eth0` (pod side),
    /// created directly inside the namespaces. With a `gw`, the node side becomes a port of
    /// `cni0` and the pod gets a default route via `gw`; without, the setup is routed
    /// (calico style: a host route to the pod on the veth).
    pub fn pod(
        &mut self,
        node: &str,
        role: &str,
        veth: &str,
        ip_cidr: &str,
        gw: Option<&str>,
    ) -> Pod {
        let ns = self.netns(role);
        ip(&[
            "-n", node, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
        ]);
        ip(&["-n", &ns, "addr", "add", ip_cidr, "dev", "eth0"]);
        ip(&["-n", &ns, "link", "set", "eth0", "up"]);
        ip(&["-n", node, "link", "set", veth, "up"]);
        let pod_ip: Ipv4Addr = ip_cidr
            .split('/')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad pod address {ip_cidr}"));
        match gw {
            Some(gw) => {
                ip(&["-n", node, "link", "set", veth, "master", "cni0"]);
                ip(&[
                    "-n", &ns, "route", "add", "default", "via", gw, "dev", "eth0",
                ]);
            }
            None => {
                ip(&["-n", node, "route", "add", &pod_ip.to_string(), "dev", veth]);
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
            }
        }
        Pod {
            ns,
            ip: pod_ip,
            veth: veth.to_string(),
        }
    }

    /// Link two node namespaces with a veth pair `uplink` holding `a_ip/24` and `b_ip/24`.
    pub fn link_nodes(&mut self, a: &str, a_ip: &str, b: &str, b_ip: &str) {
        ip(&[
            "-n", a, "link", "add", "uplink", "type", "veth", "peer", "name", "uplink", "netns", b,
        ]);
        ip(&[
            "-n",
            a,
            "addr",
            "add",
            &format!("{a_ip}/24"),
            "dev",
            "uplink",
        ]);
        ip(&[
            "-n",
            b,
            "addr",
            "add",
            &format!("{b_ip}/24"),
            "dev",
            "uplink",
        ]);
        ip(&["-n", a, "link", "set", "uplink", "up"]);
        ip(&["-n", b, "link", "set", "uplink", "up"]);
    }

    /// Write `/etc/netns/<ns>/resolv.conf`, which `ip netns exec` shows its processes as
    /// /etc/resolv.conf, the way a container runtime gives a pod its own.
    pub fn resolv_conf(&mut self, ns: &str, text: &str) {
        let dir = Path::new("/etc/netns").join(ns);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        self.etc_netns.push(dir.clone());
        std::fs::write(dir.join("resolv.conf"), text)
            .unwrap_or_else(|e| panic!("write resolv.conf: {e}"));
    }

    /// Start a long sleep inside `ns` (a pod's "pause" process); returns its pid once it has
    /// entered the namespace.
    pub fn pause(&mut self, ns: &str) -> u32 {
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "sleep", "300"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start a process in {ns}: {e}"));
        let pid = child.id();
        self.children.push(child);
        // `ip netns exec` enters the namespace, then execs sleep: wait for both.
        let want = std::fs::metadata(Path::new("/var/run/netns").join(ns)).map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.ino()
        });
        for _ in 0..200 {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
            let ino = std::fs::metadata(format!("/proc/{pid}/ns/net")).map(|m| {
                use std::os::unix::fs::MetadataExt;
                m.ino()
            });
            if exe.to_string_lossy().ends_with("sleep") && ino.ok() == want.as_ref().ok().copied() {
                return pid;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("the process started in {ns} did not settle");
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in &mut self.children {
            // Only the processes this lab started, by their own handle.
            let _ = child.kill();
            let _ = child.wait();
        }
        // Pods first, so no veth outlives its node by a moment; deleting either end of a
        // veth removes both.
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        for dir in &self.etc_netns {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The path of a named namespace.
pub fn netns_path(ns: &str) -> PathBuf {
    Path::new("/var/run/netns").join(ns)
}
