//! Real overlay mounts (root only): lower layers from the applier, whiteouts from lower
//! layers hiding files, writes going only to the container's upper dir, long layer stacks.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use skiff_image::layer::diff::{write_layer, DiffOptions};
use skiff_image::overlay::{self, is_mount_point, MountApi};

/// Unmounts on drop, so a failing test leaves no mount behind.
struct MountGuard(PathBuf);

impl Drop for MountGuard {
    fn drop(&mut self) {
        if is_mount_point(&self.0) {
            let _ = overlay::unmount_overlay(&self.0, true);
        }
    }
}

fn layer(base: &Path, name: &str, tar: &[u8]) -> PathBuf {
    let dir = base.join(name);
    fs::create_dir_all(&dir).unwrap();
    apply(&dir, tar).unwrap();
    dir
}

#[test]
fn whiteouts_hide_and_only_upper_is_written() {
    require_root!();
    let base = tempfile::tempdir().unwrap();
    let bottom = layer(
        base.path(),
        "l1",
        &tar_of(&[
            file("a", b"a1"),
            file("b", b"b1"),
            dir("d/"),
            file("d/old", b"o"),
            dir("keep/"),
            file("keep/x", b"x1"),
        ]),
    );
    let top = layer(
        base.path(),
        "l2",
        &tar_of(&[
            file(".wh.b", b""),
            file("d/new", b"n"),
            file("d/.wh..wh..opq", b""),
            file("a", b"a2"),
        ]),
    );
    let lowers_before = (snapshot(&bottom), snapshot(&top));
    let container = base.path().join("c1");
    let dirs = overlay::mount(&container, &[top.clone(), bottom.clone()], MountApi::Auto).unwrap();
    let _guard = MountGuard(dirs.merged.clone());
    assert!(is_mount_point(&dirs.merged));
    let m = &dirs.merged;
    assert_eq!(fs::read(m.join("a")).unwrap(), b"a2", "the top layer wins");
    assert!(!m.join("b").exists(), "whiteout in the top layer hides b");
    let mut d: Vec<_> = fs::read_dir(m.join("d"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    d.sort();
    assert_eq!(d, vec!["new"], "opaque d hides the lower d/old");
    assert_eq!(fs::read(m.join("keep/x")).unwrap(), b"x1");

    // redirect_dir is off: renaming a lower directory is refused (mv falls back to a
    // copy), so an upper dir always holds real content a layer can be made of.
    let rename = fs::rename(m.join("keep"), m.join("kept"));
    assert_eq!(
        rename.unwrap_err().raw_os_error(),
        Some(18),
        "rename of a lower dir must give EXDEV"
    );

    // The container writes, modifies and deletes.
    fs::write(m.join("c"), b"created").unwrap();
    fs::write(m.join("keep/x"), b"x2").unwrap();
    fs::remove_file(m.join("a")).unwrap();
    assert_eq!(
        (snapshot(&bottom), snapshot(&top)),
        lowers_before,
        "lower layers must never change"
    );
    let upper = snapshot(&dirs.upper);
    assert_eq!(fs::read(dirs.upper.join("c")).unwrap(), b"created");
    assert_eq!(fs::read(dirs.upper.join("keep/x")).unwrap(), b"x2");
    assert_eq!(
        (upper["a"].kind, upper["a"].rdev),
        ('c', 0),
        "deleting a lower file leaves a whiteout in upper"
    );

    // Commit the upper dir as a layer, apply it, and stack it: the deletion carries over.
    let (tar, _) = write_layer(
        &dirs.upper,
        Vec::new(),
        &DiffOptions {
            overlay_whiteouts: true,
            fixed_mtime: Some(0),
        },
    )
    .unwrap();
    let third = layer(base.path(), "l3", &tar);
    overlay::unmount_overlay(&dirs.merged, false).unwrap();
    assert!(!is_mount_point(&dirs.merged));

    let container2 = base.path().join("c2");
    let dirs2 = overlay::mount(&container2, &[third, top, bottom], MountApi::Legacy).unwrap();
    let _guard2 = MountGuard(dirs2.merged.clone());
    assert!(!dirs2.merged.join("a").exists());
    assert!(!dirs2.merged.join("b").exists());
    assert_eq!(fs::read(dirs2.merged.join("c")).unwrap(), b"created");
    assert_eq!(fs::read(dirs2.merged.join("keep/x")).unwrap(), b"x2");
    overlay::unmount_overlay(&dirs2.merged, false).unwrap();
}

#[test]
fn long_layer_stacks_mount_with_both_apis() {
    require_root!();
    let base = tempfile::tempdir().unwrap();
    // 100 layers with ~190-byte paths: about 19 KB of lowerdir, far over one page.
    let mut lowers = Vec::new();
    for i in 0..100 {
        let name = format!("{i:03}-{}", "x".repeat(120));
        let data: &'static [u8] = Box::leak(format!("layer {i}").into_bytes().into_boxed_slice());
        let path: &'static str = Box::leak(format!("f{i:03}").into_boxed_str());
        let dir = layer(
            base.path(),
            &name,
            &tar_of(&[file(path, data), file("shared", data)]),
        );
        lowers.push(dir);
    }
    let total: usize = lowers.iter().map(|l| l.as_os_str().len() + 1).sum();
    assert!(
        total > 4096,
        "the stack must overflow one page ({total} bytes)"
    );
    lowers.reverse(); // top first
    for (i, api) in [MountApi::Auto, MountApi::Legacy].into_iter().enumerate() {
        let dirs = overlay::mount(&base.path().join(format!("c{i}")), &lowers, api).unwrap();
        let _guard = MountGuard(dirs.merged.clone());
        assert_eq!(
            fs::read(dirs.merged.join("f000")).unwrap(),
            b"layer 0",
            "{api:?}"
        );
        assert_eq!(
            fs::read(dirs.merged.join("f099")).unwrap(),
            b"layer 99",
            "{api:?}"
        );
        assert_eq!(
            fs::read(dirs.merged.join("shared")).unwrap(),
            b"layer 99",
            "{api:?}: top layer first"
        );
        overlay::unmount_overlay(&dirs.merged, false).unwrap();
    }
}

#[test]
fn no_layers_and_missing_layers() {
    require_root!();
    let base = tempfile::tempdir().unwrap();
    let dirs = overlay::mount(&base.path().join("empty"), &[], MountApi::Auto).unwrap();
    let _guard = MountGuard(dirs.merged.clone());
    fs::write(dirs.merged.join("x"), b"1").unwrap();
    assert!(dirs.upper.join("x").exists());
    overlay::unmount_overlay(&dirs.merged, false).unwrap();
    let err = overlay::mount(
        &base.path().join("bad"),
        &[base.path().join("nope")],
        MountApi::Auto,
    )
    .unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}
