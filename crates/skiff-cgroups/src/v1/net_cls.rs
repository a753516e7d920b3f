//! v1 net_cls and net_prio: the class id tagged on the container's packets and per-interface
//! priorities. Many hosts (this project's CI machine too) have the controller but no
//! hierarchy for it, so `ensure_mounted` mounts one.

use std::io;
use std::path::Path;

use nix::mount::{mount, MsFlags};
use oci_spec::runtime::LinuxNetwork;

use crate::{fsutil, CgroupError, CGROUP_ROOT};

/// Mounts the net_cls hierarchy on `target` unless it is mounted there already.
/// Race-safe across processes: the check and the mount run under an exclusive flock(2) of the
/// /sys/fs/cgroup directory, so runtimes starting containers at once mount it once and none
/// of them fails. (The kernel refuses a second identical mount on the same point with EBUSY,
/// which also covers tools that do not take the lock.)
pub(super) fn ensure_mounted(target: &Path) -> Result<(), CgroupError> {
    let _lock = super::lock_dir(Path::new(CGROUP_ROOT), "net_cls")?;
    if is_mounted_at(target)? {
        return Ok(());
    }
    match std::fs::create_dir(target) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(source) => {
            return Err(CgroupError::CreateDir {
                path: target.to_owned(),
                source,
            })
        }
    }
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    let mount_as =
        |options: &str| mount(Some("cgroup"), target, Some("cgroup"), flags, Some(options));
    tracing::debug!(target = %target.display(), "mounting the cgroup v1 net_cls hierarchy");
    match mount_as("net_cls") {
        Ok(()) => Ok(()),
        // Someone that does not take our lock mounted it meanwhile.
        Err(nix::errno::Errno::EBUSY) if is_mounted_at(target)? => Ok(()),
        // The kernel keeps net_cls bound with net_prio in a hierarchy that lives on
        // unmounted; it can only be mounted again with the same controller set.
        Err(nix::errno::Errno::EBUSY) => mount_as("net_cls,net_prio"),
        Err(e) => Err(e),
    }
    .map_err(|source| CgroupError::Mount {
        controller: "net_cls",
        target: target.to_owned(),
        source,
    })
}

/// Whether the net_cls hierarchy is mounted on `target` in this mount namespace.
fn is_mounted_at(target: &Path) -> Result<bool, CgroupError> {
    let mountinfo = super::read_mountinfo()?;
    Ok(super::parse_mountinfo(&mountinfo)
        .iter()
        .any(|(c, m)| *c == super::Controller::NetCls && Path::new(m) == target))
}

pub(super) fn apply(
    net_cls: Option<&Path>,
    net_prio: Option<&Path>,
    network: &LinuxNetwork,
) -> Result<(), CgroupError> {
    if let Some(class_id) = network.class_id() {
        let dir = net_cls.ok_or(CgroupError::ControllerMissing {
            controller: "net_cls",
            field: "network.classID",
        })?;
        fsutil::write(dir, "net_cls.classid", &class_id.to_string())?;
    }
    let priorities = network.priorities().as_deref().unwrap_or_default();
    if priorities.is_empty() {
        return Ok(());
    }
    // net_prio may share net_cls's directory (co-mounted) or have its own.
    let dir = net_prio.or(net_cls.filter(|d| d.join("net_prio.ifpriomap").exists()));
    let Some(dir) = dir else {
        tracing::warn!(
            "net_prio hierarchy not mounted: linux.resources.network.priorities ignored"
        );
        return Ok(());
    };
    for p in priorities {
        fsutil::write(
            dir,
            "net_prio.ifpriomap",
            &format!("{} {}", p.name(), p.priority()),
        )?;
    }
    Ok(())
}
