//! `netreaktor check -c FILE` as an operator runs it: the built binary on a good file, a bad
//! file and a missing file, with the exit statuses 0, 1 and 2.

use std::path::PathBuf;
use std::process::{Command, Output};

fn check(file: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netreaktor"))
        .args(["check", "-c", file])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the netreaktor binary runs")
}

/// A scratch file unique to this process and test.
fn scratch(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("netreaktor-check-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("the temp dir is writable");
    path
}

#[test]
fn good_file_exits_0_with_a_summary() {
    let out = check("configs/demo.yaml");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.starts_with("configs/demo.yaml: ok\n"), "{stdout}");
    assert!(stdout.contains("pipeline demo-http: 10.9.0.2 port 80 -> 10.10.0.2:8080"), "{stdout}");
}

#[test]
fn bad_file_exits_1_with_every_error() {
    let text = "interfaces: {client: veth0, origin: veth1}\n\
                cores: [0, 0]\n\
                pipelines:\n  \
                - name: web\n    \
                match: {address: 10.0.0.1, ports: [80]}\n    \
                forward: {origins: []}\n";
    let path = scratch("bad.yaml", text);
    let out = check(path.to_str().expect("temp paths are UTF-8 here"));
    std::fs::remove_file(&path).ok();
    let file = path.display();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr,
        format!(
            "{file}:2:12: cores[1]: core 0 is listed twice (first at line 2)\n\
             {file}:6:24: pipelines[0].forward.origins: at least one origin is required\n"
        )
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn unreadable_file_exits_2() {
    let out = check("configs/no-such-file.yaml");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("configs/no-such-file.yaml: cannot read: "), "{stderr}");
}
