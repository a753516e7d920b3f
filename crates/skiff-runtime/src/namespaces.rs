//! Which namespaces a container creates and which it joins, and the uid/gid maps the parent
//! writes for a new user namespace.
//!
//! Joining comes first (the user namespace before the others, since it grants the
//! capabilities over namespaces it owns), then creating, so that new namespaces are owned by
//! the container's user namespace. When nothing is joined, every new namespace is created by
//! the clone of the init itself, which is the cheapest path.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::{Linux, LinuxIdMapping, LinuxNamespaceType};

use crate::error::Error;

/// A namespace to join: its type flag and an fd on its nsfs file.
#[derive(Debug)]
pub struct Join {
    pub flag: CloneFlags,
    pub fd: OwnedFd,
    pub path: PathBuf,
}

/// The namespaces of one container.
#[derive(Debug)]
pub struct Plan {
    /// Namespaces to create (`CLONE_NEW*`).
    pub new: CloneFlags,
    /// Namespaces to join by path, user first.
    pub joins: Vec<Join>,
}

impl Plan {
    /// Opens the namespace files to join (resolved in the runtime's mount namespace) and
    /// collects the flags of the namespaces to create.
    pub fn from_spec(linux: Option<&Linux>) -> Result<Plan, Error> {
        let mut plan = Plan {
            new: CloneFlags::empty(),
            joins: Vec::new(),
        };
        let namespaces = linux.and_then(|l| l.namespaces().as_ref());
        for ns in namespaces.into_iter().flatten() {
            let flag = flag_of(ns.typ());
            match ns.path() {
                None => plan.new |= flag,
                Some(path) => {
                    let fd =
                        nix::fcntl::open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
                            .map_err(|source| Error::NamespacePath {
                            typ: ns.typ().to_string(),
                            path: path.clone(),
                            source,
                        })?;
                    plan.joins.push(Join {
                        flag,
                        fd,
                        path: path.clone(),
                    });
                }
            }
        }
        // The user namespace first: it gives us the rights over the ones it owns.
        plan.joins
            .sort_by_key(|j| j.flag != CloneFlags::CLONE_NEWUSER);
        Ok(plan)
    }

    pub fn creates(&self, flag: CloneFlags) -> bool {
        self.new.contains(flag)
    }

    pub fn joins(&self, flag: CloneFlags) -> bool {
        self.joins.iter().any(|j| j.flag == flag)
    }

    /// True if the container's processes live in a user namespace other than ours.
    pub fn has_user_ns(&self) -> bool {
        self.creates(CloneFlags::CLONE_NEWUSER) || self.joins(CloneFlags::CLONE_NEWUSER)
    }

    /// The init needs a second fork when it has to enter a pid namespace that its first
    /// clone could not create directly (one joined by path, or one created after joins).
    pub fn needs_extra_fork(&self) -> bool {
        !self.joins.is_empty()
            && (self.creates(CloneFlags::CLONE_NEWPID) || self.joins(CloneFlags::CLONE_NEWPID))
    }
}

pub fn flag_of(typ: LinuxNamespaceType) -> CloneFlags {
    match typ {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        // Rejected by spec::validate; the raw value keeps this total.
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

/// The /proc/<pid>/ns file name of each namespace flag, in the order exec joins them.
pub const NS_FILES: [(CloneFlags, &str); 7] = [
    (CloneFlags::CLONE_NEWUSER, "user"),
    (CloneFlags::CLONE_NEWIPC, "ipc"),
    (CloneFlags::CLONE_NEWUTS, "uts"),
    (CloneFlags::CLONE_NEWNET, "net"),
    (CloneFlags::CLONE_NEWPID, "pid"),
    (CloneFlags::CLONE_NEWCGROUP, "cgroup"),
    (CloneFlags::CLONE_NEWNS, "mnt"),
];

/// Writes the uid and gid maps of `pid`'s new user namespace. We are root in the parent
/// namespace, so setgroups stays allowed and any mapping the kernel accepts works.
pub fn write_id_maps(pid: i32, id: &str, linux: &Linux) -> Result<(), Error> {
    let write = |map: &'static str, entries: &Option<Vec<LinuxIdMapping>>| -> Result<(), Error> {
        let Some(entries) = entries.as_ref().filter(|e| !e.is_empty()) else {
            return Ok(());
        };
        let mut text = String::new();
        for m in entries {
            text.push_str(&format!(
                "{} {} {}\n",
                m.container_id(),
                m.host_id(),
                m.size()
            ));
        }
        let path = format!("/proc/{pid}/{map}");
        // One write(2): the kernel accepts a map only if it arrives in a single write.
        std::fs::write(&path, text.as_bytes()).map_err(|source| Error::IdMap {
            map,
            id: id.to_string(),
            pid,
            source,
        })
    };
    write("uid_map", linux.uid_mappings())?;
    write("gid_map", linux.gid_mappings())
}

/// Enters the namespace behind `fd`.
pub fn enter(fd: &OwnedFd, flag: CloneFlags) -> Result<(), Errno> {
    nix::sched::setns(fd, flag)
}

/// Opens `/proc/<pid>/ns/<name>` for each namespace of a running container that differs
/// from ours, in the order they must be joined (user first, mount last).
pub fn open_process_namespaces(pid: i32) -> std::io::Result<Vec<(CloneFlags, File)>> {
    let mut out = Vec::new();
    for (flag, name) in NS_FILES {
        let theirs = format!("/proc/{pid}/ns/{name}");
        let target = std::fs::read_link(&theirs)?;
        let ours = std::fs::read_link(format!("/proc/self/ns/{name}"))?;
        if target != ours {
            out.push((flag, File::open(&theirs)?));
        }
    }
    Ok(out)
}
