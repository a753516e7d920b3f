//! Resource limits (`process.rlimits`): mapped and checked before the fork, applied in init
//! while it still holds CAP_SYS_RESOURCE, or from outside on the init pid when the container
//! gets its own user namespace (where a hard limit can no longer be raised).

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nix::unistd::Pid;
use oci_spec::runtime::{PosixRlimit, PosixRlimitType};

use super::{sys, SecurityError};

/// One limit, resolved to the kernel's resource number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rlimit {
    pub(crate) kind: PosixRlimitType,
    pub(crate) resource: Resource,
    pub(crate) soft: u64,
    pub(crate) hard: u64,
}

/// The kernel resource for a spec rlimit type.
pub(crate) fn resource_of(kind: PosixRlimitType) -> Resource {
    match kind {
        PosixRlimitType::RlimitCpu => Resource::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => Resource::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => Resource::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => Resource::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => Resource::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => Resource::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => Resource::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => Resource::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => Resource::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => Resource::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => Resource::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => Resource::RLIMIT_RTTIME,
    }
}

/// The spec's name for a limit type (`RLIMIT_NOFILE`), as users wrote it in config.json.
pub(crate) fn name_of(kind: PosixRlimitType) -> String {
    kind.to_string()
}

/// Resolves the spec's limits and rejects the ones the kernel would refuse: a soft limit above
/// its hard limit, the same limit given twice, and — unless `may_raise_hard()` — a hard limit
/// above the caller's current hard limit. `may_raise_hard` is asked only when needed.
pub(crate) fn plan(
    rlimits: &[PosixRlimit],
    may_raise_hard: impl Fn() -> bool,
) -> Result<Vec<Rlimit>, SecurityError> {
    let mut planned: Vec<Rlimit> = Vec::with_capacity(rlimits.len());
    for limit in rlimits {
        let kind = limit.typ();
        if planned.iter().any(|p| p.kind == kind) {
            return Err(SecurityError::RlimitDuplicate {
                name: name_of(kind),
            });
        }
        let (soft, hard) = (limit.soft(), limit.hard());
        if soft > hard {
            return Err(SecurityError::RlimitSoftAboveHard {
                name: name_of(kind),
                soft,
                hard,
            });
        }
        let resource = resource_of(kind);
        let (_, current_hard) = getrlimit(resource).map_err(|source| SecurityError::GetRlimit {
            name: name_of(kind),
            source,
        })?;
        if hard > current_hard && !may_raise_hard() {
            return Err(SecurityError::RlimitAboveHardLimit {
                name: name_of(kind),
                requested: hard,
                current: current_hard,
            });
        }
        planned.push(Rlimit {
            kind,
            resource,
            soft,
            hard,
        });
    }
    Ok(planned)
}

/// Applies the limits to the calling process.
pub(crate) fn apply(rlimits: &[Rlimit]) -> Result<(), SecurityError> {
    for limit in rlimits {
        setrlimit(limit.resource, limit.soft, limit.hard).map_err(|source| {
            SecurityError::SetRlimit {
                name: name_of(limit.kind),
                soft: limit.soft,
                hard: limit.hard,
                source,
            }
        })?;
    }
    Ok(())
}

/// Applies the limits to another process, as runc does for a container init that is about to
/// enter a new user namespace.
pub(crate) fn apply_to(pid: Pid, rlimits: &[Rlimit]) -> Result<(), SecurityError> {
    for limit in rlimits {
        sys::prlimit(pid, limit.resource, limit.soft, limit.hard).map_err(|source| {
            SecurityError::SetRlimit {
                name: name_of(limit.kind),
                soft: limit.soft,
                hard: limit.hard,
                source,
            }
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [(PosixRlimitType, &str, Resource); 16] = [
        (
            PosixRlimitType::RlimitCpu,
            "RLIMIT_CPU",
            Resource::RLIMIT_CPU,
        ),
        (
            PosixRlimitType::RlimitFsize,
            "RLIMIT_FSIZE",
            Resource::RLIMIT_FSIZE,
        ),
        (
            PosixRlimitType::RlimitData,
            "RLIMIT_DATA",
            Resource::RLIMIT_DATA,
        ),
        (
            PosixRlimitType::RlimitStack,
            "RLIMIT_STACK",
            Resource::RLIMIT_STACK,
        ),
        (
            PosixRlimitType::RlimitCore,
            "RLIMIT_CORE",
            Resource::RLIMIT_CORE,
        ),
        (
            PosixRlimitType::RlimitRss,
            "RLIMIT_RSS",
            Resource::RLIMIT_RSS,
        ),
        (
            PosixRlimitType::RlimitNproc,
            "RLIMIT_NPROC",
            Resource::RLIMIT_NPROC,
        ),
        (
            PosixRlimitType::RlimitNofile,
            "RLIMIT_NOFILE",
            Resource::RLIMIT_NOFILE,
        ),
        (
            PosixRlimitType::RlimitMemlock,
            "RLIMIT_MEMLOCK",
            Resource::RLIMIT_MEMLOCK,
        ),
        (PosixRlimitType::RlimitAs, "RLIMIT_AS", Resource::RLIMIT_AS),
        (
            PosixRlimitType::RlimitLocks,
            "RLIMIT_LOCKS",
            Resource::RLIMIT_LOCKS,
        ),
        (
            PosixRlimitType::RlimitSigpending,
            "RLIMIT_SIGPENDING",
            Resource::RLIMIT_SIGPENDING,
        ),
        (
            PosixRlimitType::RlimitMsgqueue,
            "RLIMIT_MSGQUEUE",
            Resource::RLIMIT_MSGQUEUE,
        ),
        (
            PosixRlimitType::RlimitNice,
            "RLIMIT_NICE",
            Resource::RLIMIT_NICE,
        ),
        (
            PosixRlimitType::RlimitRtprio,
            "RLIMIT_RTPRIO",
            Resource::RLIMIT_RTPRIO,
        ),
        (
            PosixRlimitType::RlimitRttime,
            "RLIMIT_RTTIME",
            Resource::RLIMIT_RTTIME,
        ),
    ];

    #[test]
    fn every_spec_rlimit_maps_to_its_kernel_resource() {
        for (kind, name, resource) in ALL {
            let parsed: PosixRlimit =
                serde_json::from_str(&format!(r#"{{"type":"{name}","soft":1,"hard":2}}"#)).unwrap();
            assert_eq!(parsed.typ(), kind);
            assert_eq!(name_of(kind), name);
            assert_eq!(resource_of(kind), resource);
        }
    }

    #[test]
    fn an_unknown_rlimit_name_fails_to_parse_naming_it() {
        let err =
            serde_json::from_str::<PosixRlimit>(r#"{"type":"RLIMIT_BOGUS","soft":1,"hard":2}"#)
                .unwrap_err();
        assert!(err.to_string().contains("RLIMIT_BOGUS"), "{err}");
    }

    fn limit(json: &str) -> PosixRlimit {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn soft_above_hard_is_rejected_naming_the_limit() {
        let err = plan(
            &[limit(r#"{"type":"RLIMIT_NOFILE","soft":10,"hard":5}"#)],
            || true,
        )
        .unwrap_err();
        assert!(matches!(err, SecurityError::RlimitSoftAboveHard { .. }));
        assert!(err.to_string().contains("RLIMIT_NOFILE"), "{err}");
    }

    #[test]
    fn a_limit_given_twice_is_rejected() {
        let l = limit(r#"{"type":"RLIMIT_CORE","soft":0,"hard":0}"#);
        let err = plan(&[l, l], || true).unwrap_err();
        assert!(
            matches!(err, SecurityError::RlimitDuplicate { .. }),
            "{err}"
        );
    }

    #[test]
    fn a_hard_limit_above_the_callers_is_rejected_when_it_cannot_be_raised() {
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        let above = hard.saturating_add(1);
        let json = format!(r#"{{"type":"RLIMIT_NOFILE","soft":1,"hard":{above}}}"#);
        let err = plan(&[limit(&json)], || false).unwrap_err();
        match &err {
            SecurityError::RlimitAboveHardLimit {
                name,
                requested,
                current,
            } => {
                assert_eq!(name, "RLIMIT_NOFILE");
                assert_eq!(*requested, above);
                assert_eq!(*current, hard);
            }
            other => panic!("unexpected error {other}"),
        }
        // At or below the current hard limit is fine.
        let json = format!(r#"{{"type":"RLIMIT_NOFILE","soft":1,"hard":{hard}}}"#);
        assert_eq!(plan(&[limit(&json)], || false).unwrap().len(), 1);
    }
}
