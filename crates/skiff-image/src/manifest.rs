//! Manifests and configs: OCI image manifests and Docker v2 schema 2 manifests share one JSON
//! shape and differ in media types, so both parse into `oci_spec`'s types. Identities:
//! - a layer's **blob digest** (in the manifest) is over the compressed blob;
//! - its **diff id** (in the config's `rootfs.diff_ids`) is over the uncompressed tar;
//! - the **chain id** of layers 0..=n names the unpacked stack and keys `layers/`;
//! - the **image id** is the digest of the config blob.

use oci_spec::image::{ImageConfiguration, ImageIndex as OciIndex, ImageManifest};

use crate::digest::{Digest, DigestError};

/// Media types skiff reads and writes.
pub mod media_type {
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
    pub const OCI_LAYER_NONDIST_GZIP: &str =
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
    pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    pub const DOCKER_MANIFEST_LIST: &str =
        "application/vnd.docker.distribution.manifest.list.v2+json";
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    pub const DOCKER_FOREIGN_LAYER_GZIP: &str =
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

    /// Every manifest type, for registry `Accept` headers (a missing one makes registries
    /// convert or refuse; see the research notes).
    pub const ALL_MANIFESTS: [&str; 4] = [
        OCI_MANIFEST,
        OCI_INDEX,
        DOCKER_MANIFEST,
        DOCKER_MANIFEST_LIST,
    ];

    /// Whether a layer media type is one skiff can unpack (compression is detected from the
    /// data itself, so only the family matters).
    pub fn is_layer(media_type: &str) -> bool {
        media_type.starts_with("application/vnd.oci.image.layer.")
            || media_type.starts_with("application/vnd.docker.image.rootfs.")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest {digest} is not valid JSON of a known kind: {source}")]
    BadManifest {
        digest: Digest,
        source: serde_json::Error,
    },
    #[error("manifest {digest} has media type {media_type:?}, which skiff does not support (supported: OCI image manifest/index, Docker v2 schema 2 manifest/list)")]
    UnsupportedManifest { digest: Digest, media_type: String },
    #[error("config {digest} is not a valid image config: {source}")]
    BadConfig {
        digest: Digest,
        source: serde_json::Error,
    },
    #[error("config {digest}: rootfs.diff_ids[{index}] {value:?} is invalid: {source}")]
    BadDiffId {
        digest: Digest,
        index: usize,
        value: String,
        source: DigestError,
    },
    #[error("manifest {digest}: descriptor {field} has an invalid digest: {source}")]
    BadDescriptor {
        digest: Digest,
        field: String,
        source: DigestError,
    },
    #[error("manifest {manifest} lists {layers} layers but its config {config} has {diff_ids} diff_ids: the image is inconsistent")]
    LayerCountMismatch {
        manifest: Digest,
        config: Digest,
        layers: usize,
        diff_ids: usize,
    },
    #[error("layer {index} of manifest {digest} has media type {media_type:?}, which is not a layer type skiff can unpack")]
    UnsupportedLayer {
        digest: Digest,
        index: usize,
        media_type: String,
    },
}

/// What a manifest blob turned out to be.
#[derive(Debug)]
pub enum ParsedManifest {
    Image(Box<ImageManifest>),
    /// A multi-platform index (OCI index or Docker manifest list).
    Index(Box<OciIndex>),
}

/// Parses a manifest blob. `media_type` is the registry's Content-Type if known; otherwise
/// the `mediaType` field, else the shape (`manifests` vs `layers`) decides.
pub fn parse_manifest(
    bytes: &[u8],
    media_type: Option<&str>,
) -> Result<ParsedManifest, ManifestError> {
    let digest = Digest::of(bytes);
    let bad = |source| ManifestError::BadManifest {
        digest: digest.clone(),
        source,
    };
    let probe: serde_json::Value = serde_json::from_slice(bytes).map_err(bad)?;
    let declared = media_type.map(str::to_owned).or_else(|| {
        probe
            .get("mediaType")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    });
    let is_index = match declared.as_deref() {
        Some(media_type::OCI_INDEX | media_type::DOCKER_MANIFEST_LIST) => true,
        Some(media_type::OCI_MANIFEST | media_type::DOCKER_MANIFEST) => false,
        Some(other) if other != "application/json" => {
            return Err(ManifestError::UnsupportedManifest {
                digest,
                media_type: other.to_owned(),
            })
        }
        _ => probe.get("manifests").is_some(),
    };
    if is_index {
        Ok(ParsedManifest::Index(Box::new(
            serde_json::from_value(probe).map_err(bad)?,
        )))
    } else {
        Ok(ParsedManifest::Image(Box::new(
            serde_json::from_value(probe).map_err(bad)?,
        )))
    }
}

/// An image manifest with its config, and the digests derived from them.
#[derive(Debug, Clone)]
pub struct ImageInfo {
    pub manifest_digest: Digest,
    pub manifest: ImageManifest,
    pub config_digest: Digest,
    pub config: ImageConfiguration,
    /// Compressed blob digests, bottom layer first.
    pub layer_digests: Vec<Digest>,
    pub diff_ids: Vec<Digest>,
    pub chain_ids: Vec<Digest>,
}

impl ImageInfo {
    /// Checks a manifest and its config against each other and derives the layer ids.
    pub fn new(
        manifest_digest: Digest,
        manifest: ImageManifest,
        config_bytes: &[u8],
    ) -> Result<ImageInfo, ManifestError> {
        let config_digest = Digest::try_from(manifest.config().digest()).map_err(|source| {
            ManifestError::BadDescriptor {
                digest: manifest_digest.clone(),
                field: "config".into(),
                source,
            }
        })?;
        let config = parse_config(&config_digest, config_bytes)?;
        let diff_ids = diff_ids(&config_digest, &config)?;
        let mut layer_digests = Vec::with_capacity(manifest.layers().len());
        for (i, layer) in manifest.layers().iter().enumerate() {
            let mt = layer.media_type().to_string();
            if !media_type::is_layer(&mt) {
                return Err(ManifestError::UnsupportedLayer {
                    digest: manifest_digest,
                    index: i,
                    media_type: mt,
                });
            }
            layer_digests.push(Digest::try_from(layer.digest()).map_err(|source| {
                ManifestError::BadDescriptor {
                    digest: manifest_digest.clone(),
                    field: format!("layers[{i}]"),
                    source,
                }
            })?);
        }
        if layer_digests.len() != diff_ids.len() {
            return Err(ManifestError::LayerCountMismatch {
                manifest: manifest_digest,
                config: config_digest,
                layers: layer_digests.len(),
                diff_ids: diff_ids.len(),
            });
        }
        let chain_ids = chain_ids(&diff_ids);
        Ok(ImageInfo {
            manifest_digest,
            manifest,
            config_digest,
            config,
            layer_digests,
            diff_ids,
            chain_ids,
        })
    }

    /// The image id Docker shows: the config digest.
    pub fn id(&self) -> &Digest {
        &self.config_digest
    }
}

pub fn parse_config(digest: &Digest, bytes: &[u8]) -> Result<ImageConfiguration, ManifestError> {
    serde_json::from_slice(bytes).map_err(|source| ManifestError::BadConfig {
        digest: digest.clone(),
        source,
    })
}

/// The config's `rootfs.diff_ids`, validated.
pub fn diff_ids(
    config_digest: &Digest,
    config: &ImageConfiguration,
) -> Result<Vec<Digest>, ManifestError> {
    config
        .rootfs()
        .diff_ids()
        .iter()
        .enumerate()
        .map(|(index, value)| {
            value.parse().map_err(|source| ManifestError::BadDiffId {
                digest: config_digest.clone(),
                index,
                value: value.clone(),
                source,
            })
        })
        .collect()
}

/// The image id of a config blob.
pub fn image_id(config_bytes: &[u8]) -> Digest {
    Digest::of(config_bytes)
}

/// ChainID(L0) = DiffID(L0); ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(Ln)).
/// Returns the chain id of every prefix of the stack.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        let next = match out.last() {
            None => diff_id.clone(),
            Some(parent) => chain_step(&parent.to_string(), &diff_id.to_string()),
        };
        out.push(next);
    }
    out
}

fn chain_step(parent: &str, diff_id: &str) -> Digest {
    Digest::of(format!("{parent} {diff_id}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_id_vectors_from_image_spec() {
        // image-spec identity/chainid_test.go uses the placeholder digests "sha256:a", "sha256:b",
        // "sha256:c"; the expected values were computed with coreutils' sha256sum.
        let ab = chain_step("sha256:a", "sha256:b");
        assert_eq!(
            ab.hex(),
            "970a948bffa8de94d6e22d747ba8c95030e6e546909f98f54e99a13005e173a8"
        );
        let abc = chain_step(&ab.to_string(), "sha256:c");
        assert_eq!(
            abc.hex(),
            "dee159b33409cefa3f6eda71539f006014283e9d9130c18a1dea7bd8a33c9b1b"
        );
    }

    #[test]
    fn chain_ids_of_real_digests() {
        assert!(chain_ids(&[]).is_empty());
        let a = Digest::of(b"layer a");
        let b = Digest::of(b"layer b");
        let c = Digest::of(b"layer c");
        let ids = chain_ids(&[a.clone(), b.clone(), c.clone()]);
        assert_eq!(ids[0], a);
        assert_eq!(ids[1], Digest::of(format!("{a} {b}").as_bytes()));
        assert_eq!(ids[2], Digest::of(format!("{} {c}", ids[1]).as_bytes()));
        // The chain depends on order.
        assert_ne!(chain_ids(&[b, a])[1], ids[1]);
    }

    const CONFIG: &str = r#"{"architecture":"amd64","os":"linux","config":{"Cmd":["/hello"]},
        "rootfs":{"type":"layers","diff_ids":["sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]}}"#;

    fn manifest(media_type: &str, config_type: &str, layer_type: &str) -> String {
        let config_digest = Digest::of(CONFIG.as_bytes());
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{media_type}",
            "config":{{"mediaType":"{config_type}","digest":"{config_digest}","size":{}}},
            "layers":[{{"mediaType":"{layer_type}","digest":"{}","size":32}}]}}"#,
            CONFIG.len(),
            Digest::of(b"blob")
        )
    }

    #[test]
    fn oci_and_docker_manifests_parse_alike() {
        for (mt, ct, lt) in [
            (
                media_type::OCI_MANIFEST,
                media_type::OCI_CONFIG,
                media_type::OCI_LAYER_GZIP,
            ),
            (
                media_type::DOCKER_MANIFEST,
                media_type::DOCKER_CONFIG,
                media_type::DOCKER_LAYER_GZIP,
            ),
            (
                media_type::OCI_MANIFEST,
                media_type::OCI_CONFIG,
                media_type::OCI_LAYER_ZSTD,
            ),
        ] {
            let bytes = manifest(mt, ct, lt);
            let ParsedManifest::Image(m) = parse_manifest(bytes.as_bytes(), None).unwrap() else {
                panic!("{mt} parsed as an index");
            };
            let info = ImageInfo::new(Digest::of(bytes.as_bytes()), *m, CONFIG.as_bytes()).unwrap();
            assert_eq!(info.id(), &image_id(CONFIG.as_bytes()));
            assert_eq!(info.layer_digests, vec![Digest::of(b"blob")]);
            assert_eq!(info.diff_ids, vec![Digest::of(b"")]);
            assert_eq!(info.chain_ids, info.diff_ids);
            assert_eq!(
                info.config
                    .config()
                    .as_ref()
                    .unwrap()
                    .cmd()
                    .as_ref()
                    .unwrap(),
                &vec!["/hello".to_string()]
            );
        }
    }

    #[test]
    fn indexes_and_bad_manifests() {
        let list = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{{"mediaType":"{}","digest":"{}","size":1,
            "platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#,
            media_type::DOCKER_MANIFEST_LIST,
            media_type::DOCKER_MANIFEST,
            Digest::of(b"m")
        );
        assert!(matches!(
            parse_manifest(list.as_bytes(), None).unwrap(),
            ParsedManifest::Index(_)
        ));
        let schema1 = br#"{"schemaVersion":1,"mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws"}"#;
        assert!(matches!(
            parse_manifest(schema1, None),
            Err(ManifestError::UnsupportedManifest { .. })
        ));
        assert!(matches!(
            parse_manifest(b"nope", None),
            Err(ManifestError::BadManifest { .. })
        ));
        let bytes = manifest(
            media_type::OCI_MANIFEST,
            media_type::OCI_CONFIG,
            "application/vnd.example.thing",
        );
        let ParsedManifest::Image(m) = parse_manifest(bytes.as_bytes(), None).unwrap() else {
            panic!()
        };
        let err = ImageInfo::new(Digest::of(bytes.as_bytes()), *m, CONFIG.as_bytes()).unwrap_err();
        assert!(
            matches!(err, ManifestError::UnsupportedLayer { .. }),
            "{err}"
        );
        let bad_config = CONFIG.replace("sha256:e3b0", "sha256:zzzz");
        let err = diff_ids(
            &Digest::of(b"c"),
            &parse_config(&Digest::of(b"c"), bad_config.as_bytes()).unwrap(),
        )
        .unwrap_err();
        assert!(
            matches!(err, ManifestError::BadDiffId { index: 0, .. }),
            "{err}"
        );
    }
}
