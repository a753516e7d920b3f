//! The image index: which manifest each `repository:tag` names, and which images (manifest
//! digests) the store holds, tagged or not. One JSON file, `images/index.json`, replaced
//! atomically; writers serialise on `images/index.lock` so concurrent CLI calls and the
//! daemon never lose each other's updates. Readers need no lock.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::digest::Digest;
use crate::fsutil::{write_atomic, LockFile};
use crate::reference::Reference;

const INDEX_FILE: &str = "index.json";
const LOCK_FILE: &str = "index.lock";

/// The index content.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexData {
    /// Fully qualified `domain/path:tag` -> manifest digest.
    #[serde(default)]
    pub tags: BTreeMap<String, Digest>,
    /// Every image in the store by manifest digest, including untagged ones.
    #[serde(default)]
    pub images: BTreeSet<Digest>,
}

impl IndexData {
    /// Tags (fully qualified) that name `manifest`.
    pub fn tags_of(&self, manifest: &Digest) -> Vec<String> {
        self.tags
            .iter()
            .filter(|(_, d)| *d == manifest)
            .map(|(t, _)| t.clone())
            .collect()
    }
}

#[derive(Clone, Debug)]
pub struct ImageIndex {
    dir: PathBuf,
}

impl ImageIndex {
    pub fn new(root: &Path) -> Result<ImageIndex, StoreError> {
        let dir = root.join("images");
        fs::create_dir_all(&dir).map_err(|source| StoreError::CreateDir {
            path: dir.clone(),
            source,
        })?;
        Ok(ImageIndex { dir })
    }

    fn file(&self) -> PathBuf {
        self.dir.join(INDEX_FILE)
    }

    /// The current index (empty if none was written yet).
    pub fn load(&self) -> Result<IndexData, StoreError> {
        let path = self.file();
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| StoreError::IndexCorrupt { path, source }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(IndexData::default()),
            Err(source) => Err(StoreError::IndexIo { path, source }),
        }
    }

    /// Runs `change` on the index under the writer lock and saves the result if it changed.
    pub fn update<R>(&self, change: impl FnOnce(&mut IndexData) -> R) -> Result<R, StoreError> {
        let lock_path = self.dir.join(LOCK_FILE);
        let _lock = LockFile::acquire(&lock_path).map_err(|source| StoreError::IndexIo {
            path: lock_path,
            source,
        })?;
        let mut data = self.load()?;
        let before = data.clone();
        let result = change(&mut data);
        if data != before {
            let json = serde_json::to_vec_pretty(&data).expect("index serialises");
            write_atomic(&self.dir, INDEX_FILE, &json).map_err(|source| StoreError::IndexIo {
                path: self.file(),
                source,
            })?;
        }
        Ok(result)
    }

    /// The manifest digest a reference names: its pinned digest if it has one and the image
    /// is known, else its tag.
    pub fn resolve(&self, reference: &Reference) -> Result<Option<Digest>, StoreError> {
        let data = self.load()?;
        if let Some(d) = reference.digest() {
            return Ok(data.images.contains(d).then(|| d.clone()));
        }
        Ok(data.tags.get(&tag_key(reference)).cloned())
    }

    /// Records an image without a tag.
    pub fn add_image(&self, manifest: &Digest) -> Result<(), StoreError> {
        self.update(|d| {
            d.images.insert(manifest.clone());
        })
    }

    /// Points `reference`'s tag at `manifest` and returns the manifest it named before.
    pub fn tag(
        &self,
        reference: &Reference,
        manifest: &Digest,
    ) -> Result<Option<Digest>, StoreError> {
        self.update(|d| {
            d.images.insert(manifest.clone());
            d.tags.insert(tag_key(reference), manifest.clone())
        })
    }

    /// Removes a tag and returns the manifest it named.
    pub fn untag(&self, reference: &Reference) -> Result<Option<Digest>, StoreError> {
        self.update(|d| d.tags.remove(&tag_key(reference)))
    }

    /// Forgets an image and every tag naming it; returns the removed tags.
    pub fn remove_image(&self, manifest: &Digest) -> Result<Vec<String>, StoreError> {
        self.update(|d| {
            let tags = d.tags_of(manifest);
            for t in &tags {
                d.tags.remove(t);
            }
            d.images.remove(manifest);
            tags
        })
    }
}

/// `domain/path:tag`, the key of a tag in the index.
fn tag_key(reference: &Reference) -> String {
    format!(
        "{}:{}",
        reference.repository(),
        reference.tag().unwrap_or(crate::reference::DEFAULT_TAG)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_resolve_untag() {
        let root = tempfile::tempdir().unwrap();
        let index = ImageIndex::new(root.path()).unwrap();
        let a = Digest::of(b"a");
        let b = Digest::of(b"b");
        let busybox = Reference::parse("busybox").unwrap();
        assert_eq!(index.resolve(&busybox).unwrap(), None);
        assert_eq!(index.tag(&busybox, &a).unwrap(), None);
        // The same image under its fully qualified name.
        let full = Reference::parse("docker.io/library/busybox:latest").unwrap();
        assert_eq!(index.resolve(&full).unwrap(), Some(a.clone()));
        assert_eq!(index.tag(&full, &b).unwrap(), Some(a.clone()));
        // a stays as an untagged image.
        let data = index.load().unwrap();
        assert!(data.images.contains(&a) && data.images.contains(&b));
        let pinned = Reference::parse(&format!("busybox@{a}")).unwrap();
        assert_eq!(index.resolve(&pinned).unwrap(), Some(a.clone()));
        assert_eq!(index.untag(&busybox).unwrap(), Some(b.clone()));
        assert_eq!(index.resolve(&busybox).unwrap(), None);
        index.tag(&busybox, &b).unwrap();
        index
            .tag(&Reference::parse("other:1").unwrap(), &b)
            .unwrap();
        let mut removed = index.remove_image(&b).unwrap();
        removed.sort();
        assert_eq!(
            removed,
            vec![
                "docker.io/library/busybox:latest",
                "docker.io/library/other:1"
            ]
        );
        assert!(!index.load().unwrap().images.contains(&b));
    }

    #[test]
    fn concurrent_writers_lose_nothing() {
        let root = tempfile::tempdir().unwrap();
        let index = ImageIndex::new(root.path()).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let index = index.clone();
                std::thread::spawn(move || {
                    for i in 0..10 {
                        let r = Reference::parse(&format!("img{t}:{i}")).unwrap();
                        index
                            .tag(&r, &Digest::of(format!("{t}-{i}").as_bytes()))
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let data = index.load().unwrap();
        assert_eq!(data.tags.len(), 80);
        assert_eq!(data.images.len(), 80);
        // No temp files left beside the index.
        let names: Vec<_> = fs::read_dir(&index.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn corrupt_index_is_reported() {
        let root = tempfile::tempdir().unwrap();
        let index = ImageIndex::new(root.path()).unwrap();
        fs::write(index.file(), b"{not json").unwrap();
        let err = index.load().unwrap_err();
        assert!(matches!(err, StoreError::IndexCorrupt { .. }));
        assert!(err.to_string().contains("index.json"), "{err}");
    }
}
