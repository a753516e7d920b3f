//! The container's init, from the moment it is cloned from the runtime until it execs the
//! container's program. No separate init binary is exec'd: the clone shares the parent's
//! already-parsed spec and prepared security setup, which is what keeps start fast.
//!
//! Steps (see [`run`]): join/create namespaces, let the parent write id maps and place us in
//! the cgroup, fork once more if a pid namespace must be entered, build the rootfs, let the
//! parent run prestart/createRuntime hooks, run createContainer hooks, switch root, set up
//! the console, hostname, sysctls, masked/read-only paths, cwd, then the security setup
//! (rlimits, ids, capabilities, seccomp), report `Ready`, wait for `start` on the exec fifo,
//! run startContainer hooks and execve.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use oci_spec::runtime::{Process, Spec};

use crate::namespaces::Plan;
use crate::rootfs::{self, RootfsConfig};
use crate::state::{OciState, Status};
use crate::sync::{Channel, Message};
use crate::sys::{self, Forked};
use crate::{console, hooks, security};

/// A failure inside init, reported to the parent as text over the sync channel.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("cannot {action} {ns} namespace: {source}")]
    Namespace {
        action: &'static str,
        ns: String,
        source: Errno,
    },
    #[error("lost the runtime parent during setup: {source}")]
    Sync { source: Errno },
    #[error("the runtime parent stopped the setup")]
    Aborted,
    #[error("cannot mount {what} on {target}: {source}")]
    Mount {
        target: PathBuf,
        what: String,
        source: Errno,
    },
    #[error("cannot create {path}: {source}")]
    CreatePath {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("mount destination {path} cannot be resolved in the rootfs: {reason}")]
    SecurePath { path: PathBuf, reason: String },
    #[error("cannot switch root to {rootfs}: {source}; try --no-pivot if the rootfs is on ramfs")]
    PivotRoot { rootfs: PathBuf, source: Errno },
    #[error("cannot create device {path}: {source}")]
    Device { path: PathBuf, source: Errno },
    #[error("cannot set hostname {name:?}: {source}")]
    Hostname { name: String, source: Errno },
    #[error("cannot set domainname {name:?}: {source}")]
    Domainname { name: String, source: Errno },
    #[error("cannot set sysctl {key}: {source}")]
    Sysctl { key: String, source: std::io::Error },
    #[error("cannot set up the console ({step}): {source}")]
    Console { step: &'static str, source: Errno },
    #[error("cannot change to working directory {path:?} (process.cwd): {source}")]
    Cwd { path: PathBuf, source: Errno },
    #[error("exec: {program:?}: {reason}")]
    Executable { program: String, reason: String },
    #[error("cannot {action}: {source}")]
    Sys { action: &'static str, source: Errno },
    #[error(transparent)]
    Security(#[from] security::SecurityError),
    #[error("error running hook: createContainer: {0}")]
    Hook(#[from] hooks::HookError),
}

/// Everything init needs, prepared by the parent before the clone.
pub struct InitArgs<'a> {
    pub id: &'a str,
    pub bundle: &'a Path,
    pub spec: &'a Spec,
    pub process: &'a Process,
    pub rootfs: &'a Path,
    pub plan: &'a Plan,
    pub channel: &'a Channel,
    pub security: &'a security::Prepared,
    /// The exec fifo, opened read-write by the parent: `start` writes one byte to it.
    /// None: exec as soon as ready (`run`).
    pub fifo: Option<&'a OwnedFd>,
    pub console_socket: Option<&'a OwnedFd>,
    pub no_pivot: bool,
    /// Fds 3.. that stay open in the container (--preserve-fds plus LISTEN_FDS).
    pub preserve_fds: u32,
    pub env: &'a [CString],
    pub cgroup_paths: &'a [PathBuf],
    pub cgroup_v2: bool,
    /// The clone already created `plan.new` (no joins): only unsharing is left to do.
    pub namespaces_cloned: bool,
    /// Create the cgroup namespace only after the parent placed us in the cgroup.
    pub defer_cgroup_ns: bool,
    /// The parent has prestart/createRuntime hooks to run mid-setup.
    pub runtime_hooks: bool,
    /// Bind-mount sources the parent opened (see `RootfsConfig::bind_sources`).
    pub bind_sources: &'a [Option<OwnedFd>],
    /// The v1 `tasks` files init writes itself into.
    pub cgroup_join: &'a crate::cgroups::SelfJoin,
    /// The parent must act (id maps, rlimits, cgroup fallback) before init goes on.
    pub needs_setup: bool,
}

/// Runs init; never returns. On failure the error goes to the parent and init exits 1.
pub fn run(args: &InitArgs<'_>) -> ! {
    match setup(args) {
        Ok((program, argv)) => exec(args, &program, &argv),
        Err(e) => {
            args.channel.report_error(&e.to_string());
            sys::exit_now(1)
        }
    }
}

fn sys_err(action: &'static str) -> impl Fn(Errno) -> InitError {
    move |source| InitError::Sys { action, source }
}

fn wait_continue(channel: &Channel) -> Result<(), InitError> {
    match channel
        .recv()
        .map_err(|source| InitError::Sync { source })?
    {
        Some((Message::Continue, _)) => Ok(()),
        _ => Err(InitError::Aborted),
    }
}

fn setup(args: &InitArgs<'_>) -> Result<(CString, Vec<CString>), InitError> {
    sys::reset_signals();
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)
        .map_err(sys_err("set the parent-death signal"))?;
    // First of all, so everything init does and forks is accounted to the container.
    args.cgroup_join
        .join_tasks()
        .map_err(sys_err("join the container's cgroup"))?;
    enter_namespaces(args)?;
    become_init(args)?;
    nix::unistd::setsid().map_err(sys_err("start a new session"))?;

    let cfg = RootfsConfig {
        spec: args.spec,
        rootfs: args.rootfs,
        bundle: args.bundle,
        user_ns: args.plan.has_user_ns(),
        no_pivot: args.no_pivot,
        cgroup_paths: args.cgroup_paths,
        cgroup_v2: args.cgroup_v2,
        bind_sources: args.bind_sources,
    };
    rootfs::prepare(&cfg)?;
    if args.runtime_hooks {
        args.channel
            .send(&Message::Hooks)
            .map_err(|source| InitError::Sync { source })?;
        wait_continue(args.channel)?;
    }
    if let Some(list) = args
        .spec
        .hooks()
        .as_ref()
        .and_then(|h| h.create_container().as_ref())
    {
        let pid = std::process::id() as i32;
        let state = OciState::new(args.spec, args.id, Status::Creating, pid, args.bundle).to_json();
        // createContainer hooks run in the container's namespaces from its rootfs (runc).
        nix::unistd::chdir(args.rootfs).map_err(sys_err("change to the rootfs"))?;
        hooks::run(list, &state)?;
    }
    rootfs::enter(&cfg)?;

    if args.process.terminal().unwrap_or(false) {
        if let Some(socket) = args.console_socket {
            console::setup(
                socket,
                args.process.console_size().as_ref(),
                args.process.user().uid(),
                true,
            )?;
        }
    }
    set_uts(args.spec)?;
    set_sysctls(args.spec)?;
    rootfs::finish(args.spec)?;
    let cwd = args.process.cwd();
    if let Err(Errno::ENOENT) = nix::unistd::chdir(cwd) {
        let _ = std::fs::create_dir_all(cwd);
    }
    nix::unistd::chdir(cwd).map_err(|source| InitError::Cwd {
        path: cwd.to_path_buf(),
        source,
    })?;
    let argv = to_cstrings(args.process.args().as_deref().unwrap_or_default());
    let program = find_program(&argv[0], args.env)?;

    // Before the seccomp filter is loaded: a deny-by-default profile may refuse these calls.
    sys::cloexec_from(3 + args.preserve_fds)
        .map_err(sys_err("mark inherited fds close-on-exec"))?;
    nix::sys::prctl::set_pdeathsig(None).map_err(sys_err("clear the parent-death signal"))?;
    let listener = args.security.apply()?;
    let listener_fd = listener.as_ref().map(|fd| fd.as_raw_fd());
    args.channel
        .send_with_fd(&Message::Ready, listener_fd)
        .map_err(|source| InitError::Sync { source })?;
    drop(listener);
    Ok((program, argv))
}

/// Joins the namespaces given by path, then creates the new ones (unless the clone did).
fn enter_namespaces(args: &InitArgs<'_>) -> Result<(), InitError> {
    if args.namespaces_cloned {
        return Ok(());
    }
    for join in &args.plan.joins {
        nix::sched::setns(join.fd.as_fd(), join.flag).map_err(|source| InitError::Namespace {
            action: "join",
            ns: join.path.display().to_string(),
            source,
        })?;
    }
    let mut new = args.plan.new;
    if args.defer_cgroup_ns {
        new.remove(CloneFlags::CLONE_NEWCGROUP);
    }
    if !new.is_empty() {
        nix::sched::unshare(new).map_err(|source| InitError::Namespace {
            action: "create",
            ns: format!("{new:?}"),
            source,
        })?;
    }
    Ok(())
}

/// Syncs with the parent (id maps, cgroup), becomes root of the user namespace, creates the
/// cgroup namespace, and forks into the pid namespace if the clone could not enter it.
fn become_init(args: &InitArgs<'_>) -> Result<(), InitError> {
    if args.needs_setup {
        args.channel
            .send(&Message::Setup)
            .map_err(|source| InitError::Sync { source })?;
        wait_continue(args.channel)?;
    }
    if args.plan.has_user_ns() {
        let root_gid = nix::unistd::Gid::from_raw(0);
        let root_uid = nix::unistd::Uid::from_raw(0);
        nix::unistd::setresgid(root_gid, root_gid, root_gid)
            .map_err(sys_err("become gid 0 in the user namespace"))?;
        nix::unistd::setresuid(root_uid, root_uid, root_uid)
            .map_err(sys_err("become uid 0 in the user namespace"))?;
    }
    if args.defer_cgroup_ns {
        nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP).map_err(|source| {
            InitError::Namespace {
                action: "create",
                ns: "cgroup".into(),
                source,
            }
        })?;
    }
    if !args.plan.needs_extra_fork() {
        return Ok(());
    }
    // setns/unshare of a pid namespace only applies to children: fork the real init as a
    // sibling (CLONE_PARENT), so the runtime parent can wait for it.
    let (release_rd, release_wr) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(sys_err("create a pipe"))?;
    match sys::clone_fork(libc::CLONE_PARENT as u64, None)
        .map_err(sys_err("fork into the pid namespace"))?
    {
        (Forked::Parent(child), _) => {
            drop(release_rd);
            let sent = args.channel.send(&Message::Pid(child.as_raw()));
            drop(release_wr);
            sys::exit_now(if sent.is_ok() { 0 } else { 1 })
        }
        (Forked::Child, _) => {
            drop(release_wr);
            // Wait until our pid was reported, so our messages cannot overtake it.
            let mut byte = [0u8; 1];
            let _ = nix::unistd::read(&release_rd, &mut byte);
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)
                .map_err(sys_err("set the parent-death signal"))?;
            Ok(())
        }
    }
}

fn set_uts(spec: &Spec) -> Result<(), InitError> {
    if let Some(name) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(name).map_err(|source| InitError::Hostname {
            name: name.to_string(),
            source,
        })?;
    }
    if let Some(name) = spec.domainname().as_deref().filter(|h| !h.is_empty()) {
        sys::set_domainname(name).map_err(|source| InitError::Domainname {
            name: name.to_string(),
            source,
        })?;
    }
    Ok(())
}

/// Writes linux.sysctl under /proc/sys (the container's namespaces exist by now).
fn set_sysctls(spec: &Spec) -> Result<(), InitError> {
    let Some(sysctl) = spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()) else {
        return Ok(());
    };
    for (key, value) in sysctl {
        let path = PathBuf::from("/proc/sys").join(key.replace('.', "/"));
        std::fs::write(&path, value.as_bytes()).map_err(|source| InitError::Sysctl {
            key: key.clone(),
            source,
        })?;
    }
    Ok(())
}

pub(crate) fn to_cstrings(items: &[String]) -> Vec<CString> {
    items
        .iter()
        .map(|s| CString::new(s.replace('\0', "")).expect("NULs removed"))
        .collect()
}

/// Finds `name` like execvp would, with the container's PATH (or the default one).
pub(crate) fn find_program(name: &CString, env: &[CString]) -> Result<CString, InitError> {
    let name_str = name.to_string_lossy().into_owned();
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file())
            && nix::unistd::access(p, nix::unistd::AccessFlags::X_OK).is_ok()
    };
    if name_str.contains('/') {
        return if executable(Path::new(&name_str)) {
            Ok(name.clone())
        } else {
            Err(InitError::Executable {
                program: name_str,
                reason: "no such file or directory, or not executable".into(),
            })
        };
    }
    let path_var = env
        .iter()
        .find_map(|e| {
            e.to_bytes()
                .strip_prefix(b"PATH=")
                .map(|p| String::from_utf8_lossy(p).into_owned())
        })
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    for dir in path_var.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(&name_str);
        if executable(&candidate) {
            return Ok(CString::new(candidate.as_os_str().as_bytes()).expect("no NUL in path"));
        }
    }
    Err(InitError::Executable {
        program: name_str,
        reason: "executable file not found in $PATH".into(),
    })
}

/// Waits for `start`, runs startContainer hooks and replaces init with the program.
fn exec(args: &InitArgs<'_>, program: &CString, argv: &[CString]) -> ! {
    let mut byte = [0u8; 1];
    while let Some(fifo) = args.fifo {
        match nix::unistd::read(fifo, &mut byte) {
            Err(Errno::EINTR) => continue,
            Ok(1) => break,
            // Nobody can close our own read-write fifo: anything else is fatal.
            _ => sys::exit_now(1),
        }
    }
    if let Some(list) = args
        .spec
        .hooks()
        .as_ref()
        .and_then(|h| h.start_container().as_ref())
    {
        let pid = std::process::id() as i32;
        let state = OciState::new(args.spec, args.id, Status::Created, pid, args.bundle).to_json();
        if let Err(e) = hooks::run(list, &state) {
            eprintln!("error running hook: startContainer: {e}");
            sys::exit_now(1);
        }
    }
    let err = nix::unistd::execve(program, argv, args.env).unwrap_err();
    eprintln!("exec {:?} failed: {err}", program);
    sys::exit_now(127)
}
