//! v1 pids: the task limit.

use std::path::Path;

use oci_spec::runtime::LinuxPids;

use crate::stats::PidsStats;
use crate::{fsutil, CgroupError};

pub(super) fn apply(dir: &Path, p: &LinuxPids) -> Result<(), CgroupError> {
    fsutil::write(dir, "pids.max", &limit_value(p.limit()))
}

/// OCI: a limit of 0 or below means unlimited.
pub(crate) fn limit_value(limit: i64) -> String {
    if limit > 0 {
        limit.to_string()
    } else {
        "max".to_owned()
    }
}

/// pids.current and pids.max ("max" reads as 0: no limit). Same files on v1 and v2.
pub(crate) fn stats(dir: &Path) -> Result<PidsStats, CgroupError> {
    let limit = fsutil::read_u64(dir, "pids.max")?;
    Ok(PidsStats {
        current: fsutil::read_u64(dir, "pids.current")?,
        limit: if limit == u64::MAX { 0 } else { limit },
    })
}
