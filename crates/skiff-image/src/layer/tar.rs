//! A streaming tar reader for layer blobs: ustar, PAX (`x` and `g` records: path, linkpath,
//! size, uid, gid, mtime, `SCHILY.xattr.*`), GNU long names and long link names (`L`, `K`).
//! GNU sparse files and multi-volume archives are refused with a clear error: image layers
//! never use them, and half-supporting them would unpack wrong files silently.
//!
//! The reader works on a `BufRead` so file data can be copied from its buffer straight into
//! the destination file, without an intermediate copy.

use std::io::{self, BufRead, Write};

const BLOCK: usize = 512;
/// Upper bound for PAX and GNU long-name records: far above PATH_MAX and any sane set of
/// xattrs, low enough that a hostile layer cannot make us allocate gigabytes.
const MAX_META_RECORD: u64 = 8 << 20;

#[derive(Debug, thiserror::Error)]
pub enum TarError {
    #[error("reading the layer stream failed at byte {offset}: {source}")]
    Io { offset: u64, source: io::Error },
    #[error(
        "the layer tar ends in the middle of an entry at byte {offset}: the blob is truncated"
    )]
    Truncated { offset: u64 },
    #[error("bad tar header at byte {offset}: {what} (the layer is corrupt or not a tar archive)")]
    BadHeader { offset: u64, what: String },
    #[error("tar entry {path:?} uses {what}, which skiff does not support in image layers")]
    Unsupported { path: String, what: String },
    #[error(
        "{what} record at byte {offset} is {size} bytes, over the {MAX_META_RECORD}-byte limit"
    )]
    RecordTooLarge {
        offset: u64,
        what: &'static str,
        size: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    HardLink,
    Symlink,
    CharDevice,
    BlockDevice,
    Directory,
    Fifo,
}

/// One archive member, its metadata merged from ustar, GNU and PAX records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The name as stored (not cleaned; the applier resolves it inside the root).
    pub path: Vec<u8>,
    pub kind: EntryKind,
    /// Permission bits including setuid, setgid and sticky (`0o7777`).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: i64,
    pub mtime_nsec: u32,
    /// Bytes of file data that follow (0 for everything but regular files).
    pub size: u64,
    /// Symlink target or hard-link target.
    pub link_name: Vec<u8>,
    pub dev_major: u32,
    pub dev_minor: u32,
    /// Extended attributes from `SCHILY.xattr.NAME` records, in archive order.
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Entry {
    pub fn path_lossy(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }
}

/// Metadata from PAX records, kept raw until the header it applies to is read.
#[derive(Default, Clone)]
struct Pax {
    path: Option<Vec<u8>>,
    linkpath: Option<Vec<u8>>,
    size: Option<u64>,
    uid: Option<u64>,
    gid: Option<u64>,
    mtime: Option<(i64, u32)>,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    sparse: bool,
}

pub struct TarReader<R> {
    inner: R,
    /// Bytes consumed from `inner` so far, for error messages.
    offset: u64,
    /// Data bytes of the current entry not read yet.
    remaining: u64,
    /// Padding after the current entry's data, up to the next block boundary.
    padding: u64,
    global: Pax,
    done: bool,
}

impl<R: BufRead> TarReader<R> {
    pub fn new(inner: R) -> TarReader<R> {
        TarReader {
            inner,
            offset: 0,
            remaining: 0,
            padding: 0,
            global: Pax::default(),
            done: false,
        }
    }

    /// Gives back the underlying reader (for draining what follows the archive).
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The next entry, or `None` at the end of the archive. Unread data of the previous
    /// entry is skipped.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, TarError> {
        if self.done {
            return Ok(None);
        }
        self.skip(self.remaining + self.padding)?;
        self.remaining = 0;
        self.padding = 0;
        let mut local = Pax::default();
        let mut gnu_name: Option<Vec<u8>> = None;
        let mut gnu_link: Option<Vec<u8>> = None;
        loop {
            let header_offset = self.offset;
            let mut header = [0u8; BLOCK];
            if !self.read_block(&mut header)? {
                if local.path.is_some()
                    || local.size.is_some()
                    || gnu_name.is_some()
                    || gnu_link.is_some()
                {
                    // Metadata for an entry that never came.
                    return Err(TarError::Truncated {
                        offset: self.offset,
                    });
                }
                // EOF without end-of-archive blocks: accepted, as Go's archive/tar and GNU
                // tar do (the diff id check catches a layer cut at an entry boundary).
                self.done = true;
                return Ok(None);
            }
            if header.iter().all(|&b| b == 0) {
                self.done = true;
                return Ok(None);
            }
            verify_checksum(&header, header_offset)?;
            let typeflag = header[156];
            let size = parse_number(&header[124..136], header_offset, "size")?;
            match typeflag {
                b'x' | b'g' => {
                    let data = self.read_record(size, header_offset, "PAX")?;
                    let target = if typeflag == b'x' {
                        &mut local
                    } else {
                        &mut self.global
                    };
                    parse_pax(&data, target, header_offset)?;
                    continue;
                }
                b'L' => {
                    gnu_name = Some(trim_nul(self.read_record(
                        size,
                        header_offset,
                        "GNU long name",
                    )?));
                    continue;
                }
                b'K' => {
                    gnu_link = Some(trim_nul(self.read_record(
                        size,
                        header_offset,
                        "GNU long link name",
                    )?));
                    continue;
                }
                b'V' => {
                    // A volume label carries no file.
                    self.skip(padded(size))?;
                    continue;
                }
                _ => {}
            }
            let entry =
                self.build_entry(&header, header_offset, size, &local, gnu_name, gnu_link)?;
            // Like Go's archive/tar: only regular-file typeflags carry data (even when an old
            // archive marks a directory with a trailing slash); for header-only types a size
            // field is ignored.
            self.remaining = match typeflag {
                b'0' | 0 | b'7' => local.size.or(self.global.size).unwrap_or(size),
                _ => 0,
            };
            self.padding = padded(self.remaining) - self.remaining;
            return Ok(Some(entry));
        }
    }

    fn build_entry(
        &self,
        h: &[u8; BLOCK],
        offset: u64,
        header_size: u64,
        local: &Pax,
        gnu_name: Option<Vec<u8>>,
        gnu_link: Option<Vec<u8>>,
    ) -> Result<Entry, TarError> {
        let ustar = &h[257..263] == b"ustar\0";
        let path = match (
            local.path.clone().or_else(|| self.global.path.clone()),
            gnu_name,
        ) {
            (Some(p), _) => p,
            (None, Some(p)) => p,
            (None, None) => {
                let name = field_bytes(&h[0..100]);
                let prefix = field_bytes(&h[345..500]);
                if ustar && !prefix.is_empty() {
                    [prefix, b"/", name].concat()
                } else {
                    name.to_vec()
                }
            }
        };
        let link_name = match (
            local
                .linkpath
                .clone()
                .or_else(|| self.global.linkpath.clone()),
            gnu_link,
        ) {
            (Some(p), _) => p,
            (None, Some(p)) => p,
            (None, None) => field_bytes(&h[157..257]).to_vec(),
        };
        let unsupported = |what: &str| TarError::Unsupported {
            path: String::from_utf8_lossy(&path).into_owned(),
            what: what.to_owned(),
        };
        if local.sparse || self.global.sparse {
            return Err(unsupported("a GNU sparse file (PAX GNU.sparse records)"));
        }
        let kind = match h[156] {
            b'0' | 0 | b'7' => {
                // Pre-POSIX archives mark directories with a trailing slash.
                if path.ends_with(b"/") {
                    EntryKind::Directory
                } else {
                    EntryKind::File
                }
            }
            b'1' => EntryKind::HardLink,
            b'2' => EntryKind::Symlink,
            b'3' => EntryKind::CharDevice,
            b'4' => EntryKind::BlockDevice,
            b'5' => EntryKind::Directory,
            b'6' => EntryKind::Fifo,
            b'S' => return Err(unsupported("a GNU sparse file (typeflag S)")),
            b'M' => return Err(unsupported("a GNU multi-volume continuation (typeflag M)")),
            other => {
                return Err(unsupported(&format!(
                    "the unknown entry type {:?}",
                    other as char
                )))
            }
        };
        let num = |range: std::ops::Range<usize>, what: &str| parse_number(&h[range], offset, what);
        let size = if kind == EntryKind::File {
            local.size.or(self.global.size).unwrap_or(header_size)
        } else {
            0
        };
        let (mtime, mtime_nsec) = match local.mtime.or(self.global.mtime) {
            Some(t) => t,
            None => (num(136..148, "mtime")? as i64, 0),
        };
        let mut xattrs = self.global.xattrs.clone();
        for (k, v) in &local.xattrs {
            xattrs.retain(|(gk, _)| gk != k);
            xattrs.push((k.clone(), v.clone()));
        }
        let devices = matches!(kind, EntryKind::CharDevice | EntryKind::BlockDevice);
        Ok(Entry {
            kind,
            mode: (num(100..108, "mode")? & 0o7777) as u32,
            uid: local
                .uid
                .or(self.global.uid)
                .map_or_else(|| num(108..116, "uid"), Ok)?,
            gid: local
                .gid
                .or(self.global.gid)
                .map_or_else(|| num(116..124, "gid"), Ok)?,
            mtime,
            mtime_nsec,
            size,
            link_name,
            dev_major: if devices {
                num(329..337, "devmajor")? as u32
            } else {
                0
            },
            dev_minor: if devices {
                num(337..345, "devminor")? as u32
            } else {
                0
            },
            xattrs,
            path,
        })
    }

    /// Reads up to `buf.len()` bytes of the current entry's data.
    pub fn read_data(&mut self, buf: &mut [u8]) -> Result<usize, TarError> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(self.remaining as usize);
        let n = loop {
            match self.inner.read(&mut buf[..want]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(TarError::Io {
                        offset: self.offset,
                        source,
                    })
                }
            }
        };
        if n == 0 {
            return Err(TarError::Truncated {
                offset: self.offset,
            });
        }
        self.remaining -= n as u64;
        self.offset += n as u64;
        Ok(n)
    }

    /// Copies the current entry's data into `out` straight from the read buffer.
    /// Returns `Err(Ok(io))` for errors of `out`, so the caller can name the file.
    pub fn copy_data(&mut self, out: &mut impl Write) -> Result<u64, CopyError> {
        let mut copied = 0;
        while self.remaining > 0 {
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(CopyError::Read(TarError::Io {
                        offset: self.offset,
                        source,
                    }))
                }
            };
            if buf.is_empty() {
                return Err(CopyError::Read(TarError::Truncated {
                    offset: self.offset,
                }));
            }
            let n = buf.len().min(self.remaining as usize);
            out.write_all(&buf[..n]).map_err(CopyError::Write)?;
            self.inner.consume(n);
            self.remaining -= n as u64;
            self.offset += n as u64;
            copied += n as u64;
        }
        Ok(copied)
    }

    fn read_block(&mut self, block: &mut [u8; BLOCK]) -> Result<bool, TarError> {
        let mut filled = 0;
        while filled < BLOCK {
            match self.inner.read(&mut block[filled..]) {
                Ok(0) if filled == 0 => return Ok(false),
                Ok(0) => {
                    return Err(TarError::Truncated {
                        offset: self.offset + filled as u64,
                    })
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(TarError::Io {
                        offset: self.offset,
                        source,
                    })
                }
            }
        }
        self.offset += BLOCK as u64;
        Ok(true)
    }

    fn read_record(
        &mut self,
        size: u64,
        offset: u64,
        what: &'static str,
    ) -> Result<Vec<u8>, TarError> {
        if size > MAX_META_RECORD {
            return Err(TarError::RecordTooLarge { offset, what, size });
        }
        let mut data = vec![0u8; size as usize];
        self.read_exact(&mut data)?;
        self.skip(padded(size) - size)?;
        Ok(data)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), TarError> {
        self.inner.read_exact(buf).map_err(|source| {
            if source.kind() == io::ErrorKind::UnexpectedEof {
                TarError::Truncated {
                    offset: self.offset,
                }
            } else {
                TarError::Io {
                    offset: self.offset,
                    source,
                }
            }
        })?;
        self.offset += buf.len() as u64;
        Ok(())
    }

    fn skip(&mut self, mut n: u64) -> Result<(), TarError> {
        while n > 0 {
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(TarError::Io {
                        offset: self.offset,
                        source,
                    })
                }
            };
            if buf.is_empty() {
                return Err(TarError::Truncated {
                    offset: self.offset,
                });
            }
            let k = buf.len().min(n as usize);
            self.inner.consume(k);
            n -= k as u64;
            self.offset += k as u64;
        }
        Ok(())
    }
}

/// Failure of [`TarReader::copy_data`]: reading the archive or writing the destination.
#[derive(Debug)]
pub enum CopyError {
    Read(TarError),
    Write(io::Error),
}

fn padded(n: u64) -> u64 {
    n.div_ceil(BLOCK as u64) * BLOCK as u64
}

fn trim_nul(mut v: Vec<u8>) -> Vec<u8> {
    while v.last() == Some(&0) {
        v.pop();
    }
    v
}

/// A NUL-terminated header field.
fn field_bytes(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    &field[..end]
}

fn verify_checksum(h: &[u8; BLOCK], offset: u64) -> Result<(), TarError> {
    let stored = parse_octal(&h[148..156]).ok_or_else(|| TarError::BadHeader {
        offset,
        what: format!(
            "unreadable checksum field {:?}",
            String::from_utf8_lossy(&h[148..156])
        ),
    })?;
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (i, &b) in h.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += b as u64;
        signed += b as i8 as i64;
    }
    if stored == unsigned || stored as i64 == signed {
        Ok(())
    } else {
        Err(TarError::BadHeader {
            offset,
            what: format!("checksum {stored} does not match the header ({unsigned})"),
        })
    }
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let s = field_bytes(field);
    let s = s
        .iter()
        .skip_while(|&&b| b == b' ')
        .take_while(|&&b| b != b' ');
    let mut v: u64 = 0;
    let mut any = false;
    for &b in s {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add((b - b'0') as u64)?;
        any = true;
    }
    any.then_some(v).or(Some(0))
}

/// Octal, or GNU base-256 (high bit of the first byte set) for values that do not fit.
fn parse_number(field: &[u8], offset: u64, what: &str) -> Result<u64, TarError> {
    let bad = || TarError::BadHeader {
        offset,
        what: format!("invalid {what} field {:?}", String::from_utf8_lossy(field)),
    };
    if field[0] & 0x80 != 0 {
        if field[0] == 0xff {
            return Err(bad()); // negative
        }
        let mut v: u64 = (field[0] & 0x7f) as u64;
        for &b in &field[1..] {
            v = v
                .checked_mul(256)
                .ok_or_else(bad)?
                .checked_add(b as u64)
                .ok_or_else(bad)?;
        }
        return Ok(v);
    }
    parse_octal(field).ok_or_else(bad)
}

/// Parses `"%d %s=%s\n"` records.
fn parse_pax(mut data: &[u8], pax: &mut Pax, offset: u64) -> Result<(), TarError> {
    let bad = |what: String| TarError::BadHeader { offset, what };
    while !data.is_empty() {
        if data.iter().all(|&b| b == 0) {
            break; // padding some writers leave
        }
        let space = data
            .iter()
            .position(|&b| b == b' ')
            .ok_or_else(|| bad("PAX record without length".into()))?;
        let len: usize = std::str::from_utf8(&data[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("PAX record with a bad length".into()))?;
        if len <= space + 1 || len > data.len() || data[len - 1] != b'\n' {
            return Err(bad(format!(
                "PAX record length {len} does not fit the record"
            )));
        }
        let record = &data[space + 1..len - 1];
        data = &data[len..];
        let eq = record
            .iter()
            .position(|&b| b == b'=')
            .ok_or_else(|| bad("PAX record without '='".into()))?;
        let (key, value) = (&record[..eq], &record[eq + 1..]);
        let num = |v: &[u8]| -> Result<u64, TarError> {
            std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| {
                    bad(format!(
                        "PAX {} value {:?} is not a number",
                        String::from_utf8_lossy(key),
                        String::from_utf8_lossy(v)
                    ))
                })
        };
        // An empty value removes a global setting for this entry; we treat it as unset.
        let empty = value.is_empty();
        match key {
            b"path" => pax.path = (!empty).then(|| value.to_vec()),
            b"linkpath" => pax.linkpath = (!empty).then(|| value.to_vec()),
            b"size" => pax.size = if empty { None } else { Some(num(value)?) },
            b"uid" => pax.uid = if empty { None } else { Some(num(value)?) },
            b"gid" => pax.gid = if empty { None } else { Some(num(value)?) },
            b"mtime" => {
                pax.mtime = if empty {
                    None
                } else {
                    Some(
                        parse_pax_time(value)
                            .ok_or_else(|| bad("PAX mtime is not a time".into()))?,
                    )
                }
            }
            _ if key.starts_with(b"SCHILY.xattr.") => {
                pax.xattrs
                    .push((key[b"SCHILY.xattr.".len()..].to_vec(), value.to_vec()));
            }
            _ if key.starts_with(b"GNU.sparse.") => pax.sparse = true,
            _ => {} // atime, ctime, uname, gname, comment, charset, …: not needed
        }
    }
    Ok(())
}

/// `seconds[.fraction]`, possibly negative.
fn parse_pax_time(v: &[u8]) -> Option<(i64, u32)> {
    let s = std::str::from_utf8(v).ok()?;
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = secs.parse().ok()?;
    let digits: String = frac.chars().take(9).collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let nsec = if digits.is_empty() {
        0
    } else {
        format!("{digits:0<9}").parse().ok()?
    };
    Some((secs, nsec))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::tar_write::{Header, TarBuilder};

    fn entries(tar: &[u8]) -> Vec<(Entry, Vec<u8>)> {
        let mut r = TarReader::new(tar);
        let mut out = Vec::new();
        while let Some(e) = r.next_entry().unwrap() {
            let mut data = Vec::new();
            r.copy_data(&mut data).map_err(|_| "copy").unwrap();
            out.push((e, data));
        }
        out
    }

    /// Runs GNU tar on a tree, returns the archive.
    fn gnu_tar(args: &[&str], dir: &std::path::Path) -> Vec<u8> {
        let out = std::process::Command::new("tar")
            .args(args)
            .arg("-C")
            .arg(dir)
            .args(["-cf", "-", "."])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    #[test]
    fn reads_gnu_long_names_and_long_link_names() {
        let dir = tempfile::tempdir().unwrap();
        let long_dir = "d".repeat(120);
        let long_file = "f".repeat(150);
        std::fs::create_dir(dir.path().join(&long_dir)).unwrap();
        std::fs::write(dir.path().join(&long_dir).join(&long_file), b"content").unwrap();
        let target = "t".repeat(200);
        std::os::unix::fs::symlink(&target, dir.path().join("link")).unwrap();
        std::fs::hard_link(
            dir.path().join(&long_dir).join(&long_file),
            dir.path().join("hard"),
        )
        .unwrap();
        let tar = gnu_tar(&["--format=gnu", "--sort=name"], dir.path());
        let got = entries(&tar);
        let find = |p: &str| {
            got.iter()
                .find(|(e, _)| e.path == p.as_bytes())
                .unwrap_or_else(|| panic!("{p} missing"))
        };
        let (file, data) = find(&format!("./{long_dir}/{long_file}"));
        assert_eq!(file.kind, EntryKind::File);
        assert_eq!(data, b"content");
        let (link, _) = find("./link");
        assert_eq!(
            (link.kind, link.link_name.clone()),
            (EntryKind::Symlink, target.into_bytes())
        );
        // The hard link to the long path needs a GNU K record.
        let (hard, _) = got
            .iter()
            .find(|(e, _)| e.kind == EntryKind::HardLink)
            .unwrap();
        let linked = [hard.path.clone(), hard.link_name.clone()];
        assert!(
            linked.contains(&format!("./{long_dir}/{long_file}").into_bytes()),
            "{hard:?}"
        );
    }

    #[test]
    fn reads_pax_paths_xattrs_and_times() {
        let dir = tempfile::tempdir().unwrap();
        let long = format!("{}/{}", "p".repeat(90), "q".repeat(180));
        std::fs::create_dir_all(dir.path().join(long.rsplit_once('/').unwrap().0)).unwrap();
        std::fs::write(dir.path().join(&long), b"pax").unwrap();
        let capfile = dir.path().join("cap");
        std::fs::write(&capfile, b"x").unwrap();
        rustix::fs::setxattr(
            &capfile,
            "user.skiff",
            b"v1",
            rustix::fs::XattrFlags::empty(),
        )
        .unwrap();
        let t = std::process::Command::new("touch")
            .args(["-d", "@1700000000.123456789"])
            .arg(&capfile)
            .status()
            .unwrap();
        assert!(t.success());
        let tar = gnu_tar(
            &[
                "--format=posix",
                "--xattrs",
                "--xattrs-include=*",
                "--sort=name",
            ],
            dir.path(),
        );
        let got = entries(&tar);
        let (f, data) = got
            .iter()
            .find(|(e, _)| e.path == format!("./{long}").as_bytes())
            .expect("long PAX path");
        assert_eq!(f.kind, EntryKind::File);
        assert_eq!(data, b"pax");
        let (cap, _) = got.iter().find(|(e, _)| e.path == b"./cap").unwrap();
        assert_eq!(cap.xattrs, vec![(b"user.skiff".to_vec(), b"v1".to_vec())]);
        assert_eq!((cap.mtime, cap.mtime_nsec), (1_700_000_000, 123_456_789));
    }

    #[test]
    fn global_pax_and_base256_and_writer_roundtrip() {
        let mut out = Vec::new();
        let mut b = TarBuilder::new(&mut out);
        b.append_pax_global(&[("uid", b"4242".as_slice())]).unwrap();
        let mut h = Header::file("a/b", 3);
        h.gid = 3_000_000_000; // does not fit 7 octal digits: PAX or base-256
        h.xattrs.push((
            "security.capability".into(),
            vec![
                1, 0, 0, 2, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
        ));
        b.append(&h, &mut &b"abc"[..]).unwrap();
        let long_link = "l".repeat(300);
        b.append(&Header::symlink("s", &long_link), &mut io::empty())
            .unwrap();
        b.append(&Header::char_device("dev/null", 1, 3), &mut io::empty())
            .unwrap();
        b.finish().unwrap();
        let got = entries(&out);
        assert_eq!(got.len(), 3);
        assert_eq!((got[0].0.uid, got[0].0.gid), (4242, 3_000_000_000));
        assert_eq!(got[0].1, b"abc");
        assert_eq!(got[0].0.xattrs[0].0, b"security.capability");
        assert_eq!(got[1].0.link_name, long_link.as_bytes());
        assert_eq!(
            got[1].0.uid, 4242,
            "global PAX applies to every later entry"
        );
        assert_eq!(
            (got[2].0.kind, got[2].0.dev_major, got[2].0.dev_minor),
            (EntryKind::CharDevice, 1, 3)
        );
        // GNU tar reads what we write.
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("tar")
            .args(["-tvf", "-", "--numeric-owner"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .current_dir(dir.path())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&out).unwrap();
        let listing = child.wait_with_output().unwrap();
        assert!(listing.status.success());
        let listing = String::from_utf8_lossy(&listing.stdout);
        assert!(
            listing.contains("4242/3000000000") && listing.contains(&long_link),
            "{listing}"
        );
        // Base-256 numbers as GNU writes them for huge uids.
        let mut field = [0u8; 8];
        field[0] = 0x80;
        field[4..].copy_from_slice(&5_000_000_000u64.to_be_bytes()[4..]);
        field[3] = 1;
        assert_eq!(
            parse_number(&field, 0, "uid").unwrap(),
            (1u64 << 32) + (5_000_000_000u64 & 0xffff_ffff)
        );
    }

    #[test]
    fn rejects_sparse_corrupt_and_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let f = std::fs::File::create(dir.path().join("sparse")).unwrap();
        f.set_len(1 << 20).unwrap();
        drop(f);
        let tar = gnu_tar(&["--format=gnu", "--sparse"], dir.path());
        let mut r = TarReader::new(&tar[..]);
        let err = loop {
            match r.next_entry() {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("sparse entry accepted"),
                Err(e) => break e,
            }
        };
        assert!(
            matches!(err, TarError::Unsupported { .. }) && err.to_string().contains("sparse"),
            "{err}"
        );

        let mut out = Vec::new();
        let mut b = TarBuilder::new(&mut out);
        b.append(&Header::file("x", 1000), &mut &[7u8; 1000][..])
            .unwrap();
        b.finish().unwrap();
        let mut corrupt = out.clone();
        corrupt[10] ^= 1;
        assert!(matches!(
            TarReader::new(&corrupt[..]).next_entry(),
            Err(TarError::BadHeader { .. })
        ));
        let truncated = &out[..700];
        let mut r = TarReader::new(truncated);
        r.next_entry().unwrap().unwrap();
        let mut sink = Vec::new();
        assert!(matches!(
            r.copy_data(&mut sink),
            Err(CopyError::Read(TarError::Truncated { .. }))
        ));
        let huge_pax = {
            let mut h = [0u8; 512];
            h[156] = b'x';
            h[124..136].copy_from_slice(b"77777777777\0");
            h[148..156].copy_from_slice(b"        ");
            let sum: u64 = h.iter().map(|&b| b as u64).sum();
            h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
            h
        };
        assert!(matches!(
            TarReader::new(&huge_pax[..]).next_entry(),
            Err(TarError::RecordTooLarge { .. })
        ));
    }

    #[test]
    fn old_style_directory_with_data_stays_in_step() {
        let mut out = Vec::new();
        let mut b = TarBuilder::new(&mut out);
        // A regular-file typeflag with a trailing slash is a directory, but its data (if any)
        // still occupies the archive.
        b.append(&Header::file("olddir/", 600), &mut &[1u8; 600][..])
            .unwrap();
        b.append(&Header::file("next", 2), &mut &b"ok"[..]).unwrap();
        b.finish().unwrap();
        let got = entries(&out);
        assert_eq!(got[0].0.kind, EntryKind::Directory);
        assert_eq!(
            (got[1].0.path.as_slice(), got[1].1.as_slice()),
            (&b"next"[..], &b"ok"[..])
        );
    }
}
