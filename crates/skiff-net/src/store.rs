//! Persisted network state, in two places:
//!
//! - the definition (name, subnet, bridge…) in `<root>/networks/<name>.json`, durable: written
//!   atomically with fsync, it survives reboots;
//! - the endpoints (attached containers, their addresses and published ports) in
//!   `<run_dir>/<name>.json`, runtime state like pids: written atomically without fsync (the
//!   run dir is a tmpfs such as /run/skiff), so attach and detach, on every container start
//!   and stop, cost no disk flush; and a reboot, which kills every container, frees every
//!   address by itself.
//!
//! One exclusive lock file serialises every change made by concurrent CLI invocations and the
//! daemon. Readers (the DNS servers) need no lock: every file is replaced by rename.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ports::PortMapping;
use crate::subnet::Subnet;
use crate::Error;

/// A network as persisted in `<root>/networks/<name>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub name: String,
    /// 64 hex characters, like Docker's network ids.
    pub id: String,
    pub driver: String,
    /// The Linux bridge carrying the network.
    pub bridge: String,
    pub subnet: Subnet,
    pub gateway: Ipv4Addr,
    /// No NAT and no route out; only containers on the network reach each other.
    pub internal: bool,
    pub mtu: u32,
    /// Seconds since the Unix epoch.
    pub created: u64,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Attached containers by container id (stored in the run dir, see the module docs).
    #[serde(skip)]
    pub endpoints: BTreeMap<String, Endpoint>,
}

/// One container's attachment to a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub container_id: String,
    pub container_name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub hostname: Option<String>,
    pub ip: Ipv4Addr,
    /// The host end of the veth pair (on the bridge).
    pub host_veth: String,
    /// The interface name inside the container, `eth0` for the first network.
    pub interface: String,
    #[serde(default)]
    pub ports: Vec<PortMapping>,
}

impl Endpoint {
    /// Every name this endpoint answers to in the network's DNS.
    pub fn dns_names(&self) -> impl Iterator<Item = &str> {
        let short_id = self.container_id.get(..12).unwrap_or(&self.container_id);
        std::iter::once(self.container_name.as_str())
            .chain(self.aliases.iter().map(String::as_str))
            .chain(self.hostname.as_deref())
            .chain(std::iter::once(short_id))
            .filter(|name| !name.is_empty())
    }
}

/// The endpoints file: the network id guards against a file left by a removed network of the
/// same name.
#[derive(Debug, Serialize, Deserialize)]
struct EndpointsFile {
    network_id: String,
    endpoints: BTreeMap<String, Endpoint>,
}

/// The directories of network files, and the lock.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    run_dir: PathBuf,
}

/// Held while a change is in progress; released on drop.
pub struct StoreLock {
    _file: File,
}

impl Store {
    /// Definitions in `<root>/networks`, endpoints in `run_dir`.
    pub fn new(root: &Path, run_dir: &Path) -> Store {
        Store {
            dir: root.join("networks"),
            run_dir: run_dir.to_path_buf(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The network's definition file.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// The network's endpoints file.
    pub fn endpoints_path(&self, name: &str) -> PathBuf {
        self.run_dir.join(format!("{name}.json"))
    }

    /// Takes the exclusive lock for a read-modify-write of the networks.
    pub fn lock(&self) -> Result<StoreLock, Error> {
        fs::create_dir_all(&self.dir).map_err(|source| Error::State {
            path: self.dir.clone(),
            source,
        })?;
        let path = self.dir.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| Error::State {
                path: path.clone(),
                source,
            })?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive).map_err(|e| {
            Error::State {
                path,
                source: e.into(),
            }
        })?;
        Ok(StoreLock { _file: file })
    }

    /// The network called `name` with its endpoints, or `None`.
    pub fn load(&self, name: &str) -> Result<Option<Network>, Error> {
        let Some(mut network) = read_json::<Network>(&self.path(name))? else {
            return Ok(None);
        };
        if let Some(file) = read_json::<EndpointsFile>(&self.endpoints_path(name))? {
            if file.network_id == network.id {
                network.endpoints = file.endpoints;
            }
        }
        Ok(Some(network))
    }

    /// All networks, sorted by name.
    pub fn load_all(&self) -> Result<Vec<Network>, Error> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(Error::State {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        let mut networks = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| Error::State {
                path: self.dir.clone(),
                source,
            })?;
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if let Some(network) = self.load(name)? {
                networks.push(network);
            }
        }
        networks.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(networks)
    }

    /// Writes the definition (durably) and the endpoints of `network`.
    pub fn save(&self, network: &Network) -> Result<(), Error> {
        let json = serde_json::to_vec_pretty(network).expect("networks serialise");
        write_atomically(&self.path(&network.name), &json, true)?;
        self.save_endpoints(network)
    }

    /// Writes only the endpoints of `network`: what attach and detach change.
    pub fn save_endpoints(&self, network: &Network) -> Result<(), Error> {
        let file = EndpointsFile {
            network_id: network.id.clone(),
            endpoints: network.endpoints.clone(),
        };
        let json = serde_json::to_vec_pretty(&file).expect("endpoints serialise");
        fs::create_dir_all(&self.run_dir).map_err(|source| Error::State {
            path: self.run_dir.clone(),
            source,
        })?;
        write_atomically(&self.endpoints_path(&network.name), &json, false)
    }

    /// Deletes the network's files.
    pub fn remove(&self, name: &str) -> Result<(), Error> {
        for path in [self.endpoints_path(name), self.path(name)] {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(Error::State { path, source }),
            }
        }
        Ok(())
    }
}

/// The JSON file at `path` parsed, or `None` when it does not exist.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, Error> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| Error::Corrupt {
                path: path.to_path_buf(),
                source,
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::State {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Replaces `path` by a file holding `bytes`: a reader sees the old or the new content, never a
/// mix. With `durable`, the data reaches the disk before the rename.
fn write_atomically(path: &Path, bytes: &[u8], durable: bool) -> Result<(), Error> {
    let io = |source| Error::State {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("network");
    let temp = path.with_file_name(format!(".{name}.tmp"));
    let mut file = File::create(&temp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    if durable {
        file.sync_all().map_err(io)?;
    }
    fs::rename(&temp, path).map_err(io)
}
