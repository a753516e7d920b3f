//! The errors of registry operations. Each says what failed, on what, and what to do.

use std::path::PathBuf;

use skiff_image::digest::Digest;
use skiff_image::layer::LayerError;
use skiff_image::manifest::ManifestError;
use skiff_image::store::StoreError;
use skiff_image::ImageError;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot reach registry {registry} ({url}): {reason}; check that the registry is running and the address is right")]
    Unreachable {
        registry: String,
        url: String,
        reason: String,
    },
    #[error("registry {registry}: {url} answered {status} after {attempts} attempts; the registry is failing, try again later")]
    ServerError {
        registry: String,
        url: String,
        status: u16,
        attempts: u32,
    },
    #[error("pull access denied for {repository} on {registry}: {detail}; the repository may not exist or may need `skiff login {registry}`")]
    Unauthorized {
        registry: String,
        repository: String,
        detail: String,
    },
    #[error("registry {registry} rejected the stored credentials for {repository}: unauthorized; check them with `skiff login {registry}`")]
    CredentialsRejected {
        registry: String,
        repository: String,
    },
    #[error("login to {registry} failed: unauthorized: incorrect username or password; check them and run `skiff login` again")]
    BadCredentials { registry: String },
    #[error("registry {registry} denied {action} on {repository}: {detail}; check that your account may {action} there")]
    Denied {
        registry: String,
        repository: String,
        action: &'static str,
        detail: String,
    },
    #[error("manifest for {reference} not found: manifest unknown; check the image name and tag")]
    ManifestUnknown { reference: String },
    #[error("repository {repository} not found on {registry}: name unknown; check the image name")]
    RepositoryUnknown {
        registry: String,
        repository: String,
    },
    #[error("blob {digest} not found in {repository}: blob unknown; the image on the registry is incomplete")]
    BlobUnknown { repository: String, digest: Digest },
    #[error("registry {registry}: {method} {url} answered {status} {body}")]
    Http {
        registry: String,
        method: &'static str,
        url: String,
        status: u16,
        body: String,
    },
    #[error("registry {registry}: {what}: {reason}")]
    BadResponse {
        registry: String,
        what: String,
        reason: String,
    },
    #[error("{what} of {reference}: the registry sent content with digest {actual}, expected {expected}; the registry data or a proxy is corrupt, nothing was stored")]
    DigestMismatch {
        reference: String,
        what: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("layer {digest} of {reference}: the registry sent {actual} bytes, the manifest says {expected}; the download was cut short or the image is corrupt, nothing was stored")]
    SizeMismatch {
        reference: String,
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("{reference} has no image for platform {platform} (available: {available}); pick one with --platform")]
    NoMatchingPlatform {
        reference: String,
        platform: String,
        available: String,
    },
    #[error(
        "invalid platform {0:?}: expected os/arch[/variant], such as linux/amd64 or linux/arm/v7"
    )]
    BadPlatform(String),
    #[error("{reference}: {what} is a {media_type}, which skiff cannot pull; only images (OCI or Docker v2 schema 2) are supported")]
    Unsupported {
        reference: String,
        what: String,
        media_type: String,
    },
    #[error(
        "An image does not exist locally with the tag: {reference}; pull, build or tag it first"
    )]
    NotLocal { reference: String },
    #[error("cannot push {reference}: it is a multi-platform index in the local store; push a single-platform image")]
    PushIndex { reference: String },
    #[error("credentials file {path}: {reason}; fix or remove it")]
    CredentialsCorrupt { path: PathBuf, reason: String },
    #[error("credentials file {path}: cannot {action}: {source}")]
    CredentialsIo {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
    #[error("registry config {path}: {reason}; fix it (expected {{\"insecure-registries\": [\"host:port\", …]}})")]
    BadConfig { path: PathBuf, reason: String },
    #[error("cannot read the image {reference} from the local store: {source}")]
    LocalImage {
        reference: String,
        source: ImageError,
    },
    #[error("{reference}: {source}")]
    Manifest {
        reference: String,
        source: ManifestError,
    },
    #[error("storing {reference}: {source}")]
    Store {
        reference: String,
        source: StoreError,
    },
    #[error("pulling {reference}: {source}")]
    Layer {
        reference: String,
        source: LayerError,
    },
    #[error("reading local blob {digest} to push it: {source}")]
    ReadBlob {
        digest: Digest,
        source: std::io::Error,
    },
    #[error("pull of {reference} was stopped because another layer failed")]
    Cancelled { reference: String },
}
