//! v1 devices: the allow/deny rules, written in order to devices.allow / devices.deny.
//! A leading "deny all" (what docker and podman send) resets the cgroup to deny-by-default,
//! then each rule adds an exception, as runc does.

use std::path::Path;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::{fsutil, CgroupError};

pub(super) fn apply(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
    for rule in rules {
        let file = if rule.allow() {
            "devices.allow"
        } else {
            "devices.deny"
        };
        for line in lines(rule)? {
            fsutil::write(dir, file, &line)?;
        }
    }
    Ok(())
}

/// The kernel lines for one OCI rule. The kernel's "a" means every device with every access
/// and ignores the rest of the line, so an "a" rule that names a device or a partial access
/// becomes one "c" and one "b" line.
pub(crate) fn lines(rule: &LinuxDeviceCgroup) -> Result<Vec<String>, CgroupError> {
    let access = access(rule)?;
    let num = |n: Option<i64>| {
        n.filter(|&n| n >= 0)
            .map_or("*".to_owned(), |n| n.to_string())
    };
    let (major, minor) = (num(rule.major()), num(rule.minor()));
    let types: &[&str] = match rule.typ().unwrap_or(LinuxDeviceType::A) {
        LinuxDeviceType::A if major == "*" && minor == "*" && access == "rwm" => {
            return Ok(vec!["a".to_owned()]);
        }
        LinuxDeviceType::A => &["c", "b"],
        LinuxDeviceType::C | LinuxDeviceType::U => &["c"],
        LinuxDeviceType::B => &["b"],
        LinuxDeviceType::P => {
            tracing::debug!("device rule for a FIFO (type p) has no cgroup meaning; ignored");
            &[]
        }
    };
    Ok(types
        .iter()
        .map(|t| format!("{t} {major}:{minor} {access}"))
        .collect())
}

/// The rule's access letters, validated; a missing access means "rwm".
pub(crate) fn access(rule: &LinuxDeviceCgroup) -> Result<String, CgroupError> {
    let access = rule.access().as_deref().unwrap_or("rwm");
    if access.is_empty() || !access.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
        return Err(CgroupError::InvalidResource {
            field: "devices.access",
            value: access.to_owned(),
            reason: "must be a combination of r, w and m",
        });
    }
    // Normalised order, so that "mwr" compares equal to "rwm".
    Ok(["r", "w", "m"]
        .into_iter()
        .filter(|c| access.contains(c))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: &str) -> LinuxDeviceCgroup {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn rules_become_kernel_lines() {
        let deny_all = rule(r#"{"allow": false, "access": "rwm"}"#);
        assert_eq!(lines(&deny_all).unwrap(), vec!["a"]);
        let null = rule(r#"{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}"#);
        assert_eq!(lines(&null).unwrap(), vec!["c 1:3 rw"]);
        let any_mknod = rule(r#"{"allow": true, "type": "a", "access": "m"}"#);
        assert_eq!(lines(&any_mknod).unwrap(), vec!["c *:* m", "b *:* m"]);
        let pts = rule(r#"{"allow": true, "type": "c", "major": 136, "access": "mwr"}"#);
        assert_eq!(lines(&pts).unwrap(), vec!["c 136:* rwm"]);
        assert!(lines(&rule(r#"{"allow": true, "access": "rx"}"#)).is_err());
    }
}
