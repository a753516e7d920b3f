//! The container verbs end to end, through the built `skiff` binary, as root on the real
//! kernel. Each test has its own state root (with its own runtime state and cgroups named
//! by random container ids) and a guard that removes every container, kills monitors and
//! unmounts what is left, even when the test fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

/// A private state root with a `busybox` image imported into it.
struct Root {
    dir: tempfile::TempDir,
}

impl Root {
    fn new() -> Root {
        let dir = tempfile::Builder::new()
            .prefix("skiff-cli-test")
            .tempdir()
            .unwrap();
        let rootfs = dir.path().join("rootfs");
        skiff_testutil::busybox_rootfs(&rootfs).unwrap();
        let tar = dir.path().join("busybox.tar");
        let status = Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .unwrap();
        assert!(status.success());
        let root = Root { dir };
        let out = root.skiff(&["import", tar.to_str().unwrap(), "busybox"]);
        assert!(
            out.status.success(),
            "import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        root
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(SKIFF);
        c.arg("--root").arg(self.path()).args(args);
        c
    }

    fn skiff(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().unwrap()
    }

    /// Runs skiff, asserts success, returns trimmed stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.skiff(args);
        assert!(
            out.status.success(),
            "skiff {args:?} failed ({:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn inspect(&self, name: &str, template: &str) -> String {
        self.ok(&["inspect", "-f", template, name])
    }

    /// Polls until `cond` holds, at most `secs` seconds.
    fn wait_for(&self, secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn monitor_pid(&self, name: &str) -> i32 {
        let id = self.inspect(name, "{{.Id}}");
        let record: serde_json::Value = serde_json::from_slice(
            &std::fs::read(
                self.path()
                    .join("containers")
                    .join(id)
                    .join("container.json"),
            )
            .unwrap(),
        )
        .unwrap();
        record["state"]["monitor_pid"].as_i64().unwrap() as i32
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let ids = self.skiff(&["ps", "-aq", "--no-trunc"]);
        for id in String::from_utf8_lossy(&ids.stdout).lines() {
            let _ = self.skiff(&["rm", "-f", id]);
        }
        // Whatever survived (a test that broke a monitor on purpose): kill by cgroup via the
        // runtime's state, then unmount everything under the root.
        let state = self.path();
        if let Ok(mounts) = std::fs::read_to_string("/proc/self/mountinfo") {
            for line in mounts.lines() {
                if let Some(point) = line.split_whitespace().nth(4) {
                    if Path::new(point).starts_with(&state) {
                        let _ = nix::mount::umount2(point, nix::mount::MntFlags::MNT_DETACH);
                    }
                }
            }
        }
    }
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

#[test]
fn run_rm_gives_dockers_exit_codes_and_leaves_nothing() {
    let root = Root::new();
    let out = root.skiff(&["run", "--rm", "busybox", "echo", "hello"]);
    assert_eq!(code(&out), 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
    assert_eq!(
        code(&root.skiff(&["run", "--rm", "busybox", "sh", "-c", "exit 3"])),
        3
    );
    let missing = root.skiff(&["run", "--rm", "busybox", "no-such-command"]);
    assert_eq!(code(&missing), 127);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("executable file not found"));
    assert_eq!(
        code(&root.skiff(&["run", "--rm", "busybox", "/etc/passwd"])),
        126,
        "exists but cannot run"
    );
    assert_eq!(code(&root.skiff(&["run", "--rm", "no-such-image"])), 125);
    assert_eq!(root.ok(&["ps", "-aq"]), "", "--rm removed every container");
    let left: Vec<_> = std::fs::read_dir(root.path().join("containers"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .collect();
    assert!(left.is_empty(), "container dirs left: {left:?}");
}

#[test]
fn detached_container_lists_logs_stops_and_is_removed() {
    let root = Root::new();
    let id = root.ok(&[
        "run", "-d", "--name", "ticker", "-l", "app=demo", "busybox", "sh", "-c",
        "trap 'exit 0' TERM; i=0; while true; do echo out $i; echo err $i >&2; i=$((i+1)); sleep 0.1; done",
    ]);
    assert_eq!(id.len(), 64);
    assert_eq!(root.ok(&["ps", "-q"]), &id[..12]);
    assert_eq!(
        root.ok(&[
            "ps",
            "--format",
            "{{.Names}}\t{{.State}}",
            "--filter",
            "label=app=demo"
        ]),
        "ticker\trunning"
    );
    assert!(
        root.ok(&["ps"]).lines().nth(1).unwrap().contains("Up "),
        "docker's status wording"
    );
    root.wait_for(10, "five log lines", || {
        root.ok(&["logs", "ticker"]).lines().count() >= 5
    });

    // The log file is docker's json-file format.
    let log = std::fs::read_to_string(
        root.path()
            .join("containers")
            .join(&id)
            .join(format!("{id}-json.log")),
    )
    .unwrap();
    let first: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(first["log"], "out 0\n");
    assert_eq!(first["stream"], "stdout");
    assert!(first["time"].as_str().unwrap().ends_with('Z'));
    assert!(log.lines().any(|l| l.contains("\"stream\":\"stderr\"")));

    let tail = root.skiff(&["logs", "--tail", "2", "ticker"]);
    let (out, err) = (
        String::from_utf8_lossy(&tail.stdout),
        String::from_utf8_lossy(&tail.stderr),
    );
    assert_eq!(
        out.lines().count() + err.lines().count(),
        2,
        "--tail 2: {out:?} {err:?}"
    );
    let stamped = root.skiff(&["logs", "-t", "--tail", "1", "ticker"]);
    let stamped = String::from_utf8_lossy(&stamped.stdout).to_string()
        + &String::from_utf8_lossy(&stamped.stderr);
    assert!(
        stamped.starts_with("20") && stamped.contains("Z "),
        "-t: {stamped}"
    );

    assert_eq!(root.ok(&["stop", "-t", "5", "ticker"]), "ticker");
    assert_eq!(
        root.inspect(
            "ticker",
            "{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}"
        ),
        "exited 0 false"
    );
    assert!(root.ok(&["ps", "-a"]).contains("Exited (0)"));
    assert_eq!(root.ok(&["ps", "-q"]), "", "not running any more");
    assert_eq!(
        root.ok(&["rm", &id[..6]]),
        id[..6].to_string(),
        "an id prefix resolves"
    );
    assert_eq!(root.ok(&["ps", "-aq"]), "");
    assert!(!root.path().join("containers").join(&id).exists());
}

#[test]
fn container_survives_its_cli_being_killed() {
    let root = Root::new();
    let mut cli = root
        .command(&[
            "run",
            "--name",
            "survivor",
            "busybox",
            "sh",
            "-c",
            "sleep 1; echo done",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    root.wait_for(10, "the container to run", || {
        root.ok(&["ps", "-q", "--filter", "name=survivor"]).len() == 12
    });
    cli.kill().unwrap();
    cli.wait().unwrap();
    assert_eq!(root.ok(&["wait", "survivor"]), "0");
    assert_eq!(root.ok(&["logs", "survivor"]), "done");
    assert_eq!(root.inspect("survivor", "{{.State.Status}}"), "exited");
}

#[test]
fn oom_kill_is_recorded() {
    let root = Root::new();
    let out = root.skiff(&[
        "run",
        "--name",
        "hog",
        "--memory",
        "16m",
        "--memory-swap",
        "16m",
        "busybox",
        "sh",
        "-c",
        "tail /dev/zero",
    ]);
    assert_eq!(code(&out), 137, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        root.inspect("hog", "{{.State.OOMKilled}} {{.State.ExitCode}}"),
        "true 137"
    );
    assert_eq!(
        root.inspect("hog", "{{.HostConfig.Memory}}"),
        (16 << 20).to_string()
    );
}

#[test]
fn on_failure_restarts_twice_then_gives_up() {
    let root = Root::new();
    root.ok(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "echo try; exit 1",
    ]);
    root.wait_for(20, "the restarts to end", || {
        root.inspect("flaky", "{{.State.Status}}") == "exited"
    });
    assert_eq!(
        root.inspect("flaky", "{{.RestartCount}} {{.State.ExitCode}}"),
        "2 1"
    );
    assert_eq!(
        root.ok(&["logs", "flaky"])
            .lines()
            .filter(|l| *l == "try")
            .count(),
        3,
        "first run and two restarts"
    );
}

#[test]
fn twenty_parallel_detached_runs() {
    let root = Root::new();
    let children: Vec<_> = (0..20)
        .map(|i| {
            root.command(&[
                "run",
                "-d",
                "--name",
                &format!("par{i}"),
                "busybox",
                "sleep",
                "60",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let running = root.ok(&["ps", "-q"]);
    assert_eq!(running.lines().count(), 20, "{running}");
    let mut names: Vec<String> = root
        .ok(&["ps", "--format", "{{.Names}}"])
        .lines()
        .map(String::from)
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 20);
    // Monitors go lean 200 ms after their container started.
    std::thread::sleep(Duration::from_millis(400));
    let mut rss_kb = Vec::new();
    for name in &names {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", root.monitor_pid(name))).unwrap();
        let rss = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string();
        rss_kb.push(rss.parse::<u64>().unwrap());
    }
    println!("monitor VmRSS kB of 20 idle containers: {rss_kb:?}");
    let ids = root.ok(&["ps", "-q"]);
    let mut args = vec!["rm", "-f"];
    args.extend(ids.lines());
    root.ok(&args);
    assert_eq!(root.ok(&["ps", "-aq"]), "");
}

#[test]
fn a_killed_monitor_leaves_state_that_ps_and_rm_handle() {
    let root = Root::new();
    root.ok(&["run", "-d", "--name", "orphan", "busybox", "sleep", "60"]);
    let monitor = root.monitor_pid("orphan");
    let init: i32 = root.inspect("orphan", "{{.State.Pid}}").parse().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(monitor),
        nix::sys::signal::SIGKILL,
    )
    .unwrap();
    root.wait_for(5, "the monitor to die", || {
        !Path::new(&format!("/proc/{monitor}")).exists()
    });
    // The container itself still runs.
    assert_eq!(root.inspect("orphan", "{{.State.Status}}"), "running");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(init), nix::sys::signal::SIGKILL).unwrap();
    root.wait_for(5, "ps to see it exited", || {
        root.ok(&["ps", "-a", "--format", "{{.State}}"]) == "exited"
    });
    root.ok(&["rm", "-f", "orphan"]);
    assert_eq!(root.ok(&["ps", "-aq"]), "");
}

#[test]
fn name_conflicts_are_clear_errors() {
    let root = Root::new();
    root.ok(&["create", "--name", "twin", "busybox", "true"]);
    let again = root.skiff(&["create", "--name", "twin", "busybox", "true"]);
    assert_eq!(code(&again), 125);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("Conflict. The container name \"/twin\" is already in use"),
        "{err}"
    );
    let bad = root.skiff(&["create", "--name", "no/slash", "busybox", "true"]);
    assert_eq!(code(&bad), 125);
    root.ok(&["rename", "twin", "single"]);
    assert_eq!(
        root.ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]),
        "single Created"
    );
    assert_eq!(root.ok(&["start", "single"]), "single");
    assert_eq!(root.ok(&["wait", "single"]), "0");
}

#[test]
fn exec_top_pause_and_env() {
    let root = Root::new();
    root.ok(&[
        "run", "-d", "--name", "box", "-e", "FOO=bar", "-w", "/tmp", "busybox", "sleep", "60",
    ]);
    assert_eq!(
        root.ok(&["exec", "box", "sh", "-c", "echo $FOO $PWD"]),
        "bar /tmp"
    );
    assert_eq!(code(&root.skiff(&["exec", "box", "sh", "-c", "exit 7"])), 7);
    assert_eq!(
        root.ok(&[
            "exec",
            "-e",
            "X=1",
            "-u",
            "65534",
            "box",
            "sh",
            "-c",
            "echo $X $(id -u)"
        ]),
        "1 65534"
    );
    assert!(root.ok(&["top", "box"]).contains("sleep 60"));
    root.ok(&["pause", "box"]);
    assert_eq!(
        root.inspect("box", "{{.State.Status}} {{.State.Paused}}"),
        "paused true"
    );
    root.ok(&["unpause", "box"]);
    assert_eq!(root.inspect("box", "{{.State.Status}}"), "running");
    root.ok(&["kill", "box"]);
    root.wait_for(5, "the kill", || {
        root.inspect("box", "{{.State.Status}}") == "exited"
    });
    assert_eq!(root.inspect("box", "{{.State.ExitCode}}"), "137");
}

#[test]
fn tty_gives_the_container_a_terminal() {
    let root = Root::new();
    root.ok(&[
        "run",
        "-d",
        "-t",
        "--name",
        "term",
        "busybox",
        "sh",
        "-c",
        "tty; echo $TERM",
    ]);
    assert_eq!(root.ok(&["wait", "term"]), "0");
    let logs = root.ok(&["logs", "term"]);
    assert_eq!(
        logs.replace('\r', ""),
        "/dev/pts/0\nxterm",
        "the pty's output (CRLF) is the log"
    );
    assert_eq!(root.inspect("term", "{{.Config.Tty}}"), "true");
}

#[test]
fn security_mount_and_limit_flags_apply() {
    let root = Root::new();
    let host = root.dir.path().join("shared");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("file"), "from host").unwrap();
    let volume = format!("{}:/host:ro", host.display());
    let out = root.ok(&[
        "run", "--rm", "--read-only", "-v", &volume, "--tmpfs", "/scratch", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges", "--ulimit", "nofile=100:200", "--shm-size", "8m",
        "busybox", "sh", "-c",
        "touch /x 2>/dev/null || echo ro; cat /host/file; echo; touch /host/y 2>/dev/null || echo host-ro; \
         touch /scratch/ok && echo tmpfs; ulimit -n; grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; \
         df -k /dev/shm | tail -1",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        &lines[..5],
        ["ro", "from host", "host-ro", "tmpfs", "100"],
        "{out}"
    );
    assert!(out.contains("CapEff:\t0000000000000000"), "{out}");
    assert!(
        out.contains("NoNewPrivs:\t1") && out.contains("Seccomp:\t2"),
        "{out}"
    );
    assert!(lines.last().unwrap().contains(" 8192 "), "shm size: {out}");
    let default = root.ok(&[
        "run",
        "--rm",
        "busybox",
        "grep",
        "-E",
        "^(CapEff|Seccomp):",
        "/proc/self/status",
    ]);
    assert_eq!(
        default, "CapEff:\t00000000a80425fb\nSeccomp:\t2",
        "docker's default caps and seccomp"
    );
    let privileged = root.ok(&[
        "run",
        "--rm",
        "--privileged",
        "busybox",
        "grep",
        "^Seccomp:",
        "/proc/self/status",
    ]);
    assert_eq!(privileged, "Seccomp:\t0");

    root.ok(&[
        "run",
        "-d",
        "--name",
        "limited",
        "--memory",
        "32m",
        "--pids-limit",
        "50",
        "busybox",
        "sleep",
        "60",
    ]);
    root.ok(&["update", "--memory", "64m", "limited"]);
    assert_eq!(
        root.inspect(
            "limited",
            "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}"
        ),
        format!("{} 50", 64 << 20)
    );
    let stats = root.ok(&["stats", "--no-stream", "limited"]);
    assert!(stats.contains("/ 64MiB"), "{stats}");
}

#[test]
fn runc_as_an_external_runtime() {
    let root = Root::new();
    let out = root.skiff(&[
        "run",
        "--rm",
        "--runtime",
        "runc",
        "busybox",
        "sh",
        "-c",
        "echo via runc; exit 3",
    ]);
    assert_eq!(code(&out), 3, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "via runc\n");
    assert_eq!(
        code(&root.skiff(&[
            "run",
            "--rm",
            "--runtime",
            "runc",
            "busybox",
            "no-such-command"
        ])),
        127
    );
    root.ok(&[
        "run",
        "-d",
        "--runtime",
        "runc",
        "--name",
        "viarunc",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 0' TERM; while true; do sleep 0.1; done",
    ]);
    assert!(root.ok(&["top", "viarunc"]).contains("sleep"));
    root.ok(&["stop", "-t", "5", "viarunc"]);
    assert_eq!(
        root.inspect(
            "viarunc",
            "{{.State.Status}} {{.State.ExitCode}} {{.HostConfig.Runtime}}"
        ),
        "exited 0 runc"
    );
    let hog = root.skiff(&[
        "run",
        "--runtime",
        "runc",
        "--name",
        "hog",
        "--memory",
        "16m",
        "--memory-swap",
        "16m",
        "busybox",
        "sh",
        "-c",
        "tail /dev/zero",
    ]);
    assert_eq!(code(&hog), 137);
    assert_eq!(root.inspect("hog", "{{.State.OOMKilled}}"), "true");
    let missing = root.skiff(&[
        "run",
        "--rm",
        "--runtime",
        "no-such-runtime",
        "busybox",
        "true",
    ]);
    assert_eq!(code(&missing), 125);
}
