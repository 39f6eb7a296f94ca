//! What people type: the plugin's SOURCE/TARGET/--checks shorthand and durations, and NetProbe
//! specs as YAML (GitOps, `kubectl apply`) or JSON (the API server's watch).

use netdiag_crds::NetProbe;
use netdiag_crds::shorthand::{parse_checks, parse_source, parse_target};
use netdiag_crds::validate::validate_spec;

/// The plugin's own duration parser, compiled from its source: the plugin's library would
/// bring the kube client and TLS stack into every fuzz build for one pure function.
#[path = "../../kubectl-netdiag/src/duration.rs"]
#[allow(dead_code)]
mod plugin_duration;

/// A SOURCE, TARGET or `--checks` argument of `trace` and `lab trace`.
pub fn shorthand(data: &[u8]) {
    let Some(text) = crate::utf8(data) else {
        return;
    };
    let _ = parse_source(text);
    let _ = parse_target(text);
    let _ = parse_checks(text);
}

/// A `--timeout`, `--wait` or other duration flag of the plugin.
pub fn duration(data: &[u8]) {
    let Some(text) = crate::utf8(data) else {
        return;
    };
    let _ = plugin_duration::parse_duration(text);
    let _ = plugin_duration::parse_timeout(text);
}

/// A NetProbe as YAML and as JSON, validated when it deserializes.
pub fn netprobe(data: &[u8]) {
    if let Ok(probe) = serde_json::from_slice::<NetProbe>(data) {
        let _ = validate_spec(&probe.spec);
    }
    if let Some(text) = crate::utf8(data)
        && let Ok(probe) = serde_saphyr::from_str::<NetProbe>(text)
    {
        let _ = validate_spec(&probe.spec);
    }
}
