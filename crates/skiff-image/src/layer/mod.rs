//! Layers: the tar format, whiteouts, compression, and the store of unpacked layers
//! (`layers/<chain-id>/diff`, the read-only lower dirs of container overlays).

pub mod apply;
pub mod compress;
pub mod diff;
pub mod tar;
pub mod tar_write;
pub mod whiteout;

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::fsutil::{fsync_dir, temp_name, TMP_PREFIX};
pub use apply::{apply_tar, ApplyError, ApplyOptions, ApplyStats};
pub use compress::{Compression, CompressionError};

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("cannot create the layer directory {path}: {source} (check that the state root is writable)")]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("unpacking layer {chain_id}: {source}")]
    Unpack {
        chain_id: Digest,
        source: ApplyError,
    },
    #[error("unpacking layer {chain_id}: the blob cannot be read or decompressed: {source} (the blob is corrupt or truncated; pull the image again)")]
    Decompress {
        chain_id: Digest,
        source: CompressionError,
    },
    #[error("layer {chain_id}: its content hashes to diff id {actual} but the image config says {expected}; the layer is corrupt or belongs to another image, nothing was kept")]
    DiffIdMismatch {
        chain_id: Digest,
        expected: Digest,
        actual: Digest,
    },
    #[error("layer {chain_id}: {action} {path}: {source}")]
    Io {
        chain_id: Digest,
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("layer {chain_id} is not unpacked")]
    NotFound { chain_id: Digest },
}

/// What the store keeps about an unpacked layer (`layers/<chain-id>/layer.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    pub chain_id: Digest,
    pub diff_id: Digest,
    /// The chain id of the layer below, if any.
    pub parent: Option<Digest>,
    /// Size of the uncompressed tar.
    pub tar_size: u64,
    /// Bytes of file data written.
    pub content_size: u64,
    pub entries: u64,
}

const INFO_FILE: &str = "layer.json";

#[derive(Clone, Debug)]
pub struct LayerStore {
    dir: PathBuf,
    /// fsync the unpacked files before the layer becomes visible (`syncfs`), so a crash
    /// never leaves a layer with empty files. Costs time on big layers.
    pub durable: bool,
}

impl LayerStore {
    pub fn new(root: &Path) -> Result<LayerStore, LayerError> {
        let dir = root.join("layers");
        fs::create_dir_all(&dir).map_err(|source| LayerError::CreateDir {
            path: dir.clone(),
            source,
        })?;
        // Layers hold whatever images ship, setuid-root binaries included: host users must
        // not reach them (Docker keeps its layers 0700 or 0710 for the same reason).
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(|source| {
            LayerError::CreateDir {
                path: dir.clone(),
                source,
            }
        })?;
        Ok(LayerStore { dir, durable: true })
    }

    /// `layers/<chain-id>/diff`, the overlay lower dir of this layer.
    pub fn diff_dir(&self, chain_id: &Digest) -> PathBuf {
        self.dir.join(chain_id.hex()).join("diff")
    }

    pub fn has(&self, chain_id: &Digest) -> bool {
        self.dir.join(chain_id.hex()).join(INFO_FILE).is_file()
    }

    pub fn info(&self, chain_id: &Digest) -> Result<LayerInfo, LayerError> {
        let path = self.dir.join(chain_id.hex()).join(INFO_FILE);
        let bytes = fs::read(&path).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                LayerError::NotFound {
                    chain_id: chain_id.clone(),
                }
            } else {
                LayerError::Io {
                    chain_id: chain_id.clone(),
                    action: "read",
                    path: path.clone(),
                    source,
                }
            }
        })?;
        serde_json::from_slice(&bytes).map_err(|e| LayerError::Io {
            chain_id: chain_id.clone(),
            action: "parse",
            path,
            source: io::Error::new(io::ErrorKind::InvalidData, e),
        })
    }

    /// Unpacks a layer blob (gzip, zstd or plain tar) as `chain_id`. The tar is unpacked
    /// into a temp directory that is renamed into place only when complete and verified
    /// against `expected_diff_id`, so a failure leaves nothing behind. If another writer
    /// finished the same layer first, its copy is kept.
    pub fn apply(
        &self,
        chain_id: &Digest,
        parent: Option<&Digest>,
        expected_diff_id: Option<&Digest>,
        blob: impl Read + Send,
    ) -> Result<LayerInfo, LayerError> {
        if self.has(chain_id) {
            return self.info(chain_id);
        }
        let tmp = self.dir.join(temp_name(&chain_id.hex()[..12]));
        let result = self.unpack_into(&tmp, chain_id, parent, expected_diff_id, blob);
        match result {
            Ok(info) => {
                let target = self.dir.join(chain_id.hex());
                match fs::rename(&tmp, &target) {
                    Ok(()) => {}
                    Err(e) if target.join(INFO_FILE).is_file() => {
                        tracing::debug!(%chain_id, error = %e, "layer unpacked concurrently; keeping the other copy");
                        let _ = remove_tree(&tmp);
                        return self.info(chain_id);
                    }
                    Err(source) => {
                        let _ = remove_tree(&tmp);
                        return Err(LayerError::Io {
                            chain_id: chain_id.clone(),
                            action: "rename into place",
                            path: target,
                            source,
                        });
                    }
                }
                let _ = fsync_dir(&self.dir);
                Ok(info)
            }
            Err(e) => {
                if let Err(rm) = remove_tree(&tmp) {
                    tracing::warn!(path = %tmp.display(), error = %rm, "cannot remove a failed layer unpack");
                }
                Err(e)
            }
        }
    }

    fn unpack_into(
        &self,
        tmp: &Path,
        chain_id: &Digest,
        parent: Option<&Digest>,
        expected_diff_id: Option<&Digest>,
        blob: impl Read + Send,
    ) -> Result<LayerInfo, LayerError> {
        let io_err = |action, path: &Path| {
            let path = path.to_owned();
            move |source| LayerError::Io {
                chain_id: chain_id.clone(),
                action,
                path,
                source,
            }
        };
        let diff = tmp.join("diff");
        fs::create_dir(tmp).map_err(io_err("create", tmp))?;
        fs::create_dir(&diff).map_err(io_err("create", &diff))?;
        let options = ApplyOptions::default();
        let (stats, summary) = compress::with_decompressed(blob, |reader| {
            let mut tar = tar::TarReader::new(reader);
            let stats = apply_tar(&diff, &mut tar, &options)?;
            let reader = tar.into_inner();
            // Hash what follows the end-of-archive blocks too: it is part of the diff id.
            reader
                .drain()
                .map_err(|source| ApplyError::Trailer { source })?;
            Ok::<_, ApplyError>(stats)
        })
        .map_err(|e| match e {
            compress::PipelineError::Input(source) => LayerError::Decompress {
                chain_id: chain_id.clone(),
                source,
            },
            compress::PipelineError::Consumer(source) => LayerError::Unpack {
                chain_id: chain_id.clone(),
                source,
            },
        })?;
        if let Some(expected) = expected_diff_id {
            if *expected != summary.diff_id {
                return Err(LayerError::DiffIdMismatch {
                    chain_id: chain_id.clone(),
                    expected: expected.clone(),
                    actual: summary.diff_id,
                });
            }
        }
        let info = LayerInfo {
            chain_id: chain_id.clone(),
            diff_id: summary.diff_id,
            parent: parent.cloned(),
            tar_size: summary.uncompressed_size,
            content_size: stats.bytes,
            entries: stats.entries,
        };
        if self.durable {
            let dir = fs::File::open(&diff).map_err(io_err("open", &diff))?;
            rustix::fs::syncfs(&dir).map_err(|e| io_err("sync", &diff)(e.into()))?;
        }
        let json = serde_json::to_vec_pretty(&info).expect("layer info serialises");
        crate::fsutil::write_atomic(tmp, INFO_FILE, &json)
            .map_err(io_err("write", &tmp.join(INFO_FILE)))?;
        Ok(info)
    }

    /// Removes an unpacked layer: first renamed away (so it vanishes at once), then deleted.
    pub fn remove(&self, chain_id: &Digest) -> Result<bool, LayerError> {
        let path = self.dir.join(chain_id.hex());
        let doomed = self.dir.join(temp_name("rm"));
        match fs::rename(&path, &doomed) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(source) => {
                return Err(LayerError::Io {
                    chain_id: chain_id.clone(),
                    action: "remove",
                    path,
                    source,
                })
            }
        }
        remove_tree(&doomed).map_err(|source| LayerError::Io {
            chain_id: chain_id.clone(),
            action: "remove",
            path: doomed,
            source,
        })?;
        Ok(true)
    }

    /// Chain ids of all unpacked layers.
    pub fn list(&self) -> io::Result<Vec<Digest>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let name = entry?.file_name();
            if let Some(d) = name.to_str().and_then(|n| Digest::from_hex(n).ok()) {
                if self.has(&d) {
                    out.push(d);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Removes leftovers of unpacks and removals that were killed mid-way.
    pub fn remove_stale_temps(&self) -> io::Result<usize> {
        let mut n = 0;
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                remove_tree(&entry.path())?;
                n += 1;
            }
        }
        Ok(n)
    }
}

/// Removes a directory tree without following symlinks (layer content is untrusted).
pub(crate) fn remove_tree(path: &Path) -> io::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("/"));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let parent_fd = rustix::fs::open(
        parent,
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?;
    use std::os::fd::AsFd;
    use std::os::unix::ffi::OsStrExt;
    apply::remove_all(parent_fd.as_fd(), name.as_bytes()).map_err(io::Error::from)
}
