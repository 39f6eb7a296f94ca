//! `kubectl-netdiag lab up && lab trace && lab down` through the real plugin binary, the way the
//! README runs it: the trace succeeds, and afterwards nothing of the lab is left on the machine.

use std::process::Command;

use netdiag_e2e::{binary, require_lab_prerequisites, unique_name};
use netdiag_testkit::assert_nothing_left;

fn plugin(args: &[&str]) -> std::process::Output {
    plugin_with(args, None)
}

/// The plugin with stdout to a pipe, and `$COLUMNS` set to `columns` or unset.
fn plugin_with(args: &[&str], columns: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(binary("kubectl-netdiag"));
    cmd.args(args).env("NO_COLOR", "1").env_remove("COLUMNS");
    if let Some(c) = columns {
        cmd.env("COLUMNS", c);
    }
    cmd.output().expect("kubectl-netdiag runs")
}

/// `$COLUMNS` fits every line of the table (wide too); piped without it, hops keep full lines.
fn table_fits_columns(name: &str) {
    let longest = |o: std::process::Output| {
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(o.status.success(), "{out}");
        (
            out.lines().map(|l| l.chars().count()).max().unwrap_or(0),
            out,
        )
    };
    for columns in [100, 200] {
        for format in ["table", "wide"] {
            let args = ["lab", "trace", "--name", name, "-o", format];
            let (max, out) = longest(plugin_with(&args, Some(&columns.to_string())));
            assert!(
                max <= columns,
                "COLUMNS={columns} -o {format}: {max} wide:\n{out}"
            );
        }
    }
    let (max, out) = longest(plugin(&["lab", "trace", "--name", name]));
    assert!(max > 100, "piped output must keep full lines:\n{out}");
}

#[test]
fn lab_up_trace_down_works_and_leaves_nothing_behind() {
    require_lab_prerequisites();
    let name = unique_name("cli");
    let up = plugin(&["lab", "up", "--name", &name]);
    let cleanup = scopeguard(&name);
    assert!(
        up.status.success(),
        "lab up: {}",
        String::from_utf8_lossy(&up.stderr)
    );

    let trace = plugin(&["lab", "trace", "--name", &name]);
    let out = String::from_utf8_lossy(&trace.stdout);
    assert!(
        trace.status.success(),
        "lab trace exit {:?}:\n{out}\n{}",
        trace.status,
        String::from_utf8_lossy(&trace.stderr)
    );
    for needle in [
        "PodInterface",
        "HostVeth",
        "ServiceRules",
        "Conntrack",
        "Connect",
        "RESULT: reachable via 10.244.",
    ] {
        assert!(out.contains(needle), "{needle} missing from:\n{out}");
    }
    every_target_form_and_output_format(&name);
    table_fits_columns(&name);
    break_status_fix(&name);

    let down = plugin(&["lab", "down", "--name", &name]);
    assert!(
        down.status.success(),
        "lab down: {}",
        String::from_utf8_lossy(&down.stderr)
    );
    // From here on, what is left is what `lab down` left: no second cleanup may hide it.
    std::mem::forget(cleanup);

    assert_nothing_left(&name);
    // a second down is a no-op that succeeds, for scripts
    let again = plugin(&["lab", "down", "--name", &name]);
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "second lab down: {again:?}");
    assert!(said.contains(&format!("no lab named {name}")), "{said}");
}

/// `lab break`, `lab status` and `lab fix` through the binary: a fault is shown in force, the
/// trace fails with exit 1 naming its hop, a fault the topology lacks is refused with exit 2.
fn break_status_fix(name: &str) {
    let run = |args: &[&str]| {
        let mut argv = vec!["lab"];
        argv.extend_from_slice(args);
        argv.extend(["--name", name]);
        plugin(&argv)
    };
    let list = run(&["break", "--list"]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.status.success() && text.contains("firewall-drop"),
        "{text}"
    );
    assert!(text.contains(&format!("nd-{name}-node-a")), "{text}");
    let na = run(&["break", "no-fdb"]);
    assert_eq!(na.status.code(), Some(2), "{na:?}");
    assert!(
        String::from_utf8_lossy(&na.stderr).contains("no-fdb does not apply"),
        "{na:?}"
    );
    let unknown = run(&["break", "no-such-fault"]);
    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");

    let broke = run(&["break", "no-vip-rule"]);
    assert!(broke.status.success(), "{broke:?}");
    let status = String::from_utf8_lossy(&run(&["status"]).stdout).into_owned();
    assert!(status.contains("faults: no-vip-rule"), "{status}");
    let trace = run(&["trace"]);
    let out = String::from_utf8_lossy(&trace.stdout);
    assert_eq!(trace.status.code(), Some(1), "{out}");
    assert!(
        out.contains("First failure at ServiceRules") && out.contains("NoServiceRule"),
        "{out}"
    );
    let fixed = run(&["fix", "--all"]);
    assert!(fixed.status.success(), "{fixed:?}");
    assert!(String::from_utf8_lossy(&run(&["status"]).stdout).contains("faults: none"));
    assert!(run(&["trace"]).status.success());
}

/// `lab trace` takes what `trace` takes: every TARGET form and every `-o`.
fn every_target_form_and_output_format(name: &str) {
    let ok = |args: &[&str]| -> String {
        let mut argv = vec!["lab", "trace", "--name", name];
        argv.extend_from_slice(args);
        let o = plugin(&argv);
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "{argv:?} exit {:?}:\n{out}\n{}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
        out
    };
    for (to, title) in [
        ("svc/echo-service:http", "-> svc/echo-service:http"),
        (
            "svc/kube-system/kube-dns:dns",
            "-> svc/kube-system/kube-dns:dns",
        ),
        ("pod/echo-2:8080", "-> pod/echo-2:8080"),
        ("10.96.0.10:53/udp", "-> 10.96.0.10:53/udp"),
        (
            "dns/echo-service.default.svc.cluster.local",
            "-> dns/echo-service",
        ),
        ("node/node-b:30080", "-> 172.18.0.3:30080/tcp"),
    ] {
        let out = ok(&["--from", "curl", "--to", to]);
        assert!(
            out.starts_with(&format!("TRACE: default/curl {title}")),
            "{to}:\n{out}"
        );
        assert!(!out.contains("RESULT: unreachable"), "{to}:\n{out}");
    }
    let wide = ok(&["--from", "pod/echo-1", "-o", "wide"]);
    assert!(wide.contains("REASON") && wide.contains("FACTS"), "{wide}");
    let json: serde_json::Value = serde_json::from_str(&ok(&["-o", "json"])).expect("-o json");
    assert_eq!(json["kind"], "NetProbe");
    assert_eq!(json["spec"]["source"]["pod"], "curl");
    assert!(
        json["status"]["hops"]
            .as_array()
            .is_some_and(|h| h.len() > 5),
        "{json}"
    );
    let yaml = ok(&["-o", "yaml"]);
    assert!(
        yaml.contains("kind: NetProbe") && yaml.contains("hops:"),
        "{yaml}"
    );
    let dot = ok(&["-o", "dot"]);
    assert!(dot.starts_with("digraph"), "{dot}");
    let pcap = plugin(&["lab", "trace", "--name", name, "-o", "pcap"]);
    // pcapng files open with a Section Header Block, type 0x0A0D0D0A
    assert!(
        pcap.status.success() && pcap.stdout.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]),
        "-o pcap: {:?} {}",
        pcap.status,
        String::from_utf8_lossy(&pcap.stderr)
    );
    let bad = plugin(&["lab", "trace", "--name", name, "--to", "echo-service"]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("needs a kind: e.g. svc/echo-service"),
        "{bad:?}"
    );
}

/// Remove the lab even when an assertion fails halfway.
struct LabCleanup(String);

fn scopeguard(name: &str) -> LabCleanup {
    LabCleanup(name.to_string())
}

impl Drop for LabCleanup {
    fn drop(&mut self) {
        let _ = netdiag_lab::Lab::down(&self.0);
    }
}

/// Two `lab down`s at once (a second one while an interrupted first's `ip netns del` still
/// runs): neither reports a leftover the other removed, and nothing is left.
#[test]
fn two_lab_downs_at_once_report_no_false_leftovers() {
    require_lab_prerequisites();
    for _ in 0..3 {
        let name = unique_name("dd");
        let up = plugin(&["lab", "up", "--name", &name]);
        let _cleanup = scopeguard(&name);
        assert!(up.status.success(), "{up:?}");
        let downs: Vec<_> = (0..2)
            .map(|_| {
                Command::new(binary("kubectl-netdiag"))
                    .args(["lab", "down", "--name", &name])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("lab down starts")
            })
            .collect();
        for d in downs {
            let out = d.wait_with_output().expect("lab down ends");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && !err.contains("left behind"),
                "a concurrent lab down: {:?}\n{err}",
                out.status
            );
        }
        assert_nothing_left(&name);
    }
}

/// `lab status` of a `--cni bridge|routed|vxlan` lab names the pod network and, per node, the
/// CNI the agent's fingerprint reads in the node's namespace, in the trace's NODE line.
#[test]
fn lab_status_shows_each_nodes_cni_for_every_lab_cni() {
    require_lab_prerequisites();
    let nodes: Vec<String> = (netdiag_lab::LabSpec::default().nodes.iter())
        .map(|n| n.name.clone())
        .collect();
    for (cni, want) in [
        ("bridge", "CNI bridge  evidence: cni0 (bridge)"),
        ("routed", "CNI calico (routed)  evidence: "),
        (
            "vxlan",
            "CNI flannel (vxlan)  evidence: flannel.1 (vxlan VNI 1, port 8472)",
        ),
    ] {
        let name = unique_name("st");
        let up = plugin(&["lab", "up", "--name", &name, "--cni", cni]);
        let cleanup = scopeguard(&name);
        assert!(up.status.success(), "lab up --cni {cni}: {up:?}");
        let status = plugin(&["lab", "status", "--name", &name]);
        let out = String::from_utf8_lossy(&status.stdout).into_owned();
        assert!(
            status.status.success(),
            "lab status --cni {cni}: {status:?}"
        );
        assert!(out.contains(&format!("pod network: {cni} (")), "{out}");
        let section = out
            .split("detected CNI (the agent's fingerprint):\n")
            .nth(1);
        let lines: Vec<&str> = section.unwrap_or_default().lines().collect();
        assert_eq!(lines.len(), nodes.len(), "--cni {cni}:\n{out}");
        for (line, node) in lines.iter().zip(&nodes) {
            let head = format!("  NODE {node}  {want}");
            assert!(
                line.starts_with(&head),
                "--cni {cni}: {line:?} is not {head:?}\n{out}"
            );
        }
        let down = plugin(&["lab", "down", "--name", &name]);
        assert!(down.status.success(), "lab down: {down:?}");
        std::mem::forget(cleanup);
        assert_nothing_left(&name);
    }
}
