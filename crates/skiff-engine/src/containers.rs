//! The container lifecycle: create (record, overlay, OCI bundle), start (a detached monitor
//! that owns the container), stop, kill, remove, wait, pause, rename, exec …
//!
//! A container lives in `<root>/containers/<id>/`: `container.json` (the record, see
//! [`crate::record`]), `config.json` (the OCI bundle's spec), `upper/ work/ merged/` (its
//! overlay), `<id>-json.log` (its logs) and `lock`. The runtime's own state for it is under
//! the engine's runtime root, by the same id.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use skiff_image::overlay::{self, MountApi};
use skiff_image::Reference;

use crate::record::{validate_name, write_atomic, ContainerRecord, RunConfig, State, Status};
use crate::spec::container_spec;
use crate::{timefmt, Engine, EngineError};

/// The hidden verb the skiff binary runs a monitor under:
/// `skiff __monitor ROOT ID STATUS_FD attach|detached [exited CODE]`.
pub const MONITOR_VERB: &str = "__monitor";

/// Docker's default grace period between the stop signal and SIGKILL.
pub const DEFAULT_STOP_TIMEOUT: i64 = 10;

/// What `skiff create`/`skiff run` asks for.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    pub image: String,
    /// `--name`; a generated one when empty.
    pub name: Option<String>,
    pub config: RunConfig,
}

/// How `start` connects the caller to the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attach {
    /// Detached (`-d`, `skiff start`): output only goes to the log.
    No,
    /// The caller's stdio is the container's (`run` without `-d`, `start -a`): the monitor
    /// copies output there as well as to the log, and stdin from there with `-i`.
    Stdio,
}

/// A started container whose caller waits for its exit (attached `run`).
pub struct Started {
    pub id: String,
    status: BufReader<fs::File>,
}

impl Started {
    /// The status pipe, for callers that wait on it alongside other fds.
    pub fn status_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.status.get_ref().as_fd()
    }

    /// Whether a status line is already buffered (then polling the fd would not see it).
    pub fn has_buffered_status(&self) -> bool {
        !self.status.buffer().is_empty()
    }

    /// Waits for the container's exit code as the monitor reports it (after `--rm` cleanup).
    /// `None` if the monitor died without saying (killed).
    pub fn wait_exit(mut self) -> Option<i32> {
        let mut line = String::new();
        loop {
            line.clear();
            match self.status.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {
                    if let Some(code) = line.trim_end().strip_prefix("exit ") {
                        return code.parse().ok();
                    }
                }
            }
        }
    }
}

impl Engine {
    /// Creates a container: resolves the image, reserves the name, mounts the overlay,
    /// writes the OCI bundle and the record. Returns the new id.
    pub fn create(&self, req: &CreateRequest) -> Result<String, EngineError> {
        let reference = Reference::parse(&req.image).map_err(|e| EngineError::BadReference {
            reference: req.image.clone(),
            reason: e.to_string(),
        })?;
        // Pull on demand, as `docker run` does.
        let digest = match self.images.resolve(&reference)? {
            Some(digest) => digest,
            None => self.pull_missing(&reference)?,
        };
        let image = self.images.image(&digest)?;
        let lowers = self.images.unpack(&image)?;
        let durable = !req.config.auto_remove;

        let id = new_container_id()?;
        let dir = self.container_dir(&id);
        let mut record = ContainerRecord {
            id: id.clone(),
            name: String::new(),
            created: timefmt::now(),
            image: req.image.clone(),
            image_id: format!("sha256:{}", image.id().hex()),
            lowers,
            path: String::new(),
            args: Vec::new(),
            config: req.config.clone(),
            state: State::default(),
        };
        if record.config.spec.hostname.is_empty() {
            record.config.spec.hostname = id[..12].to_string();
        }

        let mut guard = CreateGuard {
            dir: dir.clone(),
            armed: true,
        };
        {
            // The name is taken once a record carrying it exists; the lock makes the check
            // and the write one step.
            let _names = self.lock_names()?;
            record.name = match &req.name {
                Some(name) => {
                    let name = name.strip_prefix('/').unwrap_or(name).to_string();
                    validate_name(&name)?;
                    if let Some(other) = self.find_name(&name)? {
                        return Err(EngineError::NameConflict { name, id: other });
                    }
                    name
                }
                None => self.generate_name()?,
            };
            fs::create_dir(&dir).map_err(|source| EngineError::Io {
                action: "create",
                path: dir.clone(),
                source,
            })?;
            self.save_record_durable(&record, false)?;
        }

        let dirs = overlay::mount(&dir, &record.lowers, MountApi::Auto)?;
        let image_config = image.config.config().clone().unwrap_or_default();
        let mut spec = container_spec(&image_config, &dirs.merged, &record.config.spec)?;
        let runtime = self.oci_runtime(&record.config.runtime);
        if let crate::runtimes::OciRuntime::External { .. } = runtime {
            runtime.check()?;
            // The cgroup skiff's own runtime would use, so that OOM kills are found alike.
            if let Some(linux) = spec.linux_mut() {
                linux.set_cgroups_path(Some(format!("/skiff/{id}").into()));
            }
        }
        let args = spec
            .process()
            .as_ref()
            .and_then(|p| p.args().clone())
            .unwrap_or_default();
        record.path = args.first().cloned().unwrap_or_default();
        record.args = args.into_iter().skip(1).collect();
        let json = serde_json::to_vec_pretty(&spec).expect("an OCI spec always serializes");
        write_atomic(&dir, "config.json", &json, durable)?;
        self.save_record_durable(&record, durable)?;
        guard.armed = false;
        Ok(id)
    }

    pub(crate) fn save_record_durable(
        &self,
        record: &ContainerRecord,
        durable: bool,
    ) -> Result<(), EngineError> {
        let json = serde_json::to_vec_pretty(record).expect("a record always serializes");
        write_atomic(
            &self.container_dir(&record.id),
            crate::record::RECORD_FILE,
            &json,
            durable,
        )
    }

    /// Starts a created or exited container under a new monitor. Returns once the
    /// container runs (or failed to start, with the error docker would give and its exit
    /// code: 126/127 when the command cannot be run).
    pub fn start(&self, id: &str, attach: Attach) -> Result<Started, EngineError> {
        let record = self.load_record(id)?;
        let state = record.live_state();
        match state.status {
            Status::Running | Status::Restarting | Status::Paused if record.monitor_alive() => {
                return Err(EngineError::AlreadyRunning { id: id.to_string() });
            }
            _ => {}
        }
        // A monitor that died left the runtime's container behind: clear it first.
        let _ = self.oci_runtime(&record.config.runtime).delete(id, true);

        let (status_read, status_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| EngineError::Io {
                action: "create the monitor's status pipe for",
                path: self.container_dir(id),
                source: e.into(),
            })?;
        // The monitor's copy must survive exec: a dup is not close-on-exec.
        let inherited = nix::unistd::dup(status_write.as_fd()).map_err(|e| EngineError::Io {
            action: "dup the status pipe for",
            path: self.container_dir(id),
            source: e.into(),
        })?;
        drop(status_write);
        let exe = std::env::current_exe().map_err(|source| EngineError::Io {
            action: "find the skiff binary",
            path: "/proc/self/exe".into(),
            source,
        })?;
        let mut command = Command::new(&exe);
        command
            .arg(MONITOR_VERB)
            .arg(&self.root)
            .arg(id)
            .arg(std::os::fd::AsRawFd::as_raw_fd(&inherited).to_string());
        match attach {
            Attach::No => {
                command
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
            }
            Attach::Stdio => {
                command.arg("attach");
            }
        }
        let mut child = command.spawn().map_err(|source| EngineError::Io {
            action: "start the monitor",
            path: exe.clone(),
            source,
        })?;
        drop(inherited);
        let mut status = BufReader::new(fs::File::from(status_read));
        let mut line = String::new();
        let _ = status.read_line(&mut line);
        // The monitor forked away at once (so nobody has to reap it); reap the first half
        // (after reading, so that its exit overlaps the container's start).
        let _ = child.wait();
        let line = line.trim_end();
        if line == "started" {
            return Ok(Started {
                id: id.to_string(),
                status,
            });
        }
        match line
            .strip_prefix("error ")
            .and_then(|rest| rest.split_once(' '))
        {
            Some((code, message)) => Err(EngineError::StartFailed {
                id: id.to_string(),
                code: code.parse().unwrap_or(125),
                message: message.to_string(),
            }),
            None => Err(EngineError::StartFailed {
                id: id.to_string(),
                code: 125,
                message:
                    "the monitor exited before starting the container; run with --log-level debug"
                        .into(),
            }),
        }
    }

    /// `stop`: the stop signal, then SIGKILL after `timeout` seconds (the container's own
    /// `--stop-timeout`, else 10). The restart policy does not restart it.
    pub fn stop(
        &self,
        id: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<(), EngineError> {
        let (record, ()) = self.update_record(id, |r| {
            if r.state.status.is_active() {
                r.state.stopped_by_user = true;
            }
        })?;
        if !record.live_state().status.is_active() {
            return Ok(());
        }
        let signal_name = signal
            .or(record.config.stop_signal.as_deref())
            .unwrap_or("SIGTERM");
        let signal = skiff_runtime::parse_signal(signal_name)?;
        let timeout = timeout
            .or(record.config.stop_timeout)
            .unwrap_or(DEFAULT_STOP_TIMEOUT);
        let runtime = self.oci_runtime(&record.config.runtime);
        if record.state.status == Status::Paused {
            let _ = runtime.resume(id);
        }
        if timeout != 0 {
            let _ = runtime.kill(id, signal, false);
            let wait = if timeout < 0 {
                None
            } else {
                Some(Duration::from_secs(timeout as u64))
            };
            if self.wait_not_running(id, wait)? {
                return Ok(());
            }
        }
        let _ = runtime.kill(id, libc_sigkill(), true);
        self.wait_not_running(id, Some(Duration::from_secs(10)))?;
        Ok(())
    }

    /// `kill`: sends `signal` to the container's init. The restart policy still applies
    /// unless it is SIGKILL or SIGTERM sent by the user, as in docker.
    pub fn kill(&self, id: &str, signal: &str) -> Result<(), EngineError> {
        let signal = skiff_runtime::parse_signal(signal)?;
        let record = self.load_record(id)?;
        if !record.live_state().status.is_active() {
            return Err(EngineError::NotRunning { id: id.to_string() });
        }
        self.oci_runtime(&record.config.runtime)
            .kill(id, signal, false)?;
        Ok(())
    }

    /// Waits until the container is not running (its monitor recorded the exit or is
    /// gone). Returns false on timeout.
    pub fn wait_not_running(
        &self,
        id: &str,
        timeout: Option<Duration>,
    ) -> Result<bool, EngineError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut pause = Duration::from_millis(2);
        loop {
            match self.load_record(id) {
                Ok(r) if r.live_state().status.is_active() => {}
                Ok(_) | Err(EngineError::NoSuchContainer { .. }) => return Ok(true),
                Err(e) => return Err(e),
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// `wait`: blocks until the container stops and returns its exit code.
    pub fn wait(&self, id: &str) -> Result<i32, EngineError> {
        // A restarting container counts as running: docker's wait returns on "not-running".
        self.wait_not_running(id, None)?;
        match self.load_record(id) {
            Ok(r) => Ok(r.live_state().exit_code),
            // Removed by --rm meanwhile: docker reports the exit code it saw; we no longer can.
            Err(EngineError::NoSuchContainer { .. }) => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// `rm`: removes a stopped container (a running one with `force`, killed first): its
    /// runtime state, overlay, logs and directory.
    pub fn remove(&self, id: &str, force: bool) -> Result<(), EngineError> {
        let record = self.load_record(id)?;
        let state = record.live_state();
        if state.status.is_active() {
            if !force {
                return Err(EngineError::RemoveRunning { id: id.to_string() });
            }
            let _ = self.update_record(id, |r| r.state.stopped_by_user = true);
            let _ = self
                .oci_runtime(&record.config.runtime)
                .kill(id, libc_sigkill(), true);
            // A live monitor records the exit (and removes an --rm container itself).
            if record.monitor_alive() {
                let _ = self.wait_not_running(id, Some(Duration::from_secs(10)));
                if let Some(pid) = Some(record.state.monitor_pid).filter(|_| record.monitor_alive())
                {
                    wait_pid_gone(pid, Duration::from_secs(5));
                }
            }
        }
        self.remove_stopped(id)
    }

    /// Removes what a stopped container leaves: runtime state, mounts, directory.
    pub(crate) fn remove_stopped(&self, id: &str) -> Result<(), EngineError> {
        let runtime = self
            .load_record(id)
            .map(|r| r.config.runtime)
            .unwrap_or_default();
        let _ = self.oci_runtime(&runtime).delete(id, true);
        let dir = self.container_dir(id);
        if !dir.exists() {
            return Ok(());
        }
        let merged = dir.join("merged");
        if overlay::is_mount_point(&merged) {
            if let Err(e) = overlay::unmount_overlay(&merged, false) {
                tracing::warn!("{e}; detaching it lazily");
                overlay::unmount_overlay(&merged, true)?;
            }
        }
        fs::remove_dir_all(&dir).map_err(|source| EngineError::Io {
            action: "remove",
            path: dir,
            source,
        })
    }

    /// `pause` / `unpause`: freezes or thaws every process of the container.
    pub fn pause(&self, id: &str, pause: bool) -> Result<(), EngineError> {
        let _lock = self.lock_container(id)?;
        let mut record = self.load_record(id)?;
        let status = record.live_state().status;
        match (pause, status) {
            (true, Status::Running) => self.oci_runtime(&record.config.runtime).pause(id)?,
            (false, Status::Paused) => self.oci_runtime(&record.config.runtime).resume(id)?,
            (true, Status::Paused) => {
                return Err(EngineError::WrongState {
                    id: id.to_string(),
                    what: "is already paused",
                })
            }
            (false, _) => {
                return Err(EngineError::WrongState {
                    id: id.to_string(),
                    what: "is not paused",
                })
            }
            (true, _) => return Err(EngineError::NotRunning { id: id.to_string() }),
        }
        record.state.status = if pause {
            Status::Paused
        } else {
            Status::Running
        };
        self.save_record_durable(&record, false)
    }

    /// `rename`.
    pub fn rename(&self, id: &str, new_name: &str) -> Result<(), EngineError> {
        let new_name = new_name.strip_prefix('/').unwrap_or(new_name);
        validate_name(new_name)?;
        let _names = self.lock_names()?;
        if let Some(other) = self.find_name(new_name)? {
            return Err(EngineError::NameConflict {
                name: new_name.to_string(),
                id: other,
            });
        }
        self.update_record(id, |r| r.name = new_name.to_string())?;
        Ok(())
    }

    /// Pids of every process in the running container (for `top`).
    pub fn pids(&self, id: &str) -> Result<Vec<i32>, EngineError> {
        let record = self.load_record(id)?;
        if !record.live_state().status.is_active() {
            return Err(EngineError::NotRunning { id: id.to_string() });
        }
        self.oci_runtime(&record.config.runtime).pids(id)
    }

    /// The container's cgroup statistics (for `stats`).
    pub fn stats(&self, id: &str) -> Result<skiff_runtime::cgroups::Stats, EngineError> {
        self.oci_runtime(&self.load_record(id)?.config.runtime)
            .unsupported("stats")?;
        Ok(self.runtime.stats(id)?)
    }

    /// `update`: new resource limits for a running container.
    pub fn update_resources(
        &self,
        id: &str,
        resources: &oci_spec::runtime::LinuxResources,
    ) -> Result<(), EngineError> {
        self.oci_runtime(&self.load_record(id)?.config.runtime)
            .unsupported("update")?;
        Ok(self.runtime.update(id, resources)?)
    }

    /// `exec` in the foreground with the caller's stdio (the caller must be
    /// single-threaded): returns the process's exit code.
    pub fn exec(&self, id: &str, opts: &ExecRequest) -> Result<i32, EngineError> {
        let record = self.load_record(id)?;
        self.oci_runtime(&record.config.runtime)
            .unsupported("exec")?;
        match record.live_state().status {
            Status::Running => {}
            Status::Paused => {
                return Err(EngineError::WrongState {
                    id: id.to_string(),
                    what: "is paused; unpause it first",
                })
            }
            _ => return Err(EngineError::NotRunning { id: id.to_string() }),
        }
        let container = self.runtime.load(id)?;
        let spec = &container.state.config;
        let user = match &opts.user {
            Some(u) => Some(crate::user::resolve(
                &self.container_dir(id).join("merged"),
                u,
            )?),
            None => None,
        };
        let mut env = spec
            .process()
            .as_ref()
            .and_then(|p| p.env().clone())
            .unwrap_or_default();
        for e in &opts.env {
            let key = e.split('=').next().unwrap_or_default();
            env.retain(|x| x.split('=').next() != Some(key));
            env.push(e.clone());
        }
        let flags = skiff_runtime::exec::ExecFlags {
            args: opts.cmd.clone(),
            env,
            cwd: opts.workdir.as_ref().map(PathBuf::from),
            tty: false,
            uid: user.as_ref().map(|u| u.uid),
            gid: user.as_ref().map(|u| u.gid),
            additional_gids: user.map(|u| u.additional_gids).unwrap_or_default(),
            caps: Vec::new(),
            no_new_privs: false,
        };
        let mut process = skiff_runtime::exec::process_from_flags(spec, &flags);
        // `exec -e` replaces the environment as given (process_from_flags appends).
        process.set_env(Some(flags.env.clone()));
        let exec = skiff_runtime::exec::ExecOptions {
            id: id.to_string(),
            process,
            detach: opts.detach,
            pid_file: None,
            console_socket: None,
            preserve_fds: 0,
            ignore_paused: false,
        };
        Ok(self.runtime.exec(&exec)?)
    }

    /// A docker-style random name not in use: "adjective_scientist".
    fn generate_name(&self) -> Result<String, EngineError> {
        let mut bytes = [0u8; 8];
        read_random(&mut bytes)?;
        for attempt in 0..10u8 {
            let a = ADJECTIVES[(bytes[0] as usize + attempt as usize) % ADJECTIVES.len()];
            let b =
                SCIENTISTS[(u16::from_le_bytes([bytes[1], bytes[2]]) as usize) % SCIENTISTS.len()];
            let name = if attempt == 0 {
                format!("{a}_{b}")
            } else {
                format!("{a}_{b}{attempt}")
            };
            if self.find_name(&name)?.is_none() {
                return Ok(name);
            }
        }
        Ok(format!("skiff_{}", u64::from_le_bytes(bytes)))
    }
}

/// What `skiff exec` asks for.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub detach: bool,
}

fn libc_sigkill() -> i32 {
    nix::sys::signal::Signal::SIGKILL as i32
}

/// Waits until process `pid` has gone (polled; the caller is not its parent).
fn wait_pid_gone(pid: i32, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while skiff_runtime::state::live_process_start(pid).is_some() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Removes a half-created container directory (and unmounts its overlay) on failure.
struct CreateGuard {
    dir: PathBuf,
    armed: bool,
}

impl Drop for CreateGuard {
    fn drop(&mut self) {
        if !self.armed || !self.dir.exists() {
            return;
        }
        let merged = self.dir.join("merged");
        if overlay::is_mount_point(&merged) {
            let _ = overlay::unmount_overlay(&merged, true);
        }
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            tracing::warn!("cannot remove {}: {e}", self.dir.display());
        }
    }
}

/// A new container id: 64 hex digits from the kernel's random pool, like Docker's.
fn new_container_id() -> Result<String, EngineError> {
    let mut bytes = [0u8; 32];
    read_random(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn read_random(buf: &mut [u8]) -> Result<(), EngineError> {
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .map_err(|source| EngineError::Io {
            action: "read",
            path: "/dev/urandom".into(),
            source,
        })
}

/// Whether `program` (the container's command) exists in the rootfs at `rootfs`: tells
/// "cannot execute" (126) from "not found" (127) as docker reports them.
pub(crate) fn program_exists(rootfs: &Path, program: &str) -> bool {
    program.contains('/')
        && fs::symlink_metadata(rootfs.join(program.trim_start_matches('/'))).is_ok()
}

const ADJECTIVES: &[&str] = &[
    "brave", "calm", "clever", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lucid",
    "merry", "nimble", "proud", "quick", "quiet", "sharp", "silly", "steady", "swift", "tender",
    "vivid", "wise", "witty", "zealous",
];

const SCIENTISTS: &[&str] = &[
    "babbage", "bohr", "curie", "darwin", "dijkstra", "einstein", "euler", "faraday", "feynman",
    "gauss", "hopper", "hypatia", "kepler", "knuth", "lamarr", "lovelace", "maxwell", "meitner",
    "newton", "noether", "pascal", "ritchie", "shannon", "tesla", "thompson", "turing", "wozniak",
];
