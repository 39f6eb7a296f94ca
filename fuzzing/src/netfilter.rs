//! netfilter: iptables-save text, the legacy x_tables blob, nf_tables netlink answers and
//! `nft -j` JSON, each parsed and then walked the way the ServiceRules hop walks them.

use std::collections::HashMap;
use std::convert::Infallible;

use netdiag_agent::dataplane::kube_proxy::iptables::walk::{Entry, walk};
use netdiag_agent::dataplane::kube_proxy::model::ServiceProgram;
use netdiag_agent::dataplane::kube_proxy::nftables::{self as kp_nft, NftSource};
use netdiag_agent::dataplane::netfilter::iptables::save::{parse_listing, parse_save};
use netdiag_agent::dataplane::netfilter::iptables::xtables::{Table, TableInfo};
use netdiag_agent::dataplane::netfilter::nftables::netlink::decode;
use netdiag_agent::dataplane::netfilter::nftables::rule::NftRule;
use netdiag_agent::kernel::netlink::messages;
use netdiag_agent::kernel::nftables::msg::{self, NftMessage};
use netdiag_agent::kernel::nftables::{SetElement, elements, raw_rule, trace};
use netdiag_model::{PlanTarget, Protocol};
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};

/// The Services the fixtures' dumps hold (ClusterIP 10.96.45.10:80, NodePort 30080), walked
/// from both entry points.
fn fixture_walks() -> [(PlanTarget, Entry); 2] {
    let target = |ip: [u8; 4], port| PlanTarget {
        ip: ip.into(),
        port,
        protocol: Protocol::TCP,
    };
    [
        (target([10, 96, 45, 10], 80), Entry::ServiceIp),
        (target([192, 168, 1, 10], 30080), Entry::NodePort),
    ]
}

/// `iptables-save` output (and `iptables -S` listings): parsed, then walked.
pub fn iptables_save(data: &[u8]) {
    let Some(text) = crate::utf8(data) else {
        return;
    };
    let _ = parse_listing(text);
    let mut dump = parse_save(text);
    for (target, entry) in fixture_walks() {
        let Ok(_) = walk(&mut dump, &target, entry);
    }
}

/// `IPT_SO_GET_INFO` (its 84 bytes) followed by `IPT_SO_GET_ENTRIES`' entries, as the agent
/// fetches a legacy table: indexed, every chain decoded, the counters read, then walked.
pub fn xtables(data: &[u8]) {
    const GETINFO_SIZE: usize = 84;
    let Some(info) = data.get(..GETINFO_SIZE).and_then(TableInfo::decode) else {
        return;
    };
    let Ok(mut table) = Table::index("nat", &info, data.to_vec(), GETINFO_SIZE) else {
        return;
    };
    let chains: Vec<String> = table.chain_names().map(str::to_string).collect();
    for chain in &chains {
        let _ = table.rules(chain);
    }
    let _ = table.drop_counters();
    for (target, entry) in fixture_walks() {
        let _ = walk(&mut table, &target, entry);
    }
}

/// What a dump of nf_tables answers holds, for the kube-proxy nftables walker.
#[derive(Default)]
struct Answers {
    elements: HashMap<String, Vec<SetElement>>,
    rules: HashMap<String, Vec<NftRule>>,
    timeouts: HashMap<String, u64>,
}

impl NftSource for Answers {
    type Error = Infallible;
    fn has_table(&mut self) -> Result<bool, Infallible> {
        Ok(true)
    }
    fn element(&mut self, set: &str, key: &[u8]) -> Result<Option<SetElement>, Infallible> {
        let mut found = self.elements.get(set).into_iter().flatten();
        Ok(found.find(|e| e.key == key).cloned())
    }
    fn elements(&mut self, set: &str) -> Result<Vec<SetElement>, Infallible> {
        Ok(self.elements.get(set).cloned().unwrap_or_default())
    }
    fn chain(&mut self, name: &str) -> Result<Option<Vec<NftRule>>, Infallible> {
        Ok(self.rules.get(name).cloned())
    }
    fn set_timeout(&mut self, name: &str) -> Result<Option<u32>, Infallible> {
        Ok(self
            .timeouts
            .get(name)
            .and_then(|ms| u32::try_from(ms / 1000).ok()))
    }
}

/// One datagram of nf_tables answers (rules, set elements, sets, trace events), split into
/// netlink messages as the agent's transport splits them, each decoded as its reader decodes
/// it; then kube-proxy's table is walked for every Service its `service-ips` elements name.
pub fn nft_netlink(data: &[u8]) {
    let _ = nft_programs(data);
}

fn nft_programs(data: &[u8]) -> Vec<ServiceProgram> {
    let mut answers = Answers::default();
    let mut raw_rules = Vec::new();
    for (_, bytes) in messages(data).map_while(Result::ok) {
        let Ok(parsed) = NetlinkMessage::<NftMessage>::deserialize(bytes) else {
            continue;
        };
        let NetlinkPayload::InnerMessage(m) = parsed.payload else {
            continue;
        };
        let _ = trace::decode(&m);
        let name = |kind| msg::attr(&m.attrs, kind).map(msg::string);
        if m.msg == msg::MSG_NEWSET
            && let (Some(set), Some(ms)) = (
                name(msg::SET_NAME),
                msg::attr(&m.attrs, msg::SET_TIMEOUT).and_then(msg::be_uint),
            )
        {
            answers.timeouts.insert(set, ms);
        }
        let found = elements(&m);
        if let Some(set) = name(msg::ELEM_LIST_SET) {
            answers.elements.entry(set).or_default().extend(found);
        }
        raw_rules.extend(raw_rule(&m));
    }
    for (chain, raw) in &raw_rules {
        let rule = decode(chain, raw, |set| answers.elements(set).unwrap_or_default());
        answers.rules.entry(chain.clone()).or_default().push(rule);
    }
    let services: Vec<PlanTarget> = answers
        .elements
        .get("service-ips")
        .into_iter()
        .flatten()
        .filter_map(|e| kp_nft::decode_service_key(&e.key))
        .map(|(ip, proto, port)| PlanTarget {
            ip,
            port,
            protocol: if proto == "udp" {
                Protocol::UDP
            } else {
                Protocol::TCP
            },
        })
        .take(4)
        .collect();
    let mut programs = Vec::new();
    for target in &services {
        for entry in [Entry::ServiceIp, Entry::NodePort] {
            let Ok(program) = kp_nft::walk(&mut answers, target, entry);
            programs.push(program);
        }
    }
    programs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-built seed reaches the walker's end: without that, fuzzing it would mostly
    /// exercise the message splitter.
    #[test]
    fn the_nft_seed_walks_to_its_endpoint() {
        let seed = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fuzz/corpus/nft_netlink/seed-service-chain-endpoint"
        );
        let programs = nft_programs(&std::fs::read(seed).expect("read the seed"));
        let endpoints: Vec<String> = programs[0]
            .endpoints
            .iter()
            .map(|e| format!("{}:{}", e.ip, e.port))
            .collect();
        assert_eq!(programs[0].address, "10.96.45.10:80/tcp");
        assert_eq!(endpoints, ["10.244.1.5:8080"]);
    }
}
