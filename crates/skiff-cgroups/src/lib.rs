//! Cgroups for the skiff runtime: one interface, two implementations chosen at run time.
//!
//! # Contract (used by `skiff-runtime`)
//!
//! - [`detect`] tells which hierarchy the host runs: [`Hierarchy::V2`] when /sys/fs/cgroup is
//!   cgroup2, [`Hierarchy::V1`] when it is a tmpfs of v1 hierarchies. Hybrid hosts (v1 plus a
//!   cgroup2 `unified/`) count as v1, like youki does.
//! - [`Manager::new`] maps an OCI `linux.cgroupsPath` to a cgroup path without touching the
//!   filesystem: `None` => `/skiff/<id>`; relative => under `/skiff/`; absolute => as is;
//!   the systemd form `slice:prefix:name` => `/<slice path>/<prefix>-<name>.scope`.
//! - [`Manager::create`] makes the cgroup (v1: in every mounted hierarchy, mounting net_cls
//!   when the host lacks it), [`Manager::add_task`] moves a process in, and
//!   [`Manager::apply`] creates and writes only the files for the resources given, so it serves
//!   both `create` and `update`.
//! - [`Manager::freeze`] / [`Manager::thaw`], [`Manager::pids`], [`Manager::stats`],
//!   [`Manager::oom_kill_count`], [`Manager::kill_all`] and [`Manager::destroy`] act on the real
//!   cgroup filesystem.
//!
//! Device rules are applied in order, exactly as given, on top of "allow everything" (a fresh
//! v1 cgroup): an allowlist starts with a "deny all" rule, as docker and podman send. The
//! runtime adds the default devices of the OCI spec (see [`default_device_rules`]). On v2 the
//! rules become an eBPF program of type `BPF_PROG_TYPE_CGROUP_DEVICE` with the same meaning.

mod error;
mod fsutil;
mod path;
mod stats;
mod v1;
mod v2;

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use error::CgroupError;
pub use oci_spec::runtime::LinuxResources;
pub use stats::{
    BlkioDeviceStats, BlkioStats, CpuStats, HugetlbStats, MemoryStats, PidsStats, Stats,
    ThrottlingStats,
};

/// Where every hierarchy is mounted.
pub(crate) const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The cgroup hierarchy the host runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Hierarchy {
    /// Legacy: one hierarchy per controller (includes hybrid hosts).
    V1,
    /// The unified hierarchy.
    V2,
}

/// Detects the host's hierarchy with one statfs(2) of /sys/fs/cgroup; the answer is cached
/// for the life of the process (it cannot change without a reboot).
pub fn detect() -> Result<Hierarchy, CgroupError> {
    static DETECTED: OnceLock<Hierarchy> = OnceLock::new();
    if let Some(h) = DETECTED.get() {
        return Ok(*h);
    }
    use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC, TMPFS_MAGIC};
    let st = statfs(CGROUP_ROOT).map_err(|source| CgroupError::Detect {
        path: CGROUP_ROOT.into(),
        source,
    })?;
    let hierarchy = match st.filesystem_type() {
        t if t == CGROUP2_SUPER_MAGIC => Hierarchy::V2,
        t if t == TMPFS_MAGIC => Hierarchy::V1,
        t => {
            #[allow(clippy::unnecessary_cast)] // the statfs f_type width differs per arch
            return Err(CgroupError::UnsupportedFilesystem {
                path: CGROUP_ROOT.into(),
                magic: t.0 as i64,
            });
        }
    };
    Ok(*DETECTED.get_or_init(|| hierarchy))
}

/// The device rules every OCI container gets besides its own (runc's default allow list):
/// mknod of any char/block device, and read/write of null, zero, full, random, urandom, tty,
/// the console, ptmx and the pty slaves. The runtime appends them after the spec's
/// `linux.resources.devices` (which usually starts with "deny all"), as runc does.
pub fn default_device_rules() -> Vec<oci_spec::runtime::LinuxDeviceCgroup> {
    use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};
    let rule = |typ, major: Option<i64>, minor: Option<i64>, access: &str| {
        let mut r = LinuxDeviceCgroup::default();
        r.set_allow(true);
        r.set_typ(Some(typ));
        r.set_major(major);
        r.set_minor(minor);
        r.set_access(Some(access.to_owned()));
        r
    };
    use LinuxDeviceType::{B, C};
    vec![
        rule(C, None, None, "m"),
        rule(B, None, None, "m"),
        rule(C, Some(1), Some(3), "rwm"), // null
        rule(C, Some(1), Some(5), "rwm"), // zero
        rule(C, Some(1), Some(7), "rwm"), // full
        rule(C, Some(1), Some(8), "rwm"), // random
        rule(C, Some(1), Some(9), "rwm"), // urandom
        rule(C, Some(5), Some(0), "rwm"), // tty
        rule(C, Some(5), Some(1), "rwm"), // console
        rule(C, Some(5), Some(2), "rwm"), // ptmx
        rule(C, Some(136), None, "rwm"),  // pts/*
    ]
}

/// A container's cgroup, on whichever hierarchy the host runs.
#[derive(Debug)]
pub struct Manager {
    inner: Inner,
}

/// Enum dispatch: no trait objects on the hot path.
#[derive(Debug)]
enum Inner {
    V1(v1::Manager),
    V2(v2::Manager),
}

macro_rules! dispatch {
    ($self:ident, $m:ident => $e:expr) => {
        match &$self.inner {
            Inner::V1($m) => $e,
            Inner::V2($m) => $e,
        }
    };
}

impl Manager {
    /// A manager for the OCI `linux.cgroupsPath` `cgroups_path` of container `container_id`.
    /// `None` => "/skiff/<container_id>"; a relative path is placed under "/skiff/"; the
    /// systemd form "slice:prefix:name" maps to "/<slice>/<prefix>-<name>.scope".
    /// Cheap: reads the mount table on v1, writes nothing.
    pub fn new(cgroups_path: Option<&str>, container_id: &str) -> Result<Manager, CgroupError> {
        let relative = path::resolve(cgroups_path, container_id)?;
        let inner = match detect()? {
            Hierarchy::V1 => Inner::V1(v1::Manager::new(relative)?),
            Hierarchy::V2 => Inner::V2(v2::Manager::new(Path::new(CGROUP_ROOT), relative)),
        };
        Ok(Manager { inner })
    }

    /// Which hierarchy this manager drives.
    pub fn hierarchy(&self) -> Hierarchy {
        match self.inner {
            Inner::V1(_) => Hierarchy::V1,
            Inner::V2(_) => Hierarchy::V2,
        }
    }

    /// Creates the cgroup (v1: in every mounted hierarchy; net_cls is mounted first when the
    /// host lacks it). Idempotent.
    pub fn create(&self) -> Result<(), CgroupError> {
        dispatch!(self, m => m.create())
    }

    /// Moves process `pid` (with all its threads) into the cgroup.
    pub fn add_task(&self, pid: i32) -> Result<(), CgroupError> {
        dispatch!(self, m => m.add_task(pid))
    }

    /// v2 only: an O_DIRECTORY fd of the leaf cgroup, for clone3(CLONE_INTO_CGROUP).
    /// `None` on v1. The cgroup must exist ([`Manager::create`]).
    pub fn leaf_dir_fd(&self) -> Result<Option<OwnedFd>, CgroupError> {
        match &self.inner {
            Inner::V1(_) => Ok(None),
            Inner::V2(m) => m.leaf_dir_fd().map(Some),
        }
    }

    /// Creates the cgroup if needed and writes the given resources; serves `update` too.
    /// Only the files for the resources that are set are touched.
    pub fn apply(&self, resources: &LinuxResources) -> Result<(), CgroupError> {
        dispatch!(self, m => m.apply(resources))
    }

    /// Freezes every task of the cgroup and waits until the kernel reports it frozen.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        dispatch!(self, m => m.freeze())
    }

    /// Thaws the cgroup.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        dispatch!(self, m => m.thaw())
    }

    /// Whether the cgroup is frozen.
    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        dispatch!(self, m => m.is_frozen())
    }

    /// Every process of the cgroup and of the cgroups below it.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        dispatch!(self, m => m.pids())
    }

    /// Current usage and limits.
    pub fn stats(&self) -> Result<Stats, CgroupError> {
        dispatch!(self, m => m.stats())
    }

    /// How many tasks the kernel's OOM killer killed in this cgroup.
    pub fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        dispatch!(self, m => m.oom_kill_count())
    }

    /// Sends `signal` to every task (v2 with SIGKILL: cgroup.kill; otherwise the cgroup is
    /// frozen while the tasks are signalled, so none can fork away).
    pub fn kill_all(&self, signal: i32) -> Result<(), CgroupError> {
        dispatch!(self, m => m.kill_all(signal))
    }

    /// Removes the cgroup everywhere; retries briefly while tasks exit. Missing is fine.
    pub fn destroy(&self) -> Result<(), CgroupError> {
        dispatch!(self, m => m.destroy())
    }

    /// The cgroup's directories (v1: one per hierarchy), for diagnostics and tests.
    pub fn paths(&self) -> Vec<PathBuf> {
        dispatch!(self, m => m.paths())
    }
}
