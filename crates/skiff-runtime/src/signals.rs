//! Signal forwarding for a foreground `run`/`exec`: the runtime blocks the signals, reads
//! them from a signalfd, passes each to the container's process, and reaps children until
//! that process exits.

use std::os::fd::AsFd;

use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::Error;

/// Blocks all signals for the lifetime of the value (restored on drop).
pub struct Forwarder {
    fd: SignalFd,
    old: SigSet,
}

impl Forwarder {
    pub fn block() -> Result<Forwarder, Error> {
        let mut old = SigSet::empty();
        let all = SigSet::all();
        nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&all), Some(&mut old))
            .map_err(|source| Error::Sys {
                action: "block signals",
                id: String::new(),
                source,
            })?;
        let fd =
            SignalFd::with_flags(&all, SfdFlags::SFD_CLOEXEC).map_err(|source| Error::Sys {
                action: "create a signalfd",
                id: String::new(),
                source,
            })?;
        Ok(Forwarder { fd, old })
    }

    /// Like [`Forwarder::wait_for`], also relaying our terminal to the pty `master` (in raw
    /// mode, window size changes included) while the process uses it.
    pub fn wait_with_tty(&self, pid: Pid, master: Option<std::os::fd::OwnedFd>) -> i32 {
        let Some(master) = master else {
            return self.wait_for(pid);
        };
        let _raw = crate::tty::RawMode::enter();
        crate::tty::copy_window_size(master.as_fd());
        let mut stdin_open = true;
        loop {
            if let Some(code) = reap(pid) {
                crate::tty::drain(&master);
                return code;
            }
            match crate::tty::pump(&master, &mut stdin_open, self.fd.as_fd()) {
                Ok(true) => {
                    if let Ok(Some(info)) = self.fd.read_signal() {
                        match info.ssi_signo as i32 {
                            libc::SIGCHLD => {}
                            libc::SIGWINCH => crate::tty::copy_window_size(master.as_fd()),
                            signo => {
                                if let Ok(signal) = Signal::try_from(signo) {
                                    let _ = kill(pid, signal);
                                }
                            }
                        }
                    }
                }
                Ok(false) => {}
                Err(()) => return self.wait_for(pid),
            }
        }
    }

    /// Forwards signals to `pid` until it exits; returns its exit code (128+signal if killed).
    pub fn wait_for(&self, pid: Pid) -> i32 {
        loop {
            if let Some(code) = reap(pid) {
                return code;
            }
            let Ok(Some(info)) = self.fd.read_signal() else {
                continue;
            };
            let signo = info.ssi_signo as i32;
            if signo == libc::SIGCHLD {
                continue;
            }
            if let Ok(signal) = Signal::try_from(signo) {
                let _ = kill(pid, signal);
            }
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&self.old), None);
    }
}

/// Reaps every exited child; returns `pid`'s exit code once it is among them.
fn reap(pid: Pid) -> Option<i32> {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, code)) if p == pid => return Some(code),
            Ok(WaitStatus::Signaled(p, sig, _)) if p == pid => return Some(128 + sig as i32),
            Ok(WaitStatus::StillAlive) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}
