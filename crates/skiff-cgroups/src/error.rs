//! The one error type of this crate. Every variant names what failed, on which path or field,
//! and, where there is one, what the caller can do about it.

use std::io;
use std::path::PathBuf;

/// A cgroup operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// statfs on the cgroup mount point failed.
    #[error(
        "cannot detect the cgroup hierarchy: statfs {path} failed: {source}; is /sys mounted?"
    )]
    Detect {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },

    /// /sys/fs/cgroup is neither cgroup2 nor a tmpfs of v1 hierarchies.
    #[error(
        "unsupported cgroup setup: {path} is a filesystem with magic {magic:#x}, expected cgroup2 \
         or a tmpfs holding v1 hierarchies; mount cgroups there"
    )]
    UnsupportedFilesystem { path: PathBuf, magic: i64 },

    /// The OCI linux.cgroupsPath cannot be used.
    #[error("invalid cgroups path {path:?}: {reason}")]
    InvalidPath { path: String, reason: &'static str },

    /// /proc/thread-self/mountinfo could not be read.
    #[error("cannot read /proc/thread-self/mountinfo to find the cgroup v1 mounts: {source}; is /proc mounted?")]
    MountInfo {
        #[source]
        source: io::Error,
    },

    /// A v1 controller that the requested resources need is not mounted.
    #[error(
        "cgroup v1 controller {controller} is not mounted, so {field} cannot be applied; mount it \
         under /sys/fs/cgroup/{controller} or drop the setting"
    )]
    ControllerMissing {
        controller: &'static str,
        field: &'static str,
    },

    /// Mounting a missing v1 hierarchy (net_cls) failed.
    #[error("cannot mount the cgroup v1 {controller} hierarchy on {target}: {source}")]
    Mount {
        controller: &'static str,
        target: PathBuf,
        #[source]
        source: nix::Error,
    },

    /// Taking the lock that serialises mounting a v1 hierarchy failed.
    #[error("cannot lock {path} to mount the {controller} hierarchy: {source}")]
    Lock {
        controller: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// mkdir of a cgroup directory failed.
    #[error("cannot create cgroup directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Opening a cgroup directory failed.
    #[error("cannot open cgroup directory {path}: {source}; was the cgroup created?")]
    OpenDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Writing a cgroup control file failed (the kernel rejected the value, or the file is
    /// missing because this kernel lacks the feature).
    #[error("cannot write {value:?} to {path}: {source}; check that the value is valid and the kernel supports it")]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
    },

    /// Reading a cgroup control file failed.
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A control file held something this crate does not understand.
    #[error("cannot parse {path}: unexpected content {content:?}")]
    Parse { path: PathBuf, content: String },

    /// A resource value is invalid before it reaches the kernel.
    #[error("invalid linux.resources.{field} = {value}: {reason}")]
    InvalidResource {
        field: &'static str,
        value: String,
        reason: &'static str,
    },

    /// A resource that this hierarchy cannot express.
    #[error("linux.resources.{field} is not supported on cgroup {hierarchy}: {reason}")]
    Unsupported {
        field: &'static str,
        hierarchy: &'static str,
        reason: &'static str,
    },

    /// rmdir kept failing because tasks stayed in the cgroup.
    #[error("cannot remove cgroup {path}: {source}; processes may still be running in it (see its cgroup.procs)")]
    RemoveDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The freezer did not reach the frozen state in time.
    #[error("cgroup {path} did not freeze in time (state {state:?}); a task may be stuck in uninterruptible sleep; it was thawed again")]
    FreezeTimeout { path: PathBuf, state: String },

    /// `kill_all` was given a number that is no signal.
    #[error("cannot signal the tasks of cgroup {path}: {signal} is not a signal number")]
    InvalidSignal { signal: i32, path: PathBuf },

    /// Sending a signal to a task of the cgroup failed.
    #[error("cannot send signal {signal} to pid {pid} of cgroup {path}: {source}")]
    Signal {
        pid: i32,
        signal: i32,
        path: PathBuf,
        #[source]
        source: nix::Error,
    },

    /// A bpf(2) step of the v2 device filter failed.
    #[error("cannot {op} the eBPF device filter for cgroup {path}: {source}{log}")]
    Bpf {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
        /// The verifier log (prefixed with a newline) when the kernel gave one.
        log: String,
    },
}
