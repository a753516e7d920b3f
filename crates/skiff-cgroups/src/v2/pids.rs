//! v2 pids: pids.max. The files are the same as v1's, so the formatting and the stats are
//! shared with `crate::v1::pids`.

use std::path::Path;

use oci_spec::runtime::LinuxPids;

use crate::stats::PidsStats;
use crate::{fsutil, CgroupError};

pub(super) fn apply(dir: &Path, p: &LinuxPids) -> Result<(), CgroupError> {
    fsutil::write(dir, "pids.max", &crate::v1::pids::limit_value(p.limit()))
}

pub(super) fn stats(dir: &Path) -> Result<PidsStats, CgroupError> {
    crate::v1::pids::stats(dir)
}
