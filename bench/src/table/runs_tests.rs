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
