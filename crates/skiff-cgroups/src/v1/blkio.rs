//! v1 blkio: weights (CFQ's blkio.weight or BFQ's blkio.bfq.weight, whichever the kernel has),
//! per-device weights and throttles; I/O stats from the throttle counters.

use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use crate::stats::{parse_dev, BlkioStats};
use crate::{fsutil, CgroupError};

pub(super) fn apply(dir: &Path, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    // Kernels since 5.0 have no CFQ; BFQ offers the same knob under another name (runc too
    // prefers the BFQ file when it exists).
    let bfq = dir.join("blkio.bfq.weight").exists();
    let (weight, weight_device) = if bfq {
        ("blkio.bfq.weight", "blkio.bfq.weight_device")
    } else {
        ("blkio.weight", "blkio.weight_device")
    };
    if let Some(w) = b.weight().filter(|&w| w != 0) {
        fsutil::write(dir, weight, &w.to_string())?;
    }
    if let Some(w) = b.leaf_weight().filter(|&w| w != 0) {
        write_leaf_weight(dir, "blkio.leaf_weight", &w.to_string())?;
    }
    for d in b.weight_device().iter().flatten() {
        let dev = fsutil::dev(d.major(), d.minor());
        if let Some(w) = d.weight().filter(|&w| w != 0) {
            fsutil::write(dir, weight_device, &format!("{dev} {w}"))?;
        }
        if let Some(w) = d.leaf_weight().filter(|&w| w != 0) {
            write_leaf_weight(dir, "blkio.leaf_weight_device", &format!("{dev} {w}"))?;
        }
    }
    throttle(
        dir,
        "blkio.throttle.read_bps_device",
        b.throttle_read_bps_device(),
    )?;
    throttle(
        dir,
        "blkio.throttle.write_bps_device",
        b.throttle_write_bps_device(),
    )?;
    throttle(
        dir,
        "blkio.throttle.read_iops_device",
        b.throttle_read_iops_device(),
    )?;
    throttle(
        dir,
        "blkio.throttle.write_iops_device",
        b.throttle_write_iops_device(),
    )?;
    Ok(())
}

/// Leaf weights existed only in CFQ: on newer kernels they cannot be applied.
fn write_leaf_weight(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    if dir.join(file).exists() {
        fsutil::write(dir, file, value)
    } else {
        tracing::warn!("{file} does not exist (no CFQ scheduler): blockIO leafWeight ignored");
        Ok(())
    }
}

/// One "major:minor rate" line per device; a rate of 0 removes the device's limit.
fn throttle(
    dir: &Path,
    file: &str,
    devices: &Option<Vec<LinuxThrottleDevice>>,
) -> Result<(), CgroupError> {
    for d in devices.iter().flatten() {
        let line = format!("{} {}", fsutil::dev(d.major(), d.minor()), d.rate());
        fsutil::write(dir, file, &line)?;
    }
    Ok(())
}

pub(super) fn stats(dir: &Path) -> Result<BlkioStats, CgroupError> {
    let mut stats = BlkioStats::default();
    // The throttle counters count every bio, whatever the scheduler (runc reads them too).
    let bytes = fsutil::read_optional(dir, "blkio.throttle.io_service_bytes_recursive")?;
    let ios = fsutil::read_optional(dir, "blkio.throttle.io_serviced_recursive")?;
    for (text, is_bytes) in [(bytes, true), (ios, false)] {
        for line in text.iter().flat_map(|t| t.lines()) {
            let mut f = line.split_whitespace();
            let (Some(dev), Some(op), Some(value)) = (f.next(), f.next(), f.next()) else {
                continue; // "Total N" lines
            };
            let (Some((major, minor)), Ok(value)) = (parse_dev(dev), value.parse::<u64>()) else {
                continue;
            };
            let entry = stats.device(major, minor);
            match (op, is_bytes) {
                ("Read", true) => entry.read_bytes = value,
                ("Write", true) => entry.write_bytes = value,
                ("Read", false) => entry.read_ios = value,
                ("Write", false) => entry.write_ios = value,
                _ => {}
            }
        }
    }
    stats.sum_devices();
    Ok(stats)
}
