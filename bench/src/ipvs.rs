//! B1's IPVS row: decoding what the kernel sends for a node with N Services x M endpoints in
//! IPVS mode: the full service dump (`ipvsadm -Ln` without real servers, which the reader
//! fetches only to tell "no IPVS state" from "no service for this VIP") and every service's
//! destination dump. The bytes are built from the uapi layout by the agent's
//! `kernel::ipvs::wire`, because this machine's kernel has no ip_vs; the decode is the agent's
//! own, the one its socket runs. In process, on one core.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use netdiag_agent::kernel::ipvs::decode::{decode_dest_dump, decode_service_dump};
use netdiag_agent::kernel::ipvs::uapi::{AF_INET, IP_VS_SVC_F_PERSISTENT};
use netdiag_agent::kernel::ipvs::{Forward, IpvsDest, IpvsService, Proto, wire};

use crate::error::BenchError;
use crate::stats::median;

/// Any dynamic generic netlink id; the decoder does not look at it.
const FAMILY: u16 = 0x24;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpvsBench {
    pub services: usize,
    pub endpoints: usize,
    /// Bytes of all the dumps together.
    pub bytes: usize,
    pub samples_ms: Vec<f64>,
    pub median_ms: f64,
    /// Every service and real server decoded back equal to what was built.
    pub ok: bool,
    pub note: String,
}

impl IpvsBench {
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / (self.median_ms / 1e3)
    }
}

fn ip(n: usize, base: [u8; 2]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(base[0], base[1], (n >> 8) as u8, n as u8))
}

/// Services as kube-proxy creates them: ClusterIPs 10.96.x.y, rr, every tenth with ClientIP
/// affinity; endpoints 10.244.x.y:8080, Masq, weight 1.
fn workload(services: usize, endpoints: usize) -> Vec<(IpvsService, Vec<IpvsDest>)> {
    (0..services)
        .map(|i| {
            let affinity = (i % 10 == 0).then_some(10800);
            let svc = IpvsService {
                af: AF_INET,
                protocol: if i % 4 == 3 { Proto::Udp } else { Proto::Tcp },
                addr: Some(ip(i + 1, [10, 96])),
                port: 80 + (i % 7) as u16,
                fwmark: None,
                scheduler: "rr".into(),
                persistent: affinity,
                flags: 0x0002 | affinity.map_or(0, |_| IP_VS_SVC_F_PERSISTENT),
                timeout: affinity.unwrap_or(0),
                netmask: u32::MAX,
                pe_name: None,
            };
            let dests = (0..endpoints)
                .map(|j| IpvsDest {
                    addr: ip(i * endpoints + j + 1, [10, 244]),
                    port: 8080,
                    forward: Forward::Masq,
                    weight: 1,
                    upper_threshold: 0,
                    lower_threshold: 0,
                    active_conns: (j % 3) as u32,
                    inactive_conns: 0,
                    persist_conns: 0,
                })
                .collect();
            (svc, dests)
        })
        .collect()
}

pub fn run(services: usize, endpoints: usize, runs: usize) -> Result<IpvsBench, BenchError> {
    let want = workload(services, endpoints);
    let plain: Vec<IpvsService> = want.iter().map(|(s, _)| s.clone()).collect();
    let service_dump = wire::service_dump(FAMILY, &plain, 1);
    let dest_dumps: Vec<Vec<u8>> = want
        .iter()
        .enumerate()
        .map(|(i, (_, dests))| {
            let seq = i as u32 + 2;
            let mut b = Vec::new();
            for d in dests {
                b.extend(wire::frame(wire::dest_message(FAMILY, d), seq));
            }
            b.extend(wire::done(seq));
            b
        })
        .collect();
    let bytes = service_dump.len() + dest_dumps.iter().map(Vec::len).sum::<usize>();
    let decode_error = |e: netdiag_agent::kernel::ipvs::DecodeError| BenchError::Unexpected {
        what: "IPVS decode",
        detail: e.to_string(),
    };

    let mut samples = Vec::with_capacity(runs);
    let mut ok = true;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let got = decode_service_dump(&service_dump).map_err(decode_error)?;
        let mut dests = Vec::with_capacity(got.len());
        for dump in &dest_dumps {
            dests.push(decode_dest_dump(dump, AF_INET).map_err(decode_error)?);
        }
        samples.push(t.elapsed().as_secs_f64() * 1e3);
        ok &= got == plain && dests.iter().zip(&want).all(|(d, (_, w))| d == w);
    }
    let median_ms = median(&samples).unwrap_or(f64::NAN);
    Ok(IpvsBench {
        services,
        endpoints,
        bytes,
        samples_ms: samples,
        median_ms,
        ok,
        note: if ok {
            String::new()
        } else {
            "a decoded service or real server differs from the one built".into()
        },
    })
}
