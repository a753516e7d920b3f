//! Mapping an OCI `linux.cgroupsPath` to a cgroup path relative to the hierarchy root.

use std::path::{Component, Path, PathBuf};

use crate::CgroupError;

/// Parent of the cgroups of containers whose spec gives no absolute path.
const DEFAULT_PARENT: &str = "skiff";

/// Resolves `cgroups_path` of container `id` to a path relative to a hierarchy's root.
///
/// - `None` => `skiff/<id>`; a relative path => `skiff/<path>`; an absolute path as is.
/// - The systemd form `slice:prefix:name` (dockerd and podman with the systemd driver) =>
///   `<slice path>/<prefix>-<name>.scope`, where a slice `a-b.slice` expands to
///   `a.slice/a-b.slice` as systemd lays it out (the cgroupfs fallback crun uses).
pub(crate) fn resolve(cgroups_path: Option<&str>, id: &str) -> Result<PathBuf, CgroupError> {
    let invalid = |reason| CgroupError::InvalidPath {
        path: cgroups_path.unwrap_or(id).to_owned(),
        reason,
    };
    let relative = match cgroups_path {
        None | Some("") => {
            if id.is_empty() || id.contains('/') {
                return Err(invalid(
                    "the container id must be non-empty and contain no '/'",
                ));
            }
            Path::new(DEFAULT_PARENT).join(id)
        }
        Some(p) if p.starts_with('/') => PathBuf::from(p.trim_start_matches('/')),
        Some(p) => match systemd_form(p) {
            Some(parts) => parts.map_err(invalid)?,
            None => Path::new(DEFAULT_PARENT).join(p),
        },
    };
    // Refuse anything that could step out of the hierarchy or name its root.
    let mut normal = 0;
    for component in relative.components() {
        match component {
            Component::Normal(_) => normal += 1,
            Component::CurDir => {}
            _ => return Err(invalid("'..' components are not allowed")),
        }
    }
    if normal == 0 {
        return Err(invalid(
            "the path names the root cgroup; give a container cgroup",
        ));
    }
    Ok(relative)
}

/// `Some` if `p` is `slice:prefix:name`; the inner result is the mapped path.
fn systemd_form(p: &str) -> Option<Result<PathBuf, &'static str>> {
    let mut parts = p.split(':');
    let (slice, prefix, name) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    if name.is_empty() || name.contains('/') || prefix.contains('/') || slice.contains('/') {
        return Some(Err("systemd form must be slice:prefix:name without '/'"));
    }
    let mut path = PathBuf::new();
    let slice = if slice.is_empty() {
        "system.slice"
    } else {
        slice
    };
    if slice != "-.slice" {
        let Some(stem) = slice.strip_suffix(".slice") else {
            return Some(Err("the systemd slice must end in .slice"));
        };
        // "a-b-c.slice" lives in "a.slice/a-b.slice/a-b-c.slice".
        for (i, _) in stem.match_indices('-') {
            path.push(format!("{}.slice", &stem[..i]));
        }
        path.push(slice);
    }
    let unit = if prefix.is_empty() {
        format!("{name}.scope")
    } else {
        format!("{prefix}-{name}.scope")
    };
    path.push(unit);
    Some(Ok(path))
}

#[cfg(test)]
mod tests {
    use super::resolve;
    use std::path::PathBuf;

    fn ok(p: Option<&str>) -> PathBuf {
        resolve(p, "c1").unwrap()
    }

    #[test]
    fn default_relative_and_absolute_paths() {
        assert_eq!(ok(None), PathBuf::from("skiff/c1"));
        assert_eq!(ok(Some("")), PathBuf::from("skiff/c1"));
        assert_eq!(ok(Some("pod/c1")), PathBuf::from("skiff/pod/c1"));
        assert_eq!(ok(Some("/docker/abc")), PathBuf::from("docker/abc"));
    }

    #[test]
    fn systemd_form_maps_to_scope_under_expanded_slice() {
        assert_eq!(
            ok(Some("system.slice:docker:abc")),
            PathBuf::from("system.slice/docker-abc.scope")
        );
        assert_eq!(
            ok(Some("machine-libpod_pod_x.slice:libpod:abc")),
            PathBuf::from("machine.slice/machine-libpod_pod_x.slice/libpod-abc.scope")
        );
        assert_eq!(ok(Some("-.slice:p:n")), PathBuf::from("p-n.scope"));
        assert!(resolve(Some("system:docker:abc"), "c1").is_err());
    }

    #[test]
    fn escapes_and_root_are_refused() {
        assert!(resolve(Some("/a/../../etc"), "c1").is_err());
        assert!(resolve(Some("../x"), "c1").is_err());
        assert!(resolve(Some("/"), "c1").is_err());
        assert!(resolve(None, "a/b").is_err());
        assert!(resolve(None, "").is_err());
    }
}
