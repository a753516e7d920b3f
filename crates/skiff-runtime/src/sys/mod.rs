//! The runtime's syscall layer: the only module (besides `security::sys`, owned by the
//! security code) with `unsafe`. Everything here is a thin, typed wrapper over one kernel
//! call that nix does not wrap; callers get `Result<_, Errno>` and owned file descriptors.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::unistd::Pid;

/// What a fork-like clone returned in the current process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forked {
    /// We are the new process.
    Child,
    /// We are the caller; the new process has this pid.
    Parent(Pid),
}

/// `struct clone_args` of clone3(2) (the kernel's layout, version 2 with `cgroup`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// `CLONE_INTO_CGROUP` (Linux 5.7); not in every libc version.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Forks the calling process with `flags` (namespace flags and `CLONE_PARENT`), like fork(2):
/// the child continues on a copy of the caller's stack and gets SIGCHLD semantics. With
/// `cgroup` (a cgroup v2 directory fd) the child starts inside that cgroup
/// (`CLONE_INTO_CGROUP`), which saves migrating it afterwards.
///
/// Uses clone3(2) and falls back to clone(2) when the kernel lacks clone3 or
/// `CLONE_INTO_CGROUP`; in that fallback `cgroup` is ignored and `Ok((Forked, false))` tells
/// the caller to add the child to its cgroup itself.
///
/// The caller must be single-threaded: like after fork(2) in a threaded program, the child
/// would otherwise inherit locks held by threads that do not exist in it.
pub fn clone_fork(flags: u64, cgroup: Option<BorrowedFd<'_>>) -> Result<(Forked, bool), Errno> {
    // clone3 refuses an exit signal with CLONE_PARENT: the child then reports to our parent
    // with the signal we were created with.
    let exit_signal = if flags & libc::CLONE_PARENT as u64 != 0 {
        0
    } else {
        libc::SIGCHLD as u64
    };
    let mut args = CloneArgs {
        flags,
        exit_signal,
        ..CloneArgs::default()
    };
    if let Some(fd) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd.as_raw_fd() as u64;
    }
    // SAFETY: `args` is a valid, fully initialised clone_args that lives across the call and
    // its size is passed alongside. With a zero stack the kernel gives the child a
    // copy-on-write copy of our address space and stack, exactly as fork(2) does, so both
    // sides return here with valid memory.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match ret {
        0 => return Ok((Forked::Child, cgroup.is_some())),
        pid if pid > 0 => return Ok((Forked::Parent(Pid::from_raw(pid as i32)), cgroup.is_some())),
        _ => {}
    }
    let err = Errno::last();
    // ENOSYS: no clone3; E2BIG/EINVAL with a cgroup: kernel without CLONE_INTO_CGROUP.
    let retry =
        err == Errno::ENOSYS || (cgroup.is_some() && matches!(err, Errno::E2BIG | Errno::EINVAL));
    if !retry {
        return Err(err);
    }
    // SAFETY: clone(2) with a null stack behaves like fork(2) (see above); the tid and tls
    // pointers are null because no CLONE_*TID/CLONE_SETTLS flag is passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags | libc::SIGCHLD as u64,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_int>(),
            std::ptr::null_mut::<libc::c_int>(),
            0u64,
        )
    };
    match ret {
        0 => Ok((Forked::Child, false)),
        pid if pid > 0 => Ok((Forked::Parent(Pid::from_raw(pid as i32)), false)),
        _ => Err(Errno::last()),
    }
}

/// Ends the current process at once with `code`, without running Rust or libc exit
/// handlers: what a cloned child must do so it does not flush the parent's buffers twice.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit(2) never returns and touches no memory of ours.
    unsafe { libc::_exit(code) }
}

/// Marks every fd from `first` upward close-on-exec (close_range(2) with
/// `CLOSE_RANGE_CLOEXEC`), so nothing of the runtime leaks into the container's program.
pub fn cloexec_from(first: u32) -> Result<(), Errno> {
    // SAFETY: close_range(2) takes plain integers and touches no memory of ours.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if ret < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// Sets the NIS domain name of the current UTS namespace.
pub fn set_domainname(name: &str) -> Result<(), Errno> {
    // SAFETY: the pointer and length describe `name`'s bytes, which outlive the call; the
    // kernel copies them and does not require a terminating NUL when given the length.
    let ret = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    if ret < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// Makes the terminal `fd` the controlling terminal of the calling session leader.
pub fn set_controlling_terminal(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: TIOCSCTTY takes an integer argument (0: do not steal) and no pointer.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) };
    if ret < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// Sets the window size of the terminal `fd`.
pub fn set_window_size(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> Result<(), Errno> {
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one `winsize`, which lives on our stack across the call.
    let ret = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            libc::TIOCSWINSZ,
            &size as *const libc::winsize,
        )
    };
    if ret < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// Opens a pidfd for `pid` (pidfd_open(2)): signals sent through it cannot hit a recycled
/// pid, and it polls readable once the process has exited, even if it is not our child.
pub fn pidfd_open(pid: Pid) -> Result<OwnedFd, Errno> {
    // SAFETY: pidfd_open(2) takes a pid and flags by value and touches no memory of ours.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if ret < 0 {
        return Err(Errno::last());
    }
    // SAFETY: a successful pidfd_open(2) returns a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) })
}

/// Sends `signal` to the process behind `pidfd` (pidfd_send_signal(2)).
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, signal: i32) -> Result<(), Errno> {
    // SAFETY: a null siginfo asks the kernel to fill in the defaults kill(2) would use.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null_mut::<libc::siginfo_t>(),
            0,
        )
    };
    if ret < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// Takes ownership of a descriptor received through SCM_RIGHTS.
pub fn own_received_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: the kernel installed `fd` in our table for this message only; nothing else
    // refers to it, so owning (and eventually closing) it here is sound.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Puts every signal back to its default disposition (except those the kernel keeps) and
/// unblocks them all. The container's program must not inherit the runtime's choices: Rust
/// ignores SIGPIPE, and `run` blocks signals to forward them.
pub fn reset_signals() {
    for signal in 1..=31 {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        // SAFETY: installing SIG_DFL involves no handler code of ours; sigaction copies the
        // zeroed struct, which is a valid "default, no flags, empty mask" action.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
    let _ = nix::sys::signal::SigSet::all().thread_unblock();
}

/// A detached, read-only bind mount of the file at `path` (open_tree(2) with
/// `OPEN_TREE_CLONE`, then mount_setattr(2) `MOUNT_ATTR_RDONLY`). The mount is attached
/// nowhere, so nothing propagates; it lives as long as something (the fd, or a process
/// executing the file through it) refers to it. Opening the file for writing through it
/// fails with EROFS.
pub fn detached_readonly_bind(path: &std::ffi::CStr) -> Result<OwnedFd, Errno> {
    const OPEN_TREE_CLONE: u32 = 1;
    const OPEN_TREE_CLOEXEC: u32 = libc::O_CLOEXEC as u32;
    const MOUNT_ATTR_RDONLY: u64 = 0x1;
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    // SAFETY: `path` is a valid NUL-terminated string that outlives the call; open_tree(2)
    // only reads it.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            path.as_ptr(),
            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC,
        )
    };
    if ret < 0 {
        return Err(Errno::last());
    }
    // SAFETY: a successful open_tree(2) returns a fresh fd that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(ret as RawFd) };
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: `attr` is a valid mount_attr that lives across the call, its size is passed,
    // and the empty path with AT_EMPTY_PATH makes the call act on `fd` itself.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if ret < 0 {
        return Err(Errno::last());
    }
    Ok(fd)
}

/// Sets `MOUNT_ATTR_*` bits on the mount at `path` and every mount below it
/// (mount_setattr(2) with AT_RECURSIVE), for options such as `rro`.
pub fn set_mount_attrs_recursive(path: &std::ffi::CStr, attr_set: u64) -> Result<(), Errno> {
    const AT_RECURSIVE: libc::c_int = 0x8000;
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    let attr = MountAttr {
        attr_set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: `path` is NUL-terminated and `attr` a valid mount_attr; both outlive the call,
    // which only reads them, and the size passed is the struct's.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            path.as_ptr(),
            AT_RECURSIVE,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if ret < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// The window size (rows, columns) of the terminal `fd`, if it is one.
pub fn window_size(fd: BorrowedFd<'_>) -> Option<(u16, u16)> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we own on the stack.
    let ret = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            libc::TIOCGWINSZ,
            &mut size as *mut libc::winsize,
        )
    };
    (ret == 0).then_some((size.ws_row, size.ws_col))
}

/// A detached copy of the mount tree at `path` (open_tree(2) `OPEN_TREE_CLONE`, recursive
/// with `AT_RECURSIVE`): a bind mount that can be attached later, even in another mount
/// namespace, with [`move_mount_to`].
pub fn open_tree_clone(path: &std::ffi::CStr, recursive: bool) -> Result<OwnedFd, Errno> {
    const OPEN_TREE_CLONE: u32 = 1;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as u32;
    if recursive {
        flags |= libc::AT_RECURSIVE as u32;
    }
    // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
    let ret = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) };
    if ret < 0 {
        return Err(Errno::last());
    }
    // SAFETY: a successful open_tree(2) returns a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) })
}

/// Attaches the detached mount `tree` at `target` (move_mount(2)).
pub fn move_mount_to(tree: &OwnedFd, target: &std::ffi::CStr) -> Result<(), Errno> {
    const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;
    // SAFETY: both strings are valid and NUL-terminated for the duration of the call; the
    // empty source path with MOVE_MOUNT_F_EMPTY_PATH makes the kernel use `tree` itself.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if ret < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// Takes ownership of an fd that the process which exec'd us left open for us by number
/// (e.g. the engine's monitor passing its pipes across a re-exec).
///
/// The caller must pass a number it was handed for this purpose and use it only once.
pub fn own_inherited_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: the fd was left open (not close-on-exec) by our parent for us alone, and the
    // caller takes it exactly once; nothing else in this process owns or closes it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}
