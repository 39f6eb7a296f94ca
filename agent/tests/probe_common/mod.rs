//! A mini data plane for the probe tests: a one-node testkit fixture (the lab's own builder,
//! network only, names unique to one test): node `node-a` with a bridge `cni0` (10.244.1.1/24)
//! and pod namespaces joined to it by veth pairs. Nothing has an uplink, so no packet leaves
//! the machine. What a test starts in it (server threads, dnsmasq) is stopped, and the
//! namespaces removed, when it is dropped, including when the test panics.

#![allow(dead_code)] // each test binary uses a different part of the helper

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netdiag_agent::kernel::netns::run_in;
use netdiag_lab::names::NETNS_DIR;
use netdiag_testkit::Fixture;
use netdiag_testkit::netns::one_node;

pub use netdiag_testkit::root_or_skip;

/// Run a command, panicking with its stderr when it fails.
pub fn run(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A namespace of the lab.
pub struct Ns {
    pub name: String,
}

impl Ns {
    pub fn path(&self) -> PathBuf {
        Path::new(NETNS_DIR).join(&self.name)
    }

    /// `ip netns exec NAME args...`
    pub fn exec(&self, args: &[&str]) {
        let mut full = vec!["ip", "netns", "exec", &self.name];
        full.extend_from_slice(args);
        run(&full);
    }
}

/// A one-node testkit fixture (network only) and what the test starts in it.
pub struct Lab {
    pub node: Ns,
    pub pods: Vec<Ns>,
    children: Vec<Child>,
    files: Vec<String>,
    stops: Vec<Arc<AtomicBool>>,
    // Last: dropped (torn down) after Drop below has stopped the servers and processes.
    fixture: Fixture,
}

impl Lab {
    /// Node `node-a` with bridge `cni0` at 10.244.1.1/24 (forwarding and bridge netfilter on),
    /// and one pod per address (on the bridge, default route via it), in that order.
    pub fn new(pod_ips: &[Ipv4Addr]) -> Lab {
        let fixture = Fixture::builder("pr")
            .spec(one_node(pod_ips))
            .network_only()
            .up();
        let ns = |object: &str| Ns {
            name: fixture.netns(object),
        };
        Lab {
            node: ns("node-a"),
            pods: (0..pod_ips.len()).map(|i| ns(&format!("pod{i}"))).collect(),
            children: Vec::new(),
            files: Vec::new(),
            stops: Vec::new(),
            fixture,
        }
    }

    /// The path of pod `i`'s namespace.
    pub fn pod(&self, i: usize) -> PathBuf {
        self.pods[i].path()
    }

    /// `iptables -t nat -A PREROUTING -d VIP -p PROTO --dport PORT -j DNAT --to-destination TO`
    /// in the node namespace, the shape of kube-proxy's KUBE-SEP rule.
    pub fn dnat(&self, vip: SocketAddrV4, proto: &str, to: SocketAddrV4) {
        self.node.exec(&[
            "iptables",
            "-t",
            "nat",
            "-A",
            "PREROUTING",
            "-d",
            &format!("{}/32", vip.ip()),
            "-p",
            proto,
            "--dport",
            &vip.port().to_string(),
            "-j",
            "DNAT",
            "--to-destination",
            &to.to_string(),
        ]);
    }

    /// A TCP server in pod `pod`, accepting and closing connections from a thread until the
    /// lab is dropped.
    pub fn tcp_server(&mut self, pod: usize, addr: SocketAddrV4) {
        let path = self.pods[pod].path();
        let listener = run_in(&path, move || TcpListener::bind(addr))
            .expect("enter server pod")
            .expect("bind server");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        self.stops.push(stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => drop(conn),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
    }

    /// Start `dnsmasq` in pod `pod` with `records` as its `--address=` values (`/name/ip`, or
    /// `/name/` for NXDOMAIN), never forwarding upstream; waits until it listens on `ip`:53.
    pub fn dnsmasq(&mut self, pod: usize, ip: Ipv4Addr, records: &[&str]) {
        let ns = &self.pods[pod];
        let pid_file = format!("/tmp/{}-dnsmasq-{pod}.pid", self.fixture.name());
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name, "/usr/sbin/dnsmasq"])
            .args([
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--no-daemon",
                "--bind-interfaces",
                "--user=root",
                &format!("--listen-address={ip}"),
                &format!("--pid-file={pid_file}"),
            ])
            // `--option=...` as is (host records, say); anything else is an --address.
            .args(records.iter().map(|r| {
                if r.starts_with("--") {
                    r.to_string()
                } else {
                    format!("--address={r}")
                }
            }))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dnsmasq");
        self.children.push(child);
        self.files.push(pid_file);
        let path = ns.path();
        let deadline = Instant::now() + Duration::from_secs(5);
        // dnsmasq binds 0035 (port 53) on ip in hex, little-endian words as /proc prints them.
        let needle = format!("{:08X}:0035", u32::from_le_bytes(ip.octets()));
        loop {
            let table = run_in(&path, || {
                std::fs::read_to_string("/proc/thread-self/net/udp")
            })
            .expect("enter dns pod")
            .expect("read udp table");
            if table.contains(&needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "dnsmasq did not listen on {ip}:53 within 5s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for stop in &self.stops {
            stop.store(true, Ordering::SeqCst);
        }
        for child in &mut self.children {
            // Only the processes this lab started, by their pid.
            let _ = child.kill();
            let _ = child.wait();
        }
        for file in &self.files {
            let _ = std::fs::remove_file(file);
        }
    }
}
