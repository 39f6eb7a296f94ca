//! A NetProbe's SOURCE and TARGET as typed on a command line (`deploy/curl`, `svc/echo:http`,
//! `10.96.0.10:53/udp`, `dns/echo`, `node/node-a:30080`) and its `--checks` list: pure parsing
//! with errors that show the expected form. One parser for the plugin's `trace` and the lab's
//! `lab trace`, so both take the same words.

use std::net::{IpAddr, Ipv4Addr};

mod error;
pub use error::ArgError;

use crate::validate::{
    is_dns_label, is_dns_label_or_subdomain, is_dns_name, is_port_name, is_service_name,
};
use crate::{Check, PortRef, Protocol};
use netdiag_model::addr::{self, AddrError};

/// `--checks path,connect`, parsed: each check once, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checks(pub Vec<Check>);

/// Workload kinds a source pod can be picked from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    Pod,
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    /// A node's own network namespace (host network). On a cluster the controller runs it only
    /// for the namespaces its `--node-source-namespaces` lists (none by default): a connect from
    /// there carries the node's identity.
    Node,
}

impl SourceKind {
    /// The short form kubectl users type: `pod`, `deploy`, `sts`, `ds`, `rs`.
    pub fn short(self) -> &'static str {
        match self {
            SourceKind::Pod => "pod",
            SourceKind::Deployment => "deploy",
            SourceKind::StatefulSet => "sts",
            SourceKind::DaemonSet => "ds",
            SourceKind::ReplicaSet => "rs",
            SourceKind::Node => "node",
        }
    }
}

/// `pod/curl`, `deploy/curl`...
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceArg {
    pub kind: SourceKind,
    pub name: String,
}

impl std::fmt::Display for SourceArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind.short(), self.name)
    }
}

/// What to reach, before any API lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetArg {
    Service {
        namespace: Option<String>,
        name: String,
        port: Option<PortRef>,
    },
    Pod {
        namespace: Option<String>,
        name: String,
        port: Option<PortRef>,
    },
    Address {
        ip: Ipv4Addr,
        port: u16,
        protocol: Protocol,
    },
    Dns {
        name: String,
    },
    /// A port on a node's own address (a NodePort, or a hostNetwork pod's port).
    Node {
        name: String,
        port: u16,
        protocol: Protocol,
    },
}

pub(crate) const SOURCE_FORMS: &str =
    "pod/NAME, deploy/NAME, sts/NAME, ds/NAME, rs/NAME or node/NAME";
pub(crate) const TARGET_FORMS: &str =
    "svc/NAME[:PORT], pod/NAME[:PORT], IP:PORT[/tcp|udp], dns/NAME or node/NAME:PORT[/tcp|udp]";

/// `pod/NAME`, `deploy/NAME`, `sts/NAME`, `ds/NAME`, `rs/NAME`, `node/NAME` (long kubectl names
/// too). A bare NAME is a pod, as for `kubectl exec`.
pub fn parse_source(input: &str) -> Result<SourceArg, ArgError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(ArgError::EmptySource);
    }
    let (kind, name) = match input.split_once('/') {
        None => (SourceKind::Pod, input),
        Some((k, name)) => {
            let kind = match k.to_ascii_lowercase().as_str() {
                "pod" | "pods" | "po" => SourceKind::Pod,
                "deploy" | "deployment" | "deployments" | "deployment.apps" => {
                    SourceKind::Deployment
                }
                "sts" | "statefulset" | "statefulsets" | "statefulset.apps" => {
                    SourceKind::StatefulSet
                }
                "ds" | "daemonset" | "daemonsets" | "daemonset.apps" => SourceKind::DaemonSet,
                "rs" | "replicaset" | "replicasets" | "replicaset.apps" => SourceKind::ReplicaSet,
                "node" | "nodes" | "no" => SourceKind::Node,
                "svc" | "service" | "services" => {
                    return Err(ArgError::NotASourceKind {
                        input: input.into(),
                        kind: "Service",
                    });
                }
                "dns" => {
                    return Err(ArgError::NotASourceKind {
                        input: input.into(),
                        kind: "DNS name",
                    });
                }
                _ => {
                    return Err(ArgError::UnknownSourceKind {
                        input: input.into(),
                        kind: k.into(),
                    });
                }
            };
            (kind, name)
        }
    };
    if name.is_empty() {
        return Err(ArgError::MissingName {
            input: input.into(),
            kind: kind.short().into(),
        });
    }
    // Pods, workloads and nodes alike are named as DNS subdomains.
    if !is_dns_label_or_subdomain(name) {
        return Err(ArgError::BadName {
            input: input.into(),
            name: name.into(),
            what: match kind {
                SourceKind::Pod => "pod",
                SourceKind::Node => "node",
                _ => "workload",
            },
            dots: true,
        });
    }
    Ok(SourceArg {
        kind,
        name: name.into(),
    })
}

/// `svc/[NS/]NAME[:PORT]`, `pod/[NS/]NAME[:PORT]`, `IP:PORT[/tcp|udp]`, `dns/NAME` or
/// `node/NAME:PORT[/tcp|udp]`.
pub fn parse_target(input: &str) -> Result<TargetArg, ArgError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(ArgError::EmptyTarget);
    }
    let Some((kind, rest)) = input.split_once('/') else {
        if matches!(
            input.to_ascii_lowercase().as_str(),
            "svc" | "service" | "pod" | "po" | "dns" | "node" | "no"
        ) {
            return Err(ArgError::MissingName {
                input: input.into(),
                kind: input.into(),
            });
        }
        return parse_address(input);
    };
    // `10.96.0.10:53/udp` also has a slash: an address when what precedes it has a colon or
    // looks like an IP.
    if kind.contains(':') || kind.parse::<IpAddr>().is_ok() {
        return parse_address(input);
    }
    match kind.to_ascii_lowercase().as_str() {
        "svc" | "service" | "services" => {
            let (namespace, name, port) = named_with_port(input, "svc", rest)?;
            if !is_service_name(&name) {
                return Err(bad_name(input, &name, "Service", false));
            }
            Ok(TargetArg::Service {
                namespace,
                name,
                port,
            })
        }
        "pod" | "pods" | "po" => {
            let (namespace, name, port) = named_with_port(input, "pod", rest)?;
            if !is_dns_label_or_subdomain(&name) {
                return Err(bad_name(input, &name, "pod", true));
            }
            Ok(TargetArg::Pod {
                namespace,
                name,
                port,
            })
        }
        "dns" => {
            if rest.is_empty() {
                return Err(ArgError::MissingName {
                    input: input.into(),
                    kind: "dns".into(),
                });
            }
            if !is_dns_name(rest) {
                return Err(ArgError::BadDnsName {
                    input: input.into(),
                    name: rest.into(),
                });
            }
            Ok(TargetArg::Dns { name: rest.into() })
        }
        "node" | "nodes" | "no" => parse_node(input, rest),
        _ => Err(ArgError::UnknownTargetKind {
            input: input.into(),
            kind: kind.into(),
        }),
    }
}

/// `NAME:PORT[/tcp|udp]` after `node/`: the port must be a number, since a node has no port names.
fn parse_node(input: &str, rest: &str) -> Result<TargetArg, ArgError> {
    let (rest, protocol) = split_protocol(input, rest)?;
    let Some((name, port)) = rest.rsplit_once(':') else {
        return Err(if rest.is_empty() {
            ArgError::MissingName {
                input: input.into(),
                kind: "node".into(),
            }
        } else {
            ArgError::NodeWithoutPort {
                input: input.into(),
            }
        });
    };
    if name.is_empty() {
        return Err(ArgError::MissingName {
            input: input.into(),
            kind: "node".into(),
        });
    }
    if !is_dns_label_or_subdomain(name) {
        return Err(bad_name(input, name, "node", true));
    }
    Ok(TargetArg::Node {
        name: name.into(),
        port: address_port(input, port)?,
        protocol,
    })
}

/// A trailing `/tcp` or `/udp` (TCP when there is none).
fn split_protocol<'a>(input: &str, s: &'a str) -> Result<(&'a str, Protocol), ArgError> {
    addr::split_protocol(s).map_err(|e| arg_error(input, e))
}

/// A port number from 1 to 65535, as an address or node target takes it.
fn address_port(input: &str, port: &str) -> Result<u16, ArgError> {
    addr::parse_port(port).map_err(|e| arg_error(input, e))
}

/// The plugin's wording of an address mistake in `input`.
fn arg_error(input: &str, e: AddrError) -> ArgError {
    let input = input.to_string();
    match e {
        AddrError::Ipv6 => ArgError::Ipv6 { input },
        AddrError::BadProtocol { protocol } => ArgError::BadProtocol { input, protocol },
        AddrError::NoPort => ArgError::AddressWithoutPort { input },
        AddrError::BadIp {
            host,
            numeric: true,
        } => ArgError::BadIp { input, host },
        // `echo:80`: a name where an IP was expected; most likely a Service.
        AddrError::BadIp { numeric: false, .. } => ArgError::TargetWithoutKind { input },
        AddrError::BadPort { port } => ArgError::BadAddressPort { input, port },
    }
}

fn bad_name(input: &str, name: &str, what: &'static str, dots: bool) -> ArgError {
    ArgError::BadName {
        input: input.into(),
        name: name.into(),
        what,
        dots,
    }
}

type Named = (Option<String>, String, Option<PortRef>);

/// `[NS/]NAME[:PORT]` after the kind.
fn named_with_port(input: &str, kind: &str, rest: &str) -> Result<Named, ArgError> {
    let (path, port) = match rest.rsplit_once(':') {
        Some((path, port)) => (path, Some(parse_port(input, port)?)),
        None => (rest, None),
    };
    let (namespace, name) = match path.split_once('/') {
        Some((ns, name)) => {
            if !is_dns_label(ns) {
                return Err(bad_name(input, ns, "namespace", false));
            }
            (Some(ns.to_string()), name)
        }
        None => (None, path),
    };
    if name.is_empty() {
        return Err(ArgError::MissingName {
            input: input.into(),
            kind: kind.into(),
        });
    }
    Ok((namespace, name.to_string(), port))
}

/// A port number (1-65535) or an IANA_SVC_NAME.
fn parse_port(input: &str, port: &str) -> Result<PortRef, ArgError> {
    let bad = || ArgError::BadPort {
        input: input.into(),
        port: port.into(),
    };
    if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
        return match port.parse::<i32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(PortRef::Number(n)),
            _ => Err(bad()),
        };
    }
    if is_port_name(port) {
        Ok(PortRef::Name(port.into()))
    } else {
        Err(bad())
    }
}

/// `IP:PORT[/tcp|udp]`.
fn parse_address(input: &str) -> Result<TargetArg, ArgError> {
    let a = addr::parse_addr_port(input).map_err(|e| arg_error(input, e))?;
    Ok(TargetArg::Address {
        ip: *a.addr.ip(),
        port: a.addr.port(),
        protocol: a.protocol,
    })
}

/// `path,connect,conntrack,dns,evidence,mtu` (any case).
pub fn parse_checks(input: &str) -> Result<Checks, ArgError> {
    let mut out = Vec::new();
    for c in input.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let check = match c.to_ascii_lowercase().as_str() {
            "path" => Check::Path,
            "connect" => Check::Connect,
            "conntrack" => Check::Conntrack,
            "dns" => Check::DNS,
            "evidence" => Check::Evidence,
            "mtu" => Check::MTU,
            _ => return Err(ArgError::UnknownCheck { check: c.into() }),
        };
        if !out.contains(&check) {
            out.push(check);
        }
    }
    if out.is_empty() {
        return Err(ArgError::NoChecks);
    }
    Ok(Checks(out))
}
