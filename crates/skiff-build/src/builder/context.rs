//! The build context (a directory, or a tar read from stdin and unpacked into a scratch
//! directory) with its `.dockerignore`, and the sources COPY/ADD take from it or from another
//! stage's root: path cleaning, globs, and what is visible.

use std::fs;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use skiff_image::layer::{apply_tar, compress, tar::TarReader, ApplyOptions};

use super::error::BuildError;
use crate::dockerignore::{DockerIgnore, Flavor};

/// Where COPY/ADD sources come from.
pub struct SourceRoot<'a> {
    /// The directory the source paths are relative to.
    pub dir: &'a Path,
    /// The context's `.dockerignore` (none for another stage or an image).
    pub ignore: Option<&'a DockerIgnore>,
}

/// The build context.
pub struct BuildContext {
    pub dir: PathBuf,
    pub ignore: DockerIgnore,
    /// A directory this build unpacked the context into, removed on drop.
    owned: Option<PathBuf>,
}

impl BuildContext {
    /// A context directory; its `.dockerignore` is read with the classic builder's rules.
    pub fn from_dir(dir: &Path) -> Result<BuildContext, BuildError> {
        let dir = fs::canonicalize(dir).map_err(|source| BuildError::Context {
            path: dir.to_owned(),
            source,
        })?;
        if !dir.is_dir() {
            return Err(BuildError::Context {
                path: dir,
                source: std::io::Error::other(
                    "not a directory; give the context directory or `-` for a tar on stdin",
                ),
            });
        }
        let ignore = read_ignore(&dir)?;
        Ok(BuildContext {
            dir,
            ignore,
            owned: None,
        })
    }

    /// A context sent as a tar (plain, gzip or zstd), unpacked under `scratch`.
    pub fn from_tar(input: impl Read, scratch: &Path) -> Result<BuildContext, BuildError> {
        let dir = scratch.join(format!("context-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(BuildError::io("create", &dir))?;
        let mut context = BuildContext {
            dir: dir.clone(),
            ignore: DockerIgnore::default(),
            owned: Some(dir.clone()),
        };
        let (_, reader) = compress::decompressor(input).map_err(|e| BuildError::Context {
            path: dir.clone(),
            source: std::io::Error::other(e),
        })?;
        let mut tar = TarReader::new(BufReader::new(reader));
        apply_tar(&dir, &mut tar, &ApplyOptions { chown: false }).map_err(|e| {
            BuildError::Context {
                path: dir.clone(),
                source: std::io::Error::other(e),
            }
        })?;
        context.ignore = read_ignore(&dir)?;
        Ok(context)
    }

    /// An empty context (a Dockerfile alone on stdin).
    pub fn empty(scratch: &Path) -> Result<BuildContext, BuildError> {
        let dir = scratch.join(format!("context-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(BuildError::io("create", &dir))?;
        Ok(BuildContext {
            dir: dir.clone(),
            ignore: DockerIgnore::default(),
            owned: Some(dir),
        })
    }

    pub fn source_root(&self) -> SourceRoot<'_> {
        SourceRoot {
            dir: &self.dir,
            ignore: Some(&self.ignore),
        }
    }
}

impl Drop for BuildContext {
    fn drop(&mut self) {
        if let Some(dir) = &self.owned {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

fn read_ignore(dir: &Path) -> Result<DockerIgnore, BuildError> {
    let path = dir.join(".dockerignore");
    match fs::read_to_string(&path) {
        Ok(text) => Ok(DockerIgnore::parse(&text)?.with_flavor(Flavor::Classic)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DockerIgnore::default()),
        Err(source) => Err(BuildError::Context { path, source }),
    }
}

/// Cleans a source path to a relative, `/`-separated path inside the root: a leading `/`
/// is dropped (sources are relative to the context), `.` and `..` are resolved, and a path
/// climbing above the root is refused. The root itself is `""`.
pub fn clean_source(raw: &str) -> Result<String, BuildError> {
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(BuildError::OutsideContext(raw.to_string()));
                }
            }
            other => parts.push(other),
        }
    }
    Ok(parts.join("/"))
}

/// Whether a path has glob characters (Go's `filepath.Match` syntax).
fn has_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

impl SourceRoot<'_> {
    /// Whether `rel` is hidden by `.dockerignore`.
    pub fn excluded(&self, rel: &str) -> bool {
        !rel.is_empty() && self.ignore.is_some_and(|i| i.is_excluded(rel))
    }

    /// The relative paths a COPY source names: itself, or every match of its glob, sorted.
    pub fn expand(&self, raw: &str) -> Result<Vec<String>, BuildError> {
        let clean = clean_source(raw)?;
        if !has_glob(&clean) {
            let host = self.dir.join(&clean);
            if fs::symlink_metadata(&host).is_err() || self.excluded(&clean) {
                return Err(BuildError::SourceMissing(clean));
            }
            return Ok(vec![clean]);
        }
        let pattern: Vec<&str> = clean.split('/').collect();
        let mut out = Vec::new();
        self.glob(&pattern, String::new(), &mut out);
        if out.is_empty() {
            return Err(BuildError::NoMatch(raw.to_string()));
        }
        out.sort();
        Ok(out)
    }

    fn glob(&self, pattern: &[&str], prefix: String, out: &mut Vec<String>) {
        let Some((first, rest)) = pattern.split_first() else {
            out.push(prefix);
            return;
        };
        let dir = self.dir.join(&prefix);
        let candidates: Vec<String> = if has_glob(first) {
            let Ok(entries) = fs::read_dir(&dir) else {
                return;
            };
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|name| glob_match(first, name))
                .collect()
        } else if fs::symlink_metadata(dir.join(first)).is_ok() {
            vec![first.to_string()]
        } else {
            Vec::new()
        };
        for name in candidates {
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if self.excluded(&rel) {
                continue;
            }
            if !rest.is_empty() && !self.dir.join(&rel).is_dir() {
                continue;
            }
            self.glob(rest, rel, out);
        }
    }
}

/// Go's `filepath.Match` for one path element: `*`, `?`, `[a-z]`, `[^x]`, `\c`.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> bool {
    let Some((&c, rest)) = p.split_first() else {
        return n.is_empty();
    };
    match c {
        '*' => (0..=n.len()).any(|skip| match_from(rest, &n[skip..])),
        '?' => !n.is_empty() && match_from(rest, &n[1..]),
        '[' => {
            let Some((&first, name_rest)) = n.split_first() else {
                return false;
            };
            let mut i = 0;
            let negate = matches!(rest.first(), Some('^' | '!'));
            if negate {
                i += 1;
            }
            let mut matched = false;
            let mut first_item = true;
            while i < rest.len() && (rest[i] != ']' || first_item) {
                first_item = false;
                let mut lo = rest[i];
                if lo == '\\' && i + 1 < rest.len() {
                    i += 1;
                    lo = rest[i];
                }
                let mut hi = lo;
                if i + 2 < rest.len() && rest[i + 1] == '-' && rest[i + 2] != ']' {
                    hi = rest[i + 2];
                    i += 2;
                }
                if lo <= first && first <= hi {
                    matched = true;
                }
                i += 1;
            }
            if i >= rest.len() {
                return false; // unterminated class: Go reports ErrBadPattern, nothing matches
            }
            matched != negate && match_from(&rest[i + 1..], name_rest)
        }
        '\\' if !rest.is_empty() => n.first() == Some(&rest[0]) && match_from(&rest[1..], &n[1..]),
        _ => n.first() == Some(&c) && match_from(rest, &n[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_go() {
        assert!(glob_match("*.txt", "a.txt"));
        assert!(!glob_match("*.txt", "a.txt.bak"));
        assert!(glob_match("f?o", "foo"));
        assert!(glob_match("[a-c]x", "bx"));
        assert!(!glob_match("[^a-c]x", "bx"));
        assert!(glob_match("\\*", "*"));
        assert!(!glob_match("\\*", "a"));
    }

    #[test]
    fn sources_are_cleaned_inside_the_context() {
        assert_eq!(clean_source("/a/./b/../c").unwrap(), "a/c");
        assert_eq!(clean_source(".").unwrap(), "");
        assert!(clean_source("../x").is_err());
    }
}
