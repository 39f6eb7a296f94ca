//! The rows of whole runs: B5's marks against one second.

use crate::table::{Results, render};

#[test]
fn b5_marks_the_whole_inspection_against_one_second() {
    let b5 = crate::b5::B5 {
        pods: 250,
        found: 250,
        median_ms: 180.0,
        samples_ms: vec![180.0],
        build_s: 3.0,
        ok: true,
        note: "n".into(),
    };
    let r = Results {
        b5: Some(b5.clone()),
        b5_join_ns: Some(400_000.0),
        ..Results::none()
    };
    let text = render(&r);
    let b5_lines: Vec<&str> = text.lines().filter(|l| l.starts_with("B5")).collect();
    assert_eq!(b5_lines.len(), 2, "{text}");
    assert!(b5_lines[0].contains("0.40 ms") && b5_lines[0].ends_with("met"));
    assert!(b5_lines[1].contains("median 180 ms") && b5_lines[1].ends_with("met"));
    let slow = Results {
        b5: Some(crate::b5::B5 {
            median_ms: 1500.0,
            ..b5.clone()
        }),
        ..Results::none()
    };
    assert!(
        render(&slow)
            .lines()
            .any(|l| l.starts_with("B5") && l.ends_with("MISSED"))
    );
    let wrong = Results {
        b5: Some(crate::b5::B5 {
            ok: false,
            note: "found 3 of 250 pod namespaces".into(),
            ..b5
        }),
        ..Results::none()
    };
    assert!(render(&wrong).contains("WRONG ANSWER: found 3 of 250"));
}

fn b3(cni: &str, median_ms: f64, without: Option<f64>) -> crate::b3::B3 {
    crate::b3::B3 {
        cni: Some(cni.into()),
        median_ms,
        p90_ms: median_ms + 5.0,
        agent_ms: vec![median_ms; 20],
        wall_ms: vec![median_ms + 100.0; 20],
        healthy: true,
        note: "n".into(),
        without_mtu: without.map(|m| crate::b3::Side {
            median_ms: m,
            samples_ms: vec![m; 20],
        }),
        probe_alone: without.map(|_| crate::b3::Side {
            median_ms: 0.31,
            samples_ms: vec![0.31; 20],
        }),
    }
}

fn b3_lines(r: &Results) -> Vec<String> {
    (render(r).lines())
        .filter(|l| l.starts_with("B3"))
        .map(str::to_string)
        .collect()
}

#[test]
fn b3_shows_the_bridge_and_vxlan_labs_side_by_side_with_the_mtu_probe_cost() {
    let r = Results {
        b3: Some(b3("bridge", 73.0, None)),
        b3_vxlan: Some(b3("vxlan", 90.0, Some(86.5))),
        ..Results::none()
    };
    let lines = b3_lines(&r);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].contains("bridge lab trace agent time over 20: median 73 ms"));
    assert!(lines[0].ends_with("met"), "{}", lines[0]);
    assert!(lines[1].contains("vxlan lab trace agent time over 20: median 90 ms"));
    assert!(lines[1].contains("median < 300 ms") && lines[1].ends_with("met"));
    assert!(
        lines[2].contains(
            "90.0 ms with it (n=20), 86.5 ms without (n=20): +3.5 ms; the probe alone 0.31 ms (n=20)"
        ),
        "{}",
        lines[2]
    );
    assert!(lines[2].contains("adds <= 20 ms") && lines[2].ends_with("met"));
}

#[test]
fn b3_marks_a_slow_trace_a_costly_probe_an_unhealthy_run_and_a_lab_not_run() {
    let slow = Results {
        b3_vxlan: Some(b3("vxlan", 310.0, Some(280.0))),
        ..Results::none()
    };
    let lines = b3_lines(&slow);
    assert!(lines[0].contains("bridge: not run"), "{lines:?}");
    assert!(lines[1].ends_with("MISSED") && lines[2].ends_with("MISSED"));
    assert!(lines[2].contains("+30.0 ms"), "{}", lines[2]);
    let sick = Results {
        b3_vxlan: Some(crate::b3::B3 {
            healthy: false,
            note: "round 2: an MTU finding on a healthy path".into(),
            ..b3("vxlan", 90.0, Some(89.0))
        }),
        ..Results::none()
    };
    let lines = b3_lines(&sick);
    assert!(lines[1].contains("round 2: an MTU finding") && lines[1].ends_with("UNHEALTHY TRACE"));
    assert!(lines[2].ends_with("UNHEALTHY TRACE"), "{}", lines[2]);
    // Results from before the vxlan row name no CNI: the bridge lab's.
    let old: crate::b3::B3 = serde_json::from_str(
        r#"{"medianMs": 73.0, "p90Ms": 82.0, "agentMs": [73.0], "wallMs": [150.0],
            "healthy": true, "note": "2 agent runs per trace"}"#,
    )
    .expect("an old b3.json");
    assert_eq!((old.cni(), old.mtu_probe_ms()), ("bridge", None));
}
