//! The wire form of a plan's expected endpoints: grouped by port, `[{"port": 8080, "ips":
//! ["10.244.1.3", ...]}]`, about half the size of one `{"ip": ..., "port": ...}` object per
//! endpoint. The plan travels in a ConfigMap, which holds at most 1 MiB: in this form 50,000
//! endpoints take at most 900 KB (18 bytes an address at worst), in the old one 1.8 MB.
//!
//! Reading takes both forms, even mixed in one list, so an agent still reads a plan an older
//! controller wrote (version skew during an upgrade). In Rust the field stays a
//! `Vec<Endpoint>`: groups come out in the order their port first appears, each group's
//! addresses in their own order.

use std::net::Ipv4Addr;

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::report::Endpoint;

/// One port and every expected address on it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EndpointGroup {
    pub port: u16,
    pub ips: Vec<Ipv4Addr>,
}

/// Group endpoints by port, ports in order of first appearance (pure).
pub fn group(endpoints: &[Endpoint]) -> Vec<EndpointGroup> {
    let mut groups: Vec<EndpointGroup> = Vec::new();
    for e in endpoints {
        // A Service port maps to one target port, rarely a few: a scan beats a map here.
        match groups.iter_mut().find(|g| g.port == e.port) {
            Some(g) => g.ips.push(e.ip),
            None => groups.push(EndpointGroup {
                port: e.port,
                ips: vec![e.ip],
            }),
        }
    }
    groups
}

pub fn serialize<S: Serializer>(endpoints: &[Endpoint], s: S) -> Result<S::Ok, S::Error> {
    let groups = group(endpoints);
    let mut seq = s.serialize_seq(Some(groups.len()))?;
    for g in &groups {
        seq.serialize_element(g)?;
    }
    seq.end()
}

/// An element of either form.
#[derive(Deserialize)]
#[serde(untagged)]
enum Entry {
    Group(EndpointGroup),
    One(Endpoint),
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Vec<Endpoint>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(r#"a list of {"port": N, "ips": [...]} or {"ip": "...", "port": N}"#)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(entry) = seq.next_element::<Entry>()? {
            match entry {
                Entry::Group(g) => {
                    out.extend(g.ips.into_iter().map(|ip| Endpoint { ip, port: g.port }))
                }
                Entry::One(e) => out.push(e),
            }
        }
        Ok(out)
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Endpoint>, D::Error> {
    d.deserialize_seq(EntriesVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PlanRole, TracePlan};

    fn ep(ip: &str, port: u16) -> Endpoint {
        Endpoint {
            ip: ip.parse().expect("test address"),
            port,
        }
    }

    fn plan(expected: Vec<Endpoint>) -> TracePlan {
        let mut p: TracePlan = serde_json::from_str(r#"{"role": "Source"}"#).expect("plan");
        p.expected_endpoints = expected;
        p
    }

    #[test]
    fn endpoints_are_written_grouped_by_port_and_read_back_in_group_order() {
        let p = plan(vec![
            ep("10.244.1.3", 8080),
            ep("10.244.2.7", 9090),
            ep("10.244.2.8", 8080),
        ]);
        let json = serde_json::to_value(&p).expect("json");
        assert_eq!(
            json["expectedEndpoints"],
            serde_json::json!([
                {"port": 8080, "ips": ["10.244.1.3", "10.244.2.8"]},
                {"port": 9090, "ips": ["10.244.2.7"]}
            ])
        );
        let back: TracePlan = serde_json::from_value(json).expect("reads back");
        assert_eq!(
            back.expected_endpoints,
            [
                ep("10.244.1.3", 8080),
                ep("10.244.2.8", 8080),
                ep("10.244.2.7", 9090)
            ]
        );
        assert_eq!(back.role, PlanRole::Source);
    }

    #[test]
    fn a_plan_in_the_old_form_from_an_older_controller_still_reads() {
        let back: TracePlan = serde_json::from_str(
            r#"{"role": "Source", "expectedEndpoints": [
                {"ip": "10.244.1.3", "port": 8080},
                {"port": 8080, "ips": ["10.244.1.4"]},
                {"ip": "10.244.2.7", "port": 9090}]}"#,
        )
        .expect("the old form reads, even mixed with the new one");
        assert_eq!(
            back.expected_endpoints,
            [
                ep("10.244.1.3", 8080),
                ep("10.244.1.4", 8080),
                ep("10.244.2.7", 9090)
            ]
        );
        let bad = serde_json::from_str::<TracePlan>(
            r#"{"role": "Source", "expectedEndpoints": [{"port": 80}]}"#,
        );
        assert!(bad.is_err(), "an entry of neither form is refused");
    }

    #[test]
    fn fifty_thousand_endpoints_fit_a_config_map_with_room_to_spare() {
        // The longest dotted quads there are, so no address length makes it bigger.
        let octet = |n: u32| 100 + n % 156;
        let many: Vec<Endpoint> = (0..50_000u32)
            .map(|i| {
                let ip = format!(
                    "255.{}.{}.{}",
                    octet(i / 156 / 156),
                    octet(i / 156),
                    octet(i)
                );
                ep(&ip, 65535)
            })
            .collect();
        assert!(many.iter().all(|e| e.ip.to_string().len() == 15));
        let p = plan(many.clone());
        let new = serde_json::to_string(&p).expect("json").len();
        let old = many
            .iter()
            .map(|e| serde_json::to_string(e).expect("json").len() + 1)
            .sum::<usize>();
        assert!(new < 910_000, "{new} bytes");
        assert!(old > 1_048_576, "the old form would not fit: {old} bytes");
        let back: TracePlan =
            serde_json::from_str(&serde_json::to_string(&p).expect("json")).expect("reads");
        assert_eq!(back.expected_endpoints, many);
    }
}
