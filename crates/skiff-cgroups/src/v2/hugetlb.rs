//! cgroup2 hugetlb: hugetlb.<size>.max; stats from .current and .events. Used by the v2
//! manager and by the v1 manager on hybrid hosts that bind hugetlb to the cgroup2 tree.

use std::io;
use std::path::Path;

use oci_spec::runtime::LinuxHugepageLimit;

use crate::stats::{hugepage_sizes, HugetlbStats};
use crate::{fsutil, CgroupError};

pub(crate) fn apply(dir: &Path, limits: &[LinuxHugepageLimit]) -> Result<(), CgroupError> {
    for l in limits {
        let file = format!("hugetlb.{}.max", l.page_size());
        let value = if l.limit() < 0 {
            "max".to_owned()
        } else {
            l.limit().to_string()
        };
        write_limit(dir, &file, l, &value)?;
    }
    Ok(())
}

/// Writes a hugetlb limit; a missing file means this kernel has no such page size.
pub(crate) fn write_limit(
    dir: &Path,
    file: &str,
    l: &LinuxHugepageLimit,
    value: &str,
) -> Result<(), CgroupError> {
    fsutil::write(dir, file, value).map_err(|e| match e {
        CgroupError::Write { source, .. } if source.kind() == io::ErrorKind::NotFound => {
            CgroupError::InvalidResource {
                field: "hugepageLimits.pageSize",
                value: format!(
                    "{} (supported: {})",
                    l.page_size(),
                    hugepage_sizes().join(", ")
                ),
                reason: "this kernel has no huge pages of that size",
            }
        }
        other => other,
    })
}

pub(crate) fn stats(dir: &Path) -> Result<Vec<HugetlbStats>, CgroupError> {
    let mut all = Vec::new();
    for size in hugepage_sizes() {
        let file = |what: &str| format!("hugetlb.{size}.{what}");
        let Some(current) = fsutil::read_optional(dir, &file("current"))? else {
            continue; // the controller is not enabled here
        };
        let events = fsutil::read_optional(dir, &file("events"))?.unwrap_or_default();
        all.push(HugetlbStats {
            usage: fsutil::parse_u64(dir, &file("current"), &current)?,
            max_usage: 0, // v2 keeps no peak for hugetlb
            limit: fsutil::read_u64(dir, &file("max"))?,
            failcnt: fsutil::keyed(&events, "max").unwrap_or(0),
            page_size: size,
        });
    }
    Ok(all)
}
