//! veth tests (next).
