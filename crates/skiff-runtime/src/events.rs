//! `events`: cgroup statistics in runc's JSON shape (`{"type":"stats","id":…,"data":…}`,
//! runc's types/events.go), and OOM notifications (`{"type":"oom","id":…}`).

use serde_json::{json, Map, Value};

use crate::cgroups::Stats;

/// v1 reports "no limit" as the page-aligned maximum; runc prints it as is.
const V1_UNLIMITED: u64 = 9_223_372_036_854_771_712;

fn limit(v: u64) -> u64 {
    if v == u64::MAX {
        V1_UNLIMITED
    } else {
        v
    }
}

/// An event line, fields in runc's order (`type`, `id`, `data`): tools match on the prefix.
#[derive(serde::Serialize)]
struct Event<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Value>,
}

/// One `stats` event line for container `id`.
pub fn stats_event(id: &str, stats: &Stats) -> String {
    let event = Event {
        kind: "stats",
        id,
        data: Some(stats_data(stats)),
    };
    serde_json::to_string(&event).expect("event serializes")
}

/// One `oom` event line for container `id`.
pub fn oom_event(id: &str) -> String {
    let event = Event {
        kind: "oom",
        id,
        data: None,
    };
    serde_json::to_string(&event).expect("event serializes")
}

/// The `data` object of a stats event; zero values are omitted where runc omits them.
pub fn stats_data(s: &Stats) -> Value {
    let mut usage = Map::new();
    put_nonzero(&mut usage, "total", s.cpu.usage_total_ns);
    if !s.cpu.per_cpu_ns.is_empty() {
        usage.insert("percpu".into(), json!(s.cpu.per_cpu_ns));
    }
    usage.insert("kernel".into(), json!(s.cpu.usage_system_ns));
    usage.insert("user".into(), json!(s.cpu.usage_user_ns));
    let mut throttling = Map::new();
    put_nonzero(&mut throttling, "periods", s.cpu.throttling.periods);
    put_nonzero(
        &mut throttling,
        "throttledPeriods",
        s.cpu.throttling.throttled_periods,
    );
    put_nonzero(
        &mut throttling,
        "throttledTime",
        s.cpu.throttling.throttled_time_ns,
    );

    let m = &s.memory;
    let mut memory = Map::new();
    put_nonzero(&mut memory, "cache", m.cache);
    memory.insert(
        "usage".into(),
        entry(m.limit, m.usage, m.max_usage, m.failcnt),
    );
    memory.insert(
        "swap".into(),
        entry(m.swap_limit, m.swap_usage + m.usage, 0, 0),
    );
    if !m.stat.is_empty() {
        memory.insert("raw".into(), json!(m.stat));
    }

    let mut pids = Map::new();
    put_nonzero(&mut pids, "current", s.pids.current);
    put_nonzero(&mut pids, "limit", s.pids.limit);

    let mut blkio = Map::new();
    let per_device = |read: fn(&skiff_cgroups::BlkioDeviceStats) -> u64,
                      write: fn(&skiff_cgroups::BlkioDeviceStats) -> u64| {
        let mut out = Vec::new();
        for d in &s.blkio.devices {
            for (op, value) in [("Read", read(d)), ("Write", write(d))] {
                out.push(json!({"major": d.major, "minor": d.minor, "op": op, "value": value}));
            }
            out.push(json!({"major": d.major, "minor": d.minor, "op": "Total", "value": read(d) + write(d)}));
        }
        out
    };
    if !s.blkio.devices.is_empty() {
        blkio.insert(
            "ioServiceBytesRecursive".into(),
            json!(per_device(|d| d.read_bytes, |d| d.write_bytes)),
        );
        blkio.insert(
            "ioServicedRecursive".into(),
            json!(per_device(|d| d.read_ios, |d| d.write_ios)),
        );
    }

    let mut hugetlb = Map::new();
    for h in &s.hugetlb {
        let mut e = Map::new();
        put_nonzero(&mut e, "usage", h.usage);
        put_nonzero(&mut e, "max", h.max_usage);
        e.insert("failcnt".into(), json!(h.failcnt));
        hugetlb.insert(h.page_size.clone(), Value::Object(e));
    }

    json!({
        "cpu": { "usage": usage, "throttling": throttling },
        "memory": memory,
        "pids": pids,
        "blkio": blkio,
        "hugetlb": hugetlb,
        "intel_rdt": {},
        "network_interfaces": null,
    })
}

fn entry(lim: u64, usage: u64, max: u64, failcnt: u64) -> Value {
    let mut e = Map::new();
    e.insert("limit".into(), json!(limit(lim)));
    put_nonzero(&mut e, "usage", usage);
    put_nonzero(&mut e, "max", max);
    e.insert("failcnt".into(), json!(failcnt));
    Value::Object(e)
}

fn put_nonzero(map: &mut Map<String, Value>, key: &str, value: u64) {
    if value != 0 {
        map.insert(key.into(), json!(value));
    }
}
