//! The exported per-worker metrics, in the order `/metrics` lists them. Names and help texts
//! are read by dashboards and `tests/scripts/*.sh`: change them only deliberately.

use super::InStatus::{DropReasons, Drops, Mptcp, No, Timing, Worker};
use super::Kind::{Counter, Gauge, Histogram};
use super::{InStatus, Kind, Metric, Read};
use crate::worker::metrics::{HistogramCells, LabelledCells, WorkerMetrics};

type Cell = fn(&WorkerMetrics) -> &std::sync::atomic::AtomicU64;

/// A one-cell metric.
const fn one(name: &'static str, help: &'static str, kind: Kind, get: Cell) -> Metric {
    Metric { name, help, kind, read: Read::Cell(get), status: No }
}

/// A metric with one cell per value of `label`.
const fn labelled(
    (name, help, kind): (&'static str, &'static str, Kind),
    label: &'static str,
    get: fn(&WorkerMetrics) -> &dyn LabelledCells,
) -> Metric {
    Metric { name, help, kind, read: Read::Labelled(label, get), status: No }
}

/// A histogram of durations.
const fn histogram(
    name: &'static str,
    help: &'static str,
    get: fn(&WorkerMetrics) -> &HistogramCells,
) -> Metric {
    Metric { name, help, kind: Histogram, read: Read::Histogram(get), status: No }
}

impl Metric {
    /// The same metric, shown in `/status` at `status`.
    const fn shown(self, status: InStatus) -> Metric {
        Metric { status, ..self }
    }
}

/// Every exported per-worker metric (the steering programs' counters are per interface and
/// rendered apart).
pub(crate) const METRICS: [Metric; 47] = [
    one("frames_received_total", "Frames taken from the RX rings", Counter, |m| &m.frames_received)
        .shown(Worker("frames_received")),
    one("frames_sent_total", "Frames put on the TX rings", Counter, |m| &m.frames_sent),
    one("frames_handed_off_total", "Frames passed to their owning worker", Counter, |m| {
        &m.handed_off
    }),
    one("handoff_dropped_total", "Frames dropped: hand-off queue full", Counter, |m| {
        &m.handoff_dropped
    })
    .shown(Drops("handoff_full")),
    one("tx_ring_full_total", "Transmit rounds cut short by a full TX ring", Counter, |m| {
        &m.tx_full
    }),
    labelled(
        (
            "afxdp_socket_events_total",
            "What the kernel counted on the worker's AF_XDP sockets (XDP_STATISTICS), read once a second",
            Counter,
        ),
        "event",
        |m| &m.socket_events,
    ),
    one("no_neighbour_total", "Packets dropped: next-hop MAC unknown", Counter, |m| {
        &m.no_neighbour
    })
    .shown(Drops("no_neighbour")),
    one("connections_accepted_total", "Client connections accepted", Counter, |m| &m.accepted)
        .shown(Worker("accepted")),
    one("connections_refused_total", "Client connections reset at max_connections", Counter, |m| {
        &m.refused_limit
    }),
    one("connections_active", "Spliced connections held", Gauge, |m| &m.active)
        .shown(Worker("connections")),
    one("mptcp_connections_active", "MPTCP connections held", Gauge, |m| &m.mptcp_active)
        .shown(Worker("mptcp_connections")),
    one("mptcp_subflows_active", "Live subflows of those", Gauge, |m| &m.subflows)
        .shown(Worker("subflows")),
    one(
        "connections_refused_draining_total",
        "SYNs reset while draining on SIGTERM",
        Counter,
        |m| &m.refused_draining,
    ),
    one(
        "syns_received_total",
        "New SYNs that reached a listener; each is answered (syn_acks_sent_total) or dropped (syns_dropped_total)",
        Counter,
        |m| &m.syns_received,
    ),
    labelled(
        (
            "syn_acks_sent_total",
            "SYN,ACKs for new SYNs: from the half-open table or a cookie",
            Counter,
        ),
        "kind",
        |m| &m.syn_answers,
    ),
    labelled(
        ("syns_dropped_total", "New SYNs left unanswered, by reason", Counter),
        "reason",
        |m| &m.syns_dropped,
    )
    .shown(Drops("syns")),
    labelled(
        ("syn_cookies_checked_total", "ACKs whose SYN cookie was checked, by result", Counter),
        "result",
        |m| &m.cookie_checks,
    ),
    one("half_open_connections", "Half-open client connections held", Gauge, |m| &m.half_open)
        .shown(Worker("half_open")),
    one("origin_attempts_total", "Origin connect attempts", Counter, |m| &m.origin_attempts),
    one("origin_retries_total", "Origin connect retries on the next origin", Counter, |m| {
        &m.origin_retries
    }),
    one(
        "unmatched_segments_total",
        "Segments for no connection (answered with RST)",
        Counter,
        |m| &m.unmatched,
    ),
    one("bytes_to_origin_total", "Bytes moved client to origin", Counter, |m| &m.bytes_to_origin)
        .shown(Worker("bytes_to_origin")),
    one("bytes_to_client_total", "Bytes moved origin to client", Counter, |m| &m.bytes_to_client)
        .shown(Worker("bytes_to_client")),
    one(
        "ports_exhausted_total",
        "Client connections reset: no free origin-side port",
        Counter,
        |m| &m.ports_exhausted,
    ),
    one("replies_dropped_total", "RSTs not sent: reply queue full", Counter, |m| {
        &m.replies_dropped
    })
    .shown(Drops("replies")),
    one("origin_ports_reused_total", "Origin ports taken over from TIME-WAIT", Counter, |m| {
        &m.time_wait_reused
    }),
    one("joins_refused_total", "MP_JOINs reset (all reasons)", Counter, |m| &m.joins_refused),
    one("mptcp_connections_total", "MPTCP connections established (RFC 8684)", Counter, |m| {
        &m.mptcp_connections
    })
    .shown(Mptcp("connections_total")),
    one("mptcp_joins_accepted_total", "Subflows joined, HMAC verified", Counter, |m| {
        &m.joins_accepted
    })
    .shown(Mptcp("joins_accepted")),
    one(
        "mptcp_potentially_failed_total",
        "Subflows that stalled (ended connections)",
        Counter,
        |m| &m.potentially_failed,
    )
    .shown(Mptcp("potentially_failed")),
    one(
        "mptcp_reinjected_bytes_total",
        "Bytes resent on another subflow (ended conns)",
        Counter,
        |m| &m.reinjected_bytes,
    )
    .shown(Mptcp("reinjected_bytes")),
    one(
        "mptcp_data_fin_timeouts_total",
        "Connections reset: our DATA_FIN never DATA_ACKed",
        Counter,
        |m| &m.data_fin_gave_up,
    )
    .shown(Mptcp("data_fin_timeouts")),
    one("loops_total", "Worker loop iterations", Counter, |m| &m.loops),
    one("sleeps_total", "Worker sleeps in poll(2)", Counter, |m| &m.sleeps),
    labelled(("frames_dropped_total", "Frames dropped, by reason", Counter), "reason", |m| {
        &m.dropped
    })
    .shown(DropReasons),
    labelled(("connections", "Spliced connections held, by phase", Gauge), "state", |m| &m.phases)
        .shown(Worker("by_state")),
    labelled(("splices_ended_total", "Spliced connections ended, by how", Counter), "end", |m| {
        &m.ended
    }),
    labelled(
        (
            "mptcp_fallbacks_total",
            "Clients that offered MPTCP and got plain TCP, by reason",
            Counter,
        ),
        "reason",
        |m| &m.mptcp_fallback,
    )
    .shown(Mptcp("fallbacks")),
    labelled(
        (
            "mptcp_joins_refused_total",
            "MP_JOINs reset, by reason (MP_TCPRST except on v0)",
            Counter,
        ),
        "reason",
        |m| &m.joins_refused_by,
    )
    .shown(Mptcp("joins_refused")),
    histogram(
        "connection_setup_seconds",
        "From a client connection's acceptance to its origin connection's establishment",
        |m| &m.setup,
    )
    .shown(Timing("connection_setup")),
    histogram(
        "mptcp_handover_stall_seconds",
        "Per handover, the longest time DATA_ACK did not advance with data outstanding",
        |m| &m.handover_stall,
    )
    .shown(Timing("handover_stall")),
    one(
        "time_wait_entries",
        "Finished connections held in TIME-WAIT as compact entries",
        Gauge,
        |m| &m.time_wait_entries,
    ),
    one(
        "time_wait_reopened_total",
        "Client SYNs that reopened a 4-tuple held in TIME-WAIT (RFC 6191)",
        Counter,
        |m| &m.time_wait_reopened,
    ),
    one("buffer_bytes", "Bytes the connections' send and receive buffers hold", Gauge, |m| {
        &m.buffer_bytes
    })
    .shown(Worker("buffer_bytes")),
    one("buffer_budget_bytes", "The worker's share of limits.buffer_memory", Gauge, |m| {
        &m.buffer_budget
    }),
    one(
        "memory_pressure",
        "1 while the worker's buffers are under pressure (windows held to the minimum)",
        Gauge,
        |m| &m.memory_pressure,
    )
    .shown(Worker("memory_pressure")),
    one(
        "memory_pressure_entries_total",
        "Times the worker's buffers went under pressure",
        Counter,
        |m| &m.memory_pressure_entries,
    ),
];
