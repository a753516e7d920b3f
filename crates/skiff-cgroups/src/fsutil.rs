//! Small helpers to read and write cgroup control files with errors that name the file.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::CgroupError;

/// Writes `value` to the control file `dir/file` in one write(2), as cgroupfs requires.
/// The file is opened without O_CREAT: a missing file means the kernel lacks the feature.
pub(crate) fn write(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    let path = dir.join(file);
    tracing::debug!(path = %path.display(), value, "cgroup write");
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(|source| CgroupError::Write {
            path,
            value: value.to_owned(),
            source,
        })
}

/// Reads the control file `dir/file` as text.
pub(crate) fn read(dir: &Path, file: &str) -> Result<String, CgroupError> {
    let path = dir.join(file);
    fs::read_to_string(&path).map_err(|source| CgroupError::Read { path, source })
}

/// Reads the control file `dir/file`, or `None` when this kernel does not have it.
pub(crate) fn read_optional(dir: &Path, file: &str) -> Result<Option<String>, CgroupError> {
    let path = dir.join(file);
    match fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CgroupError::Read { path, source }),
    }
}

/// Parses a number, treating "max" (v2) as `u64::MAX`.
pub(crate) fn parse_u64(dir: &Path, file: &str, text: &str) -> Result<u64, CgroupError> {
    let text = text.trim();
    if text == "max" {
        return Ok(u64::MAX);
    }
    text.parse().map_err(|_| CgroupError::Parse {
        path: dir.join(file),
        content: text.to_owned(),
    })
}

/// Reads a single-number control file; a missing file reads as 0 (feature absent).
pub(crate) fn read_u64(dir: &Path, file: &str) -> Result<u64, CgroupError> {
    match read_optional(dir, file)? {
        Some(text) => parse_u64(dir, file, &text),
        None => Ok(0),
    }
}

/// Looks up `key` in a flat-keyed file ("key value" per line: memory.stat, cpu.stat, ...).
pub(crate) fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// Creates `path` and its missing parents. Fine if it exists.
pub(crate) fn create_dir_all(path: &Path) -> Result<(), CgroupError> {
    fs::create_dir_all(path).map_err(|source| CgroupError::CreateDir {
        path: path.to_owned(),
        source,
    })
}

/// Appends the pids listed in `cgroup.procs` of `dir` and of every cgroup below it.
pub(crate) fn collect_pids(dir: &Path, pids: &mut Vec<i32>) -> Result<(), CgroupError> {
    let text = match read_optional(dir, "cgroup.procs")? {
        Some(text) => text,
        None => return Ok(()), // the cgroup is gone: no tasks
    };
    pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    for child in child_cgroups(dir)? {
        collect_pids(&child, pids)?;
    }
    Ok(())
}

/// The sub-cgroups (subdirectories) of `dir`; none if `dir` is gone.
pub(crate) fn child_cgroups(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(CgroupError::Read {
                path: dir.to_owned(),
                source,
            })
        }
    };
    Ok(entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect())
}

/// Removes the cgroup `dir` and any cgroups below it (a container may have made its own).
/// A missing directory is fine. EBUSY (tasks still exiting) is retried for about a second.
pub(crate) fn remove_cgroup(dir: &Path) -> Result<(), CgroupError> {
    for child in child_cgroups(dir)? {
        remove_cgroup(&child)?;
    }
    let mut delay = Duration::from_millis(1);
    let mut waited = Duration::ZERO;
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && waited < Duration::from_secs(1) => {
                std::thread::sleep(delay);
                waited += delay;
                delay = (delay * 2).min(Duration::from_millis(100));
            }
            Err(source) => {
                return Err(CgroupError::RemoveDir {
                    path: dir.to_owned(),
                    source,
                })
            }
        }
    }
}

/// Sends `signal` to every pid, ignoring tasks that already exited.
pub(crate) fn signal_all(dir: &Path, pids: &[i32], signal: i32) -> Result<(), CgroupError> {
    let sig =
        nix::sys::signal::Signal::try_from(signal).map_err(|_| CgroupError::InvalidSignal {
            signal,
            path: dir.to_owned(),
        })?;
    for &pid in pids {
        match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(source) => {
                return Err(CgroupError::Signal {
                    pid,
                    signal,
                    path: dir.to_owned(),
                    source,
                })
            }
        }
    }
    Ok(())
}

/// Formats a v1/v2 device rule's "major:minor".
pub(crate) fn dev(major: i64, minor: i64) -> String {
    format!("{major}:{minor}")
}
