//! On-disk runtime state: one directory per container under the runtime root
//! (`/run/skiff/runtime/<id>/`), holding `state.json` (written atomically: temp file,
//! rename) and, while the container is `created`, the `exec.fifo` that `start` writes to.
//! Verbs that change a container hold an exclusive flock on its directory.

use std::fs;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{FlockArg, OFlag};
use nix::sys::stat::Mode;
use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Where runc and skiff keep runtime state by default.
pub const DEFAULT_ROOT: &str = "/run/skiff/runtime";
pub const STATE_FILE: &str = "state.json";
pub const EXEC_FIFO: &str = "exec.fifo";

/// The container's status as the OCI spec and runc report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `state.json` holds. The spec is kept so later verbs (start's hooks, delete's
/// poststop hooks, exec's defaults, the cgroup path) do not depend on the bundle staying put.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredState {
    pub id: String,
    /// Pid of the container's init in the runtime's pid namespace.
    pub pid: i32,
    /// Start time of `pid` (field 22 of /proc/<pid>/stat), to tell a recycled pid apart.
    pub pid_start: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339 creation time, UTC, with nanoseconds (as runc prints it).
    pub created: String,
    pub config: Spec,
}

/// The state the OCI spec defines, as hooks receive it on stdin and `state` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct OciState<'a> {
    #[serde(rename = "ociVersion")]
    pub oci_version: &'a str,
    pub id: &'a str,
    pub status: Status,
    #[serde(skip_serializing_if = "is_zero")]
    pub pid: i32,
    pub bundle: &'a Path,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<&'a std::collections::HashMap<String, String>>,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

impl<'a> OciState<'a> {
    pub fn new(
        spec: &'a Spec,
        id: &'a str,
        status: Status,
        pid: i32,
        bundle: &'a Path,
    ) -> OciState<'a> {
        OciState {
            oci_version: spec.version(),
            id,
            status,
            pid,
            bundle,
            annotations: spec.annotations().as_ref().filter(|a| !a.is_empty()),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("state serializes")
    }
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The runtime root: a directory of container state directories.
#[derive(Debug, Clone)]
pub struct StateRoot {
    path: PathBuf,
}

impl StateRoot {
    pub fn new(path: impl Into<PathBuf>) -> StateRoot {
        StateRoot { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn dir(&self, id: &str) -> PathBuf {
        self.path.join(id)
    }

    /// Makes the state directory of a new container; fails with [`Error::Exists`] if the id
    /// is taken. The directory is mode 0711 like runc's.
    pub fn create_dir(&self, id: &str) -> Result<PathBuf, Error> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(&self.path)
            .map_err(|e| Error::state_io("create the runtime root", &self.path, e))?;
        let dir = self.dir(id);
        match fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::Exists {
                id: id.to_string(),
                root: self.path.clone(),
            }),
            Err(e) => Err(Error::state_io("create", dir, e)),
        }
    }

    /// Reads the state of container `id`.
    pub fn load(&self, id: &str) -> Result<StoredState, Error> {
        let path = self.dir(id).join(STATE_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound {
                    id: id.to_string(),
                    root: self.path.clone(),
                })
            }
            Err(e) => return Err(Error::state_io("read", path, e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| Error::StateCorrupt {
            path,
            reason: e.to_string(),
        })
    }

    /// Writes `state` atomically: a reader sees the old or the new file, never a torn one.
    pub fn save(&self, state: &StoredState) -> Result<(), Error> {
        let path = self.dir(&state.id).join(STATE_FILE);
        let bytes = serde_json::to_vec(state).map_err(|e| Error::StateCorrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_atomic(&path, &bytes, 0o600).map_err(|e| Error::state_io("write", path, e))
    }

    /// Ids of every container with a state directory, sorted.
    pub fn ids(&self) -> Result<Vec<String>, Error> {
        let entries = match fs::read_dir(&self.path) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::state_io("list", &self.path, e)),
        };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Takes the exclusive lock of container `id` (released when the guard drops).
    pub fn lock(&self, id: &str) -> Result<DirLock, Error> {
        let dir = self.dir(id);
        let fd = nix::fcntl::open(
            &dir,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| match e {
            nix::errno::Errno::ENOENT => Error::NotFound {
                id: id.to_string(),
                root: self.path.clone(),
            },
            source => Error::Lock {
                id: id.to_string(),
                source,
            },
        })?;
        #[allow(deprecated)] // nix's Flock wrapper cannot lock a borrowed directory fd.
        nix::fcntl::flock(fd.as_raw_fd(), FlockArg::LockExclusive).map_err(|source| {
            Error::Lock {
                id: id.to_string(),
                source,
            }
        })?;
        Ok(DirLock { _fd: fd })
    }
}

/// Holds a container's flock; closing the fd releases it.
pub struct DirLock {
    _fd: OwnedFd,
}

/// Writes `bytes` to `path` through a temporary file in the same directory, renamed over
/// `path`: a reader (or a runtime that crashed mid-write) sees the old or the new file,
/// never a torn one.
///
/// No fsync: runtime state describes processes, which do not survive the power loss an
/// fsync would guard against (and it lives on tmpfs /run normally). On a disk it cost up to
/// several ms of container start here. Durable engine state is the engine's job.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)?;
    file.write_all(bytes)?;
    fs::rename(&tmp, path)
}

/// What /proc says about a pid: its start time, or None if it is gone or a zombie.
pub fn live_process_start(pid: i32) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parens: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    // `rest` starts at field 3; starttime is field 22.
    fields.nth(22 - 4)?.parse().ok()
}

/// The current time as RFC 3339 in UTC with up to nine fractional digits, trailing zeros
/// trimmed: Go's `time.RFC3339Nano`, which runc uses for `created`.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format_rfc3339(now.as_secs() as i64, now.subsec_nanos())
}

fn format_rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    );
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_go() {
        assert_eq!(format_rfc3339(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339(1_795_824_182, 272_098_051),
            "2026-11-28T00:03:02.272098051Z"
        );
        assert_eq!(
            format_rfc3339(951_782_400, 500_000_000),
            "2000-02-29T00:00:00.5Z"
        );
    }

    #[test]
    fn own_process_is_live() {
        assert!(live_process_start(std::process::id() as i32).is_some());
        assert!(live_process_start(0).is_none());
    }
}
