//! Translating a spec mount's `options` into mount(2) flags, propagation changes and the
//! filesystem-specific data string, the way runc reads them.

use nix::mount::MsFlags;

/// A mount's options, sorted into what mount(2) needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags to set.
    pub flags: MsFlags,
    /// Propagation changes to apply after mounting, in order.
    pub propagation: Vec<MsFlags>,
    /// Everything else, comma-joined for the filesystem (e.g. "mode=755,size=65536k").
    pub data: String,
    /// `MOUNT_ATTR_*` bits to set on the whole mount tree (`rro`, `rnosuid`, …), applied
    /// with mount_setattr(2) AT_RECURSIVE after a recursive bind.
    pub recursive_attrs: u64,
}

impl MountOptions {
    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }

    pub fn is_recursive(&self) -> bool {
        self.flags.contains(MsFlags::MS_REC)
    }
}

/// Parses `options`. Unknown words go to `data`, as runc does.
pub fn parse(options: &[String]) -> MountOptions {
    let mut out = MountOptions {
        flags: MsFlags::empty(),
        propagation: Vec::new(),
        data: String::new(),
        recursive_attrs: 0,
    };
    let mut data: Vec<&str> = Vec::new();
    for opt in options {
        let opt = opt.as_str();
        if let Some(flag) = propagation_flag(opt) {
            out.propagation.push(flag);
            continue;
        }
        match flag_of(opt) {
            Some((false, flag)) => out.flags.insert(flag),
            Some((true, flag)) => out.flags.remove(flag),
            // Recursive read-only etc. (rro, rnosuid, …): the top mount gets the flag as
            // usual, and every submount gets it through mount_setattr(2).
            None if recursive_attr(opt).is_some() => {
                let (flag, attr) = recursive_attr(opt).expect("checked by the guard");
                out.flags.insert(flag);
                out.recursive_attrs |= attr;
            }
            // Other recursive forms (rrw, rsuid, …) apply to the top mount only.
            None if opt.len() > 1 && opt.starts_with('r') && flag_of(&opt[1..]).is_some() => {
                if let Some((clear, flag)) = flag_of(&opt[1..]) {
                    if clear {
                        out.flags.remove(flag);
                    } else {
                        out.flags.insert(flag);
                    }
                }
            }
            // Options only the runtime understands and the kernel would reject.
            None if matches!(opt, "tmpcopyup" | "idmap" | "ridmap" | "defaults") => {}
            None => data.push(opt),
        }
    }
    out.data = data.join(",");
    out
}

/// The mount(2) flag and the `MOUNT_ATTR_*` bit of a recursive option such as `rro`.
fn recursive_attr(opt: &str) -> Option<(MsFlags, u64)> {
    Some(match opt {
        "rro" => (MsFlags::MS_RDONLY, 0x1),
        "rnosuid" => (MsFlags::MS_NOSUID, 0x2),
        "rnodev" => (MsFlags::MS_NODEV, 0x4),
        "rnoexec" => (MsFlags::MS_NOEXEC, 0x8),
        _ => return None,
    })
}

/// (clear?, flag) for a flag option.
fn flag_of(opt: &str) -> Option<(bool, MsFlags)> {
    Some(match opt {
        "ro" => (false, MsFlags::MS_RDONLY),
        "rw" => (true, MsFlags::MS_RDONLY),
        "nosuid" => (false, MsFlags::MS_NOSUID),
        "suid" => (true, MsFlags::MS_NOSUID),
        "nodev" => (false, MsFlags::MS_NODEV),
        "dev" => (true, MsFlags::MS_NODEV),
        "noexec" => (false, MsFlags::MS_NOEXEC),
        "exec" => (true, MsFlags::MS_NOEXEC),
        "sync" => (false, MsFlags::MS_SYNCHRONOUS),
        "async" => (true, MsFlags::MS_SYNCHRONOUS),
        "dirsync" => (false, MsFlags::MS_DIRSYNC),
        "remount" => (false, MsFlags::MS_REMOUNT),
        "mand" => (false, MsFlags::MS_MANDLOCK),
        "nomand" => (true, MsFlags::MS_MANDLOCK),
        "noatime" => (false, MsFlags::MS_NOATIME),
        "atime" => (true, MsFlags::MS_NOATIME),
        "nodiratime" => (false, MsFlags::MS_NODIRATIME),
        "diratime" => (true, MsFlags::MS_NODIRATIME),
        "relatime" => (false, MsFlags::MS_RELATIME),
        "norelatime" => (true, MsFlags::MS_RELATIME),
        "strictatime" => (false, MsFlags::MS_STRICTATIME),
        "nostrictatime" => (true, MsFlags::MS_STRICTATIME),
        "lazytime" => (false, MsFlags::MS_LAZYTIME),
        "nolazytime" => (true, MsFlags::MS_LAZYTIME),
        "silent" => (false, MsFlags::MS_SILENT),
        "loud" => (true, MsFlags::MS_SILENT),
        "nosymfollow" => (false, MsFlags::from_bits_retain(libc::MS_NOSYMFOLLOW)),
        "symfollow" => (true, MsFlags::from_bits_retain(libc::MS_NOSYMFOLLOW)),
        "bind" => (false, MsFlags::MS_BIND),
        "rbind" => (false, MsFlags::MS_BIND | MsFlags::MS_REC),
        _ => return None,
    })
}

/// The propagation flags of a rootfsPropagation value or mount option.
pub fn propagation_flag(opt: &str) -> Option<MsFlags> {
    Some(match opt {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

/// Every option word we understand: what `features` reports as mountOptions.
pub const KNOWN_OPTIONS: &[&str] = &[
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "lazytime",
    "loud",
    "mand",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "nosymfollow",
    "private",
    "rbind",
    "relatime",
    "remount",
    "ro",
    "rprivate",
    "rshared",
    "rslave",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "symfollow",
    "sync",
    "tmpcopyup",
    "unbindable",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[&str]) -> MountOptions {
        parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn tmpfs_dev_options_split_into_flags_and_data() {
        let o = opts(&["nosuid", "strictatime", "mode=755", "size=65536k"]);
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(o.data, "mode=755,size=65536k");
        assert!(o.propagation.is_empty());
    }

    #[test]
    fn rbind_with_propagation_and_ro() {
        let o = opts(&["rbind", "ro", "rprivate"]);
        assert!(o.is_bind() && o.is_recursive());
        assert!(o.flags.contains(MsFlags::MS_RDONLY));
        assert_eq!(o.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
        assert_eq!(o.data, "");
    }

    #[test]
    fn rro_sets_the_flag_and_the_recursive_attribute() {
        let o = opts(&["rbind", "rro", "rnosuid"]);
        assert!(o.flags.contains(MsFlags::MS_RDONLY | MsFlags::MS_NOSUID));
        assert_eq!(o.recursive_attrs, 0x1 | 0x2);
        assert_eq!(opts(&["rbind", "ro"]).recursive_attrs, 0);
    }

    #[test]
    fn later_option_wins() {
        assert!(!opts(&["ro", "rw"]).flags.contains(MsFlags::MS_RDONLY));
    }
}
