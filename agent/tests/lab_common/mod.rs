//! Helpers for the lab's root integration tests: unique lab names, the binary the lab starts for
//! its pods, and checks that a lab left nothing behind.

#![allow(dead_code)] // each test binary uses a different part of the helper

use std::io::Read as _;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use netdiag_agent::lab::LabTools;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub use netdiag_agent::lab::exec::root_or_skip;

/// A lab name no other test (or parallel test run) uses: tag + pid + counter, <= 12 chars.
pub fn unique_name(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let name = format!("{tag}{:x}{n}", std::process::id() & 0xfffff);
    assert!(name.len() <= 12, "{name}");
    name
}

/// The agent binary cargo built for these tests.
pub fn agent_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_netdiag-agent"))
}

/// How the lab starts its pods' processes and the agent: the agent binary, whose hidden
/// `lab-pod` subcommand is the pods' process.
pub fn lab_tools() -> LabTools {
    LabTools {
        exe: agent_exe(),
        prefix: vec![],
    }
}

/// Connect, read the one line a lab pod writes, return it without the newline.
pub fn tcp_line(addr: SocketAddrV4) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&SocketAddr::V4(addr), Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut line = String::new();
    s.read_to_string(&mut line)?;
    Ok(line.trim_end().to_string())
}

/// Ask `server` for the A records of `name` over UDP; returns (rcode, addresses).
pub fn dns_a(server: SocketAddrV4, name: &str) -> std::io::Result<(String, Vec<Ipv4Addr>)> {
    use hickory_proto::op::{Message, MessageType, OpCode, Query};
    use hickory_proto::rr::{Name, RData, RecordType};
    let mut q = Message::new(0x4e44, MessageType::Query, OpCode::Query);
    q.metadata.recursion_desired = true;
    q.add_query(Query::query(
        Name::from_ascii(name).map_err(std::io::Error::other)?,
        RecordType::A,
    ));
    let bytes = q.to_vec().map_err(std::io::Error::other)?;
    let sock = UdpSocket::bind("0.0.0.0:0")?;
    sock.set_read_timeout(Some(Duration::from_secs(3)))?;
    sock.send_to(&bytes, server)?;
    let mut buf = [0u8; 1500];
    let (n, _) = sock.recv_from(&mut buf)?;
    let answer = Message::from_vec(&buf[..n]).map_err(std::io::Error::other)?;
    let ips = answer
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect();
    Ok((answer.metadata.response_code.to_string(), ips))
}

/// Named namespaces that belong to lab `name`.
pub fn lab_namespaces(name: &str) -> Vec<String> {
    let prefix = format!("nd-{name}-");
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&prefix))
        .map(str::to_string)
        .collect()
}

/// Live processes whose command line names lab `name`'s state dir.
pub fn lab_processes(name: &str) -> Vec<u32> {
    let marker = format!("/run/netdiag/labs/{name}/");
    let mut pids = vec![];
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&raw).replace('\0', " ");
        if cmd.contains(&marker) && netdiag_agent::lab::process::alive(pid) {
            pids.push(pid);
        }
    }
    pids
}

/// Panic unless nothing of lab `name` is left: namespaces, processes, /etc/netns, state.
pub fn assert_nothing_left(name: &str) {
    assert_eq!(
        lab_namespaces(name),
        Vec::<String>::new(),
        "namespaces left"
    );
    assert_eq!(lab_processes(name), Vec::<u32>::new(), "processes left");
    let prefix = format!("nd-{name}-");
    let etc: Vec<String> = std::fs::read_dir("/etc/netns")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&prefix))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(etc, Vec::<String>::new(), "/etc/netns entries left");
    let state = Path::new("/run/netdiag/labs").join(name);
    assert!(!state.exists(), "{} left", state.display());
}
