//! v2 io: io.weight (or BFQ's io.bfq.weight), per-device weights, io.max throttles;
//! bytes and operations from io.stat.

use std::path::Path;

use oci_spec::runtime::LinuxBlockIo;

use crate::stats::{parse_dev, BlkioStats};
use crate::{fsutil, CgroupError};

pub(super) fn apply(dir: &Path, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    // BFQ takes the v1 range (1..1000) as is; io.weight (iocost) wants 1..10000.
    let bfq = dir.join("io.bfq.weight").exists();
    let (file, convert): (&str, fn(u16) -> u64) = if bfq {
        ("io.bfq.weight", u64::from)
    } else {
        ("io.weight", blkio_weight_to_io_weight)
    };
    if let Some(w) = b.weight().filter(|&w| w != 0) {
        fsutil::write(dir, file, &format!("default {}", convert(w)))?;
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(w) = d.weight().filter(|&w| w != 0) {
            let line = format!("{} {}", fsutil::dev(d.major(), d.minor()), convert(w));
            fsutil::write(dir, file, &line)?;
        }
    }
    if b.leaf_weight().is_some()
        || b.weight_device()
            .iter()
            .flatten()
            .any(|d| d.leaf_weight().is_some())
    {
        tracing::warn!("blockIO leafWeight does not exist on cgroup v2; ignored");
    }
    let throttles = [
        ("rbps", b.throttle_read_bps_device()),
        ("wbps", b.throttle_write_bps_device()),
        ("riops", b.throttle_read_iops_device()),
        ("wiops", b.throttle_write_iops_device()),
    ];
    for (key, devices) in throttles {
        for d in devices.iter().flatten() {
            let rate = if d.rate() == 0 {
                "max".to_owned()
            } else {
                d.rate().to_string()
            };
            let line = format!("{} {key}={rate}", fsutil::dev(d.major(), d.minor()));
            fsutil::write(dir, "io.max", &line)?;
        }
    }
    Ok(())
}

/// runc's conversion of blkio weight [10, 1000] to io.weight [1, 10000].
fn blkio_weight_to_io_weight(w: u16) -> u64 {
    let w = u64::from(w.clamp(10, 1000));
    1 + (w - 10) * 9999 / 990
}

pub(super) fn stats(dir: &Path) -> Result<BlkioStats, CgroupError> {
    let mut stats = BlkioStats::default();
    let Some(text) = fsutil::read_optional(dir, "io.stat")? else {
        return Ok(stats);
    };
    // "8:0 rbytes=90112 wbytes=0 rios=3 wios=0 dbytes=0 dios=0"
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some((major, minor)) = fields.next().and_then(parse_dev) else {
            continue;
        };
        let entry = stats.device(major, minor);
        for field in fields {
            let Some((key, value)) = field.split_once('=') else {
                continue;
            };
            let value = value.parse().unwrap_or(0);
            match key {
                "rbytes" => entry.read_bytes = value,
                "wbytes" => entry.write_bytes = value,
                "rios" => entry.read_ios = value,
                "wios" => entry.write_ios = value,
                _ => {}
            }
        }
    }
    stats.sum_devices();
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::blkio_weight_to_io_weight;

    #[test]
    fn weights_convert_like_runc() {
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(500), 4950);
        assert_eq!(blkio_weight_to_io_weight(1000), 10_000);
    }
}
