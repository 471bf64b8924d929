//! The three socket calls the `xdp` crate does not expose: the `XDP_OPTIONS` query (which
//! tells whether the bind obtained zero-copy) and the two wake-ups, `sendto` for the TX ring
//! and `recvfrom` for the fill ring, with errors we can act on (the crate's own wake-ups only
//! run when descriptors were just queued, so a kick that must be repeated could not be).

use std::io;
use std::os::fd::RawFd;

/// Whether the socket `fd`, once bound, runs in zero-copy mode (`XDP_OPTIONS_ZEROCOPY`).
pub(super) fn is_zero_copy(fd: RawFd) -> io::Result<bool> {
    let mut options = libc::xdp_options { flags: 0 };
    let mut len = std::mem::size_of::<libc::xdp_options>() as libc::socklen_t;
    // SAFETY: `options` and `len` are valid for writes of the sizes given and live across the
    // call; getsockopt writes at most `len` bytes into `options`.
    let ret = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_XDP,
            libc::XDP_OPTIONS,
            (&raw mut options).cast(),
            &raw mut len,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(options.flags & libc::XDP_OPTIONS_ZEROCOPY != 0)
}

/// Asks the kernel to send what the TX ring holds (`sendto` with no data, non-blocking).
pub(super) fn kick_tx(fd: RawFd) -> io::Result<()> {
    // SAFETY: a zero-length send with null buffer and address: the kernel reads no memory.
    let ret =
        unsafe { libc::sendto(fd, std::ptr::null(), 0, libc::MSG_DONTWAIT, std::ptr::null(), 0) };
    if ret < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Tells the driver the fill ring has buffers again (`recvfrom` with no buffer, non-blocking).
pub(super) fn wake_fill(fd: RawFd) -> io::Result<()> {
    // SAFETY: a zero-length receive with null buffer and address: the kernel writes no memory.
    let ret = unsafe {
        libc::recvfrom(
            fd,
            std::ptr::null_mut(),
            0,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    if ret < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Whether a failed kick is transient: the kernel sent part of the ring (copy mode sends a
/// bounded batch per call and says `EAGAIN`), was busy, or lacked buffers. Kick again later.
pub(super) fn is_transient(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EAGAIN | libc::EBUSY | libc::ENOBUFS | libc::EINTR))
}

/// Waits until one of `fds` is readable or `timeout` passes (`poll(2)`); returns how many
/// are ready. The workers' idle wait: their AF_XDP sockets and their hand-off wake-up socket.
pub(crate) fn wait_readable(fds: &[RawFd], timeout: std::time::Duration) -> io::Result<usize> {
    let mut polls: Vec<libc::pollfd> =
        fds.iter().map(|&fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 }).collect();
    let millis = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    let count = libc::nfds_t::try_from(polls.len()).unwrap_or(libc::nfds_t::MAX);
    // SAFETY: `polls` is a live, initialised array of `count` pollfd structs that poll may
    // write `revents` into; it outlives the call.
    let ret = unsafe { libc::poll(polls.as_mut_ptr(), count, millis) };
    match ret {
        n if n >= 0 => Ok(n as usize),
        _ => {
            let error = io::Error::last_os_error();
            if error.raw_os_error() == Some(libc::EINTR) { Ok(0) } else { Err(error) }
        }
    }
}
