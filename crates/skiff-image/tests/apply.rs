//! The layer applier on the real filesystem: entry types, metadata, hard links, whiteouts,
//! replacement rules.

mod common;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

use common::*;
use skiff_image::layer::tar_write::Header;
use skiff_image::layer::ApplyError;

#[test]
fn creates_every_entry_type_with_metadata() {
    require_root!();
    let root = tempfile::tempdir().unwrap();
    let mut setuid = Header::file("usr/bin/su", 0);
    setuid.mode = 0o4755;
    setuid.uid = 0;
    setuid.gid = 0;
    setuid.mtime = 1_600_000_000;
    let mut owned = Header::file("home/user/notes", 0);
    owned.uid = 1000;
    owned.gid = 1001;
    owned.mode = 0o640;
    owned.mtime = 1_234_567_890;
    let mut capped = Header::file("usr/bin/ping", 0);
    capped.mode = 0o755;
    // VFS_CAP_REVISION_2 with CAP_NET_RAW (bit 13) permitted and effective.
    let cap = vec![
        1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    capped.xattrs = vec![
        (b"security.capability".to_vec(), cap.clone()),
        (b"user.note".to_vec(), b"hi".to_vec()),
    ];
    let mut sticky = Header::dir("tmp");
    sticky.mode = 0o1777;
    sticky.mtime = 1_000_000_000;
    let mut private = Header::dir("home/user");
    private.mode = 0o700;
    private.uid = 1000;
    private.gid = 1001;
    private.mtime = 1_100_000_000;
    let mut null = Header::char_device("dev/null", 1, 3);
    null.mode = 0o666;
    let mut sda = Header::block_device("dev/sda", 8, 0);
    sda.mode = 0o660;
    sda.gid = 6;
    let mut link = Header::symlink("bin", "usr/bin");
    link.uid = 5;
    link.mtime = 1_300_000_000;
    let tar = tar_of(&[
        (sticky, b""),
        dir("usr/"),
        dir("usr/bin/"),
        (setuid, b"#!/bin/true\n"),
        (capped, b"ping binary"),
        hardlink("usr/bin/ping-hard", "usr/bin/ping"),
        (link, b""),
        dir("home/"),
        (private, b""),
        (owned, b"secret"),
        dir("dev/"),
        (null, b""),
        (sda, b""),
        (Header::fifo("run/fifo"), b""), // parent "run" missing: created 0755
    ]);
    let stats = apply(root.path(), &tar).unwrap();
    assert_eq!(stats.entries, 14);
    let snap = snapshot(root.path());

    let su = &snap["usr/bin/su"];
    assert_eq!((su.kind, su.mode, su.mtime), ('f', 0o4755, 1_600_000_000));
    let notes = &snap["home/user/notes"];
    assert_eq!(
        (notes.uid, notes.gid, notes.mode, notes.mtime),
        (1000, 1001, 0o640, 1_234_567_890)
    );
    assert_eq!(
        fs::read(root.path().join("home/user/notes")).unwrap(),
        b"secret"
    );
    let ping = &snap["usr/bin/ping"];
    assert_eq!(
        ping.xattrs,
        vec![
            (b"security.capability".to_vec(), cap),
            (b"user.note".to_vec(), b"hi".to_vec())
        ]
    );
    assert_eq!(ping.nlink, 2, "hard link shares the inode");
    let ino = |p: &str| fs::symlink_metadata(root.path().join(p)).unwrap().ino();
    assert_eq!(ino("usr/bin/ping"), ino("usr/bin/ping-hard"));
    let bin = &snap["bin"];
    assert_eq!(
        (bin.kind, bin.link.as_deref(), bin.uid, bin.mtime),
        ('l', Some(&b"usr/bin"[..]), 5, 1_300_000_000)
    );
    // Directory metadata is set after their content was written.
    assert_eq!(
        (snap["tmp"].mode, snap["tmp"].mtime),
        (0o1777, 1_000_000_000)
    );
    let home_user = &snap["home/user"];
    assert_eq!(
        (home_user.mode, home_user.uid, home_user.mtime),
        (0o700, 1000, 1_100_000_000)
    );
    let null = fs::symlink_metadata(root.path().join("dev/null")).unwrap();
    assert!(null.file_type().is_char_device());
    assert_eq!(
        (null.rdev(), null.mode() & 0o7777),
        (rustix::fs::makedev(1, 3), 0o666)
    );
    let sda = fs::symlink_metadata(root.path().join("dev/sda")).unwrap();
    assert!(sda.file_type().is_block_device());
    assert_eq!((sda.rdev(), sda.gid()), (rustix::fs::makedev(8, 0), 6));
    assert!(fs::symlink_metadata(root.path().join("run/fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(
        fs::metadata(root.path().join("run"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o755
    );
}

#[test]
fn whiteouts_become_overlay_whiteouts() {
    require_root!();
    let root = tempfile::tempdir().unwrap();
    // The opaque marker comes *after* a sibling: order must not matter.
    let tar = tar_of(&[
        dir("etc/"),
        file("etc/.wh.motd", b""),
        dir("var/"),
        dir("var/cache/"),
        file("var/cache/kept", b"new"),
        file("var/cache/.wh..wh..opq", b""),
        file("opt/.wh..wh..opq", b""), // opaque dir with no entry of its own
        file(".wh.toplevel", b""),
        file(".wh..wh.plnk", b""), // AUFS metadata: ignored
        file("dup", b"own layer"),
        file(".wh.dup", b""), // a whiteout never hides its own layer's file
    ]);
    let stats = apply(root.path(), &tar).unwrap();
    assert_eq!(stats.whiteouts, 5);
    let snap = snapshot(root.path());
    for wh in ["etc/motd", "toplevel"] {
        assert_eq!(
            (snap[wh].kind, snap[wh].rdev),
            ('c', 0),
            "{wh} must be a 0:0 char device"
        );
    }
    let opaque = (b"trusted.overlay.opaque".to_vec(), b"y".to_vec());
    assert_eq!(snap["var/cache"].xattrs, vec![opaque.clone()]);
    assert_eq!(snap["opt"].xattrs, vec![opaque]);
    assert_eq!(
        fs::read(root.path().join("var/cache/kept")).unwrap(),
        b"new"
    );
    assert_eq!(fs::read(root.path().join("dup")).unwrap(), b"own layer");
    assert!(
        !snap.keys().any(|k| k.contains(".wh.")),
        "no .wh. names may remain: {:?}",
        snap.keys()
    );
}

#[test]
fn bare_whiteout_is_invalid() {
    let root = tempfile::tempdir().unwrap();
    let err = apply(root.path(), &tar_of(&[file("etc/.wh.", b"")])).unwrap_err();
    assert!(matches!(err, ApplyError::InvalidWhiteout { .. }), "{err}");
    assert!(err.to_string().contains("etc/.wh."), "{err}");
}

#[test]
fn overlay_xattrs_in_a_tar_are_ignored() {
    require_root!();
    let root = tempfile::tempdir().unwrap();
    let mut d = Header::dir("d");
    d.xattrs = vec![(b"trusted.overlay.redirect".to_vec(), b"/etc".to_vec())];
    apply(root.path(), &tar_of(&[(d, b"")])).unwrap();
    assert!(xattrs(&root.path().join("d")).is_empty());
}

#[test]
fn later_entries_replace_earlier_ones() {
    require_root!();
    let root = tempfile::tempdir().unwrap();
    let tar = tar_of(&[
        file("a", b"first"),
        file("a", b"second"), // file over file
        dir("b/"),
        file("b/inner", b"x"),
        file("b", b"file over dir"), // non-dir over a directory: the tree goes
        symlink("c", "a"),
        file("c", b"not through the link"), // replaces the symlink, a is untouched
        file("d", b"plain"),
        dir("d/"), // dir over file
        file("d/child", b"y"),
        dir("e/"),
        file("e/keep", b"k"),
        dir("e/"), // dir over dir merges
    ]);
    apply(root.path(), &tar).unwrap();
    let read = |p: &str| fs::read(root.path().join(p)).unwrap();
    assert_eq!(read("a"), b"second");
    assert_eq!(read("b"), b"file over dir");
    assert!(fs::symlink_metadata(root.path().join("c"))
        .unwrap()
        .is_file());
    assert_eq!(read("c"), b"not through the link");
    assert_eq!(read("a"), b"second");
    assert_eq!(read("d/child"), b"y");
    assert_eq!(read("e/keep"), b"k");
}

#[test]
fn hard_links_need_a_target_in_the_layer() {
    require_root!();
    let root = tempfile::tempdir().unwrap();
    let err = apply(root.path(), &tar_of(&[hardlink("h", "missing")])).unwrap_err();
    assert!(matches!(err, ApplyError::HardLinkTarget { .. }), "{err}");
    assert!(err.to_string().contains("missing"), "{err}");
    // A hard link to a symlink links the symlink itself (as GNU tar does).
    let root = tempfile::tempdir().unwrap();
    apply(
        root.path(),
        &tar_of(&[symlink("s", "/nowhere"), hardlink("h", "s")]),
    )
    .unwrap();
    assert_eq!(
        fs::read_link(root.path().join("h")).unwrap().to_str(),
        Some("/nowhere")
    );
    // Overwriting a hard-linked name does not write through to the other name.
    let root = tempfile::tempdir().unwrap();
    apply(
        root.path(),
        &tar_of(&[
            file("orig", b"keep"),
            hardlink("alias", "orig"),
            file("alias", b"changed"),
        ]),
    )
    .unwrap();
    assert_eq!(fs::read(root.path().join("orig")).unwrap(), b"keep");
    assert_eq!(fs::read(root.path().join("alias")).unwrap(), b"changed");
}

#[test]
fn long_names_through_pax() {
    require_root!();
    let root = tempfile::tempdir().unwrap();
    let deep = (0..30)
        .map(|i| format!("dir{i:02}"))
        .collect::<Vec<_>>()
        .join("/");
    let long_file = format!("{deep}/{}", "n".repeat(200));
    let target = "t".repeat(300);
    let tar = tar_of(&[
        (Header::file(&long_file, 4), b"deep"),
        (Header::symlink("l", &target), b""),
    ]);
    apply(root.path(), &tar).unwrap();
    assert_eq!(fs::read(root.path().join(&long_file)).unwrap(), b"deep");
    assert_eq!(
        fs::read_link(root.path().join("l"))
            .unwrap()
            .to_str()
            .unwrap(),
        target
    );
}

#[test]
fn owners_and_modes_are_exact_despite_umask_and_setgid_parents() {
    require_root!();
    let root = tempfile::tempdir().unwrap();
    let mut sg = Header::dir("sg");
    sg.mode = 0o2775;
    sg.gid = 50;
    let mut f = Header::file("sg/f", 0);
    f.mode = 0o644; // root:root, though the setgid parent would give it group 50
    let mut sub = Header::dir("sg/sub");
    sub.mode = 0o755; // would inherit setgid and group 50
    let mut open = Header::file("open", 0);
    open.mode = 0o666; // the umask would drop the group/other write bits
    let mut d1 = Header::dir("d");
    d1.uid = 1000;
    let mut d2 = Header::dir("d");
    d2.uid = 0; // the second entry for d wins, even though d already exists
    let mut sgid_file = Header::file("sgid", 0);
    sgid_file.mode = 0o2755;
    sgid_file.gid = 7;
    let tar = tar_of(&[
        (sg, b""),
        (f, b"x"),
        (sub, b""),
        (open, b"o"),
        (d1, b""),
        (d2, b""),
        (sgid_file, b"s"),
    ]);
    apply(root.path(), &tar).unwrap();
    let snap = snapshot(root.path());
    assert_eq!((snap["sg"].mode, snap["sg"].gid), (0o2775, 50));
    assert_eq!((snap["sg/f"].mode, snap["sg/f"].gid), (0o644, 0));
    assert_eq!((snap["sg/sub"].mode, snap["sg/sub"].gid), (0o755, 0));
    assert_eq!(snap["open"].mode, 0o666);
    assert_eq!(snap["d"].uid, 0);
    assert_eq!(
        (snap["sgid"].mode, snap["sgid"].gid),
        (0o2755, 7),
        "chown must not clear the setgid bit for good"
    );
}
