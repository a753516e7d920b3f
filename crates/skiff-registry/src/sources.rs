//! Where each blob came from (`<root>/registry/sources/<hex>`: one `registry/repository`
//! per line), so a push to another repository of the same registry can mount the blob
//! instead of uploading it. Lines are appended with O_APPEND (small writes are atomic);
//! the file is a hint, so read errors just mean "unknown".

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use skiff_image::digest::Digest;

fn file(root: &Path, digest: &Digest) -> PathBuf {
    root.join("registry").join("sources").join(digest.hex())
}

/// Records that `digest` is in `repository` on `registry` (once).
pub fn record(root: &Path, digest: &Digest, registry: &str, repository: &str) {
    let line = format!("{registry}/{repository}");
    if lookup(root, digest)
        .iter()
        .any(|(r, p)| format!("{r}/{p}") == line)
    {
        return;
    }
    let path = file(root, digest);
    let result = fs::create_dir_all(path.parent().expect("sources file has a parent"))
        .and_then(|()| OpenOptions::new().create(true).append(true).open(&path))
        .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
    if let Err(e) = result {
        tracing::debug!(path = %path.display(), error = %e, "cannot record a blob's source repository");
    }
}

/// The `(registry, repository)` pairs known to hold `digest`.
pub fn lookup(root: &Path, digest: &Digest) -> Vec<(String, String)> {
    let text = fs::read_to_string(file(root, digest)).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once('/'))
        .map(|(r, p)| (r.to_owned(), p.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_once() {
        let dir = tempfile::tempdir().unwrap();
        let d = Digest::of(b"x");
        assert!(lookup(dir.path(), &d).is_empty());
        record(dir.path(), &d, "127.0.0.1:5000", "a/b");
        record(dir.path(), &d, "127.0.0.1:5000", "a/b");
        record(dir.path(), &d, "docker.io", "library/busybox");
        assert_eq!(
            lookup(dir.path(), &d),
            vec![
                ("127.0.0.1:5000".into(), "a/b".into()),
                ("docker.io".into(), "library/busybox".into())
            ]
        );
    }
}
