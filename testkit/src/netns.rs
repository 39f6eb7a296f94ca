//! Network-namespace fixtures for root tests, built by the lab itself from a [`LabSpec`]: the
//! same builder as `lab up`, so whatever topology the lab spec can express (today a bridge CNI
//! over nodes on one network; routed and overlay CNIs when the spec grows them) is a fixture.
//! Names are unique per test (see [`crate::unique_name`]), nothing has an uplink to the
//! machine's network, and everything is removed when the [`Fixture`] drops, panics included.
//!
//! ```no_run
//! use netdiag_testkit::{Fixture, root_or_skip};
//! # fn t() {
//! if !root_or_skip("my_test") { return; }
//! // Two nodes, their pods and routes; no kube-proxy rules, DNS or pod processes.
//! let f = Fixture::builder("mine").network_only().up();
//! let routes = f.exec("node-a", &["ip", "route"]);
//! # }
//! ```

use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use netdiag_agent::kernel::netns::NsId;
use netdiag_lab::names::NETNS_DIR;
use netdiag_lab::spec::PodSpec;
use netdiag_lab::{Invocation, Lab, LabError, LabGuard, LabSpec, LabTools, Parts};

use crate::bin::{binary, binary_path};

/// What to build: a lab spec, the parts of it, and the binaries its processes run.
#[derive(Clone, Debug)]
pub struct FixtureBuilder {
    tag: String,
    spec: LabSpec,
    parts: Parts,
    tools: Option<LabTools>,
}

/// A built lab, torn down on drop; derefs to the [`Lab`] (its names, spec and state).
pub struct Fixture {
    /// Processes the test started in the lab ([`Fixture::pause`]), killed before teardown.
    children: Vec<Child>,
    lab: LabGuard,
}

/// The workspace's binaries as the lab runs them on a real machine: `netdiag-lab pod` for the
/// pods, the standalone `netdiag-agent` (as a node runs it) for traces. Built if missing.
pub fn workspace_tools() -> LabTools {
    LabTools {
        pods: Invocation::new(binary("netdiag-lab"), &[]),
        agent: Invocation::new(binary("netdiag-agent"), &[]),
    }
}

impl Fixture {
    /// The default lab (the seeds' two nodes, five pods, two Services, DNS), all of it built,
    /// under a unique name starting with `tag` (at most 4 characters).
    pub fn builder(tag: &str) -> FixtureBuilder {
        FixtureBuilder {
            tag: tag.into(),
            spec: LabSpec::default(),
            parts: Parts::ALL,
            tools: None,
        }
    }

    /// The lab's name (`nd-<name>-<object>` are its namespaces).
    pub fn name(&self) -> &str {
        self.lab.name()
    }

    /// The namespace name of a node or pod (`ip netns exec` takes it).
    pub fn netns(&self, object: &str) -> String {
        self.lab.names.netns(object)
    }

    /// Run `argv` inside a node's or pod's namespace (`ip netns exec`), returning its stdout;
    /// panics with its stderr when it fails.
    pub fn exec(&self, object: &str, argv: &[&str]) -> String {
        self.exec_stdin(object, argv, "")
    }

    /// [`Fixture::exec`] with `stdin` as its input (`iptables-restore`, say).
    pub fn exec_stdin(&self, object: &str, argv: &[&str], stdin: &str) -> String {
        let ns = self.netns(object);
        let child = Command::new("ip")
            .args(["netns", "exec", &ns])
            .args(argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = child.unwrap_or_else(|e| panic!("ip netns exec {ns} {argv:?}: {e}"));
        if let Some(mut pipe) = child.stdin.take() {
            pipe.write_all(stdin.as_bytes())
                .unwrap_or_else(|e| panic!("ip netns exec {ns} {argv:?}: writing stdin: {e}"));
        }
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("ip netns exec {ns} {argv:?}: {e}"));
        assert!(
            out.status.success(),
            "ip netns exec {ns} {argv:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Stop one of the lab's own processes (`pod-echo-1`, `nodelocaldns-node-a`, `kube-dns`) by
    /// the pid the lab recorded, after checking it is still the lab's.
    pub fn stop_process(&self, what: &str) {
        let record = self
            .lab
            .state
            .processes
            .iter()
            .find(|p| p.what == what)
            .unwrap_or_else(|| panic!("lab {} has no process {what}", self.name()));
        let pid = record
            .pid
            .unwrap_or_else(|| panic!("lab process {what} has no recorded pid"));
        let netns = NsId::of(&Path::new(NETNS_DIR).join(&record.netns)).ok();
        let stop =
            netdiag_lab::process::stop_if_ours(pid, &record.marker, record.start_time, netns);
        assert_eq!(
            stop,
            netdiag_lab::process::Stop::Stopped,
            "stopping {what} (pid {pid})"
        );
    }
}

impl Fixture {
    /// Start a long `sleep` inside a node's or pod's namespace (a pod's "pause" process, for a
    /// network-only fixture); returns its pid once it has entered the namespace. Killed, by
    /// its own handle, when the fixture drops.
    pub fn pause(&mut self, object: &str) -> u32 {
        let ns = self.netns(object);
        let child = Command::new("ip")
            .args(["netns", "exec", &ns, "sleep", "300"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start a process in {ns}: {e}"));
        let pid = child.id();
        self.children.push(child);
        // `ip netns exec` enters the namespace, then execs sleep: wait for both.
        let want = NsId::of(&self.lab.netns_path(object)).ok();
        for _ in 0..200 {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
            let now = NsId::of(Path::new(&format!("/proc/{pid}/ns/net"))).ok();
            if exe.to_string_lossy().ends_with("sleep") && now.is_some() && now == want {
                return pid;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the process started in {ns} did not settle");
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        for child in &mut self.children {
            // Only the processes this fixture started, by their own handle.
            let _ = child.kill();
            let _ = child.wait();
        }
        // Then `lab` drops and tears the lab down.
    }
}

impl std::ops::Deref for Fixture {
    type Target = Lab;
    fn deref(&self) -> &Lab {
        &self.lab
    }
}

/// The cluster DNS pod [`one_node`] adds: a lab spec always has one. It stays an idle namespace
/// unless [`Parts::dns`] is built.
pub const ONE_NODE_DNS_POD: (&str, Ipv4Addr) = ("coredns", Ipv4Addr::new(10, 244, 1, 250));

/// A one-node lab spec: `node-a` (pods 10.244.1.0/24, gateway 10.244.1.1 on `cni0`) with pods
/// `pod0`, `pod1`... at `pod_ips` (serving no ports), plus the kube-dns Service and its pod
/// [`ONE_NODE_DNS_POD`] that every lab spec has.
pub fn one_node(pod_ips: &[Ipv4Addr]) -> LabSpec {
    let mut spec = LabSpec::default();
    spec.nodes.truncate(1);
    let node = spec.nodes[0].name.clone();
    let pod = |name: String, namespace: &str, ip: Ipv4Addr| PodSpec {
        name,
        namespace: namespace.into(),
        node: node.clone(),
        ip,
        tcp: vec![],
        udp: vec![],
    };
    let (dns_pod, dns_ip) = ONE_NODE_DNS_POD;
    spec.pods = pod_ips
        .iter()
        .enumerate()
        .map(|(i, ip)| pod(format!("pod{i}"), "default", *ip))
        .chain([pod(dns_pod.into(), "kube-system", dns_ip)])
        .collect();
    spec.services
        .retain(|s| s.cluster_ip == spec.dns.cluster_ip);
    for s in &mut spec.services {
        s.endpoints = vec![dns_pod.into()];
    }
    spec.dns.pod = dns_pod.into();
    spec
}

impl FixtureBuilder {
    /// Build `spec` instead of the default lab.
    pub fn spec(mut self, spec: LabSpec) -> Self {
        self.spec = spec;
        self
    }

    /// Change the spec in place (move a pod, add a port, drop a Service...).
    pub fn edit(mut self, edit: impl FnOnce(&mut LabSpec)) -> Self {
        edit(&mut self.spec);
        self
    }

    /// Build only these parts on top of the network.
    pub fn parts(mut self, parts: Parts) -> Self {
        self.parts = parts;
        self
    }

    /// Only the network: namespaces, links, addresses, routes, resolv.conf; no kube-proxy
    /// rules, DNS or pod processes (for tests that bring their own).
    pub fn network_only(self) -> Self {
        self.parts(Parts::NETWORK)
    }

    /// The binaries the lab starts (default: [`workspace_tools`]).
    pub fn tools(mut self, tools: LabTools) -> Self {
        self.tools = Some(tools);
        self
    }

    /// Build it; the error says what failed (and the lab removed what it had built).
    pub fn try_up(self) -> Result<Fixture, LabError> {
        let name = crate::unique_name(&self.tag);
        let tools = match self.tools {
            Some(t) => t,
            // Nothing will run them: do not build binaries a network-only fixture never starts.
            None if !self.parts.pod_processes => LabTools {
                pods: Invocation::new(binary_path("netdiag-lab"), &[]),
                agent: Invocation::new(binary_path("netdiag-agent"), &[]),
            },
            None => workspace_tools(),
        };
        LabGuard::up_parts(&self.spec, &name, &tools, self.parts).map(|lab| Fixture {
            children: Vec::new(),
            lab,
        })
    }

    /// Build it, or panic with the cause.
    pub fn up(self) -> Fixture {
        let tag = self.tag.clone();
        self.try_up()
            .unwrap_or_else(|e| panic!("fixture {tag}: lab up failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_node_spec_is_valid_and_names_its_pods_in_order() {
        let ips = [Ipv4Addr::new(10, 244, 1, 2), Ipv4Addr::new(10, 244, 1, 3)];
        let spec = one_node(&ips);
        spec.validate().expect("valid");
        let names: Vec<&str> = spec.pods.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["pod0", "pod1", "coredns"]);
        assert_eq!(spec.nodes.len(), 1);
        assert_eq!(spec.services.len(), 1);
    }
}
