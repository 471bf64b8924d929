//! The control thread's HTTP endpoint on a kernel socket (management network): `/metrics`
//! (Prometheus text format 0.0.4, or OpenMetrics 1.0.0 when `Accept` asks for it,
//! [`crate::metrics`]), `/status` (JSON, [`crate::status`]),
//! `/healthz` (the process runs) and `/readyz` (start-up completed, no drain or stop has
//! begun, [`crate::telemetry::Readiness`], and every pipeline has an origin up on some worker).
//!
//! Served by `oxhttp`: a thread per connection (at most [`MAX_CONNECTIONS`]), each reading
//! and writing with a [`TIMEOUT`], so an idle or slow client holds one thread for a few seconds
//! and delays no one else. [`answer`] decides every answer, without I/O.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use oxhttp::model::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use oxhttp::model::{Body, Method, Request, Response, StatusCode};

use crate::metrics::Format;
use crate::telemetry::{Phase, Shared};

/// How long a connection may wait for a request's bytes, or for the client to take an answer.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(5);

/// Connections served at once; past this, accepting waits for one to end (at most
/// [`TIMEOUT`] for an idle one).
pub(crate) const MAX_CONNECTIONS: usize = 256;

const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";

/// What the endpoint answers to one request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    /// `Allow`, on a 405.
    pub(crate) allow: Option<&'static str>,
    pub(crate) body: String,
}

impl Answer {
    fn new(status: u16, content_type: &'static str, body: impl Into<String>) -> Self {
        Answer { status, content_type, allow: None, body: body.into() }
    }
}

/// The answer to `method` on `path` (GET and HEAD only; HEAD gets the same status and headers
/// without a body); `accept` chooses the format of `/metrics`.
pub(crate) fn answer(
    method: &str,
    path: &str,
    accept: Option<&str>,
    shared: &Arc<Shared>,
) -> Answer {
    if method != "GET" && method != "HEAD" {
        let mut not_allowed = Answer::new(405, TEXT, "method not allowed\n");
        not_allowed.allow = Some("GET, HEAD");
        return not_allowed;
    }
    match path {
        "/metrics" => metrics(accept, shared),
        "/status" => Answer::new(200, JSON, crate::status::render(shared)),
        "/healthz" => Answer::new(200, TEXT, "ok\n"),
        "/readyz" => readyz(shared),
        _ => Answer::new(404, TEXT, "not found\n"),
    }
}

/// `/metrics` in the format `accept` prefers; 500 if the families cannot be encoded.
fn metrics(accept: Option<&str>, shared: &Arc<Shared>) -> Answer {
    let format = Format::negotiate(accept);
    match crate::metrics::render(shared, format) {
        Ok(text) => Answer::new(200, format.content_type(), text),
        Err(fmt::Error) => Answer::new(500, TEXT, "metrics could not be encoded\n"),
    }
}

/// `/readyz`: 200 only while ready and every pipeline has an origin up; 503 with the phase,
/// or the pipeline whose origins are all ejected, otherwise (docs/operations.md, "Origin
/// health").
fn readyz(shared: &Shared) -> Answer {
    let not_ready = |body: &str| Answer::new(503, TEXT, body);
    match shared.readiness.phase() {
        Phase::Ready => match crate::worker::origins::pipeline_without_origin_up(&shared.workers) {
            Some(pipeline) => not_ready(&format!("no origin up: pipeline {pipeline}\n")),
            None => Answer::new(200, TEXT, "ready\n"),
        },
        Phase::Starting => not_ready("starting\n"),
        Phase::Draining => not_ready("draining\n"),
        Phase::Stopping => not_ready("stopping\n"),
    }
}

/// Binds `listen` and serves from background threads until the process exits (the endpoint
/// answers through a stop, `/readyz` with 503).
pub(crate) fn serve(listen: SocketAddr, shared: Arc<Shared>) -> anyhow::Result<()> {
    let server = oxhttp::Server::new(move |request| respond(request, &shared))
        .bind(listen)
        .with_global_timeout(TIMEOUT)
        .with_max_concurrent_connections(MAX_CONNECTIONS);
    // The listening threads run as long as the process: nothing joins them.
    drop(server.spawn().with_context(|| format!("metrics: binding {listen}"))?);
    Ok(())
}

fn respond(request: &mut Request<Body>, shared: &Arc<Shared>) -> Response<Body> {
    let head = request.method() == Method::HEAD;
    let accept = request.headers().get(ACCEPT).and_then(|v| v.to_str().ok());
    let answer = answer(request.method().as_str(), request.uri().path(), accept, shared);
    let mut response = Response::builder()
        .status(StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(CONTENT_TYPE, answer.content_type);
    if let Some(allow) = answer.allow {
        response = response.header(ALLOW, allow);
    }
    let body = if head { Body::empty() } else { Body::from(answer.body) };
    // Status and headers are constants of this module, valid by construction.
    response.body(body).unwrap_or_else(|_| Response::new(Body::empty()))
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, TcpListener, TcpStream};
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use super::{Answer, answer, serve};
    use crate::metrics::Format;
    use crate::telemetry::{Phase, Readiness, sample};

    /// `/readyz` in each phase: 200 only while ready, and the phase's name otherwise.
    #[test]
    fn readyz_answers_each_phase() {
        for (phase, status, body) in [
            (Phase::Starting, 503, "starting\n"),
            (Phase::Ready, 200, "ready\n"),
            (Phase::Draining, 503, "draining\n"),
            (Phase::Stopping, 503, "stopping\n"),
        ] {
            let mut shared = sample();
            shared.readiness = Arc::new(Readiness::new(phase));
            let shared = Arc::new(shared);
            let text = "text/plain; charset=utf-8";
            let want = Answer { status, content_type: text, allow: None, body: body.to_owned() };
            assert_eq!(answer("GET", "/readyz", None, &shared), want, "{phase:?}");
        }
    }

    /// Ready, but every worker ejected every origin of a pipeline: 503 naming it, and 200
    /// again once one origin is back on one worker.
    #[test]
    fn readyz_is_503_while_a_pipeline_has_no_origin_up() {
        let mut shared = sample();
        shared.readiness = Arc::new(Readiness::new(Phase::Ready));
        let shared = Arc::new(shared);
        let pipeline = shared.workers[0].origins.current()[0].pipeline.clone();
        let sets: Vec<_> = shared.workers.iter().map(|w| w.origins.current()).collect();
        for c in sets.iter().flat_map(|s| s.iter()).filter(|c| c.pipeline == pipeline) {
            c.up.store(0, Ordering::Relaxed);
        }
        let answer_now = || answer("GET", "/readyz", None, &shared);
        let text = "text/plain; charset=utf-8";
        let body = format!("no origin up: pipeline {pipeline}\n");
        let want = Answer { status: 503, content_type: text, allow: None, body };
        assert_eq!(answer_now(), want);
        let mut cells = sets.iter().flat_map(|s| s.iter());
        cells.find(|c| c.pipeline == pipeline).expect("a cell").up.store(1, Ordering::Relaxed);
        assert_eq!(answer_now().status, 200);
    }

    /// Draining is never undone by the end of start-up; stopping is never undone by a drain.
    #[test]
    fn readiness_only_moves_forward() {
        let readiness = Readiness::default();
        assert_eq!(readiness.phase(), Phase::Starting);
        readiness.set_draining();
        readiness.set_ready();
        assert_eq!(readiness.phase(), Phase::Draining, "a SIGTERM during start-up holds");
        readiness.set_stopping();
        readiness.set_draining();
        assert_eq!(readiness.phase(), Phase::Stopping);
        let readiness = Readiness::default();
        readiness.set_ready();
        assert!(readiness.is_ready());
    }

    #[test]
    fn content_types_methods_and_unknown_paths() {
        let shared = Arc::new(sample());
        let prometheus = "text/plain; version=0.0.4; charset=utf-8";
        for (method, path, status, content_type) in [
            ("GET", "/metrics", 200, prometheus),
            ("HEAD", "/metrics", 200, prometheus),
            ("GET", "/status", 200, "application/json"),
            ("GET", "/healthz", 200, "text/plain; charset=utf-8"),
            ("GET", "/nope", 404, "text/plain; charset=utf-8"),
            ("POST", "/metrics", 405, "text/plain; charset=utf-8"),
            ("DELETE", "/nope", 405, "text/plain; charset=utf-8"),
        ] {
            let got = answer(method, path, None, &shared);
            assert_eq!((got.status, got.content_type), (status, content_type), "{method} {path}");
            let allow = (status == 405).then_some("GET, HEAD");
            assert_eq!(got.allow, allow, "{method} {path}");
        }
        let body = |accept| answer("GET", "/metrics", accept, &shared).body;
        assert_eq!(body(None), crate::metrics::render_text(sample()));
        assert_eq!(answer("GET", "/status", None, &shared).body, crate::status::render(&shared));
        assert_eq!(answer("GET", "/healthz", None, &shared).body, "ok\n");
        let openmetrics = answer("GET", "/metrics", Some(PROMETHEUS_ACCEPT), &shared);
        let want = "application/openmetrics-text; version=1.0.0; charset=utf-8";
        assert_eq!((openmetrics.status, openmetrics.content_type), (200, want));
        assert!(openmetrics.body.ends_with("\n# EOF\n"), "{}", openmetrics.body);
        assert_eq!(body(Some("*/*")), body(None));
    }

    /// What Prometheus 2.x sends in `Accept` when it scrapes.
    const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,\
        application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    /// A server on a free loopback port.
    fn server() -> std::net::SocketAddr {
        let probe = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a free port");
        let addr = probe.local_addr().expect("its address");
        drop(probe);
        serve(addr, Arc::new(sample())).expect("serving");
        addr
    }

    /// Sends `request` and reads the whole answer (the client waits up to 10 s: a test fails
    /// only if the answer never comes).
    fn exchange(addr: std::net::SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        stream.write_all(request.as_bytes()).expect("send");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("an answer within 10 s");
        String::from_utf8(answer).expect("text")
    }

    fn get(addr: std::net::SocketAddr, method: &str, path: &str) -> String {
        exchange(addr, &format!("{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"))
    }

    /// 100 connections that send nothing do not hold up a health check.
    #[test]
    fn idle_connections_do_not_starve_healthz() {
        let addr = server();
        let idle: Vec<TcpStream> =
            (0..100).map(|_| TcpStream::connect(addr).expect("an idle connection")).collect();
        let reply = get(addr, "GET", "/healthz");
        assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
        assert!(reply.ends_with("\r\n\r\nok\n"), "{reply}");
        drop(idle);
    }

    /// `netreaktor status` reads the server's `/status` as it reads the golden body.
    #[test]
    fn the_status_client_reads_the_server() {
        let addr = server();
        let body = crate::status::fetch(addr).expect("the status client's GET");
        assert_eq!(body, crate::status::render(&sample()));
    }

    /// Over the wire: content types, 405 with `Allow`, 404, HEAD without a body.
    #[test]
    fn the_server_sends_types_allow_and_statuses() {
        let addr = server();
        let reply = get(addr, "GET", "/metrics").to_ascii_lowercase();
        assert!(reply.contains("content-type: text/plain; version=0.0.4; charset=utf-8\r\n"));
        let body = reply.split("\r\n\r\n").nth(1).expect("a body");
        assert_eq!(body, crate::metrics::render_text(sample()).to_ascii_lowercase());
        let request = format!(
            "GET /metrics HTTP/1.1\r\nHost: t\r\nAccept: {PROMETHEUS_ACCEPT}\r\nConnection: close\r\n\r\n"
        );
        let reply = exchange(addr, &request).to_ascii_lowercase();
        let openmetrics = "application/openmetrics-text; version=1.0.0; charset=utf-8";
        assert!(reply.contains(&format!("content-type: {openmetrics}\r\n")), "{reply}");
        assert!(reply.ends_with("\n# eof\n"), "{reply}");
        let reply = get(addr, "GET", "/status").to_ascii_lowercase();
        assert!(reply.contains("content-type: application/json\r\n"), "{reply}");
        let reply = get(addr, "POST", "/metrics").to_ascii_lowercase();
        assert!(reply.starts_with("http/1.1 405 method not allowed\r\n"), "{reply}");
        assert!(reply.contains("allow: get, head\r\n"), "{reply}");
        let reply = get(addr, "GET", "/nope").to_ascii_lowercase();
        assert!(reply.starts_with("http/1.1 404 not found\r\n"), "{reply}");
        let reply = get(addr, "HEAD", "/healthz").to_ascii_lowercase();
        assert!(reply.starts_with("http/1.1 200 ok\r\n") && reply.ends_with("\r\n\r\n"), "{reply}");
    }

    /// Two workers with every cell distinct and one steering program, rendered byte for
    /// byte as `src/testdata/metrics.txt` (Prometheus text), `metrics.openmetrics.txt` and
    /// `status.json` (written anew with NETREAKTOR_BLESS=1).
    #[test]
    fn the_whole_text_is_unchanged() {
        let shared = Arc::new(crate::telemetry::sample());
        for (format, path, golden) in [
            (Format::Prometheus, "metrics.txt", include_str!("testdata/metrics.txt")),
            (
                Format::OpenMetrics,
                "metrics.openmetrics.txt",
                include_str!("testdata/metrics.openmetrics.txt"),
            ),
        ] {
            let text = crate::metrics::render(&shared, format).expect("every family encodes");
            let path = format!("{}/src/testdata/{path}", env!("CARGO_MANIFEST_DIR"));
            if std::env::var_os("NETREAKTOR_BLESS").is_some() {
                std::fs::write(path, &text).expect("writable testdata");
            }
            assert_eq!(text, golden, "{format:?}");
        }
        let status = crate::status::render(&shared);
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/testdata/status.json");
        if std::env::var_os("NETREAKTOR_BLESS").is_some() {
            std::fs::write(path, &status).expect("writable testdata");
        }
        assert_eq!(status, include_str!("testdata/status.json"));
    }
}
