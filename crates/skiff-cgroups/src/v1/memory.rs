//! v1 memory: limit, soft limit (reservation), memory+swap, swappiness, OOM killer switch.

use std::path::Path;

use oci_spec::runtime::LinuxMemory;

use crate::stats::{parse_flat, MemoryStats};
use crate::{fsutil, CgroupError};

const LIMIT: &str = "memory.limit_in_bytes";
const MEMSW_LIMIT: &str = "memory.memsw.limit_in_bytes";

/// v1 reports "no limit" as the largest page-aligned counter; anything this large is unlimited.
const UNLIMITED_FROM: u64 = 1 << 62;

pub(super) fn apply(dir: &Path, m: &LinuxMemory) -> Result<(), CgroupError> {
    // As in runc, 0 means "not set" for the byte limits.
    let limit = m.limit().filter(|&v| v != 0);
    let mut swap = m.swap().filter(|&v| v != 0);
    if limit == Some(-1) && swap.is_none() {
        // "memory unlimited" must lift memory+swap too, or the kernel refuses memory > memsw.
        swap = Some(-1);
    }
    if swap.is_some() && !dir.join(MEMSW_LIMIT).exists() {
        tracing::warn!(
            "kernel without swap accounting (no {MEMSW_LIMIT}): linux.resources.memory.swap ignored"
        );
        swap = None;
    }
    match (limit, swap) {
        (Some(limit), Some(swap)) => {
            if swap != -1 && swap < limit && limit != -1 {
                return Err(CgroupError::InvalidResource {
                    field: "memory.swap",
                    value: swap.to_string(),
                    reason: "memory+swap must be at least memory.limit",
                });
            }
            // The kernel keeps memory <= memory+swap at every step: raise memsw first when
            // growing, lower memory first when shrinking.
            let current = fsutil::parse_u64(dir, LIMIT, &fsutil::read(dir, LIMIT)?)?;
            if swap == -1 || current < swap as u64 {
                fsutil::write(dir, MEMSW_LIMIT, &swap.to_string())?;
                fsutil::write(dir, LIMIT, &limit.to_string())?;
            } else {
                fsutil::write(dir, LIMIT, &limit.to_string())?;
                fsutil::write(dir, MEMSW_LIMIT, &swap.to_string())?;
            }
        }
        (Some(limit), None) => fsutil::write(dir, LIMIT, &limit.to_string())?,
        (None, Some(swap)) => fsutil::write(dir, MEMSW_LIMIT, &swap.to_string())?,
        (None, None) => {}
    }
    if let Some(reservation) = m.reservation().filter(|&v| v != 0) {
        fsutil::write(dir, "memory.soft_limit_in_bytes", &reservation.to_string())?;
    }
    #[allow(deprecated)]
    if m.kernel().is_some() || m.kernel_tcp().is_some() {
        tracing::debug!("memory.kernel and memory.kernelTCP are obsolete (kernel 5.4+); ignored");
    }
    if let Some(swappiness) = m.swappiness() {
        if swappiness > 100 {
            return Err(CgroupError::InvalidResource {
                field: "memory.swappiness",
                value: swappiness.to_string(),
                reason: "must be between 0 and 100",
            });
        }
        fsutil::write(dir, "memory.swappiness", &swappiness.to_string())?;
    }
    // Like runc, only "disable" is written: every container starts with the killer enabled,
    // and docker sends `false` on every create, which would cost a write for nothing.
    if m.disable_oom_killer() == Some(true) {
        fsutil::write(dir, "memory.oom_control", "1")?;
    }
    Ok(())
}

pub(super) fn oom_kill_count(dir: &Path) -> Result<u64, CgroupError> {
    Ok(fsutil::keyed(&fsutil::read(dir, "memory.oom_control")?, "oom_kill").unwrap_or(0))
}

pub(super) fn stats(dir: &Path) -> Result<MemoryStats, CgroupError> {
    let unlimited = |v: u64| if v >= UNLIMITED_FROM { u64::MAX } else { v };
    let stat = parse_flat(&fsutil::read(dir, "memory.stat")?);
    let usage = fsutil::read_u64(dir, "memory.usage_in_bytes")?;
    let memsw_usage = fsutil::read_u64(dir, "memory.memsw.usage_in_bytes")?;
    Ok(MemoryStats {
        usage,
        max_usage: fsutil::read_u64(dir, "memory.max_usage_in_bytes")?,
        limit: unlimited(fsutil::read_u64(dir, LIMIT)?),
        swap_usage: memsw_usage.saturating_sub(usage),
        swap_limit: unlimited(fsutil::read_u64(dir, MEMSW_LIMIT)?),
        cache: stat.get("cache").copied().unwrap_or(0),
        rss: stat.get("rss").copied().unwrap_or(0),
        oom_kill: oom_kill_count(dir)?,
        failcnt: fsutil::read_u64(dir, "memory.failcnt")?,
        stat,
    })
}
