//! The `-o` formats of one trace, shared by the plugin's `trace` and the lab's `lab trace`: a
//! learner on the lab sees exactly what an on-call engineer sees on a cluster.

use std::io::Write;

use netdiag_model::MergedPath;
use serde::Serialize;

use crate::{EncodeError, RenderOptions, Width};

/// How a trace is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum TraceFormat {
    /// The hops, the first failure in one sentence, DNS, the result.
    Table,
    /// The table with REASON and FACTS columns.
    Wide,
    /// The NetProbe, status included, as JSON.
    Json,
    /// The NetProbe, status included, as YAML.
    Yaml,
    /// The path as a Graphviz graph, top to bottom, the failing hop an octagon (`| dot -Tsvg >
    /// path.svg`).
    Dot,
    /// The probe's captured packets of every node as one pcapng file (`> probe.pcap`).
    Pcap,
}

/// What to print: text, or the binary capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceOutput {
    Text(String),
    Pcap(Vec<u8>),
}

/// Why a trace cannot be printed in the format asked for.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error(
        "will not write binary packets to a terminal: redirect it, e.g. `> probe.pcap`, or pipe it to `tcpdump -r -`"
    )]
    PcapToTerminal,
    #[error(
        "no node captured packets (evidence is off in --checks, the probe never connected, or the agent could not open capture sockets: see -o yaml's evidence)"
    )]
    NoPackets,
    #[error("the nodes' captures cannot be merged into one pcapng file: {0}")]
    Pcap(String),
    #[error("cannot write to stdout: {0}")]
    Stdout(std::io::Error),
}

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

/// Checked before the probe runs: binary packets on a terminal help nobody.
pub fn refuse_pcap_to_terminal(
    format: TraceFormat,
    stdout_is_terminal: bool,
) -> Result<(), OutputError> {
    if format == TraceFormat::Pcap && stdout_is_terminal {
        return Err(OutputError::PcapToTerminal);
    }
    Ok(())
}

/// One trace in `format`. `probe` is the object json and yaml print (the NetProbe, status
/// included); `source` and `target` title the table and the graph (`default/curl`,
/// `svc/echo:http`). `width` only shapes the table and wide formats: json, yaml and dot are for
/// programs.
pub fn render_trace<T: Serialize>(
    probe: &T,
    path: &MergedPath,
    source: &str,
    target: &str,
    format: TraceFormat,
    color: bool,
    width: Width,
) -> Result<TraceOutput, OutputError> {
    Ok(TraceOutput::Text(match format {
        TraceFormat::Table | TraceFormat::Wide => {
            let opts = RenderOptions {
                wide: format == TraceFormat::Wide,
                color,
                width,
            };
            format!(
                "TRACE: {source} -> {target}\n\n{}",
                crate::table(path, &opts)
            )
        }
        TraceFormat::Dot => crate::dot(path, source, target),
        TraceFormat::Json => crate::json(probe)?,
        TraceFormat::Yaml => crate::yaml(probe)?,
        TraceFormat::Pcap => {
            let bytes = netdiag_model::pcapng::merge_evidence(&path.evidence)
                .map_err(|e| OutputError::Pcap(e.to_string()))?
                .ok_or(OutputError::NoPackets)?;
            return Ok(TraceOutput::Pcap(bytes));
        }
    }))
}

impl TraceOutput {
    /// Write it out whole and flush.
    pub fn write_to(&self, out: &mut impl Write) -> Result<(), OutputError> {
        let bytes = match self {
            TraceOutput::Text(s) => s.as_bytes(),
            TraceOutput::Pcap(b) => b,
        };
        out.write_all(bytes)
            .and_then(|()| out.flush())
            .map_err(OutputError::Stdout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netdiag_model::report::Evidence;

    #[test]
    fn pcap_is_refused_on_a_terminal_only() {
        assert!(matches!(
            refuse_pcap_to_terminal(TraceFormat::Pcap, true),
            Err(OutputError::PcapToTerminal)
        ));
        assert!(refuse_pcap_to_terminal(TraceFormat::Pcap, false).is_ok());
        assert!(refuse_pcap_to_terminal(TraceFormat::Table, true).is_ok());
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_color(true, None, Some("xterm-256color")));
        assert!(use_color(true, Some(""), None));
        assert!(!use_color(true, Some("1"), None));
        assert!(!use_color(false, None, None));
        assert!(!use_color(true, None, Some("dumb")));
    }

    #[test]
    fn every_text_format_renders_and_a_capture_less_pcap_says_why() {
        let path = MergedPath::default();
        let probe = serde_json::json!({"kind": "NetProbe"});
        let text = |f| match render_trace(
            &probe,
            &path,
            "default/curl",
            "svc/echo:80",
            f,
            false,
            Width::Unlimited,
        ) {
            Ok(TraceOutput::Text(s)) => s,
            other => panic!("{f:?}: {other:?}"),
        };
        assert!(text(TraceFormat::Table).starts_with("TRACE: default/curl -> svc/echo:80\n\n"));
        assert!(text(TraceFormat::Wide).starts_with("TRACE: default/curl -> svc/echo:80\n\n"));
        assert!(text(TraceFormat::Dot).starts_with("digraph"));
        assert!(text(TraceFormat::Json).contains("\"kind\": \"NetProbe\""));
        assert!(text(TraceFormat::Yaml).contains("kind: NetProbe"));
        let with_no_packets = MergedPath {
            evidence: vec![Evidence::default()],
            ..Default::default()
        };
        assert!(matches!(
            render_trace(
                &probe,
                &with_no_packets,
                "a",
                "b",
                TraceFormat::Pcap,
                false,
                Width::Unlimited
            ),
            Err(OutputError::NoPackets)
        ));
    }
}
