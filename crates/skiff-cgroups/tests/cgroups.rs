//! skiff-cgroups on the real kernel, as root: each limit is applied to a real cgroup and
//! observed to hold (or read back where the effect cannot be observed safely). The same tests
//! run on v1 (hybrid) hosts and, through scripts/cgroup-v2-vm.sh, in a cgroup v2 guest; they
//! ask `Manager::hierarchy()` where the files differ.
//!
//! Every test owns a unique cgroup /skiff-test/<name> and a guard that kills its tasks and
//! removes the cgroup even when the test fails. Children are busybox shells that first block
//! on `read`, so they can be put into the cgroup before they do their work.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use skiff_cgroups::{CgroupError, Hierarchy, LinuxResources, Manager};
use skiff_testutil::{unique_name, BUSYBOX};

const MIB: i64 = 1024 * 1024;

/// A test's cgroup; dropping it kills every task in it and removes it.
struct TestCgroup {
    manager: Manager,
    children: Vec<Child>,
}

/// A child shell placed in the cgroup, waiting for [`Task::go`].
struct Task {
    pid: i32,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Task {
    /// Lets the child's script run.
    fn go(&mut self) {
        writeln!(self.stdin, "go").expect("release the child");
    }

    /// The next line the child prints.
    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("read from the child");
        line.trim_end().to_owned()
    }

    /// Everything the child prints until it exits.
    fn rest(&mut self) -> String {
        let mut out = String::new();
        while self
            .stdout
            .read_line(&mut out)
            .expect("read from the child")
            > 0
        {}
        out
    }
}

impl TestCgroup {
    fn new(tag: &str) -> TestCgroup {
        let path = format!("/skiff-test/{}", unique_name(tag));
        let manager = Manager::new(Some(&path), "unused").expect("Manager::new");
        TestCgroup {
            manager,
            children: Vec::new(),
        }
    }

    fn apply(&self, json: &str) {
        let resources: LinuxResources = serde_json::from_str(json).expect("resources JSON");
        self.manager.apply(&resources).expect("apply");
    }

    /// Starts `busybox sh -c "read; <script>"` and moves it into the cgroup.
    fn spawn(&mut self, script: &str) -> Task {
        let mut child = Command::new(BUSYBOX)
            .args(["sh", "-c", &format!("read _go; {script}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn busybox sh");
        let pid = child.id() as i32;
        let task = Task {
            pid,
            stdin: child.stdin.take().unwrap(),
            stdout: BufReader::new(child.stdout.take().unwrap()),
        };
        self.children.push(child);
        self.manager.add_task(pid).expect("add_task");
        task
    }

    /// Waits (bounded, so a bug cannot hang the suite) for the child `pid` to exit.
    fn wait(&mut self, pid: i32) -> (ExitStatus, String) {
        let child = self
            .children
            .iter_mut()
            .find(|c| c.id() as i32 == pid)
            .expect("a child of this cgroup");
        let status = wait_for("the child to exit", || child.try_wait().unwrap());
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            std::io::Read::read_to_string(&mut e, &mut stderr).unwrap();
        }
        (status, stderr)
    }

    /// The cgroup file `file` in the hierarchy directory whose path contains `hierarchy`
    /// (v1: "memory", "blkio", ...; ignored on v2, which has one directory).
    fn read(&self, hierarchy: &str, file: &str) -> String {
        let dir = self.dir(hierarchy);
        std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.join(file).display()))
    }

    fn dir(&self, hierarchy: &str) -> PathBuf {
        let paths = self.manager.paths();
        if self.manager.hierarchy() == Hierarchy::V2 {
            return paths[0].clone();
        }
        paths
            .into_iter()
            .find(|p| p.components().any(|c| c.as_os_str() == hierarchy))
            .unwrap_or_else(|| panic!("no {hierarchy} hierarchy in {:?}", self.manager.paths()))
    }

    fn v2(&self) -> bool {
        self.manager.hierarchy() == Hierarchy::V2
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let _ = self.manager.thaw();
        let _ = self.manager.kill_all(libc::SIGKILL);
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Err(e) = self.manager.destroy() {
            eprintln!("cleanup: {e}");
        }
    }
}

/// Polls `f` until it returns `Some`, for at most 60 s (a bound for hung tests, not a timing
/// assertion: the slow TCG guest needs the room).
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A block device of this machine as (major, minor): the host's disk, or the guest's ramdisk.
fn block_device() -> Option<(u64, u64)> {
    let mut devices: Vec<(String, u64, u64)> = std::fs::read_dir("/sys/block")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let size: u64 = std::fs::read_to_string(e.path().join("size"))
                .ok()?
                .trim()
                .parse()
                .ok()?;
            let dev = std::fs::read_to_string(e.path().join("dev")).ok()?;
            let (major, minor) = dev.trim().split_once(':')?;
            (size > 0).then(|| Some((name, major.parse().ok()?, minor.parse().ok()?)))?
        })
        .collect();
    devices.sort();
    devices.first().map(|(_, major, minor)| (*major, *minor))
}

#[test]
fn new_writes_nothing_and_destroy_of_a_missing_cgroup_is_fine() {
    let cg = TestCgroup::new("lazy");
    assert!(cg.manager.paths().iter().all(|p| !p.exists()));
    cg.manager.destroy().unwrap();
    cg.manager.create().unwrap();
    cg.manager.create().unwrap(); // idempotent
    assert!(cg.manager.paths().iter().all(|p| p.is_dir()));
    cg.manager.destroy().unwrap();
    assert!(cg.manager.paths().iter().all(|p| !p.exists()));
    cg.manager.destroy().unwrap();
}

#[test]
fn hierarchy_matches_the_host() {
    let expected = if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        Hierarchy::V2
    } else {
        Hierarchy::V1
    };
    assert_eq!(skiff_cgroups::detect().unwrap(), expected);
    let cg = TestCgroup::new("leaf-fd");
    cg.manager.create().unwrap();
    let fd = cg.manager.leaf_dir_fd().unwrap();
    assert_eq!(fd.is_some(), expected == Hierarchy::V2);
}

#[test]
fn memory_limit_oom_kills_and_is_counted() {
    let mut cg = TestCgroup::new("oom");
    cg.apply(r#"{"memory": {"limit": 16777216, "swap": 16777216}}"#);
    assert_eq!(cg.manager.oom_kill_count().unwrap(), 0);
    // dd fills a 64 MiB buffer: four times the limit.
    let mut task = cg.spawn(&format!(
        "{BUSYBOX} dd if=/dev/zero of=/dev/null bs=64M count=1"
    ));
    task.go();
    let (status, stderr) = cg.wait(task.pid);
    assert!(!status.success(), "dd survived a 16 MiB limit: {stderr}");
    // Killed by SIGKILL: dd itself (sh execs its last command), or sh reporting 128+9.
    assert!(
        status.signal() == Some(libc::SIGKILL) || status.code() == Some(137),
        "status {status:?}, stderr {stderr}"
    );
    assert!(cg.manager.oom_kill_count().unwrap() >= 1);
    let stats = cg.manager.stats().unwrap();
    assert!(stats.memory.oom_kill >= 1);
    assert_eq!(stats.memory.limit, 16 * MIB as u64);
    // OCI swap is memory+swap: v1 memsw = 16 MiB, v2 memory.swap.max = 16 - 16 = 0.
    let swap_limit = if cg.v2() { 0 } else { 16 * MIB as u64 };
    assert_eq!(stats.memory.swap_limit, swap_limit);
    if cg.v2() {
        // v1's memory.failcnt stays 0 here: with memory+swap = memory, the memsw counter is
        // the one that hits its limit.
        assert!(
            stats.memory.failcnt > 0,
            "limit hits not counted: {:?}",
            stats.memory
        );
    }
    if !cg.v2() || Path::new(&cg.dir("memory")).join("memory.peak").exists() {
        assert!(
            stats.memory.max_usage > 8 * MIB as u64,
            "peak {:?}",
            stats.memory
        );
    }
}

#[test]
fn pids_limit_stops_forks() {
    let mut cg = TestCgroup::new("pids");
    cg.apply(r#"{"pids": {"limit": 8}}"#);
    let mut task = cg.spawn(&format!(
        "i=0; while [ $i -lt 20 ]; do {BUSYBOX} sleep 60 >/dev/null 2>&1 & i=$((i+1)); done; echo all-forked"
    ));
    task.go();
    let out = task.rest();
    let (status, stderr) = cg.wait(task.pid);
    assert!(
        !out.contains("all-forked"),
        "20 forks succeeded under a limit of 8"
    );
    assert!(!status.success());
    assert!(stderr.contains("fork"), "unexpected error: {stderr}");
    let stats = cg.manager.stats().unwrap();
    assert_eq!(stats.pids.limit, 8);
    assert!(
        stats.pids.current <= 8 && stats.pids.current >= 1,
        "{:?}",
        stats.pids
    );
    assert!(cg.manager.pids().unwrap().len() <= 8);
}

#[test]
fn cpu_quota_throttles() {
    let mut cg = TestCgroup::new("cpu");
    cg.apply(r#"{"cpu": {"quota": 10000, "period": 100000}}"#);
    let mut task = cg.spawn("while :; do :; done");
    task.go();
    // The kernel counts a throttled period when it starts and adds its time when it ends.
    let throttling = wait_for("throttled periods and time", || {
        let t = cg.manager.stats().unwrap().cpu.throttling;
        (t.throttled_periods > 0 && t.throttled_time_ns > 0).then_some(t)
    });
    assert!(throttling.periods >= throttling.throttled_periods);
    if cg.v2() {
        assert_eq!(cg.read("", "cpu.max").trim(), "10000 100000");
    } else {
        assert_eq!(cg.read("cpu", "cpu.cfs_quota_us").trim(), "10000");
    }
}

#[test]
fn denied_devices_cannot_be_opened_or_created() {
    let mut cg = TestCgroup::new("dev");
    // Deny everything, then allow /dev/zero (read, write, mknod) only.
    cg.apply(
        r#"{"devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"}
        ]}"#,
    );
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().display();
    let mut task = cg.spawn(&format!(
        "if echo x > /dev/null; then echo null:opened; else echo null:denied; fi; \
         echo zero:$({BUSYBOX} head -c 4 /dev/zero | {BUSYBOX} wc -c); \
         if {BUSYBOX} mknod {t}/zero c 1 5; then echo mknod-zero:ok; else echo mknod-zero:denied; fi; \
         if {BUSYBOX} mknod {t}/null c 1 3; then echo mknod-null:ok; else echo mknod-null:denied; fi"
    ));
    task.go();
    assert_eq!(task.line(), "null:denied");
    assert_eq!(task.line().replace(' ', ""), "zero:4");
    assert_eq!(task.line(), "mknod-zero:ok");
    assert_eq!(task.line(), "mknod-null:denied");
    assert!(!tmp.path().join("null").exists());
}

#[test]
fn device_rules_can_be_replaced() {
    let mut cg = TestCgroup::new("dev-update");
    cg.apply(r#"{"devices": [{"allow": false, "access": "rwm"}]}"#);
    // Now allow everything but writing /dev/null: on v2 the old program must be gone (the
    // kernel requires every attached program to allow an access).
    cg.apply(
        r#"{"devices": [
            {"allow": true, "access": "rwm"},
            {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "w"}
        ]}"#,
    );
    let mut task = cg.spawn(
        "if true > /dev/null; then echo write:ok; else echo write:denied; fi; \
         if true < /dev/null; then echo read:ok; else echo read:denied; fi",
    );
    task.go();
    assert_eq!(task.line(), "write:denied");
    assert_eq!(task.line(), "read:ok");
    let (status, stderr) = cg.wait(task.pid);
    assert!(status.success(), "{stderr}");
}

#[test]
fn device_rules_without_deny_all_only_deny_what_they_name() {
    // Same meaning on v1 (exceptions to a fresh cgroup's allow-all) and v2 (the eBPF
    // program's fall-through verdict).
    let mut cg = TestCgroup::new("dev-default");
    cg.apply(r#"{"devices": [{"allow": false, "type": "c", "major": 1, "minor": 3}]}"#);
    let mut task = cg.spawn(
        "if true < /dev/null; then echo null:ok; else echo null:denied; fi; \
         if true < /dev/zero; then echo zero:ok; else echo zero:denied; fi",
    );
    task.go();
    assert_eq!(task.line(), "null:denied");
    assert_eq!(task.line(), "zero:ok");
}

#[test]
fn io_stats_count_direct_writes() {
    // O_DIRECT writes are issued by the task itself, so the kernel charges them to its
    // cgroup (buffered writeback would be charged to the flusher on v1).
    let tmp = tempfile::tempdir().unwrap();
    let dev = std::os::unix::fs::MetadataExt::dev(&std::fs::metadata(tmp.path()).unwrap());
    let (major, minor) = (libc::major(dev) as u64, libc::minor(dev) as u64);
    assert_ne!(
        major, 0,
        "TMPDIR must be on a block device (it is on {major}:{minor})"
    );
    // Overwrite a file that exists on disk: some filesystems (FAT in the v2 guest) fall back
    // to buffered I/O for O_DIRECT writes that extend a file.
    let file = tmp.path().join("f");
    std::fs::write(&file, vec![1u8; 1 << 20]).unwrap();
    std::fs::File::open(&file).unwrap().sync_all().unwrap();
    let mut cg = TestCgroup::new("io");
    cg.manager.create().unwrap();
    let mut task = cg.spawn(&format!(
        "{BUSYBOX} dd if=/dev/zero of={} bs=64k count=16 oflag=direct conv=notrunc",
        file.display()
    ));
    task.go();
    let (status, stderr) = cg.wait(task.pid);
    assert!(status.success(), "dd failed: {stderr}");
    let blkio = cg.manager.stats().unwrap().blkio;
    let device = blkio
        .devices
        .iter()
        .find(|d| (d.major, d.minor) == (major, minor))
        .unwrap_or_else(|| panic!("no entry for {major}:{minor} in {blkio:?}"));
    assert!(device.write_bytes >= 1 << 20, "{blkio:?}");
    assert!(device.write_ios >= 1, "{blkio:?}");
    assert!(blkio.write_bytes >= device.write_bytes);
}

#[test]
fn blkio_weight_and_throttles_are_applied() {
    let Some((major, minor)) = block_device() else {
        panic!("no block device with a size in /sys/block to throttle");
    };
    let cg = TestCgroup::new("blkio");
    cg.apply(&format!(
        r#"{{"blockIO": {{"weight": 500,
            "throttleReadBpsDevice": [{{"major": {major}, "minor": {minor}, "rate": 1048576}}],
            "throttleWriteBpsDevice": [{{"major": {major}, "minor": {minor}, "rate": 2097152}}],
            "throttleReadIOPSDevice": [{{"major": {major}, "minor": {minor}, "rate": 100}}],
            "throttleWriteIOPSDevice": [{{"major": {major}, "minor": {minor}, "rate": 200}}]}}}}"#
    ));
    let dev = format!("{major}:{minor}");
    if cg.v2() {
        let io_max = cg.read("", "io.max");
        assert!(
            io_max.contains(&format!(
                "{dev} rbps=1048576 wbps=2097152 riops=100 wiops=200"
            )),
            "io.max: {io_max}"
        );
        let dir = cg.dir("");
        let weight = if dir.join("io.bfq.weight").exists() {
            ("io.bfq.weight", "default 500")
        } else {
            ("io.weight", "default 4950")
        };
        assert!(cg.read("", weight.0).contains(weight.1), "{}", weight.0);
    } else {
        let read = |f| cg.read("blkio", f).trim().to_owned();
        assert_eq!(
            read("blkio.throttle.read_bps_device"),
            format!("{dev} 1048576")
        );
        assert_eq!(
            read("blkio.throttle.write_bps_device"),
            format!("{dev} 2097152")
        );
        assert_eq!(
            read("blkio.throttle.read_iops_device"),
            format!("{dev} 100")
        );
        assert_eq!(
            read("blkio.throttle.write_iops_device"),
            format!("{dev} 200")
        );
        let weight_file = if cg.dir("blkio").join("blkio.bfq.weight").exists() {
            "blkio.bfq.weight"
        } else {
            "blkio.weight"
        };
        assert_eq!(read(weight_file), "500");
    }
}

#[test]
fn net_cls_classid_is_applied_on_v1() {
    let cg = TestCgroup::new("netcls");
    if cg.v2() {
        eprintln!("cgroup v2 has no net_cls; checking that the setting is ignored");
        cg.apply(r#"{"network": {"classID": 1048577}}"#);
        return;
    }
    cg.apply(r#"{"network": {"classID": 1048577}}"#);
    assert_eq!(cg.read("net_cls", "net_cls.classid").trim(), "1048577");
    assert_eq!(mountinfo_lines("/sys/fs/cgroup/net_cls"), 1);
}

#[test]
fn net_cls_is_mounted_once_when_creates_race() {
    if skiff_cgroups::detect().unwrap() == Hierarchy::V2 {
        eprintln!("cgroup v2 has no net_cls hierarchy to mount");
        return;
    }
    // In a private mount namespace of our own (a thread that unshared it; threads it starts
    // share it), take net_cls away so that the racing creates must mount it.
    let result = std::thread::spawn(|| {
        use nix::mount::{mount, umount2, MntFlags, MsFlags};
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).expect("unshare mount ns");
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .expect("make mounts private");
        let target = "/sys/fs/cgroup/net_cls";
        while mountinfo_lines(target) > 0 {
            umount2(target, MntFlags::MNT_DETACH).expect("unmount net_cls in our namespace");
        }
        // Every racer has seen net_cls unmounted before any of them creates.
        let start = std::sync::Arc::new(std::sync::Barrier::new(RACERS));
        let racers: Vec<_> = (0..RACERS)
            .map(|_| {
                let start = start.clone();
                std::thread::spawn(move || {
                    let cg = TestCgroup::new("netcls-race");
                    start.wait();
                    cg.apply(r#"{"network": {"classID": 42}}"#);
                    cg.read("net_cls", "net_cls.classid").trim().to_owned()
                })
            })
            .collect();
        let ids: Vec<String> = racers.into_iter().map(|t| t.join().unwrap()).collect();
        (ids, mountinfo_lines(target))
    })
    .join()
    .expect("the test thread");
    assert_eq!(result.0, vec!["42"; RACERS]);
    assert_eq!(result.1, 1, "net_cls must be mounted exactly once");
}

const RACERS: usize = 8;

/// How many cgroup mounts the calling thread's namespace has on `target`.
fn mountinfo_lines(target: &str) -> usize {
    std::fs::read_to_string("/proc/thread-self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(" - cgroup ") && l.split(' ').nth(4) == Some(target))
        .count()
}

#[test]
fn freeze_stops_tasks_and_thaw_resumes_them() {
    let mut cg = TestCgroup::new("freeze");
    cg.manager.create().unwrap();
    let mut task = cg.spawn("while :; do :; done");
    task.go();
    let usage = |cg: &TestCgroup| cg.manager.stats().unwrap().cpu.usage_total_ns;
    wait_for("the loop to run", || (usage(&cg) > 0).then_some(()));
    assert!(!cg.manager.is_frozen().unwrap());
    cg.manager.freeze().unwrap();
    assert!(cg.manager.is_frozen().unwrap());
    let frozen_at = usage(&cg);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(usage(&cg), frozen_at, "a frozen task used CPU");
    cg.manager.thaw().unwrap();
    assert!(!cg.manager.is_frozen().unwrap());
    wait_for("the thawed loop to run", || {
        (usage(&cg) > frozen_at).then_some(())
    });
}

#[test]
fn stats_are_populated() {
    let mut cg = TestCgroup::new("stats");
    cg.apply(r#"{"memory": {"limit": 67108864}, "pids": {"limit": 16}}"#);
    let mut task = cg.spawn(&format!(
        "{BUSYBOX} dd if=/dev/zero of=/dev/null bs=8M count=8 2>/dev/null; echo ready; read _x"
    ));
    task.go();
    assert_eq!(task.line(), "ready");
    let s = cg.manager.stats().unwrap();
    assert!(s.memory.usage > 0, "{:?}", s.memory);
    assert_eq!(s.memory.limit, 64 * MIB as u64);
    assert!(!s.memory.stat.is_empty());
    if !cg.v2() || cg.dir("").join("memory.peak").exists() {
        assert!(s.memory.max_usage >= 8 * MIB as u64, "{:?}", s.memory);
    }
    assert!(s.cpu.usage_total_ns > 0, "{:?}", s.cpu);
    assert!(
        s.cpu.usage_user_ns + s.cpu.usage_system_ns > 0,
        "{:?}",
        s.cpu
    );
    if !cg.v2() {
        assert!(s.cpu.per_cpu_ns.iter().sum::<u64>() > 0, "{:?}", s.cpu);
    }
    assert_eq!(s.pids.limit, 16);
    assert!(s.pids.current >= 1);
    assert_eq!(cg.manager.pids().unwrap(), vec![task.pid]);
    assert_eq!(s.memory.oom_kill, 0);
    // The JSON shape the runtime maps to runc's events --stats.
    let json = serde_json::to_value(&s).unwrap();
    assert!(json["cpu"]["throttling"]["periods"].is_u64());
}

#[test]
fn apply_twice_updates_limits() {
    let cg = TestCgroup::new("update");
    cg.apply(r#"{"memory": {"limit": 67108864}, "pids": {"limit": 10}, "cpu": {"shares": 512}}"#);
    let s = cg.manager.stats().unwrap();
    assert_eq!((s.memory.limit, s.pids.limit), (64 * MIB as u64, 10));
    cg.apply(
        r#"{"memory": {"limit": 33554432}, "pids": {"limit": 20},
            "cpu": {"shares": 2048, "cpus": "0", "mems": "0"}}"#,
    );
    assert_eq!(cg.read("cpuset", "cpuset.cpus").trim(), "0");
    assert_eq!(cg.read("cpuset", "cpuset.mems").trim(), "0");
    let s = cg.manager.stats().unwrap();
    assert_eq!((s.memory.limit, s.pids.limit), (32 * MIB as u64, 20));
    if cg.v2() {
        // runc's conversion: 1 + (2048 - 2) * 9999 / 262142 = 79
        assert_eq!(cg.read("", "cpu.weight").trim(), "79");
    } else {
        assert_eq!(cg.read("cpu", "cpu.shares").trim(), "2048");
    }
    // Lifting the limit again.
    cg.apply(r#"{"memory": {"limit": -1}, "pids": {"limit": 0}}"#);
    let s = cg.manager.stats().unwrap();
    assert_eq!((s.memory.limit, s.pids.limit), (u64::MAX, 0));
}

#[test]
fn kill_all_kills_every_task_and_destroy_removes_the_cgroup() {
    let mut cg = TestCgroup::new("kill");
    cg.manager.create().unwrap();
    let mut task = cg.spawn(&format!("{BUSYBOX} sleep 100 & {BUSYBOX} sleep 100 & wait"));
    task.go();
    wait_for("three tasks", || {
        (cg.manager.pids().unwrap().len() == 3).then_some(())
    });
    cg.manager.kill_all(libc::SIGKILL).unwrap();
    let (status, _) = cg.wait(task.pid);
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    wait_for("the tasks to go", || {
        cg.manager.pids().unwrap().is_empty().then_some(())
    });
    cg.manager.destroy().unwrap();
    assert!(cg.manager.paths().iter().all(|p| !p.exists()));
}

#[test]
fn hugetlb_limit_is_applied() {
    let cg = TestCgroup::new("huge");
    if !Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").exists() {
        panic!("this test expects 2 MiB huge pages (x86_64)");
    }
    cg.apply(r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}"#);
    let stats = cg.manager.stats().unwrap();
    let two_mb = stats
        .hugetlb
        .iter()
        .find(|h| h.page_size == "2MB")
        .unwrap_or_else(|| panic!("no 2MB entry in {:?}", stats.hugetlb));
    assert_eq!(two_mb.limit, 4194304);
}

#[test]
fn bad_resources_are_reported() {
    let cg = TestCgroup::new("bad");
    let apply = |json: &str| {
        let r: LinuxResources = serde_json::from_str(json).unwrap();
        cg.manager.apply(&r)
    };
    let err = apply(r#"{"hugepageLimits": [{"pageSize": "3MB", "limit": 1}]}"#).unwrap_err();
    assert!(matches!(err, CgroupError::InvalidResource { .. }), "{err}");
    assert!(err.to_string().contains("3MB"), "{err}");
    let err = apply(r#"{"memory": {"limit": 33554432, "swap": 1048576}}"#).unwrap_err();
    assert!(matches!(err, CgroupError::InvalidResource { .. }), "{err}");
    let err = apply(r#"{"devices": [{"allow": true, "access": "x"}]}"#).unwrap_err();
    assert!(matches!(err, CgroupError::InvalidResource { .. }), "{err}");
    let unified = apply(r#"{"unified": {"memory.high": "33554432"}}"#);
    if cg.v2() {
        unified.unwrap();
        assert_eq!(cg.read("", "memory.high").trim(), "33554432");
    } else {
        assert!(matches!(
            unified.unwrap_err(),
            CgroupError::Unsupported { .. }
        ));
    }
}
