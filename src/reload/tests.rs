//! Which fields a reload changes live, which it refuses as restart-only, and a bad file
//! refused with the `check` message.

use super::diff::{Diff, compare};
use crate::config::{self, Config};

const DEMO: &str = include_str!("../../configs/demo.yaml");

fn demo_with(from: &str, to: &str) -> Config {
    assert!(DEMO.contains(from), "demo.yaml has no {from:?}");
    config::parse(&DEMO.replacen(from, to, 1)).expect("a valid configuration")
}

fn demo() -> Config {
    config::parse(DEMO).expect("demo.yaml is valid")
}

#[test]
fn the_same_file_changes_nothing() {
    assert_eq!(compare(&demo(), &demo()), Diff::default());
}

#[test]
fn origins_timeouts_limits_and_log_level_change_live() {
    let new = DEMO
        .replacen("\"10.10.0.2:8080\"", "\"10.10.0.2:8080\", \"10.10.0.3:8082\"", 1)
        .replacen("connect_timeout: 3s", "connect_timeout: 1s", 1)
        .replacen("max_connections: 10000", "max_connections: 500", 1)
        .replacen("log_level: info", "log_level: debug", 1);
    let diff = compare(&demo(), &config::parse(&new).expect("valid"));
    assert_eq!(diff.restart, Vec::<String>::new());
    assert_eq!(
        diff.live,
        [
            "log_level: Info -> Debug",
            "pipeline demo-http forward.origins [10.10.0.2:8080] -> [10.10.0.2:8080, 10.10.0.3:8082]",
            "pipeline demo-http forward.connect_timeout: \"3s\" -> \"1s\"",
            "pipeline demo-http terminate.limits.max_connections: 10000 -> 500",
        ]
    );
}

#[test]
fn mptcp_settings_and_health_change_live() {
    let diff = compare(&demo(), &demo_with("max_subflows: 4", "max_subflows: 2"));
    assert_eq!(diff.restart, Vec::<String>::new());
    assert_eq!(diff.live.len(), 1, "{:?}", diff.live);
    assert!(diff.live[0].starts_with("pipeline demo-http terminate (MPTCP settings"));
    let health = "origins: [\"10.10.0.2:8080\"]\n      health: {failures: 3, backoff: 1m}";
    let diff = compare(&demo(), &demo_with("origins: [\"10.10.0.2:8080\"]", health));
    assert!(diff.restart.is_empty() && diff.live.len() == 1, "{diff:?}");
    assert!(diff.live[0].starts_with("pipeline demo-http forward.health"), "{diff:?}");
    let checked = "origins: [\"10.10.0.2:8080\"]\n      health: {check: {interval: 5s}}";
    let diff = compare(&demo(), &demo_with("origins: [\"10.10.0.2:8080\"]", checked));
    assert!(diff.restart.is_empty() && diff.live.len() == 1, "active checks live: {diff:?}");
    assert!(diff.live[0].starts_with("pipeline demo-http forward.health"), "{diff:?}");
}

#[test]
fn restart_only_fields_are_each_named() {
    let cases = [
        ("cores: [0, 1]", "cores: [0]", "cores: [0, 1] -> [0]"),
        ("client: srv0", "client: srv1", "interfaces.client: \"srv0\" -> \"srv1\""),
        ("queues: 2", "queues: 4", "interfaces.queues: 2 -> 4"),
        (
            "listen: 127.0.0.1:9100",
            "listen: 127.0.0.1:9101",
            "metrics.listen: 127.0.0.1:9100 -> 127.0.0.1:9101",
        ),
        ("ports: [80]", "ports: [81]", "pipelines[0].match.ports: [\"80\"] -> [\"81\"]"),
        (
            "address: 10.9.0.2",
            "address: 10.9.0.3",
            "pipelines[0].match.address: 10.9.0.2 -> 10.9.0.3",
        ),
        (
            "ports: 40000-59999",
            "ports: 40000-49999",
            "interfaces.origin_source.ports: 40000..=59999 -> 40000..=49999",
        ),
    ];
    for (from, to, want) in cases {
        let diff = compare(&demo(), &demo_with(from, to));
        assert_eq!(diff.restart, [want], "{from} -> {to}");
    }
    let diff = compare(&demo(), &demo_with("mss: 1460", "mss: 1400"));
    assert_eq!(diff.restart.len(), 1, "{diff:?}");
    assert!(diff.restart[0].starts_with("tcp: "), "{diff:?}");
    let diff = compare(&demo(), &demo_with("announce: []", ANNOUNCE));
    assert_eq!(diff.restart, ["pipelines[0].terminate.announce: [] -> [10.9.0.9]"]);
}

/// An announcement (of a private address, for other clients than iOS).
const ANNOUNCE: &str = "announce: [10.9.0.9]\n      announce_ignored_by_ios: true";

#[test]
fn adding_a_pipeline_needs_a_restart() {
    let second = "\n  - name: other\n    match: {address: 10.9.0.2, ports: [81]}\n    forward: {origins: [\"10.10.0.2:8080\"]}\n";
    let new = config::parse(&format!("{DEMO}{second}")).expect("valid");
    let diff = compare(&demo(), &new);
    assert_eq!(
        diff.restart,
        ["pipelines (adding or removing one): [\"demo-http\"] -> [\"demo-http\", \"other\"]"]
    );
}

#[test]
fn a_bad_file_is_refused_with_the_check_message() {
    let dir = std::env::temp_dir().join(format!("nr-reload-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.yaml");
    std::fs::write(&path, DEMO.replacen("connect_timeout: 3s", "connect_timeout: 3 parsecs", 1))
        .expect("write");
    let refused = super::load_new(&path).expect_err("refused");
    assert_eq!(refused.len(), 1, "{refused:?}");
    let file = path.display().to_string();
    assert!(
        refused[0].starts_with(&format!("{file}:"))
            && refused[0].contains("pipelines[0].forward.connect_timeout"),
        "{refused:?}"
    );
    let missing = super::load_new(&dir.join("missing.yaml")).expect_err("refused");
    assert!(missing[0].contains("cannot read"), "{missing:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
