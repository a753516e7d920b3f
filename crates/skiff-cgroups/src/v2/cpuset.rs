//! v2 cpuset: cpuset.cpus and cpuset.mems (no copying from parents as v1 needs).

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::{fsutil, CgroupError};

pub(super) fn apply(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        fsutil::write(dir, "cpuset.cpus", cpus)?;
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        fsutil::write(dir, "cpuset.mems", mems)?;
    }
    Ok(())
}
