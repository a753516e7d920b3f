//! The hello-world image shipped inside the binary: it imports into a store offline, its
//! digests are reproducible, and its program runs.

mod common;

use std::fs;
use std::io::Read;
use std::process::Command;

use skiff_image::builtin::{builtin_images, find_builtin, pack::pack_hello};
use skiff_image::layer::tar::TarReader;
use skiff_image::{Digest, ImageStore, Reference};

fn hello() -> &'static skiff_image::builtin::BuiltinImage {
    find_builtin(&Reference::parse("hello-world").unwrap())
        .expect("hello-world is built in on x86_64")
}

/// The /hello program inside the embedded layer.
fn embedded_program() -> Vec<u8> {
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(hello().layers[0])
        .read_to_end(&mut tar)
        .unwrap();
    let mut r = TarReader::new(&tar[..]);
    let e = r.next_entry().unwrap().unwrap();
    assert_eq!(
        (e.path_lossy().as_str(), e.mode, e.uid, e.gid),
        ("hello", 0o755, 0, 0)
    );
    let mut program = Vec::new();
    r.copy_data(&mut program).map_err(|_| "read").unwrap();
    assert!(r.next_entry().unwrap().is_none(), "one file only");
    program
}

#[test]
fn is_listed_and_found_by_every_name() {
    assert_eq!(builtin_images().len(), 1);
    let d = hello().manifest_digest();
    for name in [
        "hello-world",
        "hello-world:latest",
        "docker.io/library/hello-world",
        &format!("hello-world@{d}"),
    ] {
        assert!(
            find_builtin(&Reference::parse(name).unwrap()).is_some(),
            "{name}"
        );
    }
    for name in ["hello-world:v2", "someone/hello-world", "busybox"] {
        assert!(
            find_builtin(&Reference::parse(name).unwrap()).is_none(),
            "{name}"
        );
    }
}

#[test]
fn imports_into_a_store_with_stable_digests() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    let a = ImageStore::open(first.path()).unwrap();
    let b = ImageStore::open(second.path()).unwrap();
    let r = Reference::parse("hello-world").unwrap();
    let da = a.resolve(&r).unwrap().expect("imported on first use");
    let db = b.resolve(&r).unwrap().unwrap();
    assert_eq!(da, db);
    assert_eq!(da, Digest::of(hello().manifest));
    // Resolving again uses the index (no re-import) and gives the same digest.
    assert_eq!(a.resolve(&r).unwrap(), Some(da.clone()));
    assert_eq!(
        a.index
            .load()
            .unwrap()
            .tags
            .get("docker.io/library/hello-world:latest"),
        Some(&da)
    );
    let info = a.image(&da).unwrap();
    assert_eq!(
        info.config
            .config()
            .as_ref()
            .unwrap()
            .cmd()
            .as_ref()
            .unwrap(),
        &vec!["/hello".to_owned()]
    );
    assert_eq!(info.layer_digests.len(), 1);
    assert!(a.content.has(&info.layer_digests[0]) && a.content.has(&info.config_digest));
    assert_eq!(info.config.architecture().to_string(), "amd64");
}

#[test]
fn packing_is_reproducible() {
    // Packing the same program again gives the very same blobs...
    let program = embedded_program();
    let again = pack_hello(&program);
    assert_eq!(again.layer, hello().layers[0]);
    assert_eq!(again.config, hello().config);
    assert_eq!(again.manifest, hello().manifest);
    // ...and compiling hello.c again with the build script's flags gives the same program.
    let flags = fs::read_to_string(concat!(env!("OUT_DIR"), "/hello-cflags.txt")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let binary = out.path().join("hello");
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(flags.lines())
        .arg("-o")
        .arg(&binary)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/hello/hello.c"))
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        fs::read(&binary).unwrap(),
        program,
        "the compiler output is not reproducible"
    );
    assert!(
        program.len() < 4096,
        "the program should stay tiny: {} bytes",
        program.len()
    );
}

#[test]
fn unpacked_program_runs_and_greets() {
    require_root!();
    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let digest = store
        .resolve(&Reference::parse("hello-world").unwrap())
        .unwrap()
        .unwrap();
    let info = store.image(&digest).unwrap();
    let lowers = store.unpack(&info).unwrap();
    assert_eq!(lowers.len(), 1);
    let out = Command::new(lowers[0].join("hello")).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Hello from skiff!"), "{text}");
    assert!(text.contains("skiff run -it busybox sh"), "{text}");
    // Writing to a full device makes it exit 1 instead of pretending it worked.
    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let status = Command::new(lowers[0].join("hello"))
        .stdout(full)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
}
