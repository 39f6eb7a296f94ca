use super::config::*;

fn scratch(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ndcni-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join(CONFIG_DIR)).expect("mkdir");
    dir
}

#[test]
fn a_conf_a_conflist_and_junk_parse_to_their_plugin_types() {
    let conf = CniConfig::parse(
        "10-bridge.conf",
        br#"{"cniVersion":"0.3.1","name":"mynet","type":"bridge","bridge":"cni0"}"#,
    );
    assert_eq!(
        (conf.types.as_slice(), conf.bridge.as_deref()),
        (&["bridge".to_string()][..], Some("cni0"))
    );
    assert_eq!(conf.cni(), Some("bridge"));
    let junk = CniConfig::parse("00-junk.conflist", b"\xff not json");
    assert!(junk.types.is_empty());
    let list = CniConfig::parse(
        "10-x.conflist",
        br#"{"plugins":[{"type":"weave-net"},7,{"type":"portmap"}]}"#,
    );
    assert_eq!(list.types, ["weave-net", "portmap"]);
    assert_eq!(list.cni(), Some("weave"));
    // The runtime takes the first file with a network in it: junk sorted before is skipped.
    let configs = [junk, list.clone()];
    assert_eq!(in_force(&configs), Some(&list));
    assert_eq!(
        CniConfig::parse("10-y.conf", br#"{"type":"macvlan"}"#).cni(),
        None
    );
}

#[test]
fn config_files_are_read_in_the_host_root_in_the_runtimes_order_and_bad_ones_are_left_out() {
    let dir = scratch("read");
    let net_d = dir.join(CONFIG_DIR);
    std::fs::write(
        net_d.join("10-flannel.conflist"),
        br#"{"plugins":[{"type":"flannel"}]}"#,
    )
    .expect("write");
    std::fs::write(
        net_d.join("05-cilium.conflist"),
        br#"{"plugins":[{"type":"cilium-cni"}]}"#,
    )
    .expect("write");
    std::fs::write(net_d.join("calico-kubeconfig"), b"apiVersion: v1").expect("write");
    nix::unistd::mkfifo(
        &net_d.join("00-fifo.conf"),
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
    )
    .expect("mkfifo");
    // A file bigger than any config is cut, so it reads as no JSON.
    let mut big = br#"{"type":"bridge","pad":""#.to_vec();
    big.extend(std::iter::repeat_n(b'x', 100_000));
    big.extend(br#""}"#);
    std::fs::write(net_d.join("01-big.conf"), big).expect("write");
    let started = std::time::Instant::now();
    let got = read_configs(&dir);
    let missing = read_configs(&dir.join("nowhere"));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "no hang on the FIFO"
    );
    let seen: Vec<(&str, usize)> = got
        .iter()
        .map(|c| (c.file.as_str(), c.types.len()))
        .collect();
    assert_eq!(
        seen,
        [
            ("01-big.conf", 0),
            ("05-cilium.conflist", 1),
            ("10-flannel.conflist", 1)
        ]
    );
    assert_eq!(in_force(&got).and_then(CniConfig::cni), Some("cilium"));
    assert!(missing.is_empty(), "no directory, no evidence, no error");
}
