//! Every Kubernetes API call the controller makes, as RBAC rules. `config/rbac/` grants exactly
//! these and nothing more; `tests/rbac.rs` compares the two both ways and checks that each
//! resource type the code opens an `Api` on is listed here.

/// Where a permission applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// A ClusterRole: objects in any namespace (the NetProbe's, the target's, kube-system).
    Cluster,
    /// A Role in the controller's own namespace.
    OwnNamespace,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permission {
    pub scope: Scope,
    pub api_group: &'static str,
    pub resource: &'static str,
    pub verbs: &'static [&'static str],
    /// Which code needs it.
    pub used_by: &'static str,
}

pub const PERMISSIONS: &[Permission] = &[
    Permission {
        scope: Scope::Cluster,
        api_group: "",
        resource: "pods",
        verbs: &["get"],
        used_by: "resolve::resolve (source pod, target pod)",
    },
    Permission {
        scope: Scope::Cluster,
        api_group: "",
        resource: "services",
        verbs: &["get"],
        used_by: "resolve::resolve (target Service, kube-system/kube-dns)",
    },
    Permission {
        scope: Scope::Cluster,
        api_group: "",
        resource: "nodes",
        verbs: &["get"],
        used_by: "resolve::read_nodes (the nodes' InternalIPs and pod CIDRs, for the overlay's VTEP check), resolve::resolve (a node source's InternalIP), inspection::resolve (the inspected node)",
    },
    Permission {
        scope: Scope::Cluster,
        api_group: "discovery.k8s.io",
        resource: "endpointslices",
        verbs: &["list"],
        used_by: "resolve::resolve (ready endpoints by kubernetes.io/service-name)",
    },
    Permission {
        scope: Scope::Cluster,
        api_group: "netdiag.dev",
        resource: "netprobes",
        verbs: &["list", "watch", "delete"],
        used_by: "main (Controller watch), reconcile::Run::expire (ttlSecondsAfterFinished)",
    },
    Permission {
        scope: Scope::Cluster,
        api_group: "netdiag.dev",
        resource: "netprobes/status",
        verbs: &["patch"],
        used_by: "reconcile::Run::apply (server-side apply of status)",
    },
    Permission {
        scope: Scope::Cluster,
        api_group: "",
        resource: "nodes",
        verbs: &["list"],
        used_by: "inspection::resolve (every node, for a service inspection)",
    },
    Permission {
        scope: Scope::Cluster,
        api_group: "",
        resource: "pods",
        verbs: &["list"],
        used_by: "inspection::resolve::pods_on (a node's Pods, by spec.nodeName, to join its report)",
    },
    Permission {
        scope: Scope::Cluster,
        api_group: "netdiag.dev",
        resource: "nodeinspections",
        verbs: &["list", "watch", "delete"],
        used_by: "runner (NodeInspection watch), inspection::reconcile (ttlSecondsAfterFinished)",
    },
    Permission {
        scope: Scope::Cluster,
        api_group: "netdiag.dev",
        resource: "nodeinspections/status",
        verbs: &["patch"],
        used_by: "inspection::reconcile::apply (server-side apply of status)",
    },
    Permission {
        scope: Scope::Cluster,
        api_group: "events.k8s.io",
        resource: "events",
        verbs: &["create", "patch"],
        used_by: "events::publish (kube Recorder: create, then patch a series)",
    },
    Permission {
        scope: Scope::OwnNamespace,
        api_group: "",
        resource: "pods",
        verbs: &["create", "delete", "list", "watch"],
        used_by: "reconcile (agent pods), gc::sweep, main (pod watch)",
    },
    Permission {
        scope: Scope::OwnNamespace,
        api_group: "",
        resource: "configmaps",
        verbs: &["create", "update", "delete", "list"],
        used_by: "agent_pods (each run's plan: create, replace a stale one, delete), gc::sweep",
    },
    Permission {
        scope: Scope::OwnNamespace,
        api_group: "",
        resource: "pods/log",
        verbs: &["get"],
        used_by: "collect::read_log",
    },
    Permission {
        scope: Scope::OwnNamespace,
        api_group: "coordination.k8s.io",
        resource: "leases",
        verbs: &["get", "create", "patch"],
        used_by: "leader (kube-lease-manager: get, create once, patch to lock and renew)",
    },
];
