//! The content store: `blobs/sha256/<hex>` under the state root. Manifests, configs and
//! compressed layers live here, each verified against its digest before it becomes visible.

mod index;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::digest::{Digest, Hasher};
use crate::fsutil::{fsync_dir, temp_name, TMP_PREFIX};

pub use index::{ImageIndex, IndexData};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the store directory {path}: {source} (check that the state root is writable)")]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("blob {digest} is not in the store (pull or load the image again)")]
    BlobNotFound { digest: Digest },
    #[error("cannot read blob {digest} at {path}: {source}")]
    ReadBlob {
        digest: Digest,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot write a blob into {dir}: {source} (check free space and permissions)")]
    WriteBlob { dir: PathBuf, source: io::Error },
    #[error("blob content does not match its digest: expected {expected}, got {actual}; the download or file is corrupt, nothing was stored")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("blob {digest} is {actual} bytes, expected {expected}: the body was cut short or padded, nothing was stored")]
    SizeMismatch {
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("cannot delete blob {digest}: {source}")]
    DeleteBlob { digest: Digest, source: io::Error },
    #[error("cannot list blobs in {dir}: {source}")]
    List { dir: PathBuf, source: io::Error },
    #[error("image index {path}: {source}")]
    IndexIo { path: PathBuf, source: io::Error },
    #[error("image index {path} is corrupt: {source}; restore it or remove it to start with an empty index")]
    IndexCorrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// `blobs/sha256` under a state root.
#[derive(Clone, Debug)]
pub struct ContentStore {
    dir: PathBuf,
}

impl ContentStore {
    /// Opens (creating if needed) the content store under `root`.
    pub fn new(root: &Path) -> Result<ContentStore, StoreError> {
        let dir = root.join("blobs").join("sha256");
        fs::create_dir_all(&dir).map_err(|source| StoreError::CreateDir {
            path: dir.clone(),
            source,
        })?;
        Ok(ContentStore { dir })
    }

    /// Where a blob lives (whether or not it exists).
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(digest.hex())
    }

    pub fn has(&self, digest: &Digest) -> bool {
        self.path(digest).is_file()
    }

    pub fn size(&self, digest: &Digest) -> Result<u64, StoreError> {
        let path = self.path(digest);
        match fs::metadata(&path) {
            Ok(m) => Ok(m.len()),
            Err(e) => Err(self.read_error(digest, path, e)),
        }
    }

    /// Opens a blob for reading.
    pub fn open(&self, digest: &Digest) -> Result<File, StoreError> {
        let path = self.path(digest);
        File::open(&path).map_err(|e| self.read_error(digest, path, e))
    }

    /// Reads a whole (small) blob: manifests and configs.
    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>, StoreError> {
        let path = self.path(digest);
        fs::read(&path).map_err(|e| self.read_error(digest, path, e))
    }

    fn read_error(&self, digest: &Digest, path: PathBuf, e: io::Error) -> StoreError {
        if e.kind() == io::ErrorKind::NotFound {
            StoreError::BlobNotFound {
                digest: digest.clone(),
            }
        } else {
            StoreError::ReadBlob {
                digest: digest.clone(),
                path,
                source: e,
            }
        }
    }

    /// Starts a streaming write; nothing is visible until [`BlobWriter::commit`] succeeds.
    pub fn writer(&self) -> Result<BlobWriter, StoreError> {
        let tmp = self.dir.join(temp_name("blob"));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)
            .map_err(|source| StoreError::WriteBlob {
                dir: self.dir.clone(),
                source,
            })?;
        Ok(BlobWriter {
            dir: self.dir.clone(),
            tmp,
            file: Some(file),
            hasher: Hasher::new(),
            size: 0,
        })
    }

    /// Streams `reader` into the store. With `expected`, the content must hash to it (and
    /// have `expected_size` bytes if given), else nothing is stored.
    pub fn write(
        &self,
        reader: &mut dyn Read,
        expected: Option<&Digest>,
        expected_size: Option<u64>,
    ) -> Result<(Digest, u64), StoreError> {
        let mut writer = self.writer()?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(StoreError::WriteBlob {
                        dir: self.dir.clone(),
                        source,
                    })
                }
            };
            writer
                .write_all(&buf[..n])
                .map_err(|source| StoreError::WriteBlob {
                    dir: self.dir.clone(),
                    source,
                })?;
        }
        writer.commit(expected, expected_size)
    }

    /// Stores bytes already in memory and returns their digest.
    pub fn put(&self, data: &[u8]) -> Result<Digest, StoreError> {
        let digest = Digest::of(data);
        if !self.has(&digest) {
            self.write(&mut &data[..], Some(&digest), Some(data.len() as u64))?;
        }
        Ok(digest)
    }

    /// Removes a blob; `Ok(false)` if it was not there.
    pub fn delete(&self, digest: &Digest) -> Result<bool, StoreError> {
        match fs::remove_file(self.path(digest)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(StoreError::DeleteBlob {
                digest: digest.clone(),
                source,
            }),
        }
    }

    /// Every stored blob (temp files of writes in progress are skipped).
    pub fn list(&self) -> Result<Vec<Digest>, StoreError> {
        let err = |source| StoreError::List {
            dir: self.dir.clone(),
            source,
        };
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(err)? {
            let name = entry.map_err(err)?.file_name();
            if let Some(d) = name.to_str().and_then(|n| Digest::from_hex(n).ok()) {
                out.push(d);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Removes temp files left by writes that were killed mid-way.
    pub fn remove_stale_temps(&self) -> Result<usize, StoreError> {
        let err = |source| StoreError::List {
            dir: self.dir.clone(),
            source,
        };
        let mut removed = 0;
        for entry in fs::read_dir(&self.dir).map_err(err)? {
            let entry = entry.map_err(err)?;
            if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX)
                && fs::remove_file(entry.path()).is_ok()
            {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// A blob being written: data goes to a temp file in the blob directory while it is hashed.
/// Dropping it without a successful commit removes the temp file.
pub struct BlobWriter {
    dir: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
    hasher: Hasher,
    size: u64,
}

impl BlobWriter {
    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Verifies, fsyncs and renames the blob into place.
    pub fn commit(
        mut self,
        expected: Option<&Digest>,
        expected_size: Option<u64>,
    ) -> Result<(Digest, u64), StoreError> {
        let actual = std::mem::take(&mut self.hasher).finish();
        if let Some(expected) = expected {
            if *expected != actual {
                return Err(StoreError::DigestMismatch {
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        if let Some(expected_size) = expected_size {
            if expected_size != self.size {
                return Err(StoreError::SizeMismatch {
                    digest: actual,
                    expected: expected_size,
                    actual: self.size,
                });
            }
        }
        let werr = |source| StoreError::WriteBlob {
            dir: self.dir.clone(),
            source,
        };
        let file = self.file.take().expect("blob file is open until commit");
        file.sync_all().map_err(werr)?;
        drop(file);
        fs::rename(&self.tmp, self.dir.join(actual.hex())).map_err(werr)?;
        fsync_dir(&self.dir).map_err(werr)?;
        Ok((actual, self.size))
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("blob already committed"))?;
        let n = file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // After a successful commit the temp path no longer exists; otherwise clean up.
        let _ = fs::remove_file(&self.tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn write_verify_read_delete() {
        let root = tempfile::tempdir().unwrap();
        let store = ContentStore::new(root.path()).unwrap();
        let data = b"hello blob".repeat(100_000);
        let digest = Digest::of(&data);
        assert!(!store.has(&digest));
        let (d, size) = store
            .write(&mut &data[..], Some(&digest), Some(data.len() as u64))
            .unwrap();
        assert_eq!((d.clone(), size), (digest.clone(), data.len() as u64));
        assert!(store.has(&digest));
        assert_eq!(store.size(&digest).unwrap(), data.len() as u64);
        assert_eq!(store.read(&digest).unwrap(), data);
        let mut s = Vec::new();
        store.open(&digest).unwrap().read_to_end(&mut s).unwrap();
        assert_eq!(s, data);
        assert_eq!(store.list().unwrap(), vec![digest.clone()]);
        assert_eq!(entries(&store.dir), vec![digest.hex().to_owned()]);
        assert!(store.delete(&digest).unwrap());
        assert!(!store.delete(&digest).unwrap());
        assert!(matches!(
            store.open(&digest),
            Err(StoreError::BlobNotFound { .. })
        ));
    }

    #[test]
    fn mismatch_and_short_body_leave_nothing() {
        let root = tempfile::tempdir().unwrap();
        let store = ContentStore::new(root.path()).unwrap();
        let good = Digest::of(b"expected");
        let err = store
            .write(&mut &b"something else"[..], Some(&good), None)
            .unwrap_err();
        assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
        let err = store
            .write(&mut &b"expect"[..], Some(&good), Some(8))
            .unwrap_err();
        assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
        // Right content, wrong announced size.
        let err = store
            .write(&mut &b"expected"[..], Some(&good), Some(9))
            .unwrap_err();
        assert!(matches!(err, StoreError::SizeMismatch { .. }), "{err}");
        // A reader that fails half way.
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionReset,
                        "peer went away",
                    ));
                }
                self.0 -= 1;
                buf[0] = b'x';
                Ok(1)
            }
        }
        assert!(store.write(&mut Failing(10), None, None).is_err());
        // An abandoned writer.
        let mut w = store.writer().unwrap();
        w.write_all(b"partial").unwrap();
        drop(w);
        assert!(
            entries(&store.dir).is_empty(),
            "left behind: {:?}",
            entries(&store.dir)
        );
    }

    #[test]
    fn put_is_idempotent() {
        let root = tempfile::tempdir().unwrap();
        let store = ContentStore::new(root.path()).unwrap();
        let a = store.put(b"{}").unwrap();
        let b = store.put(b"{}").unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.to_string(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(store.list().unwrap().len(), 1);
    }
}
