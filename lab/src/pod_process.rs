//! The long-lived process of a lab pod (the hidden `lab pod` subcommand): like a pod's pause
//! container it holds the pod's namespace, and like the seeds' echo server it answers on the
//! pod's ports: each TCP connection gets one line, the pod's name, then is closed; each UDP
//! datagram is echoed back.
//!
//! Started by `lab up` as `ip netns exec <pod netns> <exe> [lab] pod --name echo-1
//! --pid-file <state dir>/pod-echo-1.pid --tcp 8080`. It writes its pid file only once every
//! port is bound, so the pid file is also the readiness signal.

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `lab pod`.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct PodProcessArgs {
    /// The pod's name: the line each TCP connection receives.
    #[arg(long)]
    pub name: String,
    /// Written with this process's pid once every port is bound.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// A TCP port to serve (repeatable).
    #[arg(long, value_name = "PORT")]
    pub tcp: Vec<u16>,
    /// A UDP port to echo on (repeatable).
    #[arg(long, value_name = "PORT")]
    pub udp: Vec<u16>,
}

/// What a TCP client reads: the pod's name and a newline.
pub fn greeting(name: &str) -> String {
    format!("{name}\n")
}

fn write_pid_file(path: &Path) -> std::io::Result<()> {
    // temp + rename: a reader never sees a half-written pid
    let tmp = path.with_extension("pid.tmp");
    std::fs::write(&tmp, format!("{}\n", std::process::id()))?;
    std::fs::rename(&tmp, path)
}

fn serve_tcp(listener: TcpListener, line: String) {
    for conn in listener.incoming() {
        match conn {
            // a client that resets early is its problem; keep serving the next one
            Ok(mut stream) => {
                let _ = stream.write_all(line.as_bytes());
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
            // e.g. out of file descriptors: back off instead of spinning
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
}

fn serve_udp(socket: UdpSocket) {
    let mut buf = [0u8; 2048];
    loop {
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            let _ = socket.send_to(&buf[..n], from);
        }
    }
}

/// The body of `lab pod`: bind, write the pid file, serve until killed.
pub fn run(args: PodProcessArgs) -> ExitCode {
    let any = |port| SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port);
    let mut tcp = Vec::new();
    for &port in &args.tcp {
        match TcpListener::bind(any(port)) {
            Ok(l) => tcp.push(l),
            Err(e) => {
                eprintln!(
                    "lab pod {}: cannot listen on TCP port {port}: {e}",
                    args.name
                );
                return ExitCode::FAILURE;
            }
        }
    }
    let mut udp = Vec::new();
    for &port in &args.udp {
        match UdpSocket::bind(any(port)) {
            Ok(s) => udp.push(s),
            Err(e) => {
                eprintln!("lab pod {}: cannot bind UDP port {port}: {e}", args.name);
                return ExitCode::FAILURE;
            }
        }
    }
    let line = greeting(&args.name);
    for l in tcp {
        let line = line.clone();
        std::thread::spawn(move || serve_tcp(l, line));
    }
    for s in udp {
        std::thread::spawn(move || serve_udp(s));
    }
    if let Some(path) = &args.pid_file
        && let Err(e) = write_pid_file(path)
    {
        eprintln!(
            "lab pod {}: cannot write {}: {e}",
            args.name,
            path.display()
        );
        return ExitCode::FAILURE;
    }
    // Like pause: sleep until a signal ends the process.
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: PodProcessArgs,
    }

    #[test]
    fn arguments_parse_repeated_ports() {
        let cli = Cli::try_parse_from([
            "x", "--name", "echo-1", "--tcp", "8080", "--tcp", "9090", "--udp", "53",
        ])
        .unwrap();
        assert_eq!(cli.args.tcp, vec![8080, 9090]);
        assert_eq!(cli.args.udp, vec![53]);
        assert_eq!(cli.args.pid_file, None);
        assert_eq!(greeting("echo-1"), "echo-1\n");
    }

    #[test]
    fn serving_tcp_writes_the_name_then_closes() {
        use std::io::Read as _;
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || serve_tcp(l, greeting("echo-7")));
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        let mut got = String::new();
        s.read_to_string(&mut got).unwrap();
        assert_eq!(got, "echo-7\n");
    }

    #[test]
    fn serving_udp_echoes_the_datagram() {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = s.local_addr().unwrap();
        std::thread::spawn(move || serve_udp(s));
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        c.set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        c.send_to(b"ping", addr).unwrap();
        let mut buf = [0u8; 16];
        let (n, _) = c.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"ping");
    }
}
