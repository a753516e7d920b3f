//! docker's `--sig-proxy`: while an attached `run` waits, the signals it receives (Ctrl-C,
//! SIGTERM …) are passed on to the container instead of killing the CLI.

use std::os::fd::AsFd;

use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use skiff_engine::containers::Started;
use skiff_engine::Engine;

const PROXIED: [Signal; 6] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

pub struct SignalProxy {
    fd: SignalFd,
}

impl SignalProxy {
    /// Blocks the proxied signals and opens a signalfd for them. (The monitor resets its
    /// signal mask, so the container does not inherit the blocking.)
    pub fn install() -> nix::Result<SignalProxy> {
        let mut set = SigSet::empty();
        for s in PROXIED {
            set.add(s);
        }
        set.thread_block()?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC)?;
        Ok(SignalProxy { fd })
    }

    /// Waits for the container's exit code, forwarding signals meanwhile.
    pub fn wait_exit(self, engine: &Engine, started: Started) -> Option<i32> {
        loop {
            if started.has_buffered_status() {
                return started.wait_exit();
            }
            let mut fds = [
                PollFd::new(started.status_fd(), PollFlags::POLLIN),
                PollFd::new(self.fd.as_fd(), PollFlags::POLLIN),
            ];
            if nix::poll::poll(&mut fds, PollTimeout::NONE).is_err() {
                continue;
            }
            let status_ready = fds[0].revents().is_some_and(|r| !r.is_empty());
            let signal_ready = fds[1].revents().is_some_and(|r| !r.is_empty());
            if signal_ready {
                if let Ok(Some(info)) = self.fd.read_signal() {
                    let _ = engine.kill(&started.id, &info.ssi_signo.to_string());
                }
            }
            if status_ready {
                return started.wait_exit();
            }
        }
    }
}
