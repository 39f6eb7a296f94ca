//! Fetch a legacy iptables table from the kernel of the current network namespace, the way
//! libiptc does before `iptables-legacy-save` prints it: `IPT_SO_GET_INFO` for the size, then
//! `IPT_SO_GET_ENTRIES` for the entries, on a raw IPv4 socket (CAP_NET_ADMIN and CAP_NET_RAW).

use std::os::fd::AsRawFd;

use nix::errno::Errno;
use socket2::{Domain, Protocol, Socket, Type};

use super::layout::*;
use super::table::{Malformed, Table, TableInfo};

/// A table changed between the two calls this many times in a row: give up.
const ATTEMPTS: usize = 5;

/// Why a legacy table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "cannot open a raw socket to read the legacy iptables tables: {0} (the agent needs CAP_NET_RAW and CAP_NET_ADMIN)"
    )]
    Socket(#[source] std::io::Error),
    #[error("reading the legacy {table} table from the kernel failed: {errno}")]
    Get { table: String, errno: Errno },
    #[error("the legacy {table} table kept changing while it was read; try again")]
    Changing { table: String },
    #[error(transparent)]
    Malformed(#[from] Malformed),
}

/// A raw socket in the network namespace it was opened in; every table is read through it.
pub struct LegacySocket {
    socket: Socket,
}

impl LegacySocket {
    pub fn open() -> Result<LegacySocket, FetchError> {
        let socket = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(libc::IPPROTO_RAW)),
        )
        .map_err(FetchError::Socket)?;
        Ok(LegacySocket { socket })
    }

    /// The table `name` indexed, or `None` when this kernel has no legacy iptables (the
    /// `ip_tables` module is absent) or no such table.
    pub fn table(&self, name: &str) -> Result<Option<Table>, FetchError> {
        let get = |errno| FetchError::Get {
            table: name.to_string(),
            errno,
        };
        for _ in 0..ATTEMPTS {
            let mut info = vec![0u8; GETINFO_SIZE];
            put_name(&mut info, name);
            match self.getsockopt(IPT_SO_GET_INFO, &mut info) {
                Ok(_) => {}
                // ENOPROTOOPT: no ip_tables in this kernel; ENOENT: no such table here.
                Err(Errno::ENOPROTOOPT | Errno::ENOENT) => return Ok(None),
                Err(e) => return Err(get(e)),
            }
            let Some(info) = TableInfo::decode(&info) else {
                return Err(get(Errno::EINVAL));
            };
            let size = info.size as usize;
            let mut buf = vec![0u8; GET_ENTRIES_SIZE + size];
            put_name(&mut buf, name);
            buf[GET_ENTRIES_SIZE_FIELD..GET_ENTRIES_SIZE_FIELD + 4]
                .copy_from_slice(&info.size.to_ne_bytes());
            match self.getsockopt(IPT_SO_GET_ENTRIES, &mut buf) {
                Ok(len) if len == buf.len() => {}
                // The table was replaced between the calls (its size changed): read again.
                Ok(_) | Err(Errno::EAGAIN) => continue,
                Err(Errno::ENOENT) => return Ok(None),
                Err(e) => return Err(get(e)),
            }
            return Ok(Some(Table::index(name, &info, buf, GET_ENTRIES_SIZE)?));
        }
        Err(FetchError::Changing {
            table: name.to_string(),
        })
    }

    fn getsockopt(&self, option: i32, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut len = libc::socklen_t::try_from(buf.len()).map_err(|_| Errno::E2BIG)?;
        // SAFETY: `buf` is valid for writes of `len` bytes for the whole call, and the kernel
        // writes at most `len` bytes and stores the written length back in `len`.
        let rc = unsafe {
            libc::getsockopt(
                self.socket.as_raw_fd(),
                libc::SOL_IP,
                option,
                buf.as_mut_ptr().cast(),
                &mut len,
            )
        };
        Errno::result(rc)?;
        Ok(len as usize)
    }
}

/// The table name field (`char name[32]`) both requests start with.
fn put_name(buf: &mut [u8], name: &str) {
    let n = name.len().min(TABLE_MAXNAMELEN - 1);
    buf[..n].copy_from_slice(&name.as_bytes()[..n]);
}
