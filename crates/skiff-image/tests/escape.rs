//! Crafted layers that try to write outside the layer root. Each must either stay confined
//! inside the root or fail with a clear error, and nothing outside may change: a sentinel
//! directory beside the root is snapshotted before and compared after.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use skiff_image::layer::tar_write::Header;

struct Arena {
    _base: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

impl Arena {
    fn new() -> Arena {
        let base = tempfile::tempdir().unwrap();
        let root = base.path().join("root");
        let outside = base.path().join("outside");
        fs::create_dir(&root).unwrap();
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("passwd"), b"original").unwrap();
        fs::create_dir(outside.join("etc")).unwrap();
        Arena {
            root,
            outside,
            _base: base,
        }
    }

    /// Applies the tar and checks the sentinel (and the parent of the root) did not change.
    fn attack(&self, tar: &[u8]) -> Result<(), String> {
        let before = snapshot(&self.outside);
        let siblings_before = names(self.root.parent().unwrap());
        let result = apply(&self.root, tar)
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert_eq!(
            snapshot(&self.outside),
            before,
            "the sentinel outside the root changed"
        );
        assert_eq!(
            names(self.root.parent().unwrap()),
            siblings_before,
            "something was created beside the root"
        );
        for host_path in ["/etc/skiff-escape", "/skiff-escape"] {
            if Path::new(host_path).exists() {
                // Clean up the host before failing, so one broken run does not leave junk.
                let _ = fs::remove_file(host_path);
                panic!("the layer wrote {host_path} on the host");
            }
        }
        result
    }

    fn outside_abs(&self) -> String {
        self.outside.to_str().unwrap().to_owned()
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn dot_dot_names_stay_inside() {
    require_root!();
    let a = Arena::new();
    a.attack(&tar_of(&[
        file("../../etc/skiff-escape", b"x"),
        file("../outside/passwd", b"pwned"),
    ]))
    .unwrap();
    assert_eq!(fs::read(a.root.join("etc/skiff-escape")).unwrap(), b"x");
    assert_eq!(fs::read(a.root.join("outside/passwd")).unwrap(), b"pwned");
    // `..` as a directory entry, and a name that climbs after descending.
    let a = Arena::new();
    a.attack(&tar_of(&[
        dir("../"),
        file("a/../../../skiff-escape", b"y"),
    ]))
    .unwrap();
    assert_eq!(fs::read(a.root.join("skiff-escape")).unwrap(), b"y");
}

#[test]
fn absolute_names_stay_inside() {
    require_root!();
    let a = Arena::new();
    let abs = format!("{}/passwd", a.outside_abs());
    a.attack(&tar_of(&[
        file("/etc/skiff-escape", b"x"),
        (Header::file(&abs, 5), b"pwned"),
    ]))
    .unwrap();
    assert_eq!(fs::read(a.root.join("etc/skiff-escape")).unwrap(), b"x");
    assert_eq!(
        fs::read(a.root.join(abs.trim_start_matches('/'))).unwrap(),
        b"pwned"
    );
}

#[test]
fn absolute_symlink_parent_is_resolved_in_the_root() {
    require_root!();
    // a -> /  then a/etc/skiff-escape: lands in <root>/etc.
    let a = Arena::new();
    a.attack(&tar_of(&[
        symlink("a", "/"),
        file("a/etc/skiff-escape", b"x"),
    ]))
    .unwrap();
    assert_eq!(fs::read(a.root.join("etc/skiff-escape")).unwrap(), b"x");
    // b -> the sentinel's absolute path: inside the root that path does not exist.
    let a = Arena::new();
    let r = a.attack(&tar_of(&[
        symlink("b", &a.outside_abs()),
        file("b/passwd", b"pwned"),
    ]));
    match r {
        Ok(()) => assert_eq!(
            fs::read(
                a.root
                    .join(a.outside_abs().trim_start_matches('/'))
                    .join("passwd")
            )
            .unwrap(),
            b"pwned"
        ),
        Err(e) => assert!(e.contains("b/passwd"), "unclear error: {e}"),
    }
}

#[test]
fn relative_symlink_climbing_out_is_clamped() {
    require_root!();
    let a = Arena::new();
    a.attack(&tar_of(&[
        symlink("up", "../../../../.."),
        file("up/skiff-escape", b"x"),
        file("up/outside/passwd", b"pwned"),
    ]))
    .unwrap();
    assert_eq!(fs::read(a.root.join("skiff-escape")).unwrap(), b"x");
    assert_eq!(fs::read(a.root.join("outside/passwd")).unwrap(), b"pwned");
    // A chain: d -> up/.. (both climbing).
    let a = Arena::new();
    a.attack(&tar_of(&[
        symlink("up", "../.."),
        symlink("d", "up/../.."),
        dir("d/x/"),
        file("d/x/f", b"z"),
    ]))
    .unwrap();
    assert_eq!(fs::read(a.root.join("x/f")).unwrap(), b"z");
}

#[test]
fn hard_links_to_outside_fail() {
    require_root!();
    let a = Arena::new();
    let err = a
        .attack(&tar_of(&[hardlink("h", "../outside/passwd")]))
        .unwrap_err();
    assert!(err.contains("hard link target"), "{err}");
    let abs = format!("{}/passwd", a.outside_abs());
    let err = a.attack(&tar_of(&[hardlink("h2", &abs)])).unwrap_err();
    assert!(err.contains("hard link target"), "{err}");
    assert_eq!(
        fs::symlink_metadata(a.outside.join("passwd"))
            .map(|m| std::os::unix::fs::MetadataExt::nlink(&m))
            .unwrap(),
        1
    );
}

#[test]
fn hard_link_through_a_symlink_fails() {
    require_root!();
    let a = Arena::new();
    let err = a
        .attack(&tar_of(&[
            symlink("l", &a.outside_abs()),
            hardlink("h", "l/passwd"),
        ]))
        .unwrap_err();
    assert!(err.contains("hard link target"), "{err}");
    let a = Arena::new();
    let err = a
        .attack(&tar_of(&[
            symlink("up", "../../../.."),
            hardlink("h", "up/outside/passwd"),
        ]))
        .unwrap_err();
    assert!(err.contains("hard link target"), "{err}");
    // Through a symlink to a file that *is* in the layer: confined, so allowed.
    let a = Arena::new();
    a.attack(&tar_of(&[
        file("etc/real", b"in layer"),
        symlink("l", "/etc"),
        hardlink("h", "l/real"),
    ]))
    .unwrap();
    assert_eq!(fs::read(a.root.join("h")).unwrap(), b"in layer");
}

#[test]
fn existing_symlinks_are_replaced_not_written_through() {
    require_root!();
    let a = Arena::new();
    let target = format!("{}/passwd", a.outside_abs());
    a.attack(&tar_of(&[symlink("f", &target), file("f", b"pwned")]))
        .unwrap();
    assert_eq!(fs::read(a.root.join("f")).unwrap(), b"pwned");
    // A directory entry over a symlink to outside, then files in it.
    let a = Arena::new();
    a.attack(&tar_of(&[
        symlink("d", &a.outside_abs()),
        dir("d/"),
        file("d/passwd", b"pwned"),
    ]))
    .unwrap();
    assert!(fs::symlink_metadata(a.root.join("d")).unwrap().is_dir());
    // Device nodes, fifos and symlinks over a symlink.
    let a = Arena::new();
    a.attack(&tar_of(&[
        symlink("n", &target),
        (Header::char_device("n", 1, 3), b""),
        symlink("p", &target),
        (Header::fifo("p"), b""),
        symlink("s", &target),
        symlink("s", "elsewhere"),
    ]))
    .unwrap();
}

#[test]
fn whiteouts_through_symlinks_stay_inside() {
    require_root!();
    let a = Arena::new();
    let r = a.attack(&tar_of(&[
        symlink("s", &a.outside_abs()),
        file("s/.wh.passwd", b""),
        file("s/.wh..wh..opq", b""),
    ]));
    if let Err(e) = r {
        assert!(e.contains("s/.wh."), "unclear error: {e}");
    }
    assert!(
        xattrs(&a.outside).is_empty(),
        "opaque xattr leaked to the sentinel"
    );
    let a = Arena::new();
    a.attack(&tar_of(&[
        symlink("up", "../.."),
        file("up/outside/.wh.passwd", b""),
        file("up/outside/.wh..wh..opq", b""),
    ]))
    .unwrap();
    assert!(fs::symlink_metadata(a.root.join("outside/passwd")).is_ok());
}

#[test]
fn entry_naming_the_root_must_be_a_directory() {
    require_root!();
    let a = Arena::new();
    let err = a.attack(&tar_of(&[(Header::fifo("."), b"")])).unwrap_err();
    assert!(err.contains("layer root"), "{err}");
    let err = a.attack(&tar_of(&[symlink("..", "/")])).unwrap_err();
    assert!(err.contains("layer root"), "{err}");
}
