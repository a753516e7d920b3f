//! Who the process runs as (`process.user`): supplementary groups, gid, uid and umask.

use nix::errno::Errno;
use nix::sys::stat::{umask, Mode};
use nix::unistd::{setgid, setgroups, setuid, Gid, Uid};
use oci_spec::runtime::User;

use super::SecurityError;

/// The identity to switch to, resolved before the fork.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) uid: Uid,
    pub(crate) gid: Gid,
    pub(crate) groups: Vec<Gid>,
    pub(crate) umask: Option<Mode>,
}

pub(crate) fn plan(user: &User) -> Result<Identity, SecurityError> {
    let umask = match user.umask() {
        None => None,
        Some(bits) if bits <= 0o777 => Some(Mode::from_bits_truncate(bits)),
        Some(bits) => return Err(SecurityError::InvalidUmask { umask: bits }),
    };
    Ok(Identity {
        uid: Uid::from_raw(user.uid()),
        gid: Gid::from_raw(user.gid()),
        groups: user
            .additional_gids()
            .iter()
            .flatten()
            .map(|&g| Gid::from_raw(g))
            .collect(),
        umask,
    })
}

pub(crate) fn apply_umask(identity: &Identity) {
    if let Some(mask) = identity.umask {
        umask(mask);
    }
}

/// Switches groups, gid and uid, in that order (each needs privileges the next one drops).
/// The caller brackets this with PR_SET_KEEPCAPS so a non-root uid keeps its permitted caps.
pub(crate) fn switch(identity: &Identity) -> Result<(), SecurityError> {
    if let Err(source) = setgroups(&identity.groups) {
        // In a user namespace whose /proc/self/setgroups says "deny" the call is refused; with
        // no groups to set there is nothing to lose (the namespace has no other groups mapped
        // to inherit), so carry on as runc does.
        let denied = source == Errno::EPERM && setgroups_denied();
        if !(denied && identity.groups.is_empty()) {
            return Err(SecurityError::SetGroups {
                gids: identity.groups.iter().map(|g| g.as_raw()).collect(),
                source,
            });
        }
    }
    setgid(identity.gid).map_err(|source| SecurityError::SetGid {
        gid: identity.gid.as_raw(),
        source,
    })?;
    setuid(identity.uid).map_err(|source| SecurityError::SetUid {
        uid: identity.uid.as_raw(),
        source,
    })?;
    Ok(())
}

fn setgroups_denied() -> bool {
    std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_fields_are_resolved() {
        let user: User =
            serde_json::from_str(r#"{"uid":1000,"gid":100,"umask":18,"additionalGids":[5,6]}"#)
                .unwrap();
        let id = plan(&user).unwrap();
        assert_eq!(id.uid, Uid::from_raw(1000));
        assert_eq!(id.gid, Gid::from_raw(100));
        assert_eq!(id.groups, vec![Gid::from_raw(5), Gid::from_raw(6)]);
        assert_eq!(id.umask, Some(Mode::from_bits_truncate(0o022)));
    }

    #[test]
    fn a_umask_beyond_permission_bits_is_rejected() {
        let user: User = serde_json::from_str(r#"{"uid":0,"gid":0,"umask":4096}"#).unwrap();
        let err = plan(&user).unwrap_err();
        assert!(err.to_string().contains("umask"), "{err}");
    }
}
