//! An on-disk cache of compiled seccomp programs.
//!
//! libseccomp needs milliseconds to compile Docker's default profile (three architectures,
//! ~370 syscalls each) — a large share of a container start. Most containers use one of a
//! few profiles, so the compiled program is kept in a file named after a hash of the profile
//! and reused, as crun does.
//!
//! Safety of the cache: a planted or altered file could weaken a container's filter, so the
//! directory is used only when it is owned by us and writable by nobody else (mode 0700 when
//! we create it), and an entry is used only when the full profile stored in it equals the one
//! asked for (the hash only names the file). Entries are written to a temporary file and
//! renamed, so a reader never sees half of one. Anything unexpected means "compile".

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxSeccomp;

use super::seccomp::Layout;
use super::{SeccompProgram, SecurityError};

/// Changes whenever the entry format or the compilation changes.
const FORMAT: &str = "skiff-seccomp-cache-v2";

/// Compiles `seccomp`, or loads the program compiled earlier from `dir`.
pub(crate) fn compile_cached(
    seccomp: &LinuxSeccomp,
    dir: &Path,
) -> Result<SeccompProgram, SecurityError> {
    let Some(key) = key(seccomp) else {
        return SeccompProgram::compile(seccomp);
    };
    let path = dir.join(format!("{:016x}.bpf", hash(&key)));
    if trusted_dir(dir) {
        if let Some(program) = read_entry(&path, &key) {
            return Ok(program);
        }
    }
    // Compiled once, loaded many times: take the layout that is slower to build but faster
    // to load and to run.
    let program = SeccompProgram::compile_with(seccomp, Layout::Tree)?;
    if let Err(error) = store(dir, &path, &key, &program) {
        tracing::debug!(path = %path.display(), %error, "not caching the seccomp program");
    }
    Ok(program)
}

/// What the compiled program depends on: the profile, libseccomp's version and the
/// architecture the runtime was built for.
fn key(seccomp: &LinuxSeccomp) -> Option<Vec<u8>> {
    let version = libseccomp::ScmpVersion::current().ok()?;
    let mut key = format!(
        "{FORMAT} libseccomp {}.{}.{} {}\n",
        version.major,
        version.minor,
        version.micro,
        std::env::consts::ARCH
    )
    .into_bytes();
    serde_json::to_writer(&mut key, seccomp).ok()?;
    Some(key)
}

fn hash(key: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

/// Whether `dir` is ours alone: a directory owned by our effective uid that neither group
/// nor others may write.
fn trusted_dir(dir: &Path) -> bool {
    fs::symlink_metadata(dir).is_ok_and(|meta| {
        meta.is_dir() && meta.uid() == nix::unistd::geteuid().as_raw() && meta.mode() & 0o022 == 0
    })
}

/// An entry is: the key's length (u32, little endian), the key, then the program.
fn read_entry(path: &Path, key: &[u8]) -> Option<SeccompProgram> {
    let bytes = fs::read(path).ok()?;
    let (len, rest) = bytes.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
    let (stored_key, program) = rest.split_at_checked(len)?;
    if stored_key != key {
        return None;
    }
    SeccompProgram::from_bytes(program)
}

fn store(dir: &Path, path: &Path, key: &[u8], program: &SeccompProgram) -> std::io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    if !trusted_dir(dir) {
        return Err(std::io::Error::other(
            "the cache directory is not private to this user",
        ));
    }
    let len = u32::try_from(key.len()).map_err(std::io::Error::other)?;
    let temporary = temporary_name(path);
    let write = || -> std::io::Result<()> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(&len.to_le_bytes())?;
        file.write_all(key)?;
        file.write_all(&program.to_bytes())?;
        fs::rename(&temporary, path)
    };
    let result = write();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}

/// A name next to `path` no other writer uses at the same time.
fn temporary_name(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".tmp-{}", std::process::id()));
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(errno: u32) -> LinuxSeccomp {
        serde_json::from_str(&format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
                {{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":{errno}}}]}}"#
        ))
        .unwrap()
    }

    fn entries(dir: &Path) -> Vec<PathBuf> {
        fs::read_dir(dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_cached_program_equals_a_fresh_one_and_is_reused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("seccomp");
        let fresh = SeccompProgram::compile_with(&profile(5), Layout::Tree).unwrap();
        let first = compile_cached(&profile(5), &dir).unwrap();
        assert_eq!(first.to_bytes(), fresh.to_bytes());
        let files = entries(&dir);
        assert_eq!(files.len(), 1);
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);

        // Second time it comes from the file: prove it by marking the file's program.
        let mut bytes = fs::read(&files[0]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&files[0], &bytes).unwrap();
        let second = compile_cached(&profile(5), &dir).unwrap();
        assert_ne!(
            second.to_bytes(),
            fresh.to_bytes(),
            "expected the (marked) cached copy"
        );
        // A different profile gets its own entry.
        compile_cached(&profile(6), &dir).unwrap();
        assert_eq!(entries(&dir).len(), 2);
    }

    #[test]
    fn an_entry_for_another_profile_under_the_same_name_is_not_used() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("seccomp");
        compile_cached(&profile(5), &dir).unwrap();
        let entry = entries(&dir).remove(0);
        // Pretend a hash collision: profile 7's name now holds profile 5's entry.
        let key7 = key(&profile(7)).unwrap();
        fs::rename(&entry, dir.join(format!("{:016x}.bpf", hash(&key7)))).unwrap();
        let program = compile_cached(&profile(7), &dir).unwrap();
        let fresh = SeccompProgram::compile_with(&profile(7), Layout::Tree).unwrap();
        assert_eq!(program.to_bytes(), fresh.to_bytes());
    }

    #[test]
    fn a_directory_others_can_write_is_not_trusted() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("seccomp");
        compile_cached(&profile(5), &dir).unwrap();
        let entry = entries(&dir).remove(0);
        let mut bytes = fs::read(&entry).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&entry, &bytes).unwrap();
        fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        let program = compile_cached(&profile(5), &dir).unwrap();
        let fresh = SeccompProgram::compile_with(&profile(5), Layout::Tree).unwrap();
        assert_eq!(
            program.to_bytes(),
            fresh.to_bytes(),
            "the planted entry was used"
        );
    }

    #[test]
    fn truncated_entries_are_ignored() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("seccomp");
        compile_cached(&profile(5), &dir).unwrap();
        let entry = entries(&dir).remove(0);
        let bytes = fs::read(&entry).unwrap();
        fs::write(&entry, &bytes[..bytes.len() - 3]).unwrap();
        let program = compile_cached(&profile(5), &dir).unwrap();
        let fresh = SeccompProgram::compile_with(&profile(5), Layout::Tree).unwrap();
        assert_eq!(program.to_bytes(), fresh.to_bytes());
    }
}
