//! v1 cpu: shares, CFS quota/period/burst, idle, realtime runtime/period; throttling stats.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::stats::ThrottlingStats;
use crate::{fsutil, CgroupError};

/// Whether any setting of the cpu controller (not cpuset) is given.
pub(super) fn is_set(c: &LinuxCpu) -> bool {
    c.shares().is_some()
        || c.quota().is_some()
        || c.period().is_some()
        || c.burst().is_some()
        || c.idle().is_some()
        || c.realtime_runtime().is_some()
        || c.realtime_period().is_some()
}

pub(super) fn apply(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(shares) = c.shares().filter(|&s| s != 0) {
        fsutil::write(dir, "cpu.shares", &shares.to_string())?;
    }
    let period = c.period().filter(|&p| p != 0);
    let quota = c.quota().filter(|&q| q != 0);
    match (period, quota) {
        (Some(period), Some(quota)) => {
            // A new period can be invalid with the old quota (and the other way round);
            // runc's answer: try period first, and on EINVAL write quota first.
            let (period, quota) = (period.to_string(), quota.to_string());
            if let Err(e) = fsutil::write(dir, "cpu.cfs_period_us", &period) {
                if !is_einval(&e) {
                    return Err(e);
                }
                fsutil::write(dir, "cpu.cfs_quota_us", &quota)?;
                fsutil::write(dir, "cpu.cfs_period_us", &period)?;
            } else {
                fsutil::write(dir, "cpu.cfs_quota_us", &quota)?;
            }
        }
        (Some(period), None) => fsutil::write(dir, "cpu.cfs_period_us", &period.to_string())?,
        (None, Some(quota)) => fsutil::write(dir, "cpu.cfs_quota_us", &quota.to_string())?,
        (None, None) => {}
    }
    if let Some(burst) = c.burst() {
        fsutil::write(dir, "cpu.cfs_burst_us", &burst.to_string())?;
    }
    if let Some(idle) = c.idle() {
        fsutil::write(dir, "cpu.idle", &idle.to_string())?;
    }
    // The runtime must fit in the period, so the period goes first.
    if let Some(period) = c.realtime_period().filter(|&p| p != 0) {
        fsutil::write(dir, "cpu.rt_period_us", &period.to_string())?;
    }
    if let Some(runtime) = c.realtime_runtime().filter(|&r| r != 0) {
        fsutil::write(dir, "cpu.rt_runtime_us", &runtime.to_string())?;
    }
    Ok(())
}

fn is_einval(e: &CgroupError) -> bool {
    matches!(e, CgroupError::Write { source, .. } if source.raw_os_error() == Some(libc::EINVAL))
}

pub(super) fn throttling(dir: &Path) -> Result<ThrottlingStats, CgroupError> {
    let Some(text) = fsutil::read_optional(dir, "cpu.stat")? else {
        return Ok(ThrottlingStats::default());
    };
    Ok(ThrottlingStats {
        periods: fsutil::keyed(&text, "nr_periods").unwrap_or(0),
        throttled_periods: fsutil::keyed(&text, "nr_throttled").unwrap_or(0),
        throttled_time_ns: fsutil::keyed(&text, "throttled_time").unwrap_or(0),
    })
}
