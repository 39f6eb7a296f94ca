//! A test [`IpvsSource`] standing in for the kernel: it reads each request's bytes as
//! `ip_vs_genl_parse_service` would, answers with the bytes `ip_vs_genl_fill_*` would write,
//! and decodes them through the same framing and decoder as the socket's answers.

use super::decode::{self, IpvsDest, IpvsService, decode_dest, decode_service};
use super::{IpvsError, IpvsSource, ServiceKey, uapi, wire};
use crate::kernel::genl::{GenlMessage, nla};

/// The IPVS family id this fake kernel hands out (any dynamic id will do).
pub const FAMILY: u16 = 0x23;

/// A kernel holding `services`, each with its real servers.
#[derive(Clone, Debug, Default)]
pub struct KernelIpvs {
    pub services: Vec<(IpvsService, Vec<IpvsDest>)>,
    seq: u32,
}

impl KernelIpvs {
    pub fn new(services: Vec<(IpvsService, Vec<IpvsDest>)>) -> KernelIpvs {
        KernelIpvs { services, seq: 0 }
    }

    /// The service the request's IPVS_CMD_ATTR_SERVICE names, found as the kernel would.
    fn lookup(&self, request: &GenlMessage) -> Result<Option<usize>, IpvsError> {
        let op = "fake kernel: parse the request's service";
        let decode = |source| IpvsError::Decode { op, source };
        let nest = nla::attrs(&request.attrs)
            .map_while(Result::ok)
            .find(|(k, _)| *k == uapi::IPVS_CMD_ATTR_SERVICE)
            .map(|(_, v)| v)
            .ok_or(decode(decode::DecodeError::Missing {
                attr: "IPVS_CMD_ATTR_SERVICE",
            }))?;
        let wanted = decode::service_attrs(nest).map_err(decode)?;
        Ok(self.services.iter().position(|(s, _)| {
            s.af == wanted.af
                && s.protocol == wanted.protocol
                && s.addr == wanted.addr
                && s.port == wanted.port
        }))
    }

    /// Frame `answers` as one dump's datagrams and read them back like the socket does.
    fn answer(&mut self, answers: Vec<GenlMessage>) -> Result<Vec<GenlMessage>, IpvsError> {
        self.seq += 1;
        let mut bytes = Vec::new();
        for m in answers {
            bytes.extend(wire::frame(m, self.seq));
        }
        bytes.extend(wire::done(self.seq));
        decode::genl_messages(&bytes).map_err(|source| IpvsError::Decode {
            op: "fake kernel: read the answer",
            source,
        })
    }
}

impl IpvsSource for KernelIpvs {
    type Error = IpvsError;

    fn service(&mut self, key: &ServiceKey) -> Result<Option<IpvsService>, IpvsError> {
        let op = "look up an IPVS virtual service (IPVS_CMD_GET_SERVICE)";
        let Some(i) = self.lookup(&wire::get_service(FAMILY, key))? else {
            return Ok(None); // the kernel's ESRCH
        };
        let msg = wire::service_message(FAMILY, &self.services[i].0);
        let answers = self.answer(vec![msg])?;
        answers
            .first()
            .map(|m| decode_service(m).map_err(|source| IpvsError::Decode { op, source }))
            .transpose()
    }

    fn dests(&mut self, key: &ServiceKey) -> Result<Vec<IpvsDest>, IpvsError> {
        let op = "dump an IPVS service's real servers (IPVS_CMD_GET_DEST)";
        let msgs = match self.lookup(&wire::dump_dests(FAMILY, key))? {
            Some(i) => self.services[i]
                .1
                .iter()
                .map(|d| wire::dest_message(FAMILY, d))
                .collect(),
            None => Vec::new(), // an empty dump, as ip_vs_genl_dump_dests gives
        };
        self.answer(msgs)?
            .iter()
            .map(|m| decode_dest(m, key.af()).map_err(|source| IpvsError::Decode { op, source }))
            .collect()
    }

    fn services(&mut self) -> Result<Vec<IpvsService>, IpvsError> {
        let op = "dump the IPVS virtual services (IPVS_CMD_GET_SERVICE)";
        let msgs = self
            .services
            .iter()
            .map(|(s, _)| wire::service_message(FAMILY, s))
            .collect();
        self.answer(msgs)?
            .iter()
            .map(|m| decode_service(m).map_err(|source| IpvsError::Decode { op, source }))
            .collect()
    }
}

/// An IPv4 service as kube-proxy creates it: `rr`, flags HASHED (set by the kernel once
/// the service is in its table), persistence when `affinity` is set.
pub fn kube_service(
    proto: decode::Proto,
    addr: &str,
    port: u16,
    affinity: Option<u32>,
) -> IpvsService {
    let persistent = u32::from(affinity.is_some()) * uapi::IP_VS_SVC_F_PERSISTENT;
    IpvsService {
        af: uapi::AF_INET,
        protocol: proto,
        addr: Some(addr.parse().expect("a test literal IP")),
        port,
        fwmark: None,
        scheduler: "rr".into(),
        persistent: affinity,
        flags: persistent | 0x0002,
        timeout: affinity.unwrap_or(0),
        netmask: u32::MAX,
        pe_name: None,
    }
}

/// A Masq real server.
pub fn masq(addr: &str, port: u16, weight: u32, active: u32, inactive: u32) -> IpvsDest {
    IpvsDest {
        addr: addr.parse().expect("a test literal IP"),
        port,
        forward: decode::Forward::Masq,
        weight,
        upper_threshold: 0,
        lower_threshold: 0,
        active_conns: active,
        inactive_conns: inactive,
        persist_conns: 0,
    }
}
