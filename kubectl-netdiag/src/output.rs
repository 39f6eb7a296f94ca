//! The `-o` formats of a traced NetProbe. Pure: a NetProbe in, text out.

use netdiag_crds::NetProbe;
use netdiag_render::{self as render, RenderOptions};

use crate::cli::TraceOutput;
use crate::error::Error;

/// Whether to colour output: only to a terminal, and never when `NO_COLOR` is set to anything
/// non-empty (no-color.org) or the terminal is `dumb`.
pub fn use_color(is_tty: bool, no_color: Option<&str>, term: Option<&str>) -> bool {
    is_tty && no_color.is_none_or(str::is_empty) && term != Some("dumb")
}

/// Colour for stdout, from the real environment.
pub fn stdout_color() -> bool {
    use std::io::IsTerminal;
    use_color(
        std::io::stdout().is_terminal(),
        std::env::var("NO_COLOR").ok().as_deref(),
        std::env::var("TERM").ok().as_deref(),
    )
}

/// Render a NetProbe in one of the trace formats. Ends with a newline.
pub fn render_probe(probe: &NetProbe, format: TraceOutput, color: bool) -> Result<String, Error> {
    let path = probe.status.clone().unwrap_or_default().path();
    Ok(match format {
        TraceOutput::Table | TraceOutput::Wide => {
            let ns = probe.metadata.namespace.as_deref().unwrap_or("default");
            let header = format!(
                "TRACE: {ns}/{} -> {}\n\n",
                probe.spec.source.pod,
                probe.spec.target.display(ns)
            );
            let opts = RenderOptions {
                wide: format == TraceOutput::Wide,
                color,
            };
            format!("{header}{}", render::table(&path, &opts))
        }
        TraceOutput::Dot => render::dot(&path),
        TraceOutput::Json => json(probe)?,
        TraceOutput::Yaml => yaml(probe)?,
        // Binary: written by `pcap`, never as text.
        TraceOutput::Pcap => {
            return Err(Error::Pcap("the capture is binary, not text".into()));
        }
    })
}

/// The refusal when `-o pcap` would write to a terminal, checked before the probe is made.
pub fn pcap_refused(stdout_is_terminal: bool) -> Result<(), Error> {
    if stdout_is_terminal {
        return Err(Error::Pcap(
            "will not write binary packets to a terminal: redirect it, e.g. `> probe.pcap`, or pipe it to `tcpdump -r -`".into(),
        ));
    }
    Ok(())
}

/// Every node's captured packets in the probe's status, as one pcapng file.
pub fn pcap(probe: &NetProbe) -> Result<Vec<u8>, Error> {
    let path = probe.status.clone().unwrap_or_default().path();
    netdiag_model::pcapng::merge_evidence(&path.evidence)
        .map_err(|e| Error::Pcap(e.to_string()))?
        .ok_or_else(|| {
            Error::Pcap(
                "no node captured packets (evidence is off in --checks, the probe never connected, or the agent could not open capture sockets: see -o yaml's evidence)".into(),
            )
        })
}

/// Pretty JSON with a trailing newline, as `kubectl get -o json` prints it.
pub fn json<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    render::json(v).map_err(Error::from)
}

/// YAML, as `kubectl get -o yaml` prints it.
pub fn yaml<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    render::yaml(v).map_err(Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcap_is_refused_on_a_terminal() {
        let e = pcap_refused(true)
            .map(|()| String::new())
            .unwrap_or_else(|e| e.to_string());
        assert!(e.contains("redirect it"), "{e}");
        assert!(pcap_refused(false).is_ok());
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_color(true, None, Some("xterm-256color")));
        assert!(use_color(true, Some(""), None));
        assert!(!use_color(true, Some("1"), None));
        assert!(!use_color(false, None, None));
        assert!(!use_color(true, None, Some("dumb")));
    }
}
