//! The v2 manager: one unified hierarchy. `create` makes the directory and enables the
//! available controllers in its parents' cgroup.subtree_control; `apply` writes the files of
//! the resources given, controller by controller (one module each).

mod bpf;
mod cpu;
mod cpuset;
mod devices;
mod freezer;
pub(crate) mod hugetlb;
mod io;
mod memory;
mod pids;

use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::{fsutil, CgroupError, LinuxResources, Stats};

/// One v2 cgroup.
#[derive(Debug)]
pub(crate) struct Manager {
    root: PathBuf,
    relative: PathBuf,
    path: PathBuf,
    /// `create` ran, so `apply` need not create again (the usual create, add_task, apply).
    created: AtomicBool,
}

impl Manager {
    pub(crate) fn new(root: &Path, relative: PathBuf) -> Manager {
        Manager {
            root: root.to_owned(),
            path: root.join(&relative),
            relative,
            created: AtomicBool::new(false),
        }
    }

    pub(crate) fn create(&self) -> Result<(), CgroupError> {
        fsutil::create_dir_all(&self.path)?;
        enable_controllers(&self.root, &self.relative, None)?;
        self.created.store(true, Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn add_task(&self, pid: i32) -> Result<(), CgroupError> {
        fsutil::write(&self.path, "cgroup.procs", &pid.to_string())
    }

    pub(crate) fn leaf_dir_fd(&self) -> Result<OwnedFd, CgroupError> {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(&self.path)
            .map(OwnedFd::from)
            .map_err(|source| CgroupError::OpenDir {
                path: self.path.clone(),
                source,
            })
    }

    pub(crate) fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        let dir = self.path.as_path();
        if !self.created.load(Ordering::Relaxed) {
            self.create()?;
        }
        if let Some(m) = r.memory() {
            memory::apply(dir, m)?;
        }
        if let Some(c) = r.cpu() {
            cpu::apply(dir, c)?;
            cpuset::apply(dir, c)?;
        }
        if let Some(p) = r.pids() {
            pids::apply(dir, p)?;
        }
        if let Some(b) = r.block_io() {
            io::apply(dir, b)?;
        }
        if let Some(rules) = r.devices() {
            if !rules.is_empty() {
                devices::apply(dir, rules)?;
            }
        }
        if let Some(limits) = r.hugepage_limits() {
            hugetlb::apply(dir, limits)?;
        }
        if let Some(n) = r.network() {
            if n.class_id().is_some() || n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
                tracing::warn!(
                    "linux.resources.network (net_cls/net_prio) does not exist on cgroup v2; ignored"
                );
            }
        }
        if r.rdma().as_ref().is_some_and(|r| !r.is_empty()) {
            tracing::warn!("linux.resources.rdma is not supported by skiff; ignored");
        }
        // Last, so that explicit unified values win over the ones derived above (as in runc).
        for (key, value) in r.unified().iter().flatten() {
            if key.contains('/') || key.starts_with('.') || !key.contains('.') {
                return Err(CgroupError::InvalidResource {
                    field: "unified",
                    value: key.clone(),
                    reason: "keys are cgroup file names like \"memory.high\"",
                });
            }
            fsutil::write(dir, key, value)?;
        }
        Ok(())
    }

    pub(crate) fn freeze(&self) -> Result<(), CgroupError> {
        freezer::freeze(&self.path)
    }

    pub(crate) fn thaw(&self) -> Result<(), CgroupError> {
        freezer::thaw(&self.path)
    }

    pub(crate) fn is_frozen(&self) -> Result<bool, CgroupError> {
        freezer::is_frozen(&self.path)
    }

    pub(crate) fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let mut pids = Vec::new();
        fsutil::collect_pids(&self.path, &mut pids)?;
        Ok(pids)
    }

    pub(crate) fn stats(&self) -> Result<Stats, CgroupError> {
        let dir = self.path.as_path();
        Ok(Stats {
            memory: memory::stats(dir)?,
            cpu: cpu::stats(dir)?,
            pids: pids::stats(dir)?,
            blkio: io::stats(dir)?,
            hugetlb: hugetlb::stats(dir)?,
        })
    }

    pub(crate) fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        memory::oom_kill_count(&self.path)
    }

    pub(crate) fn kill_all(&self, signal: i32) -> Result<(), CgroupError> {
        // cgroup.kill (5.14+) kills the whole subtree at once, forks included.
        if signal == libc::SIGKILL && self.path.join("cgroup.kill").exists() {
            return fsutil::write(&self.path, "cgroup.kill", "1");
        }
        // Otherwise freeze, so no task can fork a child we would miss.
        let frozen = freezer::freeze(&self.path).is_ok();
        let result = fsutil::signal_all(&self.path, &self.pids()?, signal);
        if frozen {
            freezer::thaw(&self.path)?;
        }
        result
    }

    pub(crate) fn destroy(&self) -> Result<(), CgroupError> {
        self.created.store(false, Ordering::Relaxed);
        fsutil::remove_cgroup(&self.path)
    }

    pub(crate) fn paths(&self) -> Vec<PathBuf> {
        vec![self.path.clone()]
    }
}

/// Enables controllers for the cgroup `root/relative` in the cgroup.subtree_control of every
/// ancestor below `root` (and of `root`): all the ancestor offers (`only: None`), or just the
/// ones named.
///
/// The write happens even when cgroup.subtree_control already lists them: the kernel updates
/// that list before it has created the controllers' files in the children, so a concurrent
/// create could see "memory" listed and still find no memory.max in its new cgroup. A write
/// waits for the kernel's cgroup lock, so once it returns any enabling in flight is complete.
pub(crate) fn enable_controllers(
    root: &Path,
    relative: &Path,
    only: Option<&[&str]>,
) -> Result<(), CgroupError> {
    let mut dir = root.to_path_buf();
    let mut components = relative.components().peekable();
    while let Some(component) = components.next() {
        let available = fsutil::read(&dir, "cgroup.controllers")?;
        let wanted: Vec<String> = available
            .split_whitespace()
            .filter(|c| only.is_none_or(|only| only.contains(c)))
            .map(|c| format!("+{c}"))
            .collect();
        if !wanted.is_empty()
            && fsutil::write(&dir, "cgroup.subtree_control", &wanted.join(" ")).is_err()
        {
            // One controller may refuse (e.g. cpu while a realtime task sits in this
            // cgroup); enable the others one by one and let `apply` report what fails.
            for c in wanted {
                if let Err(e) = fsutil::write(&dir, "cgroup.subtree_control", &c) {
                    tracing::debug!("cannot enable controller: {e}");
                }
            }
        }
        dir.push(component);
        if components.peek().is_none() {
            break;
        }
    }
    Ok(())
}
