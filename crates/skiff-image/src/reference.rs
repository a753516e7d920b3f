//! Image references as Docker normalises them: `busybox` is
//! `docker.io/library/busybox:latest`, `localhost:5000/app@sha256:…` names a registry with a
//! port and pins a digest. The image index keys tags by the normalised, fully qualified form;
//! [`Reference::familiar`] gives the short form `docker images` prints.

use std::fmt;
use std::str::FromStr;

use crate::digest::Digest;

pub const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";
pub const DEFAULT_TAG: &str = "latest";
const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

/// A normalised image reference. `tag` is always set unless the reference pins a digest
/// and gave no tag (`name@sha256:…`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("invalid reference format: the image name is empty")]
    Empty,
    #[error("invalid reference format: repository name {0:?} must be lowercase")]
    Uppercase(String),
    #[error("invalid reference format: {0:?} is not a valid repository name (use lowercase letters, digits and separators . _ __ -)")]
    BadName(String),
    #[error("invalid reference format: repository name {0:?} is longer than 255 characters")]
    NameTooLong(String),
    #[error("invalid reference format: {0:?} is not a valid tag (up to 128 of [A-Za-z0-9_.-], not starting with . or -)")]
    BadTag(String),
    #[error("invalid reference format: {reference:?} has a bad digest: {source}")]
    BadDigest {
        reference: String,
        source: crate::digest::DigestError,
    },
}

impl Reference {
    /// Parses and normalises like `docker pull NAME` does; a missing tag becomes `latest`
    /// unless a digest is given.
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        if s.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let (rest, digest) = match s.split_once('@') {
            Some((rest, d)) => {
                let digest = d.parse().map_err(|source| ReferenceError::BadDigest {
                    reference: s.to_owned(),
                    source,
                })?;
                (rest, Some(digest))
            }
            None => (s, None),
        };
        // A tag follows the last ':' that comes after the last '/' (a ':' before it is a port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag {
            validate_tag(tag)?;
        }
        let (domain, path) = split_domain(name);
        validate_path(&path, name)?;
        let full_len = domain.len() + 1 + path.len();
        if full_len > MAX_NAME_LEN {
            return Err(ReferenceError::NameTooLong(name.to_owned()));
        }
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_owned()),
            (None, None) => Some(DEFAULT_TAG.to_owned()),
            (None, Some(_)) => None,
        };
        Ok(Reference {
            domain,
            path,
            tag,
            digest,
        })
    }

    /// A reference to `name` with another tag (for `skiff tag`).
    pub fn with_tag(&self, tag: &str) -> Result<Reference, ReferenceError> {
        validate_tag(tag)?;
        Ok(Reference {
            tag: Some(tag.to_owned()),
            digest: None,
            ..self.clone()
        })
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }
    /// The repository path inside the registry, such as `library/busybox`.
    pub fn path(&self) -> &str {
        &self.path
    }
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// `docker.io/library/busybox`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// `busybox`, `someone/app`, `localhost:5000/app`: the repository as Docker shows it.
    pub fn familiar_repository(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            self.path
                .strip_prefix(OFFICIAL_REPO_PREFIX)
                .unwrap_or(&self.path)
                .to_owned()
        } else {
            self.repository()
        }
    }

    /// `busybox:latest`: the short form with tag and/or digest.
    pub fn familiar(&self) -> String {
        self.render(&self.familiar_repository())
    }

    fn render(&self, repository: &str) -> String {
        let mut s = repository.to_owned();
        if let Some(tag) = &self.tag {
            s.push(':');
            s.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            s.push('@');
            s.push_str(&digest.to_string());
        }
        s
    }
}

impl fmt::Display for Reference {
    /// The fully qualified form: `docker.io/library/busybox:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(&self.repository()))
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Reference, ReferenceError> {
        Reference::parse(s)
    }
}

/// Docker's rule: the first component is a registry host if it has a '.' or ':', is
/// `localhost`, or has uppercase letters; otherwise the image is on Docker Hub.
fn split_domain(name: &str) -> (String, String) {
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first.to_owned(), rest.to_owned())
        }
        _ => (DEFAULT_DOMAIN.to_owned(), name.to_owned()),
    };
    let domain = if domain == LEGACY_DEFAULT_DOMAIN {
        DEFAULT_DOMAIN.to_owned()
    } else {
        domain
    };
    let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
        format!("{OFFICIAL_REPO_PREFIX}{path}")
    } else {
        path
    };
    (domain, path)
}

/// Each path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn validate_path(path: &str, original: &str) -> Result<(), ReferenceError> {
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ReferenceError::Uppercase(original.to_owned()));
    }
    let bad = || ReferenceError::BadName(original.to_owned());
    for component in path.split('/') {
        let bytes = component.as_bytes();
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
            return Err(bad());
        }
        let mut i = 0;
        while i < bytes.len() {
            if alnum(bytes[i]) {
                i += 1;
                continue;
            }
            // A separator run: ".", "_", "__" or any number of '-'.
            let start = i;
            while i < bytes.len() && !alnum(bytes[i]) {
                i += 1;
            }
            let sep = &component[start..i];
            let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|b| b == b'-');
            if !ok {
                return Err(bad());
            }
        }
    }
    Ok(())
}

fn validate_tag(tag: &str) -> Result<(), ReferenceError> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let ok = !tag.is_empty()
        && tag.len() <= MAX_TAG_LEN
        && word(tag.as_bytes()[0])
        && tag.bytes().all(|b| word(b) || b == b'.' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ReferenceError::BadTag(tag.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(s: &str) -> String {
        Reference::parse(s).unwrap().to_string()
    }

    #[test]
    fn normalises_like_docker() {
        assert_eq!(full("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(full("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(full("library/busybox"), "docker.io/library/busybox:latest");
        assert_eq!(
            full("docker.io/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            full("index.docker.io/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(full("someone/app:v1"), "docker.io/someone/app:v1");
        assert_eq!(full("localhost/app"), "localhost/app:latest");
        assert_eq!(full("localhost:5000/app"), "localhost:5000/app:latest");
        assert_eq!(full("127.0.0.1:5000/a/b/c:t"), "127.0.0.1:5000/a/b/c:t");
        assert_eq!(
            full("quay.io/org/app_x-y.z:1.0-rc_1"),
            "quay.io/org/app_x-y.z:1.0-rc_1"
        );
        assert_eq!(full("Registry/app"), "Registry/app:latest");
    }

    #[test]
    fn digests_pin_without_default_tag() {
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let r = Reference::parse(&format!("busybox@{d}")).unwrap();
        assert_eq!(r.tag(), None);
        assert_eq!(r.digest().unwrap().to_string(), d);
        assert_eq!(r.to_string(), format!("docker.io/library/busybox@{d}"));
        let r = Reference::parse(&format!("localhost:5000/app:v2@{d}")).unwrap();
        assert_eq!(r.tag(), Some("v2"));
        assert_eq!(r.familiar(), format!("localhost:5000/app:v2@{d}"));
    }

    #[test]
    fn familiar_forms() {
        assert_eq!(
            Reference::parse("docker.io/library/busybox")
                .unwrap()
                .familiar(),
            "busybox:latest"
        );
        assert_eq!(
            Reference::parse("someone/app:v1").unwrap().familiar(),
            "someone/app:v1"
        );
        assert_eq!(
            Reference::parse("ghcr.io/a/b").unwrap().familiar(),
            "ghcr.io/a/b:latest"
        );
        let r = Reference::parse("busybox")
            .unwrap()
            .with_tag("mine")
            .unwrap();
        assert_eq!(r.to_string(), "docker.io/library/busybox:mine");
    }

    #[test]
    fn rejects_invalid() {
        assert_eq!(Reference::parse(""), Err(ReferenceError::Empty));
        assert!(matches!(
            Reference::parse("BusyBox"),
            Err(ReferenceError::Uppercase(_))
        ));
        assert!(matches!(
            Reference::parse("busy box"),
            Err(ReferenceError::BadName(_))
        ));
        assert!(matches!(
            Reference::parse("a//b"),
            Err(ReferenceError::BadName(_))
        ));
        assert!(matches!(
            Reference::parse("-a"),
            Err(ReferenceError::BadName(_))
        ));
        assert!(matches!(
            Reference::parse("a..b"),
            Err(ReferenceError::BadName(_))
        ));
        assert!(matches!(
            Reference::parse("a___b"),
            Err(ReferenceError::BadName(_))
        ));
        assert!(Reference::parse("a--b").is_ok());
        assert!(matches!(
            Reference::parse("busybox:"),
            Err(ReferenceError::BadTag(_))
        ));
        assert!(matches!(
            Reference::parse("busybox:.x"),
            Err(ReferenceError::BadTag(_))
        ));
        let long_tag = format!("busybox:{}", "a".repeat(129));
        assert!(matches!(
            Reference::parse(&long_tag),
            Err(ReferenceError::BadTag(_))
        ));
        assert!(matches!(
            Reference::parse("busybox@sha256:zz"),
            Err(ReferenceError::BadDigest { .. })
        ));
        let long_name = "a/".repeat(130) + "a";
        assert!(matches!(
            Reference::parse(&long_name),
            Err(ReferenceError::NameTooLong(_))
        ));
    }
}
