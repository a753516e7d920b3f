//! The few kernel calls the security and hook code need that neither nix nor caps nor
//! libseccomp wrap safely: loading a pre-compiled seccomp BPF program, opening a pidfd, and
//! setting another process's rlimits. Every `unsafe` block of these modules lives here.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::unistd::Pid;

/// Installs `program` as a seccomp filter on the calling thread with the given
/// `SECCOMP_FILTER_FLAG_*` bits. With `SECCOMP_FILTER_FLAG_NEW_LISTENER` the kernel returns
/// the notification listener, which is handed back as an owned fd.
pub(crate) fn seccomp_set_mode_filter(
    program: &[libc::sock_filter],
    flags: u32,
) -> Result<Option<OwnedFd>, Errno> {
    let len = u16::try_from(program.len()).map_err(|_| Errno::E2BIG)?;
    let fprog = libc::sock_fprog {
        len,
        // The kernel only reads the program; the cast to *mut is what the C ABI asks for.
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: `fprog` points at `program`, which outlives the call, and its `len` matches the
    // slice length; seccomp(2) copies the program into the kernel before returning and does
    // not keep the pointer.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &fprog as *const libc::sock_fprog,
        )
    };
    if ret < 0 {
        return Err(Errno::last());
    }
    if libc::c_ulong::from(flags) & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
        let fd = RawFd::try_from(ret).map_err(|_| Errno::EBADF)?;
        // SAFETY: with NEW_LISTENER a successful seccomp(2) returns a fresh file descriptor
        // that nothing else owns yet.
        return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
    }
    Ok(None)
}

/// Opens a pidfd for `pid`: it becomes readable when the process exits, so a hook's exit and
/// its timeout can be waited for with one poll(2).
pub(crate) fn pidfd_open(pid: Pid) -> Result<OwnedFd, Errno> {
    // SAFETY: pidfd_open(2) takes a pid and a flags word by value and touches no memory of ours.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if ret < 0 {
        return Err(Errno::last());
    }
    let fd = RawFd::try_from(ret).map_err(|_| Errno::EBADF)?;
    // SAFETY: a successful pidfd_open(2) returns a fresh file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sets the soft and hard limit of `resource` for process `pid` (prlimit(2)). The runtime uses
/// it from outside the container because inside a new user namespace a hard limit can no
/// longer be raised.
pub(crate) fn prlimit(
    pid: Pid,
    resource: nix::sys::resource::Resource,
    soft: u64,
    hard: u64,
) -> Result<(), Errno> {
    let limit = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `limit` is a valid rlimit64 that lives across the call; the old-limit pointer is
    // null, which prlimit64(2) accepts as "do not report the old limit".
    let ret = unsafe { libc::prlimit64(pid.as_raw(), resource as _, &limit, std::ptr::null_mut()) };
    if ret < 0 {
        return Err(Errno::last());
    }
    Ok(())
}
