//! A terminal for a foreground `run`/`exec` without `--console-socket` (what runc does for
//! `runc run` in a shell): the runtime keeps one end of a socketpair as the "console
//! socket", receives the pty master from the container, puts its own terminal in raw mode
//! and copies bytes both ways until the container's process exits.

use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    recvmsg, socketpair, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};

/// (our end, the end the container's process gets as its console socket).
pub fn console_pair() -> Result<(OwnedFd, OwnedFd), Errno> {
    socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
}

/// Receives the pty master the container sent over `ours`.
pub fn receive_master(ours: &OwnedFd) -> Result<OwnedFd, Errno> {
    let mut buf = [0u8; 256];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        ours.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(fd) = fds.first() {
                return Ok(crate::sys::own_received_fd(*fd));
            }
        }
    }
    Err(Errno::EBADMSG)
}

/// Our terminal in raw mode while the value lives (restored on drop); no-op if stdin is
/// not a terminal.
pub struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    pub fn enter() -> RawMode {
        let stdin = std::io::stdin();
        let saved = tcgetattr(stdin.as_fd()).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            cfmakeraw(&mut raw);
            let _ = tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        }
        RawMode { saved }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, t);
        }
    }
}

/// Copies our terminal's window size to the pty.
pub fn copy_window_size(master: BorrowedFd<'_>) {
    if let Some((rows, cols)) = crate::sys::window_size(std::io::stdin().as_fd()) {
        let _ = crate::sys::set_window_size(master, rows, cols);
    }
}

/// One round of copying: waits for input on stdin, the master or `extra` (the signalfd),
/// copies what is ready, and returns whether `extra` became readable. `stdin_open` is
/// cleared at EOF on stdin; returns Err(()) once the master hung up (the process is gone).
pub fn pump(master: &OwnedFd, stdin_open: &mut bool, extra: BorrowedFd<'_>) -> Result<bool, ()> {
    let stdin = std::io::stdin();
    let mut fds = vec![
        PollFd::new(extra, PollFlags::POLLIN),
        PollFd::new(master.as_fd(), PollFlags::POLLIN),
    ];
    if *stdin_open {
        fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
    }
    match poll(&mut fds, PollTimeout::NONE) {
        Err(Errno::EINTR) => return Ok(false),
        Err(_) => return Err(()),
        Ok(_) => {}
    }
    let ready = |i: usize| {
        fds.get(i)
            .and_then(|f| f.revents())
            .unwrap_or(PollFlags::empty())
    };
    let extra_ready = ready(0).contains(PollFlags::POLLIN);
    let master_ready = ready(1);
    let stdin_ready = ready(2);
    let mut buf = [0u8; 8192];
    if master_ready.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
        match nix::unistd::read(master, &mut buf) {
            Ok(n) if n > 0 => write_all(std::io::stdout().as_fd(), &buf[..n]),
            // EOF or EIO: the last slave fd closed, the process is done with the tty.
            _ => return Err(()),
        }
    }
    if stdin_ready.intersects(PollFlags::POLLIN | PollFlags::POLLHUP) {
        match nix::unistd::read(stdin.as_fd(), &mut buf) {
            Ok(n) if n > 0 => write_all(master.as_fd(), &buf[..n]),
            _ => *stdin_open = false,
        }
    }
    Ok(extra_ready)
}

/// Copies whatever is left in the pty to stdout, without waiting.
pub fn drain(master: &OwnedFd) {
    let flags = nix::fcntl::fcntl(master, nix::fcntl::FcntlArg::F_GETFL).unwrap_or(0);
    let nonblocking = nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
    let _ = nix::fcntl::fcntl(master, nix::fcntl::FcntlArg::F_SETFL(nonblocking));
    let mut buf = [0u8; 8192];
    while let Ok(n) = nix::unistd::read(master, &mut buf) {
        if n == 0 {
            break;
        }
        write_all(std::io::stdout().as_fd(), &buf[..n]);
    }
}

fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(Errno::EINTR) => continue,
            Err(_) => return,
        }
    }
}
