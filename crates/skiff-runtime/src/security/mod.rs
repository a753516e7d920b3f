//! The last steps of container start: rlimits, oom_score_adj, umask, user and groups,
//! capabilities, no_new_privileges and seccomp, applied by init just before execve.
//!
//! Split in two so that bad input fails before anything exists and the forked init does as
//! little as possible:
//! - [`prepare`] (before the fork, in the runtime): checks the spec and resolves it —
//!   rlimit numbers, the capability sets the running kernel knows, and the seccomp filter
//!   compiled to BPF. [`validate`] is `prepare` with the result thrown away;
//!   [`prepare_cached`] reuses compiled filters from an on-disk cache (compiling Docker's
//!   default profile takes libseccomp milliseconds; a cache hit, tens of microseconds).
//! - [`Prepared::apply`] (in init, single-threaded, still root with full caps in its user
//!   namespace) applies it in the order runc and crun use:
//!   1. rlimits and oom_score_adj (raising them needs CAP_SYS_RESOURCE), umask;
//!   2. PR_SET_NO_NEW_PRIVS when asked;
//!   3. seccomp now if no_new_privileges is off: loading a filter then needs CAP_SYS_ADMIN,
//!      which is about to go;
//!   4. drop the bounding set (needs CAP_SETPCAP);
//!   5. PR_SET_KEEPCAPS, setgroups, setgid, setuid, clear PR_SET_KEEPCAPS — so a non-root
//!      user keeps its permitted caps;
//!   6. inheritable, effective, permitted, ambient;
//!   7. seccomp now if no_new_privileges is on: as late as possible, so the filter constrains
//!      only the container's own program.
//!
//! [`finalize`] does both in init, for callers that have not prepared before forking.

mod capabilities;
pub mod default_profile;
mod enosys;
mod identity;
mod listener;
mod rlimits;
mod seccomp;
mod seccomp_cache;
pub(crate) mod sys;

use std::os::fd::OwnedFd;

use nix::unistd::Pid;
use oci_spec::runtime::{LinuxSeccomp, Process};

pub use capabilities::parse_capability;
pub use default_profile::docker_default_seccomp;
pub use listener::{send_seccomp_listener, SECCOMP_FD_NAME};
pub use seccomp::SeccompProgram;

use capabilities::CapabilityPlan;
use identity::Identity;
use rlimits::Rlimit;

/// What the security setup of a container process can fail on.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// The same rlimit type appears twice in process.rlimits.
    #[error("process.rlimits: {name} is given more than once; keep one entry per limit")]
    RlimitDuplicate { name: String },

    /// An rlimit's soft value exceeds its hard value.
    #[error("process.rlimits: {name} soft limit {soft} is above its hard limit {hard}; lower soft or raise hard")]
    RlimitSoftAboveHard { name: String, soft: u64, hard: u64 },

    /// An rlimit's hard value exceeds the caller's and the caller may not raise it.
    #[error("process.rlimits: {name} hard limit {requested} is above the caller's hard limit {current}, which only a privileged caller (CAP_SYS_RESOURCE in the initial user namespace) may raise; lower it to at most {current}")]
    RlimitAboveHardLimit {
        name: String,
        requested: u64,
        current: u64,
    },

    /// Reading the caller's current rlimit failed.
    #[error("reading the current {name}: {source}")]
    GetRlimit {
        name: String,
        #[source]
        source: nix::Error,
    },

    /// setrlimit/prlimit refused a limit.
    #[error("setting {name} to soft {soft}, hard {hard}: {source} (raising a hard limit needs CAP_SYS_RESOURCE in the initial user namespace; set it from outside a user namespace or lower it)")]
    SetRlimit {
        name: String,
        soft: u64,
        hard: u64,
        #[source]
        source: nix::Error,
    },

    /// process.oomScoreAdj is outside the kernel's range.
    #[error("process.oomScoreAdj {value} is outside -1000..=1000")]
    OomScoreAdjRange { value: i32 },

    /// Writing /proc/self/oom_score_adj failed.
    #[error("writing {value} to /proc/self/oom_score_adj: {source} (is /proc mounted in the container? lowering the score needs CAP_SYS_RESOURCE)")]
    OomScoreAdj {
        value: i32,
        #[source]
        source: std::io::Error,
    },

    /// process.user.umask has bits outside 0o777.
    #[error("process.user.umask {umask:#o} has bits outside 0o777")]
    InvalidUmask { umask: u32 },

    /// setgroups(2) failed.
    #[error("setting supplementary groups {gids:?} (process.user.additionalGids): {source}")]
    SetGroups {
        gids: Vec<u32>,
        #[source]
        source: nix::Error,
    },

    /// setgid(2) failed.
    #[error(
        "setting gid {gid} (process.user.gid): {source} (is the gid mapped in the user namespace?)"
    )]
    SetGid {
        gid: u32,
        #[source]
        source: nix::Error,
    },

    /// setuid(2) failed.
    #[error(
        "setting uid {uid} (process.user.uid): {source} (is the uid mapped in the user namespace?)"
    )]
    SetUid {
        uid: u32,
        #[source]
        source: nix::Error,
    },

    /// PR_SET_KEEPCAPS failed.
    #[error("setting PR_SET_KEEPCAPS to {keep}: {source}")]
    KeepCaps {
        keep: bool,
        #[source]
        source: caps::errors::CapsError,
    },

    /// A capability name is not one Linux defines.
    #[error("unknown capability {name:?}; use a name from capabilities(7) such as CAP_NET_ADMIN")]
    UnknownCapability { name: String },

    /// Dropping a capability from the bounding set failed.
    #[error("dropping {capability} from the bounding set: {source} (this needs CAP_SETPCAP)")]
    DropBoundingCapability {
        capability: String,
        #[source]
        source: caps::errors::CapsError,
    },

    /// capset(2) refused a set.
    #[error("setting the {set} capabilities to [{capabilities}]: {source} (effective and inheritable must be within permitted, inheritable within bounding)")]
    SetCapabilities {
        set: &'static str,
        capabilities: String,
        #[source]
        source: caps::errors::CapsError,
    },

    /// PR_SET_NO_NEW_PRIVS failed.
    #[error("setting no_new_privileges: {source}")]
    NoNewPrivileges {
        #[source]
        source: nix::Error,
    },

    /// SCMP_ACT_NOTIFY was given as linux.seccomp.defaultAction.
    #[error(
        "linux.seccomp.defaultAction cannot be SCMP_ACT_NOTIFY; use it on individual syscalls"
    )]
    SeccompNotifyAsDefault,

    /// A NOTIFY rule without a listener to send the notifications to.
    #[error("linux.seccomp uses SCMP_ACT_NOTIFY but linux.seccomp.listenerPath is not set; set it to the seccomp agent's socket")]
    SeccompNotifyWithoutListener,

    /// An errnoRet outside what the kernel can return.
    #[error("{field} is {value}, above the maximum {max}")]
    SeccompErrnoOutOfRange { field: String, value: u32, max: u32 },

    /// An argument filter names an argument a syscall cannot have.
    #[error("linux.seccomp: the argument filter for {syscall} uses index {index}; syscall arguments are numbered 0 to 5")]
    SeccompArgIndex { syscall: String, index: usize },

    /// libseccomp does not support an architecture of linux.seccomp.architectures.
    #[error("linux.seccomp.architectures: {arch} is not supported by the installed libseccomp: {source}")]
    SeccompArch {
        arch: String,
        #[source]
        source: libseccomp::error::SeccompError,
    },

    /// libseccomp refused a rule.
    #[error("linux.seccomp.syscalls[{index}]: adding the rule for {syscall}: {source}")]
    SeccompRule {
        syscall: String,
        index: usize,
        #[source]
        source: libseccomp::error::SeccompError,
    },

    /// The compiled filter exceeds what the kernel loads.
    #[error("linux.seccomp compiles to {instructions} BPF instructions, more than the kernel's limit of 4096; merge rules or drop argument filters")]
    SeccompTooLarge { instructions: usize },

    /// libseccomp failed to build the filter.
    #[error("seccomp: {what}: {source}")]
    SeccompCompile {
        what: String,
        #[source]
        source: libseccomp::error::SeccompError,
    },

    /// Moving the compiled program out of libseccomp failed.
    #[error("seccomp: {what} the compiled BPF program: {source}")]
    SeccompExport {
        what: String,
        #[source]
        source: std::io::Error,
    },

    /// The kernel refused the filter.
    #[error("loading the seccomp filter (flags {flags}): {source} (without no_new_privileges this needs CAP_SYS_ADMIN; EINVAL means the kernel lacks a flag or action)")]
    SeccompLoad {
        flags: String,
        #[source]
        source: nix::Error,
    },

    /// Connecting to linux.seccomp.listenerPath failed.
    #[error("connecting to the seccomp agent at {path}: {source}")]
    ListenerConnect {
        path: std::path::PathBuf,
        #[source]
        source: nix::Error,
    },

    /// Sending the state and the listener fd to the agent failed.
    #[error("sending the seccomp listener to the agent at {path}: {source}")]
    ListenerSend {
        path: std::path::PathBuf,
        #[source]
        source: nix::Error,
    },

    /// The container state given to send to the agent is not valid JSON.
    #[error("the container state for the seccomp agent is not valid JSON: {source}")]
    ListenerState {
        #[source]
        source: serde_json::Error,
    },
}

/// The security setup of one container process, checked and resolved before the fork.
#[derive(Debug, Clone)]
pub struct Prepared {
    rlimits: Vec<Rlimit>,
    oom_score_adj: Option<i32>,
    identity: Identity,
    capabilities: CapabilityPlan,
    no_new_privileges: bool,
    seccomp: Option<SeccompProgram>,
}

/// Checks and resolves `process` and `seccomp` for [`Prepared::apply`]. Call it in the
/// runtime before forking: every error here leaves nothing behind.
pub fn prepare(
    process: &Process,
    seccomp: Option<&LinuxSeccomp>,
) -> Result<Prepared, SecurityError> {
    let program = seccomp.map(SeccompProgram::compile).transpose()?;
    prepare_with(process, program)
}

/// [`prepare`] with the seccomp program taken from (or added to) the compiled-program cache in
/// `cache_dir`, which must be private to the runtime (for example /run/skiff/seccomp); see
/// [`SeccompProgram::compile_cached`]. Saves milliseconds per start for common profiles.
pub fn prepare_cached(
    process: &Process,
    seccomp: Option<&LinuxSeccomp>,
    cache_dir: &std::path::Path,
) -> Result<Prepared, SecurityError> {
    let program = seccomp
        .map(|s| SeccompProgram::compile_cached(s, cache_dir))
        .transpose()?;
    prepare_with(process, program)
}

/// [`prepare`] with a seccomp program compiled earlier (the engine may cache one per
/// profile); `None` means no filter.
pub fn prepare_with(
    process: &Process,
    seccomp: Option<SeccompProgram>,
) -> Result<Prepared, SecurityError> {
    let rlimits = rlimits::plan(
        process.rlimits().as_deref().unwrap_or_default(),
        may_raise_hard_limits,
    )?;
    let oom_score_adj = process.oom_score_adj();
    if let Some(value) = oom_score_adj {
        if !(-1000..=1000).contains(&value) {
            return Err(SecurityError::OomScoreAdjRange { value });
        }
    }
    Ok(Prepared {
        rlimits,
        oom_score_adj,
        identity: identity::plan(process.user())?,
        capabilities: capabilities::plan(
            process.capabilities().as_ref(),
            capabilities::kernel_last_cap(),
        ),
        no_new_privileges: process.no_new_privileges().unwrap_or(false),
        seccomp,
    })
}

/// Checks `process` and `seccomp` without changing anything: the `create`-time check.
pub fn validate(process: &Process, seccomp: Option<&LinuxSeccomp>) -> Result<(), SecurityError> {
    prepare(process, seccomp).map(drop)
}

/// Prepares and applies in one go, in init. Returns the seccomp notification listener when
/// the filter has NOTIFY rules (send it to the agent with [`send_seccomp_listener`]).
pub fn finalize(
    process: &Process,
    seccomp: Option<&LinuxSeccomp>,
) -> Result<Option<OwnedFd>, SecurityError> {
    prepare(process, seccomp)?.apply()
}

/// Sets the prepared rlimits on process `pid` from outside. Use it when init enters a new user
/// namespace, where raising a hard limit is no longer possible (as runc does); `apply` then
/// sets the same values again, which the kernel allows.
pub fn apply_rlimits_to(pid: Pid, prepared: &Prepared) -> Result<(), SecurityError> {
    rlimits::apply_to(pid, &prepared.rlimits)
}

impl Prepared {
    /// Applies everything, in the order the module documentation gives. Call it as init's
    /// last step before execve. Returns the seccomp notification listener, if any.
    pub fn apply(&self) -> Result<Option<OwnedFd>, SecurityError> {
        rlimits::apply(&self.rlimits)?;
        if let Some(value) = self.oom_score_adj {
            write_oom_score_adj(value)?;
        }
        identity::apply_umask(&self.identity);
        if self.no_new_privileges {
            nix::sys::prctl::set_no_new_privs()
                .map_err(|source| SecurityError::NoNewPrivileges { source })?;
        }
        // Without no_new_privileges the kernel wants CAP_SYS_ADMIN to load a filter, so
        // load it while we still have it; with it, load it last.
        let load_early = !self.no_new_privileges;
        let early_listener = if load_early {
            self.load_seccomp()?
        } else {
            None
        };
        capabilities::drop_bounding(&self.capabilities)?;
        set_keepcaps(true)?;
        identity::switch(&self.identity)?;
        set_keepcaps(false)?;
        capabilities::apply(&self.capabilities)?;
        if load_early {
            Ok(early_listener)
        } else {
            self.load_seccomp()
        }
    }

    /// Whether [`apply`](Prepared::apply) returns a seccomp notification listener.
    pub fn has_seccomp_listener(&self) -> bool {
        self.seccomp
            .as_ref()
            .is_some_and(SeccompProgram::has_listener)
    }

    fn load_seccomp(&self) -> Result<Option<OwnedFd>, SecurityError> {
        match &self.seccomp {
            Some(program) => program.load(),
            None => Ok(None),
        }
    }
}

fn set_keepcaps(keep: bool) -> Result<(), SecurityError> {
    caps::securebits::set_keepcaps(keep).map_err(|source| SecurityError::KeepCaps { keep, source })
}

fn write_oom_score_adj(value: i32) -> Result<(), SecurityError> {
    std::fs::write("/proc/self/oom_score_adj", value.to_string())
        .map_err(|source| SecurityError::OomScoreAdj { value, source })
}

/// Whether this process may raise hard rlimits: CAP_SYS_RESOURCE counts only in the initial
/// user namespace, whose uid_map is the identity map of all 2^32-1 ids.
fn may_raise_hard_limits() -> bool {
    let has_cap = caps::has_cap(
        None,
        caps::CapSet::Effective,
        caps::Capability::CAP_SYS_RESOURCE,
    )
    .unwrap_or(false);
    has_cap
        && std::fs::read_to_string("/proc/self/uid_map")
            .is_ok_and(|map| map.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
}
