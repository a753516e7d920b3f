//! OCI lifecycle hooks (prestart, createRuntime, createContainer, startContainer, poststart,
//! poststop): each hook is executed with its path, args and env, gets the container state
//! JSON on stdin, and must exit 0 within its timeout.
//!
//! One poll loop waits for the hook's exit (a pidfd), its stdout and stderr, and the
//! timeout, without threads — hooks also run inside the container's init. The state goes
//! through a memfd rather than a pipe, so a hook that never reads stdin cannot block us and
//! one that exits early cannot raise SIGPIPE in us.

use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::unistd::Pid;
use oci_spec::runtime::Hook;

use crate::security::sys::pidfd_open;

/// How much of a failed hook's stdout and stderr is kept for the error message.
const OUTPUT_TAIL: usize = 4096;

/// What running a hook can fail on.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The spec gave a zero or negative timeout.
    #[error("hook {path}: timeout {timeout} is not a positive number of seconds")]
    InvalidTimeout { path: PathBuf, timeout: i64 },

    /// Preparing the hook's stdin failed.
    #[error("hook {path}: passing the container state on stdin: {source}")]
    State {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The hook could not be started.
    #[error("hook {path}: cannot execute it: {source} (the path must be absolute and executable)")]
    Spawn {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Waiting for the hook failed.
    #[error("hook {path}: waiting for it: {source}")]
    Wait {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The hook ran past its timeout and was killed.
    #[error("hook {path}: killed after its timeout of {timeout}s{}", describe_output(.stdout, .stderr))]
    TimedOut {
        path: PathBuf,
        timeout: i64,
        stdout: String,
        stderr: String,
    },

    /// The hook exited unsuccessfully.
    #[error("hook {path}: {status}{}{}", describe_signal(.status), describe_output(.stdout, .stderr))]
    Failed {
        path: PathBuf,
        status: ExitStatus,
        stdout: String,
        stderr: String,
    },
}

/// Runs `hooks` in order, each with `state_json` on stdin; stops at the first failure.
pub fn run(hooks: &[Hook], state_json: &str) -> Result<(), HookError> {
    for hook in hooks {
        run_one(hook, state_json)?;
    }
    Ok(())
}

fn run_one(hook: &Hook, state_json: &str) -> Result<(), HookError> {
    let path = || hook.path().clone();
    let timeout = match hook.timeout() {
        None => None,
        Some(secs) if secs > 0 => Some(secs),
        Some(secs) => {
            return Err(HookError::InvalidTimeout {
                path: path(),
                timeout: secs,
            })
        }
    };
    let stdin = state_file(state_json).map_err(|source| HookError::State {
        path: path(),
        source,
    })?;

    let mut command = Command::new(hook.path());
    if let Some((argv0, rest)) = hook.args().as_deref().and_then(|a| a.split_first()) {
        command.arg0(argv0).args(rest);
    }
    // Like runc: a hook without `env` inherits the runtime's environment.
    if let Some(env) = hook.env() {
        command.env_clear();
        command.envs(env.iter().filter_map(|kv| kv.split_once('=')));
    }
    command
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    tracing::debug!(hook = %hook.path().display(), "running hook");
    let mut child = command.spawn().map_err(|source| HookError::Spawn {
        path: path(),
        source,
    })?;

    let outcome = wait(&mut child, timeout.map(|s| Duration::from_secs(s as u64)));
    let (exited, stdout, stderr) = match outcome {
        Ok(result) => result,
        Err(source) => {
            // Never leave the hook running behind an error.
            let _ = child.kill();
            let _ = child.wait();
            return Err(HookError::Wait {
                path: path(),
                source,
            });
        }
    };
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
        return Err(HookError::TimedOut {
            path: path(),
            timeout: timeout.unwrap_or_default(),
            stdout,
            stderr,
        });
    }
    let status = child.wait().map_err(|source| HookError::Wait {
        path: path(),
        source,
    })?;
    if !status.success() {
        return Err(HookError::Failed {
            path: path(),
            status,
            stdout,
            stderr,
        });
    }
    Ok(())
}

/// The state JSON in an anonymous file positioned at its start, to become the hook's stdin.
fn state_file(state_json: &str) -> std::io::Result<std::fs::File> {
    let mut file = std::fs::File::from(memfd_create("skiff-hook-state", MFdFlags::MFD_CLOEXEC)?);
    file.write_all(state_json.as_bytes())?;
    file.seek(SeekFrom::Start(0))?;
    Ok(file)
}

/// Collects the hook's output until it exits or `timeout` passes. Returns whether it exited,
/// and the tails of its stdout and stderr.
fn wait(child: &mut Child, timeout: Option<Duration>) -> std::io::Result<(bool, String, String)> {
    let pid = Pid::from_raw(child.id() as i32);
    let exit = pidfd_open(pid)?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    for pipe in [
        stdout.as_ref().map(AsFd::as_fd),
        stderr.as_ref().map(AsFd::as_fd),
    ]
    .into_iter()
    .flatten()
    {
        // Non-blocking, so draining after the exit cannot hang on a pipe a grandchild holds.
        fcntl(pipe, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    }
    let mut out = Tail::default();
    let mut err = Tail::default();
    let deadline = timeout.map(|t| Instant::now() + t);

    let exited = loop {
        let wait_for = match deadline {
            None => PollTimeout::NONE,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break false;
                }
                // Round up so we do not spin on a sub-millisecond remainder.
                PollTimeout::try_from(left + Duration::from_micros(999)).unwrap_or(PollTimeout::MAX)
            }
        };
        let (exit_ready, out_ready, err_ready) = {
            let mut fds = vec![PollFd::new(exit.as_fd(), PollFlags::POLLIN)];
            let out_slot = stdout.as_ref().map(|p| {
                fds.push(PollFd::new(p.as_fd(), PollFlags::POLLIN));
                fds.len() - 1
            });
            let err_slot = stderr.as_ref().map(|p| {
                fds.push(PollFd::new(p.as_fd(), PollFlags::POLLIN));
                fds.len() - 1
            });
            match poll(&mut fds, wait_for) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
            let ready = |slot: Option<usize>| {
                slot.is_some_and(|i| fds[i].revents().is_some_and(|r| !r.is_empty()))
            };
            (ready(Some(0)), ready(out_slot), ready(err_slot))
        };
        if out_ready && !out.fill_from(&mut stdout)? {
            stdout = None;
        }
        if err_ready && !err.fill_from(&mut stderr)? {
            stderr = None;
        }
        if exit_ready {
            break true;
        }
    };
    // Whatever the hook wrote before it exited is already in the pipes.
    out.fill_from(&mut stdout)?;
    err.fill_from(&mut stderr)?;
    Ok((exited, out.into_string(), err.into_string()))
}

/// The last [`OUTPUT_TAIL`] bytes written to a stream.
#[derive(Default)]
struct Tail(Vec<u8>);

impl Tail {
    /// Reads what is available without blocking. Returns false at end of stream.
    fn fill_from<R: Read>(&mut self, pipe: &mut Option<R>) -> std::io::Result<bool> {
        let Some(reader) = pipe.as_mut() else {
            return Ok(false);
        };
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.0.extend_from_slice(&buf[..n]);
                    if self.0.len() > 2 * OUTPUT_TAIL {
                        self.0.drain(..self.0.len() - OUTPUT_TAIL);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(true),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn into_string(self) -> String {
        let start = self.0.len().saturating_sub(OUTPUT_TAIL);
        String::from_utf8_lossy(&self.0[start..])
            .trim_end()
            .to_owned()
    }
}

/// What a fatal signal means, as a shell would say it (a seccomp kill shows as SIGSYS).
fn describe_signal(status: &ExitStatus) -> &'static str {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(libc::SIGSYS) => " (bad system call)",
        Some(libc::SIGSEGV) => " (segmentation fault)",
        Some(libc::SIGABRT) => " (aborted)",
        Some(libc::SIGKILL) => " (killed)",
        _ => "",
    }
}

fn describe_output(stdout: &str, stderr: &str) -> String {
    let mut text = String::new();
    if !stderr.is_empty() {
        text.push_str(&format!("; stderr: {stderr}"));
    }
    if !stdout.is_empty() {
        text.push_str(&format!("; stdout: {stdout}"));
    }
    text
}
