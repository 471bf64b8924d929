//! The whole State x Event table of [`State::on`], edge by edge: every edge of RFC 9293
//! Figure 5, the edges §3.10 adds, and `None` for every other pair.

use super::{Event, State};

/// Every event, in declaration order.
const EVENTS: [Event; 13] = [
    Event::ActiveOpen,
    Event::PassiveOpen,
    Event::RecvSyn,
    Event::RecvSynAck,
    Event::RecvAckOfSyn,
    Event::Close,
    Event::RecvFin,
    Event::RecvAckOfFin,
    Event::RecvFinAckOfFin,
    Event::RecvRst,
    Event::Abort,
    Event::TimeWaitTimeout,
    Event::GiveUp,
];

use Event as E;
use State as S;

/// The edges drawn in RFC 9293 Figure 5 (§3.3.2).
const FIGURE_5: &[(State, Event, State)] = &[
    // CLOSED: active OPEN / create TCB, snd SYN.
    (S::Closed, E::ActiveOpen, S::SynSent),
    // CLOSED: passive OPEN / create TCB.
    (S::Closed, E::PassiveOpen, S::Listen),
    // LISTEN: CLOSE / delete TCB.
    (S::Listen, E::Close, S::Closed),
    // LISTEN: rcv SYN / snd SYN,ACK.
    (S::Listen, E::RecvSyn, S::SynReceived),
    // SYN-SENT: CLOSE / delete TCB.
    (S::SynSent, E::Close, S::Closed),
    // SYN-SENT: rcv SYN / snd SYN,ACK (simultaneous open).
    (S::SynSent, E::RecvSyn, S::SynReceived),
    // SYN-SENT: rcv SYN,ACK / snd ACK.
    (S::SynSent, E::RecvSynAck, S::Established),
    // SYN-RECEIVED: rcv ACK of SYN.
    (S::SynReceived, E::RecvAckOfSyn, S::Established),
    // SYN-RECEIVED: CLOSE / snd FIN.
    (S::SynReceived, E::Close, S::FinWait1),
    // SYN-RECEIVED: rcv RST (note 1: the TCB of a passive open goes; the listener stays).
    (S::SynReceived, E::RecvRst, S::Closed),
    // ESTABLISHED: CLOSE / snd FIN.
    (S::Established, E::Close, S::FinWait1),
    // ESTABLISHED: rcv FIN / snd ACK.
    (S::Established, E::RecvFin, S::CloseWait),
    // FIN-WAIT-1: rcv ACK of FIN.
    (S::FinWait1, E::RecvAckOfFin, S::FinWait2),
    // FIN-WAIT-1: rcv FIN / snd ACK (simultaneous close).
    (S::FinWait1, E::RecvFin, S::Closing),
    // FIN-WAIT-2: rcv FIN / snd ACK.
    (S::FinWait2, E::RecvFin, S::TimeWait),
    // CLOSE-WAIT: CLOSE / snd FIN.
    (S::CloseWait, E::Close, S::LastAck),
    // CLOSING: rcv ACK of FIN.
    (S::Closing, E::RecvAckOfFin, S::TimeWait),
    // LAST-ACK: rcv ACK of FIN.
    (S::LastAck, E::RecvAckOfFin, S::Closed),
    // TIME-WAIT: Timeout=2MSL / delete TCB.
    (S::TimeWait, E::TimeWaitTimeout, S::Closed),
];

/// The edges RFC 9293 §3.10 adds to the figure.
const SECTION_3_10: &[(State, Event, State)] = &[
    // §3.10.4 CLOSE in LISTEN / ABORT in LISTEN and SYN-SENT: delete the TCB.
    (S::Listen, E::Abort, S::Closed),
    (S::SynSent, E::Abort, S::Closed),
    // §3.10.7.3: an acceptable RST in SYN-SENT: "connection reset".
    (S::SynSent, E::RecvRst, S::Closed),
    // §3.8.3 R2 / §3.10.8: the SYN retransmissions give up.
    (S::SynSent, E::GiveUp, S::Closed),
    // §3.10.7.4 "eighth": FIN-WAIT-1, a FIN that also acknowledges our FIN: TIME-WAIT.
    (S::FinWait1, E::RecvFinAckOfFin, S::TimeWait),
    // §3.10.7.4 TIME-WAIT: a retransmitted FIN restarts 2·MSL, state unchanged.
    (S::TimeWait, E::RecvFin, S::TimeWait),
];

/// The states where §3.10.7.4 "second" (RST), §3.10.5 ABORT and §3.8.3 timeouts close.
const OPEN: [State; 8] = [
    S::SynReceived,
    S::Established,
    S::FinWait1,
    S::FinWait2,
    S::CloseWait,
    S::Closing,
    S::LastAck,
    S::TimeWait,
];

/// The full expected table: every declared edge, `None` elsewhere.
fn expected(state: State, event: Event) -> Option<State> {
    let listed = FIGURE_5.iter().chain(SECTION_3_10);
    if let Some(&(_, _, to)) = listed.clone().find(|&&(s, e, _)| s == state && e == event) {
        return Some(to);
    }
    let closes = matches!(event, E::RecvRst | E::Abort | E::GiveUp);
    (closes && OPEN.contains(&state)).then_some(S::Closed)
}

#[test]
fn every_figure_5_edge_is_declared() {
    for &(from, event, to) in FIGURE_5 {
        assert_eq!(from.on(event), Some(to), "Figure 5: {from} --{event:?}--> {to}");
    }
}

#[test]
fn every_section_3_10_edge_is_declared() {
    for &(from, event, to) in SECTION_3_10 {
        assert_eq!(from.on(event), Some(to), "§3.10: {from} --{event:?}--> {to}");
    }
}

#[test]
fn rst_abort_and_give_up_close_every_open_state() {
    for state in OPEN {
        for event in [E::RecvRst, E::Abort, E::GiveUp] {
            assert_eq!(state.on(event), Some(S::Closed), "{state} --{event:?}-->");
        }
    }
}

#[test]
fn the_whole_table_matches_and_every_other_pair_is_none() {
    let mut edges = 0;
    for state in State::ALL {
        for event in EVENTS {
            assert_eq!(state.on(event), expected(state, event), "{state} x {event:?}");
            edges += usize::from(state.on(event).is_some());
        }
    }
    // 19 figure edges + 6 from §3.10 + 8 states x 3 closing events, less the one overlap
    // (SYN-RECEIVED rcv RST is both in the figure and among the closing events).
    assert_eq!(edges, 19 + 6 + 24 - 1);
}

#[test]
fn closed_is_a_sink_except_for_open() {
    for event in EVENTS {
        let next = S::Closed.on(event);
        match event {
            E::ActiveOpen => assert_eq!(next, Some(S::SynSent)),
            E::PassiveOpen => assert_eq!(next, Some(S::Listen)),
            _ => assert_eq!(next, None, "CLOSED x {event:?}"),
        }
    }
}

#[test]
fn no_state_reopens_and_nothing_leaves_time_wait_but_closed() {
    for state in State::ALL.into_iter().filter(|&s| s != S::Closed) {
        assert_eq!(state.on(E::ActiveOpen), None, "{state}");
        assert_eq!(state.on(E::PassiveOpen), None, "{state}");
    }
    for event in EVENTS {
        if let Some(next) = S::TimeWait.on(event) {
            assert!(matches!(next, S::Closed | S::TimeWait), "TIME-WAIT x {event:?}");
        }
    }
}

#[test]
fn synchronized_states_are_those_after_the_handshake() {
    let synced: Vec<State> = State::ALL.into_iter().filter(|s| s.is_synchronized()).collect();
    assert_eq!(
        synced,
        [
            S::Established,
            S::FinWait1,
            S::FinWait2,
            S::CloseWait,
            S::Closing,
            S::LastAck,
            S::TimeWait
        ]
    );
}

#[test]
fn can_receive_until_the_peer_fin_and_can_send_until_ours() {
    for state in State::ALL {
        let receive = matches!(state, S::Established | S::FinWait1 | S::FinWait2);
        let send = matches!(state, S::SynSent | S::SynReceived | S::Established | S::CloseWait);
        assert_eq!(state.can_receive(), receive, "{state}");
        assert_eq!(state.can_send(), send, "{state}");
    }
}

#[test]
fn our_data_and_fin_go_out_from_established_until_our_fin_is_acknowledged() {
    for state in State::ALL {
        let sends =
            matches!(state, S::Established | S::CloseWait | S::FinWait1 | S::Closing | S::LastAck);
        assert_eq!(state.sends_data(), sends, "{state}");
    }
}

#[test]
fn rfc_names() {
    let names: Vec<String> = State::ALL.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        names,
        [
            "CLOSED",
            "LISTEN",
            "SYN-SENT",
            "SYN-RECEIVED",
            "ESTABLISHED",
            "FIN-WAIT-1",
            "FIN-WAIT-2",
            "CLOSE-WAIT",
            "CLOSING",
            "LAST-ACK",
            "TIME-WAIT"
        ]
    );
}
