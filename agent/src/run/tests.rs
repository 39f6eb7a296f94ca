use super::*;

fn plan(json: serde_json::Value) -> TracePlan {
    serde_json::from_value(json).expect("a valid plan")
}

#[test]
fn a_service_trace_follows_the_packet() {
    let p = plan(serde_json::json!({
        "role": "Source",
        "sourceIp": "10.244.1.2",
        "target": {"ip": "10.96.0.50", "port": 80, "protocol": "TCP"},
        "targetIsService": true,
        "dnsName": "echo.default.svc.cluster.local",
        "stepTimeoutMs": 2000
    }));
    assert_eq!(
        steps(&p),
        vec![
            Step::PodEnd,
            Step::ServiceRules,
            Step::Dns,
            Step::Connect,
            Step::Hairpin,
            Step::Route,
            Step::Tunnel,
            Step::PathMtu,
            Step::NodeSettings,
            Step::Listener,
        ]
    );
}

#[test]
fn checks_leave_out_their_steps_and_a_name_alone_is_only_looked_up() {
    let p = plan(serde_json::json!({
        "role": "Source",
        "sourceIp": "10.244.1.2",
        "target": {"ip": "10.244.2.7", "port": 8080, "protocol": "TCP"},
        "checks": ["Connect"],
        "stepTimeoutMs": 2000
    }));
    assert_eq!(steps(&p), vec![Step::PodEnd, Step::Connect, Step::Listener]);
    let p = plan(serde_json::json!({
        "role": "Source",
        "sourceIp": "10.244.1.2",
        "dnsName": "kubernetes.default",
        "stepTimeoutMs": 2000
    }));
    assert_eq!(steps(&p), vec![Step::PodEnd, Step::Dns]);
}

#[test]
fn the_mtu_probe_is_its_own_check_and_needs_the_connect() {
    let with = |checks: serde_json::Value| {
        steps(&plan(serde_json::json!({
            "role": "Source",
            "sourceIp": "10.244.1.2",
            "target": {"ip": "10.244.2.7", "port": 8080, "protocol": "TCP"},
            "checks": checks,
            "stepTimeoutMs": 2000
        })))
    };
    // Every other check named: the path and the connect run, the probe does not.
    let without = with(serde_json::json!([
        "Path",
        "Connect",
        "Conntrack",
        "DNS",
        "Evidence"
    ]));
    assert!(!without.contains(&Step::PathMtu), "{without:?}");
    assert!(without.contains(&Step::Connect) && without.contains(&Step::Tunnel));
    assert_eq!(
        with(serde_json::json!(["Connect", "MTU"])),
        vec![Step::PodEnd, Step::Connect, Step::PathMtu, Step::Listener]
    );
    // Nothing to ping without a connect that reached an endpoint.
    assert_eq!(
        with(serde_json::json!(["Path", "MTU"])),
        vec![
            Step::PodEnd,
            Step::Hairpin,
            Step::Route,
            Step::Tunnel,
            Step::NodeSettings,
            Step::Listener
        ]
    );
}

#[test]
fn an_endpoint_check_is_a_route_and_a_listener() {
    let p = plan(serde_json::json!({
        "role": "Endpoint",
        "endpoint": {"ip": "10.244.2.7", "port": 8080},
        "stepTimeoutMs": 2000
    }));
    assert_eq!(steps(&p), vec![Step::EndpointRoute, Step::EndpointListener]);
    // The node a NodePort target names: its rules, nothing else.
    let p = plan(serde_json::json!({
        "role": "Endpoint",
        "target": {"ip": "172.18.0.3", "port": 30080, "protocol": "TCP"},
        "targetIsService": true,
        "stepTimeoutMs": 2000
    }));
    assert!(check_plan(&p).is_ok());
    assert_eq!(steps(&p), vec![Step::ServiceRules]);
    let neither = plan(serde_json::json!({"role": "Endpoint", "stepTimeoutMs": 2000}));
    assert!(check_plan(&neither).is_err());
    assert!(check_plan(&p).is_ok());
}

#[test]
fn a_plan_from_a_newer_controller_is_refused_by_name() {
    let role = plan(serde_json::json!({"role": "Gateway", "sourceIp": "10.244.1.2"}));
    let e = check_plan(&role)
        .map(|()| String::new())
        .unwrap_or_else(|e| e.to_string());
    assert!(
        e.starts_with("the plan's role is not known to this agent"),
        "{e}"
    );
    assert!(steps(&role).is_empty());
    let proto = plan(serde_json::json!({
        "role": "Source",
        "sourceIp": "10.244.1.2",
        "target": {"ip": "10.96.0.50", "port": 80, "protocol": "SCTP"}
    }));
    let e = check_plan(&proto)
        .map(|()| String::new())
        .unwrap_or_else(|e| e.to_string());
    assert!(e.contains("target protocol is not known"), "{e}");
}

#[test]
fn a_watching_endpoint_run_arms_first_and_needs_the_connection_to_watch_for() {
    let p = plan(serde_json::json!({
        "role": "Endpoint",
        "sourceIp": "10.244.1.2",
        "sourcePort": 40000,
        "watchMs": 8000,
        "endpoint": {"ip": "10.244.2.7", "port": 8080},
        "target": {"ip": "10.244.2.7", "port": 8080, "protocol": "TCP"},
        "stepTimeoutMs": 2000
    }));
    assert!(check_plan(&p).is_ok());
    assert_eq!(
        steps(&p),
        vec![
            Step::EndpointWatch,
            Step::EndpointRoute,
            Step::EndpointListener
        ]
    );
    // Without evidence there is nothing to arm.
    let quiet = TracePlan {
        checks: vec![Check::Path],
        ..p.clone()
    };
    assert_eq!(steps(&quiet)[0], Step::EndpointRoute);
    let portless = TracePlan {
        source_port: None,
        ..p
    };
    let e = check_plan(&portless).expect_err("no port to watch for");
    assert!(e.to_string().contains("sourcePort"), "{e}");
}
