//! The monitor: one small process per running container (DESIGN.md, "Process model").
//!
//! `skiff __monitor ROOT ID STATUS_FD [attach]` detaches from its caller (new session, then a
//! fork so nobody has to reap it), makes itself the container's parent (it creates the
//! container through the runtime in-process, and is a child subreaper for the init), holds
//! the container's stdout/stderr pipes and writes them to the json-file log, waits for the
//! exit, records the exit code and OOM kill, applies the restart policy, and finally
//! unmounts the overlay (and removes the container with `--rm`).
//!
//! It reports to whoever started it through the status pipe: `started`, or
//! `error CODE MESSAGE` when the container could not start, and `exit CODE` at the end.
//! The caller may be gone by then; nothing depends on it.
//!
//! To stay small while the container runs, the monitor has two phases in one process:
//! the full skiff code creates and starts the container, then execs the same binary in
//! its lean waiting mode ([`wait_main`], `skiff __monitor-wait …`, which touches little
//! more than the log writer and a poll loop, so its resident memory is mostly the shared C
//! library); when the container exits, the waiting mode execs the full mode again
//! (`… exited CODE`) to record the exit, clean up and apply the restart policy. The
//! container's init stays our child across both execs; the pipes pass as inherited fds.
//!
//! To stay small while the container runs, the monitor has two phases in one process:
//! the full skiff code creates and starts the container, then execs the same binary in
//! its lean waiting mode (`skiff __monitor-wait …`, which touches little more than the
//! log writer and a poll loop, so its resident memory is mostly the shared C library);
//! when the container exits, the waiting mode execs the full mode again (`… exited
//! CODE`) to record the exit, clean up and apply the restart policy. The container's init
//! stays our child across both execs; the pipes are passed as inherited fds.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag};
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use skiff_image::overlay::{self, MountApi};
use skiff_runtime::sys::{self, Forked};
use skiff_runtime::CreateOptions;

use crate::logs::{log_path, LogWriter, Stream};
use crate::record::{ContainerRecord, Status};
use crate::runtimes::OciRuntime;
use crate::{timefmt, Engine, EngineError};

/// How long the monitor keeps reading output after the init exited (from processes that
/// outlive it, e.g. without a pid namespace of its own).
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(500);

/// How long the full monitor waits on a container itself before it execs its lean phase.
const LEAN_AFTER: Duration = Duration::from_millis(200);

/// What the monitor re-execs between its phases: our own binary even if it was replaced
/// or deleted on disk meanwhile (an upgrade while containers run).
const SELF_EXE: &str = "/proc/self/exe";

/// The hidden verb of the lean waiting phase.
pub const WAIT_VERB: &str = "__monitor-wait";

/// Runs the monitor for container `id`; returns the monitor process's exit code.
/// `exited` is set when the waiting phase hands back a container that exited with it.
pub fn main(root: &Path, id: &str, status_fd: OwnedFd, attach: bool, exited: Option<i32>) -> i32 {
    if exited.is_none() {
        let _ = nix::unistd::setsid();
        match sys::clone_fork(0, None) {
            Ok((Forked::Parent(_), _)) => return 0,
            Ok((Forked::Child, _)) => {}
            Err(e) => {
                let mut status = StatusPipe(Some(File::from(status_fd)));
                status.send(&format!("error 125 cannot fork the monitor of {id}: {e}"));
                return 125;
            }
        }
        // Kept across our execs; makes an init whose parent exits (joined namespaces) ours.
        let _ = nix::sys::prctl::set_child_subreaper(true);
        // An attached `run` blocks the signals it proxies; neither we nor the container
        // must inherit that.
        let _ = nix::sys::signal::SigSet::empty().thread_set_mask();
    }
    let mut status = StatusPipe(Some(File::from(status_fd)));
    let engine = match Engine::open(root) {
        Ok(e) => e,
        Err(e) => {
            status.send(&format!("error 125 {e}"));
            return 125;
        }
    };
    let mut monitor = Monitor {
        engine: &engine,
        id,
        status,
        attach,
        forward: [attach, attach],
    };
    match monitor.run(exited) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("monitor of {id}: {e}");
            monitor.status.send(&format!("error 125 {e}"));
            125
        }
    }
}

/// The pipe back to the starter. Writes fail quietly once it is gone.
struct StatusPipe(Option<File>);

impl StatusPipe {
    fn send(&mut self, line: &str) {
        if let Some(f) = &mut self.0 {
            let one_line = line.replace('\n', " ");
            if f.write_all(format!("{one_line}\n").as_bytes()).is_err() {
                self.0 = None;
            }
        }
    }
}

struct Monitor<'a> {
    engine: &'a Engine,
    id: &'a str,
    status: StatusPipe,
    attach: bool,
    /// Whether output still goes to our stdout/stderr (the attached caller's terminal).
    forward: [bool; 2],
}

impl Monitor<'_> {
    fn run(&mut self, mut exited: Option<i32>) -> Result<i32, EngineError> {
        let record = if exited.is_some() {
            self.engine.load_record(self.id)?
        } else {
            let me = std::process::id() as i32;
            let record = self.update(|r| {
                r.state.monitor_pid = me;
                r.state.monitor_start = skiff_runtime::state::live_process_start(me).unwrap_or(0);
                r.state.stopped_by_user = false;
            })?;
            let dir = self.engine.container_dir(self.id);
            if !overlay::is_mount_point(&dir.join("merged")) {
                overlay::mount(&dir, &record.lowers, MountApi::Auto)?;
            }
            record
        };
        let code = loop {
            let code = match exited.take() {
                Some(code) => code,
                None => match self.run_once(&record)? {
                    Ok(code) => code,
                    // Could not start: already recorded and cleaned up.
                    Err(code) => return Ok(code),
                },
            };
            let oom_killed = self.oom_killed();
            let _ = self
                .engine
                .oci_runtime(&record.config.runtime)
                .delete(self.id, true);
            let mut restart = false;
            let record = self.update_with(!record.config.auto_remove, |r| {
                r.state.pid = 0;
                r.state.exit_code = code;
                r.state.oom_killed = oom_killed;
                r.state.finished_at = Some(timefmt::now());
                restart = r.config.restart.should_restart(
                    code,
                    r.state.restart_count,
                    r.state.stopped_by_user,
                );
                if restart {
                    r.state.status = Status::Restarting;
                    r.state.restart_count += 1;
                } else {
                    r.state.status = Status::Exited;
                }
            })?;
            if !restart {
                self.finish(&record);
                break code;
            }
            // Docker's back-off: 100 ms doubling per restart, from 100 ms again after a
            // run of 10 s or more.
            let ran = record
                .state
                .started_at
                .as_deref()
                .and_then(timefmt::parse_rfc3339)
                .map(timefmt::since);
            let doubling = if ran.is_some_and(|r| r >= Duration::from_secs(10)) {
                0
            } else {
                record.state.restart_count.saturating_sub(1).min(9)
            };
            std::thread::sleep(
                (Duration::from_millis(100) * 2u32.pow(doubling)).min(Duration::from_secs(60)),
            );
            // A `stop` during the back-off wins.
            if self.engine.load_record(self.id)?.state.stopped_by_user {
                let record = self.update(|r| r.state.status = Status::Exited)?;
                self.finish(&record);
                break code;
            }
        };
        self.status.send(&format!("exit {code}"));
        Ok(code)
    }

    /// Starts the container once and waits for it: by exec'ing the lean waiting phase
    /// (which does not return here: it execs the full mode again with the exit code), or
    /// in this process if that exec fails. `Ok(Err(code))`: it could not start.
    fn run_once(&mut self, record: &ContainerRecord) -> Result<Result<i32, i32>, EngineError> {
        let (pid, pipes) = match self.start_container(record) {
            Ok(started) => started,
            Err((code, message)) => {
                let _ = self
                    .engine
                    .oci_runtime(&record.config.runtime)
                    .delete(self.id, true);
                let record = self.update(|r| {
                    r.state.status = if r.state.started_at.is_some() {
                        Status::Exited
                    } else {
                        Status::Created
                    };
                    r.state.exit_code = code;
                    r.state.error = message.clone();
                    r.state.pid = 0;
                })?;
                self.status.send(&format!("error {code} {message}"));
                self.finish(&record);
                return Ok(Err(code));
            }
        };
        self.update(|r| {
            r.state.status = Status::Running;
            r.state.pid = pid.as_raw();
            r.state.started_at = Some(timefmt::now());
            r.state.error.clear();
            r.state.oom_killed = false;
        })?;
        self.status.send("started");

        let dir = self.engine.container_dir(self.id);
        let log_file = log_path(&dir, self.id);
        let mut log = LogWriter::open(
            log_file.clone(),
            record.config.log_max_size,
            record.config.log_max_file,
        )
        .map_err(|source| EngineError::Io {
            action: "open the log",
            path: log_file,
            source,
        })?;
        // Short-lived containers (`run --rm … true`) are done before it pays to go lean.
        let mut pipes = pipes;
        let deadline = Instant::now() + LEAN_AFTER;
        if let Some(code) =
            supervise_until(pid, &mut pipes, &mut log, &mut self.forward, Some(deadline))
        {
            return Ok(Ok(code));
        }
        drop(log);
        if std::env::var_os("SKIFF_MONITOR_IN_PROCESS").is_none() {
            let failed = self.exec_wait_phase(record, pid, &pipes);
            tracing::warn!(
                "cannot exec the monitor's waiting phase ({failed}); waiting in the full process"
            );
        }
        let log_file = log_path(&dir, self.id);
        let mut log = LogWriter::open(
            log_file.clone(),
            record.config.log_max_size,
            record.config.log_max_file,
        )
        .map_err(|source| EngineError::Io {
            action: "open the log",
            path: log_file,
            source,
        })?;
        Ok(Ok(supervise(pid, pipes, &mut log, &mut self.forward)))
    }

    /// Replaces this process with `skiff __monitor-wait ROOT ID STATUS MODE PID OUT ERR IN
    /// MAX_SIZE MAX_FILE`; returns only on failure, with the error.
    fn exec_wait_phase(&self, record: &ContainerRecord, pid: Pid, pipes: &Pipes) -> std::io::Error {
        let status = self.status.0.as_ref().map_or(-1, |f| f.as_raw_fd());
        if let Some(f) = &self.status.0 {
            if let Err(e) = nix::fcntl::fcntl(f, FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty())) {
                return e.into();
            }
        }
        let fd_arg = |fd: Option<&OwnedFd>| -> std::io::Result<String> {
            match fd {
                Some(fd) => {
                    // Inherited across the exec: clear close-on-exec.
                    nix::fcntl::fcntl(fd, FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()))?;
                    Ok(fd.as_raw_fd().to_string())
                }
                None => Ok("-1".to_string()),
            }
        };
        let args = (|| -> std::io::Result<Vec<String>> {
            Ok(vec![
                WAIT_VERB.to_string(),
                self.engine.root().display().to_string(),
                self.id.to_string(),
                status.to_string(),
                if self.attach { "attach" } else { "detached" }.to_string(),
                pid.as_raw().to_string(),
                fd_arg(pipes.out.as_ref())?,
                fd_arg(pipes.err.as_ref())?,
                fd_arg(pipes.stdin.as_ref())?,
                record
                    .config
                    .log_max_size
                    .map_or("-".to_string(), |s| s.to_string()),
                record.config.log_max_file.to_string(),
            ])
        })();
        let args = match args {
            Ok(a) => a,
            Err(e) => return e,
        };
        std::process::Command::new(SELF_EXE).args(args).exec()
    }

    /// Creates and starts the container with pipes for its stdio; its init is our child.
    /// On failure: the exit code docker would give (126/127 when the command cannot be run)
    /// and the message.
    fn start_container(&self, record: &ContainerRecord) -> Result<(Pid, Pipes), (i32, String)> {
        let pipe = || {
            nix::unistd::pipe2(OFlag::O_CLOEXEC)
                .map_err(|e| (125, format!("cannot create a pipe: {e}")))
        };
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        let (stdin_child, stdin_w) = if record.config.open_stdin && self.attach {
            let (r, w) = pipe()?;
            (r, Some(w))
        } else {
            let null = File::open("/dev/null")
                .map_err(|e| (125, format!("cannot open /dev/null: {e}")))?;
            (OwnedFd::from(null), None)
        };
        // With -t the runtime hands us the pty master over a console socket during create.
        let console = if record.config.spec.tty {
            Some(ConsoleSocket::bind().map_err(|e| (125, e))?)
        } else {
            None
        };
        let opts = CreateOptions {
            id: self.id.to_string(),
            bundle: self.engine.container_dir(self.id),
            console_socket: console.as_ref().map(|c| c.path.clone()),
            ..Default::default()
        };
        let runtime = self.engine.oci_runtime(&record.config.runtime);
        let pid = match &runtime {
            OciRuntime::Skiff(rt) => {
                // The init inherits fds 0-2 across the clone: point them at the pipes for
                // the duration of the create, then restore ours.
                let created =
                    with_stdio([stdin_child.as_fd(), out_w.as_fd(), err_w.as_fd()], || {
                        rt.create(&opts)
                    })
                    .map_err(|e| (125, format!("cannot redirect stdio: {e}")))?;
                drop((stdin_child, out_w, err_w));
                created.map_err(|e| {
                    classify_start_error(&e, &self.engine.container_dir(self.id), record)
                })?
            }
            OciRuntime::External { .. } => runtime
                .create_external(
                    self.id,
                    &opts.bundle,
                    opts.console_socket.as_deref(),
                    [stdin_child, out_w, err_w],
                )
                .map_err(|e| {
                    (
                        if e.to_string().contains("executable file not found") {
                            127
                        } else {
                            125
                        },
                        e.to_string(),
                    )
                })?,
        };
        let pipes = match console {
            Some(console) => {
                let master = console.receive().map_err(|e| (125, e))?;
                if self.attach {
                    copy_window_size(&master);
                }
                let input = if self.attach && record.config.open_stdin {
                    Some(
                        master
                            .try_clone()
                            .map_err(|e| (125, format!("cannot dup the pty master: {e}")))?,
                    )
                } else {
                    None
                };
                Pipes {
                    out: Some(master),
                    err: None,
                    stdin: input,
                }
            }
            None => Pipes {
                out: Some(out_r),
                err: Some(err_r),
                stdin: stdin_w,
            },
        };
        if let Err(e) = runtime.start(self.id) {
            return Err((125, e.to_string()));
        }
        Ok((Pid::from_raw(pid), pipes))
    }

    /// Whether the OOM killer struck in the container's cgroup (read before deleting it).
    fn oom_killed(&self) -> bool {
        // The bundle's spec names the cgroup for every runtime (external ones get an
        // explicit cgroupsPath at create).
        let spec: Option<oci_spec::runtime::Spec> =
            std::fs::read(self.engine.container_dir(self.id).join("config.json"))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
        spec.and_then(|s| skiff_runtime::cgroups::Cgroup::for_spec(&s, self.id).ok())
            .and_then(|cg| cg.oom_kill_count().ok())
            .is_some_and(|n| n > 0)
    }

    /// The container is done for good: unmount its overlay, remove it with `--rm`.
    fn finish(&self, record: &ContainerRecord) {
        if record.config.auto_remove {
            if let Err(e) = self.engine.remove_stopped(self.id) {
                tracing::warn!("cannot remove container {}: {e}", self.id);
            }
            return;
        }
        let merged = self.engine.container_dir(self.id).join("merged");
        if overlay::unmount_overlay(&merged, false).is_err() {
            let _ = overlay::unmount_overlay(&merged, true);
        }
    }

    fn update(
        &self,
        change: impl FnOnce(&mut ContainerRecord),
    ) -> Result<ContainerRecord, EngineError> {
        self.update_with(false, change)
    }

    fn update_with(
        &self,
        durable: bool,
        change: impl FnOnce(&mut ContainerRecord),
    ) -> Result<ContainerRecord, EngineError> {
        let _lock = self.engine.lock_container(self.id)?;
        let mut record = self.engine.load_record(self.id)?;
        change(&mut record);
        self.engine.save_record_durable(&record, durable)?;
        Ok(record)
    }
}

/// What the waiting phase is handed on its command line.
pub struct WaitArgs {
    pub root: std::path::PathBuf,
    pub id: String,
    pub status: OwnedFd,
    pub attach: bool,
    pub pid: i32,
    pub out: Option<OwnedFd>,
    pub err: Option<OwnedFd>,
    pub stdin: Option<OwnedFd>,
    pub max_size: Option<u64>,
    pub max_file: u32,
}

/// The lean waiting phase: copies the container's output to its log (and an attached
/// caller) until the init exits, then execs the full monitor with the exit code. Returns
/// only if that exec fails (then the exit is lost: the record shows the monitor died).
pub fn wait_main(args: WaitArgs) -> i32 {
    let pid = Pid::from_raw(args.pid);
    let dir = args.root.join("containers").join(&args.id);
    let code = match LogWriter::open(log_path(&dir, &args.id), args.max_size, args.max_file) {
        Ok(mut log) => {
            let pipes = Pipes {
                out: args.out,
                err: args.err,
                stdin: args.stdin,
            };
            let mut forward = [args.attach, args.attach];
            supervise(pid, pipes, &mut log, &mut forward)
        }
        // Without a log, still wait for the exit so that it is recorded.
        Err(_) => reap(pid),
    };
    // Hand the status pipe on (it may be a /dev/null stand-in opened close-on-exec).
    let _ = nix::fcntl::fcntl(&args.status, FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()));
    let error = std::process::Command::new(SELF_EXE)
        .arg(crate::containers::MONITOR_VERB)
        .arg(&args.root)
        .arg(&args.id)
        .arg(args.status.as_raw_fd().to_string())
        .arg(if args.attach { "attach" } else { "detached" })
        .arg("exited")
        .arg(code.to_string())
        .exec();
    let _ = error;
    125
}

/// Copies output to the log (and to an attached caller while `forward` says so) until the
/// init exits, then reaps it. Returns docker's exit code for it.
fn supervise(pid: Pid, pipes: Pipes, log: &mut LogWriter, forward: &mut [bool; 2]) -> i32 {
    let mut pipes = pipes;
    supervise_until(pid, &mut pipes, log, forward, None).unwrap_or_else(|| reap(pid))
}

/// [`supervise`] that gives up at `deadline` while the init still runs (`None`), leaving
/// the pipes open and the log's partial lines flushed.
fn supervise_until(
    pid: Pid,
    pipes: &mut Pipes,
    log: &mut LogWriter,
    forward: &mut [bool; 2],
    deadline: Option<Instant>,
) -> Option<i32> {
    let pidfd = sys::pidfd_open(pid).ok();
    let mut status: Option<i32> = None;
    let mut exited_at: Option<Instant> = None;
    let mut stdin_open = pipes.stdin.is_some();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if status.is_some() && pipes.out.is_none() && pipes.err.is_none() {
            break;
        }
        let timeout = match exited_at {
            Some(t) => {
                let left = DRAIN_AFTER_EXIT.saturating_sub(t.elapsed());
                if left.is_zero() {
                    break;
                }
                PollTimeout::try_from(left.as_millis() as i32).unwrap_or(PollTimeout::ZERO)
            }
            None if pidfd.is_none() => PollTimeout::from(100u16),
            None => match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        let _ = log.flush_partial(Stream::Stdout);
                        let _ = log.flush_partial(Stream::Stderr);
                        return None;
                    }
                    PollTimeout::try_from(left.as_millis() as i32 + 1).unwrap_or(PollTimeout::ZERO)
                }
                None => PollTimeout::NONE,
            },
        };
        // Slots: 0 stdout, 1 stderr, 2 the init's pidfd, 3 our stdin.
        let stdin_fd = std::io::stdin();
        let fds: [Option<BorrowedFd>; 4] = [
            pipes.out.as_ref().map(|f| f.as_fd()),
            pipes.err.as_ref().map(|f| f.as_fd()),
            pidfd
                .as_ref()
                .filter(|_| status.is_none())
                .map(|f| f.as_fd()),
            stdin_open.then(|| stdin_fd.as_fd()),
        ];
        let mut slots = [0usize; 4];
        let mut polled = Vec::with_capacity(4);
        for (slot, fd) in fds.iter().enumerate() {
            if let Some(fd) = fd {
                slots[polled.len()] = slot;
                polled.push(PollFd::new(*fd, PollFlags::POLLIN));
            }
        }
        match nix::poll::poll(&mut polled, timeout) {
            Err(Errno::EINTR) => continue,
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
            Ok(_) => {}
        }
        let mut ready = [false; 4];
        for (i, p) in polled.iter().enumerate() {
            ready[slots[i]] = p.revents().is_some_and(|r| !r.is_empty());
        }
        drop(polled);
        for slot in (0..4).filter(|s| ready[*s]) {
            match slot {
                0 | 1 => {
                    let stream = if slot == 0 {
                        Stream::Stdout
                    } else {
                        Stream::Stderr
                    };
                    let pipe = if slot == 0 {
                        &mut pipes.out
                    } else {
                        &mut pipes.err
                    };
                    let n = match pipe.as_ref().map(|p| nix::unistd::read(p, &mut buf)) {
                        Some(Ok(n)) => n,
                        Some(Err(Errno::EINTR | Errno::EAGAIN)) => continue,
                        _ => 0,
                    };
                    if n == 0 {
                        *pipe = None;
                        let _ = log.flush_partial(stream);
                        continue;
                    }
                    if let Err(e) = log.write(stream, &buf[..n]) {
                        tracing::warn!("cannot write the container's log: {e}");
                    }
                    forward_output(forward, slot, &buf[..n]);
                }
                2 => {
                    status = Some(reap(pid));
                    exited_at = Some(Instant::now());
                }
                _ => {
                    let n = std::io::stdin().read(&mut buf).unwrap_or(0);
                    let target = pipes.stdin.as_ref();
                    if n == 0 || target.is_none_or(|w| nix::unistd::write(w, &buf[..n]).is_err()) {
                        // EOF on our stdin closes the container's, as docker's attach does.
                        stdin_open = false;
                        pipes.stdin = None;
                    }
                }
            }
        }
        if status.is_none() && pidfd.is_none() {
            match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(_, code)) => status = Some(code),
                Ok(WaitStatus::Signaled(_, signal, _)) => status = Some(128 + signal as i32),
                _ => {}
            }
            if status.is_some() {
                exited_at = Some(Instant::now());
            }
        }
    }
    let _ = log.flush_partial(Stream::Stdout);
    let _ = log.flush_partial(Stream::Stderr);
    let code = status.unwrap_or_else(|| reap(pid));
    reap_orphans();
    Some(code)
}

/// Copies container output to our own stdout/stderr (the attached caller's) until that
/// fails: then the caller went away, and the container keeps running, logs continue.
fn forward_output(forward: &mut [bool; 2], slot: usize, data: &[u8]) {
    if !forward[slot] {
        return;
    }
    let ok = if slot == 0 {
        std::io::stdout()
            .write_all(data)
            .and_then(|_| std::io::stdout().flush())
    } else {
        std::io::stderr().write_all(data)
    };
    if ok.is_err() {
        forward[slot] = false;
    }
}

/// The container side of its stdio, held by the monitor.
struct Pipes {
    out: Option<OwnedFd>,
    err: Option<OwnedFd>,
    stdin: Option<OwnedFd>,
}

/// A listening unix socket the runtime connects to with the container's pty master.
struct ConsoleSocket {
    path: std::path::PathBuf,
    listener: std::os::unix::net::UnixListener,
}

impl ConsoleSocket {
    /// Binds a socket in the temp dir (container dirs can be too deep for a socket path).
    fn bind() -> Result<ConsoleSocket, String> {
        let path = std::env::temp_dir().join(format!("skiff-console-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = std::os::unix::net::UnixListener::bind(&path).map_err(|e| {
            format!(
                "cannot listen on the console socket {}: {e}",
                path.display()
            )
        })?;
        Ok(ConsoleSocket { path, listener })
    }

    /// Accepts the runtime's connection and takes the pty master it sent (SCM_RIGHTS).
    fn receive(self) -> Result<OwnedFd, String> {
        use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
        let _ = std::fs::remove_file(&self.path);
        let (conn, _) = self
            .listener
            .accept()
            .map_err(|e| format!("cannot accept the console socket: {e}"))?;
        let mut buf = [0u8; 4096];
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let msg = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(|e| format!("cannot receive the pty master: {e}"))?;
        for cmsg in msg
            .cmsgs()
            .map_err(|e| format!("cannot read the pty master message: {e}"))?
        {
            if let ControlMessageOwned::ScmRights(fds) = cmsg {
                if let Some(fd) = fds.first() {
                    return Ok(sys::own_received_fd(*fd));
                }
            }
        }
        Err("the runtime sent no pty master over the console socket".into())
    }
}

/// Gives the container's terminal the size of ours (the attached caller's), if we have one.
fn copy_window_size(master: &OwnedFd) {
    if let Ok(size) = rustix::termios::tcgetwinsize(std::io::stdin()) {
        let _ = sys::set_window_size(master.as_fd(), size.ws_row, size.ws_col);
    }
}

/// Runs `f` with fds 0, 1, 2 pointing at `fds`, then puts the originals back.
fn with_stdio<T>(fds: [BorrowedFd<'_>; 3], f: impl FnOnce() -> T) -> Result<T, Errno> {
    let saved: Vec<OwnedFd> = (0..3)
        .map(|n| {
            // The starter always gives us fds 0-2 (/dev/null or its own stdio).
            let fd = match n {
                0 => std::io::stdin().as_fd().try_clone_to_owned(),
                1 => std::io::stdout().as_fd().try_clone_to_owned(),
                _ => std::io::stderr().as_fd().try_clone_to_owned(),
            };
            fd.map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc_ebadf())))
        })
        .collect::<Result<_, _>>()?;
    for fd in &saved {
        nix::fcntl::fcntl(fd, FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC))?;
    }
    nix::unistd::dup2_stdin(fds[0])?;
    nix::unistd::dup2_stdout(fds[1])?;
    nix::unistd::dup2_stderr(fds[2])?;
    let result = f();
    nix::unistd::dup2_stdin(&saved[0])?;
    nix::unistd::dup2_stdout(&saved[1])?;
    nix::unistd::dup2_stderr(&saved[2])?;
    debug_assert!(saved.iter().all(|f| f.as_raw_fd() > 2));
    Ok(result)
}

fn libc_ebadf() -> i32 {
    Errno::EBADF as i32
}

/// Reaps `pid` and turns its end into docker's exit code (128 + signal when killed).
fn reap(pid: Pid) -> i32 {
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, code)) => return code,
            Ok(WaitStatus::Signaled(_, signal, _)) => return 128 + signal as i32,
            Err(Errno::EINTR) => continue,
            Ok(_) => continue,
            Err(_) => return 255,
        }
    }
}

/// Reaps processes reparented to us (we are a subreaper) that have exited.
fn reap_orphans() {
    while let Ok(status) = waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
        if status == WaitStatus::StillAlive {
            break;
        }
    }
}

/// Docker's exit codes for a container that could not start: 127 when the command does
/// not exist, 126 when it exists but cannot be executed, 125 otherwise.
fn classify_start_error(
    e: &skiff_runtime::Error,
    dir: &Path,
    record: &ContainerRecord,
) -> (i32, String) {
    let message = e.to_string();
    if let skiff_runtime::Error::Init {
        message: init_message,
        ..
    } = e
    {
        if init_message.starts_with("exec: ") {
            let rootfs = dir.join("merged");
            let code = if crate::containers::program_exists(&rootfs, &record.path) {
                126
            } else {
                127
            };
            return (code, message);
        }
    }
    (125, message)
}
