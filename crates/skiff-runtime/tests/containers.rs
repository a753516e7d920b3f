//! Real containers on the real kernel, as root: namespaces, rootfs, lifecycle, exec, pause,
//! hooks, console, fd hygiene, and bad input leaving nothing behind.
//!
//! This test binary has its own `main` (harness = false) and runs the tests one after the
//! other on the main thread: the runtime clones the container init from the calling process
//! like a fork, which is only safe in a single-threaded process.

use std::fs;
use std::io::{IoSliceMut, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use oci_spec::runtime::{
    HookBuilder, HooksBuilder, LinuxIdMappingBuilder, LinuxNamespace, LinuxNamespaceBuilder,
    LinuxNamespaceType, MountBuilder, PosixRlimitBuilder, PosixRlimitType, Spec,
};
use skiff_runtime::{CreateOptions, Error, Runtime, Status};
use skiff_testutil::{unique_name, Bundle};

type TestResult = Result<(), String>;

/// A named test of this file.
type Test = (&'static str, fn() -> TestResult);

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let tests: &[Test] = &[
        ("run_echo_in_all_namespaces", run_echo_in_all_namespaces),
        ("each_namespace_is_isolated", each_namespace_is_isolated),
        (
            "lifecycle_create_start_state_kill_delete",
            lifecycle_create_start_state_kill_delete,
        ),
        ("exec_joins_the_container", exec_joins_the_container),
        ("pause_and_resume", pause_and_resume),
        ("joining_namespaces_by_path", joining_namespaces_by_path),
        (
            "user_namespace_maps_root_to_unprivileged_uid",
            user_namespace_maps_root_to_unprivileged_uid,
        ),
        ("masked_and_readonly_paths", masked_and_readonly_paths),
        (
            "dropped_capabilities_forbid_mount",
            dropped_capabilities_forbid_mount,
        ),
        (
            "no_fd_leaks_into_the_container",
            no_fd_leaks_into_the_container,
        ),
        (
            "console_socket_receives_a_pty",
            console_socket_receives_a_pty,
        ),
        ("hooks_run_with_state", hooks_run_with_state),
        ("bind_mounts_and_no_pivot", bind_mounts_and_no_pivot),
        (
            "bad_input_leaves_nothing_behind",
            bad_input_leaves_nothing_behind,
        ),
    ];
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, test) in tests {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        ran += 1;
        let started = Instant::now();
        let result = std::panic::catch_unwind(test).unwrap_or_else(|p| {
            Err(p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panicked".into()))
        });
        match result {
            Ok(()) => println!("test {name} ... ok ({} ms)", started.elapsed().as_millis()),
            Err(e) => {
                println!("test {name} ... FAILED\n    {e}");
                failed.push(*name);
            }
        }
    }
    println!("\n{ran} tests, {} failed", failed.len());
    if !failed.is_empty() {
        println!("failed: {}", failed.join(", "));
        std::process::exit(1);
    }
}

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// A runtime root and container id of this test; on drop deletes the container (killing it),
/// reaps its processes and removes the root.
struct Env {
    root: tempfile::TempDir,
    runtime: Runtime,
    ids: Vec<String>,
}

impl Env {
    fn new() -> Env {
        let root = tempfile::Builder::new()
            .prefix("skiff-rt-root")
            .tempdir()
            .expect("temp root");
        let runtime = Runtime::new(root.path());
        Env {
            root,
            runtime,
            ids: Vec::new(),
        }
    }

    fn id(&mut self, prefix: &str) -> String {
        let id = unique_name(prefix);
        self.ids.push(id.clone());
        id
    }

    fn opts(&self, id: &str, bundle: &Bundle) -> CreateOptions {
        CreateOptions {
            id: id.to_string(),
            bundle: bundle.path().to_path_buf(),
            ..CreateOptions::default()
        }
    }

    /// Runs a container to completion with stdout+stderr captured; returns (code, output).
    fn run_capture(&mut self, prefix: &str, bundle: &Bundle) -> Result<(i32, String), Error> {
        let id = self.id(prefix);
        let opts = self.opts(&id, bundle);
        let runtime = self.runtime.clone();
        capture(|| runtime.run(&opts, false, false))
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        // Kill everything first and reap what is ours (a zombie keeps its v1 cgroup busy),
        // then delete.
        for id in &self.ids {
            let _ = self.runtime.kill(id, libc::SIGKILL, true);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline
            && self
                .ids
                .iter()
                .any(|id| self.runtime.pids(id).is_ok_and(|p| !p.is_empty()))
        {
            reap_children();
            std::thread::sleep(Duration::from_millis(5));
        }
        for id in &self.ids {
            let _ = self.runtime.delete(id, true);
        }
        reap_children();
        let _ = &self.root;
    }
}

/// Runs `f` with fds 1 and 2 pointing at a temporary file (inherited by any container it
/// starts) and returns its result with what was written there.
fn capture<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<(T, String), Error> {
    let mut file = tempfile::tempfile().expect("temp file");
    let saved_out = nix::unistd::dup(std::io::stdout()).expect("dup stdout");
    let saved_err = nix::unistd::dup(std::io::stderr()).expect("dup stderr");
    nix::unistd::dup2_stdout(&file).expect("redirect stdout");
    nix::unistd::dup2_stderr(&file).expect("redirect stderr");
    let result = f();
    nix::unistd::dup2_stdout(&saved_out).expect("restore stdout");
    nix::unistd::dup2_stderr(&saved_err).expect("restore stderr");
    let value = result?;
    let mut text = String::new();
    use std::io::Seek;
    file.seek(std::io::SeekFrom::Start(0)).expect("seek");
    file.read_to_string(&mut text).expect("read capture");
    Ok((value, text))
}

fn reap_children() {
    while let Ok(status) = nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG))
    {
        if status == nix::sys::wait::WaitStatus::StillAlive {
            break;
        }
    }
}

fn sh(spec: &mut Spec, script: &str) {
    let mut process = spec.process().clone().unwrap();
    process.set_args(Some(vec!["sh".into(), "-c".into(), script.into()]));
    spec.set_process(Some(process));
}

fn writable_root(spec: &mut Spec) {
    let mut root = spec.root().clone().unwrap();
    root.set_readonly(Some(false));
    spec.set_root(Some(root));
}

fn set_namespaces(spec: &mut Spec, namespaces: Vec<LinuxNamespace>) {
    let mut linux = spec.linux().clone().unwrap();
    linux.set_namespaces(Some(namespaces));
    spec.set_linux(Some(linux));
}

fn ns(typ: LinuxNamespaceType, path: Option<PathBuf>) -> LinuxNamespace {
    let b = LinuxNamespaceBuilder::default().typ(typ);
    match path {
        Some(p) => b.path(p).build().unwrap(),
        None => b.build().unwrap(),
    }
}

fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    ["memory", "pids", "cpu,cpuacct", "freezer", "devices"]
        .iter()
        .map(|c| Path::new("/sys/fs/cgroup").join(c).join("skiff").join(id))
        .filter(|p| p.exists())
        .collect()
}

fn host_ns(name: &str) -> String {
    fs::read_link(format!("/proc/self/ns/{name}"))
        .unwrap()
        .display()
        .to_string()
}

fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

// ---------------------------------------------------------------------------------------

fn run_echo_in_all_namespaces() -> TestResult {
    let mut env = Env::new();
    let bundle = Bundle::new(|s| sh(s, "echo hi; exit 3")).unwrap();
    let (code, out) = env
        .run_capture("echo", &bundle)
        .map_err(|e| e.to_string())?;
    ensure!(code == 3, "exit code {code}, output {out:?}");
    ensure!(out == "hi\n", "output {out:?}");
    Ok(())
}

fn each_namespace_is_isolated() -> TestResult {
    let mut env = Env::new();
    let bundle = Bundle::new(|s| {
        s.set_hostname(Some("skiff-iso".into()));
        sh(
            s,
            "echo pid=$$; echo host=$(hostname); echo net=$(ls /sys/class/net | tr '\\n' ' '); \
             for n in ipc uts net mnt pid cgroup; do echo ns-$n=$(readlink /proc/self/ns/$n); done; \
             echo mounts=$(cut -d' ' -f5 /proc/self/mountinfo | sort -u | tr '\\n' ' ')",
        )
    })
    .unwrap();
    let (code, out) = env.run_capture("iso", &bundle).map_err(|e| e.to_string())?;
    ensure!(code == 0, "exit {code}: {out}");
    let field = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or("")
            .trim()
            .to_string()
    };
    ensure!(field("pid") == "1", "not pid 1: {out}");
    ensure!(field("host") == "skiff-iso", "hostname: {out}");
    ensure!(field("net") == "lo", "network devices besides lo: {out}");
    for n in ["ipc", "uts", "net", "mnt", "pid", "cgroup"] {
        ensure!(
            field(&format!("ns-{n}")) != host_ns(n),
            "{n} namespace shared with host: {out}"
        );
    }
    // Only the spec's mounts are left: the host's tree went away with the old root.
    let mounts = field("mounts");
    ensure!(
        mounts.split(' ').any(|m| m == "/proc"),
        "no /proc mount: {mounts}"
    );
    for m in mounts.split(' ').filter(|m| !m.is_empty()) {
        let allowed = m == "/" || ["/proc", "/dev", "/sys"].iter().any(|p| m.starts_with(p));
        ensure!(allowed, "host mount {m} visible in the container: {mounts}");
    }
    Ok(())
}

fn lifecycle_create_start_state_kill_delete() -> TestResult {
    let mut env = Env::new();
    let id = env.id("life");
    let bundle = Bundle::new(|s| sh(s, "sleep 30")).unwrap();
    let pid_file = bundle.path().join("pid");
    let mut opts = env.opts(&id, &bundle);
    opts.pid_file = Some(pid_file.clone());
    let pid = env.runtime.create(&opts).map_err(|e| e.to_string())?;
    ensure!(
        fs::read_to_string(&pid_file).unwrap() == pid.to_string(),
        "pid file"
    );
    let c = env.runtime.load(&id).map_err(|e| e.to_string())?;
    ensure!(
        c.status == Status::Created,
        "status after create: {}",
        c.status
    );
    ensure!(!cgroup_dirs(&id).is_empty(), "no cgroup created");
    let procs = fs::read_to_string(
        Path::new("/sys/fs/cgroup/memory/skiff")
            .join(&id)
            .join("cgroup.procs"),
    )
    .unwrap();
    ensure!(
        procs.lines().any(|l| l == pid.to_string()),
        "init {pid} not in its cgroup: {procs}"
    );
    ensure!(env.runtime.start(&id).is_ok(), "start failed");
    let c = env.runtime.load(&id).map_err(|e| e.to_string())?;
    ensure!(
        c.status == Status::Running,
        "status after start: {}",
        c.status
    );
    ensure!(
        matches!(env.runtime.start(&id), Err(Error::WrongState { .. })),
        "second start did not fail"
    );
    ensure!(
        matches!(
            env.runtime.delete(&id, false),
            Err(Error::WrongState { .. })
        ),
        "delete of a running container without force did not fail"
    );
    // pid 1 of a pid namespace ignores signals it has no handler for, so TERM would not do.
    env.runtime
        .kill(&id, libc::SIGKILL, false)
        .map_err(|e| e.to_string())?;
    ensure!(
        wait_until(|| {
            reap_children();
            env.runtime
                .load(&id)
                .map(|c| c.status == Status::Stopped)
                .unwrap_or(false)
        }),
        "container did not stop after SIGKILL"
    );
    env.runtime.delete(&id, false).map_err(|e| e.to_string())?;
    ensure!(!env.root.path().join(&id).exists(), "state dir left");
    ensure!(
        cgroup_dirs(&id).is_empty(),
        "cgroup left: {:?}",
        cgroup_dirs(&id)
    );
    ensure!(
        matches!(env.runtime.load(&id), Err(Error::NotFound { .. })),
        "still loadable"
    );
    Ok(())
}

fn start_sleeper(
    env: &mut Env,
    prefix: &str,
    edit: impl FnOnce(&mut Spec),
) -> Result<(String, i32, Bundle), String> {
    let id = env.id(prefix);
    let bundle = Bundle::new(|s| {
        sh(s, "sleep 60");
        edit(s);
    })
    .unwrap();
    let pid = env
        .runtime
        .create(&env.opts(&id, &bundle))
        .map_err(|e| e.to_string())?;
    env.runtime.start(&id).map_err(|e| e.to_string())?;
    Ok((id, pid, bundle))
}

fn exec_in(env: &Env, id: &str, args: &[&str]) -> Result<(i32, String), String> {
    let c = env.runtime.load(id).map_err(|e| e.to_string())?;
    let process = skiff_runtime::exec::process_from_flags(
        &c.state.config,
        &skiff_runtime::exec::ExecFlags {
            args: args.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        },
    );
    let opts = skiff_runtime::exec::ExecOptions {
        id: id.to_string(),
        process,
        detach: false,
        pid_file: None,
        console_socket: None,
        preserve_fds: 0,
        ignore_paused: false,
    };
    capture(|| env.runtime.exec(&opts)).map_err(|e| e.to_string())
}

fn exec_joins_the_container() -> TestResult {
    let mut env = Env::new();
    let (id, pid, _b) = start_sleeper(&mut env, "exec", |s| {
        s.set_hostname(Some("exec-host".into()));
    })?;
    let (code, out) = exec_in(
        &env,
        &id,
        &[
            "sh",
            "-c",
            "hostname; readlink /proc/self/ns/pid; cat /proc/1/cmdline",
        ],
    )?;
    ensure!(code == 0, "exec exit {code}: {out}");
    let theirs = fs::read_link(format!("/proc/{pid}/ns/pid"))
        .unwrap()
        .display()
        .to_string();
    ensure!(out.starts_with("exec-host\n"), "hostname: {out}");
    ensure!(
        out.contains(&theirs),
        "not in the container's pid ns {theirs}: {out}"
    );
    ensure!(
        out.contains("sleep"),
        "cannot see the container's init: {out}"
    );
    let (code, _) = exec_in(&env, &id, &["sh", "-c", "exit 7"])?;
    ensure!(code == 7, "exec exit code {code}");
    let err = exec_in(&env, &id, &["no-such-program"])
        .err()
        .unwrap_or_default();
    ensure!(
        err.contains("executable file not found"),
        "missing program error: {err}"
    );
    Ok(())
}

fn pause_and_resume() -> TestResult {
    let mut env = Env::new();
    let (id, _pid, _b) = start_sleeper(&mut env, "pause", |_| {})?;
    env.runtime.pause(&id).map_err(|e| e.to_string())?;
    let status = env.runtime.load(&id).unwrap().status;
    ensure!(status == Status::Paused, "status after pause: {status}");
    env.runtime.resume(&id).map_err(|e| e.to_string())?;
    let status = env.runtime.load(&id).unwrap().status;
    ensure!(status == Status::Running, "status after resume: {status}");
    ensure!(
        env.runtime.resume(&id).is_err(),
        "resume of a running container did not fail"
    );
    Ok(())
}

fn joining_namespaces_by_path() -> TestResult {
    let mut env = Env::new();
    let (_a, a_pid, _ba) = start_sleeper(&mut env, "nsa", |s| {
        s.set_hostname(Some("shared-uts".into()));
    })?;
    let path = |n: &str| Some(PathBuf::from(format!("/proc/{a_pid}/ns/{n}")));
    let bundle = Bundle::new(|s| {
        set_namespaces(
            s,
            vec![
                ns(LinuxNamespaceType::Pid, path("pid")),
                ns(LinuxNamespaceType::Network, path("net")),
                ns(LinuxNamespaceType::Uts, path("uts")),
                ns(LinuxNamespaceType::Ipc, None),
                ns(LinuxNamespaceType::Mount, None),
            ],
        );
        s.set_hostname(None);
        sh(s, "hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/pid; ps -o comm | grep -c sleep");
    })
    .unwrap();
    let (code, out) = env.run_capture("nsb", &bundle).map_err(|e| e.to_string())?;
    ensure!(code == 0, "exit {code}: {out}");
    let lines: Vec<&str> = out.lines().collect();
    let theirs = |n: &str| {
        fs::read_link(format!("/proc/{a_pid}/ns/{n}"))
            .unwrap()
            .display()
            .to_string()
    };
    ensure!(
        lines.first() == Some(&"shared-uts"),
        "uts not joined: {out}"
    );
    ensure!(
        lines.get(1) == Some(&theirs("net").as_str()),
        "net not joined: {out}"
    );
    ensure!(
        lines.get(2) == Some(&theirs("pid").as_str()),
        "pid not joined: {out}"
    );
    ensure!(
        lines.get(3) == Some(&"1"),
        "cannot see the other container's sleep: {out}"
    );
    Ok(())
}

fn user_namespace_maps_root_to_unprivileged_uid() -> TestResult {
    let mut env = Env::new();
    let base = 200_000u32;
    let (id, pid, bundle) = start_sleeper(&mut env, "userns", |s| {
        let mut linux = s.linux().clone().unwrap();
        let mut namespaces = linux.namespaces().clone().unwrap();
        namespaces.push(ns(LinuxNamespaceType::User, None));
        linux.set_namespaces(Some(namespaces));
        let map = LinuxIdMappingBuilder::default()
            .container_id(0u32)
            .host_id(base)
            .size(65536u32)
            .build()
            .unwrap();
        linux.set_uid_mappings(Some(vec![map]));
        linux.set_gid_mappings(Some(vec![map]));
        s.set_linux(Some(linux));
        // A user namespace cannot mount a fresh sysfs for a network namespace it does not
        // own... it does own it here, but the cgroup v1 binds need the host's view: keep it.
    })?;
    // The rootfs must be readable by the mapped root; the bundle is root's, which works
    // because only exec/read is needed.
    let _ = bundle;
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap_or("");
    ensure!(
        uid_line.split_whitespace().nth(1) == Some(&base.to_string()),
        "host uid of container root: {uid_line}"
    );
    let (code, out) = exec_in(&env, &id, &["sh", "-c", "id -u; cat /proc/self/uid_map"])?;
    ensure!(code == 0, "exec exit {code}: {out}");
    ensure!(out.starts_with("0\n"), "uid inside: {out}");
    ensure!(out.contains(&base.to_string()), "uid_map inside: {out}");
    Ok(())
}

fn masked_and_readonly_paths() -> TestResult {
    let mut env = Env::new();
    let bundle = Bundle::new(|s| {
        sh(
            s,
            "echo keys=$(wc -c < /proc/keys); echo acpi=$(ls /proc/acpi | wc -l); \
             echo x > /proc/sysrq-trigger 2>/dev/null && echo sysrq=writable || echo sysrq=ro; \
             grep ' /proc/sys ' /proc/self/mountinfo | grep -q ' ro,' && echo sys=ro || echo sys=rw; \
             touch /rootfile 2>/dev/null && echo root=rw || echo root=ro",
        )
    })
    .unwrap();
    let (code, out) = env
        .run_capture("mask", &bundle)
        .map_err(|e| e.to_string())?;
    ensure!(code == 0, "exit {code}: {out}");
    for expected in ["keys=0", "acpi=0", "sysrq=ro", "sys=ro", "root=ro"] {
        ensure!(
            out.lines().any(|l| l == expected),
            "wanted {expected}: {out}"
        );
    }
    Ok(())
}

fn dropped_capabilities_forbid_mount() -> TestResult {
    let mut env = Env::new();
    let bundle = Bundle::new(|s| {
        sh(
            s,
            "mount -t tmpfs none /tmp; echo rc=$?; grep CapEff /proc/self/status",
        );
    })
    .unwrap();
    let (code, out) = env
        .run_capture("caps", &bundle)
        .map_err(|e| e.to_string())?;
    ensure!(code == 0, "exit {code}: {out}");
    ensure!(
        out.contains("rc=255") || out.contains("rc=1"),
        "mount did not fail: {out}"
    );
    let lower = out.to_lowercase();
    ensure!(
        lower.contains("not permitted") || lower.contains("permission denied"),
        "{out}"
    );
    let eff = out.lines().find(|l| l.starts_with("CapEff")).unwrap_or("");
    let bits =
        u64::from_str_radix(eff.split_whitespace().nth(1).unwrap_or("ff"), 16).unwrap_or(u64::MAX);
    ensure!(bits & (1 << 21) == 0, "CAP_SYS_ADMIN (bit 21) kept: {eff}");
    Ok(())
}

fn no_fd_leaks_into_the_container() -> TestResult {
    let mut env = Env::new();
    // An fd without CLOEXEC in the runtime's caller must not reach the container.
    let leak = fs::File::open("/etc/hostname").unwrap();
    let raw = nix::fcntl::fcntl(&leak, nix::fcntl::FcntlArg::F_GETFD).unwrap();
    nix::fcntl::fcntl(
        &leak,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::from_bits_truncate(raw & !1)),
    )
    .unwrap();
    // Look from the host at the fds of the running program (listing from inside would
    // show the lister's own directory fd).
    let fds_of = |pid: i32| -> Vec<String> {
        let mut fds: Vec<String> = fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        fds.sort();
        fds
    };
    let (id, pid, bundle) = start_sleeper(&mut env, "fds", |_| {})?;
    ensure!(
        wait_until(
            || fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e.ends_with("busybox"))
        ),
        "init did not exec"
    );
    let fds = fds_of(pid);
    ensure!(
        fds == ["0", "1", "2"],
        "fds of the container's init: {fds:?}"
    );
    // The exec path: a detached process, found through its pid file.
    let c = env.runtime.load(&id).map_err(|e| e.to_string())?;
    let process = skiff_runtime::exec::process_from_flags(
        &c.state.config,
        &skiff_runtime::exec::ExecFlags {
            args: vec!["sleep".into(), "30".into()],
            ..Default::default()
        },
    );
    let pid_file = bundle.path().join("exec.pid");
    let opts = skiff_runtime::exec::ExecOptions {
        id: id.clone(),
        process,
        detach: true,
        pid_file: Some(pid_file.clone()),
        console_socket: None,
        preserve_fds: 0,
        ignore_paused: false,
    };
    env.runtime.exec(&opts).map_err(|e| e.to_string())?;
    drop(leak);
    let exec_pid: i32 = fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    let fds = fds_of(exec_pid);
    // It is our child (we cloned it): reap it, or the container's init would wait for it.
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(exec_pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(exec_pid), None);
    ensure!(fds == ["0", "1", "2"], "fds of the exec'd process: {fds:?}");
    Ok(())
}

fn console_socket_receives_a_pty() -> TestResult {
    let mut env = Env::new();
    let id = env.id("tty");
    let sock_dir = tempfile::tempdir().unwrap();
    let sock_path = sock_dir.path().join("console.sock");
    let listener = UnixListener::bind(&sock_path).unwrap();
    let bundle = Bundle::new(|s| {
        let mut p = s.process().clone().unwrap();
        p.set_terminal(Some(true));
        s.set_process(Some(p));
        sh(s, "tty; test -c /dev/console && echo console-ok; sleep 1");
    })
    .unwrap();
    let mut opts = env.opts(&id, &bundle);
    opts.console_socket = Some(sock_path.clone());
    env.runtime.create(&opts).map_err(|e| e.to_string())?;
    let (stream, _) = listener.accept().unwrap();
    let master = recv_fd(stream.as_raw_fd()).ok_or("no fd received on the console socket")?;
    ensure!(
        nix::unistd::isatty(&master).unwrap_or(false),
        "received fd is not a terminal"
    );
    env.runtime.start(&id).map_err(|e| e.to_string())?;
    let mut out = String::new();
    let mut file = fs::File::from(master);
    let mut buf = [0u8; 256];
    let deadline = Instant::now() + Duration::from_secs(5);
    while !out.contains("console-ok") && Instant::now() < deadline {
        match file.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    ensure!(out.contains("/dev/pts/0"), "tty inside: {out:?}");
    ensure!(out.contains("console-ok"), "/dev/console missing: {out:?}");
    Ok(())
}

fn recv_fd(socket: RawFd) -> Option<OwnedFd> {
    let mut buf = [0u8; 64];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(socket, &mut iov, Some(&mut cmsg), MsgFlags::empty()).ok()?;
    for c in msg.cmsgs().ok()? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: the kernel just installed this fd for us; we own it now.
            return fds.first().map(|fd| unsafe { OwnedFd::from_raw_fd(*fd) });
        }
    }
    None
}

fn hooks_run_with_state() -> TestResult {
    let mut env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let log = |name: &str| dir.path().join(name);
    let hook = |name: &str| {
        HookBuilder::default()
            .path("/bin/sh")
            .args(vec![
                "sh".into(),
                "-c".into(),
                format!("cat > {}", log(name).display()),
            ])
            .build()
            .unwrap()
    };
    // startContainer runs inside the container after the root switch: its path and output
    // are the container's.
    let in_container = HookBuilder::default()
        .path("/bin/sh")
        .args(vec![
            "sh".into(),
            "-c".into(),
            "cat > /startContainer".into(),
        ])
        .build()
        .unwrap();
    let bundle = Bundle::new(|s| {
        sh(s, "true");
        writable_root(s);
        s.set_hooks(Some(
            HooksBuilder::default()
                .prestart(vec![hook("prestart")])
                .create_runtime(vec![hook("createRuntime")])
                .create_container(vec![hook("createContainer")])
                .start_container(vec![in_container])
                .poststart(vec![hook("poststart")])
                .poststop(vec![hook("poststop")])
                .build()
                .unwrap(),
        ));
    })
    .unwrap();
    let (code, out) = env
        .run_capture("hooks", &bundle)
        .map_err(|e| e.to_string())?;
    ensure!(code == 0, "exit {code}: {out}");
    for (name, status) in [
        ("prestart", "creating"),
        ("createRuntime", "creating"),
        ("createContainer", "creating"),
        ("startContainer", "created"),
        ("poststart", "running"),
        ("poststop", "stopped"),
    ] {
        let path = if name == "startContainer" {
            bundle.rootfs().join(name)
        } else {
            log(name)
        };
        let text =
            fs::read_to_string(&path).map_err(|e| format!("{name} hook did not run: {e}"))?;
        let state: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{name}: {e}: {text}"))?;
        ensure!(state["status"] == status, "{name} state: {text}");
        ensure!(
            state["id"]
                .as_str()
                .is_some_and(|i| i.starts_with("hooks-")),
            "{name} id: {text}"
        );
    }
    Ok(())
}

fn bind_mounts_and_no_pivot() -> TestResult {
    let mut env = Env::new();
    let host = tempfile::tempdir().unwrap();
    fs::write(host.path().join("from-host"), "bound\n").unwrap();
    let bundle = Bundle::new(|s| {
        let mut mounts = s.mounts().clone().unwrap();
        mounts.push(
            MountBuilder::default()
                .destination("/data")
                .typ("bind")
                .source(host.path())
                .options(vec!["rbind".into(), "ro".into()])
                .build()
                .unwrap(),
        );
        s.set_mounts(Some(mounts));
        sh(
            s,
            "cat /data/from-host; touch /data/x 2>/dev/null && echo data=rw || echo data=ro",
        );
    })
    .unwrap();
    for no_pivot in [false, true] {
        let id = env.id("bind");
        let mut opts = env.opts(&id, &bundle);
        opts.no_pivot = no_pivot;
        let runtime = env.runtime.clone();
        let (code, out) =
            capture(|| runtime.run(&opts, false, false)).map_err(|e| e.to_string())?;
        ensure!(code == 0, "no_pivot={no_pivot}: exit {code}: {out}");
        ensure!(out == "bound\ndata=ro\n", "no_pivot={no_pivot}: {out:?}");
    }
    Ok(())
}

fn bad_input_leaves_nothing_behind() -> TestResult {
    let mut env = Env::new();
    let children_before = children_of_self();
    let expect_clean = |env: &Env, id: &str| -> TestResult {
        reap_children();
        ensure!(
            !env.root.path().join(id).exists(),
            "state dir left for {id}"
        );
        ensure!(
            cgroup_dirs(id).is_empty(),
            "cgroup left for {id}: {:?}",
            cgroup_dirs(id)
        );
        Ok(())
    };

    // A wrong type: the error names the JSON field.
    let bundle = Bundle::new(|_| {}).unwrap();
    let mut json: serde_json::Value =
        serde_json::from_slice(&fs::read(bundle.path().join("config.json")).unwrap()).unwrap();
    json["process"]["args"] = serde_json::json!("not-a-list");
    fs::write(bundle.path().join("config.json"), json.to_string()).unwrap();
    let id = env.id("bad");
    let err = env
        .runtime
        .create(&env.opts(&id, &bundle))
        .unwrap_err()
        .to_string();
    ensure!(
        err.contains("process.args"),
        "error does not name the field: {err}"
    );
    expect_clean(&env, &id)?;

    // An unknown namespace type.
    json["process"]["args"] = serde_json::json!(["true"]);
    json["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "bogus"}]);
    fs::write(bundle.path().join("config.json"), json.to_string()).unwrap();
    let id = env.id("bad");
    let err = env
        .runtime
        .create(&env.opts(&id, &bundle))
        .unwrap_err()
        .to_string();
    ensure!(
        err.contains("linux.namespaces[1]"),
        "unknown namespace error: {err}"
    );
    expect_clean(&env, &id)?;

    // A missing rootfs.
    let bundle = Bundle::new(|s| sh(s, "true")).unwrap();
    fs::remove_dir_all(bundle.rootfs()).unwrap();
    let id = env.id("bad");
    let err = env.runtime.create(&env.opts(&id, &bundle)).unwrap_err();
    ensure!(
        matches!(err, Error::Rootfs { .. }),
        "missing rootfs error: {err}"
    );
    ensure!(err.to_string().contains("rootfs"), "{err}");
    expect_clean(&env, &id)?;

    // An rlimit above what may be set (the nofile hard limit is capped by fs.nr_open).
    let bundle = Bundle::new(|s| {
        let mut p = s.process().clone().unwrap();
        p.set_rlimits(Some(vec![PosixRlimitBuilder::default()
            .typ(PosixRlimitType::RlimitNofile)
            .soft(1024u64)
            .hard(1u64 << 40)
            .build()
            .unwrap()]));
        s.set_process(Some(p));
        sh(s, "true");
    })
    .unwrap();
    let id = env.id("bad");
    let err = env
        .runtime
        .create(&env.opts(&id, &bundle))
        .unwrap_err()
        .to_string();
    ensure!(err.to_lowercase().contains("rlimit"), "rlimit error: {err}");
    expect_clean(&env, &id)?;

    // A failure inside init (a mount that cannot work) after the cgroup exists.
    let bundle = Bundle::new(|s| {
        let mut mounts = s.mounts().clone().unwrap();
        mounts.push(
            MountBuilder::default()
                .destination("/nope")
                .typ("bind")
                .source("/does/not/exist")
                .options(vec!["bind".into()])
                .build()
                .unwrap(),
        );
        s.set_mounts(Some(mounts));
        writable_root(s);
        sh(s, "true");
    })
    .unwrap();
    let id = env.id("bad");
    let err = env
        .runtime
        .create(&env.opts(&id, &bundle))
        .unwrap_err()
        .to_string();
    ensure!(err.contains("/does/not/exist"), "init failure error: {err}");
    expect_clean(&env, &id)?;

    // A duplicate id: the first container is untouched.
    let (first, pid, _b) = start_sleeper(&mut env, "dup", |_| {})?;
    let bundle = Bundle::new(|s| sh(s, "true")).unwrap();
    let err = env.runtime.create(&env.opts(&first, &bundle)).unwrap_err();
    ensure!(
        matches!(err, Error::Exists { .. }),
        "duplicate id error: {err}"
    );
    ensure!(
        env.runtime
            .load(&first)
            .map(|c| c.status == Status::Running && c.state.pid == pid)
            .unwrap_or(false),
        "first container harmed"
    );
    env.runtime
        .delete(&first, true)
        .map_err(|e| e.to_string())?;
    reap_children();
    let children_after = children_of_self();
    ensure!(
        children_after.len() <= children_before.len(),
        "processes left: {children_after:?}"
    );
    Ok(())
}

/// Pids whose parent is this test process.
fn children_of_self() -> Vec<i32> {
    let me = std::process::id().to_string();
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok()?.parse::<i32>().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit(')')
                        .next()
                        .map(|r| r.split_whitespace().nth(1) == Some(me.as_str()))
                })
                .unwrap_or(false)
        })
        .collect()
}
