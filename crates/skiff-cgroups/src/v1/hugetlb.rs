//! hugetlb limits for the v1 manager. The controller is either a v1 hierarchy
//! (hugetlb.<size>.limit_in_bytes) or, on hybrid hosts, the cgroup2 tree (hugetlb.<size>.max).

use std::path::Path;

use oci_spec::runtime::LinuxHugepageLimit;

use crate::stats::HugetlbStats;
use crate::{fsutil, CgroupError};

pub(super) fn apply(
    dir: &Path,
    unified: bool,
    limits: &[LinuxHugepageLimit],
) -> Result<(), CgroupError> {
    if unified {
        return crate::v2::hugetlb::apply(dir, limits);
    }
    for l in limits {
        let file = format!("hugetlb.{}.limit_in_bytes", l.page_size());
        crate::v2::hugetlb::write_limit(dir, &file, l, &l.limit().to_string())?;
    }
    Ok(())
}

pub(super) fn stats(dir: &Path, unified: bool) -> Result<Vec<HugetlbStats>, CgroupError> {
    if unified {
        return crate::v2::hugetlb::stats(dir);
    }
    crate::stats::hugepage_sizes()
        .into_iter()
        .map(|size| {
            let file = |what: &str| format!("hugetlb.{size}.{what}");
            Ok(HugetlbStats {
                usage: fsutil::read_u64(dir, &file("usage_in_bytes"))?,
                max_usage: fsutil::read_u64(dir, &file("max_usage_in_bytes"))?,
                limit: fsutil::read_u64(dir, &file("limit_in_bytes"))?,
                failcnt: fsutil::read_u64(dir, &file("failcnt"))?,
                page_size: size,
            })
        })
        .collect()
}
