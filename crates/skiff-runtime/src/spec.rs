//! Loading and checking a bundle's `config.json`.
//!
//! Parsing goes through `serde_path_to_error`, so a type error names the JSON field
//! (`linux.namespaces[2].type`) instead of a byte offset. [`validate`] then checks what the
//! types cannot express (absolute paths, namespace combinations, sysctls) before anything is
//! created on the host.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::Error;

/// The OCI runtime-spec types, re-exported for callers that build or edit specs.
pub use oci_spec::runtime as oci;

/// A bundle ready to run: its directory, parsed config and the canonical rootfs path.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub dir: PathBuf,
    pub spec: Spec,
    pub rootfs: PathBuf,
}

/// Reads `<dir>/config.json`, checks it and resolves the rootfs.
pub fn load_bundle(dir: &Path) -> Result<Bundle, Error> {
    let dir = std::fs::canonicalize(dir).map_err(|source| Error::BundleDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let config = dir.join("config.json");
    let spec = parse_file(&config)?;
    validate(&spec, &config)?;
    let root = spec.root().as_ref().expect("validate checked root");
    let rootfs = dir.join(root.path());
    let rootfs = std::fs::canonicalize(&rootfs).map_err(|source| Error::Rootfs {
        path: rootfs.clone(),
        source,
    })?;
    if !rootfs.is_dir() {
        return Err(Error::Rootfs {
            path: rootfs,
            source: std::io::Error::from_raw_os_error(libc::ENOTDIR),
        });
    }
    Ok(Bundle { dir, spec, rootfs })
}

/// Parses an OCI runtime spec from `path`, naming the offending field on error.
pub fn parse_file(path: &Path) -> Result<Spec, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::ReadConfig {
        path: path.to_path_buf(),
        source,
    })?;
    parse_json(&bytes, path)
}

/// Parses JSON bytes as `T`, reporting the JSON path of the first bad field. `origin` names
/// where the bytes came from in the error.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8], origin: &Path) -> Result<T, Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let field = err.path().to_string();
        Error::InvalidConfig {
            path: origin.to_path_buf(),
            field: if field == "." {
                "(document)".into()
            } else {
                field
            },
            reason: err.into_inner().to_string(),
        }
    })
}

fn invalid(path: &Path, field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::InvalidConfig {
        path: path.to_path_buf(),
        field: field.into(),
        reason: reason.into(),
    }
}

/// Checks the rules of the runtime spec (and runc's) that parsing alone does not.
pub fn validate(spec: &Spec, path: &Path) -> Result<(), Error> {
    if spec.version().is_empty() {
        return Err(invalid(path, "ociVersion", "must be set, e.g. \"1.0.2\""));
    }
    match spec.root() {
        None => {
            return Err(invalid(
                path,
                "root",
                "is required: set root.path to the rootfs directory",
            ))
        }
        Some(root) if root.path().as_os_str().is_empty() => {
            return Err(invalid(path, "root.path", "must name the rootfs directory"))
        }
        Some(_) => {}
    }
    let Some(process) = spec.process() else {
        return Err(invalid(
            path,
            "process",
            "is required to create a container",
        ));
    };
    match process.args() {
        Some(args) if !args.is_empty() && !args[0].is_empty() => {}
        _ => {
            return Err(invalid(
                path,
                "process.args",
                "must name the program to run",
            ))
        }
    }
    if !process.cwd().is_absolute() {
        return Err(invalid(path, "process.cwd", "must be an absolute path")); // runc's rule
    }
    if let Some(rlimits) = process.rlimits() {
        for (i, rlimit) in rlimits.iter().enumerate() {
            if rlimit.soft() > rlimit.hard() {
                return Err(invalid(
                    path,
                    format!("process.rlimits[{i}]"),
                    format!(
                        "soft limit {} is above the hard limit {}",
                        rlimit.soft(),
                        rlimit.hard()
                    ),
                ));
            }
        }
    }
    for (i, mount) in spec.mounts().iter().flatten().enumerate() {
        if !mount.destination().is_absolute() {
            return Err(invalid(
                path,
                format!("mounts[{i}].destination"),
                format!("{:?} must be an absolute path", mount.destination()),
            ));
        }
    }
    let Some(linux) = spec.linux() else {
        return Err(invalid(
            path,
            "linux",
            "is required: a container needs at least a mount namespace",
        ));
    };
    let mut seen = HashSet::new();
    let namespaces = linux.namespaces().as_deref().unwrap_or_default();
    for (i, ns) in namespaces.iter().enumerate() {
        if !seen.insert(ns.typ()) {
            return Err(invalid(
                path,
                format!("linux.namespaces[{i}].type"),
                format!("namespace {:?} is listed twice", ns.typ().to_string()),
            ));
        }
        if ns.typ() == LinuxNamespaceType::Time {
            return Err(invalid(
                path,
                format!("linux.namespaces[{i}].type"),
                "the time namespace is not supported by skiff yet; remove it",
            ));
        }
        if let Some(p) = ns.path() {
            if !p.is_absolute() {
                return Err(invalid(
                    path,
                    format!("linux.namespaces[{i}].path"),
                    format!(
                        "{p:?} must be an absolute path such as /proc/<pid>/ns/{}",
                        ns.typ()
                    ),
                ));
            }
        }
    }
    let has = |t| seen.contains(&t);
    if !namespaces
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::Mount && n.path().is_none())
    {
        return Err(invalid(
            path,
            "linux.namespaces",
            "must create a mount namespace ({\"type\": \"mount\"} without a path): the rootfs is built in it",
        ));
    }
    let user_new = namespaces
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none());
    let has_maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if user_new && !has_maps {
        return Err(invalid(
            path,
            "linux.uidMappings",
            "a new user namespace needs uidMappings and gidMappings",
        ));
    }
    if has_maps && !has(LinuxNamespaceType::User) {
        return Err(invalid(
            path,
            "linux.uidMappings",
            "id mappings need a user namespace in linux.namespaces",
        ));
    }
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts) {
        return Err(invalid(
            path,
            "hostname",
            "setting a hostname needs a uts namespace",
        ));
    }
    if let Some(sysctl) = linux.sysctl() {
        for key in sysctl.keys() {
            check_sysctl(key, &seen)
                .map_err(|reason| invalid(path, format!("linux.sysctl.{key}"), reason))?;
        }
    }
    if let Some(prop) = linux.rootfs_propagation() {
        if !matches!(
            prop.as_str(),
            "" | "private"
                | "rprivate"
                | "slave"
                | "rslave"
                | "shared"
                | "rshared"
                | "unbindable"
                | "runbindable"
        ) {
            return Err(invalid(
                path,
                "linux.rootfsPropagation",
                format!("{prop:?} is not one of private, rprivate, slave, rslave, shared, rshared, unbindable, runbindable"),
            ));
        }
    }
    Ok(())
}

/// runc's rule: only namespaced sysctls are allowed, and only with their namespace.
fn check_sysctl(key: &str, namespaces: &HashSet<LinuxNamespaceType>) -> Result<(), String> {
    let ipc = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if ipc.contains(&key) || key.starts_with("fs.mqueue.") {
        return if namespaces.contains(&LinuxNamespaceType::Ipc) {
            Ok(())
        } else {
            Err("needs an ipc namespace".into())
        };
    }
    if key.starts_with("net.") {
        return if namespaces.contains(&LinuxNamespaceType::Network) {
            Ok(())
        } else {
            Err("needs a network namespace".into())
        };
    }
    if key == "kernel.hostname" || key == "kernel.domainname" {
        return if namespaces.contains(&LinuxNamespaceType::Uts) {
            Ok(())
        } else {
            Err("needs a uts namespace".into())
        };
    }
    Err("is not a namespaced sysctl and cannot be set for one container".into())
}

/// Parses a process.json as `exec --process` takes it. Like runc, `user` (root) and `cwd`
/// ("/") may be left out.
pub fn parse_process(path: &Path) -> Result<oci::Process, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::ReadConfig {
        path: path.to_path_buf(),
        source,
    })?;
    let mut value: serde_json::Value = parse_json(&bytes, path)?;
    if let Some(object) = value.as_object_mut() {
        object
            .entry("user")
            .or_insert_with(|| serde_json::json!({"uid": 0, "gid": 0}));
        object
            .entry("cwd")
            .or_insert_with(|| serde_json::json!("/"));
    }
    let text = value.to_string();
    let process: oci::Process = parse_json(text.as_bytes(), path)?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(invalid(path, "args", "must name the program to run"));
    }
    Ok(process)
}

/// The config.json `spec` writes: the same as `runc spec` (a busybox-style shell with a
/// terminal, a read-only rootfs and runc's default mounts, masks and namespaces). With
/// `rootless`, a user namespace maps root to the caller and /sys is bound from the host.
pub fn default_config(rootless: bool) -> Spec {
    let mut value: serde_json::Value =
        serde_json::from_str(DEFAULT_CONFIG).expect("built-in spec parses");
    if rootless {
        let uid = nix::unistd::getuid().as_raw();
        let gid = nix::unistd::getgid().as_raw();
        let linux = &mut value["linux"];
        linux["namespaces"] = serde_json::json!([
            {"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "user"}
        ]);
        linux["uidMappings"] = serde_json::json!([{"containerID": 0, "hostID": uid, "size": 1}]);
        linux["gidMappings"] = serde_json::json!([{"containerID": 0, "hostID": gid, "size": 1}]);
        linux.as_object_mut().expect("object").remove("resources");
        let mounts = value["mounts"].as_array_mut().expect("array");
        mounts.retain(|m| m["destination"] != "/sys/fs/cgroup");
        for m in mounts.iter_mut() {
            if m["destination"] == "/sys" {
                *m = serde_json::json!({"destination": "/sys", "type": "none", "source": "/sys",
                    "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
            }
            if let Some(opts) = m["options"].as_array_mut() {
                opts.retain(|o| o != "gid=5");
            }
        }
    }
    serde_json::from_value(value).expect("built-in spec is valid")
}

const DEFAULT_CONFIG: &str = r#"{
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": true,
    "user": {"uid": 0, "gid": 0},
    "args": ["sh"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "skiff",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: serde_json::Value) -> Result<Spec, Error> {
        let path = Path::new("config.json");
        let spec: Spec = parse_json(json.to_string().as_bytes(), path)?;
        validate(&spec, path)?;
        Ok(spec)
    }

    fn base() -> serde_json::Value {
        serde_json::to_value(default_config(false)).unwrap()
    }

    fn field_of(err: Error) -> String {
        match err {
            Error::InvalidConfig { field, .. } => field,
            other => panic!("not an InvalidConfig error: {other}"),
        }
    }

    #[test]
    fn default_config_is_valid() {
        check(base()).unwrap();
        check(serde_json::to_value(default_config(true)).unwrap()).unwrap();
    }

    #[test]
    fn type_errors_name_the_field() {
        let mut j = base();
        j["process"]["args"] = serde_json::json!("sh");
        assert_eq!(field_of(check(j).unwrap_err()), "process.args");
        let mut j = base();
        j["linux"]["namespaces"][2]["type"] = serde_json::json!("bogus");
        assert_eq!(field_of(check(j).unwrap_err()), "linux.namespaces[2].type");
    }

    #[test]
    fn semantic_errors_name_the_field() {
        let mut j = base();
        j["linux"]["namespaces"][1] = serde_json::json!({"type": "pid"});
        assert_eq!(field_of(check(j).unwrap_err()), "linux.namespaces[1].type");
        let mut j = base();
        j["process"]["cwd"] = serde_json::json!("relative");
        assert_eq!(field_of(check(j).unwrap_err()), "process.cwd");
        let mut j = base();
        j["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "user"}]);
        assert_eq!(field_of(check(j).unwrap_err()), "linux.uidMappings");
        let mut j = base();
        j["linux"]["namespaces"] = serde_json::json!([{"type": "pid"}]);
        assert_eq!(field_of(check(j).unwrap_err()), "linux.namespaces");
        let mut j = base();
        j["linux"]["sysctl"] = serde_json::json!({"kernel.panic": "1"});
        assert_eq!(field_of(check(j).unwrap_err()), "linux.sysctl.kernel.panic");
        let mut j = base();
        j["linux"]["sysctl"] = serde_json::json!({"net.ipv4.ip_forward": "1"});
        check(j).unwrap();
        let mut j = base();
        j["mounts"][0]["destination"] = serde_json::json!("proc");
        assert_eq!(field_of(check(j).unwrap_err()), "mounts[0].destination");
    }
}
