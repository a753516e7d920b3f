//! Unpacking layer blobs into `layers/<chain-id>/diff`: compression detection, diff id
//! verification, and failures leaving nothing behind.

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;

use common::*;
use skiff_image::digest::Digest;
use skiff_image::layer::{LayerError, LayerStore};

fn sample_tar() -> Vec<u8> {
    let big: &'static [u8] = Box::leak(vec![42u8; 3 << 20].into_boxed_slice());
    tar_of(&[
        dir("bin/"),
        file("bin/tool", b"#!/bin/sh\necho hi\n"),
        file("data/big", big),
        symlink("link", "bin/tool"),
    ])
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Everything in layers/ (the store must hold only complete layers).
fn layer_dir_entries(root: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(root.join("layers"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn unpacks_gzip_zstd_and_plain_with_verified_diff_ids() {
    require_root!();
    let root = tempfile::tempdir().unwrap();
    let mut store = LayerStore::new(root.path()).unwrap();
    store.durable = false;
    let tar = sample_tar();
    let diff_id = Digest::of(&tar);
    for (name, blob) in [
        ("plain", tar.clone()),
        ("gzip", gzip(&tar)),
        ("zstd", zstd::encode_all(&tar[..], 3).unwrap()),
    ] {
        // A distinct chain id per variant, as if they were different images.
        let chain = Digest::of(name.as_bytes());
        let info = store
            .apply(&chain, None, Some(&diff_id), &blob[..])
            .unwrap();
        assert_eq!(info.diff_id, diff_id, "{name}");
        assert_eq!(info.tar_size, tar.len() as u64);
        assert_eq!(info.entries, 4);
        assert!(store.has(&chain));
        let diff = store.diff_dir(&chain);
        assert_eq!(
            fs::read(diff.join("bin/tool")).unwrap(),
            b"#!/bin/sh\necho hi\n"
        );
        assert_eq!(fs::metadata(diff.join("data/big")).unwrap().len(), 3 << 20);
        assert_eq!(store.info(&chain).unwrap(), info);
        // Applying again is a no-op returning the stored info.
        assert_eq!(
            store
                .apply(&chain, None, Some(&diff_id), &b"ignored"[..])
                .unwrap(),
            info
        );
    }
    assert_eq!(store.list().unwrap().len(), 3);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &fs::metadata(root.path().join("layers"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(
        mode & 0o777,
        0o700,
        "host users must not reach layer content"
    );
    let chain = Digest::of(b"gzip");
    assert!(store.remove(&chain).unwrap());
    assert!(!store.has(&chain));
    assert!(!store.remove(&chain).unwrap());
    assert_eq!(layer_dir_entries(root.path()).len(), 2);
}

#[test]
fn durable_unpack_works() {
    require_root!();
    let root = tempfile::tempdir().unwrap();
    let store = LayerStore::new(root.path()).unwrap();
    assert!(store.durable);
    let tar = sample_tar();
    store
        .apply(&Digest::of(b"c"), None, None, &gzip(&tar)[..])
        .unwrap();
}

#[test]
fn truncated_gzip_leaves_nothing() {
    require_root!();
    let root = tempfile::tempdir().unwrap();
    let store = LayerStore::new(root.path()).unwrap();
    let blob = gzip(&sample_tar());
    let chain = Digest::of(b"truncated");
    let err = store
        .apply(&chain, None, None, &blob[..blob.len() * 2 / 3])
        .unwrap_err();
    assert!(matches!(err, LayerError::Decompress { .. }), "{err}");
    assert!(err.to_string().contains(&chain.to_string()), "{err}");
    assert!(!store.has(&chain));
    assert!(
        layer_dir_entries(root.path()).is_empty(),
        "left behind: {:?}",
        layer_dir_entries(root.path())
    );
}

#[test]
fn truncated_plain_tar_leaves_nothing() {
    require_root!();
    let root = tempfile::tempdir().unwrap();
    let store = LayerStore::new(root.path()).unwrap();
    let tar = sample_tar();
    let err = store
        .apply(&Digest::of(b"t"), None, None, &tar[..tar.len() / 2])
        .unwrap_err();
    assert!(matches!(err, LayerError::Unpack { .. }), "{err}");
    assert!(err.to_string().contains("truncated"), "{err}");
    assert!(layer_dir_entries(root.path()).is_empty());
}

#[test]
fn diff_id_mismatch_leaves_nothing() {
    require_root!();
    let root = tempfile::tempdir().unwrap();
    let store = LayerStore::new(root.path()).unwrap();
    let wrong = Digest::of(b"not this layer");
    let err = store
        .apply(
            &Digest::of(b"m"),
            None,
            Some(&wrong),
            &gzip(&sample_tar())[..],
        )
        .unwrap_err();
    assert!(matches!(err, LayerError::DiffIdMismatch { .. }), "{err}");
    assert!(layer_dir_entries(root.path()).is_empty());
}

#[test]
fn unsafe_layer_fails_cleanly() {
    require_root!();
    let root = tempfile::tempdir().unwrap();
    let store = LayerStore::new(root.path()).unwrap();
    // Data after the failing entry: the decompressing thread must be stopped, not left
    // blocked on a full channel.
    let after: &'static [u8] = Box::leak(vec![1u8; 20 << 20].into_boxed_slice());
    let tar = tar_of(&[
        file("ok", b"1"),
        hardlink("h", "../../../etc/passwd"),
        file("after", after),
    ]);
    let err = store
        .apply(&Digest::of(b"u"), None, None, &tar[..])
        .unwrap_err();
    assert!(err.to_string().contains("hard link target"), "{err}");
    assert!(layer_dir_entries(root.path()).is_empty());
}

#[test]
fn concurrent_unpacks_of_one_layer_agree() {
    require_root!();
    let root = tempfile::tempdir().unwrap();
    let store = LayerStore::new(root.path()).unwrap();
    let blob = gzip(&sample_tar());
    let chain = Digest::of(b"same");
    let infos: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| store.apply(&chain, None, None, &blob[..]).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(infos.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(layer_dir_entries(root.path()), vec![chain.hex().to_owned()]);
}
