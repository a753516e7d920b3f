//! Platforms (`os/arch[/variant]`) and the choice of one manifest from a multi-platform
//! index (an OCI index or a Docker manifest list).

use std::fmt;

use oci_spec::image::{Descriptor, ImageIndex};

use crate::RegistryError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// The platform this binary runs on, in Go's (and so the registries') names.
    pub fn host() -> Platform {
        let (architecture, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "aarch64" => ("arm64", None),
            "x86" => ("386", None),
            "arm" => ("arm", Some("v7")),
            "powerpc64" if cfg!(target_endian = "little") => ("ppc64le", None),
            "riscv64" => ("riscv64", None),
            "s390x" => ("s390x", None),
            other => (other, None),
        };
        Platform {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: variant.map(str::to_owned),
        }
    }

    /// Parses `linux/amd64`, `linux/arm/v7`, `linux/arm64/v8`.
    pub fn parse(s: &str) -> Result<Platform, RegistryError> {
        let parts: Vec<&str> = s.split('/').collect();
        let valid = |p: &&str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(valid) {
            return Err(RegistryError::BadPlatform(s.to_owned()));
        }
        let architecture = match parts[1] {
            "x86_64" | "x86-64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        Ok(Platform {
            os: parts[0].to_ascii_lowercase(),
            architecture: architecture.to_owned(),
            variant: parts.get(2).map(|v| v.to_string()),
        })
    }

    /// Whether an index entry's platform fits: same os and architecture, and the variant
    /// too when one was asked for (arm64's variant defaults to v8).
    fn matches(&self, os: &str, architecture: &str, variant: Option<&str>) -> bool {
        if self.os != os || self.architecture != architecture {
            return false;
        }
        match &self.variant {
            None => true,
            Some(want) => {
                let have = variant.or(if architecture == "arm64" {
                    Some("v8")
                } else {
                    None
                });
                have == Some(want.as_str())
            }
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// The index entry for `platform`: the first entry that matches (registries list the
/// preferred variant first). Entries without a platform (attestations) never match.
pub fn select<'a>(
    index: &'a ImageIndex,
    platform: &Platform,
    reference: &str,
) -> Result<&'a Descriptor, RegistryError> {
    let found = index.manifests().iter().find(|d| {
        d.platform().as_ref().is_some_and(|p| {
            platform.matches(
                &p.os().to_string(),
                &p.architecture().to_string(),
                p.variant().as_deref(),
            )
        })
    });
    found.ok_or_else(|| {
        let available: Vec<String> = index
            .manifests()
            .iter()
            .filter_map(|d| d.platform().as_ref())
            .map(|p| {
                let mut s = format!("{}/{}", p.os(), p.architecture());
                if let Some(v) = p.variant() {
                    s.push('/');
                    s.push_str(v);
                }
                s
            })
            .collect();
        RegistryError::NoMatchingPlatform {
            reference: reference.to_owned(),
            platform: platform.to_string(),
            available: if available.is_empty() {
                "none".into()
            } else {
                available.join(", ")
            },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":1,"platform":{"os":"linux","architecture":"arm","variant":"v6"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","size":1,"platform":{"os":"linux","architecture":"arm","variant":"v7"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:3333333333333333333333333333333333333333333333333333333333333333","size":1,"platform":{"os":"linux","architecture":"arm64"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:4444444444444444444444444444444444444444444444444444444444444444","size":1,"platform":{"os":"linux","architecture":"amd64"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:5555555555555555555555555555555555555555555555555555555555555555","size":1,"platform":{"os":"unknown","architecture":"unknown"}}]}"#;

    fn pick(p: &str) -> Result<char, RegistryError> {
        let index: ImageIndex = serde_json::from_str(INDEX).unwrap();
        let d = select(&index, &Platform::parse(p)?, "x")?;
        Ok(d.digest().to_string().chars().last().unwrap())
    }

    #[test]
    fn selects_by_platform() {
        assert_eq!(pick("linux/amd64").unwrap(), '4');
        assert_eq!(pick("linux/x86_64").unwrap(), '4');
        assert_eq!(pick("linux/arm").unwrap(), '1');
        assert_eq!(pick("linux/arm/v7").unwrap(), '2');
        assert_eq!(pick("linux/arm64").unwrap(), '3');
        assert_eq!(pick("linux/arm64/v8").unwrap(), '3');
        let err = pick("linux/s390x").unwrap_err();
        assert!(
            err.to_string()
                .contains("linux/arm/v6, linux/arm/v7, linux/arm64, linux/amd64, unknown/unknown"),
            "{err}"
        );
        assert!(matches!(
            Platform::parse("linux"),
            Err(RegistryError::BadPlatform(_))
        ));
        assert!(matches!(
            Platform::parse("linux//v7"),
            Err(RegistryError::BadPlatform(_))
        ));
        assert_eq!(
            Platform::parse("linux/arm/v7").unwrap().to_string(),
            "linux/arm/v7"
        );
    }

    #[test]
    fn host_platform() {
        let host = Platform::host();
        assert_eq!(host.os, "linux");
        if cfg!(target_arch = "x86_64") {
            assert_eq!(host.architecture, "amd64");
        }
    }
}
