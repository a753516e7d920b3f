//! The runtime's error type: one variant per failure, each saying what failed, on what, and
//! (where there is something to do) what to do about it.

use std::path::PathBuf;

use nix::errno::Errno;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The container id has characters runc does not allow either.
    #[error("invalid container id {id:?}: use 1-1024 letters, digits, '_', '+', '-' and '.'")]
    InvalidId { id: String },

    /// `create` with an id that is already in use under this runtime root.
    #[error("container with id {id:?} already exists in {root}: pick another id or delete the old container first")]
    Exists { id: String, root: PathBuf },

    /// A verb was given an id that has no state directory.
    #[error("container does not exist: no container {id:?} in {root} (see `skiff runtime list`)")]
    NotFound { id: String, root: PathBuf },

    /// The container is in a state the verb cannot act on.
    #[error("cannot {action} container {id:?}: it is {status}{hint}")]
    WrongState {
        action: &'static str,
        id: String,
        status: String,
        hint: &'static str,
    },

    #[error("cannot open bundle directory {path}: {source}")]
    BundleDir {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot read {path}: {source}; is this an OCI bundle (see `skiff runtime spec`)?")]
    ReadConfig {
        path: PathBuf,
        source: std::io::Error,
    },

    /// config.json (or a process.json) has a wrong value; `field` is its JSON path.
    #[error("invalid {path}: {field}: {reason}")]
    InvalidConfig {
        path: PathBuf,
        field: String,
        reason: String,
    },

    #[error("rootfs {path} is not usable: {source}; create it or fix root.path in config.json")]
    Rootfs {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot open the {typ} namespace at {path} (linux.namespaces): {source}")]
    NamespacePath {
        typ: String,
        path: PathBuf,
        source: Errno,
    },

    #[error("cannot {action} runtime state at {path}: {source}")]
    StateIo {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "runtime state {path} is corrupt: {reason}; delete the directory to forget the container"
    )]
    StateCorrupt { path: PathBuf, reason: String },

    #[error("cannot lock container {id:?}: {source}")]
    Lock { id: String, source: Errno },

    #[error("cgroup of container {id:?}: {source}")]
    Cgroup {
        id: String,
        source: skiff_cgroups::CgroupError,
    },

    /// exec into a frozen container would hang until it is resumed.
    #[error("cannot exec in a paused container {id:?}: resume it first, or use --ignore-paused")]
    Paused { id: String },

    #[error("cannot prepare joining cgroup {path} for container {id:?}: {source}")]
    CgroupJoin {
        id: String,
        path: PathBuf,
        source: Errno,
    },

    #[error("cannot {action} for container {id:?}: {source}")]
    Sys {
        action: &'static str,
        id: String,
        source: Errno,
    },

    #[error("cannot write {map} of container {id:?} (pid {pid}): {source}; check linux.uidMappings/gidMappings")]
    IdMap {
        map: &'static str,
        id: String,
        pid: i32,
        source: std::io::Error,
    },

    /// The container's init failed while being set up; `message` is its report.
    #[error("container {id:?} failed to start: {message}")]
    Init { id: String, message: String },

    /// The init process vanished without telling us why.
    #[error("container {id:?} init process exited during setup ({detail}); run with --debug for details")]
    InitDied { id: String, detail: String },

    #[error("error running hook: {kind} hook of container {id:?} failed: {source}")]
    Hook {
        kind: &'static str,
        id: String,
        #[source]
        source: Box<crate::hooks::HookError>,
    },

    #[error("cannot connect to console socket {path}: {source}; is the listener (e.g. recvtty) running?")]
    ConsoleSocket { path: PathBuf, source: Errno },

    #[error("cannot write pid file {path}: {source}")]
    PidFile {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("unknown signal {name:?}: use a number or a name such as KILL, TERM or SIGHUP")]
    UnknownSignal { name: String },

    #[error("cannot send signal {signal} to container {id:?}: {source}")]
    Kill {
        id: String,
        signal: i32,
        source: Errno,
    },

    #[error("cannot run `{program}` for container {id:?}: {source}")]
    Command {
        program: String,
        id: String,
        source: std::io::Error,
    },

    #[error("cannot re-execute the runtime from a sealed copy ({step}): {source}")]
    SealedExe {
        step: &'static str,
        source: std::io::Error,
    },

    /// The process's security settings (rlimits, user, capabilities, seccomp) are invalid.
    #[error(transparent)]
    Security(Box<crate::security::SecurityError>),

    #[error("cannot {action} the exec fifo of container {id:?}: {source}")]
    Fifo {
        action: &'static str,
        id: String,
        source: Errno,
    },
}

impl From<crate::security::SecurityError> for Error {
    fn from(e: crate::security::SecurityError) -> Error {
        Error::Security(Box::new(e))
    }
}

impl Error {
    pub(crate) fn state_io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Error {
        Error::StateIo {
            action,
            path: path.into(),
            source,
        }
    }
}
