//! v2 memory: memory.max, memory.low, memory.swap.max; stats and OOM kills from
//! memory.current/peak/stat/events.

use std::path::Path;

use oci_spec::runtime::LinuxMemory;

use crate::stats::{parse_flat, MemoryStats};
use crate::{fsutil, CgroupError};

pub(super) fn apply(dir: &Path, m: &LinuxMemory) -> Result<(), CgroupError> {
    // As in runc, 0 means "not set".
    let limit = m.limit().filter(|&v| v != 0);
    let swap = swap_max(limit, m.swap().filter(|&v| v != 0))?;
    if let Some(swap) = swap {
        if dir.join("memory.swap.max").exists() {
            fsutil::write(dir, "memory.swap.max", &max_or(swap))?;
        } else {
            tracing::warn!("kernel without swap accounting: linux.resources.memory.swap ignored");
        }
    }
    if let Some(limit) = limit {
        fsutil::write(dir, "memory.max", &max_or(limit))?;
    }
    if let Some(reservation) = m.reservation().filter(|&v| v != 0) {
        fsutil::write(dir, "memory.low", &max_or(reservation))?;
    }
    if m.swappiness().is_some() {
        tracing::warn!("memory.swappiness does not exist on cgroup v2; ignored");
    }
    if m.disable_oom_killer() == Some(true) {
        tracing::warn!("disableOOMKiller has no cgroup v2 equivalent; ignored");
    }
    #[allow(deprecated)]
    if m.kernel().is_some() || m.kernel_tcp().is_some() {
        tracing::debug!("memory.kernel and memory.kernelTCP are obsolete; ignored");
    }
    Ok(())
}

/// OCI's swap is memory+swap (v1 semantics); v2's memory.swap.max is swap alone.
/// Same conversion as runc: -1 stays unlimited, else swap - limit.
fn swap_max(limit: Option<i64>, swap: Option<i64>) -> Result<Option<i64>, CgroupError> {
    let invalid = |reason| CgroupError::InvalidResource {
        field: "memory.swap",
        value: swap.unwrap_or(0).to_string(),
        reason,
    };
    match (limit, swap) {
        // "memory unlimited" without a swap value lifts swap too, as on v1.
        (Some(-1), None) => Ok(Some(-1)),
        (_, None) => Ok(None),
        (_, Some(-1)) => Ok(Some(-1)),
        (None | Some(-1), Some(_)) => Err(invalid("a swap limit needs a memory limit")),
        (Some(limit), Some(swap)) if swap < limit => {
            Err(invalid("memory+swap must be at least memory.limit"))
        }
        (Some(limit), Some(swap)) => Ok(Some(swap - limit)),
    }
}

/// -1 => "max", as cgroup v2 spells unlimited.
pub(super) fn max_or(v: i64) -> String {
    if v < 0 {
        "max".to_owned()
    } else {
        v.to_string()
    }
}

pub(super) fn oom_kill_count(dir: &Path) -> Result<u64, CgroupError> {
    Ok(fsutil::keyed(&fsutil::read(dir, "memory.events")?, "oom_kill").unwrap_or(0))
}

pub(super) fn stats(dir: &Path) -> Result<MemoryStats, CgroupError> {
    let Some(stat) = fsutil::read_optional(dir, "memory.stat")? else {
        return Ok(MemoryStats::default()); // the memory controller is not enabled here
    };
    let stat = parse_flat(&stat);
    let events = fsutil::read(dir, "memory.events")?;
    Ok(MemoryStats {
        usage: fsutil::read_u64(dir, "memory.current")?,
        // memory.peak exists since 5.19; older kernels leave it 0.
        max_usage: fsutil::read_u64(dir, "memory.peak")?,
        limit: fsutil::read_u64(dir, "memory.max")?,
        swap_usage: fsutil::read_u64(dir, "memory.swap.current")?,
        swap_limit: fsutil::read_u64(dir, "memory.swap.max")?,
        cache: stat.get("file").copied().unwrap_or(0),
        rss: stat.get("anon").copied().unwrap_or(0),
        oom_kill: fsutil::keyed(&events, "oom_kill").unwrap_or(0),
        failcnt: fsutil::keyed(&events, "max").unwrap_or(0),
        stat,
    })
}

#[cfg(test)]
mod tests {
    use super::swap_max;

    #[test]
    fn oci_swap_converts_like_runc() {
        assert_eq!(swap_max(Some(100), Some(300)).unwrap(), Some(200));
        assert_eq!(swap_max(Some(100), Some(100)).unwrap(), Some(0));
        assert_eq!(swap_max(Some(100), Some(-1)).unwrap(), Some(-1));
        assert_eq!(swap_max(Some(-1), None).unwrap(), Some(-1));
        assert_eq!(swap_max(Some(100), None).unwrap(), None);
        assert!(swap_max(Some(100), Some(50)).is_err());
        assert!(swap_max(None, Some(50)).is_err());
    }
}
