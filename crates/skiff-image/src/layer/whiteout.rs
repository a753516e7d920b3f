//! Whiteouts in their two forms, and the rules for telling them apart.
//!
//! In a layer tar (OCI image-spec layer.md):
//! - `DIR/.wh.NAME` deletes `DIR/NAME` from the layers below;
//! - `DIR/.wh..wh..opq` makes `DIR` opaque: nothing below shows through it;
//! - other `.wh..wh.*` names are AUFS bookkeeping and are ignored; a bare `.wh.` is invalid.
//!
//! In an overlayfs branch (kernel Documentation/filesystems/overlayfs.rst):
//! - a character device 0:0 named `NAME` deletes `NAME`;
//! - the xattr `trusted.overlay.opaque=y` on a directory makes it opaque.

pub const WHITEOUT_PREFIX: &[u8] = b".wh.";
pub const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";
pub const META_PREFIX: &[u8] = b".wh..wh.";
pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
/// Overlayfs' own xattrs: never taken from a layer tar (a hostile layer could otherwise set
/// redirects or metacopy origins), never written into one.
pub const OVERLAY_XATTR_PREFIXES: [&[u8]; 2] = [b"trusted.overlay.", b"user.overlay."];

/// What a tar entry's base name means.
#[derive(Debug, PartialEq, Eq)]
pub enum TarName<'a> {
    /// An ordinary file name.
    Plain,
    /// `.wh..wh..opq`: the parent directory is opaque.
    Opaque,
    /// `.wh.NAME`: `NAME` in the parent directory is deleted.
    Remove(&'a [u8]),
    /// `.wh..wh.*` other than the opaque marker: AUFS metadata, skipped.
    Meta,
    /// `.wh.` alone, or a whiteout of `.` or `..`.
    Invalid,
}

pub fn classify(base: &[u8]) -> TarName<'_> {
    if !base.starts_with(WHITEOUT_PREFIX) {
        return TarName::Plain;
    }
    if base == OPAQUE_MARKER {
        return TarName::Opaque;
    }
    if base.starts_with(META_PREFIX) {
        return TarName::Meta;
    }
    match &base[WHITEOUT_PREFIX.len()..] {
        b"" | b"." | b".." => TarName::Invalid,
        name => TarName::Remove(name),
    }
}

pub fn is_overlay_xattr(name: &[u8]) -> bool {
    OVERLAY_XATTR_PREFIXES.iter().any(|p| name.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_names() {
        assert_eq!(classify(b"file"), TarName::Plain);
        assert_eq!(classify(b".whfile"), TarName::Plain);
        assert_eq!(classify(b".wh.file"), TarName::Remove(b"file"));
        assert_eq!(classify(b".wh..hidden"), TarName::Remove(b".hidden"));
        assert_eq!(classify(b".wh..wh..opq"), TarName::Opaque);
        assert_eq!(classify(b".wh..wh.plnk"), TarName::Meta);
        assert_eq!(classify(b".wh."), TarName::Invalid);
        assert_eq!(classify(b".wh.."), TarName::Invalid);
        assert_eq!(classify(b".wh..."), TarName::Invalid);
        assert!(is_overlay_xattr(b"trusted.overlay.redirect"));
        assert!(!is_overlay_xattr(b"security.capability"));
    }
}
