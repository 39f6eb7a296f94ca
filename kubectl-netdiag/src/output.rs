//! The `-o` formats of a traced NetProbe. Pure: a NetProbe in, text out. The formats themselves
//! are the renderer's ([`netdiag_render::render_trace`]), shared with `lab trace`.

use netdiag_crds::NetProbe;
use netdiag_render::{self as render, OutputError, TraceOutput};

pub use netdiag_render::{Width, stdout_color, stdout_width, use_color};

use crate::cli::TraceFormat;
use crate::error::Error;
use crate::probe::Outcome;

/// A NetProbe in one of the trace formats, titled `NS/POD -> TARGET` (`node/NAME -> TARGET`), its table fitted to
/// `width`.
pub fn trace_output(
    probe: &NetProbe,
    format: TraceFormat,
    color: bool,
    width: Width,
) -> Result<TraceOutput, Error> {
    let path = probe.status.clone().unwrap_or_default().path();
    let ns = probe.metadata.namespace.as_deref().unwrap_or("default");
    let source = probe.spec.source.path_name(ns);
    let target = probe.spec.target.display(ns);
    render::render_trace(probe, &path, &source, &target, format, color, width).map_err(output_error)
}

/// A NetProbe in one of the text formats, with full lines as for a pipe. Ends with a newline.
pub fn render_probe(probe: &NetProbe, format: TraceFormat, color: bool) -> Result<String, Error> {
    match trace_output(probe, format, color, Width::Unlimited)? {
        TraceOutput::Text(s) => Ok(s),
        TraceOutput::Pcap(_) => Err(Error::Pcap("the capture is binary, not text".into())),
    }
}

/// The refusal when `-o pcap` would write to a terminal, checked before the probe is made.
pub fn pcap_refused(format: TraceFormat, stdout_is_terminal: bool) -> Result<(), Error> {
    render::refuse_pcap_to_terminal(format, stdout_is_terminal).map_err(output_error)
}

/// Print a trace's output to stdout.
pub fn write_stdout(out: &TraceOutput) -> Result<(), Error> {
    out.write_to(&mut std::io::stdout().lock())
        .map_err(output_error)
}

fn output_error(e: OutputError) -> Error {
    match e {
        OutputError::Encode(e) => Error::from(e),
        other => Error::Pcap(other.to_string()),
    }
}

/// Pretty JSON with a trailing newline, as `kubectl get -o json` prints it.
pub fn json<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    render::json(v).map_err(Error::from)
}

/// YAML, as `kubectl get -o yaml` prints it.
pub fn yaml<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    render::yaml(v).map_err(Error::from)
}

/// What stderr says of a probe that could not run, if anything: a table's RESULT line already
/// carries the controller's message (a refused node source names the flag that allows it), and
/// on a terminal saying it twice buries what to do next. In a data format, or with stdout
/// piped away, stderr is where a person reads it.
pub fn probe_failed_note(
    outcome: &Outcome,
    format: TraceFormat,
    stdout_is_terminal: bool,
) -> Option<String> {
    let Outcome::ProbeFailed(message) = outcome else {
        return None;
    };
    let said = stdout_is_terminal && matches!(format, TraceFormat::Table | TraceFormat::Wide);
    (!said).then(|| {
        Error::ProbeFailed {
            message: message.clone(),
        }
        .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_that_could_not_run_is_said_once_where_a_person_reads_it() {
        let failed = Outcome::ProbeFailed("node sources are off".into());
        assert_eq!(
            probe_failed_note(&failed, TraceFormat::Json, true).as_deref(),
            Some("the probe could not run: node sources are off")
        );
        assert!(probe_failed_note(&failed, TraceFormat::Table, false).is_some());
        assert_eq!(probe_failed_note(&failed, TraceFormat::Table, true), None);
        assert_eq!(probe_failed_note(&failed, TraceFormat::Wide, true), None);
        assert_eq!(
            probe_failed_note(&Outcome::FailureFound, TraceFormat::Json, false),
            None
        );
    }
}
