//! skiff's registry client: `pull`, `push` and `login` over the OCI distribution protocol
//! (the Docker Registry HTTP API v2), into and out of skiff's image store.
//!
//! - [`endpoint`]: where a reference's registry is (`docker.io` is `registry-1.docker.io`),
//!   and whether it may be spoken to over plain http (loopback and configured insecure
//!   registries only);
//! - [`credentials`]: Docker's `config.json` (`auths`), read and written as `docker login` does;
//! - [`auth`]: `WWW-Authenticate` challenges, Basic and Bearer tokens (cached per scope);
//! - [`client`]: one registry, one operation: HTTP with auth, retries with backoff, and the
//!   typed v2 calls (manifests, blobs, uploads);
//! - [`platform`]: `os/arch[/variant]` and the choice of a manifest from an index;
//! - [`pull`] and [`push`]: the operations; [`progress`]: Docker-like progress lines.
//!
//! HTTP is blocking (ureq). Pulls download up to [`pull::DEFAULT_PARALLEL`] layers at once
//! on scoped threads, each unpacked while it downloads; every thread is joined before an
//! operation returns, so the caller may fork right after.

pub mod auth;
pub mod client;
pub mod credentials;
pub mod endpoint;
mod error;
pub mod platform;
pub mod progress;
pub mod pull;
pub mod push;
mod sources;

pub use credentials::{login, logout};
pub use endpoint::RegistryConfig;
pub use error::RegistryError;
pub use platform::Platform;
pub use progress::{Progress, TextProgress};
pub use pull::{pull, PullOptions, PullOutcome};
pub use push::{push, PushOptions, PushOutcome};
