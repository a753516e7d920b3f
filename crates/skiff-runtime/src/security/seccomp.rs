//! `linux.seccomp`: the spec's filter compiled with libseccomp to a BPF program before the
//! fork, and loaded by init with one seccomp(2) call.
//!
//! Compiling up front keeps libseccomp (and its allocations) out of the freshly forked init,
//! lets the engine cache a compiled profile across containers, and lets us pass filter flags
//! the installed libseccomp may not know yet (WAIT_KILLABLE_RECV needs libseccomp 2.6).

use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::OwnedFd;

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use nix::sys::memfd::{memfd_create, MFdFlags};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator, LinuxSyscall,
};

use super::{sys, SecurityError};

/// The errno a rule's ERRNO or TRACE action uses when the spec gives none (as runc).
const DEFAULT_ERRNO: u32 = libc::EPERM as u32;
/// The kernel clamps larger errno values to this (MAX_ERRNO).
const MAX_ERRNO: u32 = 4095;
/// The most BPF instructions the kernel loads in one filter (BPF_MAXINSNS).
const MAX_INSTRUCTIONS: usize = 4096;
/// Syscalls take at most six arguments.
const MAX_ARG_INDEX: usize = 5;

// seccomp(2) takes its flags as an unsigned int; libc spells them as c_ulong.
const FLAG_TSYNC: u32 = libc::SECCOMP_FILTER_FLAG_TSYNC as u32;
const FLAG_LOG: u32 = libc::SECCOMP_FILTER_FLAG_LOG as u32;
const FLAG_SPEC_ALLOW: u32 = libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u32;
const FLAG_NEW_LISTENER: u32 = libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32;
const FLAG_TSYNC_ESRCH: u32 = libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH as u32;
const FLAG_WAIT_KILLABLE_RECV: u32 = libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV as u32;

/// How libseccomp arranges the syscall checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// One comparison after another: quickest to compile.
    Linear,
    /// A binary search over syscall numbers: about twice as slow to compile, but the kernel
    /// loads it several times faster (it evaluates the filter for every syscall number at
    /// load time to build its allow-cache) and runs it faster. Worth it when compiled once
    /// and cached.
    Tree,
}

/// A seccomp filter compiled to BPF, with the seccomp(2) flags to load it with.
/// Cheap to clone; the engine may compile a profile once and reuse it for many containers.
#[derive(Clone)]
pub struct SeccompProgram {
    filter: Vec<libc::sock_filter>,
    flags: u32,
}

impl fmt::Debug for SeccompProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeccompProgram")
            .field("instructions", &self.filter.len())
            .field("flags", &format_args!("{:#x}", self.flags))
            .finish()
    }
}

impl SeccompProgram {
    /// Compiles the spec's filter. Unknown syscall names are skipped (the profile may name
    /// syscalls this kernel or libseccomp does not have, as runc allows); everything else that
    /// cannot be honoured is an error naming the field. A deny-by-default filter answers
    /// syscalls newer than any it names with ENOSYS (see the `enosys` module), as runc does.
    pub fn compile(seccomp: &LinuxSeccomp) -> Result<SeccompProgram, SecurityError> {
        Self::compile_with(seccomp, Layout::Linear)
    }

    /// Compiles with the given rule layout; see [`Layout`].
    pub(crate) fn compile_with(
        seccomp: &LinuxSeccomp,
        layout: Layout,
    ) -> Result<SeccompProgram, SecurityError> {
        let default_action = seccomp.default_action();
        if default_action == LinuxSeccompAction::ScmpActNotify {
            return Err(SecurityError::SeccompNotifyAsDefault);
        }
        let default = action(
            default_action,
            seccomp.default_errno_ret(),
            "linux.seccomp.defaultErrnoRet",
        )?;
        let mut ctx =
            ScmpFilterContext::new(default).map_err(|source| SecurityError::SeccompCompile {
                what: "creating the filter".into(),
                source,
            })?;
        if layout == Layout::Tree {
            ctx.set_ctl_optimize(2)
                .map_err(|source| SecurityError::SeccompCompile {
                    what: "choosing the binary-tree layout".into(),
                    source,
                })?;
        }
        for &arch in seccomp.architectures().iter().flatten() {
            add_arch(&mut ctx, arch)?;
        }
        let mut uses_notify = false;
        for (index, rule) in seccomp.syscalls().iter().flatten().enumerate() {
            uses_notify |= rule.action() == LinuxSeccompAction::ScmpActNotify;
            add_rule(&mut ctx, index, rule, default)?;
        }
        if uses_notify && seccomp.listener_path().is_none() {
            return Err(SecurityError::SeccompNotifyWithoutListener);
        }
        let flags = filter_flags(seccomp.flags().iter().flatten().copied(), uses_notify);
        let mut filter = super::enosys::stub(seccomp);
        filter.extend(export(&ctx)?);
        if filter.len() > MAX_INSTRUCTIONS {
            return Err(SecurityError::SeccompTooLarge {
                instructions: filter.len(),
            });
        }
        Ok(SeccompProgram { filter, flags })
    }

    /// [`compile`](SeccompProgram::compile) through an on-disk cache in `cache_dir`, so a
    /// profile is compiled once per host rather than once per container (libseccomp takes
    /// milliseconds for Docker's default profile). The module `seccomp_cache` says how
    /// the cache stays trustworthy.
    pub fn compile_cached(
        seccomp: &LinuxSeccomp,
        cache_dir: &std::path::Path,
    ) -> Result<SeccompProgram, SecurityError> {
        super::seccomp_cache::compile_cached(seccomp, cache_dir)
    }

    /// The program as bytes: the flags, then the instructions as the kernel reads them.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(4 + self.filter.len() * INSTRUCTION);
        bytes.extend_from_slice(&self.flags.to_le_bytes());
        for insn in &self.filter {
            bytes.extend_from_slice(&insn.code.to_ne_bytes());
            bytes.extend_from_slice(&[insn.jt, insn.jf]);
            bytes.extend_from_slice(&insn.k.to_ne_bytes());
        }
        bytes
    }

    /// The inverse of [`to_bytes`](SeccompProgram::to_bytes); `None` if malformed.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<SeccompProgram> {
        let (flags, program) = bytes.split_first_chunk::<4>()?;
        let flags = u32::from_le_bytes(*flags);
        let filter = decode(program)?;
        Some(SeccompProgram { filter, flags })
    }

    /// Whether loading returns a notification listener (some rule uses SCMP_ACT_NOTIFY).
    pub fn has_listener(&self) -> bool {
        self.flags & FLAG_NEW_LISTENER != 0
    }

    /// Number of BPF instructions, for logs and tests.
    pub fn instructions(&self) -> usize {
        self.filter.len()
    }

    /// Installs the filter on the calling thread. It needs NO_NEW_PRIVS or CAP_SYS_ADMIN.
    /// Returns the notification listener when the filter has NOTIFY rules.
    pub fn load(&self) -> Result<Option<OwnedFd>, SecurityError> {
        // Same wording as runc's debug log, which runc's integration tests look for.
        tracing::debug!(
            instructions = self.filter.len(),
            "seccomp filter flags: {}",
            self.flags
        );
        sys::seccomp_set_mode_filter(&self.filter, self.flags).map_err(|source| {
            SecurityError::SeccompLoad {
                flags: flag_names(self.flags),
                source,
            }
        })
    }
}

/// libseccomp's action for a spec action; `errno_ret` applies to ERRNO and TRACE.
pub(crate) fn action(
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    field: &str,
) -> Result<ScmpAction, SecurityError> {
    let errno = errno_ret.unwrap_or(DEFAULT_ERRNO);
    Ok(match action {
        // SCMP_ACT_KILL is the historical name of KILL_THREAD.
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => {
            if errno > MAX_ERRNO {
                return Err(SecurityError::SeccompErrnoOutOfRange {
                    field: field.to_owned(),
                    value: errno,
                    max: MAX_ERRNO,
                });
            }
            ScmpAction::Errno(errno as i32)
        }
        LinuxSeccompAction::ScmpActTrace => {
            let data = u16::try_from(errno).map_err(|_| SecurityError::SeccompErrnoOutOfRange {
                field: field.to_owned(),
                value: errno,
                max: u32::from(u16::MAX),
            })?;
            ScmpAction::Trace(data)
        }
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
    })
}

/// libseccomp's architecture token for a spec architecture.
pub(crate) fn arch(arch: Arch) -> ScmpArch {
    match arch {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

/// libseccomp's comparison for a spec argument filter. For SCMP_CMP_MASKED_EQ the spec's
/// `value` is the mask and `valueTwo` the value the masked argument must equal.
pub(crate) fn comparison(
    arg: &LinuxSeccompArg,
    syscall: &str,
) -> Result<ScmpArgCompare, SecurityError> {
    let index = arg.index();
    if index > MAX_ARG_INDEX {
        return Err(SecurityError::SeccompArgIndex {
            syscall: syscall.to_owned(),
            index,
        });
    }
    let (op, datum) = match arg.op() {
        LinuxSeccompOperator::ScmpCmpNe => (ScmpCompareOp::NotEqual, arg.value()),
        LinuxSeccompOperator::ScmpCmpLt => (ScmpCompareOp::Less, arg.value()),
        LinuxSeccompOperator::ScmpCmpLe => (ScmpCompareOp::LessOrEqual, arg.value()),
        LinuxSeccompOperator::ScmpCmpEq => (ScmpCompareOp::Equal, arg.value()),
        LinuxSeccompOperator::ScmpCmpGe => (ScmpCompareOp::GreaterEqual, arg.value()),
        LinuxSeccompOperator::ScmpCmpGt => (ScmpCompareOp::Greater, arg.value()),
        LinuxSeccompOperator::ScmpCmpMaskedEq => (
            ScmpCompareOp::MaskedEqual(arg.value()),
            arg.value_two().unwrap_or(0),
        ),
    };
    Ok(ScmpArgCompare::new(index as u32, op, datum))
}

/// The seccomp(2) flag bit for a spec flag.
pub(crate) fn flag(flag: LinuxSeccompFilterFlag) -> u32 {
    match flag {
        LinuxSeccompFilterFlag::SeccompFilterFlagLog => FLAG_LOG,
        LinuxSeccompFilterFlag::SeccompFilterFlagTsync => FLAG_TSYNC,
        LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => FLAG_SPEC_ALLOW,
        LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => FLAG_WAIT_KILLABLE_RECV,
    }
}

fn filter_flags(spec: impl Iterator<Item = LinuxSeccompFilterFlag>, uses_notify: bool) -> u32 {
    let mut flags = spec.map(flag).fold(0, |all, f| all | f);
    if uses_notify {
        flags |= FLAG_NEW_LISTENER;
        // TSYNC and NEW_LISTENER together are only accepted with TSYNC_ESRCH.
        if flags & FLAG_TSYNC != 0 {
            flags |= FLAG_TSYNC_ESRCH;
        }
    } else {
        // WAIT_KILLABLE_RECV is about how notified syscalls wait; the kernel refuses it
        // (EINVAL) on a filter without a listener, where it would mean nothing anyway.
        flags &= !FLAG_WAIT_KILLABLE_RECV;
    }
    flags
}

fn flag_names(flags: u32) -> String {
    const NAMES: [(u32, &str); 6] = [
        (FLAG_TSYNC, "SECCOMP_FILTER_FLAG_TSYNC"),
        (FLAG_LOG, "SECCOMP_FILTER_FLAG_LOG"),
        (FLAG_SPEC_ALLOW, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"),
        (FLAG_NEW_LISTENER, "SECCOMP_FILTER_FLAG_NEW_LISTENER"),
        (FLAG_TSYNC_ESRCH, "SECCOMP_FILTER_FLAG_TSYNC_ESRCH"),
        (
            FLAG_WAIT_KILLABLE_RECV,
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        ),
    ];
    let names: Vec<&str> = NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, name)| *name)
        .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join("|")
    }
}

fn add_arch(ctx: &mut ScmpFilterContext, spec_arch: Arch) -> Result<(), SecurityError> {
    let token = arch(spec_arch);
    let unsupported = |source| SecurityError::SeccompArch {
        arch: spec_arch.to_string(),
        source,
    };
    if !ctx.is_arch_present(token).map_err(unsupported)? {
        ctx.add_arch(token).map_err(unsupported)?;
    }
    Ok(())
}

fn add_rule(
    ctx: &mut ScmpFilterContext,
    index: usize,
    rule: &LinuxSyscall,
    default: ScmpAction,
) -> Result<(), SecurityError> {
    let field = format!("linux.seccomp.syscalls[{index}].errnoRet");
    let act = action(rule.action(), rule.errno_ret(), &field)?;
    // libseccomp refuses a rule whose action is the default one; it would change nothing.
    if act == default {
        return Ok(());
    }
    for name in rule.names() {
        let Ok(syscall) = ScmpSyscall::from_name(name) else {
            tracing::debug!(syscall = %name, "seccomp: unknown syscall name, skipping its rule");
            continue;
        };
        let comparisons = rule
            .args()
            .iter()
            .flatten()
            .map(|arg| comparison(arg, name))
            .collect::<Result<Vec<_>, _>>()?;
        let failed = |source| SecurityError::SeccompRule {
            syscall: name.clone(),
            index,
            source,
        };
        if comparisons.is_empty() {
            ctx.add_rule(act, syscall).map_err(failed)?;
        } else if has_repeated_index(rule.args().as_deref().unwrap_or_default()) {
            // libseccomp cannot AND two comparisons of one argument; like runc, such
            // comparisons become separate rules (so they match if any one matches).
            for cmp in comparisons {
                ctx.add_rule_conditional(act, syscall, &[cmp])
                    .map_err(failed)?;
            }
        } else {
            ctx.add_rule_conditional(act, syscall, &comparisons)
                .map_err(failed)?;
        }
    }
    Ok(())
}

fn has_repeated_index(args: &[LinuxSeccompArg]) -> bool {
    let mut seen = [false; MAX_ARG_INDEX + 1];
    for arg in args {
        let slot = &mut seen[arg.index().min(MAX_ARG_INDEX)];
        if *slot {
            return true;
        }
        *slot = true;
    }
    false
}

/// The compiled program as kernel BPF instructions. libseccomp 2.5 can only export into a file
/// descriptor, so it goes through a memfd.
fn export(ctx: &ScmpFilterContext) -> Result<Vec<libc::sock_filter>, SecurityError> {
    let io = |what: &str, source: std::io::Error| SecurityError::SeccompExport {
        what: what.to_owned(),
        source,
    };
    let memfd = memfd_create("skiff-seccomp", MFdFlags::MFD_CLOEXEC)
        .map_err(|e| io("creating a memfd for", e.into()))?;
    let mut file = std::fs::File::from(memfd);
    ctx.export_bpf(&file)
        .map_err(|source| SecurityError::SeccompCompile {
            what: "exporting the BPF program".into(),
            source,
        })?;
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bytes))
        .map_err(|e| io("reading back", e))?;
    decode(&bytes).ok_or_else(|| {
        io(
            "decoding",
            std::io::Error::other(format!("{} bytes is not whole instructions", bytes.len())),
        )
    })
}

/// Size of one BPF instruction (struct sock_filter).
const INSTRUCTION: usize = std::mem::size_of::<libc::sock_filter>();

/// Kernel BPF instructions from their in-memory bytes; `None` unless whole and non-empty.
fn decode(bytes: &[u8]) -> Option<Vec<libc::sock_filter>> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(INSTRUCTION) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(INSTRUCTION)
            .map(|b| libc::sock_filter {
                code: u16::from_ne_bytes([b[0], b[1]]),
                jt: b[2],
                jf: b[3],
                k: u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: serde::de::DeserializeOwned>(json: &str) -> T {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn every_action_maps_to_libseccomp() {
        let cases = [
            ("SCMP_ACT_KILL", ScmpAction::KillThread),
            ("SCMP_ACT_KILL_THREAD", ScmpAction::KillThread),
            ("SCMP_ACT_KILL_PROCESS", ScmpAction::KillProcess),
            ("SCMP_ACT_TRAP", ScmpAction::Trap),
            ("SCMP_ACT_ERRNO", ScmpAction::Errno(libc::EPERM)),
            ("SCMP_ACT_TRACE", ScmpAction::Trace(libc::EPERM as u16)),
            ("SCMP_ACT_NOTIFY", ScmpAction::Notify),
            ("SCMP_ACT_LOG", ScmpAction::Log),
            ("SCMP_ACT_ALLOW", ScmpAction::Allow),
        ];
        for (name, expected) in cases {
            let spec: LinuxSeccompAction = parse(&format!("\"{name}\""));
            assert_eq!(action(spec, None, "f").unwrap(), expected, "{name}");
        }
        let errno = action(LinuxSeccompAction::ScmpActErrno, Some(38), "f").unwrap();
        assert_eq!(errno, ScmpAction::Errno(38));
        let trace = action(LinuxSeccompAction::ScmpActTrace, Some(7), "f").unwrap();
        assert_eq!(trace, ScmpAction::Trace(7));
    }

    #[test]
    fn an_errno_beyond_the_kernel_range_names_the_field() {
        let err = action(
            LinuxSeccompAction::ScmpActErrno,
            Some(5000),
            "syscalls[2].errnoRet",
        )
        .unwrap_err();
        assert!(err.to_string().contains("syscalls[2].errnoRet"), "{err}");
        assert!(err.to_string().contains("5000"), "{err}");
    }

    #[test]
    fn every_architecture_maps_to_libseccomp() {
        let cases = [
            ("SCMP_ARCH_NATIVE", ScmpArch::Native),
            ("SCMP_ARCH_X86", ScmpArch::X86),
            ("SCMP_ARCH_X86_64", ScmpArch::X8664),
            ("SCMP_ARCH_X32", ScmpArch::X32),
            ("SCMP_ARCH_ARM", ScmpArch::Arm),
            ("SCMP_ARCH_AARCH64", ScmpArch::Aarch64),
            ("SCMP_ARCH_MIPS", ScmpArch::Mips),
            ("SCMP_ARCH_MIPS64", ScmpArch::Mips64),
            ("SCMP_ARCH_MIPS64N32", ScmpArch::Mips64N32),
            ("SCMP_ARCH_MIPSEL", ScmpArch::Mipsel),
            ("SCMP_ARCH_MIPSEL64", ScmpArch::Mipsel64),
            ("SCMP_ARCH_MIPSEL64N32", ScmpArch::Mipsel64N32),
            ("SCMP_ARCH_PPC", ScmpArch::Ppc),
            ("SCMP_ARCH_PPC64", ScmpArch::Ppc64),
            ("SCMP_ARCH_PPC64LE", ScmpArch::Ppc64Le),
            ("SCMP_ARCH_S390", ScmpArch::S390),
            ("SCMP_ARCH_S390X", ScmpArch::S390X),
            ("SCMP_ARCH_PARISC", ScmpArch::Parisc),
            ("SCMP_ARCH_PARISC64", ScmpArch::Parisc64),
            ("SCMP_ARCH_RISCV64", ScmpArch::Riscv64),
            ("SCMP_ARCH_LOONGARCH64", ScmpArch::Loongarch64),
            ("SCMP_ARCH_M68K", ScmpArch::M68k),
            ("SCMP_ARCH_SH", ScmpArch::Sh),
            ("SCMP_ARCH_SHEB", ScmpArch::Sheb),
        ];
        for (name, expected) in cases {
            let spec: Arch = parse(&format!("\"{name}\""));
            assert_eq!(arch(spec), expected, "{name}");
        }
    }

    #[test]
    fn every_operator_maps_to_libseccomp() {
        let cases = [
            ("SCMP_CMP_NE", ScmpCompareOp::NotEqual),
            ("SCMP_CMP_LT", ScmpCompareOp::Less),
            ("SCMP_CMP_LE", ScmpCompareOp::LessOrEqual),
            ("SCMP_CMP_EQ", ScmpCompareOp::Equal),
            ("SCMP_CMP_GE", ScmpCompareOp::GreaterEqual),
            ("SCMP_CMP_GT", ScmpCompareOp::Greater),
        ];
        for (name, op) in cases {
            let arg: LinuxSeccompArg = parse(&format!(r#"{{"index":2,"value":9,"op":"{name}"}}"#));
            assert_eq!(
                comparison(&arg, "x").unwrap(),
                ScmpArgCompare::new(2, op, 9),
                "{name}"
            );
        }
        let masked: LinuxSeccompArg =
            parse(r#"{"index":0,"value":255,"valueTwo":16,"op":"SCMP_CMP_MASKED_EQ"}"#);
        assert_eq!(
            comparison(&masked, "x").unwrap(),
            ScmpArgCompare::new(0, ScmpCompareOp::MaskedEqual(255), 16)
        );
    }

    #[test]
    fn an_argument_index_beyond_six_names_the_syscall() {
        let arg: LinuxSeccompArg = parse(r#"{"index":6,"value":0,"op":"SCMP_CMP_EQ"}"#);
        let err = comparison(&arg, "openat").unwrap_err();
        assert!(err.to_string().contains("openat"), "{err}");
        assert!(err.to_string().contains('6'), "{err}");
    }

    #[test]
    fn every_flag_maps_to_its_bit() {
        let cases = [
            ("SECCOMP_FILTER_FLAG_LOG", FLAG_LOG),
            ("SECCOMP_FILTER_FLAG_TSYNC", FLAG_TSYNC),
            ("SECCOMP_FILTER_FLAG_SPEC_ALLOW", FLAG_SPEC_ALLOW),
            (
                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
                FLAG_WAIT_KILLABLE_RECV,
            ),
        ];
        for (name, bit) in cases {
            let spec: LinuxSeccompFilterFlag = parse(&format!("\"{name}\""));
            assert_eq!(flag(spec), bit, "{name}");
            assert_eq!(flag_names(bit), name);
        }
        let tsync = [LinuxSeccompFilterFlag::SeccompFilterFlagTsync];
        let with_notify = filter_flags(tsync.into_iter(), true);
        assert_ne!(with_notify & FLAG_TSYNC_ESRCH, 0);
        assert_ne!(with_notify & FLAG_NEW_LISTENER, 0);
        let killable = [LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv];
        assert_eq!(filter_flags(killable.into_iter(), false), 0);
        assert_eq!(
            filter_flags(killable.into_iter(), true),
            FLAG_WAIT_KILLABLE_RECV | FLAG_NEW_LISTENER
        );
    }

    #[test]
    fn unknown_action_arch_op_and_flag_names_fail_to_parse_naming_them() {
        for json in [
            r#"{"defaultAction":"SCMP_ACT_EXPLODE"}"#,
            r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_Z80"]}"#,
            r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_FAST"]}"#,
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],
                "action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_ABOUT"}]}]}"#,
        ] {
            let err = serde_json::from_str::<LinuxSeccomp>(json).unwrap_err();
            let bad = [
                "SCMP_ACT_EXPLODE",
                "SCMP_ARCH_Z80",
                "SECCOMP_FILTER_FLAG_FAST",
                "SCMP_CMP_ABOUT",
            ];
            assert!(
                bad.iter().any(|b| err.to_string().contains(b)),
                "error does not name the bad value: {err}"
            );
        }
    }

    #[test]
    fn a_full_filter_compiles_and_unknown_syscalls_are_skipped() {
        let spec: LinuxSeccomp = parse(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,
                "architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
                "flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                "syscalls":[
                  {"names":["read","write","no_such_syscall_at_all"],"action":"SCMP_ACT_ALLOW"},
                  {"names":["personality"],"action":"SCMP_ACT_ALLOW",
                   "args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"},
                           {"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
                  {"names":["clone"],"action":"SCMP_ACT_ALLOW",
                   "args":[{"index":0,"value":2114060288,"op":"SCMP_CMP_MASKED_EQ"}]},
                  {"names":["mkdir"],"action":"SCMP_ACT_ERRNO"},
                  {"names":["getppid"],"action":"SCMP_ACT_LOG"},
                  {"names":["kill"],"action":"SCMP_ACT_TRACE","errnoRet":3}
                ]}"#,
        );
        let program = SeccompProgram::compile(&spec).unwrap();
        assert!(program.instructions() > 10);
        assert!(!program.has_listener());
        assert_eq!(
            flag_names(program.flags),
            "SECCOMP_FILTER_FLAG_LOG|SECCOMP_FILTER_FLAG_SPEC_ALLOW"
        );
    }

    #[test]
    fn an_architecture_libseccomp_lacks_is_an_error_naming_it() {
        // Every libseccomp knows x86; SuperH arrived in 2.6 and LoongArch in 2.6 too.
        for arch in ["SCMP_ARCH_X86", "SCMP_ARCH_SH", "SCMP_ARCH_LOONGARCH64"] {
            let spec: LinuxSeccomp = parse(&format!(
                r#"{{"defaultAction":"SCMP_ACT_ALLOW","architectures":["{arch}"]}}"#
            ));
            match SeccompProgram::compile(&spec) {
                Ok(_) => {}
                Err(err) => {
                    assert!(matches!(err, SecurityError::SeccompArch { .. }), "{err}");
                    assert!(err.to_string().contains(arch), "{err}");
                }
            }
        }
    }

    #[test]
    fn notify_needs_a_listener_path_and_cannot_be_the_default() {
        let spec: LinuxSeccomp = parse(
            r#"{"defaultAction":"SCMP_ACT_ALLOW",
                "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        );
        let err = SeccompProgram::compile(&spec).unwrap_err();
        assert!(err.to_string().contains("listenerPath"), "{err}");
        let spec: LinuxSeccomp = parse(r#"{"defaultAction":"SCMP_ACT_NOTIFY"}"#);
        let err = SeccompProgram::compile(&spec).unwrap_err();
        assert!(err.to_string().contains("defaultAction"), "{err}");
        let spec: LinuxSeccomp = parse(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/agent.sock",
                "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        );
        assert!(SeccompProgram::compile(&spec).unwrap().has_listener());
    }
}
