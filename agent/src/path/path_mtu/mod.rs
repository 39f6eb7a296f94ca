//! The path MTU between the pod and its endpoint, measured: the worst black holes are outside
//! the node (a cloud network that drops frames above its MTU and sends no ICMP), so no setting
//! on the node shows them. After the connect works, the pod sends ICMP echoes with DF set: one
//! small, one of the pod's full MTU, as an engineer runs `ping -M do -s 1422 10.244.2.3` and
//! `ping -c1 10.244.2.3` from the pod. Only when the small one is answered and the full one is
//! not, with no "fragmentation needed" back, does it look further: a sweep of sizes finds the
//! largest that arrives. A healthy path costs one round trip.
//!
//! Here is the I/O (a raw ICMP socket opened in the pod's namespace); [`judge`] is pure.

mod judge;
#[cfg(test)]
mod tests;
pub mod wire;

use std::collections::HashMap;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

pub use judge::{MtuJudgeInput, judge};
use wire::Received;

use crate::kernel::netns::run_in;

/// The small probe: ping's default 56 bytes of payload.
pub const SMALL: u32 = 84;
/// How long the first round waits for the full-size reply, at most.
pub const MAX_WAIT: Duration = Duration::from_millis(500);
/// When the full-size request is sent again, should the first be lost to chance.
const RESENDS: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(200)];
/// The sweep's first pass steps this many bytes; the second finds the exact size.
const SWEEP_STEP: u32 = 32;

/// What the probe saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MtuProbe {
    /// The full-size probe's length: the pod's MTU.
    pub full: u32,
    pub small_answered: bool,
    pub full_answered: bool,
    /// A "fragmentation needed" for a probe: its sender and the MTU it named.
    pub too_big: Option<(Ipv4Addr, u16)>,
    /// From the sweep: the largest probe that was answered.
    pub largest_answered: Option<u32>,
}

/// Probe the path from the pod in `pod_netns` to `dst`, whose full size is `pod_mtu` bytes of
/// IP; waits at most `wait` (capped at [`MAX_WAIT`]) per round.
pub fn probe(
    pod_netns: &Path,
    dst: Ipv4Addr,
    pod_mtu: u32,
    wait: Duration,
) -> Result<MtuProbe, String> {
    let socket = run_in(pod_netns, open_socket)
        .map_err(|e| format!("cannot enter the pod's namespace: {e}"))??;
    let wait = wait.min(MAX_WAIT);
    // Told apart from other pings in the pod by the identifier.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let id = (std::process::id() as u16) ^ (nanos as u16);
    let mut p = Prober { socket, dst, id };
    let full = pod_mtu.max(SMALL);
    let mut out = MtuProbe {
        full,
        ..Default::default()
    };
    p.send(1, SMALL)?;
    p.send(2, full)?;
    let start = Instant::now();
    let mut seen = HashMap::new();
    let done = |s: &HashMap<u16, Received>| s.contains_key(&1) && s.keys().any(|k| *k != 1);
    // Wait for both answers; a full-size request lost to chance is sent again at each resend.
    for resend in RESENDS.iter().filter(|d| **d < wait) {
        p.collect(start + *resend, &mut seen, &done);
        if done(&seen) {
            break;
        }
        p.send(2, full)?;
    }
    p.collect(start + wait, &mut seen, &done);
    out.small_answered = matches!(seen.get(&1), Some(Received::Reply { .. }));
    out.full_answered = matches!(seen.get(&2), Some(Received::Reply { .. }));
    out.too_big = seen.values().find_map(|r| match r {
        Received::TooBig {
            from, next_hop_mtu, ..
        } => Some((*from, *next_hop_mtu)),
        Received::Reply { .. } => None,
    });
    if out.small_answered && !out.full_answered && out.too_big.is_none() {
        out.largest_answered = Some(p.sweep(full, wait)?);
    }
    Ok(out)
}

fn open_socket() -> Result<Socket, String> {
    let s = Socket::new(Domain::IPV4, Type::RAW, Some(socket2::Protocol::ICMPV4))
        .map_err(|e| format!("cannot open a raw ICMP socket (needs CAP_NET_RAW): {e}"))?;
    // DF on every probe, and no fragmenting to a cached path MTU: what `ping -M probe` does.
    let probe: libc::c_int = libc::IP_PMTUDISC_PROBE;
    // SAFETY: a valid socket and an int option of the size given.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MTU_DISCOVER,
            (&probe as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(format!(
            "cannot set DF on the ICMP socket: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(s)
}

struct Prober {
    socket: Socket,
    dst: Ipv4Addr,
    id: u16,
}

impl Prober {
    fn send(&self, seq: u16, ip_len: u32) -> Result<(), String> {
        let to = SocketAddrV4::new(self.dst, 0);
        self.socket
            .send_to(&wire::echo_request(self.id, seq, ip_len), &to.into())
            .map(|_| ())
            .map_err(|e| format!("cannot send a {ip_len}-byte ping to {}: {e}", self.dst))
    }

    /// Read until `until`, or until `done` says enough came back.
    fn collect(
        &mut self,
        until: Instant,
        seen: &mut HashMap<u16, Received>,
        done: &dyn Fn(&HashMap<u16, Received>) -> bool,
    ) {
        let mut buf = [0u8; 2048];
        while !done(seen) {
            let Some(left) = until
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
            else {
                return;
            };
            if self.socket.set_read_timeout(Some(left)).is_err() {
                return;
            }
            let Ok(n) = self.socket.read(&mut buf) else {
                return; // timed out (or the socket failed): what came back is all there is
            };
            match wire::parse(&buf[..n], self.id) {
                Some(r @ Received::Reply { from, seq }) if from == self.dst => {
                    seen.insert(seq, r);
                }
                Some(r @ Received::TooBig { seq, .. }) => {
                    seen.insert(seq, r);
                }
                _ => {}
            }
        }
    }

    /// The largest size below `full` that is answered: every [`SWEEP_STEP`] bytes at once,
    /// then each byte above the largest of those.
    fn sweep(&mut self, full: u32, wait: Duration) -> Result<u32, String> {
        let mut largest = SMALL;
        for (from, step) in [(SMALL, SWEEP_STEP), (0, 1)] {
            let start = if from == 0 { largest + 1 } else { from + step };
            let end = if from == 0 {
                (largest + SWEEP_STEP).min(full)
            } else {
                full
            };
            let sizes: Vec<u32> = (start..end).step_by(step as usize).collect();
            // Sequence numbers are the sizes: a reply says which size arrived.
            for s in &sizes {
                self.send(*s as u16, *s)?;
            }
            let mut seen = HashMap::new();
            let all = sizes.len();
            self.collect(Instant::now() + wait, &mut seen, &|s| s.len() >= all);
            if let Some(max) = (seen.iter())
                .filter(|(_, r)| matches!(r, Received::Reply { .. }))
                .map(|(seq, _)| u32::from(*seq))
                .max()
            {
                largest = largest.max(max);
            }
        }
        Ok(largest)
    }
}
