//! RUN: the command runs in a container (Docker's default spec, the parent image's layers
//! under a fresh overlay upper dir, the caller's stdio), then the upper dir is the layer.
//!
//! Like Docker's init layer, a small read-only layer on top of the image provides the
//! mount points the runtime needs (`/proc`, `/sys`, `/dev`, `/etc/hosts` …), so they never
//! end up in the committed layer.

use std::fs;
use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use skiff_engine::spec::{container_spec, MountOption, NetworkMode, SpecOptions};
use skiff_image::overlay::{self, MountApi};
use skiff_image::ImageStore;
use skiff_runtime::{CreateOptions, Runtime};

use super::error::BuildError;
use super::image::{commit_dir, ImageState, LayerRef};

/// What one RUN executes.
pub struct RunCommand {
    pub args: Vec<String>,
    /// Build args in scope, `KEY=value`, applied under the image's Env (ENV wins).
    pub build_env: Vec<String>,
    pub network: NetworkMode,
    /// Send the command's output to /dev/null (`-q`).
    pub quiet: bool,
}

/// The mount points of the init layer.
const INIT_DIRS: &[&str] = &["dev", "proc", "sys", "etc"];
const INIT_FILES: &[&str] = &["etc/hosts", "etc/hostname", "etc/resolv.conf"];

/// Creates the init layer directory (once per build).
pub fn make_init_layer(dir: &Path) -> Result<(), BuildError> {
    for d in INIT_DIRS {
        fs::create_dir_all(dir.join(d)).map_err(BuildError::io("create", dir.join(d)))?;
    }
    for f in INIT_FILES {
        fs::write(dir.join(f), b"").map_err(BuildError::io("create", dir.join(f)))?;
    }
    Ok(())
}

/// A RUN container's directory and overlay; unmounted and removed on drop, whatever
/// happened.
struct Scratch {
    dir: PathBuf,
    merged: Option<PathBuf>,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(merged) = self.merged.take() {
            if let Err(e) = overlay::unmount_overlay(&merged, false) {
                tracing::warn!(path = %merged.display(), error = %e, "unmount failed; detaching");
                let _ = overlay::unmount_overlay(&merged, true);
            }
        }
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %self.dir.display(), error = %e, "cannot remove a build container's directory");
            }
        }
    }
}

/// A random 64-hex container id.
pub fn new_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; 32];
    let random = fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .is_ok();
    if !random {
        // No /dev/urandom: unique enough from the pid, the time and a counter.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let seed = format!(
            "{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        return skiff_image::Digest::of(seed.as_bytes()).hex().to_string();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `cmd` on top of `state` and returns the layer it wrote. `out` gets the
/// `Running in` line before the command's own output.
#[allow(clippy::too_many_arguments)]
pub fn run(
    store: &ImageStore,
    runtime_root: &Path,
    scratch_root: &Path,
    init_layer: &Path,
    state: &ImageState,
    cmd: &RunCommand,
    epoch: i64,
    out: &mut dyn Write,
) -> Result<LayerRef, BuildError> {
    let mut lowers = state.lowers(store)?;
    if !init_layer.exists() {
        make_init_layer(init_layer)?;
    }
    lowers.insert(0, init_layer.to_owned());
    let id = new_id();
    let dir = scratch_root.join(&id);
    fs::create_dir_all(&dir).map_err(BuildError::io("create", &dir))?;
    let mut scratch = Scratch {
        dir: dir.clone(),
        merged: None,
    };
    let dirs = overlay::mount(&dir, &lowers, MountApi::Auto)?;
    scratch.merged = Some(dirs.merged.clone());

    let hostname = dir.join("hostname");
    fs::write(&hostname, format!("{}\n", &id[..12])).map_err(BuildError::io("write", &hostname))?;
    let mut mounts = vec![MountOption {
        kind: "bind".into(),
        source: hostname.to_string_lossy().into_owned(),
        target: "/etc/hostname".into(),
        read_only: true,
        options: Vec::new(),
    }];
    if cmd.network == NetworkMode::Host {
        for file in ["/etc/resolv.conf", "/etc/hosts"] {
            if Path::new(file).is_file() {
                mounts.push(MountOption {
                    kind: "bind".into(),
                    source: file.into(),
                    target: file.into(),
                    read_only: true,
                    options: Vec::new(),
                });
            }
        }
    }
    let options = SpecOptions {
        hostname: id[..12].to_string(),
        entrypoint: Some(Vec::new()),
        cmd: cmd.args.clone(),
        env: cmd.build_env.clone(),
        network: cmd.network.clone(),
        mounts,
        ..SpecOptions::default()
    };
    let mut image_config = state.oci_config();
    // Build args go under the image's Env: drop those ENV sets.
    let env = image_config.env().clone().unwrap_or_default();
    let mut options = options;
    options.env.retain(|kv| {
        let key = kv.split_once('=').map_or(kv.as_str(), |(k, _)| k);
        !env.iter()
            .any(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key)
    });
    image_config.set_env(Some(env));
    let spec = container_spec(&image_config, &dirs.merged, &options)?;
    let config_path = dir.join("config.json");
    let json = serde_json::to_vec(&spec).expect("a spec serialises");
    fs::write(&config_path, json).map_err(BuildError::io("write", &config_path))?;

    writeln!(out, " ---> Running in {}", &id[..12]).ok();
    out.flush().ok();
    let runtime = Runtime::new(runtime_root);
    let create = CreateOptions {
        id: id.clone(),
        bundle: dir.clone(),
        ..CreateOptions::default()
    };
    let code = if cmd.quiet {
        quietly(|| runtime.run(&create, false, false))
    } else {
        runtime.run(&create, false, false)
    }?;
    if code != 0 {
        return Err(BuildError::RunFailed {
            command: cmd.args.join(" "),
            code,
        });
    }
    // The upper dir is complete once the overlay is gone.
    if let Some(merged) = scratch.merged.take() {
        overlay::unmount_overlay(&merged, false)?;
    }
    drop_mount_targets(&dirs.upper);
    let layer = commit_dir(store, &dirs.upper, epoch)?;
    writeln!(out, "Removing intermediate container {}", &id[..12]).ok();
    drop(scratch);
    Ok(layer)
}

/// Removes what the runtime left in the upper dir while preparing bind-mount targets
/// (`/etc/hosts` …, copied up from the init layer): the command could not write them (the
/// binds cover them), so they are never the command's work. `/etc` goes too when nothing
/// else in it changed.
fn drop_mount_targets(upper: &Path) {
    for file in INIT_FILES {
        let path = upper.join(file);
        if fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.len() == 0) {
            let _ = fs::remove_file(&path);
        }
    }
    let etc = upper.join("etc");
    let opaque = rustix::fs::lgetxattr(&etc, "trusted.overlay.opaque", &mut [0u8; 8]).is_ok();
    if !opaque && fs::read_dir(&etc).is_ok_and(|mut d| d.next().is_none()) {
        let _ = fs::remove_dir(&etc);
    }
}

/// Runs `f` with stdout and stderr on /dev/null.
fn quietly<T>(f: impl FnOnce() -> T) -> T {
    let saved = (
        rustix::io::dup(std::io::stdout().as_fd()),
        rustix::io::dup(std::io::stderr().as_fd()),
    );
    let null = fs::OpenOptions::new().write(true).open("/dev/null");
    if let (Ok(null), (Ok(_), Ok(_))) = (&null, &saved) {
        let _ = nix::unistd::dup2_stdout(null);
        let _ = nix::unistd::dup2_stderr(null);
    }
    let result = f();
    if let (Ok(out), Ok(err)) = saved {
        let _ = nix::unistd::dup2_stdout(&out);
        let _ = nix::unistd::dup2_stderr(&err);
    }
    result
}
