//! ENOSYS for syscalls newer than a deny-by-default profile, as runc does.
//!
//! A profile lists the syscalls its author knew. A syscall the kernel added later is not in
//! it, so a deny-by-default filter would answer it with EPERM — and C libraries probing a new
//! syscall (clone3, fchmodat2, …) fall back to the old one only on ENOSYS. So before the
//! libseccomp program we put a short check: for each architecture of the filter, a syscall
//! numbered above the highest one the profile names gets ENOSYS, "not implemented here".
//! Lower numbers go on to the profile's own rules.

use libseccomp::{ScmpArch, ScmpSyscall};
use oci_spec::runtime::{Arch, LinuxSeccomp, LinuxSeccompAction};

use super::seccomp::arch as scmp_arch;

/// x32 syscalls run under the x86_64 audit architecture with this bit set in their number.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

// Classic BPF opcodes (linux/filter.h) and the seccomp_data offsets the stub reads.
const LD_W_ABS: u16 = 0x20;
const JMP_JA: u16 = 0x05;
const JMP_JEQ_K: u16 = 0x15;
const JMP_JGT_K: u16 = 0x25;
const JMP_JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;
const RET_ERRNO_ENOSYS: u32 = 0x0005_0000 | libc::ENOSYS as u32;

/// Every architecture a spec can name, to find the spec name of the native one.
const ALL_ARCHES: [Arch; 23] = [
    Arch::ScmpArchX86,
    Arch::ScmpArchX86_64,
    Arch::ScmpArchX32,
    Arch::ScmpArchArm,
    Arch::ScmpArchAarch64,
    Arch::ScmpArchMips,
    Arch::ScmpArchMips64,
    Arch::ScmpArchMips64n32,
    Arch::ScmpArchMipsel,
    Arch::ScmpArchMipsel64,
    Arch::ScmpArchMipsel64n32,
    Arch::ScmpArchPpc,
    Arch::ScmpArchPpc64,
    Arch::ScmpArchPpc64le,
    Arch::ScmpArchS390,
    Arch::ScmpArchS390x,
    Arch::ScmpArchParisc,
    Arch::ScmpArchParisc64,
    Arch::ScmpArchRiscv64,
    Arch::ScmpArchLoongarch64,
    Arch::ScmpArchM68k,
    Arch::ScmpArchSh,
    Arch::ScmpArchSheb,
];

/// The check to put before the libseccomp program, or nothing when the profile does not deny
/// by default (then new syscalls are allowed anyway) or names no syscall.
pub(crate) fn stub(seccomp: &LinuxSeccomp) -> Vec<libc::sock_filter> {
    if matches!(
        seccomp.default_action(),
        LinuxSeccompAction::ScmpActAllow | LinuxSeccompAction::ScmpActLog
    ) {
        return Vec::new();
    }
    let names: Vec<&str> = seccomp
        .syscalls()
        .iter()
        .flatten()
        .flat_map(|rule| rule.names().iter().map(String::as_str))
        .collect();

    // The highest syscall number the profile names, per architecture of the filter.
    let mut limits: Vec<(Arch, u32)> = Vec::new();
    for arch in filter_arches(seccomp) {
        let highest = names
            .iter()
            .filter_map(|name| ScmpSyscall::from_name_by_arch(name, scmp_arch(arch)).ok())
            .filter_map(|syscall| u32::try_from(syscall.as_raw_syscall()).ok())
            .max();
        if let Some(highest) = highest {
            limits.push((arch, highest));
        }
    }
    assemble(&limits)
}

/// The filter's architectures: the native one and those the spec adds, without repeats.
fn filter_arches(seccomp: &LinuxSeccomp) -> Vec<Arch> {
    let native = ScmpArch::native();
    let mut arches: Vec<Arch> = ALL_ARCHES
        .into_iter()
        .filter(|&a| scmp_arch(a) == native)
        .take(1)
        .collect();
    for &arch in seccomp.architectures().iter().flatten() {
        let arch = if arch == Arch::ScmpArchNative {
            match arches.first() {
                Some(&native) => native,
                None => continue,
            }
        } else {
            arch
        };
        if !arches.contains(&arch) {
            arches.push(arch);
        }
    }
    arches
}

/// Where a jump goes.
#[derive(Clone, Copy)]
enum To {
    /// Over this many following instructions (0: the next one).
    Skip(u8),
    /// The ENOSYS return after the stub.
    Enosys,
    /// The first instruction of the profile's own program.
    Program,
}

/// One stub instruction before its jumps are resolved.
struct Insn {
    code: u16,
    jt: To,
    jf: To,
    k: u32,
}

fn insn(code: u16, jt: To, jf: To, k: u32) -> Insn {
    Insn { code, jt, jf, k }
}

/// Lays out: load the arch; per architecture, "if it is this one, compare the syscall number
/// with its limit" (a block that ends in a jump either way); otherwise on to the program;
/// then the ENOSYS return; then the program.
fn assemble(limits: &[(Arch, u32)]) -> Vec<libc::sock_filter> {
    if limits.is_empty() {
        return Vec::new();
    }
    let limit_of = |wanted: Arch| limits.iter().find(|(a, _)| *a == wanted).map(|&(_, l)| l);
    let next = To::Skip(0);
    let mut code = vec![insn(LD_W_ABS, next, next, OFFSET_ARCH)];
    let mut seen_x86_64 = false;
    for &(arch, limit) in limits {
        let mut block = vec![insn(LD_W_ABS, next, next, OFFSET_NR)];
        let audit = match arch {
            // x86_64 and x32 share an audit architecture: one block checks both.
            Arch::ScmpArchX86_64 | Arch::ScmpArchX32 if seen_x86_64 => continue,
            Arch::ScmpArchX86_64 | Arch::ScmpArchX32 => {
                seen_x86_64 = true;
                let native = limit_of(Arch::ScmpArchX86_64);
                let x32 = limit_of(Arch::ScmpArchX32).map(|l| l | X32_SYSCALL_BIT);
                match (native, x32) {
                    (Some(native), Some(x32)) => {
                        block.push(insn(JMP_JSET_K, next, To::Skip(1), X32_SYSCALL_BIT));
                        block.push(insn(JMP_JGT_K, To::Enosys, To::Program, x32));
                        block.push(insn(JMP_JGT_K, To::Enosys, To::Program, native));
                    }
                    (Some(native), None) => {
                        // An x32 call in a filter without x32 is the program's to refuse.
                        block.push(insn(JMP_JSET_K, To::Program, next, X32_SYSCALL_BIT));
                        block.push(insn(JMP_JGT_K, To::Enosys, To::Program, native));
                    }
                    (None, Some(x32)) => {
                        block.push(insn(JMP_JSET_K, next, To::Program, X32_SYSCALL_BIT));
                        block.push(insn(JMP_JGT_K, To::Enosys, To::Program, x32));
                    }
                    (None, None) => continue,
                }
                Arch::ScmpArchX86_64 as u32
            }
            other => {
                block.push(insn(JMP_JGT_K, To::Enosys, To::Program, limit));
                other as u32
            }
        };
        // The block has a handful of instructions, far below the 255 a jump can skip.
        let skip = u8::try_from(block.len()).unwrap_or(u8::MAX);
        code.push(insn(JMP_JEQ_K, next, To::Skip(skip), audit));
        code.extend(block);
    }
    // No block matched: on to the program, over the ENOSYS return.
    code.push(insn(JMP_JA, next, next, 1));
    let enosys = code.len();
    code.push(insn(RET_K, next, next, RET_ERRNO_ENOSYS));
    let program = code.len();

    code.iter()
        .enumerate()
        .map(|(at, i)| {
            let resolve = |to: To| match to {
                To::Skip(n) => n,
                // Every target lies after `at` and within the short stub.
                To::Enosys => u8::try_from(enosys - at - 1).unwrap_or(u8::MAX),
                To::Program => u8::try_from(program - at - 1).unwrap_or(u8::MAX),
            };
            libc::sock_filter {
                code: i.code,
                jt: resolve(i.jt),
                jf: resolve(i.jf),
                k: i.k,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(json: &str) -> LinuxSeccomp {
        serde_json::from_str(json).unwrap()
    }

    /// Runs the stub like the kernel would for (arch, nr): Some(ENOSYS) or None for "on to
    /// the program".
    fn run(stub: &[libc::sock_filter], arch: u32, nr: u32) -> Option<u32> {
        let mut pc = 0;
        let mut acc = 0;
        loop {
            if pc == stub.len() {
                return None;
            }
            let i = stub[pc];
            pc += 1;
            match i.code {
                LD_W_ABS => acc = if i.k == OFFSET_ARCH { arch } else { nr },
                JMP_JA => pc += i.k as usize,
                JMP_JEQ_K => pc += usize::from(if acc == i.k { i.jt } else { i.jf }),
                JMP_JGT_K => pc += usize::from(if acc > i.k { i.jt } else { i.jf }),
                JMP_JSET_K => pc += usize::from(if acc & i.k != 0 { i.jt } else { i.jf }),
                RET_K => return Some(i.k),
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    const X86_64: u32 = Arch::ScmpArchX86_64 as u32;
    const X86: u32 = Arch::ScmpArchX86 as u32;

    #[test]
    fn syscalls_above_the_profiles_highest_get_enosys_per_arch() {
        // write: 1 on x86_64, 4 on x86; openat2: 437 on both.
        let stub = stub(&profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO",
                "architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
                "syscalls":[{"names":["write","openat2"],"action":"SCMP_ACT_ALLOW"}]}"#,
        ));
        assert!(!stub.is_empty());
        let enosys = Some(RET_ERRNO_ENOSYS);
        assert_eq!(run(&stub, X86_64, 1), None);
        assert_eq!(run(&stub, X86_64, 437), None);
        assert_eq!(run(&stub, X86_64, 438), enosys);
        assert_eq!(run(&stub, X86_64, 1000), enosys);
        assert_eq!(run(&stub, X86, 437), None);
        assert_eq!(run(&stub, X86, 1000), enosys);
        assert_eq!(run(&stub, X86_64, X32_SYSCALL_BIT | 437), None);
        assert_eq!(run(&stub, X86_64, X32_SYSCALL_BIT | 600), enosys);
        // An architecture not in the filter is left to the program (its bad-arch action).
        assert_eq!(run(&stub, Arch::ScmpArchAarch64 as u32, 1000), None);
    }

    #[test]
    fn without_x32_an_x32_call_is_left_to_the_program() {
        let stub = stub(&profile(
            r#"{"defaultAction":"SCMP_ACT_KILL",
                "syscalls":[{"names":["write"],"action":"SCMP_ACT_ALLOW"}]}"#,
        ));
        assert_eq!(run(&stub, X86_64, 2), Some(RET_ERRNO_ENOSYS));
        assert_eq!(run(&stub, X86_64, X32_SYSCALL_BIT | 2), None);
    }

    #[test]
    fn allow_by_default_profiles_get_no_stub() {
        for default in ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG"] {
            let stub = stub(&profile(&format!(
                r#"{{"defaultAction":"{default}",
                    "syscalls":[{{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}}]}}"#
            )));
            assert!(stub.is_empty(), "{default}");
        }
        assert!(stub(&profile(r#"{"defaultAction":"SCMP_ACT_ERRNO"}"#)).is_empty());
    }
}
