//! Why a SOURCE or TARGET argument could not be read, in words that say what to type instead.

use super::{SOURCE_FORMS, TARGET_FORMS};

/// Why a SOURCE or TARGET could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    #[error("SOURCE is empty: expected {SOURCE_FORMS}")]
    EmptySource,
    #[error("TARGET is empty: expected {TARGET_FORMS}")]
    EmptyTarget,
    #[error(
        "{input:?}: a {kind} cannot be a SOURCE, traffic starts from a pod or a node: use {SOURCE_FORMS}"
    )]
    NotASourceKind { input: String, kind: &'static str },
    #[error("{input:?}: unknown kind {kind:?}; a SOURCE is {SOURCE_FORMS}")]
    UnknownSourceKind { input: String, kind: String },
    #[error("{input:?}: unknown kind {kind:?}; a TARGET is {TARGET_FORMS}")]
    UnknownTargetKind { input: String, kind: String },
    #[error(
        "{input:?} needs a kind: e.g. svc/{input}, pod/{input} or dns/{input} (a TARGET is {TARGET_FORMS})"
    )]
    TargetWithoutKind { input: String },
    #[error("{input:?}: {name:?} is not a valid {what} name (lower-case letters, digits and '-'{dots})", dots = if *.dots { ", '.'" } else { "" })]
    BadName {
        input: String,
        name: String,
        what: &'static str,
        dots: bool,
    },
    #[error("{input:?}: the name is missing after {kind}/")]
    MissingName { input: String, kind: String },
    #[error(
        "{input:?}: port {port:?} is neither a number from 1 to 65535 nor a port name (at most 15 lower-case letters, digits and '-')"
    )]
    BadPort { input: String, port: String },
    #[error("{input:?}: an address target needs a port: {input}:PORT[/tcp|udp]")]
    AddressWithoutPort { input: String },
    #[error(
        "{input:?}: a node target needs a port number: node/NAME:PORT[/tcp|udp], e.g. a NodePort"
    )]
    NodeWithoutPort { input: String },
    #[error("{input:?}: only IPv4 targets are supported")]
    Ipv6 { input: String },
    #[error("{input:?}: {host:?} is not an IPv4 address")]
    BadIp { input: String, host: String },
    #[error("{input:?}: needs a port number from 1 to 65535, got {port:?}")]
    BadAddressPort { input: String, port: String },
    #[error("{input:?}: unknown protocol {protocol:?}: use /tcp or /udp")]
    BadProtocol { input: String, protocol: String },
    #[error("{input:?}: {name:?} is not a DNS name")]
    BadDnsName { input: String, name: String },
    #[error(
        "--checks: unknown check {check:?}; choose from path, connect, conntrack, dns, evidence, mtu"
    )]
    UnknownCheck { check: String },
    #[error("--checks is empty; choose from path, connect, conntrack, dns, evidence, mtu")]
    NoChecks,
}
