//! The two `bpf(2)` commands aya 0.14 does not expose: open a BPF link by id and detach it.
//! Used only to remove a stale NetReaktor XDP link (one left by an earlier instance that leaked
//! or pinned it); links this process creates are detached by aya on drop.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// `enum bpf_cmd` values (include/uapi/linux/bpf.h).
const BPF_LINK_GET_FD_BY_ID: libc::c_long = 30;
const BPF_LINK_DETACH: libc::c_long = 34;

/// The `*_GET_FD_BY_ID` member of `union bpf_attr`: id, next_id, open_flags.
#[repr(C)]
#[derive(Default)]
struct GetFdById {
    link_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// The `link_detach` member of `union bpf_attr`.
#[repr(C)]
struct LinkDetach {
    link_fd: u32,
}

/// Opens the BPF link with kernel id `id`.
pub(crate) fn link_fd_by_id(id: u32) -> io::Result<OwnedFd> {
    let attr = GetFdById { link_id: id, ..GetFdById::default() };
    // SAFETY: `attr` is a valid, initialised `bpf_attr` prefix of the size passed; the kernel
    // only reads it during the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_LINK_GET_FD_BY_ID,
            &attr as *const GetFdById,
            std::mem::size_of::<GetFdById>() as libc::c_uint,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = i32::try_from(ret).map_err(|_| io::Error::other("bpf returned an fd out of range"))?;
    // SAFETY: on success BPF_LINK_GET_FD_BY_ID returns a new file descriptor that nothing else
    // owns; the OwnedFd closes it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Detaches `link` from its hook (the XDP program leaves the interface); the fd stays valid.
pub(crate) fn link_detach(link: &OwnedFd) -> io::Result<()> {
    let fd = u32::try_from(link.as_raw_fd()).map_err(|_| io::Error::other("negative fd"))?;
    let attr = LinkDetach { link_fd: fd };
    // SAFETY: `attr` is a valid, initialised `bpf_attr` prefix of the size passed; `link` is an
    // open link fd for the duration of the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_LINK_DETACH,
            &attr as *const LinkDetach,
            std::mem::size_of::<LinkDetach>() as libc::c_uint,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Moves the calling thread into the network namespace `ns` (an open `/run/netns/NAME`).
#[cfg(test)]
pub(crate) fn enter_netns(ns: &std::fs::File) -> io::Result<()> {
    // SAFETY: setns only reads the fd, which `ns` keeps open during the call; it changes the
    // namespace of the calling thread only.
    let ret = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
