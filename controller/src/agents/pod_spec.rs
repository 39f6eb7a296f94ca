//! Every agent pod's spec (NetProbe runs and NodeInspections), pure: where it runs, what it may
//! do and what it mounts. `render-agent-pod` prints it for review.
//!
//! Why each privilege (the pod is not `privileged`):
//! - `hostNetwork`: kube-proxy's rules, conntrack, routes and the veths live in the node's
//!   network namespace.
//! - `hostPID`: the pod network namespaces are found through `/proc/<pid>/ns/net` of the
//!   node's processes when the CNI does not name them under `/var/run/netns`.
//! - `NET_ADMIN`: reading iptables/nftables rules and conntrack over netlink.
//! - `NET_RAW`: legacy iptables talks to the kernel over a raw socket; the connect probe may
//!   use ICMP.
//! - `SYS_ADMIN`: `setns(2)` into the source pod's network namespace for the connect and DNS
//!   probes. Kubernetes refuses `allowPrivilegeEscalation: false` together with SYS_ADMIN, so
//!   that field is left unset here (the container runs as root anyway; nothing setuid is in it).
//! - `SYS_PTRACE`: opening `/proc/<pid>/ns/net` and `/proc/<pid>/root/etc/resolv.conf` of
//!   processes in other pods is a ptrace access check.
//!
//! Mounts: `/var/run/netns` read-only with HostToContainer propagation (namespaces the CNI
//! creates after the pod started still appear); `/run/xtables.lock` read-write, because
//! `iptables -w` takes its lock by opening and flock-ing that file, shared with kube-proxy; the
//! run's plan ConfigMap read-only at [`PLAN_DIR`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapVolumeSource, Container, HostPathVolumeSource, KeyToPath,
    PodSecurityContext, PodSpec, ResourceRequirements, SeccompProfile, SecurityContext, Toleration,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::plan_config_map::PLAN_KEY;
use super::pod::AgentSettings;

/// The container name, for reading logs.
pub const CONTAINER: &str = "agent";
/// Where the agent looks for named network namespaces.
pub const NETNS_DIR: &str = "/var/run/netns";
/// The iptables lock shared with kube-proxy.
pub const XTABLES_LOCK: &str = "/run/xtables.lock";
/// Where the run's plan ConfigMap is mounted.
pub const PLAN_DIR: &str = "/etc/netdiag/plan";
/// The plan file the agent reads.
pub fn plan_path() -> String {
    format!("{PLAN_DIR}/{PLAN_KEY}")
}

fn quantities(cpu: &str, memory: &str) -> BTreeMap<String, Quantity> {
    BTreeMap::from([
        ("cpu".to_string(), Quantity(cpu.to_string())),
        ("memory".to_string(), Quantity(memory.to_string())),
    ])
}

/// Every agent pod's spec (NetProbe runs and NodeInspections): the posture above, pinned to
/// `node`; `plan_config_map` mounts a run's plan when there is one.
pub fn agent_pod_spec(
    settings: &AgentSettings,
    node: &str,
    args: Vec<String>,
    deadline_seconds: i64,
    plan_config_map: Option<String>,
) -> PodSpec {
    let host_path = |path: &str, kind: &str| HostPathVolumeSource {
        path: path.to_string(),
        type_: Some(kind.to_string()),
    };
    let mut volume_mounts = vec![
        VolumeMount {
            name: "netns".to_string(),
            mount_path: NETNS_DIR.to_string(),
            read_only: Some(true),
            mount_propagation: Some("HostToContainer".to_string()),
            ..Default::default()
        },
        VolumeMount {
            name: "xtables-lock".to_string(),
            mount_path: XTABLES_LOCK.to_string(),
            read_only: Some(false),
            ..Default::default()
        },
    ];
    let mut volumes = vec![
        Volume {
            name: "netns".to_string(),
            host_path: Some(host_path(NETNS_DIR, "DirectoryOrCreate")),
            ..Default::default()
        },
        Volume {
            name: "xtables-lock".to_string(),
            host_path: Some(host_path(XTABLES_LOCK, "FileOrCreate")),
            ..Default::default()
        },
    ];
    if let Some(name) = plan_config_map {
        volume_mounts.push(VolumeMount {
            name: "plan".to_string(),
            mount_path: PLAN_DIR.to_string(),
            read_only: Some(true),
            ..Default::default()
        });
        volumes.push(Volume {
            name: "plan".to_string(),
            config_map: Some(ConfigMapVolumeSource {
                name,
                items: Some(vec![KeyToPath {
                    key: PLAN_KEY.to_string(),
                    path: PLAN_KEY.to_string(),
                    mode: None,
                }]),
                default_mode: Some(0o444),
                // The pod does not start without its plan.
                optional: Some(false),
            }),
            ..Default::default()
        });
    }
    PodSpec {
        node_name: Some(node.to_string()),
        host_network: Some(true),
        host_pid: Some(true),
        // The agent never talks to the API: no token in the pod.
        automount_service_account_token: Some(false),
        // No Service environment variables: the agent needs none.
        enable_service_links: Some(false),
        restart_policy: Some("Never".to_string()),
        active_deadline_seconds: Some(deadline_seconds.max(1)),
        termination_grace_period_seconds: Some(5),
        // Must run on the node it is pinned to, tainted or not.
        tolerations: Some(vec![Toleration {
            operator: Some("Exists".to_string()),
            ..Default::default()
        }]),
        security_context: Some(PodSecurityContext {
            run_as_user: Some(0),
            run_as_non_root: Some(false),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_string(),
                localhost_profile: None,
            }),
            ..Default::default()
        }),
        containers: vec![Container {
            name: CONTAINER.to_string(),
            image: Some(settings.image.clone()),
            image_pull_policy: Some("IfNotPresent".to_string()),
            command: Some(vec!["netdiag-agent".to_string()]),
            args: Some(args),
            security_context: Some(SecurityContext {
                privileged: Some(false),
                read_only_root_filesystem: Some(true),
                capabilities: Some(Capabilities {
                    drop: Some(vec!["ALL".to_string()]),
                    add: Some(
                        ["NET_ADMIN", "NET_RAW", "SYS_ADMIN", "SYS_PTRACE"]
                            .map(String::from)
                            .to_vec(),
                    ),
                }),
                ..Default::default()
            }),
            resources: Some(ResourceRequirements {
                requests: Some(quantities("50m", "64Mi")),
                // A legacy-iptables node hands out whole tables: at 10,000 Services the agent
                // peaks at 143 MB reading nat (scripts/bench, B1). 512Mi leaves room for
                // clusters several times that size; the nft path stays near 25 MB.
                limits: Some(quantities("500m", "512Mi")),
                ..Default::default()
            }),
            volume_mounts: Some(volume_mounts),
            termination_message_policy: Some("FallbackToLogsOnError".to_string()),
            ..Default::default()
        }],
        volumes: Some(volumes),
        ..Default::default()
    }
}
