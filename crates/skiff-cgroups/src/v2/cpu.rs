//! v2 cpu: cpu.weight (from OCI shares), cpu.max (quota and period), cpu.max.burst,
//! cpu.idle; usage and throttling from cpu.stat.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::stats::{CpuStats, ThrottlingStats};
use crate::{fsutil, CgroupError};

pub(super) fn apply(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(shares) = c.shares().filter(|&s| s != 0) {
        fsutil::write(dir, "cpu.weight", &shares_to_weight(shares).to_string())?;
    }
    let quota = c.quota().filter(|&q| q != 0);
    let period = c.period().filter(|&p| p != 0);
    match (quota, period) {
        (Some(quota), Some(period)) => {
            fsutil::write(dir, "cpu.max", &format!("{} {period}", quota_value(quota)))?
        }
        // Writing the quota alone keeps the period.
        (Some(quota), None) => fsutil::write(dir, "cpu.max", &quota_value(quota))?,
        // The period alone cannot be written: keep the current quota with it.
        (None, Some(period)) => {
            let current = fsutil::read(dir, "cpu.max")?;
            let quota = current.split_whitespace().next().unwrap_or("max");
            fsutil::write(dir, "cpu.max", &format!("{quota} {period}"))?
        }
        (None, None) => {}
    }
    if let Some(burst) = c.burst() {
        fsutil::write(dir, "cpu.max.burst", &burst.to_string())?;
    }
    if let Some(idle) = c.idle() {
        fsutil::write(dir, "cpu.idle", &idle.to_string())?;
    }
    if c.realtime_runtime().is_some_and(|r| r != 0) || c.realtime_period().is_some_and(|p| p != 0) {
        return Err(CgroupError::Unsupported {
            field: "cpu.realtimeRuntime",
            hierarchy: "v2",
            reason: "the v2 cpu controller has no realtime budget; drop the setting",
        });
    }
    Ok(())
}

/// runc's conversion of v1 shares [2, 262144] to v2 weight [1, 10000].
pub(super) fn shares_to_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

/// A negative quota means unlimited.
fn quota_value(quota: i64) -> String {
    if quota < 0 {
        "max".to_owned()
    } else {
        quota.to_string()
    }
}

pub(super) fn stats(dir: &Path) -> Result<CpuStats, CgroupError> {
    let Some(text) = fsutil::read_optional(dir, "cpu.stat")? else {
        return Ok(CpuStats::default());
    };
    let us = |key| fsutil::keyed(&text, key).unwrap_or(0) * 1000;
    Ok(CpuStats {
        usage_total_ns: us("usage_usec"),
        usage_user_ns: us("user_usec"),
        usage_system_ns: us("system_usec"),
        per_cpu_ns: Vec::new(),
        throttling: ThrottlingStats {
            periods: fsutil::keyed(&text, "nr_periods").unwrap_or(0),
            throttled_periods: fsutil::keyed(&text, "nr_throttled").unwrap_or(0),
            throttled_time_ns: us("throttled_usec"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::shares_to_weight;

    #[test]
    fn shares_convert_like_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(1), 1);
    }
}
