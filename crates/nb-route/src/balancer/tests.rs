use super::*;

#[test]
fn a_target_costs_about_two_kib() {
    let entry = std::mem::size_of::<Entry<String>>();
    assert!((2048..=2200).contains(&entry), "{entry} bytes");
}

#[test]
fn debug_output_names_the_targets() {
    let lb = LoadBalancer::new(["a", "b"], LoadBalancerConfig::default());
    let s = format!("{lb:?}");
    assert!(s.contains(r#"targets: ["a", "b"]"#), "{s}");
    let sel = lb.select(&[], |t| t == "b", Instant::now()).unwrap();
    assert_eq!(
        format!("{sel:?}"),
        r#"Selection { target: "b", kind: Normal }"#
    );
    let guard = sel.start();
    assert_eq!(
        format!("{guard:?}"),
        r#"InFlight { target: "b", kind: Normal }"#
    );
}
