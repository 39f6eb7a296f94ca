//! The krew manifest and the release packaging agree: the checked-in `krew-manifest.yaml` has
//! krew's structure, and `scripts/dist` (the same code path a release uses) writes the sha256 of
//! the archive it builds, reproducibly.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sha2::{Digest as _, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-netdiag");
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn read_manifest(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

fn platform<'a>(m: &'a Value, os: &str, arch: &str) -> &'a Value {
    m["spec"]["platforms"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| {
            p["selector"]["matchLabels"]["os"] == os && p["selector"]["matchLabels"]["arch"] == arch
        })
        .unwrap_or_else(|| panic!("no platform {os}/{arch} in the manifest"))
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The structure krew requires (krew.sigs.k8s.io/docs/developer-guide/plugin-manifest).
fn check_structure(m: &Value) {
    assert_eq!(
        m["apiVersion"],
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(m["kind"], "Plugin");
    assert_eq!(m["metadata"]["name"], "netdiag");
    let spec = &m["spec"];
    assert_eq!(
        spec["version"],
        format!("v{VERSION}"),
        "spec.version must follow Cargo.toml"
    );
    for field in ["homepage", "shortDescription", "description"] {
        let v = spec[field].as_str().unwrap_or_default();
        assert!(!v.trim().is_empty(), "spec.{field} is empty");
    }
    assert!(
        spec["homepage"]
            .as_str()
            .unwrap_or_default()
            .starts_with("https://")
    );
    let caveats = spec["caveats"].as_str().unwrap_or_default();
    for word in [
        "cluster-admin",
        "hostNetwork",
        "hostPID",
        "NET_ADMIN",
        "SYS_ADMIN",
        "sudo",
    ] {
        assert!(
            caveats.contains(word),
            "spec.caveats must mention {word}: {caveats}"
        );
    }
    let platforms = spec["platforms"].as_array().cloned().unwrap_or_default();
    assert!(!platforms.is_empty(), "no platform");
    for p in &platforms {
        let os = p["selector"]["matchLabels"]["os"]
            .as_str()
            .unwrap_or_default();
        let arch = p["selector"]["matchLabels"]["arch"]
            .as_str()
            .unwrap_or_default();
        assert!(
            matches!((os, arch), ("linux" | "darwin", "amd64" | "arm64")),
            "unexpected platform {os}/{arch}"
        );
        let labels = p["selector"]["matchLabels"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            labels.len(),
            2,
            "{os}/{arch}: matchLabels must be exactly os and arch"
        );
        let uri = p["uri"].as_str().unwrap_or_default();
        assert!(
            uri.starts_with("https://")
                && uri.contains(&format!("/v{VERSION}/"))
                && uri.ends_with(&format!("/kubectl-netdiag_{VERSION}_{os}_{arch}.tar.gz")),
            "{os}/{arch}: uri {uri}"
        );
        let sha = p["sha256"].as_str().unwrap_or_default();
        assert!(
            is_sha256(sha),
            "{os}/{arch}: sha256 {sha:?} is not 64 lower-case hex digits"
        );
        // A platform is listed only once its archive was built and hashed.
        assert_ne!(
            sha,
            "0".repeat(64),
            "{os}/{arch} is listed but was never built"
        );
        assert_eq!(p["bin"], "kubectl-netdiag", "{os}/{arch}");
        let files: Vec<(String, String)> = p["files"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                (
                    f["from"].as_str().unwrap_or_default().into(),
                    f["to"].as_str().unwrap_or_default().into(),
                )
            })
            .collect();
        assert!(
            files.contains(&("kubectl-netdiag".into(), ".".into())),
            "{os}/{arch}: {files:?}"
        );
        assert!(
            files.contains(&("LICENSE".into(), ".".into())),
            "{os}/{arch}: {files:?}"
        );
        assert!(
            files.contains(&("kubectl_complete-netdiag".into(), ".".into())),
            "{os}/{arch}: kubectl's completion helper must ship: {files:?}"
        );
    }
}

#[test]
fn the_checked_in_manifest_has_krews_structure() {
    let m = read_manifest(&root().join("krew-manifest.yaml"));
    check_structure(&m);
    // This machine builds linux/amd64: scripts/dist must have listed it.
    platform(&m, "linux", "amd64");
}

fn sha256_file(p: &Path) -> String {
    let bytes = std::fs::read(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
    data_encoding::HEXLOWER.encode(&Sha256::digest(&bytes))
}

fn dist(out: &Path, manifest: &Path) {
    let status = Command::new(root().join("scripts/dist"))
        .args(["--binary", BIN, "--os", "linux", "--arch", "amd64", "--out"])
        .arg(out)
        .arg("--manifest")
        .arg(manifest)
        // A debug binary is large; the fastest gzip level keeps the test quick. Everything else
        // is the release code path.
        .env("DIST_GZIP_LEVEL", "1")
        .status()
        .unwrap_or_else(|e| panic!("cannot run scripts/dist: {e}"));
    assert!(status.success(), "scripts/dist failed: {status}");
}

#[test]
fn a_freshly_built_archive_matches_the_sha256_dist_writes() {
    let work =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("dist-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("mkdir {}: {e}", work.display()));
    let manifest = work.join("krew-manifest.yaml");
    let original = read_manifest(&root().join("krew-manifest.yaml"));
    std::fs::copy(root().join("krew-manifest.yaml"), &manifest)
        .unwrap_or_else(|e| panic!("copy manifest: {e}"));

    dist(&work, &manifest);
    let archive = work.join(format!("kubectl-netdiag_{VERSION}_linux_amd64.tar.gz"));
    let first = sha256_file(&archive);
    let written = read_manifest(&manifest);
    check_structure(&written);
    assert_eq!(
        platform(&written, "linux", "amd64")["sha256"],
        first.as_str()
    );
    // Platforms not built in this run keep their sha256; one never built stays out.
    let listed = |m: &Value| m["spec"]["platforms"].as_array().map_or(0, Vec::len);
    assert_eq!(listed(&written), listed(&original).max(1));

    // Another platform's archive, built elsewhere (a release job), is added by its sha256.
    let other = work.join(format!("kubectl-netdiag_{VERSION}_darwin_arm64.tar.gz"));
    std::fs::copy(&archive, &other).unwrap_or_else(|e| panic!("copy archive: {e}"));
    let status = Command::new(root().join("scripts/dist"))
        .arg("--archive")
        .arg(&other)
        .args(["--os", "darwin", "--arch", "arm64", "--manifest"])
        .arg(&manifest)
        .status()
        .unwrap_or_else(|e| panic!("cannot run scripts/dist: {e}"));
    assert!(status.success());
    let merged = read_manifest(&manifest);
    check_structure(&merged);
    assert_eq!(
        platform(&merged, "darwin", "arm64")["sha256"],
        first.as_str()
    );
    assert_eq!(
        platform(&merged, "linux", "amd64")["sha256"],
        first.as_str()
    );

    // The archive holds exactly the binary and the licence, at the top level.
    let list = Command::new("tar")
        .arg("tzf")
        .arg(&archive)
        .output()
        .unwrap_or_else(|e| panic!("tar: {e}"));
    assert_eq!(
        String::from_utf8_lossy(&list.stdout),
        "LICENSE\nkubectl-netdiag\nkubectl_complete-netdiag\n"
    );

    // Reproducible: the same binary gives the same sha256.
    dist(&work, &manifest);
    assert_eq!(
        sha256_file(&archive),
        first,
        "archives are not reproducible"
    );
    let _ = std::fs::remove_dir_all(&work);
}
