//! The reverse of the applier: a directory (a container's overlay upper dir, or any rootfs)
//! written as a layer tar, for commit, build and save.
//!
//! - Overlay whiteouts become tar whiteouts: a 0:0 character device `NAME` is written as an
//!   empty file `.wh.NAME`, an opaque directory (`trusted.overlay.opaque=y`) gets a
//!   `.wh..wh..opq` entry.
//! - Deterministic: entries sorted by name bytes, numeric owners only, xattrs sorted, and
//!   optionally one fixed mtime for every entry; hard links inside the tree become tar
//!   hard links to the first path seen.
//! - The walk never follows a symlink: it goes through directory descriptors opened with
//!   `O_NOFOLLOW`, so a container cannot redirect it outside its upper dir.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{
    fgetxattr, flistxattr, lgetxattr, llistxattr, major, minor, openat, readlinkat, statat,
    AtFlags, Dir, FileType, Mode, OFlags, Stat,
};
use rustix::io::Errno;

use super::tar_write::{Header, TarBuilder, TYPE_BLOCK, TYPE_CHAR, TYPE_FIFO};
use super::whiteout::{self, OPAQUE_MARKER, OPAQUE_XATTR, WHITEOUT_PREFIX};
use crate::digest::{Digest, Hasher};

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("archiving {path}: cannot {action}: {source}")]
    Read {
        path: PathBuf,
        action: &'static str,
        source: io::Error,
    },
    #[error("writing the layer tar failed at {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

#[derive(Clone, Debug, Default)]
pub struct DiffOptions {
    /// Convert overlayfs whiteouts (0:0 char devices, opaque xattr) to tar whiteouts.
    pub overlay_whiteouts: bool,
    /// Write this mtime on every entry instead of the files' own (reproducible layers).
    pub fixed_mtime: Option<i64>,
}

/// What was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffSummary {
    /// sha256 of the tar: the layer's diff id.
    pub diff_id: Digest,
    pub size: u64,
    pub entries: u64,
}

/// Writes `dir`'s content as a tar to `out`.
pub fn write_layer<W: Write>(
    dir: &Path,
    out: W,
    options: &DiffOptions,
) -> Result<(W, DiffSummary), DiffError> {
    let read_err = |action| {
        move |e: Errno| DiffError::Read {
            path: dir.to_owned(),
            action,
            source: e.into(),
        }
    };
    let root = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(read_err("open the directory"))?;
    let mut walker = Walker {
        base: dir.to_owned(),
        tar: TarBuilder::new(HashingWriter {
            inner: out,
            hasher: Hasher::new(),
            size: 0,
        }),
        options: options.clone(),
        links: HashMap::new(),
        entries: 0,
    };
    walker.walk(root.as_fd(), &mut Vec::new())?;
    let finished = walker.tar.finish().map_err(|source| DiffError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let summary = DiffSummary {
        diff_id: finished.hasher.finish(),
        size: finished.size,
        entries: walker.entries,
    };
    Ok((finished.inner, summary))
}

struct Walker<W: Write> {
    base: PathBuf,
    tar: TarBuilder<HashingWriter<W>>,
    options: DiffOptions,
    /// (dev, ino) of files with several links -> the tar path written first.
    links: HashMap<(u64, u64), Vec<u8>>,
    entries: u64,
}

impl<W: Write> Walker<W> {
    fn walk(&mut self, dir: BorrowedFd<'_>, prefix: &mut Vec<u8>) -> Result<(), DiffError> {
        let mut names: Vec<Vec<u8>> = Vec::new();
        let dir_path = self.base.join(OsStr::from_bytes(prefix));
        for entry in
            Dir::read_from(dir).map_err(|e| self.read_err(&dir_path, "list the directory", e))?
        {
            let entry = entry.map_err(|e| self.read_err(&dir_path, "list the directory", e))?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                names.push(name.to_vec());
            }
        }
        names.sort();
        for name in names {
            let prefix_len = prefix.len();
            prefix.extend_from_slice(&name);
            let result = self.entry(dir, &name, prefix);
            prefix.truncate(prefix_len);
            result?;
        }
        Ok(())
    }

    fn entry(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        path: &mut Vec<u8>,
    ) -> Result<(), DiffError> {
        let full = self.base.join(OsStr::from_bytes(path));
        let st = statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| self.read_err(&full, "stat", e))?;
        let file_type = FileType::from_raw_mode(st.st_mode);
        let mut h = self.header_base(&st, path);
        match file_type {
            FileType::Directory => {
                let fd = openat(
                    dir,
                    name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| self.read_err(&full, "open the directory", e))?;
                let xattrs = read_xattrs(XattrSource::Fd(fd.as_fd()))
                    .map_err(|e| self.read_err(&full, "read xattrs", e))?;
                let opaque = self.options.overlay_whiteouts
                    && xattrs
                        .iter()
                        .any(|(k, v)| k == OPAQUE_XATTR.as_bytes() && v == b"y");
                let mut dir_header = Header::dir(&h.path);
                dir_header.mode = h.mode;
                dir_header.uid = h.uid;
                dir_header.gid = h.gid;
                dir_header.mtime = h.mtime;
                dir_header.xattrs = xattrs
                    .into_iter()
                    .filter(|(k, _)| !whiteout::is_overlay_xattr(k))
                    .collect();
                self.append(&dir_header, &mut io::empty(), &full)?;
                if opaque {
                    let mut marker = Header::file([&h.path[..], b"/", OPAQUE_MARKER].concat(), 0);
                    marker.mode = h.mode & 0o777;
                    marker.uid = h.uid;
                    marker.gid = h.gid;
                    marker.mtime = h.mtime;
                    self.append(&marker, &mut io::empty(), &full)?;
                }
                path.push(b'/');
                self.walk(fd.as_fd(), path)?;
                path.pop();
                Ok(())
            }
            FileType::RegularFile => {
                if st.st_nlink > 1 {
                    let key = (st.st_dev, st.st_ino);
                    if let Some(first) = self.links.get(&key) {
                        let mut link = Header::hardlink(&h.path, first);
                        link.mode = h.mode;
                        link.uid = h.uid;
                        link.gid = h.gid;
                        link.mtime = h.mtime;
                        return self.append(&link, &mut io::empty(), &full);
                    }
                    self.links.insert(key, h.path.clone());
                }
                let fd: OwnedFd = openat(
                    dir,
                    name,
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| self.read_err(&full, "open", e))?;
                h.xattrs = read_xattrs(XattrSource::Fd(fd.as_fd()))
                    .map_err(|e| self.read_err(&full, "read xattrs", e))?;
                h.xattrs.retain(|(k, _)| !whiteout::is_overlay_xattr(k));
                h.size = st.st_size as u64;
                let mut file = File::from(fd);
                self.append(&h, &mut file, &full)
            }
            FileType::Symlink => {
                let target = readlinkat(dir, name, Vec::new())
                    .map_err(|e| self.read_err(&full, "read the symlink", e))?;
                let mut link = Header::symlink(&h.path, target.as_bytes());
                link.uid = h.uid;
                link.gid = h.gid;
                link.mtime = h.mtime;
                link.xattrs = self.xattrs_by_name(dir, name, &full)?;
                self.append(&link, &mut io::empty(), &full)
            }
            FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo => {
                let rdev = st.st_rdev;
                if self.options.overlay_whiteouts
                    && file_type == FileType::CharacterDevice
                    && rdev == 0
                {
                    let (parent, base) = split_last(&h.path);
                    let mut wh = Header::file([parent, WHITEOUT_PREFIX, base].concat(), 0);
                    wh.mode = 0o600;
                    wh.uid = h.uid;
                    wh.gid = h.gid;
                    wh.mtime = h.mtime;
                    return self.append(&wh, &mut io::empty(), &full);
                }
                h.typeflag = match file_type {
                    FileType::CharacterDevice => TYPE_CHAR,
                    FileType::BlockDevice => TYPE_BLOCK,
                    _ => TYPE_FIFO,
                };
                if h.typeflag != TYPE_FIFO {
                    h.dev_major = major(rdev);
                    h.dev_minor = minor(rdev);
                }
                h.xattrs = self.xattrs_by_name(dir, name, &full)?;
                self.append(&h, &mut io::empty(), &full)
            }
            // Sockets cannot be stored in tar (GNU tar skips them too).
            _ => {
                tracing::debug!(path = %full.display(), "skipping socket");
                Ok(())
            }
        }
    }

    fn header_base(&self, st: &Stat, path: &[u8]) -> Header {
        let mut h = Header::file(path, 0);
        h.mode = st.st_mode & 0o7777;
        h.uid = st.st_uid as u64;
        h.gid = st.st_gid as u64;
        h.mtime = self.options.fixed_mtime.unwrap_or(st.st_mtime);
        h
    }

    fn xattrs_by_name(
        &self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        full: &Path,
    ) -> Result<Xattrs, DiffError> {
        let mut path = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
        path.extend_from_slice(name);
        let mut xattrs = read_xattrs(XattrSource::Path(Path::new(OsStr::from_bytes(&path))))
            .map_err(|e| self.read_err(full, "read xattrs", e))?;
        xattrs.retain(|(k, _)| !whiteout::is_overlay_xattr(k));
        Ok(xattrs)
    }

    fn append(
        &mut self,
        h: &Header,
        data: &mut dyn io::Read,
        full: &Path,
    ) -> Result<(), DiffError> {
        self.entries += 1;
        self.tar.append(h, data).map_err(|source| DiffError::Write {
            path: full.to_owned(),
            source,
        })
    }

    fn read_err(&self, path: &Path, action: &'static str, e: Errno) -> DiffError {
        DiffError::Read {
            path: path.to_owned(),
            action,
            source: e.into(),
        }
    }
}

fn split_last(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => (&[], path),
    }
}

/// (name, value) pairs.
type Xattrs = Vec<(Vec<u8>, Vec<u8>)>;

enum XattrSource<'a> {
    Fd(BorrowedFd<'a>),
    /// Not followed at the last component (for symlinks and device nodes).
    Path(&'a Path),
}

/// All xattrs, sorted by name.
fn read_xattrs(source: XattrSource<'_>) -> Result<Xattrs, Errno> {
    let mut names = vec![0u8; 1024];
    let len = loop {
        let r = match source {
            XattrSource::Fd(fd) => flistxattr(fd, &mut names[..]),
            XattrSource::Path(p) => llistxattr(p, &mut names[..]),
        };
        match r {
            Ok(n) => break n,
            Err(Errno::RANGE) => names.resize(names.len() * 4, 0),
            Err(Errno::NOTSUP) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        }
    };
    let mut out = Vec::new();
    for name in names[..len].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let mut value = vec![0u8; 256];
        let n = loop {
            let r = match source {
                XattrSource::Fd(fd) => fgetxattr(fd, name, &mut value[..]),
                XattrSource::Path(p) => lgetxattr(p, name, &mut value[..]),
            };
            match r {
                Ok(n) => break n,
                Err(Errno::RANGE) => value.resize(value.len() * 4, 0),
                Err(e) => return Err(e),
            }
        };
        value.truncate(n);
        out.push((name.to_vec(), value));
    }
    out.sort();
    Ok(out)
}

struct HashingWriter<W> {
    inner: W,
    hasher: Hasher,
    size: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
