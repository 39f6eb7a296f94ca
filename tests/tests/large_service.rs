//! Issue 15, item 6: a Service of 50,000 ready endpoints, end to end. `render-agent-pod
//! --objects` renders the plan ConfigMap and the agent pod from API objects (the lab's curl pod,
//! its echo-service with 49,997 endpoints beside its three real ones, kube-dns); the pod's
//! arguments stay small, the plan fits its ConfigMap, and the agent runs the rendered command on
//! the ConfigMap's plan file in the lab's node-a. The form it replaced, the plan as one argument,
//! is refused by the kernel (E2BIG: Linux caps one argument at 128 KiB).

use std::process::Command;

use netdiag_e2e::{binary, default_lab, describe, hop, unique_name};
use netdiag_model::{HopKind, NodeReport, Reason, Verdict};
use serde_json::{Value, json};

const ENDPOINTS: usize = 50_000;
/// Where the rendered pod reads its plan (the ConfigMap's mount).
const POD_PLAN_PATH: &str = "/etc/netdiag/plan/plan.json";
/// errno E2BIG, "Argument list too long".
const E2BIG: i32 = 7;

/// The objects `kubectl get pod/curl svc/echo-service endpointslices svc/kube-dns -o json`
/// would print for the lab, with the Service grown to 50,000 endpoints in slices of 100.
fn objects(lab: &netdiag_lab::Lab) -> Value {
    let spec = lab.spec();
    let curl = spec.pod("curl").expect("the lab has curl");
    let svc = spec
        .services
        .iter()
        .find(|s| s.name == "echo-service")
        .expect("the lab has echo-service");
    let port = &svc.ports[0];
    let mut addresses: Vec<(String, String)> = svc
        .endpoints
        .iter()
        .map(|name| {
            let p = spec.pod(name).expect("an endpoint pod");
            (p.ip.to_string(), p.node.clone())
        })
        .collect();
    // The rest live on nodes this lab does not have, in a range node-a has no route to.
    let mut i = 0u32;
    while addresses.len() < ENDPOINTS {
        let ip = format!("10.{}.{}.{}", 200 + i / 65536, (i / 256) % 256, i % 256);
        addresses.push((ip, format!("node-{}", i % 300)));
        i += 1;
    }
    let slices = addresses.chunks(100).enumerate().map(|(n, chunk)| {
        json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": format!("echo-service-{n}"), "namespace": svc.namespace,
                         "labels": {"kubernetes.io/service-name": svc.name}},
            "addressType": "IPv4",
            "ports": [{"name": port.name, "port": port.target_port, "protocol": "TCP"}],
            "endpoints": chunk.iter().map(|(ip, node)| json!({
                "addresses": [ip], "nodeName": node, "conditions": {"ready": true}
            })).collect::<Vec<_>>(),
        })
    });
    let mut items = vec![
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": curl.name, "namespace": curl.namespace},
            "spec": {"nodeName": curl.node, "containers": [{"name": "curl", "image": "curl"}]},
            "status": {"phase": "Running", "podIP": curl.ip.to_string(),
                       "conditions": [{"type": "Ready", "status": "True"}]},
        }),
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": svc.name, "namespace": svc.namespace},
            "spec": {"clusterIP": svc.cluster_ip.to_string(),
                     "ports": [{"name": port.name, "port": port.port,
                                "targetPort": port.target_port, "protocol": "TCP"}]},
        }),
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kube-dns", "namespace": "kube-system"},
            "spec": {"clusterIP": spec.dns.cluster_ip.to_string(),
                     "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]},
        }),
    ];
    items.extend(slices);
    json!({"apiVersion": "v1", "kind": "List", "items": items})
}

const PROBE: &str = "apiVersion: netdiag.dev/v1alpha1
kind: NetProbe
metadata: {name: big, namespace: default, uid: 0a1b2c3d-1111-4222-8333-444455556666}
spec:
  source: {pod: curl}
  target: {service: {name: echo-service, port: http}}
";

/// The ConfigMap and the Pod `render-agent-pod` printed.
fn render(dir: &std::path::Path, objects: &Value) -> (Value, Value) {
    let probe = dir.join("probe.yaml");
    let objects_file = dir.join("objects.json");
    std::fs::write(&probe, PROBE).expect("write the probe");
    std::fs::write(&objects_file, objects.to_string()).expect("write the objects");
    let out = Command::new(binary("netdiag-controller"))
        .arg("render-agent-pod")
        .arg("--probe")
        .arg(&probe)
        .args(["--node", "node-a", "--objects"])
        .arg(&objects_file)
        .output()
        .expect("netdiag-controller runs");
    assert!(
        out.status.success(),
        "render-agent-pod failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&String::from_utf8_lossy(&out.stdout)).expect("YAML");
    assert_eq!(docs.len(), 2, "a ConfigMap and a Pod");
    (docs[0].clone(), docs[1].clone())
}

/// The plan as the controller used to pass it: one argument, one object per endpoint.
fn old_argument(plan: &Value) -> String {
    let mut old = plan.clone();
    let one_by_one: Vec<Value> = plan["expectedEndpoints"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| {
            let port = g["port"].clone();
            g["ips"]
                .as_array()
                .expect("ips")
                .iter()
                .map(move |ip| json!({"ip": ip, "port": port}))
                .collect::<Vec<_>>()
        })
        .collect();
    old["expectedEndpoints"] = json!(one_by_one);
    old.to_string()
}

#[test]
fn fifty_thousand_endpoints_render_into_a_config_map_and_the_agent_runs_its_plan_file() {
    let lab = default_lab("big");
    let dir = std::env::temp_dir().join(unique_name("big"));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let (config_map, pod) = render(&dir, &objects(&lab));

    // The pod: fixed flags only, nowhere near the kernel's 128 KiB for one argument.
    let container = &pod["spec"]["containers"][0];
    let argv: Vec<String> = container["command"]
        .as_array()
        .into_iter()
        .chain(container["args"].as_array())
        .flatten()
        .map(|a| a.as_str().expect("a string").to_string())
        .collect();
    let argv_bytes: usize = argv.iter().map(|a| a.len() + 1).sum();
    assert!(argv_bytes < 512, "{argv_bytes} bytes of argv: {argv:?}");
    assert!(argv.iter().any(|a| a == POD_PLAN_PATH), "{argv:?}");

    // The ConfigMap: every endpoint, under the 1 MiB an object may take.
    let plan_text = config_map["data"]["plan.json"].as_str().expect("plan.json");
    assert!(plan_text.len() <= 1_000_000, "{} bytes", plan_text.len());
    assert!(
        serde_json::to_string(&config_map).expect("json").len() < 1_048_576,
        "the whole ConfigMap fits etcd's object limit"
    );
    let plan: Value = serde_json::from_str(plan_text).expect("the plan is JSON");
    let listed: usize = plan["expectedEndpoints"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["ips"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(listed, ENDPOINTS);

    // The old way fails before the agent even starts; so would the new JSON as an argument.
    let agent = binary("netdiag-agent");
    for (form, arg) in [("old", old_argument(&plan)), ("new", plan_text.to_string())] {
        let e = Command::new(&agent)
            .args(["trace", "--plan", &arg])
            .output()
            .map(|o| o.status)
            .expect_err("the kernel refuses a 128 KiB+ argument");
        assert_eq!(e.raw_os_error(), Some(E2BIG), "{form} form: {e}");
    }

    // The rendered command, on node-a, reading the ConfigMap's plan file.
    let plan_file = dir.join("plan.json");
    std::fs::write(&plan_file, plan_text).expect("write the plan file");
    let local = plan_file.display().to_string();
    let args: Vec<&str> = argv[1..]
        .iter()
        .map(|a| {
            if a == POD_PLAN_PATH {
                local.as_str()
            } else {
                a
            }
        })
        .collect();
    let started = std::time::Instant::now();
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.netns("node-a")])
        .arg(&agent)
        .args(&args)
        .output()
        .expect("ip netns exec runs");
    let took = started.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "agent: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().expect("a report line");
    assert!(line.len() < 64 * 1024, "a {} byte report", line.len());
    let report: NodeReport = serde_json::from_str(line).expect("a NodeReport");
    let hops = &report.hops;

    // kube-proxy in the lab balances over the three real endpoints: the agent compared its
    // rules with all 50,000 and says so in one line.
    let rules = hop(hops, "node-a", HopKind::ServiceRules);
    assert_eq!(
        rules.reason,
        Some(Reason::MissingEndpoint),
        "{}",
        describe(hops)
    );
    assert!(
        rules.detail.contains("and 49987 more") && rules.detail.contains("of 50000 endpoints"),
        "{}",
        rules.detail
    );
    assert_eq!(
        hop(hops, "node-a", HopKind::Connect).verdict,
        Verdict::Ok,
        "{}",
        describe(hops)
    );
    let unroutable = hops
        .iter()
        .find(|h| h.kind == HopKind::Route && h.name == "49992 more endpoints");
    assert!(unroutable.is_some(), "{}", describe(hops));
    assert!(took.as_secs() < 30, "the agent took {took:?}");
}
