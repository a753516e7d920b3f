//! skiff's image store.
//!
//! ```text
//! <root>/blobs/sha256/<hex>        content store: manifests, configs, compressed layers (verified)
//! <root>/images/index.json         repository:tag -> manifest digest, and the known images
//! <root>/layers/<chain-id>/diff/   unpacked layers, the read-only lower dirs of overlays
//! ```
//!
//! - [`ImageStore`]: the three together, as the engine uses them (resolve a reference,
//!   importing a built-in image on first use; read an image; unpack its layers);
//! - [`store`]: the content store and the image index;
//! - [`reference`]: Docker reference normalisation (`busybox` = `docker.io/library/busybox:latest`);
//! - [`manifest`]: OCI and Docker v2 schema 2 manifests and configs, diff ids, chain ids;
//! - [`layer`]: the tar reader and writer, the layer applier, whiteouts, compression;
//! - [`overlay`]: mounting a container's overlayfs over its image layers;
//! - [`builtin`]: the `hello-world` image shipped inside the binary.

pub mod builtin;
pub mod digest;
mod fsutil;
mod images;
pub mod layer;
pub mod manifest;
pub mod overlay;
pub mod reference;
pub mod store;

pub use digest::Digest;
pub use images::{ImageError, ImageStore};

// The build script includes the tar writer and the image packer as top-level modules; this
// alias lets `builtin::pack` name the writer the same way in both places.
pub(crate) use layer::tar_write;
pub use reference::Reference;
