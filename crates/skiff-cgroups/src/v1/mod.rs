//! The v1 manager: one hierarchy per controller (hybrid hosts included).
//!
//! `new` finds each controller's mount point in /proc/thread-self/mountinfo and writes nothing.
//! `create` makes the container's directory in every hierarchy (mounting net_cls first when
//! the host has the controller but no hierarchy for it), `apply` writes the files of the
//! resources given, controller by controller (one module each).
//!
//! Hybrid hosts may have hugetlb only in the cgroup2 `unified/` tree (as this project's CI
//! machine does); the manager then treats that cgroup2 directory as the hugetlb "hierarchy"
//! and uses the v2 file names there.

mod blkio;
mod cpu;
mod cpuacct;
mod cpuset;
pub(crate) mod devices;
mod freezer;
mod hugetlb;
mod memory;
mod net_cls;
pub(crate) mod pids;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use crate::{fsutil, CgroupError, LinuxResources, Stats, CGROUP_ROOT};

/// The v1 controllers (and the named systemd hierarchy) a container joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Controller {
    Cpu,
    Cpuacct,
    Cpuset,
    Memory,
    Devices,
    Freezer,
    Blkio,
    Pids,
    NetCls,
    NetPrio,
    Hugetlb,
    /// `name=systemd`: no resources, but systemd inside a container expects its own cgroup.
    Systemd,
}

impl Controller {
    const ALL: [Controller; 12] = [
        Controller::Cpu,
        Controller::Cpuacct,
        Controller::Cpuset,
        Controller::Memory,
        Controller::Devices,
        Controller::Freezer,
        Controller::Blkio,
        Controller::Pids,
        Controller::NetCls,
        Controller::NetPrio,
        Controller::Hugetlb,
        Controller::Systemd,
    ];

    /// The name in mount options and /proc/cgroups.
    fn name(self) -> &'static str {
        match self {
            Controller::Cpu => "cpu",
            Controller::Cpuacct => "cpuacct",
            Controller::Cpuset => "cpuset",
            Controller::Memory => "memory",
            Controller::Devices => "devices",
            Controller::Freezer => "freezer",
            Controller::Blkio => "blkio",
            Controller::Pids => "pids",
            Controller::NetCls => "net_cls",
            Controller::NetPrio => "net_prio",
            Controller::Hugetlb => "hugetlb",
            Controller::Systemd => "name=systemd",
        }
    }
}

/// One v1 cgroup: a directory per mounted hierarchy.
#[derive(Debug)]
pub(crate) struct Manager {
    relative: PathBuf,
    /// Each mounted controller with the container's directory in its hierarchy. Co-mounted
    /// controllers (cpu,cpuacct) share a directory.
    dirs: Vec<(Controller, PathBuf)>,
    /// Set when net_cls is not mounted: `create` mounts it here first.
    net_cls_mount: Option<PathBuf>,
    /// Mounting net_cls failed (e.g. no right to mount here): go on without it.
    net_cls_unavailable: AtomicBool,
    /// hugetlb lives in the hybrid cgroup2 tree mounted here (v2 file names).
    unified_hugetlb: Option<PathBuf>,
    /// `create` ran, so `apply` need not create again (the usual create, add_task, apply).
    created: AtomicBool,
}

impl Manager {
    /// Reads the mount table once to find every hierarchy. Writes nothing.
    pub(crate) fn new(relative: PathBuf) -> Result<Manager, CgroupError> {
        let mountinfo = read_mountinfo()?;
        let mounts = parse_mountinfo(&mountinfo);
        let mut dirs = Vec::with_capacity(Controller::ALL.len());
        for controller in Controller::ALL {
            if let Some((_, mount)) = mounts.iter().find(|(c, _)| *c == controller) {
                dirs.push((controller, Path::new(mount).join(&relative)));
            }
        }
        let mut net_cls_mount = None;
        if !dirs.iter().any(|(c, _)| *c == Controller::NetCls) && kernel_has("net_cls") {
            let mount = Path::new(CGROUP_ROOT).join("net_cls");
            dirs.push((Controller::NetCls, mount.join(&relative)));
            net_cls_mount = Some(mount);
        }
        let mut unified_hugetlb = None;
        if !dirs.iter().any(|(c, _)| *c == Controller::Hugetlb) {
            if let Some(unified) = unified_mount(&mountinfo) {
                if unified_has_hugetlb(&unified) {
                    dirs.push((Controller::Hugetlb, unified.join(&relative)));
                    unified_hugetlb = Some(unified);
                }
            }
        }
        Ok(Manager {
            relative,
            dirs,
            net_cls_mount,
            net_cls_unavailable: AtomicBool::new(false),
            unified_hugetlb,
            created: AtomicBool::new(false),
        })
    }

    /// The container's directory for `controller`, if that hierarchy is mounted.
    fn dir(&self, controller: Controller) -> Option<&Path> {
        self.usable_dirs()
            .find(|(c, _)| *c == controller)
            .map(|(_, d)| d)
    }

    /// Every controller's directory, minus net_cls if it could not be mounted.
    fn usable_dirs(&self) -> impl Iterator<Item = (Controller, &Path)> {
        let skip_net_cls = self.net_cls_unavailable.load(Ordering::Relaxed);
        self.dirs
            .iter()
            .filter(move |(c, _)| !(skip_net_cls && *c == Controller::NetCls))
            .map(|(c, d)| (*c, d.as_path()))
    }

    /// Like [`Manager::dir`], but an error naming `field` when the hierarchy is missing.
    fn need(&self, controller: Controller, field: &'static str) -> Result<&Path, CgroupError> {
        self.dir(controller).ok_or(CgroupError::ControllerMissing {
            controller: controller.name(),
            field,
        })
    }

    /// Each distinct directory once (co-mounted controllers share one).
    fn unique_dirs(&self) -> impl Iterator<Item = (Controller, &Path)> {
        self.usable_dirs().enumerate().filter_map(|(i, (c, d))| {
            let first = self.usable_dirs().take(i).all(|(_, other)| other != d);
            first.then_some((c, d))
        })
    }

    pub(crate) fn create(&self) -> Result<(), CgroupError> {
        if let Some(mount) = &self.net_cls_mount {
            if !self.net_cls_unavailable.load(Ordering::Relaxed) {
                if let Err(e) = net_cls::ensure_mounted(mount) {
                    // Not fatal: only a container that asks for a class id needs it, and
                    // `apply` reports that one as ControllerMissing.
                    tracing::warn!("{e}; containers get no net_cls cgroup");
                    self.net_cls_unavailable.store(true, Ordering::Relaxed);
                }
            }
        }
        for (controller, dir) in self.unique_dirs() {
            match (controller, &self.unified_hugetlb) {
                (Controller::Cpuset, _) => cpuset::create(dir, &self.relative)?,
                (Controller::Hugetlb, Some(unified)) => {
                    fsutil::create_dir_all(dir)?;
                    // cgroup2 rules: every parent must pass the controller down.
                    crate::v2::enable_controllers(unified, &self.relative, Some(&["hugetlb"]))?;
                }
                _ => fsutil::create_dir_all(dir)?,
            }
        }
        self.created.store(true, Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn add_task(&self, pid: i32) -> Result<(), CgroupError> {
        let pid = pid.to_string();
        for (_, dir) in self.unique_dirs() {
            fsutil::write(dir, "cgroup.procs", &pid)?;
        }
        Ok(())
    }

    pub(crate) fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        if !self.created.load(Ordering::Relaxed) {
            self.create()?;
        }
        if let Some(memory) = r.memory() {
            memory::apply(self.need(Controller::Memory, "memory")?, memory)?;
        }
        if let Some(cpu) = r.cpu() {
            if cpu::is_set(cpu) {
                cpu::apply(self.need(Controller::Cpu, "cpu")?, cpu)?;
            }
            if cpu.cpus().is_some() || cpu.mems().is_some() {
                cpuset::apply(self.need(Controller::Cpuset, "cpu.cpus")?, cpu)?;
            }
        }
        if let Some(p) = r.pids() {
            pids::apply(self.need(Controller::Pids, "pids")?, p)?;
        }
        if let Some(blkio) = r.block_io() {
            blkio::apply(self.need(Controller::Blkio, "blockIO")?, blkio)?;
        }
        if let Some(rules) = r.devices() {
            if !rules.is_empty() {
                devices::apply(self.need(Controller::Devices, "devices")?, rules)?;
            }
        }
        if let Some(network) = r.network() {
            net_cls::apply(
                self.dir(Controller::NetCls),
                self.dir(Controller::NetPrio),
                network,
            )?;
        }
        if let Some(limits) = r.hugepage_limits() {
            if !limits.is_empty() {
                let dir = self.need(Controller::Hugetlb, "hugepageLimits")?;
                hugetlb::apply(dir, self.unified_hugetlb.is_some(), limits)?;
            }
        }
        if r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
            return Err(CgroupError::Unsupported {
                field: "unified",
                hierarchy: "v1",
                reason: "unified keys are cgroup v2 files; this host runs cgroup v1",
            });
        }
        if r.rdma().as_ref().is_some_and(|r| !r.is_empty()) {
            tracing::warn!("linux.resources.rdma is not supported by skiff; ignored");
        }
        Ok(())
    }

    pub(crate) fn freeze(&self) -> Result<(), CgroupError> {
        freezer::freeze(self.need(Controller::Freezer, "freezer")?)
    }

    pub(crate) fn thaw(&self) -> Result<(), CgroupError> {
        freezer::thaw(self.need(Controller::Freezer, "freezer")?)
    }

    pub(crate) fn is_frozen(&self) -> Result<bool, CgroupError> {
        match self.dir(Controller::Freezer) {
            Some(dir) => freezer::is_frozen(dir),
            None => Ok(false),
        }
    }

    pub(crate) fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        // Every hierarchy holds every task; pick one that is always there if mounted.
        let dir = [
            Controller::Pids,
            Controller::Freezer,
            Controller::Devices,
            Controller::Memory,
        ]
        .into_iter()
        .find_map(|c| self.dir(c))
        .or_else(|| self.usable_dirs().next().map(|(_, d)| d));
        let mut pids = Vec::new();
        if let Some(dir) = dir {
            fsutil::collect_pids(dir, &mut pids)?;
        }
        Ok(pids)
    }

    pub(crate) fn stats(&self) -> Result<Stats, CgroupError> {
        let mut stats = Stats::default();
        if let Some(dir) = self.dir(Controller::Memory) {
            stats.memory = memory::stats(dir)?;
        }
        if let Some(dir) = self.dir(Controller::Cpuacct) {
            cpuacct::stats(dir, &mut stats.cpu)?;
        }
        if let Some(dir) = self.dir(Controller::Cpu) {
            stats.cpu.throttling = cpu::throttling(dir)?;
        }
        if let Some(dir) = self.dir(Controller::Pids) {
            stats.pids = pids::stats(dir)?;
        }
        if let Some(dir) = self.dir(Controller::Blkio) {
            stats.blkio = blkio::stats(dir)?;
        }
        if let Some(dir) = self.dir(Controller::Hugetlb) {
            stats.hugetlb = hugetlb::stats(dir, self.unified_hugetlb.is_some())?;
        }
        Ok(stats)
    }

    pub(crate) fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        match self.dir(Controller::Memory) {
            Some(dir) => memory::oom_kill_count(dir),
            None => Ok(0),
        }
    }

    pub(crate) fn kill_all(&self, signal: i32) -> Result<(), CgroupError> {
        // Freeze first so no task can fork a child we would miss; signals are delivered
        // when the tasks thaw.
        let freezer = self.dir(Controller::Freezer);
        let frozen = match freezer {
            Some(dir) => freezer::freeze(dir).is_ok(),
            None => false,
        };
        let pids = self.pids()?;
        let dir = self
            .dirs
            .first()
            .map_or(Path::new(CGROUP_ROOT), |(_, d)| d.as_path());
        let result = fsutil::signal_all(dir, &pids, signal);
        if let (true, Some(dir)) = (frozen, freezer) {
            freezer::thaw(dir)?;
        }
        result
    }

    pub(crate) fn destroy(&self) -> Result<(), CgroupError> {
        self.created.store(false, Ordering::Relaxed);
        let mut first_error = None;
        for (_, dir) in self.unique_dirs() {
            if let Err(e) = fsutil::remove_cgroup(dir) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    pub(crate) fn paths(&self) -> Vec<PathBuf> {
        self.unique_dirs().map(|(_, d)| d.to_owned()).collect()
    }
}

/// The mount table of the calling thread's mount namespace (a thread may have unshared its
/// own; /proc/self would show the main thread's).
fn read_mountinfo() -> Result<String, CgroupError> {
    std::fs::read_to_string("/proc/thread-self/mountinfo")
        .map_err(|source| CgroupError::MountInfo { source })
}

/// The v1 controllers and their mount points, from mountinfo text.
fn parse_mountinfo(text: &str) -> Vec<(Controller, &str)> {
    let mut found = Vec::new();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mut right = right.split(' ');
        if right.next() != Some("cgroup") {
            continue;
        }
        let (Some(mount_point), Some(options)) = (left.split(' ').nth(4), right.nth(1)) else {
            continue;
        };
        for option in options.split(',') {
            if let Some(c) = Controller::ALL.into_iter().find(|c| c.name() == option) {
                if !found.iter().any(|(f, _)| *f == c) {
                    found.push((c, mount_point));
                }
            }
        }
    }
    found
}

/// The mount point of a cgroup2 tree beside the v1 ones (hybrid hosts).
fn unified_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        if right.split(' ').next()? != "cgroup2" {
            return None;
        }
        left.split(' ').nth(4).map(PathBuf::from)
    })
}

/// Whether the hybrid cgroup2 tree offers hugetlb (the host bound it there, not to v1).
/// Asked once per process: controllers move between hierarchies only when unmounted.
fn unified_has_hugetlb(unified: &Path) -> bool {
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| {
        std::fs::read_to_string(unified.join("cgroup.controllers"))
            .is_ok_and(|c| c.split_whitespace().any(|c| c == "hugetlb"))
    })
}

/// Whether the kernel has `controller` (listed and enabled in /proc/cgroups).
fn kernel_has(controller: &str) -> bool {
    std::fs::read_to_string("/proc/cgroups").is_ok_and(|text| {
        text.lines().any(|line| {
            let mut f = line.split_whitespace();
            f.next() == Some(controller) && f.nth(2) == Some("1")
        })
    })
}

/// Opens `path` (a directory) for flock(2); used to serialise mounting.
fn lock_dir(path: &Path, controller: &'static str) -> Result<nix::fcntl::Flock<File>, CgroupError> {
    let lock_error = |source| CgroupError::Lock {
        controller,
        path: path.to_owned(),
        source,
    };
    let dir = File::open(path).map_err(lock_error)?;
    nix::fcntl::Flock::lock(dir, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, errno)| lock_error(errno.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn mountinfo_gives_each_controller_its_mount() {
        let m = parse_mountinfo(MOUNTINFO);
        assert_eq!(
            m,
            vec![
                (Controller::Cpu, "/sys/fs/cgroup/cpu,cpuacct"),
                (Controller::Cpuacct, "/sys/fs/cgroup/cpu,cpuacct"),
                (Controller::Memory, "/sys/fs/cgroup/memory"),
                (Controller::Systemd, "/sys/fs/cgroup/systemd"),
            ]
        );
        assert_eq!(
            unified_mount(MOUNTINFO),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
    }
}
