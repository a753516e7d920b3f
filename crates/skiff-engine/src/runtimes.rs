//! Which OCI runtime drives a container: skiff's own, in-process (the default and the fast
//! path), or an external runc-compatible binary (`--runtime runc`, `crun`, or a path),
//! driven through its command line with its own state root. The lifecycle verbs and the
//! monitor go through [`OciRuntime`] so that both behave the same.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use skiff_runtime::Runtime;

use crate::{Engine, EngineError};

/// The name of skiff's own runtime, as `--runtime` and inspect's `HostConfig.Runtime` say.
pub const SKIFF: &str = "skiff";

/// A container's runtime, by the name it was created with.
pub enum OciRuntime<'a> {
    Skiff(&'a Runtime),
    External { binary: String, root: PathBuf },
}

impl Engine {
    /// The runtime called `name` ("" and "skiff" are skiff's own).
    pub fn oci_runtime(&self, name: &str) -> OciRuntime<'_> {
        if name.is_empty() || name == SKIFF {
            return OciRuntime::Skiff(&self.runtime);
        }
        let label: String = Path::new(name)
            .file_name()
            .map(|n| {
                n.to_string_lossy()
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect()
            })
            .unwrap_or_default();
        let root = if self.root == Path::new(crate::DEFAULT_ROOT) {
            PathBuf::from(format!("/run/skiff/{label}"))
        } else {
            self.root.join(format!("run-{label}"))
        };
        OciRuntime::External {
            binary: name.to_string(),
            root,
        }
    }
}

impl OciRuntime<'_> {
    /// Checks that an external runtime can be run at all (for `create`'s early error).
    pub fn check(&self) -> Result<(), EngineError> {
        match self {
            OciRuntime::Skiff(_) => Ok(()),
            OciRuntime::External { binary, .. } => Command::new(binary)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|_| ())
                .map_err(|source| EngineError::Io {
                    action: "run the OCI runtime",
                    path: binary.into(),
                    source,
                }),
        }
    }

    pub fn kill(&self, id: &str, signal: i32, all: bool) -> Result<(), EngineError> {
        match self {
            OciRuntime::Skiff(rt) => Ok(rt.kill(id, signal, all)?),
            OciRuntime::External { .. } => {
                let signal = signal.to_string();
                let mut args = vec!["kill"];
                if all {
                    args.push("--all");
                }
                args.extend([id, signal.as_str()]);
                self.external(&args)
            }
        }
    }

    pub fn delete(&self, id: &str, force: bool) -> Result<(), EngineError> {
        match self {
            OciRuntime::Skiff(rt) => Ok(rt.delete(id, force)?),
            OciRuntime::External { .. } => self.external(&if force {
                vec!["delete", "--force", id]
            } else {
                vec!["delete", id]
            }),
        }
    }

    pub fn pause(&self, id: &str) -> Result<(), EngineError> {
        match self {
            OciRuntime::Skiff(rt) => Ok(rt.pause(id)?),
            OciRuntime::External { .. } => self.external(&["pause", id]),
        }
    }

    pub fn resume(&self, id: &str) -> Result<(), EngineError> {
        match self {
            OciRuntime::Skiff(rt) => Ok(rt.resume(id)?),
            OciRuntime::External { .. } => self.external(&["resume", id]),
        }
    }

    pub fn start(&self, id: &str) -> Result<(), EngineError> {
        match self {
            OciRuntime::Skiff(rt) => Ok(rt.start(id)?),
            OciRuntime::External { .. } => self.external(&["start", id]),
        }
    }

    /// Pids of the container's processes.
    pub fn pids(&self, id: &str) -> Result<Vec<i32>, EngineError> {
        match self {
            OciRuntime::Skiff(rt) => Ok(rt.pids(id)?),
            OciRuntime::External { binary, root } => {
                let out = Command::new(binary)
                    .arg("--root")
                    .arg(root)
                    .args(["ps", "--format", "json", id])
                    .output()
                    .map_err(|source| EngineError::Io {
                        action: "run",
                        path: binary.into(),
                        source,
                    })?;
                if !out.status.success() {
                    return Err(self.failed("ps", &out.stderr));
                }
                Ok(serde_json::from_slice(&out.stdout).unwrap_or_default())
            }
        }
    }

    /// The error for a verb skiff only supports with its own runtime.
    pub fn unsupported(&self, what: &'static str) -> Result<(), EngineError> {
        match self {
            OciRuntime::Skiff(_) => Ok(()),
            OciRuntime::External { binary, .. } => Err(EngineError::ExternalRuntime {
                runtime: binary.clone(),
                message: format!("{what} is only available for containers run by skiff's own runtime (--runtime skiff)"),
            }),
        }
    }

    /// `RUNTIME --root ROOT create --bundle DIR --pid-file F [--console-socket S] ID` with
    /// the given stdio (the container's, as runc passes its own on); returns the init's pid.
    pub(crate) fn create_external(
        &self,
        id: &str,
        bundle: &Path,
        console_socket: Option<&Path>,
        stdio: [std::os::fd::OwnedFd; 3],
    ) -> Result<i32, EngineError> {
        let OciRuntime::External { binary, root } = self else {
            unreachable!("create_external is for external runtimes")
        };
        let pid_file = bundle.join("init.pid");
        let log = bundle.join("runtime.log");
        let _ = std::fs::remove_file(&log);
        let [stdin, stdout, stderr] = stdio;
        let mut command = Command::new(binary);
        command
            .arg("--root")
            .arg(root)
            .arg("--log")
            .arg(&log)
            .arg("--log-format")
            .arg("json")
            .arg("create")
            .arg("--bundle")
            .arg(bundle);
        command.arg("--pid-file").arg(&pid_file);
        if let Some(socket) = console_socket {
            command.arg("--console-socket").arg(socket);
        }
        command.arg(id).stdin(stdin).stdout(stdout).stderr(stderr);
        let status = command.status().map_err(|source| EngineError::Io {
            action: "run",
            path: binary.into(),
            source,
        })?;
        if !status.success() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            // runc logs JSON lines; the last error's "msg" is the useful part.
            let message = text
                .lines()
                .rev()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter(|v| v["level"] == "error")
                .find_map(|v| v["msg"].as_str().map(String::from))
                .unwrap_or_else(|| text.trim().to_string());
            return Err(EngineError::ExternalRuntime {
                runtime: binary.clone(),
                message,
            });
        }
        std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse().ok())
            .ok_or_else(|| EngineError::ExternalRuntime {
                runtime: binary.clone(),
                message: format!("no pid in {}", pid_file.display()),
            })
    }

    fn external(&self, args: &[&str]) -> Result<(), EngineError> {
        let OciRuntime::External { binary, root } = self else {
            unreachable!()
        };
        let out = Command::new(binary)
            .arg("--root")
            .arg(root)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| EngineError::Io {
                action: "run",
                path: binary.into(),
                source,
            })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(self.failed(args[0], &out.stderr))
        }
    }

    fn failed(&self, verb: &str, stderr: &[u8]) -> EngineError {
        let runtime = match self {
            OciRuntime::External { binary, .. } => binary.clone(),
            OciRuntime::Skiff(_) => SKIFF.to_string(),
        };
        EngineError::ExternalRuntime {
            runtime,
            message: format!("{verb}: {}", String::from_utf8_lossy(stderr).trim()),
        }
    }
}
