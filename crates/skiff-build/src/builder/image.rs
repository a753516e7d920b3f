//! The image being built, step by step: Docker's image config (kept as JSON so that the
//! Docker-only fields — Healthcheck, OnBuild, Shell … — survive) and its layers. Each step
//! turns one state into the next; only the final state is stored as an image.

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use skiff_image::layer::diff::{write_layer, DiffOptions};
use skiff_image::manifest::{chain_ids, media_type, ImageInfo};
use skiff_image::{Digest, ImageStore, Reference};

use super::error::BuildError;

/// The PATH Docker gives images built `FROM scratch`.
pub const SCRATCH_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One layer of the image: its compressed blob in the content store and its diff id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRef {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    pub diff_id: Digest,
}

/// An image as a build step sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageState {
    /// The whole image config (`architecture`, `os`, `config`, `rootfs`, `history` …).
    pub config: Value,
    pub layers: Vec<LayerRef>,
}

impl ImageState {
    /// `FROM scratch`: no layers, only Docker's default PATH.
    pub fn scratch() -> ImageState {
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        ImageState {
            config: json!({
                "architecture": arch,
                "os": "linux",
                "config": { "Env": [SCRATCH_PATH] },
                "rootfs": { "type": "layers", "diff_ids": [] },
                "history": [],
            }),
            layers: Vec::new(),
        }
    }

    /// An image of the store, by its manifest.
    pub fn from_store(store: &ImageStore, info: &ImageInfo) -> Result<ImageState, BuildError> {
        let bytes = store.content.read(&info.config_digest)?;
        let config: Value = serde_json::from_slice(&bytes).map_err(|e| BuildError::BadConfig {
            what: info.config_digest.to_string(),
            message: e.to_string(),
        })?;
        let layers = info
            .manifest
            .layers()
            .iter()
            .zip(&info.layer_digests)
            .zip(&info.diff_ids)
            .map(|((descriptor, digest), diff_id)| LayerRef {
                digest: digest.clone(),
                media_type: descriptor.media_type().to_string(),
                size: descriptor.size(),
                diff_id: diff_id.clone(),
            })
            .collect();
        Ok(ImageState { config, layers })
    }

    /// The image id: the digest of the config as it would be stored.
    pub fn id(&self) -> Digest {
        Digest::of(&self.config_bytes())
    }

    fn config_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.config).expect("a JSON value serialises")
    }

    /// The container config part (`config` in the image config), created if absent.
    pub fn run_config(&mut self) -> &mut Map<String, Value> {
        let root = self
            .config
            .as_object_mut()
            .expect("image config is an object");
        let entry = root
            .entry("config")
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        entry.as_object_mut().expect("checked")
    }

    /// A field of the container config, `None` when absent or null.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.config
            .get("config")
            .and_then(|c| c.get(key))
            .filter(|v| !v.is_null())
    }

    pub fn set(&mut self, key: &str, value: Value) {
        self.run_config().insert(key.to_string(), value);
    }

    /// A string list field (`Env`, `Cmd`, `Shell` …).
    pub fn strings(&self, key: &str) -> Option<Vec<String>> {
        self.get(key).and_then(Value::as_array).map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect()
        })
    }

    /// `Env` as (name, value) pairs.
    pub fn env(&self) -> Vec<(String, String)> {
        self.strings("Env")
            .unwrap_or_default()
            .into_iter()
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (kv, String::new()),
            })
            .collect()
    }

    /// Sets one environment variable, replacing an earlier value in place as Docker does.
    pub fn set_env(&mut self, name: &str, value: &str) {
        let mut env = self.strings("Env").unwrap_or_default();
        let entry = format!("{name}={value}");
        match env
            .iter_mut()
            .find(|kv| kv.split_once('=').map_or(kv.as_str(), |(k, _)| k) == name)
        {
            Some(existing) => *existing = entry,
            None => env.push(entry),
        }
        self.set("Env", json!(env));
    }

    /// The container config as oci-spec reads it (for the RUN container's spec).
    pub fn oci_config(&self) -> oci_spec::image::Config {
        self.config
            .get("config")
            .and_then(|c| serde_json::from_value(c.clone()).ok())
            .unwrap_or_default()
    }

    /// Records a step in the history (and the commit time in `created`).
    pub fn add_history(&mut self, created: &str, created_by: &str, empty_layer: bool) {
        let root = self
            .config
            .as_object_mut()
            .expect("image config is an object");
        root.insert("created".into(), json!(created));
        let mut entry = json!({ "created": created, "created_by": created_by });
        if empty_layer {
            entry["empty_layer"] = json!(true);
        }
        match root.get_mut("history").and_then(Value::as_array_mut) {
            Some(history) => history.push(entry),
            None => {
                root.insert("history".into(), json!([entry]));
            }
        }
    }

    /// Adds a layer on top.
    pub fn push_layer(&mut self, layer: LayerRef) {
        let root = self
            .config
            .as_object_mut()
            .expect("image config is an object");
        let rootfs = root
            .entry("rootfs")
            .or_insert_with(|| json!({"type": "layers", "diff_ids": []}));
        if rootfs.get("diff_ids").and_then(Value::as_array).is_none() {
            rootfs["diff_ids"] = json!([]);
        }
        rootfs["diff_ids"]
            .as_array_mut()
            .expect("checked")
            .push(json!(layer.diff_id.to_string()));
        self.layers.push(layer);
    }

    /// Whether every blob this state names is still in the store (a cached state is only
    /// usable then).
    pub fn blobs_present(&self, store: &ImageStore) -> bool {
        self.layers.iter().all(|l| store.content.has(&l.digest))
    }

    /// Unpacks the layers not unpacked yet; returns the diff dirs top layer first (the
    /// overlay lower order).
    pub fn lowers(&self, store: &ImageStore) -> Result<Vec<PathBuf>, BuildError> {
        let diff_ids: Vec<Digest> = self.layers.iter().map(|l| l.diff_id.clone()).collect();
        let chains = chain_ids(&diff_ids);
        let mut parent: Option<&Digest> = None;
        for (layer, chain) in self.layers.iter().zip(&chains) {
            if !store.layers.has(chain) {
                let file = store.content.open(&layer.digest)?;
                store
                    .layers
                    .apply(chain, parent, Some(&layer.diff_id), BufReader::new(file))?;
            }
            parent = Some(chain);
        }
        Ok(chains
            .iter()
            .rev()
            .map(|c| store.layers.diff_dir(c))
            .collect())
    }

    /// Stores the config and an OCI manifest, records the image and points `tags` at it.
    /// Returns the image id (config digest).
    pub fn save(&self, store: &ImageStore, tags: &[Reference]) -> Result<Digest, BuildError> {
        let config = self.config_bytes();
        let config_digest = store.content.put(&config)?;
        let layers: Vec<Value> = self
            .layers
            .iter()
            .map(|l| json!({ "mediaType": l.media_type, "digest": l.digest.to_string(), "size": l.size }))
            .collect();
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": media_type::OCI_MANIFEST,
            "config": {
                "mediaType": media_type::OCI_CONFIG,
                "digest": config_digest.to_string(),
                "size": config.len(),
            },
            "layers": layers,
        });
        let manifest = serde_json::to_vec(&manifest).expect("a JSON value serialises");
        let manifest_digest = store.content.put(&manifest)?;
        store.index.add_image(&manifest_digest)?;
        for tag in tags {
            store.index.tag(tag, &manifest_digest)?;
        }
        Ok(config_digest)
    }
}

/// Writes `dir` (an overlay upper dir or a fresh layer dir) as a gzip layer blob into the
/// content store: entries sorted, every mtime `epoch`, overlay whiteouts converted.
pub fn commit_dir(store: &ImageStore, dir: &Path, epoch: i64) -> Result<LayerRef, BuildError> {
    let writer = store.content.writer()?;
    // Level 1: layers are written on the hot path of every RUN; gzip's header has no name
    // and a zero mtime, so the bytes depend on the content only.
    let gz = GzEncoder::new(writer, flate2::Compression::fast());
    let options = DiffOptions {
        overlay_whiteouts: true,
        fixed_mtime: Some(epoch),
    };
    let (gz, summary) = write_layer(dir, gz, &options).map_err(|source| BuildError::Diff {
        path: dir.to_owned(),
        source,
    })?;
    let mut writer = gz
        .finish()
        .map_err(BuildError::io("compress the layer of", dir))?;
    writer
        .flush()
        .map_err(BuildError::io("write the layer of", dir))?;
    let (digest, size) = writer.commit(None, None)?;
    Ok(LayerRef {
        digest,
        media_type: media_type::OCI_LAYER_GZIP.to_string(),
        size,
        diff_id: summary.diff_id,
    })
}

/// `epoch` as Docker writes times in image configs.
pub fn rfc3339(epoch: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_secs(epoch.max(0) as u64);
    let text = skiff_engine::timefmt::rfc3339_nano(t);
    text.replace(".000000000Z", "Z")
}
