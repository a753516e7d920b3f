//! Fixtures for skiff's tests. Tests run on the real kernel as root; these helpers give each
//! test its own busybox root filesystem, bundle directory and unique names, so tests can run
//! side by side on a shared machine.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where Debian's busybox-static installs its binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// A name unique to this process and call, safe for container ids, cgroup paths and links.
/// Keeps it short: veth and cgroup names have length limits.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

/// Fills `root` with a minimal busybox system: /bin/busybox, a symlink per applet,
/// /etc/passwd and /etc/group with root and nobody, and the usual empty mount points.
pub fn busybox_rootfs(root: &Path) -> std::io::Result<()> {
    for dir in [
        "bin", "etc", "proc", "sys", "dev", "tmp", "root", "var", "usr/bin", "sbin",
    ] {
        fs::create_dir_all(root.join(dir))?;
    }
    fs::copy(BUSYBOX, root.join("bin/busybox"))?;
    let list = Command::new(BUSYBOX).arg("--list").output()?;
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let link = root.join("bin").join(applet);
        if applet != "busybox" && !link.exists() {
            symlink("busybox", link)?;
        }
    }
    fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )?;
    fs::write(root.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n")?;
    Ok(())
}

/// An OCI bundle in a temporary directory: `rootfs/` (busybox) and a `config.json` made
/// from [`default_spec`] after `edit` changed it. Removed when dropped.
pub struct Bundle {
    dir: tempfile::TempDir,
}

impl Bundle {
    pub fn new(edit: impl FnOnce(&mut oci_spec::runtime::Spec)) -> std::io::Result<Bundle> {
        let dir = tempfile::Builder::new()
            .prefix("skiff-test-bundle")
            .tempdir()?;
        busybox_rootfs(&dir.path().join("rootfs"))?;
        let mut spec = default_spec();
        edit(&mut spec);
        let json = serde_json::to_vec_pretty(&spec).map_err(std::io::Error::other)?;
        fs::write(dir.path().join("config.json"), json)?;
        Ok(Bundle { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }
}

/// The spec `runc spec` writes (rootful, no terminal), running `sh`, with `root.path` = "rootfs".
pub fn default_spec() -> oci_spec::runtime::Spec {
    let mut spec = oci_spec::runtime::Spec::default();
    if let Some(process) = spec.process_mut() {
        process.set_terminal(Some(false));
    }
    spec
}
