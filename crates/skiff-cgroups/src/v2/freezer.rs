//! v2 freezer: cgroup.freeze, waiting for "frozen 1" in cgroup.events.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::{fsutil, CgroupError};

/// How long a freeze may take before we thaw again and report it.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) fn freeze(dir: &Path) -> Result<(), CgroupError> {
    fsutil::write(dir, "cgroup.freeze", "1")?;
    let start = Instant::now();
    let mut delay = Duration::from_micros(100);
    loop {
        if is_frozen(dir)? {
            return Ok(());
        }
        if start.elapsed() > FREEZE_TIMEOUT {
            let state = fsutil::read(dir, "cgroup.events")?.replace('\n', ", ");
            thaw(dir)?;
            return Err(CgroupError::FreezeTimeout {
                path: dir.to_owned(),
                state,
            });
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(10));
    }
}

pub(super) fn thaw(dir: &Path) -> Result<(), CgroupError> {
    fsutil::write(dir, "cgroup.freeze", "0")
}

pub(super) fn is_frozen(dir: &Path) -> Result<bool, CgroupError> {
    Ok(fsutil::keyed(&fsutil::read(dir, "cgroup.events")?, "frozen") == Some(1))
}
