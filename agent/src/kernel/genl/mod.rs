//! Generic netlink over the agent's one transport ([`NetlinkSocket`] of [`Family::Generic`]):
//! a message is the family's id as netlink type, a 4-byte `genlmsghdr` (command, version,
//! reserved) and attributes ([`nla`]). A family is known by name and its id is resolved at run
//! time through the controller (`nlctrl`, CTRL_CMD_GETFAMILY), like `genl ctrl get name X`.
//!
//! IPVS ([`super::ipvs`]) is the user today; the controller's answer is what tells the agent
//! that a family (and so its kernel module) is not there at all.

pub mod nla;

use std::time::Duration;

use netlink_packet_core::{
    NLM_F_REQUEST, NetlinkDeserializable, NetlinkHeader, NetlinkSerializable,
};

use super::netlink::{Family, NetlinkError, NetlinkSocket};

/// GENL_ID_CTRL: the controller's fixed family id.
pub const GENL_ID_CTRL: u16 = 0x10;
/// CTRL_CMD_NEWFAMILY: the controller's answer to GETFAMILY.
const CTRL_CMD_NEWFAMILY: u8 = 1;
/// CTRL_CMD_GETFAMILY.
const CTRL_CMD_GETFAMILY: u8 = 3;
/// CTRL_ATTR_FAMILY_ID (u16).
const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// CTRL_ATTR_FAMILY_NAME (NUL-terminated string).
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// CTRL_ATTR_VERSION (u32).
const CTRL_ATTR_VERSION: u16 = 3;
/// The genlmsghdr size (GENL_HDRLEN).
pub const GENL_HDRLEN: usize = 4;

/// One generic netlink message: `family` is the netlink message type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenlMessage {
    pub family: u16,
    pub cmd: u8,
    pub version: u8,
    /// The attributes after the genl header, undecoded.
    pub attrs: Vec<u8>,
}

impl NetlinkSerializable for GenlMessage {
    fn message_type(&self) -> u16 {
        self.family
    }
    fn buffer_len(&self) -> usize {
        GENL_HDRLEN + self.attrs.len()
    }
    fn serialize(&self, buffer: &mut [u8]) {
        buffer[0] = self.cmd;
        buffer[1] = self.version;
        buffer[2] = 0;
        buffer[3] = 0;
        buffer[GENL_HDRLEN..].copy_from_slice(&self.attrs);
    }
}

/// A message too short for its genl header.
#[derive(Debug, thiserror::Error)]
#[error(
    "a generic netlink message of type {family} has {len} payload bytes, fewer than its 4-byte header"
)]
pub struct ShortGenlMessage {
    pub family: u16,
    pub len: usize,
}

impl NetlinkDeserializable for GenlMessage {
    type Error = ShortGenlMessage;
    fn deserialize(header: &NetlinkHeader, payload: &[u8]) -> Result<GenlMessage, Self::Error> {
        if payload.len() < GENL_HDRLEN {
            return Err(ShortGenlMessage {
                family: header.message_type,
                len: payload.len(),
            });
        }
        Ok(GenlMessage {
            family: header.message_type,
            cmd: payload[0],
            version: payload[1],
            attrs: payload[GENL_HDRLEN..].to_vec(),
        })
    }
}

/// A generic netlink family as the controller describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FamilyInfo {
    pub id: u16,
    pub version: u32,
}

/// Why a family could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum GenlError {
    #[error("the kernel has no generic netlink family {name:?} (its module is not loaded)")]
    NoFamily { name: String },
    #[error(
        "resolve the generic netlink family {name:?}: the controller's answer has no family id"
    )]
    NoId { name: String },
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
}

/// The controller's CTRL_CMD_GETFAMILY request for `name`.
pub fn family_request(name: &str) -> GenlMessage {
    let mut attrs = Vec::new();
    nla::put_string(&mut attrs, CTRL_ATTR_FAMILY_NAME, name);
    GenlMessage {
        family: GENL_ID_CTRL,
        cmd: CTRL_CMD_GETFAMILY,
        version: 1,
        attrs,
    }
}

/// The id and version in the controller's answer; None when it holds no id. A malformed
/// attribute stream is read up to the fault: the id comes first in the kernel's answer.
pub fn family_answer(msg: &GenlMessage) -> Option<FamilyInfo> {
    if msg.family != GENL_ID_CTRL || msg.cmd != CTRL_CMD_NEWFAMILY {
        return None;
    }
    let mut id = None;
    let mut version = 0;
    for (kind, value) in nla::attrs(&msg.attrs).map_while(Result::ok) {
        match (kind, value) {
            (CTRL_ATTR_FAMILY_ID, [a, b, ..]) => id = Some(u16::from_ne_bytes([*a, *b])),
            (CTRL_ATTR_VERSION, [a, b, c, d, ..]) => version = u32::from_ne_bytes([*a, *b, *c, *d]),
            _ => {}
        }
    }
    id.map(|id| FamilyInfo { id, version })
}

/// A NETLINK_GENERIC socket, answering for the namespace it was opened in.
pub struct GenlSocket {
    socket: NetlinkSocket,
}

impl GenlSocket {
    /// Open a socket whose exchanges give up after `timeout` of silence.
    pub fn open(timeout: Duration) -> Result<GenlSocket, NetlinkError> {
        let socket = NetlinkSocket::open(Family::Generic, "open generic netlink", timeout)?;
        Ok(GenlSocket { socket })
    }

    /// Resolve a family by name, like `genl ctrl get name NAME`. The kernel answers ENOENT
    /// for a family it does not have: [`GenlError::NoFamily`].
    pub fn family(&mut self, name: &str) -> Result<FamilyInfo, GenlError> {
        let op = "resolve a generic netlink family (CTRL_CMD_GETFAMILY)";
        match self.socket.request(op, family_request(name), NLM_F_REQUEST) {
            Ok(answers) => answers
                .iter()
                .find_map(family_answer)
                .ok_or_else(|| GenlError::NoId { name: name.into() }),
            Err(e) if e.errno() == Some(nix::libc::ENOENT) => {
                Err(GenlError::NoFamily { name: name.into() })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One request and its answers (a dump with NLM_F_DUMP in `flags`).
    pub fn request(
        &mut self,
        op: &'static str,
        msg: GenlMessage,
        flags: u16,
    ) -> Result<Vec<GenlMessage>, NetlinkError> {
        self.socket.request(op, msg, flags)
    }

    /// One request, each answer fed to `on_msg` (see [`NetlinkSocket::exchange`]).
    pub fn exchange(
        &mut self,
        op: &'static str,
        msg: GenlMessage,
        flags: u16,
        on_msg: impl FnMut(GenlMessage) -> bool,
    ) -> Result<(), NetlinkError> {
        self.socket.exchange(op, msg, flags, on_msg)
    }
}

#[cfg(test)]
mod tests;
