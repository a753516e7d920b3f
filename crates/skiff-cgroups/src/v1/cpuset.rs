//! v1 cpuset: cpus and mems. A new v1 cpuset starts with empty cpus/mems and refuses tasks
//! until they are set, so creating a cgroup copies them down from the parent at every level.

use std::fs;
use std::io;
use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::{fsutil, CgroupError};

const CPUS: &str = "cpuset.cpus";
const MEMS: &str = "cpuset.mems";

/// Creates `dir` (= hierarchy mount + `relative`) and its missing parents, each with its
/// parent's cpus and mems.
pub(super) fn create(dir: &Path, relative: &Path) -> Result<(), CgroupError> {
    if dir.is_dir() && !is_empty(dir, CPUS)? && !is_empty(dir, MEMS)? {
        return Ok(()); // the common case on update: nothing to do
    }
    let Some(mount) = dir.ancestors().nth(relative.components().count()) else {
        return Ok(()); // cannot happen: `dir` is built as mount + relative
    };
    let mut current = mount.to_path_buf();
    for component in relative.components() {
        let parent = current.clone();
        current.push(component);
        match fs::create_dir(&current) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(source) => {
                return Err(CgroupError::CreateDir {
                    path: current,
                    source,
                })
            }
        }
        for file in [CPUS, MEMS] {
            if is_empty(&current, file)? {
                fsutil::write(&current, file, fsutil::read(&parent, file)?.trim())?;
            }
        }
    }
    Ok(())
}

fn is_empty(dir: &Path, file: &str) -> Result<bool, CgroupError> {
    Ok(fsutil::read(dir, file)?.trim().is_empty())
}

pub(super) fn apply(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        fsutil::write(dir, CPUS, cpus)?;
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        fsutil::write(dir, MEMS, mems)?;
    }
    Ok(())
}
