//! Progress while a trace runs: one line on stderr, redrawn in place, naming each node's agent
//! pod and its state. Silent when stderr is not a terminal, so scripts see only the result.

use std::io::Write as _;
use std::time::Duration;

use netdiag_crds::NetProbe;

/// Where progress goes. The trace loop calls it; tests use a recorder.
pub trait Progress {
    /// The probe changed, or time passed.
    fn update(&mut self, probe: &NetProbe, elapsed: Duration);
    /// Something the user should know while waiting (e.g. nobody picks the probe up).
    fn warn(&mut self, message: &str);
    /// A plain note, such as which pod of a Deployment was picked.
    fn note(&mut self, message: &str) {
        eprintln!("{message}");
    }
    /// Done: clear the line.
    fn finish(&mut self);
}

/// `NetProbe curl-to-echo-x7k2q  Running  node-a: Running  node-b: Pending  2.4s`
pub fn line(probe: &NetProbe, elapsed: Duration) -> String {
    let name = probe
        .metadata
        .name
        .as_deref()
        .or(probe.metadata.generate_name.as_deref())
        .unwrap_or("netprobe");
    let status = probe.status.as_ref();
    let phase = status
        .and_then(|s| s.phase)
        .map(|p| p.to_string())
        .unwrap_or_else(|| "Pending".into());
    let mut out = format!("NetProbe {name}  {phase}");
    let nodes = status.map(|s| s.nodes.as_slice()).unwrap_or_default();
    // The controller holds a run back while a limit on agent pods or runs is reached.
    let queued = status
        .and_then(|s| s.condition("Queued"))
        .filter(|c| c.status == "True");
    if let Some(q) = queued {
        out.push_str(&format!("  {}", q.message.as_deref().unwrap_or("queued")));
    } else if nodes.is_empty() {
        out.push_str("  waiting for the controller");
    }
    for n in nodes {
        let state = match n.phase.as_deref() {
            Some("Succeeded") | Some("Failed") => "Done",
            Some(p) => p,
            None => "Pending",
        };
        out.push_str(&format!("  {}: {state}", n.name));
    }
    out.push_str(&format!("  {:.1}s", elapsed.as_secs_f64()));
    out
}

/// Progress on a terminal: the line is redrawn in place on stderr.
#[derive(Default)]
pub struct Terminal {
    drawn: bool,
}

impl Progress for Terminal {
    fn update(&mut self, probe: &NetProbe, elapsed: Duration) {
        let mut err = std::io::stderr().lock();
        // \r + erase line: redraw in place; progress is best-effort, so write errors are moot.
        let _ = write!(err, "\r\x1b[2K{}", line(probe, elapsed));
        let _ = err.flush();
        self.drawn = true;
    }

    fn warn(&mut self, message: &str) {
        self.finish();
        eprintln!("warning: {message}");
    }

    fn finish(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.drawn = false;
        }
    }
}

/// Not a terminal: no progress, but warnings still reach stderr.
pub struct Quiet;

impl Progress for Quiet {
    fn update(&mut self, _: &NetProbe, _: Duration) {}
    fn warn(&mut self, message: &str) {
        eprintln!("warning: {message}");
    }
    fn finish(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use netdiag_crds::{NetProbeStatus, NodeRun, Phase};

    #[test]
    fn line_names_each_node_and_its_agent_state() {
        let mut p = NetProbe::new(
            "curl-to-echo-x7k2q",
            serde_json::from_value(serde_json::json!({
                "source": {"pod": "curl"}, "target": {"dns": {"name": "echo"}}
            }))
            .unwrap_or_else(|e| panic!("spec fixture: {e}")),
        );
        assert!(line(&p, Duration::from_millis(300)).contains("waiting for the controller"));
        p.status = Some(NetProbeStatus {
            phase: Some(Phase::Running),
            nodes: vec![
                NodeRun {
                    name: "node-a".into(),
                    agent_pod: None,
                    phase: Some("Succeeded".into()),
                    message: None,
                },
                NodeRun {
                    name: "node-b".into(),
                    agent_pod: None,
                    phase: Some("Pending".into()),
                    message: None,
                },
            ],
            ..Default::default()
        });
        assert_eq!(
            line(&p, Duration::from_millis(2400)),
            "NetProbe curl-to-echo-x7k2q  Running  node-a: Done  node-b: Pending  2.4s"
        );
    }

    #[test]
    fn a_queued_run_says_which_limit_holds_it() {
        let mut p = NetProbe::new(
            "q",
            serde_json::from_value(serde_json::json!({
                "source": {"pod": "curl"}, "target": {"dns": {"name": "echo"}}
            }))
            .unwrap_or_else(|e| panic!("spec fixture: {e}")),
        );
        p.status = serde_json::from_value(serde_json::json!({
            "phase": "Pending",
            "conditions": [{"type": "Queued", "status": "True", "reason": "NodeAgentPodLimit",
                "message": "node node-a already runs 2 agent pods (--max-agent-pods-per-node=2): queued, retrying in 10s"}]
        }))
        .unwrap_or_else(|e| panic!("status fixture: {e}"));
        assert_eq!(
            line(&p, Duration::from_secs(3)),
            "NetProbe q  Pending  node node-a already runs 2 agent pods (--max-agent-pods-per-node=2): queued, retrying in 10s  3.0s"
        );
    }
}
