//! The runtime's one door to `skiff-cgroups`: builds the manager for a container and turns
//! its errors into the runtime's, so every cgroup call site reads the same.

use std::os::fd::OwnedFd;

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use oci_spec::runtime::{LinuxResources, Spec};
pub use skiff_cgroups::{Hierarchy, Stats};

use crate::error::Error;

/// The cgroup of one container.
pub struct Cgroup {
    id: String,
    manager: skiff_cgroups::Manager,
}

impl Cgroup {
    /// The cgroup named by the spec's `linux.cgroupsPath` (or the default for `id`).
    /// Cheap: touches no files.
    pub fn for_spec(spec: &Spec, id: &str) -> Result<Cgroup, Error> {
        let path = spec
            .linux()
            .as_ref()
            .and_then(|l| l.cgroups_path().as_ref())
            .map(|p| p.to_string_lossy().into_owned());
        let manager = skiff_cgroups::Manager::new(path.as_deref(), id).map_err(|e| wrap(id, e))?;
        Ok(Cgroup {
            id: id.to_string(),
            manager,
        })
    }

    fn err(&self, e: skiff_cgroups::CgroupError) -> Error {
        wrap(&self.id, e)
    }

    pub fn hierarchy(&self) -> Hierarchy {
        self.manager.hierarchy()
    }

    /// Creates the cgroup and applies the spec's resources, with the default device rules
    /// runc adds after the spec's own (which usually start with "deny all"). Devices listed
    /// in `linux.devices` are created in /dev but, as with runc, only usable if a rule of
    /// `linux.resources.devices` allows them.
    pub fn create(&self, spec: &Spec) -> Result<(), Error> {
        let linux = spec.linux().as_ref();
        let mut resources = linux
            .and_then(|l| l.resources().clone())
            .unwrap_or_default();
        let mut rules = resources.devices().clone().unwrap_or_default();
        rules.extend(skiff_cgroups::default_device_rules());
        resources.set_devices(Some(rules));
        self.manager.apply(&resources).map_err(|e| self.err(e))
    }

    pub fn update(&self, resources: &LinuxResources) -> Result<(), Error> {
        self.manager.apply(resources).map_err(|e| self.err(e))
    }

    /// v2: the leaf directory for `CLONE_INTO_CGROUP`; None on v1.
    pub fn leaf_dir_fd(&self) -> Result<Option<OwnedFd>, Error> {
        self.manager.leaf_dir_fd().map_err(|e| self.err(e))
    }

    pub fn add_task(&self, pid: i32) -> Result<(), Error> {
        self.manager.add_task(pid).map_err(|e| self.err(e))
    }

    pub fn freeze(&self) -> Result<(), Error> {
        self.manager.freeze().map_err(|e| self.err(e))
    }

    pub fn thaw(&self) -> Result<(), Error> {
        self.manager.thaw().map_err(|e| self.err(e))
    }

    pub fn is_frozen(&self) -> bool {
        self.manager.is_frozen().unwrap_or(false)
    }

    pub fn pids(&self) -> Result<Vec<i32>, Error> {
        self.manager.pids().map_err(|e| self.err(e))
    }

    pub fn stats(&self) -> Result<Stats, Error> {
        self.manager.stats().map_err(|e| self.err(e))
    }

    pub fn oom_kill_count(&self) -> Result<u64, Error> {
        self.manager.oom_kill_count().map_err(|e| self.err(e))
    }

    pub fn kill_all(&self, signal: i32) -> Result<(), Error> {
        self.manager.kill_all(signal).map_err(|e| self.err(e))
    }

    pub fn destroy(&self) -> Result<(), Error> {
        self.manager.destroy().map_err(|e| self.err(e))
    }

    pub fn paths(&self) -> Vec<std::path::PathBuf> {
        self.manager.paths()
    }

    /// How a new process can enter this cgroup without the parent migrating it.
    ///
    /// Writing a pid to `cgroup.procs` takes the kernel's global threadgroup rwsem for
    /// writing, which waits for an RCU grace period: 8-15 ms here, the largest cost of a
    /// container start on v1. Two cheaper ways avoid it: clone3(`CLONE_INTO_CGROUP`) for
    /// cgroup2 directories (the v2 leaf, or hybrid's `unified/` hugetlb tree), and, on v1, the
    /// single-threaded new process writing "0" (itself) to each hierarchy's `tasks` file,
    /// which the kernel does without that lock. Everything is opened here, in the parent.
    pub fn self_join(&self) -> Result<SelfJoin, Error> {
        if self.hierarchy() == Hierarchy::V2 {
            return Ok(SelfJoin {
                clone_into: self.leaf_dir_fd()?,
                tasks: Vec::new(),
            });
        }
        let mut join = SelfJoin {
            clone_into: None,
            tasks: Vec::new(),
        };
        for dir in self.paths() {
            let err = |source: nix::errno::Errno| Error::CgroupJoin {
                id: self.id.clone(),
                path: dir.clone(),
                source,
            };
            let is_cgroup2 = nix::sys::statfs::statfs(&dir)
                .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
                .map_err(err)?;
            if is_cgroup2 {
                let fd = nix::fcntl::open(
                    &dir,
                    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .map_err(err)?;
                join.clone_into = Some(fd);
            } else {
                let fd = nix::fcntl::open(
                    &dir.join("tasks"),
                    OFlag::O_WRONLY | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )
                .map_err(err)?;
                join.tasks.push(fd);
            }
        }
        Ok(join)
    }
}

/// Prepared by [`Cgroup::self_join`]: the cgroup2 directory to clone into and the v1 `tasks`
/// files the new process writes itself into.
#[derive(Debug)]
pub struct SelfJoin {
    pub clone_into: Option<OwnedFd>,
    pub tasks: Vec<OwnedFd>,
}

impl SelfJoin {
    /// In the new process (single-threaded): moves itself into every v1 hierarchy.
    pub fn join_tasks(&self) -> Result<(), nix::errno::Errno> {
        for fd in &self.tasks {
            nix::unistd::write(fd, b"0")?;
        }
        Ok(())
    }
}

fn wrap(id: &str, source: skiff_cgroups::CgroupError) -> Error {
    Error::Cgroup {
        id: id.to_string(),
        source,
    }
}
