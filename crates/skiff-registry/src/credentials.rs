//! Registry credentials in Docker's `config.json` format, so a `docker login` is reused and
//! `skiff login` writes what `docker` reads:
//!
//! ```json
//! {"auths": {"127.0.0.1:5000": {"auth": "<base64 of user:password>"}}}
//! ```
//!
//! Other keys of the file (credsStore, proxies, …) are preserved untouched. Credential
//! helpers (`credsStore`, `credHelpers`) are not run.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::client::Client;
use crate::endpoint::{auth_key, normalize_server, RegistryConfig};
use crate::RegistryError;

/// A username and password (or an access token used as a password).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, <redacted>)", self.username)
    }
}

impl Credentials {
    /// The `Authorization: Basic` value.
    pub fn basic(&self) -> String {
        format!(
            "Basic {}",
            BASE64.encode(format!("{}:{}", self.username, self.password))
        )
    }
}

/// The stored credentials for `registry` (a reference domain), if any.
pub fn lookup(
    config: &RegistryConfig,
    registry: &str,
) -> Result<Option<Credentials>, RegistryError> {
    let path = config.credentials_file();
    let doc = read_doc(&path)?;
    let Some(auths) = doc.get("auths").and_then(Value::as_object) else {
        return Ok(None);
    };
    let key = auth_key(registry);
    // docker also accepts keys written as URLs (`https://host`, `http://host/v2/`).
    let entry = auths.get(&key).or_else(|| {
        auths
            .iter()
            .find(|(k, _)| auth_key(&normalize_server(Some(k))) == key)
            .map(|(_, v)| v)
    });
    let Some(entry) = entry else { return Ok(None) };
    let corrupt = |reason: String| RegistryError::CredentialsCorrupt {
        path: path.clone(),
        reason,
    };
    if let Some(auth) = entry
        .get("auth")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
    {
        let decoded = BASE64
            .decode(auth.trim())
            .map_err(|e| corrupt(format!("auths[{key:?}].auth is not base64: {e}")))?;
        let text = String::from_utf8(decoded)
            .map_err(|_| corrupt(format!("auths[{key:?}].auth is not UTF-8")))?;
        let (username, password) = text
            .split_once(':')
            .ok_or_else(|| corrupt(format!("auths[{key:?}].auth is not user:password")))?;
        return Ok(Some(Credentials {
            username: username.to_owned(),
            password: password.to_owned(),
        }));
    }
    // The older split form.
    match (
        entry.get("username").and_then(Value::as_str),
        entry.get("password").and_then(Value::as_str),
    ) {
        (Some(u), Some(p)) => Ok(Some(Credentials {
            username: u.to_owned(),
            password: p.to_owned(),
        })),
        _ => Ok(None),
    }
}

/// `skiff login`: checks the credentials against the registry's `/v2/` (and its token
/// server), then stores them. Returns the registry domain logged into.
pub fn login(
    config: &RegistryConfig,
    server: Option<&str>,
    credentials: &Credentials,
) -> Result<String, RegistryError> {
    let registry = normalize_server(server);
    let endpoint = config.endpoint(&registry);
    Client::new(endpoint, Some(credentials.clone())).verify_login()?;
    let path = config.credentials_file();
    let mut doc = read_doc(&path)?;
    let root = doc.as_object_mut().expect("read_doc returns an object");
    let auths = root
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        *auths = Value::Object(Map::new());
    }
    let encoded = BASE64.encode(format!("{}:{}", credentials.username, credentials.password));
    auths
        .as_object_mut()
        .expect("auths is an object")
        .insert(auth_key(&registry), serde_json::json!({ "auth": encoded }));
    write_doc(&path, &doc)?;
    Ok(registry)
}

/// `skiff logout`: forgets the stored credentials. Returns the registry and whether any
/// were stored.
pub fn logout(
    config: &RegistryConfig,
    server: Option<&str>,
) -> Result<(String, bool), RegistryError> {
    let registry = normalize_server(server);
    let path = config.credentials_file();
    let mut doc = read_doc(&path)?;
    let key = auth_key(&registry);
    let removed = doc
        .get_mut("auths")
        .and_then(Value::as_object_mut)
        .map(|auths| {
            let before = auths.len();
            auths.retain(|k, _| auth_key(&normalize_server(Some(k))) != key && k != &key);
            auths.len() != before
        })
        .unwrap_or(false);
    if removed {
        write_doc(&path, &doc)?;
    }
    Ok((registry, removed))
}

fn read_doc(path: &Path) -> Result<Value, RegistryError> {
    match fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(Value::Object(Map::new())),
        Ok(bytes) => {
            let v: Value =
                serde_json::from_slice(&bytes).map_err(|e| RegistryError::CredentialsCorrupt {
                    path: path.to_owned(),
                    reason: format!("not valid JSON: {e}"),
                })?;
            if v.is_object() {
                Ok(v)
            } else {
                Err(RegistryError::CredentialsCorrupt {
                    path: path.to_owned(),
                    reason: "not a JSON object".into(),
                })
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Value::Object(Map::new())),
        Err(source) => Err(RegistryError::CredentialsIo {
            path: path.to_owned(),
            action: "read",
            source,
        }),
    }
}

/// Writes the file atomically, readable by its owner only (it holds passwords).
fn write_doc(path: &Path, doc: &Value) -> Result<(), RegistryError> {
    let io = |action| {
        move |source| RegistryError::CredentialsIo {
            path: path.to_owned(),
            action,
            source,
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io("create its directory"))?;
    let tmp = dir.join(format!(".config.json.skiff-{}", std::process::id()));
    let mut bytes = serde_json::to_vec_pretty(doc).expect("JSON value serialises");
    bytes.push(b'\n');
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io("write"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path) -> RegistryConfig {
        RegistryConfig {
            insecure: vec![],
            docker_config_dir: dir.to_owned(),
        }
    }

    #[test]
    fn reads_docker_formats() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path());
        assert_eq!(lookup(&c, "docker.io").unwrap(), None);
        fs::write(
            c.credentials_file(),
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dTpwOmM="},
                "http://127.0.0.1:5000/v2/":{"auth":"YWxpY2U6c2VjcmV0"},
                "old.lan":{"username":"bob","password":"pw"}},"credsStore":"x"}"#,
        )
        .unwrap();
        let hub = lookup(&c, "docker.io").unwrap().unwrap();
        assert_eq!((hub.username.as_str(), hub.password.as_str()), ("u", "p:c"));
        let local = lookup(&c, "127.0.0.1:5000").unwrap().unwrap();
        assert_eq!(
            (local.username.as_str(), local.password.as_str()),
            ("alice", "secret")
        );
        assert_eq!(lookup(&c, "old.lan").unwrap().unwrap().username, "bob");
        assert_eq!(lookup(&c, "other.lan").unwrap(), None);
        assert_eq!(local.basic(), "Basic YWxpY2U6c2VjcmV0");
        // logout keeps the other keys.
        let (reg, removed) = logout(&c, Some("127.0.0.1:5000")).unwrap();
        assert_eq!((reg.as_str(), removed), ("127.0.0.1:5000", true));
        assert!(!logout(&c, Some("127.0.0.1:5000")).unwrap().1);
        let doc: Value = serde_json::from_slice(&fs::read(c.credentials_file()).unwrap()).unwrap();
        assert_eq!(doc["credsStore"], "x");
        assert!(doc["auths"]["https://index.docker.io/v1/"].is_object());
    }

    #[test]
    fn corrupt_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path());
        fs::write(
            c.credentials_file(),
            r#"{"auths":{"a.lan":{"auth":"!!!"}}}"#,
        )
        .unwrap();
        let err = lookup(&c, "a.lan").unwrap_err();
        assert!(err.to_string().contains("not base64"), "{err}");
        fs::write(c.credentials_file(), "[1]").unwrap();
        assert!(matches!(
            lookup(&c, "a.lan"),
            Err(RegistryError::CredentialsCorrupt { .. })
        ));
    }
}
