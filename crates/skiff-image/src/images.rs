//! The image store as the engine uses it: content store, image index and unpacked layers
//! under one state root, plus the built-in images imported on first use.

use std::path::{Path, PathBuf};

use crate::builtin::find_builtin;
use crate::digest::Digest;
use crate::layer::{LayerError, LayerStore};
use crate::manifest::{parse_manifest, ImageInfo, ManifestError, ParsedManifest};
use crate::reference::Reference;
use crate::store::{ContentStore, ImageIndex, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error("{digest} is a multi-platform index, not an image manifest; pick a platform's manifest from it")]
    IsIndex { digest: Digest },
}

#[derive(Clone, Debug)]
pub struct ImageStore {
    root: PathBuf,
    pub content: ContentStore,
    pub index: ImageIndex,
    pub layers: LayerStore,
}

impl ImageStore {
    /// Opens (creating if needed) the store under a state root such as /var/lib/skiff.
    pub fn open(root: &Path) -> Result<ImageStore, ImageError> {
        Ok(ImageStore {
            root: root.to_owned(),
            content: ContentStore::new(root)?,
            index: ImageIndex::new(root)?,
            layers: LayerStore::new(root)?,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The manifest digest a reference names, importing a built-in image (hello-world) the
    /// first time it is asked for.
    pub fn resolve(&self, reference: &Reference) -> Result<Option<Digest>, ImageError> {
        if let Some(d) = self.index.resolve(reference)? {
            if self.content.has(&d) {
                return Ok(Some(d));
            }
        }
        match find_builtin(reference) {
            Some(builtin) => {
                tracing::debug!(image = builtin.name, "importing built-in image");
                Ok(Some(builtin.import(&self.content, &self.index)?))
            }
            None => Ok(None),
        }
    }

    /// Reads and checks an image's manifest and config.
    pub fn image(&self, manifest_digest: &Digest) -> Result<ImageInfo, ImageError> {
        let bytes = self.content.read(manifest_digest)?;
        let manifest = match parse_manifest(&bytes, None)? {
            ParsedManifest::Image(m) => *m,
            ParsedManifest::Index(_) => {
                return Err(ImageError::IsIndex {
                    digest: manifest_digest.clone(),
                })
            }
        };
        let config_digest = Digest::try_from(manifest.config().digest()).map_err(|source| {
            ManifestError::BadDescriptor {
                digest: manifest_digest.clone(),
                field: "config".into(),
                source,
            }
        })?;
        let config = self.content.read(&config_digest)?;
        Ok(ImageInfo::new(manifest_digest.clone(), manifest, &config)?)
    }

    /// Unpacks every layer of the image not unpacked yet (each verified against its diff
    /// id) and returns the diff dirs top layer first, ready for [`crate::overlay::mount`].
    pub fn unpack(&self, image: &ImageInfo) -> Result<Vec<PathBuf>, ImageError> {
        let mut parent: Option<&Digest> = None;
        for ((blob, diff_id), chain_id) in image
            .layer_digests
            .iter()
            .zip(&image.diff_ids)
            .zip(&image.chain_ids)
        {
            if !self.layers.has(chain_id) {
                let file = self.content.open(blob)?;
                self.layers.apply(chain_id, parent, Some(diff_id), file)?;
            }
            parent = Some(chain_id);
        }
        Ok(image
            .chain_ids
            .iter()
            .rev()
            .map(|c| self.layers.diff_dir(c))
            .collect())
    }
}
