//! Applies a layer tar to a directory, producing an overlayfs lower dir.
//!
//! Every path is resolved inside the root: parent directories are opened with `openat2`
//! and `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS` on a descriptor of the root, so `..`,
//! absolute symlinks and symlinked parents all stay inside it, and the final component is
//! created relative to that parent with `O_NOFOLLOW`-style calls, so an existing symlink is
//! replaced, never written through. Names are first cleaned lexically like Docker does
//! (`a/../b` is `b`; leading `/` and `..` above the root are dropped).
//!
//! Speed: file creation dominates, so the applier keeps the last parent directory open
//! (entries of a directory follow each other in a tar), copies file data straight from the
//! read buffer, and sets directory mtimes once at the end (after their contents changed).

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufRead};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rustix::fs::{
    chmodat, chownat, fchmod, fchown, fsetxattr, futimens, linkat, lsetxattr, makedev, mkdirat,
    mknodat, openat, openat2, statat, symlinkat, unlinkat, utimensat, AtFlags, Dir, FileType, Gid,
    Mode, OFlags, ResolveFlags, Timespec, Timestamps, Uid, XattrFlags,
};
use rustix::io::Errno;

use super::tar::{CopyError, Entry, EntryKind, TarError, TarReader};
use super::whiteout::{self, TarName, OPAQUE_XATTR};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("cannot open the layer directory {path}: {source}")]
    OpenRoot { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Tar(#[from] TarError),
    #[error("layer entry {path:?}: cannot {action}: {source}")]
    Entry {
        path: String,
        action: &'static str,
        source: io::Error,
    },
    #[error("layer entry {path:?}: writing its data failed: {source} (check free space)")]
    WriteData { path: String, source: io::Error },
    #[error("layer entry {path:?}: hard link target {target:?} does not exist in this layer (a hard link must point to an earlier entry of the same layer): {source}")]
    HardLinkTarget {
        path: String,
        target: String,
        source: io::Error,
    },
    #[error("layer entry {path:?} is an invalid whiteout (a whiteout must name a file: .wh.NAME)")]
    InvalidWhiteout { path: String },
    #[error(
        "reading past the end of the layer's tar archive failed: {source} (the blob is corrupt)"
    )]
    Trailer { source: io::Error },
    #[error("layer entry {path:?} names the layer root itself but is a {kind:?}, not a directory")]
    RootNotDirectory { path: String, kind: EntryKind },
}

#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Set owners from the tar (needs root). Off, files belong to the caller.
    pub chown: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            chown: rustix::process::geteuid().is_root(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyStats {
    pub entries: u64,
    /// Bytes of file data written.
    pub bytes: u64,
    pub whiteouts: u64,
}

/// Applies every entry of `tar` under the directory `root` (which must exist).
pub fn apply_tar<R: BufRead>(
    root: &Path,
    tar: &mut TarReader<R>,
    options: &ApplyOptions,
) -> Result<ApplyStats, ApplyError> {
    let root_fd = rustix::fs::open(
        root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| ApplyError::OpenRoot {
        path: root.to_owned(),
        source: e.into(),
    })?;
    let root_dir = ParentDir::new(root_fd).map_err(|e| ApplyError::OpenRoot {
        path: root.to_owned(),
        source: e.into(),
    })?;
    let mut applier = Applier {
        root: Rc::new(root_dir),
        cache: None,
        dir_times: Vec::new(),
        chown: options.chown,
        euid: rustix::process::geteuid().as_raw(),
        egid: rustix::process::getegid().as_raw(),
        umask: read_umask(),
        stats: ApplyStats::default(),
    };
    while let Some(entry) = tar.next_entry()? {
        applier.apply(&entry, tar)?;
        applier.stats.entries += 1;
    }
    applier.finish_dir_times()?;
    Ok(applier.stats)
}

struct Applier {
    root: Rc<ParentDir>,
    /// The last parent directory opened, by cleaned path.
    cache: Option<(Vec<u8>, Rc<ParentDir>)>,
    /// Directory mtimes, set after all entries were written.
    dir_times: Vec<(Vec<u8>, Timestamps)>,
    chown: bool,
    /// Who new files belong to before any chown, and the process umask: when they already
    /// give an entry's owner and mode, the chown/chmod calls are skipped (a third of the
    /// system calls per file).
    euid: u32,
    egid: u32,
    umask: Option<u32>,
    stats: ApplyStats,
}

/// A directory entries are created in.
struct ParentDir {
    fd: OwnedFd,
    /// New entries take the directory's group (and new directories its setgid bit).
    setgid: bool,
}

impl ParentDir {
    fn new(fd: OwnedFd) -> Result<ParentDir, Errno> {
        let st = rustix::fs::fstat(&fd)?;
        Ok(ParentDir {
            setgid: st.st_mode & 0o2000 != 0,
            fd,
        })
    }
}

fn err<'a>(entry: &'a Entry, action: &'static str) -> impl FnOnce(Errno) -> ApplyError + 'a {
    move |e| ApplyError::Entry {
        path: entry.path_lossy(),
        action,
        source: e.into(),
    }
}

impl Applier {
    fn apply<R: BufRead>(&mut self, e: &Entry, tar: &mut TarReader<R>) -> Result<(), ApplyError> {
        let path = clean(&e.path);
        if path.is_empty() {
            return match e.kind {
                EntryKind::Directory => self.root_metadata(e),
                kind => Err(ApplyError::RootNotDirectory {
                    path: e.path_lossy(),
                    kind,
                }),
            };
        }
        let (dir, base) = split(&path);
        match whiteout::classify(base) {
            TarName::Plain => {}
            TarName::Opaque => return self.make_opaque(e, dir),
            TarName::Remove(name) => return self.whiteout(e, dir, name),
            TarName::Meta => return Ok(()),
            TarName::Invalid => {
                return Err(ApplyError::InvalidWhiteout {
                    path: e.path_lossy(),
                })
            }
        }
        let parent_dir = self.parent(e, dir)?;
        let parent = parent_dir.fd.as_fd();
        let setgid = parent_dir.setgid;
        match e.kind {
            EntryKind::Directory => self.directory(e, parent, setgid, base, &path),
            EntryKind::File => self.file(e, parent, setgid, base, tar),
            EntryKind::Symlink => {
                self.create(e, parent, base, "create symlink", |p, n| {
                    symlinkat(&e.link_name[..], p, n)
                })?;
                self.metadata_at(e, parent, setgid, base, true)
            }
            EntryKind::HardLink => self.hard_link(e, parent, base),
            EntryKind::CharDevice | EntryKind::BlockDevice | EntryKind::Fifo => {
                let file_type = match e.kind {
                    EntryKind::CharDevice => FileType::CharacterDevice,
                    EntryKind::BlockDevice => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                let dev = makedev(e.dev_major, e.dev_minor);
                let mode = Mode::from_raw_mode(e.mode & 0o777);
                self.create(e, parent, base, "create device node", |p, n| {
                    mknodat(p, n, file_type, mode, dev)
                })?;
                self.metadata_at(e, parent, setgid, base, false)
            }
        }
    }

    /// The directory `dir` (cleaned, relative to the root), created if missing.
    fn parent(&mut self, e: &Entry, dir: &[u8]) -> Result<Rc<ParentDir>, ApplyError> {
        if dir.is_empty() {
            return Ok(self.root.clone());
        }
        if let Some((cached, fd)) = &self.cache {
            if cached == dir {
                return Ok(fd.clone());
            }
        }
        let fd = match open_in_root(&self.root.fd, dir, OFlags::PATH) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => self.mkdir_all(e, dir)?,
            Err(Errno::NOTDIR) => {
                return Err(ApplyError::Entry {
                    path: e.path_lossy(),
                    action: "open its parent directory (a parent is not a directory)",
                    source: Errno::NOTDIR.into(),
                })
            }
            Err(x) => return Err(err(e, "open its parent directory")(x)),
        };
        let parent = Rc::new(ParentDir::new(fd).map_err(err(e, "inspect its parent directory"))?);
        self.cache = Some((dir.to_vec(), parent.clone()));
        Ok(parent)
    }

    /// Creates the missing directories of `dir` (0755, like Docker) one by one, each
    /// resolved inside the root.
    fn mkdir_all(&mut self, e: &Entry, dir: &[u8]) -> Result<OwnedFd, ApplyError> {
        let mut current: Option<OwnedFd> = None;
        let mut end = 0;
        for component in dir.split(|&b| b == b'/') {
            end += component.len();
            let prefix = &dir[..end];
            let fd = match open_in_root(&self.root.fd, prefix, OFlags::PATH) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => {
                    let parent = current.as_ref().map_or(self.root.fd.as_fd(), |f| f.as_fd());
                    match mkdirat(parent, component, Mode::from_raw_mode(0o755)) {
                        // Just created by us, so chmodat cannot be redirected.
                        Ok(()) if self.umask.is_none_or(|u| u & 0o755 != 0) => chmodat(
                            parent,
                            component,
                            Mode::from_raw_mode(0o755),
                            AtFlags::empty(),
                        )
                        .map_err(err(e, "set the mode of a missing parent directory"))?,
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(x) => return Err(err(e, "create a missing parent directory")(x)),
                    }
                    open_in_root(&self.root.fd, prefix, OFlags::PATH)
                        .map_err(err(e, "open a created parent directory"))?
                }
                Err(x) => return Err(err(e, "open its parent directory")(x)),
            };
            current = Some(fd);
            end += 1; // the '/'
        }
        Ok(current.expect("a non-empty path has a component"))
    }

    /// Runs `make(parent, name)`; if the name exists, removes what is there (a directory
    /// with everything in it) and tries once more.
    fn create(
        &mut self,
        e: &Entry,
        parent: BorrowedFd<'_>,
        name: &[u8],
        action: &'static str,
        make: impl Fn(BorrowedFd<'_>, &[u8]) -> Result<(), Errno>,
    ) -> Result<(), ApplyError> {
        match make(parent, name) {
            Err(Errno::EXIST) => {
                self.remove(parent, name)
                    .map_err(err(e, "replace an existing entry"))?;
                make(parent, name).map_err(err(e, action))
            }
            other => other.map_err(err(e, action)),
        }
    }

    fn remove(&mut self, parent: BorrowedFd<'_>, name: &[u8]) -> Result<(), Errno> {
        // The cached directory may be the one removed, or inside it.
        self.cache = None;
        remove_all(parent, name)
    }

    fn directory(
        &mut self,
        e: &Entry,
        parent: BorrowedFd<'_>,
        parent_setgid: bool,
        base: &[u8],
        path: &[u8],
    ) -> Result<(), ApplyError> {
        let mode = Mode::from_raw_mode(e.mode & 0o777);
        let mut fresh = true;
        match mkdirat(parent, base, mode) {
            Ok(()) => {}
            Err(Errno::EXIST) => {
                // A directory over a directory merges; over anything else it replaces.
                let st = statat(parent, base, AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(err(e, "inspect an existing entry"))?;
                if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                    fresh = false;
                } else {
                    self.create(e, parent, base, "create directory", |p, n| {
                        mkdirat(p, n, mode)
                    })?;
                }
            }
            Err(x) => return Err(err(e, "create directory")(x)),
        }
        let fd = openat(
            parent,
            base,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(err(e, "open the created directory"))?;
        // A new directory in a setgid directory inherits the setgid bit.
        let owner_is_set = fresh && self.owned_as_wanted(e, parent_setgid);
        let mode_is_set = fresh && !parent_setgid && self.created_with_mode(e);
        self.metadata_fd(e, fd.as_fd(), owner_is_set, mode_is_set)?;
        self.dir_times.push((path.to_vec(), timestamps(e)));
        // Its children usually come next.
        let dir = ParentDir {
            fd,
            setgid: e.mode & 0o2000 != 0,
        };
        self.cache = Some((path.to_vec(), Rc::new(dir)));
        Ok(())
    }

    fn file<R: BufRead>(
        &mut self,
        e: &Entry,
        parent: BorrowedFd<'_>,
        parent_setgid: bool,
        base: &[u8],
        tar: &mut TarReader<R>,
    ) -> Result<(), ApplyError> {
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mode = Mode::from_raw_mode(e.mode & 0o777);
        let open = |p: BorrowedFd<'_>, n: &[u8]| openat(p, n, flags, mode);
        let fd = match open(parent, base) {
            Err(Errno::EXIST) => {
                self.remove(parent, base)
                    .map_err(err(e, "replace an existing entry"))?;
                open(parent, base)
            }
            other => other,
        }
        .map_err(err(e, "create file"))?;
        let mut file = File::from(fd);
        match tar.copy_data(&mut file) {
            Ok(n) => self.stats.bytes += n,
            Err(CopyError::Read(t)) => return Err(t.into()),
            Err(CopyError::Write(source)) => {
                return Err(ApplyError::WriteData {
                    path: e.path_lossy(),
                    source,
                })
            }
        }
        // O_EXCL: the file is new, so only what creation gave it counts.
        let owner_is_set = self.owned_as_wanted(e, parent_setgid);
        self.metadata_fd(e, file.as_fd(), owner_is_set, self.created_with_mode(e))?;
        futimens(&file, &timestamps(e)).map_err(err(e, "set mtime"))
    }

    fn hard_link(
        &mut self,
        e: &Entry,
        parent: BorrowedFd<'_>,
        base: &[u8],
    ) -> Result<(), ApplyError> {
        let target = clean(&e.link_name);
        let target_error = |source: io::Error| ApplyError::HardLinkTarget {
            path: e.path_lossy(),
            target: String::from_utf8_lossy(&e.link_name).into_owned(),
            source,
        };
        if target.is_empty() {
            return Err(target_error(Errno::INVAL.into()));
        }
        if target == clean(&e.path) {
            return Ok(()); // a link to itself: nothing to do
        }
        let (target_dir, target_base) = split(&target);
        let target_parent = if target_dir.is_empty() {
            None
        } else {
            Some(
                open_in_root(&self.root.fd, target_dir, OFlags::PATH)
                    .map_err(|x| target_error(x.into()))?,
            )
        };
        let root = self.root.clone();
        let target_parent = target_parent
            .as_ref()
            .map_or(root.fd.as_fd(), |f| f.as_fd());
        // No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself.
        let link = |p: BorrowedFd<'_>, n: &[u8]| {
            linkat(target_parent, target_base, p, n, AtFlags::empty())
        };
        match link(parent, base) {
            Err(Errno::EXIST) => {
                self.remove(parent, base)
                    .map_err(err(e, "replace an existing entry"))?;
                link(parent, base)
            }
            other => other,
        }
        .map_err(|x| match x {
            Errno::NOENT => target_error(x.into()),
            x => err(e, "create hard link")(x),
        })
    }

    /// `.wh.NAME`: a 0:0 character device named NAME. An entry of this same layer with
    /// that name wins (a whiteout only hides lower layers).
    fn whiteout(&mut self, e: &Entry, dir: &[u8], name: &[u8]) -> Result<(), ApplyError> {
        let parent = self.parent(e, dir)?;
        match mknodat(
            &parent.fd,
            name,
            FileType::CharacterDevice,
            Mode::empty(),
            makedev(0, 0),
        ) {
            Ok(()) | Err(Errno::EXIST) => {
                self.stats.whiteouts += 1;
                Ok(())
            }
            Err(x) => Err(err(e, "create the overlay whiteout")(x)),
        }
    }

    /// `DIR/.wh..wh..opq`: marks DIR opaque. The mark hides lower layers only, so whether
    /// it comes before or after DIR's other entries in the tar does not matter.
    fn make_opaque(&mut self, e: &Entry, dir: &[u8]) -> Result<(), ApplyError> {
        if !dir.is_empty() {
            self.parent(e, dir)?; // creates DIR if the tar had no entry for it yet
        }
        let fd = if dir.is_empty() {
            rustix::io::dup(&self.root.fd).map_err(err(e, "open the opaque directory"))?
        } else {
            open_in_root(&self.root.fd, dir, OFlags::RDONLY)
                .map_err(err(e, "open the opaque directory"))?
        };
        fsetxattr(&fd, OPAQUE_XATTR, b"y", XattrFlags::empty())
            .map_err(err(e, "set trusted.overlay.opaque"))?;
        self.stats.whiteouts += 1;
        Ok(())
    }

    fn root_metadata(&mut self, e: &Entry) -> Result<(), ApplyError> {
        let root = self.root.clone();
        self.metadata_fd(e, root.fd.as_fd(), false, false)?;
        self.dir_times.push((Vec::new(), timestamps(e)));
        Ok(())
    }

    /// Whether creating an entry with `mode & 0o777` already gave it its final mode: no
    /// special bits (those are set after chown, which clears them) and nothing masked by
    /// the umask.
    fn created_with_mode(&self, e: &Entry) -> bool {
        e.mode & 0o7000 == 0 && self.umask.is_some_and(|umask| e.mode & umask == 0)
    }

    /// Whether a new entry already has the owner the tar asks for (created by us, and not
    /// given another group by a setgid parent).
    fn owned_as_wanted(&self, e: &Entry, parent_setgid: bool) -> bool {
        e.uid == self.euid as u64 && e.gid == self.egid as u64 && !parent_setgid
    }

    /// Owner, mode and xattrs through an open descriptor. Order matters: chown clears
    /// setuid/setgid and file capabilities, so mode and xattrs come after it.
    fn metadata_fd(
        &self,
        e: &Entry,
        fd: BorrowedFd<'_>,
        owner_is_set: bool,
        mode_is_set: bool,
    ) -> Result<(), ApplyError> {
        if self.chown && !owner_is_set {
            fchown(fd, Some(uid(e)?), Some(gid(e)?)).map_err(err(e, "set owner"))?;
        }
        if !mode_is_set {
            fchmod(fd, Mode::from_raw_mode(e.mode)).map_err(err(e, "set mode"))?;
        }
        for (name, value) in &e.xattrs {
            if whiteout::is_overlay_xattr(name) {
                tracing::debug!(path = %e.path_lossy(), xattr = %String::from_utf8_lossy(name), "ignoring overlay xattr from layer");
                continue;
            }
            fsetxattr(fd, &name[..], value, XattrFlags::empty()).map_err(|x| {
                ApplyError::Entry {
                    path: e.path_lossy(),
                    action: "set an extended attribute",
                    source: io::Error::new(
                        io::Error::from(x).kind(),
                        format!("{}: {x}", String::from_utf8_lossy(name)),
                    ),
                }
            })?;
        }
        Ok(())
    }

    /// Metadata of entries that cannot be opened (symlinks, devices, fifos), by name in
    /// their parent, never following a symlink.
    fn metadata_at(
        &self,
        e: &Entry,
        parent: BorrowedFd<'_>,
        parent_setgid: bool,
        base: &[u8],
        is_symlink: bool,
    ) -> Result<(), ApplyError> {
        if self.chown && !self.owned_as_wanted(e, parent_setgid) {
            chownat(
                parent,
                base,
                Some(uid(e)?),
                Some(gid(e)?),
                AtFlags::SYMLINK_NOFOLLOW,
            )
            .map_err(err(e, "set owner"))?;
        }
        if !is_symlink && !self.created_with_mode(e) {
            // The node was just created by us, so chmodat cannot be sent elsewhere.
            chmodat(parent, base, Mode::from_raw_mode(e.mode), AtFlags::empty())
                .map_err(err(e, "set mode"))?;
        }
        if !e.xattrs.is_empty() {
            // /proc/self/fd/N resolves to the parent itself; the last component is not followed.
            let mut path = format!("/proc/self/fd/{}/", parent.as_raw_fd()).into_bytes();
            path.extend_from_slice(base);
            let path = Path::new(OsStr::from_bytes(&path));
            for (name, value) in e
                .xattrs
                .iter()
                .filter(|(n, _)| !whiteout::is_overlay_xattr(n))
            {
                lsetxattr(path, &name[..], value, XattrFlags::empty())
                    .map_err(err(e, "set an extended attribute"))?;
            }
        }
        utimensat(parent, base, &timestamps(e), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(err(e, "set mtime"))
    }

    fn finish_dir_times(&mut self) -> Result<(), ApplyError> {
        let dir_times = std::mem::take(&mut self.dir_times);
        for (path, times) in dir_times.iter().rev() {
            let result = if path.is_empty() {
                futimens(&self.root.fd, times)
            } else {
                let (dir, base) = split(path);
                let parent = if dir.is_empty() {
                    Ok(self.root.clone())
                } else {
                    match &self.cache {
                        Some((cached, parent)) if cached == dir => Ok(parent.clone()),
                        _ => open_in_root(&self.root.fd, dir, OFlags::PATH).map(|fd| {
                            // Only the descriptor is used from here on.
                            let parent = Rc::new(ParentDir { fd, setgid: false });
                            self.cache = Some((dir.to_vec(), parent.clone()));
                            parent
                        }),
                    }
                };
                parent.and_then(|p| utimensat(&p.fd, base, times, AtFlags::SYMLINK_NOFOLLOW))
            };
            match result {
                // Removed or replaced by a later entry.
                Ok(()) | Err(Errno::NOENT) | Err(Errno::NOTDIR) => {}
                Err(x) => {
                    return Err(ApplyError::Entry {
                        path: String::from_utf8_lossy(path).into_owned(),
                        action: "set the directory's mtime",
                        source: x.into(),
                    })
                }
            }
        }
        Ok(())
    }
}

/// Opens `path` (cleaned, relative) as a directory inside `root`: symlinks and `..` are
/// resolved as if `root` were `/`.
pub(crate) fn open_in_root(root: &OwnedFd, path: &[u8], access: OFlags) -> Result<OwnedFd, Errno> {
    let flags = access | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
    loop {
        match openat2(root, path, flags, Mode::empty(), resolve) {
            // The kernel asks for a retry when a rename raced with the lookup.
            Err(Errno::AGAIN) => continue,
            other => return other,
        }
    }
}

/// Removes `name` in `parent`, recursively if it is a directory; never follows symlinks.
pub(crate) fn remove_all(parent: BorrowedFd<'_>, name: &[u8]) -> Result<(), Errno> {
    match unlinkat(parent, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => return Ok(()),
        Err(Errno::ISDIR) => {}
        Err(x) => return Err(x),
    }
    let dir = openat(
        parent,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut children = Vec::new();
    for entry in Dir::read_from(&dir)? {
        let entry = entry?;
        let n = entry.file_name().to_bytes();
        if n != b"." && n != b".." {
            children.push(n.to_vec());
        }
    }
    for child in children {
        remove_all(dir.as_fd(), &child)?;
    }
    unlinkat(parent, name, AtFlags::REMOVEDIR)
}

/// The process umask from /proc (reading it with umask(2) would change it for a moment,
/// racing with other threads); `None` if unknown, and then every mode is set explicitly.
fn read_umask() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Umask:"))?;
    u32::from_str_radix(line["Umask:".len()..].trim(), 8).ok()
}

fn uid(e: &Entry) -> Result<Uid, ApplyError> {
    u32::try_from(e.uid)
        .map(Uid::from_raw)
        .map_err(|_| ApplyError::Entry {
            path: e.path_lossy(),
            action: "set owner (uid out of range)",
            source: Errno::INVAL.into(),
        })
}

fn gid(e: &Entry) -> Result<Gid, ApplyError> {
    u32::try_from(e.gid)
        .map(Gid::from_raw)
        .map_err(|_| ApplyError::Entry {
            path: e.path_lossy(),
            action: "set group (gid out of range)",
            source: Errno::INVAL.into(),
        })
}

fn timestamps(e: &Entry) -> Timestamps {
    let t = Timespec {
        tv_sec: e.mtime,
        tv_nsec: e.mtime_nsec as _,
    };
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}

/// Lexically cleans a tar name like Go's `filepath.Clean("/" + name)` minus the leading
/// slash: empty and `.` components go, `..` removes the previous one and never climbs
/// above the root.
pub(crate) fn clean(path: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in path.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join(&b'/')
}

/// (directory, base name) of a cleaned, non-empty path.
fn split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_names_like_docker() {
        assert_eq!(clean(b"./a/b/"), b"a/b");
        assert_eq!(clean(b"/abs/path"), b"abs/path");
        assert_eq!(clean(b"../../etc/x"), b"etc/x");
        assert_eq!(clean(b"a/../../b"), b"b");
        assert_eq!(clean(b"a//./b/.."), b"a");
        assert_eq!(clean(b"./"), b"");
        assert_eq!(split(b"a/b/c"), (&b"a/b"[..], &b"c"[..]));
        assert_eq!(split(b"c"), (&b""[..], &b"c"[..]));
    }
}
