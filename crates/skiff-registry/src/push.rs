//! `skiff push`: upload an image's blobs and manifest to a registry.
//!
//! - A blob the repository has already (`HEAD`) is skipped.
//! - A blob that came from another repository of the same registry is mounted from there
//!   (`POST …/uploads/?mount=&from=`) instead of uploaded.
//! - Blobs up to [`PushOptions::chunk_size`] go up in one `PUT`; bigger ones in `PATCH`
//!   chunks of that size, then a closing `PUT`.
//! - The manifest is sent as the bytes stored, under its own media type, so an image pulled
//!   from elsewhere keeps its digest.

use std::fs::File;

use skiff_image::digest::Digest;
use skiff_image::manifest::{media_type, parse_manifest, ParsedManifest};
use skiff_image::{ImageStore, Reference};

use crate::client::{push_scope, Body, Client, Mount};
use crate::progress::{Event, Progress, Status};
use crate::{credentials, sources, RegistryConfig, RegistryError};

#[derive(Clone, Debug)]
pub struct PushOptions {
    /// Blobs bigger than this are uploaded in chunks of this size.
    pub chunk_size: u64,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            chunk_size: 32 << 20,
        }
    }
}

#[derive(Clone, Debug)]
pub struct PushOutcome {
    /// The manifest digest (the same as in the local store).
    pub digest: Digest,
    pub size: u64,
    /// The tag pushed (or the digest, for a digest reference).
    pub tag: String,
}

pub fn push(
    store: &ImageStore,
    config: &RegistryConfig,
    reference: &Reference,
    options: &PushOptions,
    progress: &dyn Progress,
) -> Result<PushOutcome, RegistryError> {
    let display = reference.familiar();
    let local = |source| RegistryError::LocalImage {
        reference: display.clone(),
        source,
    };
    let manifest_digest =
        store
            .resolve(reference)
            .map_err(local)?
            .ok_or_else(|| RegistryError::NotLocal {
                reference: display.clone(),
            })?;
    let bytes = store
        .content
        .read(&manifest_digest)
        .map_err(|source| RegistryError::Store {
            reference: display.clone(),
            source,
        })?;
    let manifest = match parse_manifest(&bytes, None).map_err(|source| RegistryError::Manifest {
        reference: display.clone(),
        source,
    })? {
        ParsedManifest::Image(m) => m,
        ParsedManifest::Index(_) => return Err(RegistryError::PushIndex { reference: display }),
    };
    let content_type = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| {
            v.get("mediaType")
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| media_type::OCI_MANIFEST.to_owned());

    let registry = reference.domain();
    let repository = reference.path();
    let client = Client::new(
        config.endpoint(registry),
        credentials::lookup(config, registry)?,
    );
    progress.event(Event::PushStart {
        repository: &reference.familiar_repository(),
    });

    let bad_digest = |e: skiff_image::digest::DigestError| RegistryError::Manifest {
        reference: display.clone(),
        source: skiff_image::manifest::ManifestError::BadDescriptor {
            digest: manifest_digest.clone(),
            field: "layers".into(),
            source: e,
        },
    };
    let mut blobs = Vec::new();
    for layer in manifest.layers() {
        blobs.push((
            Digest::try_from(layer.digest()).map_err(bad_digest)?,
            layer.size(),
            true,
        ));
    }
    blobs.push((
        Digest::try_from(manifest.config().digest()).map_err(bad_digest)?,
        manifest.config().size(),
        false,
    ));
    for (digest, _, is_layer) in &blobs {
        if *is_layer {
            progress.event(Event::Layer {
                digest,
                status: Status::Preparing,
            });
        }
    }
    for (digest, size, is_layer) in &blobs {
        let status = push_blob(
            store, &client, registry, repository, digest, *size, options, progress, *is_layer,
        )?;
        if *is_layer {
            progress.event(Event::Layer { digest, status });
        }
    }

    let tag = match (reference.tag(), reference.digest()) {
        (Some(t), _) => t.to_owned(),
        (None, Some(d)) => d.to_string(),
        (None, None) => skiff_image::reference::DEFAULT_TAG.to_owned(),
    };
    let answered = client.put_manifest(repository, &tag, &content_type, &bytes)?;
    if let Some(actual) = answered.and_then(|d| d.parse::<Digest>().ok()) {
        if actual != manifest_digest {
            return Err(RegistryError::DigestMismatch {
                reference: display,
                what: "pushed manifest".into(),
                expected: manifest_digest,
                actual,
            });
        }
    }
    for (digest, _, _) in &blobs {
        sources::record(store.root(), digest, registry, repository);
    }
    Ok(PushOutcome {
        digest: manifest_digest,
        size: bytes.len() as u64,
        tag,
    })
}

/// Makes sure the repository has one blob; returns the layer's final status.
#[allow(clippy::too_many_arguments)]
fn push_blob(
    store: &ImageStore,
    client: &Client,
    registry: &str,
    repository: &str,
    digest: &Digest,
    size: u64,
    options: &PushOptions,
    progress: &dyn Progress,
    is_layer: bool,
) -> Result<Status, RegistryError> {
    if client.blob_exists(repository, digest, &push_scope(repository))? {
        return Ok(Status::LayerAlreadyExists);
    }
    let mut location = None;
    let from = sources::lookup(store.root(), digest)
        .into_iter()
        .find(|(r, p)| r == registry && p != repository);
    if let Some((_, from)) = from {
        match client.mount_blob(repository, digest, &from)? {
            Mount::Mounted => return Ok(Status::MountedFrom(from)),
            Mount::Upload(l) => location = Some(l),
        }
    }
    let mut location = match location {
        Some(l) => l,
        None => client.start_upload(repository)?,
    };
    let file: File = store
        .content
        .open(digest)
        .map_err(|source| RegistryError::Store {
            reference: digest.to_string(),
            source,
        })?;
    let chunk = options.chunk_size.max(1);
    if size <= chunk {
        client.finish_upload(
            repository,
            &location,
            digest,
            Body::File {
                file: &file,
                offset: 0,
                len: size,
            },
        )?;
    } else {
        let mut offset = 0;
        while offset < size {
            let len = chunk.min(size - offset);
            location = client.upload_chunk(repository, &location, &file, offset, len)?;
            offset += len;
            if is_layer {
                progress.event(Event::Layer {
                    digest,
                    status: Status::Pushing {
                        done: offset,
                        total: size,
                    },
                });
            }
        }
        client.finish_upload(repository, &location, digest, Body::Empty)?;
    }
    Ok(Status::Pushed)
}
