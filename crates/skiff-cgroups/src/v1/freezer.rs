//! v1 freezer: FROZEN / THAWED through freezer.state, waiting until the kernel is done.

use std::path::Path;
use std::time::Duration;

use crate::{fsutil, CgroupError};

const STATE: &str = "freezer.state";

/// Writes FROZEN and waits for the state to leave FREEZING. Tasks that keep forking can hold
/// it in FREEZING; like runc we write FROZEN again, now and then thaw briefly, and give up
/// (thawed, with an error) after about two seconds rather than leave it half frozen.
pub(super) fn freeze(dir: &Path) -> Result<(), CgroupError> {
    let mut state = String::new();
    for attempt in 0..1000u32 {
        if attempt % 50 == 49 {
            fsutil::write(dir, STATE, "THAWED")?;
            std::thread::sleep(Duration::from_millis(10));
        }
        fsutil::write(dir, STATE, "FROZEN")?;
        state = fsutil::read(dir, STATE)?.trim().to_owned();
        if state == "FROZEN" {
            return Ok(());
        }
        if attempt > 10 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    fsutil::write(dir, STATE, "THAWED")?;
    Err(CgroupError::FreezeTimeout {
        path: dir.to_owned(),
        state,
    })
}

pub(super) fn thaw(dir: &Path) -> Result<(), CgroupError> {
    fsutil::write(dir, STATE, "THAWED")
}

pub(super) fn is_frozen(dir: &Path) -> Result<bool, CgroupError> {
    Ok(fsutil::read(dir, STATE)?.trim() == "FROZEN")
}
