//! /dev inside the container: the default devices every container gets (null, zero, full,
//! random, urandom, tty), the spec's `linux.devices`, and the usual links (/dev/fd, std*,
//! ptmx, core). In a user namespace mknod is not allowed, so host devices are bind-mounted
//! onto empty files instead, as runc does.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use nix::unistd::{chown, Gid, Uid};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::{create_dir, create_file, resolve_in_root, RootfsConfig};
use crate::init::InitError;

/// A device node to create: path under the rootfs, kind, numbers, mode and owner.
struct Node<'a> {
    path: &'a Path,
    kind: SFlag,
    major: u64,
    minor: u64,
    mode: u32,
    uid: u32,
    gid: u32,
}

const DEFAULT_DEVICES: [(&str, u64, u64); 6] = [
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

const LINKS: [(&str, &str); 4] = [
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
];

/// Creates the container's device nodes and links under `<rootfs>/dev`.
pub fn populate(cfg: &RootfsConfig<'_>) -> Result<(), InitError> {
    let dev = resolve_in_root(cfg.rootfs, Path::new("/dev"))?;
    create_dir(&dev)?;
    let spec_devices: &[LinuxDevice] = cfg
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().as_deref())
        .unwrap_or_default();
    for (path, major, minor) in DEFAULT_DEVICES {
        // A spec entry for the same path wins (it may change mode or owner).
        if spec_devices.iter().any(|d| d.path() == Path::new(path)) {
            continue;
        }
        let node = Node {
            path: Path::new(path),
            kind: SFlag::S_IFCHR,
            major,
            minor,
            mode: 0o666,
            uid: 0,
            gid: 0,
        };
        create_node(cfg, &node)?;
    }
    for d in spec_devices {
        let kind = match d.typ() {
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            _ => SFlag::S_IFCHR,
        };
        let node = Node {
            path: d.path(),
            kind,
            major: d.major() as u64,
            minor: d.minor() as u64,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        };
        create_node(cfg, &node)?;
    }
    for (target, name) in LINKS {
        link(target, &dev.join(name))?;
    }
    if Path::new("/proc/kcore").exists() {
        link("/proc/kcore", &dev.join("core"))?;
    }
    // With a devpts instance of our own, ptmx must be its ptmx.
    let ptmx = dev.join("ptmx");
    let _ = fs::remove_file(&ptmx);
    link("pts/ptmx", &ptmx)
}

fn create_node(cfg: &RootfsConfig<'_>, node: &Node<'_>) -> Result<(), InitError> {
    let path = resolve_in_root(cfg.rootfs, node.path)?;
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    let err = |source| InitError::Device {
        path: node.path.to_path_buf(),
        source,
    };
    if cfg.user_ns {
        // mknod needs CAP_MKNOD in the initial user namespace: borrow the host's node.
        create_file(&path)?;
        return mount(
            Some(node.path),
            &path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(err);
    }
    let _ = fs::remove_file(&path);
    mknod(
        &path,
        node.kind,
        Mode::from_bits_truncate(node.mode),
        makedev(node.major, node.minor),
    )
    .map_err(err)?;
    // mknod honours the umask; set the exact mode and owner asked for.
    nix::sys::stat::fchmodat(
        nix::fcntl::AT_FDCWD,
        &path,
        Mode::from_bits_truncate(node.mode),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
    .map_err(err)?;
    chown(
        &path,
        Some(Uid::from_raw(node.uid)),
        Some(Gid::from_raw(node.gid)),
    )
    .map_err(err)
}

fn link(target: &str, at: &Path) -> Result<(), InitError> {
    match symlink(target, at) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(InitError::CreatePath {
            path: at.to_path_buf(),
            source,
        }),
    }
}

/// Bind-mounts the console's pty slave at /dev/console (after the root switch).
pub fn setup_console_device(slave: &Path) -> Result<(), InitError> {
    let console = Path::new("/dev/console");
    create_file(console)?;
    mount(
        Some(slave),
        console,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|source| InitError::Mount {
        target: console.to_path_buf(),
        what: slave.display().to_string(),
        source,
    })
}
