//! Readers for instruction values that only make sense after variable expansion: EXPOSE
//! ports, USER's `user:group`, and RUN `--mount` specifications.

use serde::Serialize;
use thiserror::Error;

/// A value that Docker would reject once expanded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValueError {
    #[error("EXPOSE: no port specified in {0:?}")]
    NoPort(String),
    #[error("EXPOSE: invalid port or port range {0:?} (use PORT or START-END, each 0-65535)")]
    InvalidPort(String),
    #[error("EXPOSE: invalid protocol {0:?} (use tcp, udp or sctp)")]
    InvalidProtocol(String),
    #[error("RUN --mount: failed to parse csv mounts: {0}")]
    MountCsv(String),
    #[error("RUN --mount: invalid field '{0}' must be a key=value pair")]
    MountField(String),
    #[error("RUN --mount: unsupported mount type {0:?} (use bind, cache, tmpfs, secret or ssh)")]
    MountType(String),
    #[error("RUN --mount: unexpected key '{key}' in '{field}'")]
    MountKey { key: String, field: String },
    #[error("RUN --mount: unexpected key '{key}' for mount type '{kind}'")]
    MountKeyForType { key: String, kind: &'static str },
    #[error("RUN --mount: invalid value for {key}: {value}")]
    MountValue { key: String, value: String },
    #[error("RUN --mount: unsupported sharing value {0:?} (use shared, private or locked)")]
    MountSharing(String),
    #[error("RUN --mount: {0}")]
    MountRule(&'static str),
}

/// Transport protocol of an exposed port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum PortProtocol {
    Tcp,
    Udp,
    Sctp,
}

/// One exposed port; `to_string()` gives the image-config key (`80/tcp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PortSpec {
    pub port: u16,
    pub protocol: PortProtocol,
}

impl std::fmt::Display for PortSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let protocol = match self.protocol {
            PortProtocol::Tcp => "tcp",
            PortProtocol::Udp => "udp",
            PortProtocol::Sctp => "sctp",
        };
        write!(f, "{}/{}", self.port, protocol)
    }
}

/// Reads expanded EXPOSE words (`80`, `80/udp`, `8000-8002/tcp`) into ports, ranges
/// unrolled, as Docker's `nat.ParsePortSpecs`. A `host:container` form contributes its
/// container part (Docker accepts it and exposes the container port).
pub fn parse_ports<S: AsRef<str>>(words: &[S]) -> Result<Vec<PortSpec>, ValueError> {
    let mut ports = Vec::new();
    for word in words {
        let raw = word.as_ref();
        let container = raw.rsplit(':').next().unwrap_or(raw);
        let (range, protocol) = match container.split_once('/') {
            None => (container, "tcp"),
            Some((range, "")) => (range, "tcp"),
            Some((range, protocol)) => (range, protocol.split('/').next().unwrap_or(protocol)),
        };
        if range.is_empty() {
            return Err(ValueError::NoPort(raw.to_string()));
        }
        let protocol = match protocol.to_ascii_lowercase().as_str() {
            "tcp" => PortProtocol::Tcp,
            "udp" => PortProtocol::Udp,
            "sctp" => PortProtocol::Sctp,
            _ => return Err(ValueError::InvalidProtocol(protocol.to_string())),
        };
        let invalid = || ValueError::InvalidPort(range.to_string());
        let (start, end) = match range.split_once('-') {
            Some((start, end)) => (
                start.parse::<u16>().map_err(|_| invalid())?,
                end.parse::<u16>().map_err(|_| invalid())?,
            ),
            None => {
                let port = range.parse::<u16>().map_err(|_| invalid())?;
                (port, port)
            }
        };
        if end < start {
            return Err(invalid());
        }
        ports.extend((start..=end).map(|port| PortSpec { port, protocol }));
    }
    Ok(ports)
}

/// `user[:group]` → (user, group). Docker stores the string as is in the image config; this
/// is for the builder's RUN steps.
pub fn split_user(user: &str) -> (&str, Option<&str>) {
    match user.split_once(':') {
        Some((user, group)) => (user, Some(group)),
        None => (user, None),
    }
}

/// `RUN --mount=type=...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MountType {
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

impl MountType {
    fn name(self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Cache => "cache",
            MountType::Tmpfs => "tmpfs",
            MountType::Secret => "secret",
            MountType::Ssh => "ssh",
        }
    }
}

/// A RUN `--mount` specification, read from its expanded text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MountSpec {
    pub kind: MountType,
    pub from: Option<String>,
    pub source: Option<String>,
    pub target: Option<String>,
    pub read_only: bool,
    /// Cache or secret id.
    pub id: Option<String>,
    /// Cache sharing: `shared`, `private` or `locked`.
    pub sharing: Option<String>,
    pub required: bool,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// Reads a `--mount` value (`type=cache,target=/root/.cache,sharing=locked`), with BuildKit's
/// defaults (bind mounts read-only, cache and tmpfs writable) and checks.
pub fn parse_mount(spec: &str) -> Result<MountSpec, ValueError> {
    let mut mount = MountSpec {
        kind: MountType::Bind,
        from: None,
        source: None,
        target: None,
        read_only: false,
        id: None,
        sharing: None,
        required: false,
        mode: None,
        uid: None,
        gid: None,
    };
    let mut read_only_set = false;
    for field in csv_fields(spec)? {
        let (key, value) = match field.split_once('=') {
            Some((key, value)) => (key.to_ascii_lowercase(), Some(value)),
            None => (field.to_ascii_lowercase(), None),
        };
        let secret_like = matches!(mount.kind, MountType::Secret | MountType::Ssh);
        let Some(value) = value else {
            match key.as_str() {
                "readonly" | "ro" => (mount.read_only, read_only_set) = (true, true),
                "readwrite" | "rw" => (mount.read_only, read_only_set) = (false, true),
                "required" if secret_like => mount.required = true,
                "required" => {
                    return Err(ValueError::MountKeyForType {
                        key,
                        kind: mount.kind.name(),
                    })
                }
                _ => return Err(ValueError::MountField(field.clone())),
            }
            continue;
        };
        let bad_value = || ValueError::MountValue {
            key: key.clone(),
            value: value.to_string(),
        };
        match key.as_str() {
            "type" => {
                mount.kind = match value.to_ascii_lowercase().as_str() {
                    "bind" => MountType::Bind,
                    "cache" => MountType::Cache,
                    "tmpfs" => MountType::Tmpfs,
                    "secret" => MountType::Secret,
                    "ssh" => MountType::Ssh,
                    _ => return Err(ValueError::MountType(value.to_string())),
                }
            }
            "from" => mount.from = Some(value.to_string()),
            "source" | "src" => mount.source = Some(value.to_string()),
            "target" | "dst" | "destination" => mount.target = Some(value.to_string()),
            "readonly" | "ro" => {
                (mount.read_only, read_only_set) =
                    (parse_go_bool(value).ok_or_else(bad_value)?, true)
            }
            "readwrite" | "rw" => {
                (mount.read_only, read_only_set) =
                    (!parse_go_bool(value).ok_or_else(bad_value)?, true)
            }
            "required" if secret_like => {
                mount.required = parse_go_bool(value).ok_or_else(bad_value)?
            }
            "required" => {
                return Err(ValueError::MountKeyForType {
                    key,
                    kind: mount.kind.name(),
                })
            }
            "id" => mount.id = Some(value.to_string()),
            "sharing" => match value.to_ascii_lowercase().as_str() {
                sharing @ ("shared" | "private" | "locked") => {
                    mount.sharing = Some(sharing.to_string())
                }
                _ => return Err(ValueError::MountSharing(value.to_string())),
            },
            "mode" => mount.mode = Some(u32::from_str_radix(value, 8).map_err(|_| bad_value())?),
            "uid" => mount.uid = Some(value.parse().map_err(|_| bad_value())?),
            "gid" => mount.gid = Some(value.parse().map_err(|_| bad_value())?),
            _ => {
                return Err(ValueError::MountKey {
                    key,
                    field: field.clone(),
                })
            }
        }
    }
    let file_info_allowed = matches!(
        mount.kind,
        MountType::Secret | MountType::Ssh | MountType::Cache
    );
    if !file_info_allowed && (mount.mode.is_some() || mount.uid.is_some() || mount.gid.is_some()) {
        return Err(ValueError::MountRule(
            "mode, uid and gid are only allowed for cache, secret and ssh mounts",
        ));
    }
    if !read_only_set {
        mount.read_only = !matches!(mount.kind, MountType::Cache | MountType::Tmpfs);
    }
    if mount.sharing.is_some() && mount.kind != MountType::Cache {
        return Err(ValueError::MountRule(
            "sharing is only allowed for cache mounts",
        ));
    }
    if mount.kind == MountType::Secret {
        if mount.from.is_some() {
            return Err(ValueError::MountRule("secret mount should not have a from"));
        }
        if mount.source.is_none() && mount.target.is_none() && mount.id.is_none() {
            return Err(ValueError::MountRule(
                "invalid secret mount. one of source, target required",
            ));
        }
        if mount.source.is_some() && mount.id.is_some() {
            return Err(ValueError::MountRule("both source and id can't be set"));
        }
    }
    Ok(mount)
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// One CSV record (Go's encoding/csv): comma-separated, a field may be `"quoted"` with `""`
/// standing for a quote.
fn csv_fields(line: &str) -> Result<Vec<String>, ValueError> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => {
                        return Err(ValueError::MountCsv(format!(
                            "extraneous or missing \" in quoted-field: {line}"
                        )))
                    }
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => {}
                Some(_) => {
                    return Err(ValueError::MountCsv(format!(
                        "extraneous or missing \" in quoted-field: {line}"
                    )))
                }
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some('"') => {
                        return Err(ValueError::MountCsv(format!(
                            "bare \" in non-quoted-field: {line}"
                        )))
                    }
                    Some(c) => field.push(c),
                }
            }
        }
        fields.push(field);
    }
}
