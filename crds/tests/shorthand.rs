//! SOURCE, TARGET and --checks in every form, good and bad, through the shared parser.

use netdiag_crds::shorthand::{
    SourceArg, SourceKind, TargetArg, parse_checks, parse_source, parse_target,
};
use netdiag_crds::{Check, PortRef, Protocol};

fn src(kind: SourceKind, name: &str) -> SourceArg {
    SourceArg {
        kind,
        name: name.into(),
    }
}

#[test]
fn every_source_form_parses() {
    let cases = [
        ("pod/curl", src(SourceKind::Pod, "curl")),
        ("po/curl-5d8f.x", src(SourceKind::Pod, "curl-5d8f.x")),
        ("curl", src(SourceKind::Pod, "curl")),
        ("deploy/curl", src(SourceKind::Deployment, "curl")),
        ("deployment/curl", src(SourceKind::Deployment, "curl")),
        ("deployment.apps/curl", src(SourceKind::Deployment, "curl")),
        ("sts/db", src(SourceKind::StatefulSet, "db")),
        ("statefulset/db", src(SourceKind::StatefulSet, "db")),
        ("ds/agent", src(SourceKind::DaemonSet, "agent")),
        ("rs/curl-5d8f", src(SourceKind::ReplicaSet, "curl-5d8f")),
        ("Deploy/curl", src(SourceKind::Deployment, "curl")),
        ("node/node-a", src(SourceKind::Node, "node-a")),
    ];
    for (input, want) in cases {
        assert_eq!(parse_source(input), Ok(want), "{input}");
    }
}

#[test]
fn bad_sources_say_what_is_expected() {
    let cases = [
        ("", "SOURCE is empty"),
        ("svc/echo", "a Service cannot be a SOURCE"),
        ("dns/echo", "a DNS name cannot be a SOURCE"),
        ("job/x", "unknown kind \"job\""),
        ("pod/", "the name is missing after pod/"),
        ("pod/Curl_1", "\"Curl_1\" is not a valid pod name"),
        ("deploy/-x", "not a valid workload name"),
        ("node/Node_A", "\"Node_A\" is not a valid node name"),
        ("node/", "the name is missing after node/"),
        (
            "svc/echo",
            "use pod/NAME, deploy/NAME, sts/NAME, ds/NAME, rs/NAME or node/NAME",
        ),
    ];
    for (input, want) in cases {
        let e = parse_source(input)
            .map(|s| s.to_string())
            .expect_err(input)
            .to_string();
        assert!(e.contains(want), "{input:?}: {e}");
        if !input.is_empty() {
            assert!(
                e.contains("pod/NAME") || e.contains("name"),
                "{input:?} gives no hint: {e}"
            );
        }
    }
}

#[test]
fn every_target_form_parses() {
    let svc = |ns: Option<&str>, name: &str, port: Option<PortRef>| TargetArg::Service {
        namespace: ns.map(str::to_string),
        name: name.into(),
        port,
    };
    let pod = |ns: Option<&str>, name: &str, port: Option<PortRef>| TargetArg::Pod {
        namespace: ns.map(str::to_string),
        name: name.into(),
        port,
    };
    let cases = [
        ("svc/echo", svc(None, "echo", None)),
        ("svc/echo:80", svc(None, "echo", Some(PortRef::Number(80)))),
        (
            "svc/echo:http",
            svc(None, "echo", Some(PortRef::Name("http".into()))),
        ),
        (
            "service/echo:http",
            svc(None, "echo", Some(PortRef::Name("http".into()))),
        ),
        (
            "svc/shop/payments:grpc",
            svc(Some("shop"), "payments", Some(PortRef::Name("grpc".into()))),
        ),
        ("pod/echo-1", pod(None, "echo-1", None)),
        (
            "pod/echo-1:8080",
            pod(None, "echo-1", Some(PortRef::Number(8080))),
        ),
        (
            "pod/web.v2:metrics",
            pod(None, "web.v2", Some(PortRef::Name("metrics".into()))),
        ),
        (
            "pod/other/echo-1:8080",
            pod(Some("other"), "echo-1", Some(PortRef::Number(8080))),
        ),
        (
            "10.96.0.10:53/udp",
            TargetArg::Address {
                ip: [10, 96, 0, 10].into(),
                port: 53,
                protocol: Protocol::UDP,
            },
        ),
        (
            "10.96.0.10:53/UDP",
            TargetArg::Address {
                ip: [10, 96, 0, 10].into(),
                port: 53,
                protocol: Protocol::UDP,
            },
        ),
        (
            "10.96.45.10:80",
            TargetArg::Address {
                ip: [10, 96, 45, 10].into(),
                port: 80,
                protocol: Protocol::TCP,
            },
        ),
        (
            "172.18.0.3:30080/tcp",
            TargetArg::Address {
                ip: [172, 18, 0, 3].into(),
                port: 30080,
                protocol: Protocol::TCP,
            },
        ),
        (
            "dns/echo",
            TargetArg::Dns {
                name: "echo".into(),
            },
        ),
        (
            "dns/echo.default.svc.cluster.local.",
            TargetArg::Dns {
                name: "echo.default.svc.cluster.local.".into(),
            },
        ),
        (
            "node/node-a:30080",
            TargetArg::Node {
                name: "node-a".into(),
                port: 30080,
                protocol: Protocol::TCP,
            },
        ),
        (
            "no/ip-10-0-1-5.ec2.internal:30053/udp",
            TargetArg::Node {
                name: "ip-10-0-1-5.ec2.internal".into(),
                port: 30053,
                protocol: Protocol::UDP,
            },
        ),
    ];
    for (input, want) in cases {
        assert_eq!(parse_target(input), Ok(want), "{input}");
    }
}

#[test]
fn bad_targets_say_what_is_expected() {
    let cases = [
        ("", "TARGET is empty"),
        ("echo", "needs a kind: e.g. svc/echo"),
        ("echo:80", "needs a kind"),
        ("svc", "the name is missing after svc/"),
        ("svc/", "the name is missing after svc/"),
        (
            "svc/echo:0",
            "port \"0\" is neither a number from 1 to 65535",
        ),
        ("svc/echo:70000", "port \"70000\""),
        ("svc/echo:http_port", "nor a port name"),
        ("svc/Echo", "\"Echo\" is not a valid Service name"),
        ("svc/echo.default", "not a valid Service name"),
        ("svc/Bad_NS/echo", "not a valid namespace name"),
        ("ingress/web", "unknown kind \"ingress\""),
        ("10.96.0.10", "needs a port: 10.96.0.10:PORT"),
        ("10.96.0.10:99999", "port number from 1 to 65535"),
        ("10.96.0.10:0", "port number from 1 to 65535"),
        ("10.96.0.10:53/sctp", "unknown protocol \"sctp\""),
        ("10.96.0.300:53", "\"10.96.0.300\" is not an IPv4 address"),
        ("[fd00::1]:53", "only IPv4"),
        ("fd00::1:53", "only IPv4"),
        ("dns/", "the name is missing after dns/"),
        ("dns/bad name", "is not a DNS name"),
        ("dns/-echo", "is not a DNS name"),
        ("node", "the name is missing after node/"),
        ("node/", "the name is missing after node/"),
        ("node/:30080", "the name is missing after node/"),
        ("node/node-a", "a node target needs a port number"),
        (
            "node/node-a:http",
            "port number from 1 to 65535, got \"http\"",
        ),
        ("node/node-a:0", "port number from 1 to 65535"),
        ("node/Node_A:30080", "not a valid node name"),
        ("node/node-a:30080/sctp", "unknown protocol \"sctp\""),
    ];
    for (input, want) in cases {
        let e = parse_target(input).expect_err(input).to_string();
        assert!(e.contains(want), "{input:?}: {e}");
    }
}

#[test]
fn checks_parse_and_refuse_unknown_ones() {
    assert_eq!(
        parse_checks("path, Connect,dns,path").map(|c| c.0),
        Ok(vec![Check::Path, Check::Connect, Check::DNS])
    );
    assert_eq!(
        parse_checks("MTU,connect,evidence").map(|c| c.0),
        Ok(vec![Check::MTU, Check::Connect, Check::Evidence])
    );
    let e = parse_checks("path,ping").expect_err("ping").to_string();
    assert!(
        e.contains("unknown check \"ping\"") && e.contains("conntrack") && e.contains("mtu"),
        "{e}"
    );
    assert!(parse_checks(",").is_err());
}
