//! The real [`IpvsSource`]: a generic netlink socket with the IPVS family resolved.

use std::time::Duration;

use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST};

use super::decode::{DecodeError, IpvsDest, IpvsService, decode_dest, decode_service};
use super::uapi::IPVS_GENL_NAME;
use super::{IpvsSource, ServiceKey, wire};
use crate::kernel::genl::{GenlError, GenlSocket};
use crate::kernel::netlink::{DEFAULT_TIMEOUT, NetlinkError};

/// Why IPVS could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IpvsError {
    #[error(
        "the kernel has no IPVS: the generic netlink family \"IPVS\" is missing, so the ip_vs module is not loaded and kube-proxy is not in IPVS mode on this node"
    )]
    NotLoaded,
    #[error("resolve the IPVS generic netlink family: {0}")]
    Genl(GenlError),
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error("{op}: {source}")]
    Decode {
        op: &'static str,
        #[source]
        source: DecodeError,
    },
}

/// An IPVS socket in the namespace of the thread that opened it.
pub struct IpvsSocket {
    genl: GenlSocket,
    family: u16,
}

impl IpvsSocket {
    /// Open a generic netlink socket and resolve "IPVS": [`IpvsError::NotLoaded`] when the
    /// kernel has no such family.
    pub fn open() -> Result<IpvsSocket, IpvsError> {
        IpvsSocket::open_with(DEFAULT_TIMEOUT)
    }

    /// [`IpvsSocket::open`] whose exchanges give up after `timeout` of silence.
    pub fn open_with(timeout: Duration) -> Result<IpvsSocket, IpvsError> {
        let mut genl = GenlSocket::open(timeout)?;
        let family = match genl.family(IPVS_GENL_NAME) {
            Ok(f) => f.id,
            Err(GenlError::NoFamily { .. }) => return Err(IpvsError::NotLoaded),
            Err(GenlError::Netlink(e)) => return Err(e.into()),
            Err(e) => return Err(IpvsError::Genl(e)),
        };
        Ok(IpvsSocket { genl, family })
    }

    /// The IPVS family id the controller gave.
    pub fn family(&self) -> u16 {
        self.family
    }
}

impl IpvsSource for IpvsSocket {
    type Error = IpvsError;

    fn service(&mut self, key: &ServiceKey) -> Result<Option<IpvsService>, IpvsError> {
        let op = "look up an IPVS virtual service (IPVS_CMD_GET_SERVICE)";
        match self
            .genl
            .request(op, wire::get_service(self.family, key), NLM_F_REQUEST)
        {
            Ok(answers) => match answers.first() {
                Some(m) => decode_service(m)
                    .map(Some)
                    .map_err(|source| IpvsError::Decode { op, source }),
                None => Ok(None),
            },
            // ip_vs_genl_get_cmd answers ESRCH for a service it does not have.
            Err(e) if matches!(e.errno(), Some(nix::libc::ESRCH | nix::libc::ENOENT)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn dests(&mut self, key: &ServiceKey) -> Result<Vec<IpvsDest>, IpvsError> {
        let op = "dump an IPVS service's real servers (IPVS_CMD_GET_DEST)";
        let answers = self.genl.request(
            op,
            wire::dump_dests(self.family, key),
            NLM_F_REQUEST | NLM_F_DUMP,
        )?;
        answers
            .iter()
            .map(|m| decode_dest(m, key.af()).map_err(|source| IpvsError::Decode { op, source }))
            .collect()
    }

    fn services(&mut self) -> Result<Vec<IpvsService>, IpvsError> {
        let op = "dump the IPVS virtual services (IPVS_CMD_GET_SERVICE)";
        let answers = self.genl.request(
            op,
            wire::dump_services(self.family),
            NLM_F_REQUEST | NLM_F_DUMP,
        )?;
        answers
            .iter()
            .map(|m| decode_service(m).map_err(|source| IpvsError::Decode { op, source }))
            .collect()
    }
}
