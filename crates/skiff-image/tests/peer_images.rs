//! Images made by real peer tools, not by skiff: umoci builds a two-layer OCI image (the
//! second layer deletes files, so it carries whiteouts written by Go's archive/tar), and
//! skopeo converts it to a Docker v2 schema 2 image. skiff imports each, verifies every
//! blob, unpacks the layers and mounts them; the result must equal umoci's own unpack.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::*;
use skiff_image::overlay::{self, MountApi};
use skiff_image::{Digest, ImageStore};

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Builds L:latest with umoci: busybox, then a layer removing /etc/group and /root and
/// adding a file. Returns the expected root filesystem (umoci's unpack of the final image).
fn build_with_umoci(work: &Path) -> std::path::PathBuf {
    let layout = work.join("oci");
    let umoci = |args: &[&str]| {
        let mut c = Command::new("umoci");
        c.args(args);
        run(&mut c);
    };
    let l = layout.to_str().unwrap();
    let image = format!("{l}:latest");
    umoci(&["init", "--layout", l]);
    umoci(&["new", "--image", &image]);
    let b1 = work.join("b1");
    umoci(&["unpack", "--image", &image, b1.to_str().unwrap()]);
    skiff_testutil::busybox_rootfs(&b1.join("rootfs")).unwrap();
    umoci(&["repack", "--image", &image, b1.to_str().unwrap()]);
    let b2 = work.join("b2");
    umoci(&["unpack", "--image", &image, b2.to_str().unwrap()]);
    fs::remove_file(b2.join("rootfs/etc/group")).unwrap();
    fs::remove_dir_all(b2.join("rootfs/root")).unwrap();
    fs::write(b2.join("rootfs/etc/motd"), b"second layer\n").unwrap();
    umoci(&["repack", "--image", &image, b2.to_str().unwrap()]);
    umoci(&["config", "--image", &image, "--config.cmd", "/bin/sh"]);
    let expected = work.join("expected");
    umoci(&["unpack", "--image", &image, expected.to_str().unwrap()]);
    expected.join("rootfs")
}

/// Copies every blob of a directory into the store (each verified) and returns the digest
/// of `manifest`.
fn import_blobs(store: &ImageStore, blob_dir: &Path, manifest: &[u8]) -> Digest {
    for entry in fs::read_dir(blob_dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(d) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| Digest::from_hex(n).ok())
        else {
            continue;
        };
        let mut f = fs::File::open(&path).unwrap();
        store.content.write(&mut f, Some(&d), None).unwrap();
    }
    store.content.put(manifest).unwrap()
}

/// Unpacks and mounts the image and compares the merged tree with `expected`.
fn check_image(store: &ImageStore, manifest: &Digest, expected: &Path, work: &Path) {
    let info = store.image(manifest).unwrap();
    assert_eq!(info.layer_digests.len(), 2);
    assert_eq!(info.chain_ids[0], info.diff_ids[0]);
    let cmd = info
        .config
        .config()
        .as_ref()
        .unwrap()
        .cmd()
        .clone()
        .unwrap();
    assert_eq!(cmd, vec!["/bin/sh".to_owned()]);
    let lowers = store.unpack(&info).unwrap();
    // The top layer holds the whiteouts for the deleted paths.
    let top = snapshot(&lowers[0]);
    assert_eq!((top["etc/group"].kind, top["etc/group"].rdev), ('c', 0));
    assert_eq!(top["root"].kind, 'c');
    let container = work.join(format!("c-{}", manifest.short()));
    let dirs = overlay::mount(&container, &lowers, MountApi::Auto).unwrap();
    let merged = snapshot(&dirs.merged);
    let want = snapshot(expected);
    overlay::unmount_overlay(&dirs.merged, false).unwrap();
    assert_eq!(
        merged.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (path, node) in &want {
        let mut got = merged[path].clone();
        if node.kind == 'd' {
            got.mtime = node.mtime; // directory mtimes differ between overlay and umoci's copy
        }
        assert_eq!(&got, node, "{path}");
    }
    assert!(!merged.contains_key("etc/group") && merged.contains_key("etc/passwd"));
}

#[test]
fn oci_image_from_umoci_and_docker_image_from_skopeo() {
    require_root!();
    if !have("umoci") || !have("skopeo") {
        eprintln!("skipped: needs umoci and skopeo");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let expected = build_with_umoci(work.path());

    // OCI: index.json -> manifest.
    let store = ImageStore::open(&work.path().join("store-oci")).unwrap();
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(work.path().join("oci/index.json")).unwrap()).unwrap();
    let manifest_digest: Digest = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let manifest = fs::read(
        work.path()
            .join("oci/blobs/sha256")
            .join(manifest_digest.hex()),
    )
    .unwrap();
    assert_eq!(
        import_blobs(&store, &work.path().join("oci/blobs/sha256"), &manifest),
        manifest_digest
    );
    check_image(&store, &manifest_digest, &expected, work.path());

    // Docker v2 schema 2, converted by skopeo (blobs named by hex, manifest.json beside).
    let docker_dir = work.path().join("docker");
    run(Command::new("skopeo")
        .args(["copy", "--quiet", "--format", "v2s2"])
        .arg(format!("oci:{}:latest", work.path().join("oci").display()))
        .arg(format!("dir:{}", docker_dir.display())));
    let manifest = fs::read(docker_dir.join("manifest.json")).unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(
        parsed["mediaType"],
        skiff_image::manifest::media_type::DOCKER_MANIFEST
    );
    assert_eq!(
        parsed["layers"][0]["mediaType"],
        skiff_image::manifest::media_type::DOCKER_LAYER_GZIP
    );
    let store = ImageStore::open(&work.path().join("store-docker")).unwrap();
    let digest = import_blobs(&store, &docker_dir, &manifest);
    check_image(&store, &digest, &expected, work.path());
}
