//! Where a registry is and how to speak to it.
//!
//! - `docker.io` (Docker Hub) is served by `https://registry-1.docker.io`.
//! - Plain http is used only for loopback registries (`localhost`, 127.0.0.0/8, `::1`), as
//!   Docker allows by default, and for registries listed as insecure, either in
//!   `<state root>/registries.json` (`{"insecure-registries": ["host:port", …]}`, the key
//!   Docker's daemon.json uses) or in the `SKIFF_INSECURE_REGISTRIES` environment variable
//!   (comma separated). Everything else is https with the webpki root certificates.
//! - Credentials come from Docker's config.json: `$DOCKER_CONFIG/config.json`, else
//!   `~/.docker/config.json`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::RegistryError;

pub const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_ENDPOINT: &str = "registry-1.docker.io";
/// The key `docker login` uses for Docker Hub in config.json.
pub const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";
pub const CONFIG_FILE: &str = "registries.json";
pub const INSECURE_ENV: &str = "SKIFF_INSECURE_REGISTRIES";

/// How skiff reaches registries: which may be plain http, and where credentials live.
#[derive(Clone, Debug, Default)]
pub struct RegistryConfig {
    /// `host[:port]` of registries spoken to over plain http.
    pub insecure: Vec<String>,
    /// Docker's config directory (holding config.json).
    pub docker_config_dir: PathBuf,
}

#[derive(serde::Deserialize)]
struct ConfigFile {
    #[serde(default, rename = "insecure-registries")]
    insecure_registries: Vec<String>,
}

impl RegistryConfig {
    /// Reads `<root>/registries.json` (if present), `SKIFF_INSECURE_REGISTRIES`, and finds
    /// Docker's config directory.
    pub fn load(root: &Path) -> Result<RegistryConfig, RegistryError> {
        let path = root.join(CONFIG_FILE);
        let mut insecure = match std::fs::read(&path) {
            Ok(bytes) => {
                let file: ConfigFile =
                    serde_json::from_slice(&bytes).map_err(|e| RegistryError::BadConfig {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?;
                file.insecure_registries
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(RegistryError::BadConfig {
                    path,
                    reason: e.to_string(),
                })
            }
        };
        if let Ok(list) = std::env::var(INSECURE_ENV) {
            insecure.extend(
                list.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            );
        }
        Ok(RegistryConfig {
            insecure,
            docker_config_dir: docker_config_dir(),
        })
    }

    /// The endpoint serving the registry `domain` (a reference's domain).
    pub fn endpoint(&self, domain: &str) -> Endpoint {
        let host = if domain == DOCKER_HUB {
            DOCKER_HUB_ENDPOINT
        } else {
            domain
        };
        let plain_http =
            is_loopback(host) || self.insecure.iter().any(|i| i == domain || i == host);
        let scheme = if plain_http { "http" } else { "https" };
        Endpoint {
            registry: domain.to_owned(),
            base: format!("{scheme}://{host}"),
            loopback: is_loopback(host),
        }
    }

    /// Docker's credentials file.
    pub fn credentials_file(&self) -> PathBuf {
        self.docker_config_dir.join("config.json")
    }
}

/// `$DOCKER_CONFIG`, else `$HOME/.docker`, as the docker CLI does.
fn docker_config_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".docker")
}

/// One registry's address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The registry as references name it (`docker.io`, `127.0.0.1:5000`).
    pub registry: String,
    /// `scheme://host[:port]`, without a trailing slash.
    pub base: String,
    /// Loopback registries bypass any HTTP proxy.
    pub loopback: bool,
}

impl Endpoint {
    /// The key of this registry's credentials in config.json.
    pub fn auth_key(&self) -> String {
        auth_key(&self.registry)
    }
}

/// The config.json key for a registry: Docker Hub's legacy URL, else `host[:port]`.
pub fn auth_key(registry: &str) -> String {
    if registry == DOCKER_HUB || registry == DOCKER_HUB_ENDPOINT || registry == "index.docker.io" {
        DOCKER_HUB_AUTH_KEY.to_owned()
    } else {
        registry.to_owned()
    }
}

/// `registry` as a user types it for `skiff login`: a bare host, or a URL (`https://host/`),
/// or nothing (Docker Hub). Returns the registry domain.
pub fn normalize_server(server: Option<&str>) -> String {
    let Some(server) = server.map(str::trim).filter(|s| !s.is_empty()) else {
        return DOCKER_HUB.to_owned();
    };
    let s = server
        .strip_prefix("https://")
        .or_else(|| server.strip_prefix("http://"))
        .unwrap_or(server);
    let host = s.split('/').next().unwrap_or(s);
    match host {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => DOCKER_HUB.to_owned(),
        other => other.to_owned(),
    }
}

/// `localhost`, 127.0.0.0/8 and `::1`, with or without a port.
fn is_loopback(host_port: &str) -> bool {
    let host = if let Some(rest) = host_port.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        host_port.rsplit_once(':').map_or(host_port, |(h, _)| h)
    };
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let config = RegistryConfig {
            insecure: vec!["myreg.lan:5000".into()],
            docker_config_dir: "/x".into(),
        };
        assert_eq!(
            config.endpoint("docker.io").base,
            "https://registry-1.docker.io"
        );
        assert_eq!(
            config.endpoint("127.0.0.1:5000").base,
            "http://127.0.0.1:5000"
        );
        assert_eq!(config.endpoint("127.1.2.3:80").base, "http://127.1.2.3:80");
        assert_eq!(
            config.endpoint("localhost:5000").base,
            "http://localhost:5000"
        );
        assert_eq!(config.endpoint("[::1]:5000").base, "http://[::1]:5000");
        assert_eq!(
            config.endpoint("myreg.lan:5000").base,
            "http://myreg.lan:5000"
        );
        assert_eq!(config.endpoint("myreg.lan").base, "https://myreg.lan");
        assert_eq!(config.endpoint("ghcr.io").base, "https://ghcr.io");
        assert_eq!(
            config.endpoint("128.0.0.1:5000").base,
            "https://128.0.0.1:5000"
        );
    }

    #[test]
    fn auth_keys_and_servers() {
        assert_eq!(auth_key("docker.io"), DOCKER_HUB_AUTH_KEY);
        assert_eq!(auth_key("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(normalize_server(None), "docker.io");
        assert_eq!(
            normalize_server(Some("https://index.docker.io/v1/")),
            "docker.io"
        );
        assert_eq!(
            normalize_server(Some("http://127.0.0.1:5000/")),
            "127.0.0.1:5000"
        );
        assert_eq!(normalize_server(Some("ghcr.io")), "ghcr.io");
    }

    #[test]
    fn config_file_and_env() {
        let dir = tempfile::tempdir().unwrap();
        assert!(RegistryConfig::load(dir.path())
            .unwrap()
            .insecure
            .iter()
            .all(|i| i != "a.lan:1"));
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            br#"{"insecure-registries":["a.lan:1"]}"#,
        )
        .unwrap();
        let config = RegistryConfig::load(dir.path()).unwrap();
        assert!(config.insecure.contains(&"a.lan:1".to_owned()));
        assert_eq!(config.endpoint("a.lan:1").base, "http://a.lan:1");
        std::fs::write(dir.path().join(CONFIG_FILE), b"{nope").unwrap();
        let err = RegistryConfig::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("registries.json"), "{err}");
    }
}
