//! Resolving `USER` / `-u` (`user`, `uid`, `user:group`, `uid:gid` …) against the container's
//! own /etc/passwd and /etc/group, the way Docker does: names must exist in the image,
//! numeric ids need not; the user's supplementary groups come from /etc/group.

use std::path::Path;

/// The ids a container process runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    /// The user's home directory from /etc/passwd, for `HOME`; "/" when unknown.
    pub home: String,
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("unable to find user {name}: no matching entries in passwd file of the image; use a numeric uid or add the user to /etc/passwd")]
    NoSuchUser { name: String },
    #[error("unable to find group {name}: no matching entries in group file of the image; use a numeric gid or add the group to /etc/group")]
    NoSuchGroup { name: String },
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

/// Resolves `spec` (empty means root) inside the root filesystem at `rootfs`.
pub fn resolve(rootfs: &Path, spec: &str) -> Result<ResolvedUser, UserError> {
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let passwd = read_passwd(&rootfs.join("etc/passwd"));
    let groups = read_groups(&rootfs.join("etc/group"));

    let user_part = if user_part.is_empty() { "0" } else { user_part };
    let entry = passwd.iter().find(|e| e.name == user_part).or_else(|| {
        user_part
            .parse::<u32>()
            .ok()
            .and_then(|uid| passwd.iter().find(|e| e.uid == uid))
    });
    let (uid, mut gid, home, name) = match (entry, user_part.parse::<u32>()) {
        (Some(e), _) => (e.uid, e.gid, e.home.clone(), Some(e.name.clone())),
        (None, Ok(uid)) => (uid, 0, "/".to_string(), None),
        (None, Err(_)) => {
            return Err(UserError::NoSuchUser {
                name: user_part.to_string(),
            })
        }
    };

    if let Some(group) = group_part.filter(|g| !g.is_empty()) {
        gid = match groups.iter().find(|g| g.name == group) {
            Some(g) => g.gid,
            None => group.parse().map_err(|_| UserError::NoSuchGroup {
                name: group.to_string(),
            })?,
        };
    }

    // Supplementary groups apply only when the group was not given explicitly, as in Docker.
    let additional_gids = match (&name, group_part) {
        (Some(name), None) => groups
            .iter()
            .filter(|g| g.gid != gid && g.members.iter().any(|m| m == name))
            .map(|g| g.gid)
            .collect(),
        _ => Vec::new(),
    };
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
        home,
    })
}

fn read_passwd(path: &Path) -> Vec<PasswdEntry> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 6 {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_string(),
            })
        })
        .collect()
}

fn read_groups(path: &Path) -> Vec<GroupEntry> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 4 {
                return None;
            }
            Some(GroupEntry {
                name: f[0].to_string(),
                gid: f[2].parse().ok()?,
                members: f[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(String::from)
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("etc/group"),
            "root:x:0:\nwww:x:33:\nadm:x:4:www\n",
        )
        .unwrap();
        dir
    }

    #[test]
    fn empty_is_root() {
        let r = resolve(rootfs().path(), "").unwrap();
        assert_eq!((r.uid, r.gid, r.home.as_str()), (0, 0, "/root"));
    }

    #[test]
    fn name_gets_primary_and_supplementary_groups() {
        let r = resolve(rootfs().path(), "www").unwrap();
        assert_eq!((r.uid, r.gid, r.additional_gids), (33, 33, vec![4]));
    }

    #[test]
    fn explicit_group_drops_supplementary_groups() {
        let r = resolve(rootfs().path(), "www:adm").unwrap();
        assert_eq!((r.uid, r.gid, r.additional_gids), (33, 4, vec![]));
    }

    #[test]
    fn unknown_numeric_ids_are_allowed() {
        let r = resolve(rootfs().path(), "1234:5678").unwrap();
        assert_eq!((r.uid, r.gid, r.home.as_str()), (1234, 5678, "/"));
    }

    #[test]
    fn unknown_names_are_errors() {
        assert!(matches!(
            resolve(rootfs().path(), "nobody"),
            Err(UserError::NoSuchUser { .. })
        ));
        assert!(matches!(
            resolve(rootfs().path(), "www:wheel"),
            Err(UserError::NoSuchGroup { .. })
        ));
    }
}
