//! Print a CustomResourceDefinition as YAML, or write it to each file named:
//! `cargo run -p netdiag-crds --bin crdgen -- crds/netprobe.yaml config/crd/netprobe.yaml`
//! (NetProbe, the default) or `... -- --kind NodeInspection crds/nodeinspection.yaml
//! config/crd/nodeinspection.yaml`. kustomize cannot load files above its root, so config/
//! holds a byte-identical copy.

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let kind = match args.iter().position(|a| a == "--kind") {
        Some(i) if i + 1 < args.len() => {
            let kind = args.remove(i + 1);
            args.remove(i);
            kind
        }
        Some(_) => {
            eprintln!("crdgen: --kind needs NetProbe or NodeInspection");
            std::process::exit(2);
        }
        None => "NetProbe".to_string(),
    };
    let yaml = match kind.as_str() {
        "NetProbe" => netdiag_crds::probe::crd_yaml(),
        "NodeInspection" => netdiag_crds::inspection::crd_yaml(),
        other => {
            eprintln!("crdgen: unknown kind {other:?}: use NetProbe or NodeInspection");
            std::process::exit(2);
        }
    };
    let yaml = match yaml {
        Ok(yaml) => yaml,
        Err(e) => {
            eprintln!("crdgen: cannot render the CRD: {e}");
            std::process::exit(1);
        }
    };
    if args.is_empty() {
        print!("{yaml}");
    }
    for file in args {
        if let Err(e) = std::fs::write(&file, &yaml) {
            eprintln!("crdgen: cannot write {file}: {e}");
            std::process::exit(1);
        }
    }
}
