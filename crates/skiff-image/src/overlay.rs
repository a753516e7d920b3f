//! A container's root filesystem: an overlayfs whose lower dirs are the image's unpacked
//! layers (read-only, shared) and whose only writable branch is the container's own
//! `upper/`.
//!
//! Long layer stacks: the classic `mount(2)` option string is limited to one page, which a
//! hundred 90-byte layer paths overflow. skiff uses the new mount API and passes each lower
//! dir on its own (`fsconfig(…, "lowerdir+", dir)`, Linux 6.8+), so there is no combined
//! string at all. On older kernels it falls back to `mount(2)`, where any path that would
//! make the string too long is replaced by `/proc/self/fd/N` of a descriptor held open during
//! the mount (the process-wide working directory is never changed).

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags, CWD};
use rustix::io::Errno;
use rustix::mount::{
    fsconfig_create, fsconfig_set_string, fsmount, fsopen, move_mount, unmount, FsMountFlags,
    FsOpenFlags, MountAttrFlags, MountFlags, MoveMountFlags, UnmountFlags,
};

/// Overlay features that must stay off whatever the kernel's defaults: with metacopy an
/// upper file may hold only metadata (its data stays below), with redirect_dir a renamed
/// directory is a pointer to the lower one, and either would make a layer made from the
/// upper dir (commit, build) silently incomplete; index ties a lower dir to one upper,
/// but layers are shared by many containers.
const FIXED_OPTIONS: [(&str, &str); 3] = [
    ("index", "off"),
    ("metacopy", "off"),
    ("redirect_dir", "off"),
];

/// The option string limit of `mount(2)` (one page) and of one `fsconfig` string (256).
const PAGE_LIMIT: usize = 4095;
const FSCONFIG_STRING_LIMIT: usize = 255;

#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    #[error("cannot prepare {path} for the container's filesystem: {source}")]
    Prepare { path: PathBuf, source: io::Error },
    #[error("cannot mount the container filesystem on {merged}: {action} failed: {source}{}", kernel_log_suffix(.kernel_log))]
    Mount {
        merged: PathBuf,
        action: &'static str,
        source: io::Error,
        kernel_log: Vec<String>,
    },
    #[error("an overlay needs a lower dir; {path} does not exist or is not a directory: {source}")]
    MissingLower { path: PathBuf, source: io::Error },
    #[error("the overlay option string for {merged} is {len} bytes even with short paths, over the kernel's {PAGE_LIMIT}-byte limit (too many layers for this kernel; Linux 6.8+ has no limit)")]
    OptionsTooLong { merged: PathBuf, len: usize },
    #[error("cannot unmount {merged}: {source} (is a process still using it? `fuser -m {merged}` shows which)")]
    Unmount { merged: PathBuf, source: io::Error },
}

fn kernel_log_suffix(log: &[String]) -> String {
    if log.is_empty() {
        String::new()
    } else {
        format!(" (kernel says: {})", log.join("; "))
    }
}

/// Where a container's overlay lives: `upper/`, `work/` and `merged/` under its directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverlayDirs {
    pub upper: PathBuf,
    pub work: PathBuf,
    pub merged: PathBuf,
}

impl OverlayDirs {
    pub fn in_container_dir(container_dir: &Path) -> OverlayDirs {
        OverlayDirs {
            upper: container_dir.join("upper"),
            work: container_dir.join("work"),
            merged: container_dir.join("merged"),
        }
    }
}

/// Which kernel interface to use; `Auto` is right outside tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MountApi {
    #[default]
    Auto,
    /// `mount(2)` with one option string (what kernels before 6.8 need).
    Legacy,
}

/// Creates `upper/ work/ merged/` in `container_dir` and mounts the overlay on `merged/`.
/// `lowers_top_first` are layer diff dirs, the image's top layer first (overlayfs order);
/// with none, an empty lower dir is used (an image built `FROM scratch` with no layers).
pub fn mount(
    container_dir: &Path,
    lowers_top_first: &[PathBuf],
    api: MountApi,
) -> Result<OverlayDirs, OverlayError> {
    let dirs = OverlayDirs::in_container_dir(container_dir);
    for dir in [&dirs.upper, &dirs.work, &dirs.merged] {
        fs::create_dir_all(dir).map_err(|source| OverlayError::Prepare {
            path: dir.clone(),
            source,
        })?;
    }
    let mut lowers = lowers_top_first.to_vec();
    if lowers.is_empty() {
        let empty = container_dir.join("empty-lower");
        fs::create_dir_all(&empty).map_err(|source| OverlayError::Prepare {
            path: empty.clone(),
            source,
        })?;
        lowers.push(empty);
    }
    for lower in &lowers {
        match fs::metadata(lower) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(OverlayError::MissingLower {
                    path: lower.clone(),
                    source: Errno::NOTDIR.into(),
                })
            }
            Err(source) => {
                return Err(OverlayError::MissingLower {
                    path: lower.clone(),
                    source,
                })
            }
        }
    }
    tracing::debug!(merged = %dirs.merged.display(), layers = lowers.len(), "mounting overlay");
    match api {
        MountApi::Auto => match mount_new_api(&dirs, &lowers) {
            Err(NewApiError::Unsupported) => mount_legacy(&dirs, &lowers),
            Err(NewApiError::Failed(e)) => Err(e),
            Ok(()) => Ok(()),
        },
        MountApi::Legacy => mount_legacy(&dirs, &lowers),
    }?;
    Ok(dirs)
}

/// Unmounts a container's overlay. `lazy` detaches it even while busy.
pub fn unmount_overlay(merged: &Path, lazy: bool) -> Result<(), OverlayError> {
    let flags = if lazy {
        UnmountFlags::DETACH
    } else {
        UnmountFlags::empty()
    };
    match unmount(merged, flags) {
        Ok(()) => Ok(()),
        // Not mounted (any more): nothing to do.
        Err(Errno::INVAL) if !is_mount_point(merged) => Ok(()),
        Err(e) => Err(OverlayError::Unmount {
            merged: merged.to_owned(),
            source: e.into(),
        }),
    }
}

/// Whether `path` is listed by the kernel as a mount point of this mount namespace.
pub fn is_mount_point(path: &Path) -> bool {
    let Ok(target) = fs::canonicalize(path) else {
        return false;
    };
    let Ok(mounts) = fs::read("/proc/self/mountinfo") else {
        return false;
    };
    let wanted = target.as_os_str().as_bytes();
    mounts.split(|&b| b == b'\n').any(|line| {
        line.split(|&b| b == b' ')
            .nth(4)
            .is_some_and(|mount_point| unescape_mountinfo(mount_point) == wanted)
    })
}

fn unescape_mountinfo(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\'
            && i + 3 < s.len()
            && s[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b))
        {
            out.push((s[i + 1] - b'0') * 64 + (s[i + 2] - b'0') * 8 + (s[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

enum NewApiError {
    /// The kernel lacks the new mount API or `lowerdir+`.
    Unsupported,
    Failed(OverlayError),
}

fn mount_new_api(dirs: &OverlayDirs, lowers: &[PathBuf]) -> Result<(), NewApiError> {
    let fs_fd = match fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC) {
        Ok(fd) => fd,
        // No new mount API (before 5.2), or a seccomp filter that hides it.
        Err(Errno::NOSYS | Errno::PERM) => return Err(NewApiError::Unsupported),
        Err(e) => {
            return Err(NewApiError::Failed(mount_error(
                dirs,
                "fsopen(overlay)",
                e,
                None,
            )))
        }
    };
    // Paths over the fsconfig string limit are passed as /proc/self/fd/N.
    let mut held = Vec::new();
    let mut set = |key: &str, path: &Path, action: &'static str| -> Result<(), NewApiError> {
        let value = short_path(path, FSCONFIG_STRING_LIMIT, &mut held).map_err(|source| {
            NewApiError::Failed(OverlayError::Prepare {
                path: path.to_owned(),
                source,
            })
        })?;
        match fsconfig_set_string(&fs_fd, key, value.as_bytes()) {
            Ok(()) => Ok(()),
            // An unknown key: a kernel before 6.8 without "lowerdir+".
            Err(Errno::INVAL) if key == "lowerdir+" && is_unknown_parameter(&fs_fd) => {
                Err(NewApiError::Unsupported)
            }
            Err(e) => Err(NewApiError::Failed(mount_error(
                dirs,
                action,
                e,
                Some(&fs_fd),
            ))),
        }
    };
    for lower in lowers {
        set("lowerdir+", lower, "adding a lower dir")?;
    }
    set("upperdir", &dirs.upper, "setting the upper dir")?;
    set("workdir", &dirs.work, "setting the work dir")?;
    for (key, value) in FIXED_OPTIONS {
        fsconfig_set_string(&fs_fd, key, value).map_err(|e| {
            NewApiError::Failed(mount_error(
                dirs,
                "setting overlay options",
                e,
                Some(&fs_fd),
            ))
        })?;
    }
    let fail = |action, e| NewApiError::Failed(mount_error(dirs, action, e, Some(&fs_fd)));
    fsconfig_create(&fs_fd).map_err(|e| fail("creating the overlay", e))?;
    let mnt = fsmount(
        &fs_fd,
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::empty(),
    )
    .map_err(|e| fail("fsmount", e))?;
    move_mount(
        &mnt,
        "",
        CWD,
        &dirs.merged,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .map_err(|e| fail("move_mount", e))?;
    Ok(())
}

fn mount_legacy(dirs: &OverlayDirs, lowers: &[PathBuf]) -> Result<(), OverlayError> {
    let mut held = Vec::new();
    let build = |held: &mut Vec<OwnedFd>, limit: usize| -> Result<String, OverlayError> {
        let mut parts = Vec::new();
        for lower in lowers {
            parts.push(
                short_path(lower, limit, held).map_err(|source| OverlayError::Prepare {
                    path: lower.clone(),
                    source,
                })?,
            );
        }
        let fixed: Vec<String> = FIXED_OPTIONS
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        Ok(format!(
            "lowerdir={},upperdir={},workdir={},{}",
            parts.join(":"),
            escape_option(&dirs.upper.to_string_lossy()),
            escape_option(&dirs.work.to_string_lossy()),
            fixed.join(",")
        ))
    };
    let mut options = build(&mut held, usize::MAX)?;
    if options.len() > PAGE_LIMIT {
        held.clear();
        options = build(&mut held, 0)?; // every lower as /proc/self/fd/N
    }
    if options.len() > PAGE_LIMIT {
        return Err(OverlayError::OptionsTooLong {
            merged: dirs.merged.clone(),
            len: options.len(),
        });
    }
    let data = CString::new(options).expect("paths contain no NUL");
    rustix::mount::mount(
        "overlay",
        &dirs.merged,
        "overlay",
        MountFlags::empty(),
        data.as_c_str(),
    )
    .map_err(|e| mount_error(dirs, "mount(2)", e, None))
}

/// `path` itself if it is at most `limit` bytes, else `/proc/self/fd/N` of an `O_PATH`
/// descriptor pushed to `held` (which must stay open until the mount is made).
fn short_path(path: &Path, limit: usize, held: &mut Vec<OwnedFd>) -> io::Result<String> {
    let s = path
        .to_str()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path is not UTF-8"))?;
    let escaped = escape_option(s);
    if escaped.len() <= limit {
        return Ok(escaped);
    }
    let fd = rustix::fs::open(
        path,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let short = format!("/proc/self/fd/{}", fd.as_raw_fd());
    held.push(fd);
    Ok(short)
}

/// Overlay splits its options at ',' and lower dirs at ':'; both are escaped with '\'.
fn escape_option(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, ',' | ':' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The messages the kernel logged on the fs context (`e overlay: …` lines).
fn read_kernel_log(fs_fd: &OwnedFd) -> Vec<String> {
    let mut lines = Vec::new();
    let mut buf = [0u8; 1024];
    while let Ok(n) = rustix::io::read(fs_fd, &mut buf) {
        if n == 0 {
            break;
        }
        lines.push(String::from_utf8_lossy(&buf[..n]).trim_end().to_owned());
    }
    lines
}

fn is_unknown_parameter(fs_fd: &OwnedFd) -> bool {
    // Kernels without "lowerdir+" log "Unknown parameter 'lowerdir+'".
    let log = read_kernel_log(fs_fd);
    log.is_empty() || log.iter().any(|l| l.contains("Unknown parameter"))
}

fn mount_error(
    dirs: &OverlayDirs,
    action: &'static str,
    e: Errno,
    fs_fd: Option<&OwnedFd>,
) -> OverlayError {
    OverlayError::Mount {
        merged: dirs.merged.clone(),
        action,
        source: e.into(),
        kernel_log: fs_fd.map(read_kernel_log).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_option_separators() {
        assert_eq!(escape_option("/a,b:c\\d"), "/a\\,b\\:c\\\\d");
        assert_eq!(unescape_mountinfo(b"/a\\040b"), b"/a b");
    }
}
