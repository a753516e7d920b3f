//! The five capability sets (`process.capabilities`): mapped and checked before the fork,
//! applied by init in the order the kernel requires (see [`drop_bounding`] and [`apply`]).

use std::borrow::Cow;
use std::sync::OnceLock;

use caps::{CapSet, Capability as Cap, CapsHashSet};
use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

use super::SecurityError;

/// The capability sets the process ends with, resolved to the caps the running kernel knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CapabilityPlan {
    /// Caps to remove from the bounding set: every cap the kernel knows that the spec's
    /// bounding set lacks.
    pub(crate) bounding_drop: Vec<Cap>,
    pub(crate) effective: CapsHashSet,
    pub(crate) permitted: CapsHashSet,
    pub(crate) inheritable: CapsHashSet,
    pub(crate) ambient: Vec<Cap>,
}

/// The caps crate's value for a spec capability.
pub(crate) fn to_kernel(cap: Capability) -> Cap {
    match cap {
        Capability::AuditControl => Cap::CAP_AUDIT_CONTROL,
        Capability::AuditRead => Cap::CAP_AUDIT_READ,
        Capability::AuditWrite => Cap::CAP_AUDIT_WRITE,
        Capability::BlockSuspend => Cap::CAP_BLOCK_SUSPEND,
        Capability::Bpf => Cap::CAP_BPF,
        Capability::CheckpointRestore => Cap::CAP_CHECKPOINT_RESTORE,
        Capability::Chown => Cap::CAP_CHOWN,
        Capability::DacOverride => Cap::CAP_DAC_OVERRIDE,
        Capability::DacReadSearch => Cap::CAP_DAC_READ_SEARCH,
        Capability::Fowner => Cap::CAP_FOWNER,
        Capability::Fsetid => Cap::CAP_FSETID,
        Capability::IpcLock => Cap::CAP_IPC_LOCK,
        Capability::IpcOwner => Cap::CAP_IPC_OWNER,
        Capability::Kill => Cap::CAP_KILL,
        Capability::Lease => Cap::CAP_LEASE,
        Capability::LinuxImmutable => Cap::CAP_LINUX_IMMUTABLE,
        Capability::MacAdmin => Cap::CAP_MAC_ADMIN,
        Capability::MacOverride => Cap::CAP_MAC_OVERRIDE,
        Capability::Mknod => Cap::CAP_MKNOD,
        Capability::NetAdmin => Cap::CAP_NET_ADMIN,
        Capability::NetBindService => Cap::CAP_NET_BIND_SERVICE,
        Capability::NetBroadcast => Cap::CAP_NET_BROADCAST,
        Capability::NetRaw => Cap::CAP_NET_RAW,
        Capability::Perfmon => Cap::CAP_PERFMON,
        Capability::Setgid => Cap::CAP_SETGID,
        Capability::Setfcap => Cap::CAP_SETFCAP,
        Capability::Setpcap => Cap::CAP_SETPCAP,
        Capability::Setuid => Cap::CAP_SETUID,
        Capability::SysAdmin => Cap::CAP_SYS_ADMIN,
        Capability::SysBoot => Cap::CAP_SYS_BOOT,
        Capability::SysChroot => Cap::CAP_SYS_CHROOT,
        Capability::SysModule => Cap::CAP_SYS_MODULE,
        Capability::SysNice => Cap::CAP_SYS_NICE,
        Capability::SysPacct => Cap::CAP_SYS_PACCT,
        Capability::SysPtrace => Cap::CAP_SYS_PTRACE,
        Capability::SysRawio => Cap::CAP_SYS_RAWIO,
        Capability::SysResource => Cap::CAP_SYS_RESOURCE,
        Capability::SysTime => Cap::CAP_SYS_TIME,
        Capability::SysTtyConfig => Cap::CAP_SYS_TTY_CONFIG,
        Capability::Syslog => Cap::CAP_SYSLOG,
        Capability::WakeAlarm => Cap::CAP_WAKE_ALARM,
    }
}

/// Parses a capability name as users write it (`CAP_NET_ADMIN`, `net_admin`), for command
/// lines such as `exec --cap`. config.json names are parsed by oci-spec when the spec is read.
pub fn parse_capability(name: &str) -> Result<Capability, SecurityError> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).map_err(|_| {
        SecurityError::UnknownCapability {
            name: name.to_owned(),
        }
    })
}

/// The highest capability number the running kernel knows (/proc/sys/kernel/cap_last_cap),
/// read once per process: it cannot change while the kernel runs.
pub(crate) fn kernel_last_cap() -> u8 {
    static LAST_CAP: OnceLock<u8> = OnceLock::new();
    *LAST_CAP.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            // Without procfs, assume the kernel knows every cap this build knows; a cap it
            // lacks then fails loudly when applied instead of being skipped quietly.
            .unwrap_or(u8::MAX)
    })
}

/// Resolves the spec's sets. Caps the running kernel lacks are skipped with a warning, as runc
/// does, so one config works across kernel versions. A missing `capabilities` means none.
pub(crate) fn plan(spec: Option<&LinuxCapabilities>, last_cap: u8) -> CapabilityPlan {
    let set = |get: fn(&LinuxCapabilities) -> &Option<Capabilities>, which: &str| {
        let mut out = CapsHashSet::new();
        for &cap in spec.and_then(|s| get(s).as_ref()).into_iter().flatten() {
            let kernel = to_kernel(cap);
            if kernel.index() > last_cap {
                tracing::warn!(
                    capability = %kernel,
                    set = which,
                    "the running kernel does not know this capability; skipping it"
                );
                continue;
            }
            out.insert(kernel);
        }
        out
    };
    let bounding = set(LinuxCapabilities::bounding, "bounding");
    let mut bounding_drop: Vec<Cap> = caps::all()
        .into_iter()
        .filter(|c| c.index() <= last_cap && !bounding.contains(c))
        .collect();
    bounding_drop.sort_by_key(|c| c.index());
    let mut ambient: Vec<Cap> = set(LinuxCapabilities::ambient, "ambient")
        .into_iter()
        .collect();
    ambient.sort_by_key(|c| c.index());
    CapabilityPlan {
        bounding_drop,
        effective: set(LinuxCapabilities::effective, "effective"),
        permitted: set(LinuxCapabilities::permitted, "permitted"),
        inheritable: set(LinuxCapabilities::inheritable, "inheritable"),
        ambient,
    }
}

/// Drops the caps the bounding set must lose. Needs CAP_SETPCAP, so init does it before it
/// changes its uid or lowers its own sets.
pub(crate) fn drop_bounding(plan: &CapabilityPlan) -> Result<(), SecurityError> {
    for &cap in &plan.bounding_drop {
        caps::drop(None, CapSet::Bounding, cap).map_err(|source| {
            SecurityError::DropBoundingCapability {
                capability: cap.to_string(),
                source,
            }
        })?;
    }
    Ok(())
}

/// Sets inheritable, effective, permitted and ambient, in that order: inheritable and
/// effective may only grow from the permitted set, so it shrinks last; ambient caps must be in
/// both permitted and inheritable by then. Runs after the uid change (kept caps are in the
/// permitted set, thanks to PR_SET_KEEPCAPS).
///
/// A cap init does not hold itself (the runtime ran with a reduced bounding set, and no new
/// user namespace gave it a full one) cannot be granted; it is left out with a warning rather
/// than failing the container, the way Docker builds `--privileged` from what it holds.
pub(crate) fn apply(plan: &CapabilityPlan) -> Result<(), SecurityError> {
    let held =
        caps::read(None, CapSet::Permitted).map_err(|source| SecurityError::SetCapabilities {
            set: "permitted (reading)",
            capabilities: String::new(),
            source,
        })?;
    let sets = [
        (CapSet::Inheritable, &plan.inheritable, "inheritable"),
        (CapSet::Effective, &plan.effective, "effective"),
        (CapSet::Permitted, &plan.permitted, "permitted"),
    ];
    for (set, value, name) in sets {
        let value = grantable(value, &held, name);
        caps::set(None, set, &value).map_err(|source| SecurityError::SetCapabilities {
            set: name,
            capabilities: describe(&value),
            source,
        })?;
    }
    caps::clear(None, CapSet::Ambient).map_err(|source| SecurityError::SetCapabilities {
        set: "ambient",
        capabilities: String::new(),
        source,
    })?;
    for &cap in &plan.ambient {
        if let Err(error) = caps::raise(None, CapSet::Ambient, cap) {
            // runc only warns here: an ambient cap outside permitted∩inheritable is a
            // config mistake the kernel refuses, not a reason to fail the container.
            tracing::warn!(capability = %cap, %error, "cannot raise ambient capability");
        }
    }
    Ok(())
}

/// The part of `wanted` that `held` allows, warning about the rest.
fn grantable<'a>(wanted: &'a CapsHashSet, held: &CapsHashSet, set: &str) -> Cow<'a, CapsHashSet> {
    if wanted.is_subset(held) {
        return Cow::Borrowed(wanted);
    }
    let missing: CapsHashSet = wanted.difference(held).copied().collect();
    tracing::warn!(
        set,
        capabilities = %describe(&missing),
        "the runtime does not hold these capabilities, so the container cannot get them"
    );
    Cow::Owned(wanted.intersection(held).copied().collect())
}

/// A set as `CAP_A,CAP_B` in capability order, for error messages.
fn describe(set: &CapsHashSet) -> String {
    let mut caps: Vec<Cap> = set.iter().copied().collect();
    caps.sort_by_key(|c| c.index());
    caps.iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every capability name of capabilities(7) up to Linux 6.x.
    const NAMES: [&str; 41] = [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ];

    #[test]
    fn every_capability_name_maps_to_the_kernel_number() {
        for (number, name) in NAMES.iter().enumerate() {
            let cap = parse_capability(name).unwrap();
            let kernel = to_kernel(cap);
            assert_eq!(usize::from(kernel.index()), number, "{name}");
            assert_eq!(kernel.to_string(), *name);
        }
    }

    #[test]
    fn names_without_prefix_or_in_lower_case_are_accepted() {
        assert_eq!(parse_capability("net_admin").unwrap(), Capability::NetAdmin);
        assert_eq!(parse_capability("SYS_ADMIN").unwrap(), Capability::SysAdmin);
    }

    #[test]
    fn an_unknown_capability_is_an_error_naming_it() {
        let err = parse_capability("CAP_FLY").unwrap_err();
        assert!(err.to_string().contains("CAP_FLY"), "{err}");
        // config.json: oci-spec refuses it when the spec is read, naming it too.
        let err =
            serde_json::from_str::<LinuxCapabilities>(r#"{"bounding":["CAP_FLY"]}"#).unwrap_err();
        assert!(err.to_string().contains("CAP_FLY"), "{err}");
    }

    #[test]
    fn caps_the_kernel_lacks_are_skipped_and_the_rest_of_bounding_is_dropped() {
        let spec: LinuxCapabilities = serde_json::from_str(
            r#"{"bounding":["CAP_KILL","CAP_CHECKPOINT_RESTORE"],
                "effective":["CAP_KILL","CAP_BPF"],
                "permitted":["CAP_KILL"],
                "inheritable":[],
                "ambient":["CAP_KILL"]}"#,
        )
        .unwrap();
        // A kernel that stops at CAP_AUDIT_READ (37) lacks PERFMON, BPF, CHECKPOINT_RESTORE.
        let plan = plan(Some(&spec), 37);
        assert_eq!(plan.effective, CapsHashSet::from([Cap::CAP_KILL]));
        assert_eq!(plan.permitted, CapsHashSet::from([Cap::CAP_KILL]));
        assert!(plan.inheritable.is_empty());
        assert_eq!(plan.ambient, vec![Cap::CAP_KILL]);
        assert_eq!(plan.bounding_drop.len(), 37, "38 known caps minus CAP_KILL");
        assert!(!plan.bounding_drop.contains(&Cap::CAP_KILL));
        assert!(plan.bounding_drop.iter().all(|c| c.index() <= 37));
    }

    #[test]
    fn no_capabilities_means_every_set_empty() {
        let plan = plan(None, 40);
        assert!(plan.effective.is_empty() && plan.permitted.is_empty());
        assert!(plan.inheritable.is_empty() && plan.ambient.is_empty());
        assert_eq!(plan.bounding_drop.len(), 41);
    }
}
