//! COPY and ADD without a container: what is copied becomes a tar (sorted entries, owners
//! and modes as they will be in the image, one fixed mtime) whose sha256 is the cache key of
//! the step — so the key covers names, modes, owners and bytes but not mtimes. On a cache
//! miss the same tar is applied onto the parent's overlay, whose upper dir is the new layer.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use skiff_image::digest::Hasher;
use skiff_image::layer::tar_write::{Header, TarBuilder};
use skiff_image::layer::{apply_tar, compress, tar::TarReader, ApplyOptions};
use skiff_image::Digest;

use super::context::{clean_source, SourceRoot};
use super::error::BuildError;

/// One thing to copy.
pub enum CopyItem<'a> {
    /// A path (already glob-expanded) relative to a source root.
    Path {
        root: &'a SourceRoot<'a>,
        rel: String,
    },
    /// A here-document or a downloaded file: its name in the destination, bytes and mode.
    Bytes {
        name: String,
        data: Vec<u8>,
        mode: u32,
    },
}

/// A COPY/ADD after expansion.
pub struct CopyRequest<'a> {
    pub items: Vec<CopyItem<'a>>,
    /// Absolute destination in the image, as written after expansion (a trailing `/` means
    /// a directory).
    pub dest: String,
    /// `--chown` resolved to ids.
    pub owner: Option<(u32, u32)>,
    /// `--chmod`.
    pub chmod: Option<u32>,
    /// ADD: local tar archives are unpacked into the destination.
    pub extract_archives: bool,
    /// The mtime written for every entry.
    pub epoch: i64,
}

enum Data {
    None,
    File(PathBuf),
    Bytes(Vec<u8>),
}

/// What a COPY writes: tar entries by path, and archives to unpack (ADD).
pub struct CopyPlan {
    entries: BTreeMap<Vec<u8>, (Header, Data)>,
    /// (archive on the host, destination directory relative to the image root).
    archives: Vec<(PathBuf, String)>,
}

impl CopyPlan {
    /// Works out every entry. `rootfs` is the parent image's layers (read to see which
    /// destination directories exist already).
    pub fn new(req: &CopyRequest<'_>, rootfs: &LayerView) -> Result<CopyPlan, BuildError> {
        let mut plan = CopyPlan {
            entries: BTreeMap::new(),
            archives: Vec::new(),
        };
        let dest = clean_source(&req.dest).unwrap_or_default();
        let single_dir = matches!(req.items.as_slice(), [CopyItem::Path { root, rel }] if root.dir.join(rel).is_dir());
        let dest_is_dir = req.dest.ends_with('/')
            || req.dest.ends_with("/.")
            || dest.is_empty()
            || single_dir
            || rootfs.lookup(&dest).is_some_and(|m| m.is_dir());
        if req.items.len() > 1 && !dest_is_dir {
            return Err(BuildError::DestNotDir);
        }
        let (uid, gid) = req
            .owner
            .map_or((0, 0), |(u, g)| (u64::from(u), u64::from(g)));
        let join = |name: &str| {
            if dest.is_empty() {
                name.to_string()
            } else {
                format!("{dest}/{name}")
            }
        };
        for item in &req.items {
            match item {
                CopyItem::Bytes { name, data, mode } => {
                    let path = if dest_is_dir {
                        join(name)
                    } else {
                        dest.clone()
                    };
                    let mut h = Header::file(path.as_bytes(), data.len() as u64);
                    h.mode = req.chmod.unwrap_or(*mode);
                    plan.add(h, uid, gid, req.epoch, Data::Bytes(data.clone()));
                }
                CopyItem::Path { root, rel } => {
                    let host = root.dir.join(rel);
                    let meta =
                        fs::symlink_metadata(&host).map_err(BuildError::io("stat", &host))?;
                    if meta.is_dir() {
                        if !dest.is_empty() {
                            let mut h = Header::dir(dest.as_bytes());
                            h.mode = req.chmod.unwrap_or(meta.mode() & 0o7777);
                            plan.add(h, uid, gid, req.epoch, Data::None);
                        }
                        plan.walk(root, rel, &dest, req, uid, gid)?;
                        continue;
                    }
                    let base = rel.rsplit('/').next().unwrap_or(rel);
                    let target = if dest_is_dir {
                        join(base)
                    } else {
                        dest.clone()
                    };
                    if req.extract_archives && meta.is_file() && is_archive(&host) {
                        plan.archives.push((host, target_dir(&dest, dest_is_dir)));
                        continue;
                    }
                    plan.add_node(&host, &meta, &target, req, uid, gid)?;
                }
            }
        }
        if !plan.archives.is_empty() && !dest.is_empty() {
            let mut h = Header::dir(dest.as_bytes());
            h.mode = 0o755;
            plan.entries
                .entry(dest.clone().into_bytes())
                .or_insert((h, Data::None));
        }
        plan.add_parents(rootfs, uid, gid, req.epoch);
        Ok(plan)
    }

    fn add(&mut self, mut h: Header, uid: u64, gid: u64, epoch: i64, data: Data) {
        h.uid = uid;
        h.gid = gid;
        h.mtime = epoch;
        let key = h.path.strip_suffix(b"/").unwrap_or(&h.path).to_vec();
        self.entries.insert(key, (h, data));
    }

    /// A file, symlink or directory entry for `host` at `target`.
    fn add_node(
        &mut self,
        host: &Path,
        meta: &fs::Metadata,
        target: &str,
        req: &CopyRequest<'_>,
        uid: u64,
        gid: u64,
    ) -> Result<(), BuildError> {
        let mode = req.chmod.unwrap_or(meta.mode() & 0o7777);
        let kind = meta.file_type();
        if kind.is_symlink() {
            let link = fs::read_link(host).map_err(BuildError::io("read the link", host))?;
            let mut h = Header::symlink(target.as_bytes(), link.as_os_str().as_encoded_bytes());
            h.mode = 0o777;
            self.add(h, uid, gid, req.epoch, Data::None);
        } else if kind.is_dir() {
            let mut h = Header::dir(target.as_bytes());
            h.mode = mode;
            self.add(h, uid, gid, req.epoch, Data::None);
        } else if kind.is_file() {
            let mut h = Header::file(target.as_bytes(), meta.len());
            h.mode = mode;
            self.add(h, uid, gid, req.epoch, Data::File(host.to_owned()));
        }
        // Sockets, fifos and devices in a context are not copied, as with Docker.
        Ok(())
    }

    /// The content of directory `rel` under `dest`, skipping what `.dockerignore` hides.
    fn walk(
        &mut self,
        root: &SourceRoot<'_>,
        rel: &str,
        dest: &str,
        req: &CopyRequest<'_>,
        uid: u64,
        gid: u64,
    ) -> Result<(), BuildError> {
        let host = root.dir.join(rel);
        let mut names: Vec<String> = fs::read_dir(&host)
            .map_err(BuildError::io("list", &host))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        for name in names {
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let child_dest = if dest.is_empty() {
                name.clone()
            } else {
                format!("{dest}/{name}")
            };
            let child_host = root.dir.join(&child_rel);
            let meta =
                fs::symlink_metadata(&child_host).map_err(BuildError::io("stat", &child_host))?;
            let excluded = root.excluded(&child_rel);
            if excluded
                && !(meta.is_dir()
                    && root
                        .ignore
                        .is_some_and(|i| i.may_reinclude_under(&child_rel)))
            {
                continue;
            }
            if !excluded {
                self.add_node(&child_host, &meta, &child_dest, req, uid, gid)?;
            }
            if meta.is_dir() {
                self.walk(root, &child_rel, &child_dest, req, uid, gid)?;
            }
        }
        Ok(())
    }

    /// Directories leading to the entries that the parent image does not have: created
    /// 0755, owned by the `--chown` user like Docker's `MkdirAllAndChown`.
    fn add_parents(&mut self, rootfs: &LayerView, uid: u64, gid: u64, epoch: i64) {
        let mut missing = Vec::new();
        let mut check = |path: &str| {
            let mut at = 0;
            while let Some(i) = path[at..].find('/') {
                let parent = &path[..at + i];
                at += i + 1;
                if rootfs.lookup(parent).is_none() {
                    missing.push(parent.to_string());
                }
            }
        };
        for key in self.entries.keys() {
            check(&String::from_utf8_lossy(key));
        }
        for (_, dir) in &self.archives {
            check(&format!("{dir}/"));
        }
        for dir in missing {
            if !self.entries.contains_key(dir.as_bytes()) {
                let mut h = Header::dir(dir.as_bytes());
                h.mode = 0o755;
                self.add(h, uid, gid, epoch, Data::None);
            }
        }
    }

    /// The content hash of the step: the digest of the tar (not kept), mixed with the
    /// archives' digests. Reads every source once; writes nothing.
    pub fn digest(&self) -> Result<Digest, BuildError> {
        let mut hasher = self.write_tar(io::sink(), Path::new("(hash)"))?;
        for (archive, dir) in &self.archives {
            let mut file = File::open(archive).map_err(BuildError::io("read", archive))?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = file
                    .read(&mut buf)
                    .map_err(BuildError::io("read", archive))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
            hasher.update(format!("\0{dir}\0").as_bytes());
        }
        Ok(hasher.finish())
    }

    /// Writes the tar to the file `out` (for [`CopyPlan::apply`]).
    pub fn write(&self, out: &Path) -> Result<(), BuildError> {
        let file = File::create(out).map_err(BuildError::io("create", out))?;
        self.write_tar(BufWriter::new(file), out).map(drop)
    }

    fn write_tar<W: Write>(&self, out: W, what: &Path) -> Result<Hasher, BuildError> {
        let mut tar = TarBuilder::new(HashingWriter {
            inner: out,
            hasher: Hasher::new(),
        });
        for (header, data) in self.entries.values() {
            let result = match data {
                Data::None => tar.append(header, &mut io::empty()),
                Data::Bytes(bytes) => tar.append(header, &mut bytes.as_slice()),
                Data::File(path) => {
                    let mut file = File::open(path).map_err(BuildError::io("read", path))?;
                    tar.append(header, &mut file)
                }
            };
            result.map_err(BuildError::io("archive", what))?;
        }
        let mut finished = tar.finish().map_err(BuildError::io("write", what))?;
        finished
            .inner
            .flush()
            .map_err(BuildError::io("write", what))?;
        Ok(finished.hasher)
    }

    /// Applies the tar written by [`CopyPlan::write`] and unpacks the archives into `rootfs`.
    pub fn apply(&self, tar_path: &Path, rootfs: &Path) -> Result<(), BuildError> {
        let file = File::open(tar_path).map_err(BuildError::io("open", tar_path))?;
        let mut tar = TarReader::new(BufReader::new(file));
        apply_tar(rootfs, &mut tar, &ApplyOptions::default()).map_err(|source| {
            BuildError::Apply {
                dest: "/".into(),
                source,
            }
        })?;
        for (archive, dir) in &self.archives {
            let target = rootfs.join(dir);
            let file = File::open(archive).map_err(BuildError::io("open", archive))?;
            let (_, reader) = compress::decompressor(file)
                .map_err(|e| BuildError::io("decompress", archive)(io::Error::other(e)))?;
            let mut tar = TarReader::new(BufReader::new(reader));
            apply_tar(&target, &mut tar, &ApplyOptions::default()).map_err(|source| {
                BuildError::Apply {
                    dest: format!("/{dir}"),
                    source,
                }
            })?;
        }
        Ok(())
    }
}

/// The parent image's file tree seen through its unpacked layers, without mounting them.
pub struct LayerView {
    /// Layer diff dirs, top layer first.
    pub lowers: Vec<PathBuf>,
}

impl LayerView {
    /// The metadata of `rel` (relative to the image root) in the topmost layer that has it;
    /// `None` if no layer has it or the top one deletes it (an overlay whiteout).
    pub fn lookup(&self, rel: &str) -> Option<fs::Metadata> {
        if rel.is_empty() {
            return self
                .lowers
                .first()
                .and_then(|l| fs::symlink_metadata(l).ok());
        }
        for lower in &self.lowers {
            if let Ok(meta) = fs::symlink_metadata(lower.join(rel)) {
                use std::os::unix::fs::FileTypeExt;
                if meta.file_type().is_char_device() && meta.rdev() == 0 {
                    return None;
                }
                return Some(meta);
            }
        }
        None
    }
}

fn target_dir(dest: &str, dest_is_dir: bool) -> String {
    if dest_is_dir {
        dest.to_string()
    } else {
        dest.rsplit_once('/')
            .map_or(String::new(), |(parent, _)| parent.to_string())
    }
}

/// Whether ADD unpacks this file: a tar, plain or gzip/zstd-compressed (Docker also knows
/// bzip2 and xz; those are copied as files here — see the crate docs).
fn is_archive(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    let Ok((_, mut reader)) = compress::decompressor(file) else {
        return false;
    };
    let mut block = [0u8; 512];
    let mut filled = 0;
    while filled < block.len() {
        match reader.read(&mut block[filled..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    filled == 512 && (&block[257..262] == b"ustar") && tar_checksum_ok(&block)
}

fn tar_checksum_ok(block: &[u8; 512]) -> bool {
    let field = String::from_utf8_lossy(&block[148..156]);
    let Ok(expected) = u32::from_str_radix(field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
    else {
        return false;
    };
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(*b)
            }
        })
        .sum();
    sum == expected
}

struct HashingWriter<W> {
    inner: W,
    hasher: Hasher,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Parses `--chmod` (octal).
pub fn parse_chmod(text: &str) -> Option<u32> {
    u32::from_str_radix(text, 8).ok().filter(|m| *m <= 0o7777)
}
