//! Small filesystem helpers shared by the stores: unique temp names, atomic replace,
//! directory fsync and exclusive lock files.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use rustix::fs::{flock, FlockOperation};

/// Prefix of every temporary entry the stores create; anything with it is garbage from an
/// interrupted write and may be removed.
pub const TMP_PREFIX: &str = ".tmp-";

/// A name no other writer (thread or process) uses at the same time.
pub fn temp_name(what: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{TMP_PREFIX}{what}-{}-{n}-{nanos}", std::process::id())
}

/// Makes a rename or create in `dir` durable.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Replaces `dir/name` with `data` so readers see the old or the new content, never a mix,
/// and the new content survives a crash once this returns.
pub fn write_atomic(dir: &Path, name: &str, data: &[u8]) -> io::Result<()> {
    let tmp = dir.join(temp_name(name));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, dir.join(name))?;
        fsync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// An exclusive `flock` on a lock file, released when dropped (or when the process dies,
/// so a killed writer never leaves the store locked).
pub struct LockFile {
    _file: File,
}

impl LockFile {
    pub fn acquire(path: &Path) -> io::Result<LockFile> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        flock(&file, FlockOperation::LockExclusive)?;
        Ok(LockFile { _file: file })
    }
}
