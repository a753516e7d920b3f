//! Packs the hello-world program into an OCI image, byte for byte the same on every build:
//! fixed mtimes, numeric root owners, a fixed creation date, sorted JSON keys.
//!
//! Shared by the build script (which embeds the result) and the library's tests (which
//! re-pack the embedded program and compare); it uses only `std`, `flate2`, `sha2`, `hex`
//! and `serde_json`, and the tar writer, reached as `crate::tar_write` from both.

use std::io::Write;

use crate::tar_write::{Header, TarBuilder};

/// 2026-01-01T00:00:00Z: the date written as the image's creation time and file mtimes.
pub const EPOCH: i64 = 1_767_225_600;
pub const CREATED: &str = "2026-01-01T00:00:00Z";

pub struct PackedImage {
    pub layer: Vec<u8>,
    pub config: Vec<u8>,
    pub manifest: Vec<u8>,
}

fn sha256(data: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

pub fn pack_hello(program: &[u8]) -> PackedImage {
    let mut tar = TarBuilder::new(Vec::new());
    let mut header = Header::file("hello", program.len() as u64);
    header.mode = 0o755;
    header.mtime = EPOCH;
    tar.append(&header, &mut &program[..])
        .expect("writing to memory");
    let tar = tar.finish().expect("writing to memory");
    let diff_id = sha256(&tar);

    // Level 9 and no file name or mtime in the gzip header: reproducible.
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    gz.write_all(&tar).expect("writing to memory");
    let layer = gz.finish().expect("writing to memory");

    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "created": CREATED,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/hello"],
        },
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
        "history": [{ "created": CREATED, "created_by": "COPY hello / # skiff built-in image" }],
    });
    let config = serde_json::to_vec(&config).expect("json");
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": sha256(&config),
            "size": config.len(),
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": sha256(&layer),
            "size": layer.len(),
        }],
    });
    let manifest = serde_json::to_vec(&manifest).expect("json");
    PackedImage {
        layer,
        config,
        manifest,
    }
}
