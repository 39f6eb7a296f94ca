//! kube-proxy's own answer: `GET http://127.0.0.1:10249/proxyMode` (its metrics server, on the
//! node's loopback; the agent runs in the host network). A short deadline: when kube-proxy is
//! absent or binds elsewhere, nothing listens and detection goes on with fingerprints.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub const ADDRESS: &str = "127.0.0.1:10249";
const TIMEOUT: Duration = Duration::from_millis(300);
/// The answer is one word; anything longer is not kube-proxy's.
const MAX_ANSWER: u64 = 4096;

/// Ask kube-proxy in the calling thread's namespace; None when nothing (valid) answers.
pub fn ask() -> Option<String> {
    ask_at(ADDRESS.parse().ok()?)
}

/// [`ask`] at another address.
pub fn ask_at(addr: SocketAddr) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).ok()?;
    stream.set_read_timeout(Some(TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(TIMEOUT)).ok()?;
    stream
        .write_all(b"GET /proxyMode HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut answer = Vec::new();
    stream.take(MAX_ANSWER).read_to_end(&mut answer).ok()?;
    parse(&answer)
}

/// The mode in an HTTP answer: status 200 and a body of one lower-case word. Pure.
pub fn parse(answer: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(answer).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.lines().next()?;
    let mut parts = status.split_whitespace();
    if !parts.next()?.starts_with("HTTP/1.") || parts.next()? != "200" {
        return None;
    }
    let mode = body.trim();
    let word = !mode.is_empty() && mode.len() <= 32 && mode.bytes().all(|b| b.is_ascii_lowercase());
    word.then(|| mode.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_200_with_one_word_is_an_answer() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nnftables";
        assert_eq!(parse(ok).as_deref(), Some("nftables"));
        assert_eq!(
            parse(b"HTTP/1.0 200 OK\r\n\r\nipvs\n").as_deref(),
            Some("ipvs")
        );
        assert_eq!(parse(b"HTTP/1.1 404 Not Found\r\n\r\nnftables"), None);
        assert_eq!(parse(b"HTTP/1.1 200 OK\r\n\r\n<html>hi</html>"), None);
        assert_eq!(parse(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse(&[0xff, 0xfe]), None);
    }

    #[test]
    fn a_real_server_is_asked_and_silence_is_none() {
        // Not on 10249 (a real kube-proxy may listen there): the same exchange on a port of
        // our own, in this process's namespace.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("its address").port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().expect("accept");
            let mut buf = [0u8; 256];
            let n = s.read(&mut buf).expect("read the request");
            let asked = String::from_utf8_lossy(&buf[..n]).starts_with("GET /proxyMode ");
            s.write_all(b"HTTP/1.1 200 OK\r\n\r\niptables")
                .expect("answer");
            asked
        });
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
        let answer = ask_at(addr);
        assert!(server.join().expect("server thread"));
        assert_eq!(answer.as_deref(), Some("iptables"));
        // Nothing listens on the port any more: no answer, quickly.
        assert_eq!(ask_at(addr), None);
    }
}
