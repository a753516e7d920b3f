//! v1 cpuacct: CPU usage (total, user, system, per CPU). No settings.

use std::path::Path;

use crate::stats::CpuStats;
use crate::{fsutil, CgroupError};

/// cpuacct.stat counts in USER_HZ ticks, which Linux fixes at 100 per second.
const NS_PER_TICK: u64 = 1_000_000_000 / 100;

pub(super) fn stats(dir: &Path, cpu: &mut CpuStats) -> Result<(), CgroupError> {
    cpu.usage_total_ns = fsutil::read_u64(dir, "cpuacct.usage")?;
    // cpuacct.usage_user/_sys (ns) exist since 4.7; older kernels only have ticks.
    match fsutil::read_optional(dir, "cpuacct.usage_user")? {
        Some(user) => {
            cpu.usage_user_ns = fsutil::parse_u64(dir, "cpuacct.usage_user", &user)?;
            cpu.usage_system_ns = fsutil::read_u64(dir, "cpuacct.usage_sys")?;
        }
        None => {
            let stat = fsutil::read(dir, "cpuacct.stat")?;
            cpu.usage_user_ns = fsutil::keyed(&stat, "user").unwrap_or(0) * NS_PER_TICK;
            cpu.usage_system_ns = fsutil::keyed(&stat, "system").unwrap_or(0) * NS_PER_TICK;
        }
    }
    if let Some(per_cpu) = fsutil::read_optional(dir, "cpuacct.usage_percpu")? {
        cpu.per_cpu_ns = per_cpu
            .split_whitespace()
            .map(|n| fsutil::parse_u64(dir, "cpuacct.usage_percpu", n))
            .collect::<Result<_, _>>()?;
    }
    Ok(())
}
