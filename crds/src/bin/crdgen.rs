//! Print the NetProbe CustomResourceDefinition as YAML, or write it to each file named:
//! `cargo run -p netdiag-crds --bin crdgen -- crds/netprobe.yaml config/crd/netprobe.yaml`
//! (kustomize cannot load files above its root, so config/ holds a byte-identical copy).

fn main() {
    let yaml = match netdiag_crds::probe::crd_yaml() {
        Ok(yaml) => yaml,
        Err(e) => {
            eprintln!("crdgen: cannot render the CRD: {e}");
            std::process::exit(1);
        }
    };
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        print!("{yaml}");
    }
    for file in files {
        if let Err(e) = std::fs::write(&file, &yaml) {
            eprintln!("crdgen: cannot write {file}: {e}");
            std::process::exit(1);
        }
    }
}
