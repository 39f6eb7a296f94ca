//! Helpers for the lab's root integration tests: the binary the lab starts for its pods and
//! agent, and what a client in a pod sees. Unique names, root checks and leftover checks come
//! from netdiag-testkit.

#![allow(dead_code, unused_imports)] // each test binary uses a different part of the helper

use std::io::Read as _;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

use netdiag_lab::LabTools;

pub use netdiag_testkit::{assert_nothing_left, root_or_skip, unique_name};

/// The lab binary cargo built for these tests.
pub fn lab_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_netdiag-lab"))
}

/// How the lab starts its pods' processes and the agent: the lab binary, whose hidden `pod`
/// subcommand is the pods' process and whose hidden `agent` mounts the agent's command line.
pub fn lab_tools() -> LabTools {
    LabTools::mounted(lab_exe(), &[])
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
