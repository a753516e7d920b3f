//! Usage and limits of a cgroup, the same shape on v1 and v2. The runtime maps it to runc's
//! `events --stats` JSON. Fields a hierarchy does not report stay 0 (or empty).

use std::collections::BTreeMap;

/// Everything [`crate::Manager::stats`] reports.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Stats {
    pub memory: MemoryStats,
    pub cpu: CpuStats,
    pub pids: PidsStats,
    pub blkio: BlkioStats,
    pub hugetlb: Vec<HugetlbStats>,
}

/// Memory, in bytes. A limit of `u64::MAX` means unlimited.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct MemoryStats {
    /// Current usage (v1 memory.usage_in_bytes, v2 memory.current).
    pub usage: u64,
    /// Peak usage (v1 memory.max_usage_in_bytes, v2 memory.peak where the kernel has it).
    pub max_usage: u64,
    /// The hard limit (v1 memory.limit_in_bytes, v2 memory.max).
    pub limit: u64,
    /// Swap in use (v1 memsw usage minus memory usage, v2 memory.swap.current).
    pub swap_usage: u64,
    /// The swap limit (v1 memory+swap total memsw, v2 memory.swap.max).
    pub swap_limit: u64,
    /// Page cache (v1 "cache", v2 "file" of memory.stat).
    pub cache: u64,
    /// Anonymous memory (v1 "rss", v2 "anon" of memory.stat).
    pub rss: u64,
    /// Tasks killed by the OOM killer in this cgroup.
    pub oom_kill: u64,
    /// How often the limit was hit (v1 memory.failcnt, v2 "max" of memory.events).
    pub failcnt: u64,
    /// memory.stat as the kernel prints it (docker computes its usage from it).
    pub stat: BTreeMap<String, u64>,
}

/// CPU time in nanoseconds.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct CpuStats {
    pub usage_total_ns: u64,
    pub usage_user_ns: u64,
    pub usage_system_ns: u64,
    /// Per-CPU usage (v1 only; v2 does not report it).
    pub per_cpu_ns: Vec<u64>,
    pub throttling: ThrottlingStats,
}

/// CFS bandwidth throttling.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ThrottlingStats {
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_time_ns: u64,
}

/// Tasks.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct PidsStats {
    pub current: u64,
    /// The limit; 0 means no limit ("max").
    pub limit: u64,
}

/// Block I/O, summed over devices, and per device.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct BlkioStats {
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_ios: u64,
    pub write_ios: u64,
    pub devices: Vec<BlkioDeviceStats>,
}

/// Block I/O of one device.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BlkioDeviceStats {
    pub major: u64,
    pub minor: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_ios: u64,
    pub write_ios: u64,
}

/// Huge pages of one size.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct HugetlbStats {
    /// As in the OCI spec: "2MB", "1GB".
    pub page_size: String,
    pub usage: u64,
    pub max_usage: u64,
    pub limit: u64,
    pub failcnt: u64,
}

impl BlkioStats {
    /// Sums the per-device entries into the totals.
    pub(crate) fn sum_devices(&mut self) {
        for d in &self.devices {
            self.read_bytes += d.read_bytes;
            self.write_bytes += d.write_bytes;
            self.read_ios += d.read_ios;
            self.write_ios += d.write_ios;
        }
    }

    /// The entry for `major:minor`, added if new.
    pub(crate) fn device(&mut self, major: u64, minor: u64) -> &mut BlkioDeviceStats {
        let i = match self
            .devices
            .iter()
            .position(|d| d.major == major && d.minor == minor)
        {
            Some(i) => i,
            None => {
                self.devices.push(BlkioDeviceStats {
                    major,
                    minor,
                    ..Default::default()
                });
                self.devices.len() - 1
            }
        };
        &mut self.devices[i]
    }
}

/// Parses "major:minor" of a blkio/io line.
pub(crate) fn parse_dev(s: &str) -> Option<(u64, u64)> {
    let (major, minor) = s.split_once(':')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Parses a flat-keyed file (memory.stat) into a map.
pub(crate) fn parse_flat(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let (k, v) = line.split_once(' ')?;
            Some((k.to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

/// The huge page sizes this kernel supports, as OCI names them ("2MB", "1GB").
pub(crate) fn hugepage_sizes() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/sys/kernel/mm/hugepages") else {
        return Vec::new();
    };
    let mut sizes: Vec<(u64, String)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let kb: u64 = name
                .strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()?;
            Some((kb, hugepage_name(kb)))
        })
        .collect();
    sizes.sort();
    sizes.into_iter().map(|(_, name)| name).collect()
}

/// 2048 (kB) => "2MB", 1048576 => "1GB", 64 => "64KB" (the kernel's cgroup file names).
fn hugepage_name(kb: u64) -> String {
    if kb >= 1 << 20 && kb % (1 << 20) == 0 {
        format!("{}GB", kb >> 20)
    } else if kb >= 1 << 10 && kb % (1 << 10) == 0 {
        format!("{}MB", kb >> 10)
    } else {
        format!("{kb}KB")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hugepage_names_match_kernel_file_names() {
        assert_eq!(hugepage_name(2048), "2MB");
        assert_eq!(hugepage_name(1 << 20), "1GB");
        assert_eq!(hugepage_name(64), "64KB");
    }

    #[test]
    fn flat_files_and_devices_parse() {
        let m = parse_flat("cache 10\nrss 20\nbogus x\n");
        assert_eq!(m.get("cache"), Some(&10));
        assert_eq!(m.get("rss"), Some(&20));
        assert_eq!(m.len(), 2);
        assert_eq!(parse_dev("254:0"), Some((254, 0)));
        assert_eq!(parse_dev("Total"), None);
        let mut b = BlkioStats::default();
        b.device(8, 0).read_bytes = 5;
        b.device(8, 0).write_bytes = 7;
        b.device(8, 16).read_bytes = 1;
        b.sum_devices();
        assert_eq!((b.read_bytes, b.write_bytes, b.devices.len()), (6, 7, 2));
    }
}
