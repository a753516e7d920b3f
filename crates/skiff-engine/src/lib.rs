//! The skiff engine: turns user intent (an image name, `-e`, `-u`, `--read-only` …) into an
//! OCI bundle and a running container, and keeps durable state on disk. The CLI and the API
//! server are thin layers over it (see DESIGN.md).
//!
//! ```text
//! <root>/blobs, images, layers      the image store (skiff-image)
//! <root>/containers/<id>/           container.json (record), config.json (the OCI bundle),
//!                                   upper/ work/ merged/, <id>-json.log, lock
//! <root>/run                        the runtime's state (/run/skiff/runtime for the default root)
//! ```
//!
//! Each started container is owned by a monitor process ([`monitor`]), so containers outlive
//! the CLI that started them.

#![recursion_limit = "256"]

pub mod containers;
pub mod import;
pub mod inspect;
pub mod logs;
pub mod monitor;
pub mod record;
pub mod registry;
pub mod runtimes;
pub mod spec;
pub mod timefmt;
pub mod user;

use std::path::{Path, PathBuf};

use skiff_image::ImageStore;
use skiff_runtime::Runtime;

/// The state root used when neither `--root` nor `SKIFF_ROOT` says otherwise.
pub const DEFAULT_ROOT: &str = "/var/lib/skiff";

/// One skiff state root: its image store, its containers and the runtime driving them.
pub struct Engine {
    root: PathBuf,
    images: ImageStore,
    runtime: Runtime,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Image(#[from] skiff_image::ImageError),
    #[error(transparent)]
    Runtime(#[from] skiff_runtime::Error),
    #[error(transparent)]
    Spec(#[from] spec::SpecError),
    #[error(transparent)]
    User(#[from] user::UserError),
    #[error(transparent)]
    Registry(#[from] skiff_registry::RegistryError),
    #[error(transparent)]
    Overlay(#[from] skiff_image::overlay::OverlayError),
    #[error("invalid reference format: {reference:?}: {reason}")]
    BadReference { reference: String, reason: String },
    #[error("Unable to find image '{reference}' locally, and pulling is not available yet; load it with `skiff load` or build it")]
    NoSuchImage { reference: String },
    #[error("invalid value {value:?} for {option}: {hint}")]
    InvalidOption {
        option: &'static str,
        value: String,
        hint: &'static str,
    },
    #[error("No such container: {name}")]
    NoSuchContainer { name: String },
    #[error("container id prefix {prefix:?} matches {count} containers; give more of the id or use the name")]
    AmbiguousContainer { prefix: String, count: usize },
    #[error("Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    InvalidName { name: String },
    #[error("Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.")]
    NameConflict { name: String, id: String },
    #[error("container {id} is already running")]
    AlreadyRunning { id: String },
    #[error("Container {id} is not running")]
    NotRunning { id: String },
    #[error("container {id} {what}")]
    WrongState { id: String, what: &'static str },
    #[error("cannot remove container {id}: container is running: stop the container before removing or force remove")]
    RemoveRunning { id: String },
    #[error("OCI runtime {runtime}: {message}")]
    ExternalRuntime { runtime: String, message: String },
    #[error("failed to start container {id}: {message}")]
    StartFailed {
        id: String,
        code: i32,
        message: String,
    },
    #[error("the record of container {} is unreadable ({source}); remove it with `skiff rm -f`", path.display())]
    CorruptRecord {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl EngineError {
    /// The exit code docker's CLI gives for this error: 126/127 when the container's
    /// command cannot be run or found, 125 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            EngineError::StartFailed { code, .. } => *code,
            _ => 125,
        }
    }
}

impl Engine {
    /// Opens (creating if needed) the state root, e.g. /var/lib/skiff.
    pub fn open(root: &Path) -> Result<Engine, EngineError> {
        let images = ImageStore::open(root)?;
        let runtime_root = if root == Path::new(DEFAULT_ROOT) {
            PathBuf::from(skiff_runtime::DEFAULT_ROOT)
        } else {
            root.join("run")
        };
        Ok(Engine {
            root: root.to_owned(),
            images,
            runtime: Runtime::new(runtime_root),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn images(&self) -> &ImageStore {
        &self.images
    }
}
