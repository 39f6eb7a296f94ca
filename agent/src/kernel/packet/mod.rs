//! AF_PACKET capture of the probe's frames on one interface (`tcpdump -i IF -s 128`), in the
//! calling thread's network namespace. The kernel filters ([`filter`]), so the socket's queue
//! holds only the probe's frames and ARP; the socket is opened before the connect and read
//! after it, so capture costs no time on the connect's path.

pub mod filter;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use filter::ProbeFilter;

// linux/if_packet.h, asm-generic/socket.h: stable kernel ABI values.
const PACKET_OUTGOING: u8 = 4;
const SO_ATTACH_FILTER: libc::c_int = 26;
// SO_TIMESTAMP_OLD, also the SCM_TIMESTAMP control message type: a struct timeval.
const SO_TIMESTAMP: libc::c_int = 29;
const ETH_P_ALL: u16 = 0x0003;

/// A capture socket that could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(
        "cannot open a packet socket: {0} (capture needs CAP_NET_RAW; turn evidence off with --checks if the agent may not have it)"
    )]
    Socket(#[source] std::io::Error),
    #[error("cannot attach the probe's packet filter: {0}")]
    Filter(#[source] std::io::Error),
    #[error("cannot bind the packet socket to interface index {ifindex}: {source}")]
    Bind {
        ifindex: u32,
        #[source]
        source: std::io::Error,
    },
}

/// One frame as read from the socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// When the kernel received or sent it.
    pub at: SystemTime,
    /// Whether the interface sent it (PACKET_OUTGOING) rather than received it.
    pub outgoing: bool,
    /// The frame's length on the wire.
    pub wire_len: u32,
    /// Its first bytes (at most the snap length).
    pub data: Vec<u8>,
}

/// A packet socket bound to one interface, with the probe's filter attached.
pub struct Capture {
    fd: OwnedFd,
    snaplen: u32,
}

impl Capture {
    /// Open on `ifindex` in the calling thread's namespace. The socket receives nothing until
    /// bound (protocol 0), so no unfiltered frame is queued before the filter is attached.
    pub fn open(ifindex: u32, filter: ProbeFilter) -> Result<Capture, CaptureError> {
        // SAFETY: plain syscalls on a descriptor this function owns; every pointer points at a
        // live local of the size passed with it.
        unsafe {
            let raw = libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            );
            if raw < 0 {
                return Err(CaptureError::Socket(std::io::Error::last_os_error()));
            }
            let fd = OwnedFd::from_raw_fd(raw);
            let mut prog = filter::program(filter);
            let fprog = libc::sock_fprog {
                len: prog.len() as libc::c_ushort,
                filter: prog.as_mut_ptr(),
            };
            if libc::setsockopt(
                raw,
                libc::SOL_SOCKET,
                SO_ATTACH_FILTER,
                (&raw const fprog).cast(),
                std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
            ) < 0
            {
                return Err(CaptureError::Filter(std::io::Error::last_os_error()));
            }
            // Each frame comes with its kernel timestamp (SCM_TIMESTAMP). The kernel turns
            // stamping on for the first such socket only later (a deferred static key), so a
            // short-lived agent's frames often carry the time of the read instead: order on one
            // interface is exact, order across interfaces only approximate.
            // Best effort: a failure costs only timestamp precision.
            let on: libc::c_int = 1;
            libc::setsockopt(
                raw,
                libc::SOL_SOCKET,
                SO_TIMESTAMP,
                (&raw const on).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
            let mut sll: libc::sockaddr_ll = std::mem::zeroed();
            sll.sll_family = libc::AF_PACKET as libc::c_ushort;
            sll.sll_protocol = ETH_P_ALL.to_be();
            sll.sll_ifindex = ifindex as libc::c_int;
            if libc::bind(
                raw,
                (&raw const sll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            ) < 0
            {
                return Err(CaptureError::Bind {
                    ifindex,
                    source: std::io::Error::last_os_error(),
                });
            }
            Ok(Capture {
                fd,
                snaplen: filter.snaplen,
            })
        }
    }

    /// Read what is queued, and what arrives until `deadline` once the queue is empty; at
    /// most `max` frames. An error ends the read with what was read so far.
    pub fn drain(&self, deadline: Instant, max: usize) -> Vec<Frame> {
        let mut out = Vec::new();
        while out.len() < max {
            match self.recv() {
                Some(f) => out.push(f),
                None => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() || !self.wait(left) {
                        break;
                    }
                }
            }
        }
        out
    }

    /// Wait until a frame is queued or `left` has passed.
    fn wait(&self, left: Duration) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, 1000) as libc::c_int;
        // SAFETY: one pollfd, counted as one.
        unsafe { libc::poll(&raw mut pfd, 1, ms) > 0 }
    }

    /// One frame, or None when none is queued (or the socket failed).
    fn recv(&self) -> Option<Frame> {
        let mut buf = vec![0u8; self.snaplen as usize];
        // Room for one SCM_TIMESTAMP (a timeval) with its header, 8-byte aligned.
        let mut control = [0u64; 8];
        // SAFETY: every pointer in the msghdr points at a live local of the length given; the
        // control messages are walked with the kernel's CMSG macros within that buffer.
        unsafe {
            let mut sll: libc::sockaddr_ll = std::mem::zeroed();
            let mut iov = libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            };
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_name = (&raw mut sll).cast();
            msg.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            msg.msg_iov = &raw mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = std::mem::size_of_val(&control);
            let n = libc::recvmsg(
                self.fd.as_raw_fd(),
                &raw mut msg,
                libc::MSG_TRUNC | libc::MSG_DONTWAIT,
            );
            if n < 0 {
                return None;
            }
            let wire_len = n as usize;
            buf.truncate(wire_len.min(buf.len()));
            let mut at = None;
            let mut cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == SO_TIMESTAMP {
                    let tv: libc::timeval = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                    at = Some(
                        UNIX_EPOCH
                            + Duration::from_secs(tv.tv_sec.max(0) as u64)
                            + Duration::from_micros(tv.tv_usec.max(0) as u64),
                    );
                }
                cmsg = libc::CMSG_NXTHDR(&raw const msg, cmsg);
            }
            Some(Frame {
                at: at.unwrap_or_else(SystemTime::now),
                outgoing: sll.sll_pkttype == PACKET_OUTGOING,
                wire_len: wire_len as u32,
                data: buf,
            })
        }
    }
}
