//! `docs/hops-and-reasons.md` says what the Reason enum says: every reason, its hop, verdict and
//! next step. Rewrite it with `NETDIAG_WRITE_DOCS=1 cargo test -p netdiag-model --test reasons_doc`.

use std::path::PathBuf;

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/hops-and-reasons.md")
}

#[test]
fn the_hops_and_reasons_doc_is_generated_from_the_enum() {
    let want = netdiag_model::doc::hops_and_reasons();
    let path = doc_path();
    if std::env::var_os("NETDIAG_WRITE_DOCS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &want).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        return;
    }
    let have =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(
        have == want,
        "{} is out of date with model/src/reason.rs: run \
         `NETDIAG_WRITE_DOCS=1 cargo test -p netdiag-model --test reasons_doc` and commit it",
        path.display()
    );
}

#[test]
fn every_reason_is_in_the_doc_with_its_hop() {
    let doc = netdiag_model::doc::hops_and_reasons();
    for r in netdiag_model::Reason::ALL {
        let hop = r.hop_kind().map(|k| k.to_string()).unwrap_or_default();
        assert!(
            doc.contains(&format!("| {hop} | `{r}` |")),
            "{r} is missing from the doc"
        );
    }
}
