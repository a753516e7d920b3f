//! v2 devices: the rules compiled to an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE and
//! attached to the cgroup with BPF_CGROUP_DEVICE (cgroup v2 has no devices files).
//!
//! The program sees `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`
//! where `access_type = access << 16 | type`. It checks the rules from the last to the first
//! and returns the verdict of the first that matches (so later rules override earlier ones,
//! as they do when written one by one to v1's files). No match allows, as a fresh v1 cgroup
//! does: the rules mean the same on both hierarchies, and an allowlist starts with the
//! "deny all" rule that docker, podman and `runc spec` put first.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use super::bpf::{self, Insn};
use crate::CgroupError;

// Instruction classes and opcodes (linux/bpf.h, linux/bpf_common.h).
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU32_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU32_MOV_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const ALU64_MOV_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const JMP_JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JMP_JNE_X: u8 = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const JMP_JEQ_K: u8 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JMP_EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

// Device types and access bits of bpf_cgroup_dev_ctx.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;
const ACC_ALL: i32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

// Registers: r1 = ctx on entry, then scratch; r2 = type, r3 = access, r4 = major, r5 = minor.
const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R5: u8 = 5;

/// Marks a jump to the next rule's block; patched once the block's length is known.
const TO_NEXT_BLOCK: i16 = i16::MIN;

/// Compiles the rules into the program's instructions.
pub(crate) fn program(rules: &[LinuxDeviceCgroup]) -> Result<Vec<Insn>, CgroupError> {
    let mut insns = vec![
        Insn::new(LDX_MEM_W, R2, R1, 0, 0),
        Insn::new(ALU32_AND_K, R2, 0, 0, 0xffff),
        Insn::new(LDX_MEM_W, R3, R1, 0, 0),
        Insn::new(ALU32_RSH_K, R3, 0, 0, 16),
        Insn::new(LDX_MEM_W, R4, R1, 4, 0),
        Insn::new(LDX_MEM_W, R5, R1, 8, 0),
    ];
    for rule in rules.iter().rev() {
        let block = rule_block(rule)?;
        // A rule that matches every access returns unconditionally: what follows could never
        // run, and the verifier rejects unreachable instructions.
        let unconditional = block.len() == 2;
        insns.extend(block);
        if unconditional {
            return Ok(insns);
        }
    }
    insns.push(Insn::new(ALU64_MOV_K, R0, 0, 0, 1));
    insns.push(Insn::new(JMP_EXIT, 0, 0, 0, 0));
    Ok(insns)
}

/// The instructions for one rule: a series of "not this rule? skip to the next block" tests,
/// then "return verdict".
fn rule_block(rule: &LinuxDeviceCgroup) -> Result<Vec<Insn>, CgroupError> {
    let mut block = Vec::with_capacity(8);
    match rule.typ().unwrap_or(LinuxDeviceType::A) {
        LinuxDeviceType::A => {}
        LinuxDeviceType::C | LinuxDeviceType::U => {
            block.push(Insn::new(JMP_JNE_K, R2, 0, TO_NEXT_BLOCK, DEV_CHAR))
        }
        LinuxDeviceType::B => block.push(Insn::new(JMP_JNE_K, R2, 0, TO_NEXT_BLOCK, DEV_BLOCK)),
        LinuxDeviceType::P => return Ok(Vec::new()), // FIFOs are not devices to the cgroup
    }
    let access = crate::v1::devices::access(rule)?;
    let access = (if access.contains('r') { ACC_READ } else { 0 })
        | (if access.contains('w') { ACC_WRITE } else { 0 })
        | (if access.contains('m') { ACC_MKNOD } else { 0 });
    if access != ACC_ALL {
        block.push(Insn::new(ALU32_MOV_X, R1, R3, 0, 0));
        block.push(Insn::new(ALU32_AND_K, R1, 0, 0, access));
        if rule.allow() {
            // Allow only if every requested access is allowed.
            block.push(Insn::new(JMP_JNE_X, R1, R3, TO_NEXT_BLOCK, 0));
        } else {
            // Deny if any requested access is denied.
            block.push(Insn::new(JMP_JEQ_K, R1, 0, TO_NEXT_BLOCK, 0));
        }
    }
    if let Some(major) = rule.major().filter(|&m| m >= 0) {
        block.push(Insn::new(
            JMP_JNE_K,
            R4,
            0,
            TO_NEXT_BLOCK,
            device_number(major)?,
        ));
    }
    if let Some(minor) = rule.minor().filter(|&m| m >= 0) {
        block.push(Insn::new(
            JMP_JNE_K,
            R5,
            0,
            TO_NEXT_BLOCK,
            device_number(minor)?,
        ));
    }
    block.push(Insn::new(ALU64_MOV_K, R0, 0, 0, i32::from(rule.allow())));
    block.push(Insn::new(JMP_EXIT, 0, 0, 0, 0));
    let len = block.len();
    for (i, insn) in block.iter_mut().enumerate() {
        if insn.off() == TO_NEXT_BLOCK {
            insn.set_off((len - i - 1) as i16);
        }
    }
    Ok(block)
}

fn device_number(n: i64) -> Result<i32, CgroupError> {
    i32::try_from(n).map_err(|_| CgroupError::InvalidResource {
        field: "devices.major/minor",
        value: n.to_string(),
        reason: "device numbers are below 2^31",
    })
}

/// Loads the program for `rules` and makes it the cgroup's only skiff device filter:
/// the new one is attached first, then the old ones are detached, so no moment allows more
/// than either the old or the new rules.
pub(crate) fn apply(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
    let insns = program(rules)?;
    let bpf_error = |op, source, log: String| CgroupError::Bpf {
        op,
        path: dir.to_owned(),
        source,
        log: if log.is_empty() {
            log
        } else {
            format!("\nverifier log:\n{log}")
        },
    };
    let prog = bpf::load_cgroup_device(&insns).map_err(|(e, log)| bpf_error("load", e, log))?;
    let cgroup: OwnedFd = std::fs::File::open(dir)
        .map_err(|source| CgroupError::OpenDir {
            path: dir.to_owned(),
            source,
        })?
        .into();
    let old = bpf::query_device_filters(cgroup.as_fd())
        .map_err(|e| bpf_error("list the attached programs of", e, String::new()))?;
    bpf::attach_device_filter(cgroup.as_fd(), prog.as_fd())
        .map_err(|e| bpf_error("attach", e, String::new()))?;
    for id in old {
        let old_prog = match bpf::prog_fd_by_id(id) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue, // already gone
            Err(e) => return Err(bpf_error("open an old program of", e, String::new())),
        };
        match bpf::detach_device_filter(cgroup.as_fd(), old_prog.as_fd()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(bpf_error("detach an old program of", e, String::new())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(json: &str) -> Vec<LinuxDeviceCgroup> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn program_checks_rules_last_first() {
        let insns = program(&rules(
            r#"[{"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}]"#,
        ))
        .unwrap();
        // prologue (6), null rule (type, 3 access, major, minor, verdict 2 = 8),
        // deny-all (verdict 2), and no default after that unconditional verdict
        assert_eq!(insns.len(), 6 + 8 + 2);
        // The null rule comes first; its type test skips the 7 instructions after it.
        assert_eq!(insns[6], Insn::new(JMP_JNE_K, R2, 0, 7, DEV_CHAR));
        assert_eq!(insns[12], Insn::new(ALU64_MOV_K, R0, 0, 0, 1));
        // Then "deny all": an unconditional "return 0".
        assert_eq!(insns[14], Insn::new(ALU64_MOV_K, R0, 0, 0, 0));
    }

    #[test]
    fn the_kernel_verifier_accepts_the_program() {
        // Loading needs no cgroup2 mount, so this runs on v1 hosts too.
        let deny_all = rules(r#"[{"allow": false, "access": "rwm"}]"#);
        let others = rules(
            r#"[{"allow": false, "type": "b", "major": 8, "access": "w"},
                {"allow": true, "type": "a", "access": "m"}]"#,
        );
        let without_deny_all = [crate::default_device_rules(), others.clone()].concat();
        let docker_like = [deny_all.clone(), crate::default_device_rules(), others].concat();
        let allow_all = rules(r#"[{"allow": true, "access": "rwm"}]"#);
        for set in [
            without_deny_all,
            docker_like,
            deny_all,
            allow_all,
            Vec::new(),
        ] {
            let insns = program(&set).unwrap();
            if let Err((e, log)) = bpf::load_cgroup_device(&insns) {
                panic!("load of {} rules failed: {e}\n{log}", set.len());
            }
        }
    }
}
