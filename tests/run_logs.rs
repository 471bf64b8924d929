//! `netreaktor run` failing before it starts, as an operator's log pipeline sees it: every
//! message, config errors and the fatal error included, in the chosen log format (JSON lines
//! stay JSON), filtered by `RUST_LOG` unless `--log-level` is given. Only files that cannot
//! start are used: nothing here touches an interface.

use std::process::{Command, Output};

/// `netreaktor run -c FILE ARGS...` with `RUST_LOG` set to `rust_log` (or unset).
fn run(file: &str, args: &[&str], rust_log: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_netreaktor"));
    cmd.args(["run", "-c", file]).args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    match rust_log {
        Some(value) => cmd.env("RUST_LOG", value),
        None => cmd.env_remove("RUST_LOG"),
    };
    cmd.output().expect("the netreaktor binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Each line of `text` as a JSON object.
fn json_lines(text: &str) -> Vec<serde_json::Value> {
    let parse = |l: &str| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}"));
    text.lines().map(parse).collect()
}

const MISSING: &str = "configs/no-such-file.yaml";

#[test]
fn a_fatal_error_is_a_json_line_in_a_json_log() {
    let out = run(MISSING, &["--log-format", "json"], None);
    assert_eq!(out.status.code(), Some(2));
    let lines = json_lines(&stderr(&out));
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["level"], "ERROR");
    assert_eq!(line["target"], "netreaktor");
    let message = line["fields"]["message"].as_str().expect("a message");
    assert!(message.starts_with("configs/no-such-file.yaml: cannot read: "), "{message}");
    assert!(line["timestamp"].is_string());
}

#[test]
fn config_errors_are_json_lines_in_a_json_log() {
    let path =
        std::env::temp_dir().join(format!("netreaktor-run-logs-{}.yaml", std::process::id()));
    let text = "interfaces: {client: veth0, origin: veth1}\ncores: [0, 0]\npipelines: []\n";
    std::fs::write(&path, text).expect("the temp dir is writable");
    let file = path.to_str().expect("temp paths are UTF-8 here").to_owned();
    let out = run(&file, &["--log-format", "json"], None);
    std::fs::remove_file(&path).ok();
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&stderr(&out));
    let messages: Vec<&str> =
        lines.iter().filter_map(|l| l["fields"]["message"].as_str()).collect();
    assert!(lines.iter().all(|l| l["level"] == "ERROR"), "{lines:?}");
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].starts_with(&format!("{file}:2:12: cores[1]: ")), "{messages:?}");
    assert!(messages[1].starts_with(&format!("{file}:3:")), "{messages:?}");
}

#[test]
fn a_fatal_error_is_a_text_line_in_a_text_log() {
    let out = run(MISSING, &[], None);
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert!(
        text.starts_with("ERROR netreaktor: configs/no-such-file.yaml: cannot read: "),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[test]
fn rust_log_filters_unless_the_flag_is_given() {
    let out = run(MISSING, &[], Some("off"));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "", "RUST_LOG=off silences even errors");
    let out = run(MISSING, &["--log-level", "error"], Some("off"));
    assert!(stderr(&out).contains("cannot read"), "--log-level wins over RUST_LOG");
    let out = run(MISSING, &[], Some("netreaktor=error"));
    assert!(stderr(&out).contains("cannot read"), "a target directive");
}

#[test]
fn a_rust_log_that_does_not_parse_is_reported_and_ignored() {
    let out = run(MISSING, &[], Some("netreaktor=loud"));
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with(" WARN netreaktor: RUST_LOG ignored: it does not parse why="),
        "{text}"
    );
    assert!(lines[1].contains("cannot read"), "{text}");
}
