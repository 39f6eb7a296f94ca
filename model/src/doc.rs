//! `docs/hops-and-reasons.md`, generated from the hop kinds and the [`Reason`] table so the doc
//! cannot drift from the code. `model/tests/reasons_doc.rs` fails when the checked-in file
//! differs; `NETDIAG_WRITE_DOCS=1 cargo test -p netdiag-model --test reasons_doc` rewrites it.

use std::fmt::Write as _;

use crate::reason::Reason;

/// The prose before the reasons table: verdicts and the path order.
const INTRO: &str = r#"# Hops, verdicts and reasons

A trace is one ordered path of hops. Each hop has a `kind`, a `verdict` (`Ok`, `Info`, `Warn`, `Fail`), a one-line
`detail`, and for `Warn` and `Fail` a stable CamelCase `reason` that alerts and dashboards can key on. The
`firstFailure` of a path is its first hop whose verdict is `Fail`.

## Path order

Hops are ordered by where they sit on the path, then by node (the source node first):

| # | kind | what it checks | the manual equivalent |
|---|---|---|---|
| 1 | `PodInterface` | the pod's namespace (found by its IP), its `eth0`, MTU, default gateway and the neighbour entry for it, its resolv.conf | `ip netns list`, `ip -n NS addr`, `ip -n NS route`, `ip -n NS neigh` |
| 2 | `HostVeth` | the node side of the pod's veth: state, MTU | `ip link` on the node, matching `eth0@ifN` |
| 3 | `Bridge` | the veth's bridge (`cni0`, `kube-bridge`...) or "none (routed)"; hairpin mode on the port when the pod reaches itself through a Service | `ip link show master ...`, `bridge -d link show` |
| 4 | `NodeSettings` | `net.ipv4.ip_forward`, `net.bridge.bridge-nf-call-iptables`, `rp_filter` where the pod's traffic enters | `sysctl ...` |
| 5 | `ServiceRules` | the node's Service data plane, detected (kube-proxy's `/proxyMode`, then fingerprints) and read for the VIP: iptables (KUBE-SERVICES -> SVC/SVL/EXT -> SEP -> DNAT), nftables (`service-ips` -> `service-`/`external-`/`local-` -> `endpoint-` -> `dnat`), IPVS (virtual service and real servers); shares, affinity, masquerade, rejects; Info where Cilium or Calico eBPF replaces kube-proxy | `iptables -t nat -S KUBE-SERVICES`, `nft list chain ip kube-proxy ...`, `ipvsadm -Ln -t VIP:PORT` |
| 6 | `Firewall` | the rules the probe's own packets met (nf_tables tracing, iptables-nft rules included; its DNS queries too) and the one that dropped them with its owner; on the legacy backend, DROP/REJECT counters that moved | `nft monitor trace` with a `meta nftrace set 1` rule, `iptables -Z` / `-L -v -x` |
| 7 | `Conntrack` | the probe connection's own entry: original and reply tuples, state, the endpoint DNAT chose; table pressure | `conntrack -G ...`, `conntrack -S` |
| 8 | `Route` | the node's route to the chosen endpoint (and any endpoint it cannot reach) | `ip route get IP` |
| 9 | `Tunnel` | when the route leaves over an overlay device: its encapsulation (VXLAN VNI and port, Geneve, IP-in-IP), the neighbour entry for the route's next hop, the FDB entry for that MAC and the remote VTEP, checked against the node holding the endpoint; whether the MTUs fit the encapsulation | `ip -d link show flannel.1`, `ip neigh show dev flannel.1`, `bridge fdb show dev flannel.1` |
| 10 | `NodeInterface` | the network between the nodes: whether full-size packets arrive where small ones do (path MTU) | `ping -M do -s 1422 IP` |
| 11 | `Listener` | on the endpoint's node: does anything listen on the port in the endpoint's namespace | `ss -ltn` in the pod's namespace |
| 12 | `Dns` | the name asked of every nameserver in the pod's resolv.conf and of kube-dns | `dig @SERVER NAME` from the pod |
| 13 | `Connect` | a real TCP connect (or UDP exchange) from inside the pod | `curl`, `nc` from the pod |

The endpoint node's own Route hop follows the source node's Tunnel hop: the packet crosses the overlay first.

`Connect` comes last on purpose: it is the end-to-end symptom, and a broken hop before it is the cause. `Dns` sits
after the path because kube-dns sits behind the same routes and rules: when both fail, the path is the cause.

"#;

/// The prose after the reasons table.
const OUTRO: &str = r#"Hop kinds and reasons are plain strings in the CRD. A reason, hop kind or detail kind that this version does not
know (written by a newer agent or controller) is shown by its name, and an unknown verdict as `Unknown`; none is an
error, so `kubectl netdiag get` and `describe` keep working across versions.

A refused TCP connection leaves no conntrack entry to read (the kernel deletes it when the only answer is a RST).
The agent subscribes to conntrack's NEW events before it connects, so it still learns which endpoint DNAT chose.
"#;

/// The whole document, as checked in at `docs/hops-and-reasons.md`.
pub fn hops_and_reasons() -> String {
    let mut out = String::from(INTRO);
    out.push_str("## Reasons\n\n");
    out.push_str(
        "Generated from `model/src/reason.rs`: each reason, the hop that carries it, the verdict it carries at worst,\n\
         and what to check next.\n\n",
    );
    out.push_str("| hop | reason | verdict | meaning and what to check next |\n");
    out.push_str("|---|---|---|---|\n");
    for r in Reason::ALL {
        let hop = r.hop_kind().map(|k| k.to_string()).unwrap_or_default();
        let verdict = r.verdict().map(|v| v.to_string()).unwrap_or_default();
        let _ = writeln!(
            out,
            "| {hop} | `{}` | {verdict} | {} |",
            r.as_str(),
            r.next_step().replace('|', "\\|")
        );
    }
    out.push('\n');
    out.push_str(OUTRO);
    out
}
