//! The container lifecycle as runc implements it: create (init set up and parked on the exec
//! fifo), start, state, kill, delete, and run (= create + start + wait + delete).

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use oci_spec::runtime::{Hook, Spec};

use crate::cgroups::{Cgroup, Hierarchy};
use crate::error::Error;
use crate::init::{self, InitArgs};
use crate::namespaces::{self, Plan};
use crate::state::{self, OciState, StateRoot, Status, StoredState, EXEC_FIFO};
use crate::sync::{self, Message};
use crate::sys::{self, Forked};
use crate::{hooks, security, spec};

/// How `create` should set the container up, beyond its bundle.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub id: String,
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    /// Extra fds (3, 4, ...) to pass into the container, like runc's --preserve-fds.
    pub preserve_fds: u32,
}

/// A container's stored state together with its live status.
#[derive(Debug, Clone)]
pub struct Container {
    pub state: StoredState,
    pub status: Status,
    /// The owner of the state directory (runc's `list` shows it).
    pub owner_uid: u32,
}

impl Container {
    /// The pid runc reports: 0 once stopped.
    pub fn reported_pid(&self) -> i32 {
        if self.status == Status::Stopped {
            0
        } else {
            self.state.pid
        }
    }
}

/// An OCI runtime rooted at one state directory.
#[derive(Debug, Clone)]
pub struct Runtime {
    root: StateRoot,
}

/// runc's rule for ids: `^[\w+-\.]+$`, and no "." or "..".
pub fn validate_id(id: &str) -> Result<(), Error> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidId { id: id.to_string() })
    }
}

/// Removes what a failed `create` made, in reverse order, unless disarmed.
struct CreateGuard {
    dir: PathBuf,
    cgroup: Option<Cgroup>,
    children: Vec<Pid>,
    armed: bool,
}

impl Drop for CreateGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        for pid in &self.children {
            let _ = nix::sys::signal::kill(*pid, Signal::SIGKILL);
            let _ = waitpid(*pid, None);
        }
        if let Some(cgroup) = &self.cgroup {
            let _ = cgroup.kill_all(libc::SIGKILL);
            let _ = cgroup.destroy();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Runtime {
    pub fn new(root: impl Into<PathBuf>) -> Runtime {
        Runtime {
            root: StateRoot::new(root),
        }
    }

    pub fn root(&self) -> &StateRoot {
        &self.root
    }

    /// Creates the container: its init runs up to the point of exec'ing the program and
    /// waits there for [`Runtime::start`]. Returns the init's pid. On failure nothing is left
    /// behind (no state directory, cgroup or process; mounts died with init's namespace).
    pub fn create(&self, opts: &CreateOptions) -> Result<i32, Error> {
        self.create_inner(opts, false, false).map(|(pid, _)| pid)
    }

    /// `create`; with `local_tty`, a terminal without `--console-socket` is served by us:
    /// the returned fd is our end of the console socket (the master arrives on it). With
    /// `start_now` (for `run`) init does not park on the exec fifo but execs as soon as it
    /// is ready, and the poststart hooks run here: one hand-off less on the hot path.
    fn create_inner(
        &self,
        opts: &CreateOptions,
        local_tty: bool,
        start_now: bool,
    ) -> Result<(i32, Option<OwnedFd>), Error> {
        validate_id(&opts.id)?;
        let id = opts.id.as_str();
        let bundle = spec::load_bundle(&opts.bundle)?;
        let spec = &bundle.spec;
        let process = spec.process().as_ref().expect("validated");
        let linux = spec.linux().as_ref();
        let prepared = security::prepare(process, linux.and_then(|l| l.seccomp().as_ref()))?;
        let plan = Plan::from_spec(linux)?;
        let terminal = process.terminal().unwrap_or(false);
        let mut local_console = None;
        let console_socket = match (&opts.console_socket, terminal) {
            (Some(path), true) => Some(connect_console_socket(path)?),
            (None, true) if local_tty => {
                let (ours, theirs) = crate::tty::console_pair().map_err(|source| Error::Sys {
                    action: "create a console socket pair",
                    id: id.to_string(),
                    source,
                })?;
                local_console = Some(ours);
                Some(theirs)
            }
            (None, true) => {
                return Err(Error::InvalidConfig {
                    path: bundle.dir.join("config.json"),
                    field: "process.terminal".into(),
                    reason: "a terminal needs --console-socket (or set terminal to false)".into(),
                })
            }
            (_, false) => None,
        };

        let dir = self.root.create_dir(id)?;
        let mut guard = CreateGuard {
            dir: dir.clone(),
            cgroup: None,
            children: Vec::new(),
            armed: true,
        };
        let fifo = if start_now {
            None
        } else {
            Some(make_exec_fifo(&dir, id)?)
        };

        let cgroup = Cgroup::for_spec(spec, id)?;
        let unified = linux
            .and_then(|l| l.resources().as_ref())
            .and_then(|r| r.unified().as_ref());
        if cgroup.hierarchy() == Hierarchy::V1 && unified.is_some_and(|u| !u.is_empty()) {
            return Err(Error::InvalidConfig {
                path: bundle.dir.join("config.json"),
                field: "linux.resources.unified".into(),
                reason: "invalid configuration: cgroup v2 (unified) resources cannot be applied on this \
                         cgroup v1 host; remove them"
                    .into(),
            });
        }
        // A process joining a frozen cgroup freezes at once and the create would hang.
        if cgroup.is_frozen() {
            return Err(Error::WrongState {
                action: "create",
                id: id.to_string(),
                status: "in a frozen (paused) cgroup (container's cgroup unexpectedly frozen)"
                    .into(),
                hint: "; resume or delete the container that uses this cgroup (linux.cgroupsPath)",
            });
        }
        // Sharing a cgroup with other processes is allowed but rarely meant (runc warns too).
        if let Ok(pids) = cgroup.pids() {
            if !pids.is_empty() {
                tracing::warn!(
                    "container's cgroup is not empty: {} process(es) found; limits and stats are shared with them",
                    pids.len()
                );
            }
        }
        cgroup.create(spec)?;
        let cgroup_paths = cgroup.paths();
        let bind_sources = if plan.has_user_ns() {
            crate::rootfs::open_bind_sources(spec, &bundle.dir)
        } else {
            Vec::new()
        };
        let cgroup_v2 = cgroup.hierarchy() == Hierarchy::V2;
        let join = cgroup.self_join()?;
        guard.cgroup = Some(cgroup);

        let listen_fds = listen_fds();
        let mut env_strings = process.env().clone().unwrap_or_default();
        if listen_fds > 0 {
            env_strings.retain(|e| !e.starts_with("LISTEN_FDS=") && !e.starts_with("LISTEN_PID="));
            env_strings.push(format!("LISTEN_FDS={listen_fds}"));
            env_strings.push("LISTEN_PID=1".to_string());
        }
        let env = init::to_cstrings(&env_strings);

        let (parent_end, init_end) = sync::pair().map_err(|source| Error::Sys {
            action: "create the sync socket",
            id: id.to_string(),
            source,
        })?;
        let namespaces_cloned = plan.joins.is_empty();
        // On v1 (or without CLONE_INTO_CGROUP) the cgroup namespace must be made after the
        // parent moved init into the cgroup, or its root would be the runtime's cgroup.
        let defer_cgroup_ns = plan.creates(CloneFlags::CLONE_NEWCGROUP)
            && (!join.tasks.is_empty() || join.clone_into.is_none());
        let mut clone_flags = if namespaces_cloned {
            plan.new
        } else {
            CloneFlags::empty()
        };
        if defer_cgroup_ns {
            clone_flags.remove(CloneFlags::CLONE_NEWCGROUP);
        }
        let hooks = spec.hooks().as_ref();
        let prestart: &[Hook] = hooks
            .and_then(|h| h.prestart().as_deref())
            .unwrap_or_default();
        let create_runtime: &[Hook] = hooks
            .and_then(|h| h.create_runtime().as_deref())
            .unwrap_or_default();
        let runtime_hooks = !prestart.is_empty() || !create_runtime.is_empty();

        let (forked, into_cgroup) = sys::clone_fork(
            clone_flags.bits() as u64,
            join.clone_into.as_ref().map(|f| f.as_fd()),
        )
        .map_err(|source| Error::Sys {
            action: "clone the container init",
            id: id.to_string(),
            source,
        })?;
        // Without CLONE_INTO_CGROUP (old kernel) the parent moves init at `Setup`. With a
        // user namespace the parent writes its id maps and rlimits then too.
        let needs_setup = plan.has_user_ns() || (join.clone_into.is_some() && !into_cgroup);
        let child = match forked {
            Forked::Child => {
                drop(parent_end);
                let args = InitArgs {
                    id,
                    bundle: &bundle.dir,
                    spec,
                    process,
                    rootfs: &bundle.rootfs,
                    plan: &plan,
                    channel: &init_end,
                    security: &prepared,
                    fifo: fifo.as_ref(),
                    console_socket: console_socket.as_ref(),
                    no_pivot: opts.no_pivot,
                    preserve_fds: opts.preserve_fds + listen_fds,
                    env: &env,
                    cgroup_paths: &cgroup_paths,
                    cgroup_v2,
                    namespaces_cloned,
                    defer_cgroup_ns,
                    runtime_hooks,
                    cgroup_join: &join,
                    bind_sources: &bind_sources,
                    needs_setup,
                };
                init::run(&args)
            }
            Forked::Parent(pid) => pid,
        };
        drop(init_end);
        drop(console_socket);
        guard.children.push(child);
        let cgroup = guard.cgroup.as_ref().expect("set above");

        let mut init_pid = child;
        loop {
            let message = parent_end.recv().map_err(|source| Error::Sys {
                action: "talk to the container init",
                id: id.to_string(),
                source,
            })?;
            match message {
                Some((Message::Setup, _)) => {
                    if plan.creates(CloneFlags::CLONE_NEWUSER) {
                        namespaces::write_id_maps(
                            child.as_raw(),
                            id,
                            linux.expect("user ns needs linux"),
                        )?;
                    }
                    if !into_cgroup {
                        cgroup.add_task(child.as_raw())?;
                    }
                    if plan.has_user_ns() {
                        security::apply_rlimits_to(child, &prepared)?;
                    }
                    send(&parent_end, id)?;
                }
                Some((Message::Pid(pid), _)) => {
                    // The intermediate process exits right after reporting its child.
                    let _ = waitpid(child, None);
                    init_pid = Pid::from_raw(pid);
                    guard.children.push(init_pid);
                }
                Some((Message::Hooks, _)) => {
                    let state =
                        OciState::new(spec, id, Status::Creating, init_pid.as_raw(), &bundle.dir)
                            .to_json();
                    run_hooks("prestart", id, prestart, &state)?;
                    run_hooks("createRuntime", id, create_runtime, &state)?;
                    send(&parent_end, id)?;
                }
                Some((Message::Ready, listener)) => {
                    if let Some(listener) = listener {
                        send_listener(spec, id, init_pid.as_raw(), &bundle.dir, &listener)?;
                    }
                    break;
                }
                Some((Message::Error(message), _)) => {
                    return Err(Error::Init {
                        id: id.to_string(),
                        message,
                    })
                }
                Some((Message::Continue, _)) => {}
                None => {
                    return Err(Error::InitDied {
                        id: id.to_string(),
                        detail: describe_exit(init_pid),
                    })
                }
            }
        }

        // Locked only now: a lock fd open across the clone would be inherited by init and
        // hold the lock for the container's whole life. mkdir already made the id ours.
        let _lock = self.root.lock(id)?;
        let stored = StoredState {
            id: id.to_string(),
            pid: init_pid.as_raw(),
            pid_start: state::live_process_start(init_pid.as_raw()).unwrap_or(0),
            bundle: bundle.dir.clone(),
            rootfs: bundle.rootfs.clone(),
            created: state::now_rfc3339(),
            config: bundle.spec.clone(),
        };
        self.root.save(&stored)?;
        if let Some(path) = &opts.pid_file {
            write_pid_file(path, init_pid.as_raw())?;
        }
        guard.armed = false;
        if start_now {
            if let Some(list) = spec.hooks().as_ref().and_then(|h| h.poststart().as_deref()) {
                let state =
                    OciState::new(spec, id, Status::Running, init_pid.as_raw(), &bundle.dir)
                        .to_json();
                run_hooks("poststart", id, list, &state)?;
            }
        }
        Ok((init_pid.as_raw(), local_console))
    }

    /// Loads container `id` and works out its status.
    pub fn load(&self, id: &str) -> Result<Container, Error> {
        validate_id(id)?;
        let state = self.root.load(id)?;
        let dir = self.root.dir(id);
        let status = self.status_of(&state, &dir);
        let owner_uid = std::fs::metadata(&dir)
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .unwrap_or(0);
        Ok(Container {
            state,
            status,
            owner_uid,
        })
    }

    fn status_of(&self, state: &StoredState, dir: &Path) -> Status {
        match state::live_process_start(state.pid) {
            Some(start) if start == state.pid_start => {}
            _ => return Status::Stopped,
        }
        if dir.join(EXEC_FIFO).exists() {
            return Status::Created;
        }
        match Cgroup::for_spec(&state.config, &state.id) {
            Ok(cgroup) if cgroup.is_frozen() => Status::Paused,
            _ => Status::Running,
        }
    }

    /// Every container under the root, sorted by id. Broken entries are skipped.
    pub fn list(&self) -> Result<Vec<Container>, Error> {
        Ok(self
            .root
            .ids()?
            .iter()
            .filter_map(|id| self.load(id).ok())
            .collect())
    }

    /// Lets a created container exec its program, then runs the poststart hooks.
    pub fn start(&self, id: &str) -> Result<(), Error> {
        let _lock = self.root.lock(id)?;
        let container = self.load(id)?;
        match container.status {
            Status::Created => {}
            Status::Stopped => {
                return Err(wrong_state(
                    "start",
                    id,
                    Status::Stopped,
                    ": it has already exited",
                ))
            }
            other => return Err(wrong_state("start", id, other, ": it was already started")),
        }
        let fifo_path = self.root.dir(id).join(EXEC_FIFO);
        let fifo = nix::fcntl::open(
            &fifo_path,
            OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|source| Error::Fifo {
            action: "open",
            id: id.to_string(),
            source,
        })?;
        nix::unistd::write(&fifo, b"0").map_err(|source| Error::Fifo {
            action: "write",
            id: id.to_string(),
            source,
        })?;
        let _ = std::fs::remove_file(&fifo_path);
        let spec = &container.state.config;
        if let Some(list) = spec.hooks().as_ref().and_then(|h| h.poststart().as_deref()) {
            let state = OciState::new(
                spec,
                id,
                Status::Running,
                container.state.pid,
                &container.state.bundle,
            )
            .to_json();
            if let Err(e) = run_hooks("poststart", id, list, &state) {
                let _ = self.signal(&container, libc::SIGKILL, true);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Sends `signal` to the container's init (or, with `all`, to every process in it).
    pub fn kill(&self, id: &str, signal: i32, all: bool) -> Result<(), Error> {
        let container = self.load(id)?;
        if container.status == Status::Stopped && !all {
            return Err(wrong_state(
                "signal",
                id,
                Status::Stopped,
                "; nothing to kill",
            ));
        }
        self.signal(&container, signal, all)
    }

    fn signal(&self, container: &Container, signal: i32, all: bool) -> Result<(), Error> {
        let id = &container.state.id;
        if all {
            // Signal 0 only asks whether the container exists, which it does.
            if signal == 0 {
                return Ok(());
            }
            let cgroup = Cgroup::for_spec(&container.state.config, id)?;
            let frozen = cgroup.is_frozen();
            cgroup.kill_all(signal)?;
            // A frozen task only handles the signal once thawed (runc does the same).
            if frozen && signal == libc::SIGKILL {
                let _ = cgroup.thaw();
            }
            return Ok(());
        }
        let kill_err = |source| Error::Kill {
            id: id.clone(),
            signal,
            source,
        };
        let pidfd = sys::pidfd_open(Pid::from_raw(container.state.pid)).map_err(kill_err)?;
        // The pidfd pins the process: re-check that the pid was not recycled before we got it.
        if state::live_process_start(container.state.pid) != Some(container.state.pid_start) {
            return Err(kill_err(Errno::ESRCH));
        }
        sys::pidfd_send_signal(pidfd.as_fd(), signal).map_err(kill_err)
    }

    /// Deletes a container: a created or stopped one always, a running one with `force`
    /// (killed first). Runs poststop hooks, removes the cgroup and the state directory.
    pub fn delete(&self, id: &str, force: bool) -> Result<(), Error> {
        validate_id(id)?;
        let container = match self.load(id) {
            Ok(c) => c,
            Err(Error::NotFound { .. }) if force => return Ok(()),
            Err(Error::StateCorrupt { .. }) | Err(Error::NotFound { .. })
                if self.root.dir(id).exists() =>
            {
                // A create that died before writing state: just forget it.
                let _ = std::fs::remove_dir_all(self.root.dir(id));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let _lock = self.root.lock(id)?;
        match container.status {
            Status::Stopped | Status::Created => {}
            status if !force => {
                return Err(wrong_state(
                    "delete",
                    id,
                    status,
                    "; stop it first or use --force",
                ));
            }
            _ => {}
        }
        let spec = &container.state.config;
        let cgroup = Cgroup::for_spec(spec, id)?;
        if container.status == Status::Paused {
            // Frozen tasks only die once thawed.
            let _ = cgroup.kill_all(libc::SIGKILL);
            let _ = cgroup.thaw();
        }
        if container.status != Status::Stopped {
            let _ = self.signal(&container, libc::SIGKILL, false);
            wait_gone(container.state.pid, Duration::from_secs(10));
        }
        // Without a pid namespace of its own, the container's other processes survive init
        // (with one, the kernel killed them all when init died).
        let own_pid_ns = spec
            .linux()
            .as_ref()
            .and_then(|l| l.namespaces().as_ref())
            .is_some_and(|n| {
                n.iter().any(|n| {
                    n.typ() == oci_spec::runtime::LinuxNamespaceType::Pid && n.path().is_none()
                })
            });
        if !own_pid_ns {
            let _ = cgroup.kill_all(libc::SIGKILL);
        }
        cgroup.destroy()?;
        std::fs::remove_dir_all(self.root.dir(id))
            .map_err(|e| Error::state_io("remove", self.root.dir(id), e))?;
        if let Some(list) = spec.hooks().as_ref().and_then(|h| h.poststop().as_deref()) {
            let state =
                OciState::new(spec, id, Status::Stopped, 0, &container.state.bundle).to_json();
            run_hooks("poststop", id, list, &state)?;
        }
        Ok(())
    }

    /// `run`: create, start, and unless `detach`, wait for init, delete the container
    /// (unless `keep`) and return its exit code (128 + signal if killed), forwarding signals
    /// to it meanwhile.
    pub fn run(&self, opts: &CreateOptions, detach: bool, keep: bool) -> Result<i32, Error> {
        if detach {
            if let Err(e) = self.create_inner(opts, false, true) {
                let _ = self.delete(&opts.id, true);
                return Err(e);
            }
            return Ok(0);
        }
        let _ = nix::sys::prctl::set_child_subreaper(true);
        let forwarded = crate::signals::Forwarder::block()?;
        let (pid, console) = match self.create_inner(opts, true, true) {
            Ok(created) => created,
            Err(e) => {
                drop(forwarded);
                return Err(e);
            }
        };
        // The master was sent before init reported ready, so it is waiting on the socket.
        let master = match console.as_ref().map(crate::tty::receive_master).transpose() {
            Ok(master) => master,
            Err(source) => {
                let _ = self.delete(&opts.id, true);
                return Err(Error::Sys {
                    action: "receive the container's terminal",
                    id: opts.id.clone(),
                    source,
                });
            }
        };
        let code = forwarded.wait_with_tty(Pid::from_raw(pid), master);
        if !keep {
            let _ = self.delete(&opts.id, true);
        }
        Ok(code)
    }
}

/// Makes the exec fifo in the state directory and opens it read-write (which does not
/// block): init's read then blocks until `start` writes a byte.
fn make_exec_fifo(dir: &Path, id: &str) -> Result<OwnedFd, Error> {
    let err = |action| {
        move |source| Error::Fifo {
            action,
            id: id.to_string(),
            source,
        }
    };
    let path = dir.join(EXEC_FIFO);
    nix::unistd::mkfifo(&path, Mode::from_bits_truncate(0o622)).map_err(err("create"))?;
    nix::fcntl::open(&path, OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty()).map_err(err("open"))
}

fn wrong_state(action: &'static str, id: &str, status: Status, hint: &'static str) -> Error {
    Error::WrongState {
        action,
        id: id.to_string(),
        status: status.to_string(),
        hint,
    }
}

fn send(channel: &sync::Channel, id: &str) -> Result<(), Error> {
    channel
        .send(&Message::Continue)
        .map_err(|source| Error::Sys {
            action: "talk to the container init",
            id: id.to_string(),
            source,
        })
}

pub(crate) fn run_hooks(
    kind: &'static str,
    id: &str,
    list: &[Hook],
    state: &str,
) -> Result<(), Error> {
    if list.is_empty() {
        return Ok(());
    }
    hooks::run(list, state).map_err(|source| Error::Hook {
        kind,
        id: id.to_string(),
        source: Box::new(source),
    })
}

fn send_listener(
    spec: &Spec,
    id: &str,
    pid: i32,
    bundle: &Path,
    listener: &OwnedFd,
) -> Result<(), Error> {
    let Some(seccomp) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
        return Ok(());
    };
    let Some(path) = seccomp.listener_path() else {
        return Ok(());
    };
    let state = OciState::new(spec, id, Status::Creating, pid, bundle).to_json();
    let metadata = seccomp.listener_metadata().as_deref().unwrap_or("");
    security::send_seccomp_listener(path, listener.as_fd(), &state, metadata)?;
    Ok(())
}

/// How many fds systemd socket activation handed us (LISTEN_FDS for our own pid).
fn listen_fds() -> u32 {
    let for_us = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        .is_none_or(|p| p == std::process::id());
    if !for_us {
        return 0;
    }
    std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

pub(crate) fn connect_console_socket(path: &Path) -> Result<OwnedFd, Error> {
    use nix::sys::socket::{connect, socket, AddressFamily, SockFlag, SockType, UnixAddr};
    let err = |source| Error::ConsoleSocket {
        path: path.to_path_buf(),
        source,
    };
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(err)?;
    let addr = UnixAddr::new(path).map_err(err)?;
    connect(fd.as_raw_fd(), &addr).map_err(err)?;
    Ok(fd)
}

/// Writes the pid file atomically, as runc does (no trailing newline).
pub(crate) fn write_pid_file(path: &Path, pid: i32) -> Result<(), Error> {
    state::write_atomic(path, pid.to_string().as_bytes(), 0o644).map_err(|source| Error::PidFile {
        path: path.to_path_buf(),
        source,
    })
}

/// How a child that vanished during setup ended, for the error message.
fn describe_exit(pid: Pid) -> String {
    match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::Exited(_, code)) => format!("exit status {code}"),
        Ok(WaitStatus::Signaled(_, sig, _)) => format!("killed by {sig}"),
        _ => "no status".to_string(),
    }
}

/// Waits until `pid` has exited (polling its pidfd), at most `timeout`.
pub(crate) fn wait_gone(pid: i32, timeout: Duration) {
    let Ok(pidfd) = sys::pidfd_open(Pid::from_raw(pid)) else {
        return;
    };
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut fds = [nix::poll::PollFd::new(
            pidfd.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms)) {
            Err(Errno::EINTR) => continue,
            _ => return,
        }
    }
}

/// A signal given by name ("KILL", "SIGKILL") or number, as runc's kill accepts it.
pub fn parse_signal(text: &str) -> Result<i32, Error> {
    if let Ok(n) = text.parse::<i32>() {
        if (0..=64).contains(&n) {
            return Ok(n);
        }
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<Signal>()
        .map(|s| s as i32)
        .map_err(|_| Error::UnknownSignal {
            name: text.to_string(),
        })
}

impl Runtime {
    /// Pids of every process in the container's cgroup.
    pub fn pids(&self, id: &str) -> Result<Vec<i32>, Error> {
        let container = self.load(id)?;
        Cgroup::for_spec(&container.state.config, id)?.pids()
    }

    /// Freezes the container (runc: only a running container can be paused).
    pub fn pause(&self, id: &str) -> Result<(), Error> {
        let _lock = self.root.lock(id)?;
        let container = self.load(id)?;
        if container.status != Status::Running {
            return Err(wrong_state(
                "pause",
                id,
                container.status,
                "; only a running container can be paused",
            ));
        }
        Cgroup::for_spec(&container.state.config, id)?.freeze()
    }

    /// Thaws a paused container.
    pub fn resume(&self, id: &str) -> Result<(), Error> {
        let _lock = self.root.lock(id)?;
        let container = self.load(id)?;
        if container.status != Status::Paused {
            return Err(wrong_state(
                "resume",
                id,
                container.status,
                "; only a paused container can be resumed",
            ));
        }
        Cgroup::for_spec(&container.state.config, id)?.thaw()
    }

    /// Applies new resource limits and records them in the container's stored config.
    pub fn update(
        &self,
        id: &str,
        resources: &oci_spec::runtime::LinuxResources,
    ) -> Result<(), Error> {
        let _lock = self.root.lock(id)?;
        let mut container = self.load(id)?;
        if container.status == Status::Stopped {
            return Err(wrong_state(
                "update",
                id,
                Status::Stopped,
                "; nothing to update",
            ));
        }
        let config = &mut container.state.config;
        let mut merged = config
            .linux()
            .as_ref()
            .and_then(|l| l.resources().clone())
            .unwrap_or_default();
        if resources.memory().is_some() {
            merged.set_memory(*resources.memory());
        }
        if resources.cpu().is_some() {
            merged.set_cpu(resources.cpu().clone());
        }
        if resources.pids().is_some() {
            merged.set_pids(*resources.pids());
        }
        if resources.block_io().is_some() {
            merged.set_block_io(resources.block_io().clone());
        }
        if resources.hugepage_limits().is_some() {
            merged.set_hugepage_limits(resources.hugepage_limits().clone());
        }
        if resources.network().is_some() {
            merged.set_network(resources.network().clone());
        }
        if resources.unified().is_some() {
            merged.set_unified(resources.unified().clone());
        }
        // Device rules are not changed by update (runc ignores them too).
        let mut apply = merged.clone();
        apply.set_devices(None);
        Cgroup::for_spec(config, id)?.update(&apply)?;
        let mut linux = config.linux().clone().unwrap_or_default();
        linux.set_resources(Some(merged));
        config.set_linux(Some(linux));
        self.root.save(&container.state)
    }

    /// The container's cgroup statistics.
    pub fn stats(&self, id: &str) -> Result<crate::cgroups::Stats, Error> {
        let container = self.load(id)?;
        if container.status == Status::Stopped {
            return Err(wrong_state("get statistics of", id, Status::Stopped, ""));
        }
        Cgroup::for_spec(&container.state.config, id)?.stats()
    }

    /// Streams events until the container stops: a stats line every `interval` and an
    /// `oom` line as soon as the OOM kill count grows.
    pub fn stream_events(
        &self,
        id: &str,
        interval: Duration,
        out: &mut dyn std::io::Write,
    ) -> Result<(), Error> {
        let container = self.load(id)?;
        let cgroup = Cgroup::for_spec(&container.state.config, id)?;
        let mut ooms = cgroup.oom_kill_count().unwrap_or(0);
        let tick = interval
            .min(Duration::from_millis(100))
            .max(Duration::from_millis(10));
        let mut next_stats = Instant::now();
        loop {
            if self
                .load(id)
                .map(|c| c.status == Status::Stopped)
                .unwrap_or(true)
            {
                return Ok(());
            }
            let now_ooms = cgroup.oom_kill_count().unwrap_or(ooms);
            if now_ooms > ooms {
                ooms = now_ooms;
                let _ = writeln!(out, "{}", crate::events::oom_event(id));
            }
            if Instant::now() >= next_stats {
                if let Ok(stats) = cgroup.stats() {
                    let _ = writeln!(out, "{}", crate::events::stats_event(id, &stats));
                }
                let _ = out.flush();
                next_stats += interval;
            }
            std::thread::sleep(tick);
        }
    }
}
