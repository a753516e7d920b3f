//! The build cache: one entry per (parent state, step), like the classic builder's
//! "child image whose config matches". The key is the sha256 of the parent's image id, its
//! layer blobs and the step's description after expansion — which, for COPY/ADD, carries
//! the content hash of what is copied (mode, owner and bytes, not mtime; see
//! [`super::context`]). Entries live in `<root>/build-cache/<key>.json` and hold the
//! resulting state; an entry whose blobs were removed since is a miss.

use std::fs;
use std::path::{Path, PathBuf};

use skiff_image::digest::Hasher;
use skiff_image::{Digest, ImageStore};

use super::error::BuildError;
use super::image::ImageState;

pub struct BuildCache {
    dir: PathBuf,
}

impl BuildCache {
    pub fn open(root: &Path) -> Result<BuildCache, BuildError> {
        let dir = root.join("build-cache");
        fs::create_dir_all(&dir).map_err(BuildError::io("create the build cache", &dir))?;
        Ok(BuildCache { dir })
    }

    /// The key of `step` applied to `parent`.
    pub fn key(parent: &ImageState, step: &str) -> Digest {
        let mut hasher = Hasher::new();
        hasher.update(parent.id().to_string().as_bytes());
        for layer in &parent.layers {
            hasher.update(b"\n");
            hasher.update(layer.digest.to_string().as_bytes());
        }
        hasher.update(b"\n\n");
        hasher.update(step.as_bytes());
        hasher.finish()
    }

    /// The cached result of a step, if usable.
    pub fn get(&self, key: &Digest, store: &ImageStore) -> Option<ImageState> {
        let bytes = fs::read(self.path(key)).ok()?;
        let state: ImageState = serde_json::from_slice(&bytes).ok()?;
        state.blobs_present(store).then_some(state)
    }

    /// Records a step's result (atomically: a reader never sees half an entry). Failing to
    /// record only costs a later cache miss, so errors are logged, not returned.
    pub fn put(&self, key: &Digest, state: &ImageState) {
        let path = self.path(key);
        let tmp = self
            .dir
            .join(format!(".tmp-{}-{}", key.hex(), std::process::id()));
        let bytes = serde_json::to_vec(state).expect("a state serialises");
        if let Err(e) = fs::write(&tmp, bytes).and_then(|()| fs::rename(&tmp, &path)) {
            let _ = fs::remove_file(&tmp);
            tracing::warn!(path = %path.display(), error = %e, "cannot record a build cache entry");
        }
    }

    fn path(&self, key: &Digest) -> PathBuf {
        self.dir.join(format!("{}.json", key.hex()))
    }

    /// Where a build keeps its scratch directories (RUN containers, COPY staging).
    pub fn scratch_dir(&self) -> PathBuf {
        self.dir.join("tmp")
    }
}
