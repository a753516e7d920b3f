//! The container's root filesystem, built by init inside its new mount namespace:
//! [`prepare`] (root propagation, the rootfs bind, every spec mount, /dev) runs before the
//! createRuntime/createContainer hooks, [`enter`] switches root (pivot_root, or MS_MOVE +
//! chroot for a rootfs on ramfs or with `--no-pivot`), and [`finish`] applies what must be
//! done from inside (read-only root, masked and read-only paths).
//!
//! Mount destinations are resolved inside the rootfs with symlinks clamped to it, so a
//! hostile image cannot redirect a mount onto the host.

mod devices;
pub mod options;

use std::ffi::OsString;
use std::fs;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::statvfs::{statvfs, FsFlags};
use oci_spec::runtime::{Mount, Spec};

use crate::init::InitError;
use options::MountOptions;

pub use devices::setup_console_device;

/// What root-filesystem setup needs to know besides the spec.
#[derive(Debug)]
pub struct RootfsConfig<'a> {
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub bundle: &'a Path,
    /// The container has its own user namespace: no mknod, binds of host devices instead.
    pub user_ns: bool,
    /// Use MS_MOVE + chroot instead of pivot_root.
    pub no_pivot: bool,
    /// Host paths of the container's cgroup (one per v1 hierarchy, or the v2 leaf).
    pub cgroup_paths: &'a [PathBuf],
    pub cgroup_v2: bool,
    /// Bind-mount sources the parent cloned as detached mounts (open_tree), by mount index.
    /// With a user namespace init may not be able to reach them any more (e.g. under a 0700
    /// directory of the host's root); these it can attach, as with runc's mount fds.
    pub bind_sources: &'a [Option<OwnedFd>],
}

/// Clones the source of every bind mount of `spec` as a detached mount, for
/// [`RootfsConfig::bind_sources`].
/// A source that cannot be opened is left to init, which reports the error.
pub fn open_bind_sources(spec: &Spec, bundle: &Path) -> Vec<Option<OwnedFd>> {
    spec.mounts()
        .iter()
        .flatten()
        .map(|m| {
            let opts = options::parse(m.options().as_deref().unwrap_or_default());
            if !(opts.is_bind() || m.typ().as_deref() == Some("bind")) {
                return None;
            }
            let source = bind_source(m, bundle);
            let source = std::ffi::CString::new(source.as_os_str().as_encoded_bytes()).ok()?;
            crate::sys::open_tree_clone(&source, opts.is_recursive()).ok()
        })
        .collect()
}

fn bind_source(m: &Mount, bundle: &Path) -> PathBuf {
    let source = m.source().as_deref().unwrap_or(Path::new(""));
    if source.is_absolute() {
        source.to_path_buf()
    } else {
        bundle.join(source)
    }
}

/// Mounts everything under the rootfs while the host's tree is still visible.
pub fn prepare(cfg: &RootfsConfig<'_>) -> Result<(), InitError> {
    let linux = cfg.spec.linux().as_ref();
    let propagation = linux
        .and_then(|l| l.rootfs_propagation().as_deref())
        .and_then(options::propagation_flag)
        .unwrap_or(MsFlags::MS_SLAVE | MsFlags::MS_REC);
    // Stop our mounts from propagating to the host (and vice versa, as asked).
    mount_or(None, Path::new("/"), None, propagation, None)?;
    // pivot_root needs new_root to be a mount point whose parent is not shared.
    if propagation.contains(MsFlags::MS_SHARED) {
        make_parent_private(cfg.rootfs)?;
    }
    mount_or(
        Some(cfg.rootfs),
        cfg.rootfs,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )?;

    let mut dev_is_bind = false;
    let mut dev_readonly = false;
    for (index, m) in cfg.spec.mounts().iter().flatten().enumerate() {
        let mut opts = options::parse(m.options().as_deref().unwrap_or_default());
        if m.destination() == Path::new("/dev") {
            dev_is_bind = opts.is_bind() || m.typ().as_deref() == Some("bind");
            // A read-only /dev is made read-only after its devices exist (as runc does).
            if !dev_is_bind && opts.flags.contains(MsFlags::MS_RDONLY) {
                dev_readonly = true;
                opts.flags.remove(MsFlags::MS_RDONLY);
            }
        }
        let opened = cfg.bind_sources.get(index).and_then(Option::as_ref);
        mount_entry(cfg, m, &opts, opened)?;
    }
    if !dev_is_bind {
        devices::populate(cfg)?;
    }
    let _ = dev_readonly; // applied by `finish`, after /dev/console exists
    Ok(())
}

/// Makes the mount holding `path`'s parent private (for pivot_root under rshared roots).
fn make_parent_private(path: &Path) -> Result<(), InitError> {
    let mut dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
    loop {
        match mount(
            None::<&str>,
            &dir,
            None::<&str>,
            MsFlags::MS_PRIVATE,
            None::<&str>,
        ) {
            Ok(()) => return Ok(()),
            // Not a mount point: try its parent.
            Err(Errno::EINVAL) if dir.pop() => continue,
            Err(source) => {
                return Err(InitError::Mount {
                    target: dir,
                    what: "private propagation".into(),
                    source,
                })
            }
        }
    }
}

/// Mounts one entry of `mounts`.
fn mount_entry(
    cfg: &RootfsConfig<'_>,
    m: &Mount,
    opts: &MountOptions,
    opened: Option<&OwnedFd>,
) -> Result<(), InitError> {
    let typ = m.typ().as_deref().unwrap_or("");
    if typ == "proc" || typ == "sysfs" {
        // A symlink there could point the kernel's own files anywhere (runc's rule).
        let raw = cfg
            .rootfs
            .join(m.destination().strip_prefix("/").unwrap_or(m.destination()));
        if fs::symlink_metadata(&raw).is_ok_and(|meta| meta.file_type().is_symlink()) {
            return Err(InitError::SecurePath {
                path: m.destination().to_path_buf(),
                reason: format!("{typ} must be mounted on ordinary directory, not a symlink"),
            });
        }
    }
    let dest = resolve_in_root(cfg.rootfs, m.destination())?;
    if opts.is_bind() || typ == "bind" {
        if let Some(tree) = opened {
            return attach_tree(tree, &dest, opts);
        }
        return bind_mount(&bind_source(m, cfg.bundle), &dest, opts);
    }
    if typ == "cgroup" || typ == "cgroup2" {
        return mount_cgroup(cfg, &dest, opts);
    }
    create_dir(&dest)?;
    let source = m
        .source()
        .as_deref()
        .map(|s| s.as_os_str().to_owned())
        .unwrap_or_else(|| OsString::from(typ));
    let flags = opts.flags - MsFlags::MS_REMOUNT;
    let data = (!opts.data.is_empty()).then_some(opts.data.as_str());
    match mount(Some(source.as_os_str()), &dest, Some(typ), flags, data) {
        Ok(()) => {}
        // sysfs cannot be mounted in a user namespace that does not own the network
        // namespace; bind the host's instead (read-only), as runc does.
        Err(Errno::EPERM) if typ == "sysfs" => {
            bind_mount(
                Path::new("/sys"),
                &dest,
                &options::parse(&["rbind".into(), "ro".into()]),
            )?;
        }
        Err(source_err) => {
            return Err(InitError::Mount {
                target: dest,
                what: format!("{typ} ({})", source.to_string_lossy()),
                source: source_err,
            })
        }
    }
    apply_propagation(&dest, opts)
}

/// Bind-mounts `source` at `dest` (file or directory), then applies flags and propagation.
fn bind_mount(source: &Path, dest: &Path, opts: &MountOptions) -> Result<(), InitError> {
    let meta = fs::metadata(source).map_err(|e| InitError::CreatePath {
        path: source.to_path_buf(),
        source: e,
    })?;
    if meta.is_dir() {
        create_dir(dest)?;
    } else {
        create_file(dest)?;
    }
    let rec = opts.flags & MsFlags::MS_REC;
    mount_or(Some(source), dest, None, MsFlags::MS_BIND | rec, None)?;
    let extra = opts.flags - (MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
    if !extra.is_empty() {
        remount_bind(dest, extra)?;
    }
    set_recursive_attrs(dest, opts)?;
    apply_propagation(dest, opts)
}

/// Applies `rro`-style options to every mount under `dest`, not just its top.
fn set_recursive_attrs(dest: &Path, opts: &MountOptions) -> Result<(), InitError> {
    if opts.recursive_attrs == 0 {
        return Ok(());
    }
    let target = std::ffi::CString::new(dest.as_os_str().as_encoded_bytes()).map_err(|_| {
        InitError::SecurePath {
            path: dest.to_path_buf(),
            reason: "contains a NUL byte".into(),
        }
    })?;
    crate::sys::set_mount_attrs_recursive(&target, opts.recursive_attrs).map_err(|source| {
        InitError::Mount {
            target: dest.to_path_buf(),
            what: "recursive mount attributes (rro, rnosuid, rnodev, rnoexec; Linux 5.12+)".into(),
            source,
        }
    })
}

/// Attaches a detached bind mount the parent cloned (open_tree) at `dest`, then applies
/// flags and propagation like [`bind_mount`].
fn attach_tree(tree: &OwnedFd, dest: &Path, opts: &MountOptions) -> Result<(), InitError> {
    let is_dir = nix::sys::stat::fstat(tree)
        .map(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
        .unwrap_or(true);
    if is_dir {
        create_dir(dest)?;
    } else {
        create_file(dest)?;
    }
    let target = std::ffi::CString::new(dest.as_os_str().as_encoded_bytes()).map_err(|_| {
        InitError::SecurePath {
            path: dest.to_path_buf(),
            reason: "contains a NUL byte".into(),
        }
    })?;
    crate::sys::move_mount_to(tree, &target).map_err(|source| InitError::Mount {
        target: dest.to_path_buf(),
        what: "bind mount source opened by the runtime".into(),
        source,
    })?;
    let extra = opts.flags - (MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
    if !extra.is_empty() {
        remount_bind(dest, extra)?;
    }
    set_recursive_attrs(dest, opts)?;
    apply_propagation(dest, opts)
}

/// Remounts the bind mount at `dest` with `flags`, keeping the flags the kernel locks
/// (nosuid, nodev, noexec... of the source) so this also works in a user namespace.
fn remount_bind(dest: &Path, flags: MsFlags) -> Result<(), InitError> {
    let locked = statvfs(dest)
        .map(|s| ms_flags_of(s.flags()))
        .unwrap_or(MsFlags::empty());
    mount_or(
        None,
        dest,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags | locked,
        None,
    )
}

fn ms_flags_of(f: FsFlags) -> MsFlags {
    let mut out = MsFlags::empty();
    for (fs, ms) in [
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(fs) {
            out |= ms;
        }
    }
    out
}

fn apply_propagation(dest: &Path, opts: &MountOptions) -> Result<(), InitError> {
    for flag in &opts.propagation {
        mount_or(None, dest, None, *flag, None)?;
    }
    Ok(())
}

/// A `cgroup` mount: on v2 a cgroup2 mount (showing the container's cgroup namespace); on v1
/// a tmpfs with each hierarchy's container directory bind-mounted in it, as runc does.
fn mount_cgroup(cfg: &RootfsConfig<'_>, dest: &Path, opts: &MountOptions) -> Result<(), InitError> {
    create_dir(dest)?;
    let base = opts.flags
        & (MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC | MsFlags::MS_RDONLY);
    if cfg.cgroup_v2 {
        if mount(Some("cgroup2"), dest, Some("cgroup2"), base, None::<&str>).is_ok() {
            return Ok(());
        }
        // Without our own cgroup namespace a fresh cgroup2 mount may be refused: bind ours.
        if let Some(leaf) = cfg.cgroup_paths.first() {
            return bind_mount(leaf, dest, &options::parse(&["rbind".into(), "ro".into()]));
        }
        return Ok(());
    }
    let tmpfs_flags = base - MsFlags::MS_RDONLY;
    mount_or(
        Some(Path::new("tmpfs")),
        dest,
        Some("tmpfs"),
        tmpfs_flags,
        Some("mode=755"),
    )?;
    let hierarchy_root = Path::new("/sys/fs/cgroup");
    let mut bind_opts = options::parse(&["bind".into()]);
    bind_opts.flags |= base;
    for host in cfg.cgroup_paths {
        let Ok(rel) = host.strip_prefix(hierarchy_root) else {
            continue;
        };
        let Some(Component::Normal(name)) = rel.components().next() else {
            continue;
        };
        if !host.exists() {
            continue;
        }
        bind_mount(host, &dest.join(name), &bind_opts)?;
    }
    // Co-mounted controllers appear under each name (cpu -> cpu,cpuacct).
    if let Ok(entries) = fs::read_dir(hierarchy_root) {
        for entry in entries.flatten() {
            if let Ok(target) = fs::read_link(entry.path()) {
                let link = dest.join(entry.file_name());
                let _ = std::os::unix::fs::symlink(&target, &link);
            }
        }
    }
    if opts.flags.contains(MsFlags::MS_RDONLY) {
        remount_bind(dest, MsFlags::MS_RDONLY)?;
    }
    Ok(())
}

/// Switches the root to the rootfs and detaches the old root.
pub fn enter(cfg: &RootfsConfig<'_>) -> Result<(), InitError> {
    if !cfg.no_pivot {
        match pivot_root(cfg.rootfs) {
            Ok(()) => return Ok(()),
            // EINVAL: the current root is not a mount point we can leave (initramfs/ramfs).
            Err(InitError::PivotRoot {
                source: Errno::EINVAL,
                ..
            }) => {}
            Err(e) => return Err(e),
        }
    }
    move_root(cfg.rootfs)
}

/// pivot_root(".", ".") in the new root, then lazily unmounts the old root stacked on top;
/// no temporary directory is needed (the trick runc and crun use).
fn pivot_root(rootfs: &Path) -> Result<(), InitError> {
    let err = |source| InitError::PivotRoot {
        rootfs: rootfs.to_path_buf(),
        source,
    };
    let old_root = nix::fcntl::open(
        "/",
        nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(err)?;
    nix::unistd::chdir(rootfs).map_err(err)?;
    nix::unistd::pivot_root(".", ".").map_err(err)?;
    nix::unistd::fchdir(&old_root).map_err(err)?;
    // Keep the unmount of the old root from propagating to the host.
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(err)?;
    umount2(".", MntFlags::MNT_DETACH).map_err(err)?;
    nix::unistd::chdir("/").map_err(err)
}

/// The fallback for a rootfs pivot_root cannot handle: move the rootfs mount over / and
/// chroot into it.
///
/// The host's tree stays in the mount namespace, just out of the chroot's reach. A full
/// proc or sysfs mount in it would let the container mount a fresh, unmasked proc (the
/// kernel allows that when a "fully visible" one exists), so those are detached first, or
/// covered with a tmpfs where they cannot be (runc does the same).
fn move_root(rootfs: &Path) -> Result<(), InitError> {
    let err = |source| InitError::PivotRoot {
        rootfs: rootfs.to_path_buf(),
        source,
    };
    let mountinfo =
        fs::read_to_string("/proc/self/mountinfo").map_err(|source| InitError::CreatePath {
            path: PathBuf::from("/proc/self/mountinfo"),
            source,
        })?;
    let mut exposed: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let sep = fields.iter().position(|f| *f == "-")?;
            let (root, mount_point, fstype) =
                (fields.get(3)?, fields.get(4)?, fields.get(sep + 1)?);
            let mount_point = PathBuf::from(unescape_mountinfo(mount_point));
            let full = *root == "/" && (*fstype == "proc" || *fstype == "sysfs");
            (full && !mount_point.starts_with(rootfs)).then_some(mount_point)
        })
        .collect();
    // Deepest first, so a mount is gone before the one under it.
    exposed.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for point in exposed {
        match mount(
            None::<&str>,
            &point,
            None::<&str>,
            MsFlags::MS_SLAVE | MsFlags::MS_REC,
            None::<&str>,
        ) {
            Err(Errno::ENOENT) => continue,
            other => other.map_err(err)?,
        }
        match umount2(&point, MntFlags::MNT_DETACH) {
            Ok(()) => {}
            Err(Errno::EINVAL | Errno::EPERM) => {
                mount(
                    Some("tmpfs"),
                    &point,
                    Some("tmpfs"),
                    MsFlags::empty(),
                    None::<&str>,
                )
                .map_err(err)?;
            }
            Err(e) => return Err(err(e)),
        }
    }
    nix::unistd::chdir(rootfs).map_err(err)?;
    mount(
        Some(rootfs),
        "/",
        None::<&str>,
        MsFlags::MS_MOVE,
        None::<&str>,
    )
    .map_err(err)?;
    nix::unistd::chroot(".").map_err(err)?;
    nix::unistd::chdir("/").map_err(err)
}

/// Steps done after the root switch: masked and read-only paths, then the read-only root.
pub fn finish(spec: &Spec) -> Result<(), InitError> {
    let linux = spec.linux().as_ref();
    for path in linux
        .and_then(|l| l.readonly_paths().as_ref())
        .into_iter()
        .flatten()
    {
        readonly_path(Path::new(path))?;
    }
    for path in linux
        .and_then(|l| l.masked_paths().as_ref())
        .into_iter()
        .flatten()
    {
        mask_path(Path::new(path))?;
    }
    let dev_readonly = spec.mounts().iter().flatten().any(|m| {
        let opts = options::parse(m.options().as_deref().unwrap_or_default());
        m.destination() == Path::new("/dev")
            && !opts.is_bind()
            && m.typ().as_deref() != Some("bind")
            && opts.flags.contains(MsFlags::MS_RDONLY)
    });
    if dev_readonly {
        remount_bind(Path::new("/dev"), MsFlags::MS_RDONLY)?;
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        remount_bind(Path::new("/"), MsFlags::MS_RDONLY)?;
    }
    Ok(())
}

/// Bind-mounts `path` onto itself read-only. A missing path is skipped.
fn readonly_path(path: &Path) -> Result<(), InitError> {
    match mount(
        Some(path),
        path,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    ) {
        Ok(()) => remount_bind(path, MsFlags::MS_RDONLY | MsFlags::MS_REC),
        Err(Errno::ENOENT) => Ok(()),
        Err(source) => Err(InitError::Mount {
            target: path.to_path_buf(),
            what: "read-only bind".into(),
            source,
        }),
    }
}

/// Hides `path`: /dev/null over a file, an empty read-only tmpfs over a directory.
fn mask_path(path: &Path) -> Result<(), InitError> {
    let result = match mount(
        Some("/dev/null"),
        path,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    ) {
        Err(Errno::ENOTDIR) => mount(
            Some("tmpfs"),
            path,
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            Some("size=0k"),
        ),
        other => other,
    };
    match result {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(source) => Err(InitError::Mount {
            target: path.to_path_buf(),
            what: "mask".into(),
            source,
        }),
    }
}

/// Resolves `path` inside `root` as if `root` were `/`: `..` and symlinks (absolute or
/// relative) cannot leave it. Components that do not exist yet are kept as they are.
pub fn resolve_in_root(root: &Path, path: &Path) -> Result<PathBuf, InitError> {
    let mut resolved = PathBuf::new();
    let mut pending: Vec<OsString> = path
        .components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let candidate = resolved.join(&part);
        match fs::read_link(root.join(&candidate)) {
            Ok(target) => {
                links += 1;
                if links > 40 {
                    return Err(InitError::SecurePath {
                        path: path.to_path_buf(),
                        reason: "too many levels of symbolic links".into(),
                    });
                }
                if target.is_absolute() {
                    resolved.clear();
                }
                for c in target.components().rev() {
                    match c {
                        Component::Normal(n) => pending.push(n.to_os_string()),
                        Component::ParentDir => pending.push(OsString::from("..")),
                        _ => {}
                    }
                }
            }
            Err(_) => resolved = candidate,
        }
    }
    Ok(root.join(resolved))
}

/// Mount points in mountinfo escape space, tab, newline and backslash as octal.
fn unescape_mountinfo(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let code: String = chars.by_ref().take(3).collect();
            match u8::from_str_radix(&code, 8) {
                Ok(b) => out.push(b as char),
                Err(_) => {
                    out.push('\\');
                    out.push_str(&code);
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// mount(2) with the target and error context attached.
fn mount_or(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<(), InitError> {
    mount(source, target, fstype, flags, data).map_err(|e| InitError::Mount {
        target: target.to_path_buf(),
        what: fstype
            .map(str::to_string)
            .or_else(|| source.map(|s| s.display().to_string()))
            .unwrap_or_else(|| format!("{flags:?}")),
        source: e,
    })
}

fn create_dir(path: &Path) -> Result<(), InitError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(path)
        .map_err(|source| InitError::CreatePath {
            path: path.to_path_buf(),
            source,
        })
}

fn create_file(path: &Path) -> Result<(), InitError> {
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    match fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(path)
    {
        Ok(_) => Ok(()),
        // Already there (maybe a directory or a device we bind over): mount will tell.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists || path.exists() => Ok(()),
        Err(source) => Err(InitError::CreatePath {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_cannot_escape_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("a/b")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("a/abs")).unwrap();
        std::os::unix::fs::symlink("../../../..", root.join("a/b/up")).unwrap();
        assert_eq!(
            resolve_in_root(root, Path::new("/a/abs/passwd")).unwrap(),
            root.join("etc/passwd")
        );
        assert_eq!(
            resolve_in_root(root, Path::new("/a/b/up/x")).unwrap(),
            root.join("x")
        );
        assert_eq!(
            resolve_in_root(root, Path::new("/../../x/./y")).unwrap(),
            root.join("x/y")
        );
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        assert!(resolve_in_root(root, Path::new("/loop")).is_err());
    }
}
