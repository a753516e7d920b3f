//! The applier against GNU tar: the same layer extracted by both must give the same tree —
//! file list, types, modes, owners, sizes, contents, link targets, device numbers, hard
//! link counts, mtimes and xattrs.

mod common;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;

use common::*;
use skiff_image::layer::tar::TarReader;
use skiff_image::layer::{apply_tar, ApplyOptions};

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A source tree with every kind of entry a layer can hold, plus a copy of /etc as a body
/// of real-world files.
fn make_source(src: &Path) {
    run(Command::new("cp").args(["-a", "/etc"]).arg(src.join("etc")));
    let d = src.join("special");
    fs::create_dir_all(d.join("sub/deeper")).unwrap();
    let write = |p: &str, data: &[u8], mode: u32| {
        fs::write(d.join(p), data).unwrap();
        fs::set_permissions(d.join(p), fs::Permissions::from_mode(mode)).unwrap();
    };
    write("setuid", b"suid", 0o4755);
    write("setgid", b"sgid", 0o2711);
    write("empty", b"", 0o600);
    write("big", &vec![0xab; 5 << 20], 0o644);
    write("caps", b"ping", 0o755);
    let cap = [
        1u8, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    rustix::fs::setxattr(
        d.join("caps"),
        "security.capability",
        &cap,
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
    rustix::fs::setxattr(
        d.join("caps"),
        "user.comment",
        b"with caps",
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
    rustix::fs::setxattr(
        d.join("sub"),
        "user.dir",
        b"on a dir",
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
    fs::set_permissions(d.join("sub"), fs::Permissions::from_mode(0o1770)).unwrap();
    fs::hard_link(d.join("setuid"), d.join("sub/hardlink")).unwrap();
    fs::hard_link(d.join("setuid"), d.join("sub/deeper/hardlink2")).unwrap();
    symlink("../setuid", d.join("sub/rel")).unwrap();
    symlink("/etc/passwd", d.join("abs")).unwrap();
    symlink("dangling/target", d.join("dangling")).unwrap();
    let long = d.join("sub").join("l".repeat(120));
    fs::write(&long, b"long name").unwrap();
    symlink("t".repeat(150), d.join("longlink")).unwrap();
    fs::write(d.join("sub/deeper/unicode-é-名前 with space"), b"u").unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        d.join("null"),
        rustix::fs::FileType::CharacterDevice,
        0o666.into(),
        rustix::fs::makedev(1, 3),
    )
    .unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        d.join("loop9"),
        rustix::fs::FileType::BlockDevice,
        0o660.into(),
        rustix::fs::makedev(7, 9),
    )
    .unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        d.join("fifo"),
        rustix::fs::FileType::Fifo,
        0o644.into(),
        0,
    )
    .unwrap();
    run(Command::new("chown")
        .args(["-h", "1234:5678"])
        .arg(d.join("sub/rel")));
    run(Command::new("chown")
        .args(["1000:1000"])
        .arg(d.join("empty")));
    run(Command::new("chown")
        .args(["4000000:4000001"])
        .arg(d.join("big"))); // over 7 octal digits
    run(Command::new("touch")
        .args(["-h", "-d", "@1500000000"])
        .arg(d.join("abs")));
    run(Command::new("touch")
        .args(["-d", "@1400000000"])
        .arg(d.join("sub/deeper")));
    run(Command::new("touch")
        .args(["-d", "@1300000000"])
        .arg(d.join("sub")));
}

#[test]
fn extraction_matches_gnu_tar() {
    require_root!();
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    fs::create_dir(&src).unwrap();
    make_source(&src);
    let tar = work.path().join("layer.tar");
    // PAX format, as Docker writes layers.
    run(Command::new("tar")
        .args([
            "--format=posix",
            "--xattrs",
            "--xattrs-include=*",
            "--numeric-owner",
            "-C",
        ])
        .arg(&src)
        .arg("-cf")
        .arg(&tar)
        .arg("."));
    let gnu = work.path().join("gnu");
    let ours = work.path().join("ours");
    fs::create_dir(&gnu).unwrap();
    fs::create_dir(&ours).unwrap();
    run(Command::new("tar")
        .args([
            "--xattrs",
            "--xattrs-include=*",
            "--numeric-owner",
            "--same-owner",
            "-p",
            "-C",
        ])
        .arg(&gnu)
        .arg("-xf")
        .arg(&tar));
    let data = fs::read(&tar).unwrap();
    let mut reader = TarReader::new(&data[..]);
    let stats = apply_tar(&ours, &mut reader, &ApplyOptions::default()).unwrap();
    assert!(stats.entries > 100, "a real tree: {stats:?}");

    let (g, o) = (snapshot(&gnu), snapshot(&ours));
    let gk: Vec<_> = g.keys().collect();
    let ok: Vec<_> = o.keys().collect();
    assert_eq!(gk, ok, "different file lists");
    let mut differences = Vec::new();
    for (path, gnu_node) in &g {
        if &o[path] != gnu_node {
            differences.push(format!(
                "{path}:\n  gnu:  {gnu_node:?}\n  ours: {:?}",
                o[path]
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
    // The comparison is meaningful: the special cases are really there.
    let s = &o["special/caps"];
    assert!(
        s.xattrs.iter().any(|(k, _)| k == b"security.capability"),
        "{s:?}"
    );
    assert_eq!(o["special/setuid"].mode, 0o4755);
    assert_eq!(o["special/setuid"].nlink, 3);
    assert_eq!(
        (o["special/big"].uid, o["special/big"].gid),
        (4_000_000, 4_000_001)
    );
    assert_eq!(o["special/sub"].mtime, 1_300_000_000);
    assert_eq!(o["special/null"].kind, 'c');
}

/// The same comparison on a real image layer, when one is given: `SKIFF_TEST_LAYER=path`
/// (a plain, gzip or zstd tar, e.g. the Debian minbase layer bench/unpack.sh builds).
#[test]
fn real_layer_matches_gnu_tar() {
    require_root!();
    let Some(layer) = std::env::var_os("SKIFF_TEST_LAYER") else {
        eprintln!("skipped: set SKIFF_TEST_LAYER to a layer tar to compare with GNU tar");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let gnu = work.path().join("gnu");
    fs::create_dir(&gnu).unwrap();
    // GNU tar detects gzip and zstd by itself with -a on extraction.
    run(Command::new("tar")
        .args([
            "--xattrs",
            "--xattrs-include=*",
            "--numeric-owner",
            "--same-owner",
            "-p",
            "-C",
        ])
        .arg(&gnu)
        .arg("-xf")
        .arg(&layer));
    let store_root = work.path().join("store");
    let mut store = skiff_image::layer::LayerStore::new(&store_root).unwrap();
    store.durable = false;
    let chain = skiff_image::Digest::of(b"real");
    store
        .apply(&chain, None, None, fs::File::open(&layer).unwrap())
        .unwrap();
    let (g, o) = (snapshot(&gnu), snapshot(&store.diff_dir(&chain)));
    assert_eq!(
        g.keys().collect::<Vec<_>>(),
        o.keys().collect::<Vec<_>>(),
        "different file lists"
    );
    let differences: Vec<_> = g
        .iter()
        .filter(|(p, n)| &o[*p] != *n)
        .map(|(p, n)| format!("{p}: gnu {n:?} ours {:?}", o[p]))
        .collect();
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
    eprintln!("{} paths identical", g.len());
}
