//! `exec`: a new process inside a running container. The runtime enters the container's pid
//! namespace for its children (setns applies to children only), clones the process straight
//! into the container's cgroup where the kernel allows it, and the clone joins the other
//! namespaces (user first, mount last), sets up its terminal, cwd and security, and execs.
//! Success is the sync socket closing on exec (it is close-on-exec); failure is a message.

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use oci_spec::runtime::{Capability, Process, Spec};

use crate::cgroups::Cgroup;
use crate::container::{validate_id, write_pid_file, Runtime};
use crate::error::Error;
use crate::init::{find_program, to_cstrings, InitError};
use crate::state::Status;
use crate::sync::{self, Channel, Message};
use crate::sys::{self, Forked};
use crate::{console, namespaces, security, signals};

/// What to run and how.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub id: String,
    pub process: Process,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub preserve_fds: u32,
    pub ignore_paused: bool,
}

/// runc exec's command-line overrides of the container's own process settings.
#[derive(Debug, Clone, Default)]
pub struct ExecFlags {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub tty: bool,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub additional_gids: Vec<u32>,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
}

/// The process runc would exec for these flags: the container's process with the flags
/// applied (env entries replace same-named ones, capabilities are added).
pub fn process_from_flags(spec: &Spec, flags: &ExecFlags) -> Process {
    let mut p = spec.process().clone().unwrap_or_default();
    p.set_args(Some(flags.args.clone()));
    let mut env = p.env().clone().unwrap_or_default();
    for entry in &flags.env {
        let key = entry.split('=').next().unwrap_or_default();
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(entry.clone());
    }
    p.set_env(Some(env));
    if let Some(cwd) = &flags.cwd {
        p.set_cwd(cwd.clone());
    }
    p.set_terminal(Some(flags.tty));
    let mut user = p.user().clone();
    if let Some(uid) = flags.uid {
        user.set_uid(uid);
    }
    if let Some(gid) = flags.gid {
        user.set_gid(gid);
    }
    if !flags.additional_gids.is_empty() {
        user.set_additional_gids(Some(flags.additional_gids.clone()));
    }
    p.set_user(user);
    if !flags.caps.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        let extra: Vec<Capability> = flags
            .caps
            .iter()
            .filter_map(|c| security::parse_capability(c).ok())
            .collect();
        let add = |set: Option<std::collections::HashSet<Capability>>| {
            let mut set = set.unwrap_or_default();
            set.extend(extra.iter().copied());
            Some(set)
        };
        caps.set_bounding(add(caps.bounding().clone()));
        caps.set_effective(add(caps.effective().clone()));
        caps.set_permitted(add(caps.permitted().clone()));
        caps.set_ambient(add(caps.ambient().clone()));
        p.set_capabilities(Some(caps));
    }
    if flags.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    p
}

impl Runtime {
    /// Runs `opts.process` in the container. Detached: returns 0 once it exec'd. Otherwise
    /// waits for it, forwarding signals, and returns its exit code (128+signal if killed).
    pub fn exec(&self, opts: &ExecOptions) -> Result<i32, Error> {
        validate_id(&opts.id)?;
        let id = opts.id.as_str();
        let container = self.load(id)?;
        match container.status {
            Status::Running | Status::Created => {}
            Status::Paused if opts.ignore_paused => {}
            Status::Paused => return Err(Error::Paused { id: id.to_string() }),
            status => {
                return Err(Error::WrongState {
                    action: "exec in",
                    id: id.to_string(),
                    status: status.to_string(),
                    hint: "; exec needs a running container",
                })
            }
        }
        let spec = &container.state.config;
        let process = &opts.process;
        if process.args().as_ref().is_none_or(|a| a.is_empty()) {
            return Err(Error::InvalidConfig {
                path: PathBuf::from("process"),
                field: "args".into(),
                reason: "must name the program to run".into(),
            });
        }
        let seccomp = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref());
        let prepared = security::prepare(process, seccomp)?;
        let sys_err = |action: &'static str| {
            move |source| Error::Sys {
                action,
                id: id.to_string(),
                source,
            }
        };
        let pid = container.state.pid;
        let mut joins = namespaces::open_process_namespaces(pid)
            .map_err(|e| Error::state_io("open the namespaces of", format!("/proc/{pid}/ns"), e))?;
        let pid_ns = joins
            .iter()
            .position(|(flag, _)| *flag == CloneFlags::CLONE_NEWPID)
            .map(|i| joins.remove(i).1);
        let user_ns = joins
            .iter()
            .any(|(flag, _)| *flag == CloneFlags::CLONE_NEWUSER);
        let cgroup = Cgroup::for_spec(spec, id)?;
        let join = cgroup.self_join()?;
        let mut local_console = None;
        let console_socket = match (&opts.console_socket, process.terminal().unwrap_or(false)) {
            (Some(path), true) => Some(crate::container::connect_console_socket(path)?),
            // A foreground exec with a terminal and no socket: we serve the pty ourselves.
            (None, true) if !opts.detach => {
                let (ours, theirs) =
                    crate::tty::console_pair().map_err(sys_err("create a console socket pair"))?;
                local_console = Some(ours);
                Some(theirs)
            }
            _ => None,
        };
        let env = to_cstrings(process.env().as_deref().unwrap_or_default());
        let forwarder = if opts.detach {
            None
        } else {
            Some(signals::Forwarder::block()?)
        };
        let (parent_end, child_end) = sync::pair().map_err(sys_err("create the sync socket"))?;
        // setns(CLONE_NEWPID) only moves our future children: enter it for the clone and
        // come back right after, so the caller's later forks stay in its own namespace.
        let own_pid_ns = match &pid_ns {
            Some(theirs) => {
                let own = std::fs::File::open("/proc/self/ns/pid")
                    .map_err(|e| Error::state_io("open", "/proc/self/ns/pid", e))?;
                nix::sched::setns(theirs.as_fd(), CloneFlags::CLONE_NEWPID)
                    .map_err(sys_err("enter the pid namespace"))?;
                Some(own)
            }
            None => None,
        };
        let cloned = sys::clone_fork(0, join.clone_into.as_ref().map(|f| f.as_fd()));
        if let (Some(own), false) = (&own_pid_ns, matches!(cloned, Ok((Forked::Child, _)))) {
            nix::sched::setns(own.as_fd(), CloneFlags::CLONE_NEWPID)
                .map_err(sys_err("return to our pid namespace"))?;
        }
        let (forked, into_cgroup) = cloned.map_err(sys_err("clone the exec process"))?;
        let needs_setup = user_ns || (join.clone_into.is_some() && !into_cgroup);
        let child = match forked {
            Forked::Child => {
                drop(parent_end);
                let args = ExecChild {
                    cgroup_join: &join,
                    needs_setup,
                    process,
                    joins: &joins,
                    user_ns,
                    channel: &child_end,
                    security: &prepared,
                    console_socket: console_socket.as_ref(),
                    env: &env,
                    preserve_fds: opts.preserve_fds,
                };
                exec_child(&args)
            }
            Forked::Parent(child) => child,
        };
        drop(child_end);
        drop(console_socket);
        if let Err(e) = self.exec_handshake(
            &parent_end,
            child,
            &cgroup,
            into_cgroup,
            user_ns,
            &prepared,
            id,
        ) {
            let _ = nix::sys::signal::kill(child, Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(child, None);
            return Err(e);
        }
        if let Some(path) = &opts.pid_file {
            write_pid_file(path, child.as_raw())?;
        }
        let master = local_console
            .as_ref()
            .map(crate::tty::receive_master)
            .transpose()
            .map_err(sys_err("receive the exec'd process's terminal"))?;
        match forwarder {
            None => Ok(0),
            Some(f) => Ok(f.wait_with_tty(child, master)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn exec_handshake(
        &self,
        channel: &Channel,
        child: Pid,
        cgroup: &Cgroup,
        into_cgroup: bool,
        user_ns: bool,
        prepared: &security::Prepared,
        id: &str,
    ) -> Result<(), Error> {
        loop {
            let message = channel.recv().map_err(|source| Error::Sys {
                action: "talk to the exec process",
                id: id.to_string(),
                source,
            })?;
            match message {
                Some((Message::Setup, _)) => {
                    if !into_cgroup {
                        cgroup.add_task(child.as_raw())?;
                    }
                    if user_ns {
                        security::apply_rlimits_to(child, prepared)?;
                    }
                    channel
                        .send(&Message::Continue)
                        .map_err(|source| Error::Sys {
                            action: "talk to the exec process",
                            id: id.to_string(),
                            source,
                        })?;
                }
                Some((Message::Error(message), _)) => {
                    return Err(Error::Init {
                        id: id.to_string(),
                        message,
                    })
                }
                Some(_) => {}
                // The socket is close-on-exec: EOF means the program is running.
                None => return Ok(()),
            }
        }
    }
}

struct ExecChild<'a> {
    cgroup_join: &'a crate::cgroups::SelfJoin,
    needs_setup: bool,
    process: &'a Process,
    joins: &'a [(CloneFlags, std::fs::File)],
    user_ns: bool,
    channel: &'a Channel,
    security: &'a security::Prepared,
    console_socket: Option<&'a OwnedFd>,
    env: &'a [std::ffi::CString],
    preserve_fds: u32,
}

fn exec_child(args: &ExecChild<'_>) -> ! {
    match exec_setup(args) {
        Ok((program, argv)) => {
            let err = nix::unistd::execve(&program, &argv, args.env).unwrap_err();
            args.channel
                .report_error(&format!("exec {:?}: {err}", program));
            sys::exit_now(127)
        }
        Err(e) => {
            args.channel.report_error(&e.to_string());
            sys::exit_now(1)
        }
    }
}

fn exec_setup(
    args: &ExecChild<'_>,
) -> Result<(std::ffi::CString, Vec<std::ffi::CString>), InitError> {
    let sys_err = |action: &'static str| move |source| InitError::Sys { action, source };
    sys::reset_signals();
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)
        .map_err(sys_err("set the parent-death signal"))?;
    args.cgroup_join
        .join_tasks()
        .map_err(sys_err("join the container's cgroup"))?;
    for (flag, file) in args.joins {
        nix::sched::setns(file.as_fd(), *flag).map_err(|source| InitError::Namespace {
            action: "join",
            ns: format!("{flag:?}"),
            source,
        })?;
    }
    if args.needs_setup {
        args.channel
            .send(&Message::Setup)
            .map_err(|source| InitError::Sync { source })?;
        match args
            .channel
            .recv()
            .map_err(|source| InitError::Sync { source })?
        {
            Some((Message::Continue, _)) => {}
            _ => return Err(InitError::Aborted),
        }
    }
    if args.user_ns {
        let root_gid = nix::unistd::Gid::from_raw(0);
        let root_uid = nix::unistd::Uid::from_raw(0);
        nix::unistd::setresgid(root_gid, root_gid, root_gid)
            .map_err(sys_err("become gid 0 in the user namespace"))?;
        nix::unistd::setresuid(root_uid, root_uid, root_uid)
            .map_err(sys_err("become uid 0 in the user namespace"))?;
    }
    nix::unistd::setsid().map_err(sys_err("start a new session"))?;
    if args.process.terminal().unwrap_or(false) {
        if let Some(socket) = args.console_socket {
            console::setup(
                socket,
                args.process.console_size().as_ref(),
                args.process.user().uid(),
                false,
            )?;
        }
    }
    let cwd = args.process.cwd();
    nix::unistd::chdir(cwd).map_err(|source| InitError::Cwd {
        path: cwd.to_path_buf(),
        source,
    })?;
    let argv = to_cstrings(args.process.args().as_deref().unwrap_or_default());
    let program = find_program(&argv[0], args.env)?;
    // Before the seccomp filter is loaded: a deny-by-default profile may refuse these calls.
    sys::cloexec_from(3 + args.preserve_fds)
        .map_err(sys_err("mark inherited fds close-on-exec"))?;
    // The parent-death signal survives execve: a detached process must outlive us.
    nix::sys::prctl::set_pdeathsig(None).map_err(sys_err("clear the parent-death signal"))?;
    args.security.apply()?;
    Ok((program, argv))
}
