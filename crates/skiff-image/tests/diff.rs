//! Layer tars from directories: overlay whiteouts back to tar whiteouts, determinism, and
//! a round trip through the applier.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use common::*;
use skiff_image::layer::diff::{write_layer, DiffOptions};
use skiff_image::layer::tar::{EntryKind, TarReader};

fn listing(tar: &[u8]) -> Vec<(String, EntryKind, u32, Vec<u8>)> {
    let mut r = TarReader::new(tar);
    let mut out = Vec::new();
    while let Some(e) = r.next_entry().unwrap() {
        out.push((e.path_lossy(), e.kind, e.mode, e.link_name.clone()));
    }
    out
}

/// An overlay upper dir as a container leaves it: a new file, a deleted file (0:0 char
/// device), an opaque directory, a hard link pair.
fn make_upper(upper: &Path) {
    fs::create_dir_all(upper.join("etc")).unwrap();
    fs::write(upper.join("etc/new.conf"), b"x=1\n").unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        upper.join("etc/deleted"),
        rustix::fs::FileType::CharacterDevice,
        0.into(),
        0,
    )
    .unwrap();
    fs::create_dir_all(upper.join("var/cache")).unwrap();
    rustix::fs::setxattr(
        upper.join("var/cache"),
        "trusted.overlay.opaque",
        b"y",
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
    fs::write(upper.join("var/cache/fresh"), b"f").unwrap();
    fs::write(upper.join("a"), b"linked").unwrap();
    fs::hard_link(upper.join("a"), upper.join("b")).unwrap();
    symlink("/etc/new.conf", upper.join("conf")).unwrap();
}

#[test]
fn overlay_whiteouts_become_tar_whiteouts() {
    require_root!();
    let dir = tempfile::tempdir().unwrap();
    let upper = dir.path().join("upper");
    fs::create_dir(&upper).unwrap();
    make_upper(&upper);
    let options = DiffOptions {
        overlay_whiteouts: true,
        fixed_mtime: Some(0),
    };
    let (tar, summary) = write_layer(&upper, Vec::new(), &options).unwrap();
    assert_eq!(summary.diff_id, skiff_image::Digest::of(&tar));
    let names: Vec<_> = listing(&tar)
        .into_iter()
        .map(|(p, k, _, l)| (p, k, String::from_utf8(l).unwrap()))
        .collect();
    let expected = vec![
        ("a".to_owned(), EntryKind::File, String::new()),
        ("b".to_owned(), EntryKind::HardLink, "a".to_owned()),
        (
            "conf".to_owned(),
            EntryKind::Symlink,
            "/etc/new.conf".to_owned(),
        ),
        ("etc/".to_owned(), EntryKind::Directory, String::new()),
        ("etc/.wh.deleted".to_owned(), EntryKind::File, String::new()),
        ("etc/new.conf".to_owned(), EntryKind::File, String::new()),
        ("var/".to_owned(), EntryKind::Directory, String::new()),
        ("var/cache/".to_owned(), EntryKind::Directory, String::new()),
        (
            "var/cache/.wh..wh..opq".to_owned(),
            EntryKind::File,
            String::new(),
        ),
        ("var/cache/fresh".to_owned(), EntryKind::File, String::new()),
    ];
    assert_eq!(names, expected);
    // The opaque xattr itself is not in the tar.
    let mut r = TarReader::new(&tar[..]);
    while let Some(e) = r.next_entry().unwrap() {
        assert!(
            e.xattrs
                .iter()
                .all(|(k, _)| !k.starts_with(b"trusted.overlay.")),
            "{e:?}"
        );
    }

    // Back through the applier: the same overlay form again.
    let back = dir.path().join("back");
    fs::create_dir(&back).unwrap();
    apply(&back, &tar).unwrap();
    let (a, b) = (snapshot(&upper), snapshot(&back));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, node) in &a {
        let mut other = b[path].clone();
        other.mtime = node.mtime; // fixed_mtime rewrote them
        assert_eq!(node, &other, "{path}");
    }
}

#[test]
fn output_is_deterministic() {
    require_root!();
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    for d in [&one, &two] {
        fs::create_dir(d).unwrap();
    }
    // Same content, created in different orders and at different times.
    make_upper(&one);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for name in ["zz", "mm", "aa"] {
        fs::write(two.join(name), name).unwrap();
    }
    make_upper(&two);
    for name in ["aa", "mm", "zz"] {
        fs::write(one.join(name), name).unwrap();
    }
    let options = DiffOptions {
        overlay_whiteouts: true,
        fixed_mtime: Some(1_700_000_000),
    };
    let (t1, s1) = write_layer(&one, Vec::new(), &options).unwrap();
    let (t2, s2) = write_layer(&two, Vec::new(), &options).unwrap();
    assert_eq!(s1.diff_id, s2.diff_id);
    assert_eq!(t1, t2);
    // Without a fixed mtime, the real times go in and the digests differ.
    let keep = DiffOptions {
        overlay_whiteouts: true,
        fixed_mtime: None,
    };
    assert_ne!(
        write_layer(&one, Vec::new(), &keep).unwrap().1.diff_id,
        write_layer(&two, Vec::new(), &keep).unwrap().1.diff_id
    );
}

#[test]
fn gnu_tar_reads_our_layers() {
    require_root!();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::create_dir_all(src.join("x".repeat(150)).join("y".repeat(120))).unwrap();
    fs::write(
        src.join("x".repeat(150))
            .join("y".repeat(120))
            .join("z".repeat(100)),
        b"deep",
    )
    .unwrap();
    fs::write(src.join("plain"), b"p").unwrap();
    rustix::fs::setxattr(
        src.join("plain"),
        "user.k",
        b"v",
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
    let (tar, _) = write_layer(&src, Vec::new(), &DiffOptions::default()).unwrap();
    let tarfile = dir.path().join("l.tar");
    fs::write(&tarfile, &tar).unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    let st = std::process::Command::new("tar")
        .args(["--xattrs", "--xattrs-include=*", "-xpf"])
        .arg(&tarfile)
        .arg("-C")
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(snapshot(&src), snapshot(&out));
}
