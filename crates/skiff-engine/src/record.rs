//! Container records on disk: `<root>/containers/<id>/container.json` holds what a container
//! was created from (name, image, run options) and its state (status, pid, exit code …).
//!
//! Every change is a read-modify-write under the container's own lock file (`lock` in its
//! directory) and lands atomically (temp file, fsync, rename), so CLI invocations, monitors
//! and the API server can share the state safely. Creating and renaming take a second lock,
//! `<root>/containers/.names.lock`, so that two containers never get the same name.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::spec::SpecOptions;
use crate::{Engine, EngineError};

/// The record's file name inside the container directory.
pub const RECORD_FILE: &str = "container.json";
const LOCK_FILE: &str = "lock";
const NAMES_LOCK: &str = ".names.lock";

/// A container as stored on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerRecord {
    /// 64 hex digits.
    pub id: String,
    /// Without docker's leading "/".
    pub name: String,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    /// The image as the user named it ("busybox").
    pub image: String,
    /// The image id: its config digest ("sha256:…").
    pub image_id: String,
    /// The image's layer dirs, top first: the overlay's lower dirs.
    pub lowers: Vec<PathBuf>,
    /// The command the container runs (entrypoint and cmd resolved).
    pub path: String,
    pub args: Vec<String>,
    pub config: RunConfig,
    pub state: State,
}

/// What the container was created with, beyond the spec options.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunConfig {
    pub spec: SpecOptions,
    /// `--rm`.
    pub auto_remove: bool,
    pub restart: RestartPolicy,
    pub labels: BTreeMap<String, String>,
    /// `--stop-signal`, e.g. "SIGTERM".
    pub stop_signal: Option<String>,
    /// `--stop-timeout` in seconds (docker's default is 10).
    pub stop_timeout: Option<i64>,
    /// `-i`: keep stdin open.
    pub open_stdin: bool,
    /// `--log-opt max-size` in bytes; none means no rotation.
    pub log_max_size: Option<u64>,
    /// `--log-opt max-file` (1 when unset, as docker's).
    pub log_max_file: u32,
    /// `--runtime`: "skiff" (in-process) or an external OCI runtime ("runc", "crun", a path).
    pub runtime: String,
}

/// `--restart`: what the monitor does when the container exits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum RestartPolicy {
    #[default]
    No,
    OnFailure {
        max_retries: u32,
    },
    Always,
    UnlessStopped,
}

impl RestartPolicy {
    /// Parses `no`, `on-failure[:N]`, `always`, `unless-stopped`.
    pub fn parse(text: &str) -> Result<RestartPolicy, EngineError> {
        let bad = || EngineError::InvalidOption {
            option: "--restart",
            value: text.to_string(),
            hint: "use no, on-failure[:max-retries], always or unless-stopped",
        };
        let (name, count) = match text.split_once(':') {
            Some((n, c)) => (n, Some(c.parse::<u32>().map_err(|_| bad())?)),
            None => (text, None),
        };
        match (name, count) {
            ("no" | "", None) => Ok(RestartPolicy::No),
            ("on-failure", n) => Ok(RestartPolicy::OnFailure {
                max_retries: n.unwrap_or(0),
            }),
            ("always", None) => Ok(RestartPolicy::Always),
            ("unless-stopped", None) => Ok(RestartPolicy::UnlessStopped),
            _ => Err(bad()),
        }
    }

    /// Docker's name for it ("on-failure", "no" …).
    pub fn name(&self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::OnFailure { .. } => "on-failure",
            RestartPolicy::Always => "always",
            RestartPolicy::UnlessStopped => "unless-stopped",
        }
    }

    /// Whether a container that exited with `code` after `restarts` restarts is started again.
    /// A container stopped by the user is never restarted.
    pub fn should_restart(&self, code: i32, restarts: u32, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        match self {
            RestartPolicy::No => false,
            RestartPolicy::OnFailure { max_retries } => {
                code != 0 && (*max_retries == 0 || restarts < *max_retries)
            }
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
        }
    }
}

/// Docker's container states.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }

    /// Whether a monitor owns the container in this state.
    pub fn is_active(self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::Restarting)
    }
}

/// The container's state, kept up to date by the monitor and the lifecycle verbs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub status: Status,
    /// The init's pid while running, else 0.
    pub pid: i32,
    pub exit_code: i32,
    pub oom_killed: bool,
    pub error: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub restart_count: u32,
    /// The monitor's pid and start time (to tell a live monitor from a recycled pid).
    pub monitor_pid: i32,
    pub monitor_start: u64,
    /// Set by stop/kill from the user: the restart policy does not apply to this exit.
    pub stopped_by_user: bool,
}

impl ContainerRecord {
    /// The state as it really is: a record saying "running" whose monitor and init are
    /// both gone (the monitor was killed, the machine rebooted) is reported as exited.
    pub fn live_state(&self) -> State {
        let mut state = self.state.clone();
        if state.status.is_active() && !self.monitor_alive() && !pid_alive(state.pid) {
            state.status = Status::Exited;
            state.pid = 0;
            if state.error.is_empty() {
                state.error = "the container's monitor died; its exit code is unknown".into();
            }
            if state.exit_code == 0 {
                state.exit_code = 255;
            }
        }
        state
    }

    /// Whether this container's monitor process is still running.
    pub fn monitor_alive(&self) -> bool {
        self.state.monitor_pid > 0
            && skiff_runtime::state::live_process_start(self.state.monitor_pid)
                == Some(self.state.monitor_start)
    }
}

fn pid_alive(pid: i32) -> bool {
    pid > 0 && skiff_runtime::state::live_process_start(pid).is_some()
}

/// An exclusive flock held until dropped.
pub struct Lock {
    _file: Flock<File>,
}

impl Lock {
    fn acquire(path: &Path) -> Result<Lock, EngineError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|source| EngineError::Io {
                action: "open the lock file",
                path: path.to_owned(),
                source,
            })?;
        let file =
            Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| EngineError::Io {
                action: "lock",
                path: path.to_owned(),
                source: errno.into(),
            })?;
        Ok(Lock { _file: file })
    }
}

impl Engine {
    /// `<root>/containers`.
    pub fn containers_dir(&self) -> PathBuf {
        self.root.join("containers")
    }

    /// The directory of container `id`.
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.containers_dir().join(id)
    }

    /// Takes the lock that guards container names (held while creating or renaming).
    pub fn lock_names(&self) -> Result<Lock, EngineError> {
        let dir = self.containers_dir();
        fs::create_dir_all(&dir).map_err(|source| EngineError::Io {
            action: "create",
            path: dir.clone(),
            source,
        })?;
        Lock::acquire(&dir.join(NAMES_LOCK))
    }

    /// Takes container `id`'s lock.
    pub fn lock_container(&self, id: &str) -> Result<Lock, EngineError> {
        Lock::acquire(&self.container_dir(id).join(LOCK_FILE))
    }

    /// Reads container `id`'s record.
    pub fn load_record(&self, id: &str) -> Result<ContainerRecord, EngineError> {
        let path = self.container_dir(id).join(RECORD_FILE);
        let bytes = fs::read(&path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                EngineError::NoSuchContainer {
                    name: id.to_string(),
                }
            } else {
                EngineError::Io {
                    action: "read",
                    path: path.clone(),
                    source,
                }
            }
        })?;
        serde_json::from_slice(&bytes).map_err(|source| EngineError::CorruptRecord { path, source })
    }

    /// Writes a record atomically (the caller holds its lock, or it is brand new).
    pub fn save_record(&self, record: &ContainerRecord) -> Result<(), EngineError> {
        let dir = self.container_dir(&record.id);
        let json = serde_json::to_vec_pretty(record).expect("a record always serializes");
        write_atomic(&dir, RECORD_FILE, &json, true)
    }

    /// Loads, changes and saves container `id`'s record under its lock; returns the result.
    pub fn update_record<R>(
        &self,
        id: &str,
        change: impl FnOnce(&mut ContainerRecord) -> R,
    ) -> Result<(ContainerRecord, R), EngineError> {
        let _lock = self.lock_container(id)?;
        let mut record = self.load_record(id)?;
        let result = change(&mut record);
        self.save_record(&record)?;
        Ok((record, result))
    }

    /// Every container's record, newest first (as `docker ps` lists them). Directories
    /// without a readable record (a create in progress, a half-removed container) are
    /// skipped.
    pub fn list_records(&self) -> Result<Vec<ContainerRecord>, EngineError> {
        let dir = self.containers_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(EngineError::Io {
                    action: "list",
                    path: dir,
                    source,
                })
            }
        };
        let mut records: Vec<ContainerRecord> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| self.load_record(&e.file_name().to_string_lossy()).ok())
            .collect();
        records.sort_by(|a, b| b.created.cmp(&a.created));
        Ok(records)
    }

    /// Resolves what the user typed to a container id, as docker does: a full id, then a
    /// name (with or without the leading "/"), then a unique id prefix.
    pub fn resolve_container(&self, what: &str) -> Result<String, EngineError> {
        let not_found = || EngineError::NoSuchContainer {
            name: what.to_string(),
        };
        if what.is_empty() {
            return Err(not_found());
        }
        if what.len() == 64 && self.container_dir(what).join(RECORD_FILE).exists() {
            return Ok(what.to_string());
        }
        let records = self.list_records()?;
        let name = what.strip_prefix('/').unwrap_or(what);
        if let Some(r) = records.iter().find(|r| r.name == name) {
            return Ok(r.id.clone());
        }
        let matches: Vec<&ContainerRecord> =
            records.iter().filter(|r| r.id.starts_with(what)).collect();
        match matches.as_slice() {
            [one] => Ok(one.id.clone()),
            [] => Err(not_found()),
            _ => Err(EngineError::AmbiguousContainer {
                prefix: what.to_string(),
                count: matches.len(),
            }),
        }
    }

    /// The id of the container called `name`, if any (the caller holds the names lock).
    pub fn find_name(&self, name: &str) -> Result<Option<String>, EngineError> {
        Ok(self
            .list_records()?
            .into_iter()
            .find(|r| r.name == name)
            .map(|r| r.id))
    }
}

/// Docker's rule for container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn validate_name(name: &str) -> Result<(), EngineError> {
    let mut bytes = name.bytes();
    let ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name.len() >= 2
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(EngineError::InvalidName {
            name: name.to_string(),
        })
    }
}

/// Writes `dir/name` atomically: a temp file in the same dir, (fsync if `durable`), rename.
/// The rename alone already keeps readers from seeing a torn file; the fsync (~6 ms on this
/// machine's disk) adds durability across power loss, which short-lived state such as a
/// running pid or an `--rm` container's record does not need.
pub fn write_atomic(dir: &Path, name: &str, data: &[u8], durable: bool) -> Result<(), EngineError> {
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let target = dir.join(name);
    let io = |action: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| EngineError::Io {
            action,
            path,
            source,
        }
    };
    let mut file = File::create(&tmp).map_err(io("create", &tmp))?;
    file.write_all(data).map_err(io("write", &tmp))?;
    if durable {
        file.sync_data().map_err(io("fsync", &tmp))?;
    }
    fs::rename(&tmp, &target).map_err(io("rename into place", &target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policies_parse_and_decide() {
        assert_eq!(RestartPolicy::parse("no").unwrap(), RestartPolicy::No);
        assert_eq!(
            RestartPolicy::parse("on-failure:2").unwrap(),
            RestartPolicy::OnFailure { max_retries: 2 }
        );
        assert_eq!(
            RestartPolicy::parse("always").unwrap(),
            RestartPolicy::Always
        );
        assert!(RestartPolicy::parse("sometimes").is_err());
        assert!(RestartPolicy::parse("always:3").is_err());
        let p = RestartPolicy::OnFailure { max_retries: 2 };
        assert!(p.should_restart(1, 0, false) && p.should_restart(1, 1, false));
        assert!(!p.should_restart(1, 2, false) && !p.should_restart(0, 0, false));
        assert!(!RestartPolicy::Always.should_restart(0, 5, true));
    }

    #[test]
    fn names_follow_dockers_rule() {
        assert!(validate_name("web_1.a-b").is_ok());
        assert!(validate_name("_x").is_err());
        assert!(validate_name("a").is_err());
        assert!(validate_name("a/b").is_err());
    }
}
