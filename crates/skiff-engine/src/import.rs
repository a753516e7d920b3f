//! `skiff import`: a root filesystem tar becomes a one-layer image, as `docker import` does.
//! The tar goes into the content store as it is (the layer applier reads plain, gzip and
//! zstd tars alike); its digest is then also its diff id when it is uncompressed.

use std::io::Read;

use skiff_image::layer::compress;
use skiff_image::{Digest, Reference};

use crate::{timefmt, Engine, EngineError};

impl Engine {
    /// Imports the tar read from `input` and tags it `reference` when given. Returns the new
    /// image's id (its config digest).
    pub fn import(
        &self,
        input: &mut dyn Read,
        reference: Option<&str>,
    ) -> Result<Digest, EngineError> {
        let reference = reference
            .map(|r| {
                Reference::parse(r).map_err(|e| EngineError::BadReference {
                    reference: r.to_string(),
                    reason: e.to_string(),
                })
            })
            .transpose()?;
        let content = &self.images().content;
        let (blob, size) = content
            .write(input, None, None)
            .map_err(skiff_image::ImageError::from)?;
        // The diff id is the digest of the uncompressed tar: hash it through the decompressor
        // (for a plain tar that is the blob itself).
        let file = content.open(&blob).map_err(skiff_image::ImageError::from)?;
        let (compression, mut reader) = compress::decompressor(std::io::BufReader::new(file))
            .map_err(|e| EngineError::Io {
                action: "read the imported tar",
                path: content.path(&blob),
                source: std::io::Error::other(e),
            })?;
        let mut hasher = skiff_image::digest::Hasher::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = reader.read(&mut buf).map_err(|source| EngineError::Io {
                action: "read the imported tar",
                path: content.path(&blob),
                source,
            })?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let diff_id = hasher.finish();
        let media_type = match compression.name() {
            "gzip" => "application/vnd.oci.image.layer.v1.tar+gzip",
            "zstd" => "application/vnd.oci.image.layer.v1.tar+zstd",
            _ => "application/vnd.oci.image.layer.v1.tar",
        };
        let created = timefmt::now();
        let config = serde_json::json!({
            "architecture": std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64"),
            "os": "linux",
            "created": created,
            "config": {
                "Env": [format!("PATH={}", crate::spec::DEFAULT_PATH)],
            },
            "rootfs": { "type": "layers", "diff_ids": [diff_id.to_string()] },
            "history": [{ "created": created, "created_by": "skiff import", "comment": "Imported from tarball" }],
        });
        let config = serde_json::to_vec(&config).expect("json");
        let config_digest = content
            .put(&config)
            .map_err(skiff_image::ImageError::from)?;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest.to_string(),
                "size": config.len(),
            },
            "layers": [{ "mediaType": media_type, "digest": blob.to_string(), "size": size }],
        });
        let manifest = serde_json::to_vec(&manifest).expect("json");
        let manifest_digest = content
            .put(&manifest)
            .map_err(skiff_image::ImageError::from)?;
        let index = &self.images().index;
        index
            .add_image(&manifest_digest)
            .map_err(skiff_image::ImageError::from)?;
        if let Some(reference) = reference {
            index
                .tag(&reference, &manifest_digest)
                .map_err(skiff_image::ImageError::from)?;
        }
        Ok(config_digest)
    }
}
