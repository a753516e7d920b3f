//! A deterministic tar writer: ustar headers, with a PAX record in front of an entry only
//! when something does not fit ustar (long names or link targets, big numbers, negative
//! times, xattrs). No user or group names, no atime/ctime: the same input always gives the
//! same bytes, so layer digests are reproducible.
//!
//! This file only uses `std`: the build script includes it to pack the built-in image.

use std::io::{self, Read, Write};

const BLOCK: usize = 512;

pub const TYPE_FILE: u8 = b'0';
pub const TYPE_HARDLINK: u8 = b'1';
pub const TYPE_SYMLINK: u8 = b'2';
pub const TYPE_CHAR: u8 = b'3';
pub const TYPE_BLOCK: u8 = b'4';
pub const TYPE_DIR: u8 = b'5';
pub const TYPE_FIFO: u8 = b'6';

/// Everything written for one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub path: Vec<u8>,
    pub typeflag: u8,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    pub mtime: i64,
    pub link_name: Vec<u8>,
    pub dev_major: u32,
    pub dev_minor: u32,
    /// Written as `SCHILY.xattr.NAME` PAX records, in this order.
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Header {
    fn new(path: &[u8], typeflag: u8, mode: u32) -> Header {
        Header {
            path: path.to_vec(),
            typeflag,
            mode,
            uid: 0,
            gid: 0,
            size: 0,
            mtime: 0,
            link_name: Vec::new(),
            dev_major: 0,
            dev_minor: 0,
            xattrs: Vec::new(),
        }
    }
    pub fn file(path: impl AsRef<[u8]>, size: u64) -> Header {
        Header {
            size,
            ..Header::new(path.as_ref(), TYPE_FILE, 0o644)
        }
    }
    /// Directory names get the trailing slash Docker and GNU tar write.
    pub fn dir(path: impl AsRef<[u8]>) -> Header {
        let mut p = path.as_ref().to_vec();
        if !p.ends_with(b"/") {
            p.push(b'/');
        }
        Header::new(&p, TYPE_DIR, 0o755)
    }
    pub fn symlink(path: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> Header {
        Header {
            link_name: target.as_ref().to_vec(),
            ..Header::new(path.as_ref(), TYPE_SYMLINK, 0o777)
        }
    }
    pub fn hardlink(path: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> Header {
        Header {
            link_name: target.as_ref().to_vec(),
            ..Header::new(path.as_ref(), TYPE_HARDLINK, 0o644)
        }
    }
    pub fn char_device(path: impl AsRef<[u8]>, major: u32, minor: u32) -> Header {
        Header {
            dev_major: major,
            dev_minor: minor,
            ..Header::new(path.as_ref(), TYPE_CHAR, 0o666)
        }
    }
    pub fn block_device(path: impl AsRef<[u8]>, major: u32, minor: u32) -> Header {
        Header {
            dev_major: major,
            dev_minor: minor,
            ..Header::new(path.as_ref(), TYPE_BLOCK, 0o660)
        }
    }
    pub fn fifo(path: impl AsRef<[u8]>) -> Header {
        Header::new(path.as_ref(), TYPE_FIFO, 0o644)
    }
}

pub struct TarBuilder<W: Write> {
    out: W,
}

impl<W: Write> TarBuilder<W> {
    pub fn new(out: W) -> TarBuilder<W> {
        TarBuilder { out }
    }

    /// A global PAX header (`g`), applying to every later entry.
    pub fn append_pax_global(&mut self, records: &[(&str, &[u8])]) -> io::Result<()> {
        let mut body = Vec::new();
        for (k, v) in records {
            pax_record(&mut body, k.as_bytes(), v);
        }
        self.write_meta(b"GlobalHead.0", b'g', &body)
    }

    /// Writes one entry; `data` must yield exactly `header.size` bytes.
    pub fn append(&mut self, h: &Header, data: &mut dyn Read) -> io::Result<()> {
        let mut pax = Vec::new();
        let (name, prefix) = match split_ustar_path(&h.path) {
            Some(split) => split,
            None => {
                pax_record(&mut pax, b"path", &h.path);
                (truncate(&h.path, 100), &[][..])
            }
        };
        if h.link_name.len() > 100 {
            pax_record(&mut pax, b"linkpath", &h.link_name);
        }
        const MAX_OCTAL_7: u64 = 0o7777777;
        const MAX_OCTAL_11: u64 = 0o77777777777;
        if h.size > MAX_OCTAL_11 {
            pax_record(&mut pax, b"size", h.size.to_string().as_bytes());
        }
        if h.uid > MAX_OCTAL_7 {
            pax_record(&mut pax, b"uid", h.uid.to_string().as_bytes());
        }
        if h.gid > MAX_OCTAL_7 {
            pax_record(&mut pax, b"gid", h.gid.to_string().as_bytes());
        }
        if h.mtime < 0 || h.mtime as u64 > MAX_OCTAL_11 {
            pax_record(&mut pax, b"mtime", h.mtime.to_string().as_bytes());
        }
        for (k, v) in &h.xattrs {
            pax_record(&mut pax, &[b"SCHILY.xattr.".as_slice(), k].concat(), v);
        }
        if !pax.is_empty() {
            let pax_name = [b"PaxHeaders.0/".as_slice(), truncate(basename(&h.path), 80)].concat();
            self.write_meta(&pax_name, b'x', &pax)?;
        }

        let mut b = [0u8; BLOCK];
        b[..name.len()].copy_from_slice(name);
        octal(&mut b[100..108], h.mode as u64 & 0o7777);
        octal(&mut b[108..116], h.uid.min(MAX_OCTAL_7));
        octal(&mut b[116..124], h.gid.min(MAX_OCTAL_7));
        octal(&mut b[124..136], h.size.min(MAX_OCTAL_11));
        octal(
            &mut b[136..148],
            h.mtime.clamp(0, MAX_OCTAL_11 as i64) as u64,
        );
        b[156] = h.typeflag;
        let link = truncate(&h.link_name, 100);
        b[157..157 + link.len()].copy_from_slice(link);
        b[257..263].copy_from_slice(b"ustar\0");
        b[263..265].copy_from_slice(b"00");
        if h.typeflag == TYPE_CHAR || h.typeflag == TYPE_BLOCK {
            octal(&mut b[329..337], h.dev_major as u64);
            octal(&mut b[337..345], h.dev_minor as u64);
        }
        b[345..345 + prefix.len()].copy_from_slice(prefix);
        set_checksum(&mut b);
        self.out.write_all(&b)?;

        let copied = io::copy(&mut data.take(h.size), &mut self.out)?;
        if copied != h.size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{}: {copied} bytes of data instead of {} (did the file change while archiving?)", String::from_utf8_lossy(&h.path), h.size),
            ));
        }
        self.pad(h.size)
    }

    /// Ends the archive with two zero blocks and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&[0u8; 2 * BLOCK])?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn write_meta(&mut self, name: &[u8], typeflag: u8, body: &[u8]) -> io::Result<()> {
        let mut b = [0u8; BLOCK];
        let name = truncate(name, 100);
        b[..name.len()].copy_from_slice(name);
        octal(&mut b[100..108], 0o644);
        octal(&mut b[108..116], 0);
        octal(&mut b[116..124], 0);
        octal(&mut b[124..136], body.len() as u64);
        octal(&mut b[136..148], 0);
        b[156] = typeflag;
        b[257..263].copy_from_slice(b"ustar\0");
        b[263..265].copy_from_slice(b"00");
        set_checksum(&mut b);
        self.out.write_all(&b)?;
        self.out.write_all(body)?;
        self.pad(body.len() as u64)
    }

    fn pad(&mut self, len: u64) -> io::Result<()> {
        let rem = (len % BLOCK as u64) as usize;
        if rem != 0 {
            self.out.write_all(&[0u8; BLOCK][..BLOCK - rem])?;
        }
        Ok(())
    }
}

/// Splits a path into ustar (name, prefix) if it fits: name up to 100 bytes, prefix up to
/// 155, split at a '/'.
fn split_ustar_path(path: &[u8]) -> Option<(&[u8], &[u8])> {
    if path.len() <= 100 {
        return Some((path, &[]));
    }
    if path.len() > 256 {
        return None;
    }
    // The last '/' that leaves a name of at most 100 bytes and a prefix of at most 155.
    (0..path.len())
        .rev()
        .filter(|&i| path[i] == b'/')
        .find(|&i| i <= 155 && path.len() - i - 1 <= 100 && i > 0 && i + 1 < path.len())
        .map(|i| (&path[i + 1..], &path[..i]))
}

fn basename(path: &[u8]) -> &[u8] {
    let trimmed = path.strip_suffix(b"/").unwrap_or(path);
    match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

fn truncate(b: &[u8], n: usize) -> &[u8] {
    &b[..b.len().min(n)]
}

/// Zero-padded octal filling the field but its last byte (a NUL).
fn octal(field: &mut [u8], v: u64) {
    let digits = field.len() - 1;
    let s = format!("{v:0digits$o}");
    field[..digits].copy_from_slice(&s.as_bytes()[s.len() - digits..]);
    field[digits] = 0;
}

fn set_checksum(b: &mut [u8; BLOCK]) {
    b[148..156].copy_from_slice(b"        ");
    let sum: u64 = b.iter().map(|&x| x as u64).sum();
    let s = format!("{sum:06o}\0 ");
    b[148..156].copy_from_slice(s.as_bytes());
}

/// Appends `"%d key=value\n"`, where %d counts the whole record including itself.
fn pax_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let rest = 1 + key.len() + 1 + value.len() + 1; // ' ' key '=' value '\n'
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}
