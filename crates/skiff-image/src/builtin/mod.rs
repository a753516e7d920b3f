//! Images that ship inside the skiff binary, so `skiff run --rm hello-world` works offline on
//! a fresh machine. The build script compiles and packs them; here they are embedded and
//! imported into a store on first use.

pub mod pack;

use crate::digest::Digest;
use crate::reference::Reference;
use crate::store::{ContentStore, ImageIndex, StoreError};

/// One embedded image: its blobs as they go into the content store.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinImage {
    /// The reference it is tagged as, e.g. `hello-world:latest`.
    pub name: &'static str,
    pub manifest: &'static [u8],
    pub config: &'static [u8],
    /// Compressed layer blobs, bottom first.
    pub layers: &'static [&'static [u8]],
}

#[cfg(skiff_hello_world)]
static HELLO_LAYERS: [&[u8]; 1] = [include_bytes!(concat!(
    env!("OUT_DIR"),
    "/hello-layer.tar.gz"
))];

#[cfg(skiff_hello_world)]
static BUILTIN: [BuiltinImage; 1] = [BuiltinImage {
    name: "hello-world:latest",
    manifest: include_bytes!(concat!(env!("OUT_DIR"), "/hello-manifest.json")),
    config: include_bytes!(concat!(env!("OUT_DIR"), "/hello-config.json")),
    layers: &HELLO_LAYERS,
}];

#[cfg(not(skiff_hello_world))]
static BUILTIN: [BuiltinImage; 0] = [];

/// Every built-in image (empty on targets the build script cannot build them for).
pub fn builtin_images() -> &'static [BuiltinImage] {
    &BUILTIN
}

/// The built-in image a reference names, if any (`hello-world`, `hello-world:latest`,
/// `docker.io/library/hello-world:latest`, or its manifest digest).
pub fn find_builtin(reference: &Reference) -> Option<&'static BuiltinImage> {
    builtin_images().iter().find(|image| {
        let name = Reference::parse(image.name).expect("built-in names are valid");
        match reference.digest() {
            Some(d) => *d == image.manifest_digest() && reference.repository() == name.repository(),
            None => reference.repository() == name.repository() && reference.tag() == name.tag(),
        }
    })
}

impl BuiltinImage {
    pub fn manifest_digest(&self) -> Digest {
        Digest::of(self.manifest)
    }

    /// Writes the blobs into the content store (each verified) and tags the image.
    /// Idempotent: blobs already present are kept.
    pub fn import(&self, content: &ContentStore, index: &ImageIndex) -> Result<Digest, StoreError> {
        for layer in self.layers {
            content.put(layer)?;
        }
        content.put(self.config)?;
        let manifest = content.put(self.manifest)?;
        let reference = Reference::parse(self.name).expect("built-in names are valid");
        index.tag(&reference, &manifest)?;
        Ok(manifest)
    }
}
