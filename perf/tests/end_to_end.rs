//! End to end on 127.0.0.1: a `server` and a `client` per scenario, short runs, asserting
//! on bytes, integrity and counts, never on timing. MPTCP when `net.mptcp.enabled=1` in
//! this namespace, else plain TCP (said on stderr).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_netreaktor-bench");

/// A server on a free port, killed on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn proto_flag() -> &'static str {
    let on = std::fs::read_to_string("/proc/sys/net/mptcp/enabled").is_ok_and(|s| s.trim() == "1");
    if !on {
        eprintln!("net.mptcp.enabled is not 1 here: testing with --tcp");
    }
    if on { "--mptcp" } else { "--tcp" }
}

fn server() -> Server {
    let mut child = Command::new(BIN)
        .args(["server", "-l", "127.0.0.1:0", proto_flag()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server");
    let mut line = String::new();
    let out = child.stdout.take().expect("piped stdout");
    BufReader::new(out).read_line(&mut line).expect("server's first line");
    let addr = line.split_whitespace().nth(3).expect("listening on ADDR").to_string();
    Server { child, addr }
}

/// Runs a client scenario with --json; returns (exit code, report).
fn client(s: &Server, args: &[&str]) -> (i32, Value) {
    let out = Command::new(BIN)
        .args(["client", "-c", &s.addr, proto_flag(), "--json"])
        .args(args)
        .output()
        .expect("run the client");
    let text = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), v)
}

#[test]
fn throughput_both_directions_delivers_the_stream_intact() {
    let s = server();
    for reverse in [false, true] {
        let mut args = vec!["throughput", "-t", "0.4", "-P", "2", "-i", "0.1"];
        if reverse {
            args.push("-R");
        }
        let (code, v) = client(&s, &args);
        assert_eq!(code, 0, "{v}");
        let conns = v["results"]["connections"].as_array().unwrap();
        assert_eq!(conns.len(), 2);
        let mut sum = 0;
        for c in conns {
            assert_eq!(c["integrity_ok"], true, "{c}");
            assert!(c["received"].as_u64().unwrap() > 0);
            if !reverse {
                assert_eq!(c["sent"], c["received"]);
            }
            sum += c["received"].as_u64().unwrap();
        }
        assert_eq!(v["results"]["bytes"].as_u64().unwrap(), sum);
        let intervals: u64 = v["results"]["intervals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["bytes"].as_u64().unwrap())
            .sum();
        assert_eq!(intervals, sum);
        assert_eq!(v["params"]["reverse"], reverse);
        assert!(v["machine"]["cores"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn connect_counts_connections_without_failures() {
    let s = server();
    let (code, v) = client(&s, &["connect", "-t", "0.3", "-P", "2", "--bytes", "100"]);
    assert_eq!(code, 0, "{v}");
    let r = &v["results"];
    assert!(r["connections_ok"].as_u64().unwrap() > 0);
    assert_eq!(r["connections_failed"], 0);
    assert_eq!(r["setup"]["count"], r["connections_ok"]);
}

#[test]
fn rr_sends_what_the_schedule_says() {
    let s = server();
    // 100/s for 0.5 s over 2 connections: requests 0..25 on each connection.
    let (code, v) = client(&s, &["rr", "-t", "0.5", "--rate", "100", "-P", "2", "--size", "32"]);
    assert_eq!(code, 0, "{v}");
    let r = &v["results"];
    assert_eq!(r["requests"], 50);
    assert_eq!(r["latency"]["count"], 50);
    assert!(r["latency"]["p999_us"].as_u64() >= r["latency"]["p50_us"].as_u64());
}

#[test]
fn handover_runs_the_hooks_and_checks_integrity() {
    let s = server();
    let dir = std::env::temp_dir().join(format!("nrb-handover-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cut = format!("touch {}/cut", dir.display());
    let restore = format!("touch {}/restore", dir.display());
    for upload in [false, true] {
        let mut args = vec![
            "handover",
            "-t",
            "0.6",
            "--cut-at",
            "0.2",
            "--cut-cmd",
            &cut,
            "--restore-at",
            "0.4",
            "--restore-cmd",
            &restore,
        ];
        if upload {
            args.push("-R");
        }
        let (code, v) = client(&s, &args);
        assert_eq!(code, 0, "{v}");
        let r = &v["results"];
        assert_eq!(r["integrity_ok"], true);
        let total = r["bytes"].as_u64().unwrap();
        let (before, after) =
            (r["bytes_before_cut"].as_u64().unwrap(), r["bytes_after_cut"].as_u64().unwrap());
        assert_eq!(before + after, total);
        assert_eq!(r["hooks"].as_array().unwrap().len(), 2);
        assert!(dir.join("cut").exists() && dir.join("restore").exists());
        assert_eq!(r["server_longest_gap_ms"].is_null(), !upload);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failing_hook_makes_the_exit_code_non_zero() {
    let s = server();
    let (code, v) =
        client(&s, &["handover", "-t", "0.3", "--cut-at", "0.1", "--cut-cmd", "exit 7"]);
    assert_eq!(code, 1);
    assert!(v["problems"][0].as_str().unwrap().contains("exited with 7"));
}

#[test]
fn refused_connections_and_bad_flags_are_clear_errors() {
    let out = Command::new(BIN)
        .args(["client", "-c", "127.0.0.1:1", "--tcp", "rr", "-t", "0.1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("connection refused"));
    let out = Command::new(BIN).args(["client", "rr", "--rate", "zero"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
