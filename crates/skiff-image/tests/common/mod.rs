//! Helpers shared by the integration tests: building tars, applying them, and snapshots of
//! a directory tree to compare extractions field by field.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use sha2::{Digest as _, Sha256};
use skiff_image::layer::tar::TarReader;
use skiff_image::layer::tar_write::{Header, TarBuilder};
use skiff_image::layer::{apply_tar, ApplyError, ApplyOptions, ApplyStats};

/// A tar made of `(header, data)` pairs with skiff's writer.
pub fn tar_of(entries: &[(Header, &[u8])]) -> Vec<u8> {
    let mut b = TarBuilder::new(Vec::new());
    for (h, data) in entries {
        let mut h = h.clone();
        if h.typeflag == skiff_image::layer::tar_write::TYPE_FILE {
            h.size = data.len() as u64;
        }
        b.append(&h, &mut &data[..]).unwrap();
    }
    b.finish().unwrap()
}

pub fn file(path: &str, data: &'static [u8]) -> (Header, &'static [u8]) {
    (Header::file(path, data.len() as u64), data)
}

pub fn dir(path: &str) -> (Header, &'static [u8]) {
    (Header::dir(path), b"")
}

pub fn symlink(path: &str, target: &str) -> (Header, &'static [u8]) {
    (Header::symlink(path, target), b"")
}

pub fn hardlink(path: &str, target: &str) -> (Header, &'static [u8]) {
    (Header::hardlink(path, target), b"")
}

pub fn apply(root: &Path, tar: &[u8]) -> Result<ApplyStats, ApplyError> {
    let mut reader = TarReader::new(tar);
    apply_tar(root, &mut reader, &ApplyOptions::default())
}

/// Everything observable about one path, for comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: char,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub content_sha: Option<String>,
    pub link: Option<Vec<u8>>,
    pub rdev: u64,
    pub nlink: u64,
    pub mtime: i64,
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A snapshot of a tree, keyed by relative path, never following symlinks.
/// Directory sizes are left out (they depend on the filesystem's history).
pub fn snapshot(root: &Path) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Node>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let m = fs::symlink_metadata(&path).unwrap();
        let ft = m.file_type();
        let kind = if ft.is_dir() {
            'd'
        } else if ft.is_symlink() {
            'l'
        } else if ft.is_file() {
            'f'
        } else if ft.is_char_device() {
            'c'
        } else if ft.is_block_device() {
            'b'
        } else if ft.is_fifo() {
            'p'
        } else {
            's'
        };
        let node = Node {
            kind,
            mode: m.mode() & 0o7777,
            uid: m.uid(),
            gid: m.gid(),
            size: if ft.is_dir() { 0 } else { m.size() },
            content_sha: ft
                .is_file()
                .then(|| hex::encode(Sha256::digest(fs::read(&path).unwrap()))),
            link: ft.is_symlink().then(|| {
                fs::read_link(&path)
                    .unwrap()
                    .as_os_str()
                    .as_bytes()
                    .to_vec()
            }),
            rdev: m.rdev(),
            nlink: if ft.is_dir() { 0 } else { m.nlink() },
            mtime: m.mtime(),
            xattrs: xattrs(&path),
        };
        out.insert(rel, node);
        if ft.is_dir() {
            walk(root, &path, out);
        }
    }
}

pub fn xattrs(path: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut names = vec![0u8; 64 * 1024];
    let n = match rustix::fs::llistxattr(path, &mut names[..]) {
        Ok(n) => n,
        Err(_) => return Vec::new(),
    };
    let mut out = Vec::new();
    for name in names[..n].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let mut value = vec![0u8; 64 * 1024];
        let len = rustix::fs::lgetxattr(path, name, &mut value[..]).unwrap();
        value.truncate(len);
        out.push((name.to_vec(), value));
    }
    out.sort();
    out
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Skips a test (with a message) unless running as root.
#[macro_export]
macro_rules! require_root {
    () => {
        if !common::is_root() {
            eprintln!("skipped: needs root");
            return;
        }
    };
}
