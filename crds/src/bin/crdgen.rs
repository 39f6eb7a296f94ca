//! Print the NetProbe CustomResourceDefinition as YAML: `cargo run -p netdiag-crds --bin crdgen > crds/netprobe.yaml`.

fn main() {
    match netdiag_crds::probe::crd_yaml() {
        Ok(yaml) => print!("{yaml}"),
        Err(e) => {
            eprintln!("crdgen: {e}");
            std::process::exit(1);
        }
    }
}
