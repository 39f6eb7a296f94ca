//! The overlay faults as actions: what each removes from flanneld's entries, and what fix writes.

use super::Fault;
use super::actions;
use super::tests::with_ctx;
use crate::spec::{Cni, LabSpec};

#[test]
fn overlay_faults_remove_flanneld_entries_and_fix_writes_them_back() {
    let spec = LabSpec {
        cni: Cni::Vxlan,
        ..LabSpec::default()
    };
    let lines = |fault: Fault, breaking: bool| -> Vec<String> {
        with_ctx(&spec, |ctx| {
            let a = if breaking {
                actions::break_actions(fault, ctx, &[fault]).unwrap()
            } else {
                actions::fix_actions(fault, ctx, &[])
            };
            a.iter().map(|a| format!("{a:?}")).collect()
        })
    };
    let fdb = lines(Fault::NoFdb, true).join("\n");
    assert!(
        fdb.contains(
            r#""fdb", "del", "0e:6e:64:00:00:02", "dev", "flannel.1", "dst", "172.18.0.3""#
        ),
        "{fdb}"
    );
    assert!(
        lines(Fault::NoFdb, false)
            .join("\n")
            .contains(r#""fdb", "replace""#)
    );
    let neigh = lines(Fault::NoNeighbour, true).join("\n");
    assert!(
        neigh.contains(r#""neigh", "del", "10.244.2.0", "dev", "flannel.1""#),
        "{neigh}"
    );
    // back up, the device gets the routes and neighbours the kernel dropped with it
    let up = lines(Fault::OverlayDown, false).join("\n");
    assert!(
        up.contains(r#""link", "set", "flannel.1", "up""#)
            && up.contains(r#""route", "replace", "10.244.2.0/24", "via", "10.244.2.0", "dev", "flannel.1", "onlink""#)
            && up.contains(r#""neigh", "replace", "10.244.1.0", "lladdr", "0e:6e:64:00:00:01""#),
        "{up}"
    );
    let routes = lines(Fault::NoRoute, true).join("\n");
    assert!(
        routes.contains(
            r#""route", "del", "10.244.2.0/24", "via", "10.244.2.0", "dev", "flannel.1""#
        ),
        "{routes}"
    );
    let mtu = lines(Fault::PodMtu, true).join("\n");
    assert!(
        mtu.contains(r#"nd-t1-curl"#) && mtu.matches(r#""mtu", "1500""#).count() == 2,
        "{mtu}"
    );
    assert_eq!(
        lines(Fault::PodMtu, false)
            .join("\n")
            .matches(r#""mtu", "1450""#)
            .count(),
        2
    );
    let hole = lines(Fault::MtuBlackhole, true);
    assert_eq!(hole.len(), spec.nodes.len());
    assert!(
        hole[0].contains("hook ingress device") && hole[0].contains("ip length > 1414"),
        "{}",
        hole[0]
    );
    assert!(lines(Fault::MtuBlackhole, false)[0].contains("delete table netdev underlay"));
}
