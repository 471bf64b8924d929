//! Tests of loading: the example configs pass; every kind of error is reported with its exact
//! message, line, column and path.

use super::*;

/// A small valid config; tests replace parts of it. Line numbers matter: see the tests.
const BASE: &str = "\
interfaces:
  client: veth0
  origin: veth1
cores: [0, 1]
pipelines:
  - name: web
    match:
      address: 10.0.0.1
      ports: [80, \"8000-8080\"]
    forward:
      origins: [\"10.0.1.2:80\"]
";

/// The errors of `text`, as `check` prints them for a file named `x.yaml`.
fn errors(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(|e| e.in_file("x.yaml").to_string()).collect(),
    }
}

/// The errors of BASE with `from` replaced by `to`.
fn errors_with(from: &str, to: &str) -> Vec<String> {
    assert!(BASE.contains(from), "{from:?} is not in BASE");
    errors(&BASE.replacen(from, to, 1))
}

/// A second pipeline appended to BASE.
fn with_second(pipeline: &str) -> String {
    format!("{BASE}{pipeline}")
}

#[test]
fn base_is_valid() {
    assert_eq!(errors(BASE), Vec::<String>::new());
}

#[test]
fn example_configs_are_valid() {
    for name in ["demo.yaml", "bare-metal.yaml", "aws-c6i.yaml"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs").join(name);
        let text = std::fs::read_to_string(&path).expect("the example configs exist");
        assert_eq!(errors(&text), Vec::<String>::new(), "{name}");
    }
}

/// Asserts that `errors` is exactly `expected`.
#[track_caller]
fn assert_errors(errors: Vec<String>, expected: &[&str]) {
    assert_eq!(errors, expected);
}

#[test]
fn unknown_key() {
    assert_errors(
        errors_with("  origin: veth1\n", "  origin: veth1\n  colour: blue\n"),
        &[
            "x.yaml:4:3: interfaces.colour: unknown field `colour`, expected one of client, origin, queues, origin_source, xdp_mode",
        ],
    );
}

#[test]
fn unknown_key_deep() {
    assert_errors(
        errors_with("    forward:\n", "    forward:\n      origin: x\n"),
        &["x.yaml:11:7: pipelines[0].forward.origin: unknown field `origin`, expected one of \
           origins, balance, proxy_protocol, connect_timeout, idle_timeout, origin_timeout, \
           health"],
    );
}

#[test]
fn wrong_type() {
    assert_errors(
        errors_with("cores: [0, 1]", "cores: [0, x]"),
        &["x.yaml:4:12: cores[1]: expected an integer, found \"x\""],
    );
    assert_errors(
        errors_with("cores: [0, 1]", "cores: zero"),
        &["x.yaml:4:8: cores: expected a list"],
    );
}

#[test]
fn wrong_type_words() {
    assert_errors(
        errors_with("cores: [0, 1]", "cores: [0, 1]\nlistener: 5"),
        &["x.yaml:5:11: listener: expected a mapping"],
    );
    assert_errors(
        errors_with("cores: [0, 1]", "cores: [0, 1]\nlistener: {syn_cookies: maybe}"),
        &["x.yaml:5:25: listener.syn_cookies: expected true or false"],
    );
}

#[test]
fn bad_enum_value() {
    assert_errors(
        errors_with("cores: [0, 1]", "cores: [0, 1]\ntcp: {congestion: bbr}"),
        &["x.yaml:5:19: tcp.congestion: unknown variant `bbr`, expected one of cubic, newreno"],
    );
}

#[test]
fn bad_duration() {
    assert_errors(
        errors_with("cores: [0, 1]", "cores: [0, 1]\ntcp: {min_rto: 200 msec}"),
        &["x.yaml:5:16: tcp.min_rto: invalid duration \"200 msec\": expected an integer and a \
           unit (us, ms, s, m, h, d), e.g. \"40ms\""],
    );
    assert_errors(
        errors_with("cores: [0, 1]", "cores: [0, 1]\ntcp: {min_rto: 5}"),
        &["x.yaml:5:16: tcp.min_rto: invalid duration 5: a duration needs a unit, e.g. \"5s\""],
    );
}

#[test]
fn idle_spin_is_bounded() {
    assert_errors(errors_with("cores: [0, 1]", "cores: [0, 1]\nidle_spin: 500us"), &[]);
    let errors = errors_with("cores: [0, 1]", "cores: [0, 1]\nidle_spin: 2s");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("x.yaml:5:12: idle_spin: "), "{errors:?}");
}

#[test]
fn bad_size() {
    assert_errors(
        errors_with("cores: [0, 1]", "cores: [0, 1]\ntcp: {send_buffer: 256kb}"),
        &["x.yaml:5:20: tcp.send_buffer: invalid size \"256kb\": expected an integer and a unit \
           (B, KiB, MiB, GiB, KB, MB, GB), e.g. \"256KiB\""],
    );
}

#[test]
fn bad_address() {
    assert_errors(
        errors_with("\"10.0.1.2:80\"", "\"10.0.1.2:80\", \"10.0.0.300:80\""),
        &[
            "x.yaml:11:32: pipelines[0].forward.origins[1]: invalid socket address \"10.0.0.300:80\"",
        ],
    );
    assert_errors(
        errors_with("address: 10.0.0.1", "address: 10.0.0"),
        &["x.yaml:8:16: pipelines[0].match.address: invalid IP address \"10.0.0\""],
    );
}

#[test]
fn duplicate_key() {
    assert_errors(
        errors_with("  client: veth0\n", "  client: veth0\n  client: veth2\n"),
        &["x.yaml:3:3: interfaces.client: duplicate mapping key `client` is not allowed here"],
    );
}

#[test]
fn missing_key() {
    assert_errors(
        errors_with("    forward:\n      origins: [\"10.0.1.2:80\"]\n", ""),
        &["x.yaml:7:5: pipelines[0]: missing field `forward`"],
    );
    assert_errors(errors_with("cores: [0, 1]\n", ""), &["x.yaml:4:1: missing field `cores`"]);
}

#[test]
fn duplicate_pipeline_name() {
    let second = "  - name: web\n    match: {address: 10.0.0.2, ports: [80]}\n    forward: {origins: [\"10.0.1.3:80\"]}\n";
    assert_errors(
        errors(&with_second(second)),
        &["x.yaml:12:11: pipelines[1].name: duplicate pipeline name \"web\" (first at line 6)"],
    );
}

#[test]
fn overlapping_match() {
    let second = "  - name: other\n    match:\n      address: 10.0.0.1\n      ports: [443, 8080]\n    forward: {origins: [\"10.0.1.3:80\"]}\n";
    assert_errors(
        errors(&with_second(second)),
        &["x.yaml:15:20: pipelines[1].match.ports[1]: 10.0.0.1 port 8080 is already matched by \
           pipeline \"web\" (line 6)"],
    );
    // The same ports on another address are fine.
    assert_errors(errors(&with_second(&second.replace("10.0.0.1", "10.0.0.9"))), &[]);
}

#[test]
fn overlapping_ports_in_one_pipeline() {
    assert_errors(
        errors_with("[80, \"8000-8080\"]", "[80, \"8000-8080\", \"8080-8090\"]"),
        &["x.yaml:9:32: pipelines[0].match.ports[2]: ports 8080-8090 overlap ports 8000-8080 of \
           this pipeline"],
    );
}

#[test]
fn empty_origins() {
    assert_errors(
        errors_with("[\"10.0.1.2:80\"]", "[]"),
        &["x.yaml:11:16: pipelines[0].forward.origins: at least one origin is required"],
    );
}

/// `limits.buffer_memory` is split evenly among the workers (docs/operations.md, "Memory
/// model"); 1 GiB when absent.
#[test]
fn the_buffer_budget_is_split_among_the_workers() {
    let cfg = |text: &str| parse(text).expect("valid");
    assert_eq!(cfg(BASE).buffer_budget_per_worker(), 512 << 20);
    let half = BASE.replace("cores: [0, 1]", "cores: [0, 1]\nlimits: {buffer_memory: 512MiB}");
    assert_eq!(cfg(&half).buffer_budget_per_worker(), 256 << 20);
}

#[test]
fn out_of_range() {
    assert_errors(
        errors_with("cores: [0, 1]", "cores: [0, 1]\ntcp: {mss: 100}"),
        &["x.yaml:5:12: tcp.mss: 100 is out of range 536..=9000"],
    );
    assert_errors(
        errors_with("cores: [0, 1]", "cores: [0, 1]\ntcp: {recv_buffer: 1GiB}"),
        &["x.yaml:5:20: tcp.recv_buffer: 1GiB is out of range 16KiB..=64MiB"],
    );
    assert_errors(
        errors_with("cores: [0, 1]", "cores: [0, 1]\nlimits: {buffer_memory: 64KiB}"),
        &["x.yaml:5:25: limits.buffer_memory: 64KiB is out of range 1MiB..=1024GiB"],
    );
    assert_errors(
        errors_with("cores: [0, 1]", "cores: [0, 1]\ntcp: {delayed_ack: 1s}"),
        &["x.yaml:5:20: tcp.delayed_ack: \"1s\" is out of range 0ms..=499ms"],
    );
    assert_errors(
        errors_with("[\"10.0.1.2:80\"]", "[\"10.0.1.2:80\"]\n      origin_timeout: 2h"),
        &["x.yaml:12:23: pipelines[0].forward.origin_timeout: \"2h\" is out of range 1s..=1h"],
    );
    assert_errors(
        errors_with("[\"10.0.1.2:80\"]", "[\"10.0.1.2:80\"]\n      origin_timeout: 0s"),
        &["x.yaml:12:23: pipelines[0].forward.origin_timeout: \"0s\" is out of range 1s..=1h"],
    );
    assert_errors(
        errors_with("[80, ", "[70000, "),
        &["x.yaml:9:15: pipelines[0].match.ports[0]: port 70000 is out of range 1..=65535"],
    );
    assert_errors(
        errors_with("[80, ", "[0, "),
        &["x.yaml:9:15: pipelines[0].match.ports[0]: port 0 is out of range 1..=65535"],
    );
}

#[test]
fn duplicate_core() {
    assert_errors(
        errors_with("cores: [0, 1]", "cores: [0, 1, 0]"),
        &["x.yaml:4:15: cores[2]: core 0 is listed twice (first at line 4)"],
    );
}

#[test]
fn every_semantic_error_is_reported() {
    let text = BASE.replace("cores: [0, 1]", "cores: [1, 1]").replace("[\"10.0.1.2:80\"]", "[]");
    assert_errors(
        errors(&text),
        &[
            "x.yaml:4:12: cores[1]: core 1 is listed twice (first at line 4)",
            "x.yaml:11:16: pipelines[0].forward.origins: at least one origin is required",
        ],
    );
}

#[test]
fn syntax_error() {
    assert_errors(errors("interfaces: {client: a\n"), &["x.yaml:1:13: unclosed bracket '{'"]);
}

#[test]
fn durations_and_sizes() {
    use netreaktor_pipeline::time::Duration;
    assert_eq!(units::parse_duration("40ms"), Ok(Duration::from_millis(40)));
    assert_eq!(units::parse_duration("2s"), Ok(Duration::from_secs(2)));
    assert_eq!(units::parse_duration("1h"), Ok(Duration::from_secs(3600)));
    assert_eq!(units::parse_duration("250us"), Ok(Duration::from_micros(250)));
    assert!(units::parse_duration("1.5s").is_err());
    assert!(units::parse_duration("s").is_err());
    assert!(units::parse_duration("99999999999999999999d").is_err());
    assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
    assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
    assert_eq!(units::parse_size("256KiB"), Ok(256 * 1024));
    assert_eq!(units::parse_size("2MB"), Ok(2_000_000));
    assert_eq!(units::parse_size("4096"), Ok(4096));
    assert!(units::parse_size("18446744073709551615GiB").is_err());
    assert_eq!(format_size(1 << 20), "1MiB");
    assert_eq!(format_size(1000), "1000B");
}

#[test]
fn defaults_map_to_pipeline_defaults() {
    use netreaktor_pipeline::tcp::Config as TcpConfig;
    use netreaktor_pipeline::tcp::listener::ListenerConfig;
    let config = parse(BASE).expect("BASE is valid");
    assert_eq!(config.to_tcp_config(), TcpConfig::default());
    let pipeline = &config.pipelines.value[0];
    // The reply queue is the appliance's own: two receive batches (`to_listener_config`).
    let reply_queue = 2 * crate::worker::BATCH;
    let want = ListenerConfig { reply_queue, ..ListenerConfig::default() };
    assert_eq!(config.to_listener_config(pipeline), want);
}

#[test]
fn tunables_reach_the_pipeline_types() {
    use netreaktor_pipeline::tcp::cc::Algorithm;
    use netreaktor_pipeline::time::Duration;
    let tcp = "tcp:\n  mss: 1400\n  send_buffer: 1MiB\n  recv_buffer: 512KiB\n  congestion: newreno\n  \
               min_rto: 50ms\n  delayed_ack: 0ms\n  keepalive: {idle: 10m, interval: 10s, probes: 3}\n  \
               challenge_acks_per_sec: 5\n  time_wait: 30s\n\
               listener: {half_open_max: 10, accept_backlog: 20, syn_cookies: false}\n";
    let text = BASE
        .replace("cores: [0, 1]\n", &format!("cores: [0, 1]\n{tcp}"))
        .replace("    forward:", "    terminate: {limits: {half_open_max: 0}}\n    forward:");
    let config = parse(&text).expect("valid");
    let c = config.to_tcp_config();
    assert_eq!((c.mss, c.send_buffer, c.recv_buffer), (1400, 1 << 20, 512 << 10));
    assert_eq!(c.congestion, Algorithm::NewReno);
    assert_eq!(c.rtt.min_rto, Duration::from_millis(50));
    assert_eq!(c.delayed_ack, None);
    let keepalive = c.keepalive.expect("keepalive is on");
    assert_eq!(
        (keepalive.idle, keepalive.interval, keepalive.probes),
        (Duration::from_secs(600), Duration::from_secs(10), 3)
    );
    assert_eq!((c.challenge_acks_per_sec, c.time_wait), (5, Duration::from_secs(30)));
    let l = config.to_listener_config(&config.pipelines.value[0]);
    assert_eq!((l.half_open_max, l.accept_backlog, l.syn_cookies), (0, 20, false));
    assert!(l.reply_queue >= crate::worker::BATCH, "a batch of SYNs fits the reply queue");
}

/// `forward.origin_timeout` is each pipeline's own: its origin connections' user timeout.
#[test]
fn origin_timeout_reaches_each_service() {
    use netreaktor_pipeline::time::Duration;
    let second = "  - name: api\n    match: {address: 10.0.0.3, ports: [443]}\n    \
                  forward: {origins: [\"10.0.1.3:443\"], origin_timeout: 5s}\n";
    let config = parse(&with_second(second)).expect("valid");
    let timeouts: Vec<_> = config.to_services().iter().map(|s| s.splice.origin_timeout).collect();
    assert_eq!(timeouts, [Some(Duration::from_secs(30)), Some(Duration::from_secs(5))]);
    assert_eq!(config.to_tcp_config().user_timeout, None, "client connections have none");
}

/// Passive origin health is on by default; `forward.health` tunes it or turns it off.
#[test]
fn origin_health_defaults_tuning_and_off() {
    use netreaktor_pipeline::proxy::HealthConfig;
    use netreaktor_pipeline::time::Duration;
    let health = |yaml: &str| {
        let text = BASE.replacen("[\"10.0.1.2:80\"]", &format!("[\"10.0.1.2:80\"]\n{yaml}"), 1);
        parse(&text).expect("valid").to_services()[0].health
    };
    assert_eq!(health(""), Some(HealthConfig::default()));
    assert_eq!(
        HealthConfig::default(),
        HealthConfig {
            failures: 3,
            backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(300),
            check: None,
        }
    );
    let tuned = health("      health: {failures: 5, backoff: 2s, max_backoff: 1m}");
    let s = Duration::from_secs;
    assert_eq!(
        tuned,
        Some(HealthConfig { failures: 5, backoff: s(2), max_backoff: s(60), check: None })
    );
    assert_eq!(health("      health: {enabled: false}"), None);
}

/// Active checks are off unless `forward.health.check` is there; `{}` takes the defaults.
#[test]
fn active_checks_off_defaults_and_tuned() {
    use netreaktor_pipeline::proxy::HealthCheck;
    use netreaktor_pipeline::time::Duration;
    let check = |yaml: &str| {
        let text = BASE.replacen("[\"10.0.1.2:80\"]", &format!("[\"10.0.1.2:80\"]\n{yaml}"), 1);
        parse(&text).expect("valid").to_services()[0].health.expect("health on").check
    };
    let ms = Duration::from_millis;
    assert_eq!(check(""), None);
    let defaults = HealthCheck { interval: ms(2000), timeout: ms(1000) };
    assert_eq!(check("      health: {check: {}}"), Some(defaults));
    let tuned = check("      health: {check: {interval: 500ms, timeout: 200ms}}");
    assert_eq!(tuned, Some(HealthCheck { interval: ms(500), timeout: ms(200) }));
}

#[test]
fn active_check_errors() {
    let with = |yaml: &str| errors_with("[\"10.0.1.2:80\"]", &format!("[\"10.0.1.2:80\"]\n{yaml}"));
    assert_errors(
        with("      health: {check: {interval: 1s, timeout: 2s}}"),
        &["x.yaml:12:47: pipelines[0].forward.health.check.timeout: timeout 2s is longer than \
           interval 1s"],
    );
    assert_errors(
        with("      health: {check: {interval: 500ms}}"),
        &["x.yaml:12:34: pipelines[0].forward.health.check.interval: interval 500ms is shorter \
           than timeout (1s unless set)"],
    );
    assert_errors(
        with("      health: {enabled: false, check: {}}"),
        &["x.yaml:12:39: pipelines[0].forward.health.check: active checks feed passive health: \
           they need health enabled"],
    );
    assert_errors(
        with("      health: {check: {interval: 50ms}}"),
        &["x.yaml:12:34: pipelines[0].forward.health.check.interval: \"50ms\" is out of range \
           100ms..=1h"],
    );
}

#[test]
fn origin_health_errors() {
    let with = |yaml: &str| errors_with("[\"10.0.1.2:80\"]", &format!("[\"10.0.1.2:80\"]\n{yaml}"));
    assert_errors(
        with("      health: {failures: 0}"),
        &["x.yaml:12:26: pipelines[0].forward.health.failures: 0 is out of range 1..=100"],
    );
    assert_errors(
        with("      health: {backoff: 500ms}"),
        &["x.yaml:12:25: pipelines[0].forward.health.backoff: \"500ms\" is out of range 1s..=1h"],
    );
    assert_errors(
        with("      health: {backoff: 1m, max_backoff: 30s}"),
        &["x.yaml:12:42: pipelines[0].forward.health.max_backoff: max_backoff 30s is shorter \
           than backoff 1m"],
    );
    assert_errors(
        with("      health: {backoff: 10m}"),
        &["x.yaml:12:25: pipelines[0].forward.health.backoff: backoff 10m is longer than \
           max_backoff (5m unless set)"],
    );
    assert_errors(
        with("      health: {colour: red}"),
        &["x.yaml:12:16: pipelines[0].forward.health.colour: unknown field `colour`, expected \
           one of enabled, failures, backoff, max_backoff, check"],
    );
}

#[test]
fn announcing_the_service_address() {
    let terminate = "    terminate:\n      announce: [10.0.0.2, 10.0.0.1]\n      \
                     announce_ignored_by_ios: true\n    forward:";
    let errors = errors_with("    forward:", terminate);
    assert_errors(
        errors,
        &["x.yaml:11:28: pipelines[0].terminate.announce[1]: 10.0.0.1 is the service address \
           (clients join it without an announcement)"],
    );
}

#[test]
fn announced_addresses_are_served_and_configure_mptcp() {
    let text = BASE.replacen(
        "    forward:",
        "    terminate:\n      announce: [10.0.0.2]\n      announce_ignored_by_ios: true\n    \
         forward:",
        1,
    );
    let config = parse(&text).expect("valid");
    let services = config.to_services();
    let listen: Vec<String> = services[0].listen.iter().map(ToString::to_string).collect();
    assert!(
        listen.contains(&"10.0.0.1:80".to_owned()) && listen.contains(&"10.0.0.2:8080".to_owned())
    );
    assert_eq!(listen.len(), 2 * 82);
    let mptcp = services[0].mptcp.as_ref().expect("v1 is offered by default");
    assert_eq!(mptcp.announce, vec![(1, "10.0.0.2".parse().unwrap())]);
}

#[test]
fn both_versions_are_terminated_by_default_and_each_can_be_left_out() {
    use netreaktor_pipeline::mptcp::conn::Versions;
    let services = |yaml: &str| {
        let config = parse(&BASE.replacen("    forward:", yaml, 1)).expect("valid");
        config.to_services()[0].mptcp.as_ref().map(|m| m.versions)
    };
    let v = |v0, v1| Some(Versions { v0, v1 });
    assert_eq!(services("    forward:"), v(true, true));
    assert_eq!(services("    terminate:\n      mptcp_versions: [1]\n    forward:"), v(false, true));
    assert_eq!(services("    terminate:\n      mptcp_versions: [0]\n    forward:"), v(true, false));
}

/// docs/ios-emulation.md §6: iOS ignores announcements of private, CGNAT, loopback and link-local
/// addresses; `check` says so unless the operator says they are for other clients.
#[test]
fn announcements_ios_ignores_are_refused_with_the_reason() {
    let terminate = "    terminate:\n      announce: [100.64.1.2, \"fe80::1\"]\n    forward:";
    assert_errors(
        errors_with("    forward:", terminate),
        &[
            "x.yaml:11:18: pipelines[0].terminate.announce[0]: iOS ignores an announcement of \
             100.64.1.2: shared, CGNAT (100.64.0.0/10); set terminate.announce_ignored_by_ios: \
             true if it is for other clients",
            "x.yaml:11:30: pipelines[0].terminate.announce[1]: iOS ignores an announcement of \
             fe80::1: link-local (fe80::/10); set terminate.announce_ignored_by_ios: true if it \
             is for other clients",
        ],
    );
    let allowed =
        terminate.replace("    forward:", "      announce_ignored_by_ios: true\n    forward:");
    assert_errors(errors_with("    forward:", &allowed), &[]);
}

/// docs/ios-emulation.md §6: iOS keeps one announced address per IP version, the last; a
/// second of one version is refused unless the operator says they are for other clients.
#[test]
fn a_second_announced_address_of_one_version_is_refused_for_ios() {
    let terminate = "    terminate:\n      announce: [198.51.100.7, 198.51.100.8]\n    forward:";
    assert_errors(
        errors_with("    forward:", terminate),
        &["x.yaml:11:32: pipelines[0].terminate.announce[1]: iOS keeps only the last announced \
           address of each IP version, so 198.51.100.7 would be lost to 198.51.100.8: announce \
           one of each; set terminate.announce_ignored_by_ios: true if they are for other \
           clients"],
    );
    let allowed =
        terminate.replace("    forward:", "      announce_ignored_by_ios: true\n    forward:");
    assert_errors(errors_with("    forward:", &allowed), &[]);
}

/// One origin source per IP version: `ipv4` and `ipv6` beside the single `address` form,
/// each of its own version, and a version named twice is an error.
#[test]
fn origin_sources_are_one_per_ip_version() {
    let sources = |yaml: &str| {
        errors_with("  origin: veth1\n", &format!("  origin: veth1\n  origin_source: {yaml}\n"))
    };
    assert_errors(sources("{ipv4: 10.0.1.1, ipv6: \"2001:db8::1\"}"), &[]);
    assert_errors(sources("{address: \"2001:db8::1\", ipv4: 10.0.1.1}"), &[]);
    assert_errors(sources("{address: 10.0.1.1}"), &[]);
    assert_errors(
        sources("{ipv4: \"2001:db8::1\", ipv6: 10.0.1.1}"),
        &[
            "x.yaml:4:25: interfaces.origin_source.ipv4: 2001:db8::1 is not an IPv4 address",
            "x.yaml:4:46: interfaces.origin_source.ipv6: 10.0.1.1 is not an IPv6 address",
        ],
    );
    assert_errors(
        sources("{address: 10.0.1.1, ipv4: 10.0.1.2}"),
        &["x.yaml:4:28: interfaces.origin_source.address: 10.0.1.1 and \
           interfaces.origin_source.ipv4 10.0.1.2 both name the IPv4 source: give one"],
    );
}

/// A service of one IP version may forward to origins of the other, and to both: each
/// origin connection leaves from the source of its origin's version.
#[test]
fn origins_of_either_ip_version_are_accepted() {
    let text = BASE
        .replace("  origin: veth1\n", "  origin: veth1\n  origin_source: {address: 10.0.1.1}\n")
        .replace("[\"10.0.1.2:80\"]", "[\"10.0.1.2:80\", \"[2001:db8:1::2]:80\"]");
    let config = parse(&text).expect("valid");
    assert_eq!(crate::config::origin_versions(&config), (true, true));
    let (v4, v6) = crate::config::configured_sources(&config.interfaces.origin_source);
    assert_eq!((v4, v6), (Some("10.0.1.1".parse().unwrap()), None));
}

#[test]
fn connection_log_rate() {
    let c = parse(BASE).unwrap();
    assert_eq!(c.log.connections.per_second.0, 100, "the default");
    let text = BASE.replace("cores: [0, 1]", "cores: [0, 1]\nlog:\n  connections: {per_second: 0}");
    assert_eq!(parse(&text).unwrap().log.connections.per_second.0, 0);
    assert_errors(
        errors_with("cores: [0, 1]", "cores: [0, 1]\nlog:\n  connections: {per_second: -1}"),
        &["x.yaml:6:29: log.connections.per_second: -1 is negative"],
    );
    assert_errors(
        errors_with(
            "cores: [0, 1]",
            "cores: [0, 1]\nlog:\n  connections:\n    per_second: 2000000",
        ),
        &["x.yaml:7:17: log.connections.per_second: 2000000 is out of range 0..=1000000"],
    );
    assert_errors(
        errors_with("cores: [0, 1]", "cores: [0, 1]\nlog: {connections: {sample: 10}}"),
        &[
            "x.yaml:5:21: log.connections.sample: unknown field `sample`, expected one of per_second",
        ],
    );
}
