//! Docker's default seccomp profile, as data: the allowlist moby ships in
//! profiles/seccomp/default.json, with its conditions on capabilities, architecture and kernel
//! version, and the same defaults (deny with EPERM). The engine gives it to containers that
//! do not bring their own profile.
//!
//! The profile is Rust constants rather than JSON so it costs no parsing at start and a typo
//! is a compile error.

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArgBuilder, LinuxSeccompOperator,
    LinuxSyscall,
};

/// The errno every syscall not allowed below fails with (EPERM).
const DENIED_ERRNO: u32 = 1;

/// The seccomp architectures a container on each host architecture may use: the native one
/// and the compatibility modes the kernel runs next to it (32-bit binaries on 64-bit hosts).
/// Keys are Rust's `std::env::consts::ARCH`, with the little-endian MIPS and POWER told apart.
const ARCH_MAP: &[(&str, &[Arch])] = &[
    (
        "x86_64",
        &[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32],
    ),
    ("aarch64", &[Arch::ScmpArchAarch64, Arch::ScmpArchArm]),
    (
        "mips64",
        &[
            Arch::ScmpArchMips64,
            Arch::ScmpArchMips,
            Arch::ScmpArchMips64n32,
        ],
    ),
    (
        "mips64el",
        &[
            Arch::ScmpArchMipsel64,
            Arch::ScmpArchMipsel,
            Arch::ScmpArchMipsel64n32,
        ],
    ),
    ("s390x", &[Arch::ScmpArchS390x, Arch::ScmpArchS390]),
    ("riscv64", &[Arch::ScmpArchRiscv64]),
];

/// Syscalls every container may make. Like Docker since 25.0, io_uring is not among them: it
/// performs I/O that seccomp cannot see.
const ALWAYS_ALLOWED: &[&str] = &[
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "bind",
    "brk",
    "cachestat",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_adjtime",
    "clock_adjtime64",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_requeue",
    "futex_time64",
    "futex_wait",
    "futex_waitv",
    "futex_wake",
    "futimesat",
    "get_robust_list",
    "get_thread_area",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "getxattr",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "io_setup",
    "io_submit",
    "ioctl",
    "ioprio_get",
    "ioprio_set",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listxattr",
    "llistxattr",
    "_llseek",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "madvise",
    "map_shadow_stack",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "mremap",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "_newselect",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pselect6_time64",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "send",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "set_robust_list",
    "set_thread_area",
    "set_tid_address",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "setsid",
    "setsockopt",
    "setuid",
    "setuid32",
    "setxattr",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "sigprocmask",
    "sigreturn",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
];

/// Clone flags that create namespaces (CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER,
/// NEWPID, NEWNET): without CAP_SYS_ADMIN, clone is allowed only with none of them set.
const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;

/// A rule that applies only on some hosts or with some capabilities.
struct Rule {
    names: &'static [&'static str],
    /// `None` allows; `Some(errno)` fails the call with errno.
    errno: Option<u32>,
    args: &'static [(usize, u64, LinuxSeccompOperator)],
    when: When,
}

/// The conditions of a [`Rule`]; every one given must hold.
struct When {
    /// The container's capabilities must include all of these.
    caps: &'static [&'static str],
    /// ... and none of these.
    not_caps: &'static [&'static str],
    /// The host architecture must be one of these (when any are given) ...
    arches: &'static [&'static str],
    /// ... and none of these.
    not_arches: &'static [&'static str],
    /// The running kernel must be at least this (major, minor).
    min_kernel: Option<(u32, u32)>,
}

const ALWAYS: When = When {
    caps: &[],
    not_caps: &[],
    arches: &[],
    not_arches: &[],
    min_kernel: None,
};

const fn allow(names: &'static [&'static str], when: When) -> Rule {
    Rule {
        names,
        errno: None,
        args: &[],
        when,
    }
}

const fn with_cap(cap: &'static [&'static str]) -> When {
    When {
        caps: cap,
        ..ALWAYS
    }
}

const fn on_arches(arches: &'static [&'static str]) -> When {
    When { arches, ..ALWAYS }
}

const fn allow_arg(
    name: &'static [&'static str],
    args: &'static [(usize, u64, LinuxSeccompOperator)],
) -> Rule {
    Rule {
        names: name,
        errno: None,
        args,
        when: ALWAYS,
    }
}

use LinuxSeccompOperator::{ScmpCmpEq as EQ, ScmpCmpMaskedEq as MASKED_EQ, ScmpCmpNe as NE};

const RULES: &[Rule] = &[
    // ptrace and friends were unsafe under seccomp before 4.8 (a tracer could bypass it).
    allow(
        &["process_vm_readv", "process_vm_writev", "ptrace"],
        When {
            min_kernel: Some((4, 8)),
            ..ALWAYS
        },
    ),
    // Any socket family but AF_VSOCK (40).
    allow_arg(&["socket"], &[(0, 40, NE)]),
    // personality(2) only for the harmless personas: PER_LINUX, PER_LINUX32, UNAME26,
    // UNAME26|PER_LINUX32, and 0xffffffff (query).
    allow_arg(&["personality"], &[(0, 0x0, EQ)]),
    allow_arg(&["personality"], &[(0, 0x8, EQ)]),
    allow_arg(&["personality"], &[(0, 0x20000, EQ)]),
    allow_arg(&["personality"], &[(0, 0x20008, EQ)]),
    allow_arg(&["personality"], &[(0, 0xffff_ffff, EQ)]),
    // Architecture-specific syscalls.
    allow(
        &["sync_file_range2", "swapcontext"],
        on_arches(&["ppc64le"]),
    ),
    allow(
        &[
            "arm_fadvise64_64",
            "arm_sync_file_range",
            "sync_file_range2",
            "breakpoint",
            "cacheflush",
            "set_tls",
        ],
        on_arches(&["arm", "aarch64"]),
    ),
    allow(&["arch_prctl"], on_arches(&["x86_64"])),
    allow(&["modify_ldt"], on_arches(&["x86_64", "x86"])),
    allow(
        &[
            "s390_pci_mmio_read",
            "s390_pci_mmio_write",
            "s390_runtime_instr",
        ],
        on_arches(&["s390x"]),
    ),
    allow(&["riscv_flush_icache"], on_arches(&["riscv64"])),
    // Syscalls each capability unlocks.
    allow(&["open_by_handle_at"], with_cap(&["CAP_DAC_READ_SEARCH"])),
    allow(
        &[
            "bpf",
            "clone",
            "clone3",
            "fanotify_init",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "mount",
            "mount_setattr",
            "move_mount",
            "open_tree",
            "perf_event_open",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "sethostname",
            "setns",
            "syslog",
            "umount",
            "umount2",
            "unshare",
        ],
        with_cap(&["CAP_SYS_ADMIN"]),
    ),
    // Without CAP_SYS_ADMIN, clone may not create namespaces. s390 swaps clone's first two
    // arguments, so the flags are argument 1 there.
    Rule {
        names: &["clone"],
        errno: None,
        args: &[(0, CLONE_NAMESPACE_FLAGS, MASKED_EQ)],
        when: When {
            not_caps: &["CAP_SYS_ADMIN"],
            not_arches: &["s390", "s390x"],
            ..ALWAYS
        },
    },
    Rule {
        names: &["clone"],
        errno: None,
        args: &[(1, CLONE_NAMESPACE_FLAGS, MASKED_EQ)],
        when: When {
            not_caps: &["CAP_SYS_ADMIN"],
            arches: &["s390", "s390x"],
            ..ALWAYS
        },
    },
    // clone3 passes its flags in memory, where seccomp cannot look; ENOSYS makes libc fall
    // back to clone, which the rule above checks.
    Rule {
        names: &["clone3"],
        errno: Some(38),
        args: &[],
        when: When {
            not_caps: &["CAP_SYS_ADMIN"],
            ..ALWAYS
        },
    },
    allow(&["reboot"], with_cap(&["CAP_SYS_BOOT"])),
    allow(&["chroot"], with_cap(&["CAP_SYS_CHROOT"])),
    allow(
        &["delete_module", "init_module", "finit_module"],
        with_cap(&["CAP_SYS_MODULE"]),
    ),
    allow(&["acct"], with_cap(&["CAP_SYS_PACCT"])),
    allow(
        &[
            "kcmp",
            "pidfd_getfd",
            "process_madvise",
            "process_vm_readv",
            "process_vm_writev",
            "ptrace",
        ],
        with_cap(&["CAP_SYS_PTRACE"]),
    ),
    allow(&["iopl", "ioperm"], with_cap(&["CAP_SYS_RAWIO"])),
    allow(
        &["settimeofday", "stime", "clock_settime", "clock_settime64"],
        with_cap(&["CAP_SYS_TIME"]),
    ),
    allow(&["vhangup"], with_cap(&["CAP_SYS_TTY_CONFIG"])),
    allow(
        &[
            "get_mempolicy",
            "mbind",
            "set_mempolicy",
            "set_mempolicy_home_node",
        ],
        with_cap(&["CAP_SYS_NICE"]),
    ),
    allow(&["syslog"], with_cap(&["CAP_SYSLOG"])),
    allow(&["bpf"], with_cap(&["CAP_BPF"])),
    allow(&["perf_event_open"], with_cap(&["CAP_PERFMON"])),
];

/// Docker's default profile for a container whose bounding set is `caps` (names such as
/// `CAP_SYS_ADMIN`; `SYS_ADMIN` and lower case work too), on this host's architecture and
/// kernel.
pub fn docker_default_seccomp(caps: &[String]) -> LinuxSeccomp {
    profile_for(caps, host_arch(), kernel_version())
}

fn profile_for(caps: &[String], arch: &str, kernel: Option<(u32, u32)>) -> LinuxSeccomp {
    let caps: Vec<String> = caps.iter().map(|c| canonical_cap(c)).collect();
    let has_cap = |wanted: &&str| caps.iter().any(|c| c == wanted);
    let applies = |when: &When| {
        when.caps.iter().all(has_cap)
            && !when.not_caps.iter().any(has_cap)
            && (when.arches.is_empty() || when.arches.contains(&arch))
            && !when.not_arches.contains(&arch)
            // An unknown kernel version is taken as new enough, as for any modern host.
            && when.min_kernel.is_none_or(|min| kernel.is_none_or(|k| k >= min))
    };

    let mut syscalls = vec![syscall(ALWAYS_ALLOWED, None, &[])];
    for rule in RULES.iter().filter(|r| applies(&r.when)) {
        syscalls.push(syscall(rule.names, rule.errno, rule.args));
    }

    let mut profile = LinuxSeccomp::default();
    profile.set_default_action(LinuxSeccompAction::ScmpActErrno);
    profile.set_default_errno_ret(Some(DENIED_ERRNO));
    if let Some((_, arches)) = ARCH_MAP.iter().find(|(host, _)| *host == arch) {
        profile.set_architectures(Some(arches.to_vec()));
    }
    profile.set_syscalls(Some(syscalls));
    profile
}

fn syscall(
    names: &[&str],
    errno: Option<u32>,
    args: &[(usize, u64, LinuxSeccompOperator)],
) -> LinuxSyscall {
    let mut syscall = LinuxSyscall::default();
    syscall.set_names(names.iter().map(|n| (*n).to_owned()).collect());
    match errno {
        None => {
            syscall.set_action(LinuxSeccompAction::ScmpActAllow);
        }
        Some(errno) => {
            syscall.set_action(LinuxSeccompAction::ScmpActErrno);
            syscall.set_errno_ret(Some(errno));
        }
    }
    if !args.is_empty() {
        let args = args
            .iter()
            .map(|&(index, value, op)| {
                LinuxSeccompArgBuilder::default()
                    .index(index)
                    .value(value)
                    .op(op)
                    .build()
                    // The builder only fails for a field without a default; all have one.
                    .expect("LinuxSeccompArg fields all have defaults")
            })
            .collect();
        syscall.set_args(Some(args));
    }
    syscall
}

fn canonical_cap(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    }
}

/// This host's architecture as [`ARCH_MAP`] and the rules name it.
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "mips64" if cfg!(target_endian = "little") => "mips64el",
        other => other,
    }
}

/// The running kernel's (major, minor), from /proc/sys/kernel/osrelease ("6.1.0-13-amd64").
fn kernel_version() -> Option<(u32, u32)> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    parse_kernel_version(&release)
}

fn parse_kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.trim().split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules_naming<'a>(profile: &'a LinuxSeccomp, name: &str) -> Vec<&'a LinuxSyscall> {
        profile
            .syscalls()
            .iter()
            .flatten()
            .filter(|s| s.names().iter().any(|n| n == name))
            .collect()
    }

    fn docker_caps() -> Vec<String> {
        [
            "CAP_CHOWN",
            "CAP_DAC_OVERRIDE",
            "CAP_FSETID",
            "CAP_FOWNER",
            "CAP_MKNOD",
            "CAP_NET_RAW",
            "CAP_SETGID",
            "CAP_SETUID",
            "CAP_SETFCAP",
            "CAP_SETPCAP",
            "CAP_NET_BIND_SERVICE",
            "CAP_SYS_CHROOT",
            "CAP_KILL",
            "CAP_AUDIT_WRITE",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn defaults_deny_with_eperm_and_list_the_compat_arches() {
        let profile = profile_for(&docker_caps(), "x86_64", Some((6, 1)));
        assert_eq!(profile.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(profile.default_errno_ret(), Some(1));
        assert_eq!(
            profile.architectures().as_deref(),
            Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32][..])
        );
        let unknown = profile_for(&docker_caps(), "powerpc", Some((6, 1)));
        assert!(unknown.architectures().is_none(), "native only");
    }

    #[test]
    fn default_caps_keep_mount_out_and_restrict_clone() {
        let profile = profile_for(&docker_caps(), "x86_64", Some((6, 1)));
        assert!(rules_naming(&profile, "mount").is_empty());
        assert!(rules_naming(&profile, "unshare").is_empty());
        assert!(
            !rules_naming(&profile, "chroot").is_empty(),
            "CAP_SYS_CHROOT is in the set"
        );
        assert!(!rules_naming(&profile, "arch_prctl").is_empty());
        assert!(rules_naming(&profile, "riscv_flush_icache").is_empty());
        let clone = rules_naming(&profile, "clone");
        assert_eq!(clone.len(), 1);
        let arg = clone[0].args().as_ref().unwrap()[0];
        assert_eq!(
            (arg.index(), arg.value(), arg.op()),
            (0, CLONE_NAMESPACE_FLAGS, MASKED_EQ)
        );
        let clone3 = rules_naming(&profile, "clone3");
        assert_eq!(clone3.len(), 1);
        assert_eq!(clone3[0].action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(clone3[0].errno_ret(), Some(38));
    }

    #[test]
    fn sys_admin_unlocks_mount_and_unrestricted_clone() {
        let mut caps = docker_caps();
        caps.push("sys_admin".into());
        let profile = profile_for(&caps, "x86_64", Some((6, 1)));
        assert!(!rules_naming(&profile, "mount").is_empty());
        let clone = rules_naming(&profile, "clone");
        assert_eq!(clone.len(), 1);
        assert!(
            clone[0].args().is_none(),
            "clone unrestricted with CAP_SYS_ADMIN"
        );
        let clone3 = rules_naming(&profile, "clone3");
        assert_eq!(clone3[0].action(), LinuxSeccompAction::ScmpActAllow);
    }

    #[test]
    fn s390_checks_clone_flags_in_the_second_argument() {
        let profile = profile_for(&docker_caps(), "s390x", Some((6, 1)));
        let clone = rules_naming(&profile, "clone");
        assert_eq!(clone[0].args().as_ref().unwrap()[0].index(), 1);
        assert!(!rules_naming(&profile, "s390_runtime_instr").is_empty());
    }

    #[test]
    fn ptrace_needs_kernel_4_8() {
        assert!(rules_naming(&profile_for(&[], "x86_64", Some((4, 4))), "ptrace").is_empty());
        assert!(!rules_naming(&profile_for(&[], "x86_64", Some((4, 8))), "ptrace").is_empty());
        assert_eq!(parse_kernel_version("6.1.0-13-amd64\n"), Some((6, 1)));
        assert_eq!(parse_kernel_version("6.18.2"), Some((6, 18)));
    }

    #[test]
    fn io_uring_is_refused_and_new_kernels_syscalls_are_allowed() {
        let profile = profile_for(&docker_caps(), "x86_64", Some((6, 18)));
        for name in ["io_uring_setup", "io_uring_enter", "io_uring_register"] {
            assert!(rules_naming(&profile, name).is_empty(), "{name}");
        }
        for name in ["fchmodat2", "futex_wait", "cachestat", "map_shadow_stack"] {
            assert!(!rules_naming(&profile, name).is_empty(), "{name}");
        }
    }

    #[test]
    fn the_allowlist_has_no_duplicates() {
        let mut names = ALWAYS_ALLOWED.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALWAYS_ALLOWED.len());
    }

    #[test]
    fn the_profile_compiles_for_this_host() {
        let profile = docker_default_seccomp(&docker_caps());
        let program = super::super::SeccompProgram::compile(&profile).unwrap();
        assert!(program.instructions() > 100);
    }
}
