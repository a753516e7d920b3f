//! The security setup and hooks on the real kernel, as root. Each test forks a child that
//! applies a spec with `finalize` (the way container init does, minus the namespaces) and
//! then either execs busybox or checks the kernel's answer itself; the parent asserts on
//! the child's exit, signal and output.

use std::ffi::CString;
use std::fs;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe, ForkResult};
use oci_spec::runtime::{Hook, LinuxSeccomp, Process};
use skiff_runtime::hooks::{self, HookError};
use skiff_runtime::security::{self, SecurityError};
use skiff_testutil::{unique_name, BUSYBOX};

/// Forking while another test thread allocates or logs could copy a held lock into the
/// child; one fork at a time keeps the other test threads parked on this mutex instead.
static FORK: Mutex<()> = Mutex::new(());

/// How a forked child ended, with everything it wrote to stdout and stderr.
struct Outcome {
    status: WaitStatus,
    output: String,
}

impl Outcome {
    fn assert_exit(&self, code: i32) {
        match self.status {
            WaitStatus::Exited(_, c) if c == code => {}
            other => panic!(
                "child ended with {other:?}, wanted exit {code}; output:\n{}",
                self.output
            ),
        }
    }

    /// The value of a `Key:` line of /proc/self/status printed by the child.
    fn status_field(&self, key: &str) -> String {
        self.output
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}:")))
            .unwrap_or_else(|| panic!("no {key} in output:\n{}", self.output))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Runs `child` in a forked process whose stdout and stderr go to a pipe. The child must
/// end by exec or by returning its exit code.
fn in_child(child: impl FnOnce() -> i32) -> Outcome {
    let _one_at_a_time = FORK.lock().unwrap_or_else(|e| e.into_inner());
    let (read_end, write_end) = pipe().unwrap();
    // SAFETY: the test holds FORK, so no other test thread is between allocations or
    // holding a lock the child needs; the child only runs the given closure and _exits.
    match unsafe { fork() }.unwrap() {
        ForkResult::Child => {
            drop(read_end);
            let _ = nix::unistd::dup2_stdout(&write_end);
            let _ = nix::unistd::dup2_stderr(&write_end);
            drop(write_end);
            let code = child();
            // SAFETY: _exit ends the forked child without running the parent's atexit
            // handlers or flushing stdio buffers copied from the parent.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop(write_end);
            let mut output = String::new();
            fs::File::from(read_end)
                .read_to_string(&mut output)
                .unwrap();
            let status = waitpid(child, None).unwrap();
            Outcome { status, output }
        }
    }
}

/// Writes a line to the child's stderr without taking std's stderr lock.
fn say(message: &str) {
    let _ = nix::unistd::write(std::io::stderr(), format!("{message}\n").as_bytes());
}

/// execv busybox with `args` (args[0] picks the applet); returns 127 if exec fails.
fn exec_busybox(args: &[&str]) -> i32 {
    let path = CString::new(BUSYBOX).unwrap();
    let args: Vec<CString> = args.iter().map(|a| CString::new(*a).unwrap()).collect();
    let err = nix::unistd::execv(&path, &args).unwrap_err();
    say(&format!("exec {BUSYBOX}: {err}"));
    127
}

/// finalize, printing the error and returning exit code 3 when it fails.
fn finalize_or_report(
    process: &Process,
    seccomp: Option<&LinuxSeccomp>,
) -> Result<Option<OwnedFd>, i32> {
    security::finalize(process, seccomp).map_err(|e| {
        say(&format!("finalize: {e}"));
        3
    })
}

/// The two ways the runtime can set a process up: `finalize` in the child, compiling the
/// filter there (libseccomp's linear layout), or `prepare_cached` in the parent and `apply` in
/// the child (binary-tree layout, through the on-disk cache).
enum Way {
    Finalize(Box<Process>, LinuxSeccomp),
    Prepared(Box<security::Prepared>),
}

impl Way {
    fn both(process: &Process, filter: &LinuxSeccomp, cache: &Path) -> [Way; 2] {
        let prepared = security::prepare_cached(process, Some(filter), cache).unwrap();
        [
            Way::Finalize(Box::new(process.clone()), filter.clone()),
            Way::Prepared(Box::new(prepared)),
        ]
    }

    /// In the child: applies the setup, printing the error and returning 3 if it fails.
    fn apply(&self) -> Result<Option<OwnedFd>, i32> {
        match self {
            Way::Finalize(process, filter) => finalize_or_report(process, Some(filter)),
            Way::Prepared(prepared) => prepared.apply().map_err(|e| {
                say(&format!("apply: {e}"));
                3
            }),
        }
    }
}

fn process(json: &str) -> Process {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("bad test process {json}: {e}"))
}

fn seccomp(json: &str) -> LinuxSeccomp {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("bad test seccomp {json}: {e}"))
}

/// Every capability this test process holds (root here may lack some, such as
/// CAP_SYS_RESOURCE in a sandbox), as a JSON list for the bounding, effective and permitted
/// sets.
fn all_caps() -> String {
    let held = caps::read(None, caps::CapSet::Permitted).unwrap();
    let names: Vec<String> = held.iter().map(|c| format!("\"{c}\"")).collect();
    let list = names.join(",");
    format!(
        r#"{{"bounding":[{list}],"effective":[{list}],"permitted":[{list}],"inheritable":[],"ambient":[]}}"#
    )
}

/// Docker's default capability set.
const DOCKER_CAPS: &str = r#"["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER","CAP_MKNOD","CAP_NET_RAW","CAP_SETGID","CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP","CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT","CAP_KILL","CAP_AUDIT_WRITE"]"#;

fn root_process_with_caps(caps: &str, extra: &str) -> Process {
    process(&format!(
        r#"{{"user":{{"uid":0,"gid":0}},"cwd":"/","args":["sh"],"capabilities":{caps}{extra}}}"#
    ))
}

fn docker_caps_json() -> String {
    format!(
        r#"{{"bounding":{DOCKER_CAPS},"effective":{DOCKER_CAPS},"permitted":{DOCKER_CAPS},"inheritable":[],"ambient":[]}}"#
    )
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&unique_name("skiff-sec"))
        .tempdir()
        .unwrap()
}

// ---- capabilities ----

/// Mounts a tmpfs on `target` in a private mount namespace of the child, after finalize.
fn mount_after_finalize(process: Process, target: PathBuf) -> Outcome {
    in_child(move || {
        use nix::mount::{mount, MsFlags};
        if let Err(e) = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).and_then(|_| {
            mount(
                None::<&str>,
                "/",
                None::<&str>,
                MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                None::<&str>,
            )
        }) {
            say(&format!("private mount namespace: {e}"));
            return 2;
        }
        if let Err(code) = finalize_or_report(&process, None) {
            return code;
        }
        match mount(
            Some("tmpfs"),
            &target,
            Some("tmpfs"),
            MsFlags::empty(),
            None::<&str>,
        ) {
            Ok(()) => 0,
            Err(Errno::EPERM) => 10,
            Err(e) => {
                say(&format!("mount: {e}"));
                11
            }
        }
    })
}

#[test]
fn without_cap_sys_admin_mount_fails_with_eperm() {
    let dir = tempdir();
    let outcome = mount_after_finalize(
        root_process_with_caps(&docker_caps_json(), ""),
        dir.path().into(),
    );
    outcome.assert_exit(10);
    // Control: the same with CAP_SYS_ADMIN kept mounts fine (in the child's own namespace).
    let outcome = mount_after_finalize(root_process_with_caps(&all_caps(), ""), dir.path().into());
    outcome.assert_exit(0);
}

#[test]
fn a_non_root_user_keeps_exactly_its_capabilities_across_exec() {
    // KILL is cap 5, NET_BIND_SERVICE cap 10: mask 0x420. Ambient carries them over execve
    // for a non-root user; PR_SET_KEEPCAPS carries them over setuid.
    let set = r#"["CAP_KILL","CAP_NET_BIND_SERVICE"]"#;
    let caps = format!(
        r#"{{"bounding":{set},"effective":{set},"permitted":{set},"inheritable":{set},"ambient":{set}}}"#
    );
    let p = process(&format!(
        r#"{{"user":{{"uid":1000,"gid":1001,"additionalGids":[2000,2001]}},"cwd":"/","capabilities":{caps}}}"#
    ));
    let outcome = in_child(move || match finalize_or_report(&p, None) {
        Ok(_) => exec_busybox(&["cat", "/proc/self/status"]),
        Err(code) => code,
    });
    outcome.assert_exit(0);
    assert_eq!(outcome.status_field("Uid"), "1000 1000 1000 1000");
    assert_eq!(outcome.status_field("Gid"), "1001 1001 1001 1001");
    assert_eq!(outcome.status_field("Groups"), "2000 2001");
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(outcome.status_field(set), "0000000000000420", "{set}");
    }
}

#[test]
fn root_with_docker_caps_has_that_bounding_set_and_no_supplementary_groups() {
    let p = root_process_with_caps(&docker_caps_json(), "");
    let outcome = in_child(move || match finalize_or_report(&p, None) {
        Ok(_) => exec_busybox(&["cat", "/proc/self/status"]),
        Err(code) => code,
    });
    outcome.assert_exit(0);
    // Docker's 14 default caps: 0x00000000a80425fb, as `docker run` shows in CapBnd.
    assert_eq!(outcome.status_field("CapBnd"), "00000000a80425fb");
    assert_eq!(outcome.status_field("CapEff"), "00000000a80425fb");
    assert_eq!(outcome.status_field("Groups"), "");
    assert_eq!(outcome.status_field("NoNewPrivs"), "0");
}

#[test]
fn capabilities_the_runtime_lacks_are_left_out_instead_of_failing() {
    // Ask for every capability Linux has; this process may hold fewer (here the sandbox
    // lacks CAP_SYS_RESOURCE). The container gets exactly what the runtime holds.
    let names: Vec<String> = caps::all().iter().map(|c| format!("\"{c}\"")).collect();
    let list = names.join(",");
    let every = format!(r#"{{"bounding":[{list}],"effective":[{list}],"permitted":[{list}]}}"#);
    let p = root_process_with_caps(&every, "");
    let outcome = in_child(move || match finalize_or_report(&p, None) {
        Ok(_) => exec_busybox(&["cat", "/proc/self/status"]),
        Err(code) => code,
    });
    outcome.assert_exit(0);
    let held = caps::read(None, caps::CapSet::Permitted).unwrap();
    let mask: u64 = held.iter().map(|c| c.bitmask()).sum();
    assert_eq!(outcome.status_field("CapEff"), format!("{mask:016x}"));
}

// ---- identity, umask, no_new_privileges, oom_score_adj ----

#[test]
fn umask_no_new_privileges_and_oom_score_adj_are_applied() {
    let p = process(
        r#"{"user":{"uid":0,"gid":0,"umask":23},"cwd":"/","noNewPrivileges":true,"oomScoreAdj":512}"#,
    );
    let outcome = in_child(move || match finalize_or_report(&p, None) {
        Ok(_) => exec_busybox(&[
            "sh",
            "-c",
            "echo umask=$(umask); echo oom=$(cat /proc/self/oom_score_adj); cat /proc/self/status",
        ]),
        Err(code) => code,
    });
    outcome.assert_exit(0);
    assert!(outcome.output.contains("umask=0027"), "{}", outcome.output);
    assert!(outcome.output.contains("oom=512"), "{}", outcome.output);
    assert_eq!(outcome.status_field("NoNewPrivs"), "1");
}

// ---- rlimits ----

#[test]
fn rlimits_are_applied() {
    let p = process(
        r#"{"user":{"uid":0,"gid":0},"cwd":"/","rlimits":[
            {"type":"RLIMIT_NOFILE","soft":123,"hard":456},
            {"type":"RLIMIT_CORE","soft":0,"hard":0}]}"#,
    );
    let outcome = in_child(move || match finalize_or_report(&p, None) {
        Ok(_) => exec_busybox(&["cat", "/proc/self/limits"]),
        Err(code) => code,
    });
    outcome.assert_exit(0);
    let nofile = outcome
        .output
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        nofile.split_whitespace().collect::<Vec<_>>()[3..5],
        ["123", "456"]
    );
    let core = outcome
        .output
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(
        core.split_whitespace().collect::<Vec<_>>()[4..6],
        ["0", "0"]
    );
}

#[test]
fn rlimits_can_be_set_on_init_from_outside() {
    let p = process(
        r#"{"user":{"uid":0,"gid":0},"cwd":"/","rlimits":[
            {"type":"RLIMIT_NOFILE","soft":77,"hard":88}]}"#,
    );
    let prepared = security::prepare(&p, None).unwrap();
    let mut sleeper = std::process::Command::new(BUSYBOX)
        .args(["sleep", "30"])
        .spawn()
        .unwrap();
    let pid = nix::unistd::Pid::from_raw(sleeper.id() as i32);
    let applied = security::apply_rlimits_to(pid, &prepared);
    let limits = fs::read_to_string(format!("/proc/{pid}/limits"));
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    applied.unwrap();
    let limits = limits.unwrap();
    let nofile = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        nofile.split_whitespace().collect::<Vec<_>>()[3..5],
        ["77", "88"]
    );
}

#[test]
fn an_rlimit_above_the_hard_limit_is_rejected_without_cap_sys_resource() {
    let (_, hard) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
    let p = process(&format!(
        r#"{{"user":{{"uid":0,"gid":0}},"cwd":"/","rlimits":[{{"type":"RLIMIT_NOFILE","soft":64,"hard":{}}}]}}"#,
        hard + 1
    ));
    let outcome = in_child(move || {
        // An unprivileged caller: no CAP_SYS_RESOURCE.
        if let Err(e) = caps::drop(
            None,
            caps::CapSet::Effective,
            caps::Capability::CAP_SYS_RESOURCE,
        ) {
            say(&format!("dropping CAP_SYS_RESOURCE: {e}"));
            return 2;
        }
        match security::validate(&p, None) {
            Err(e @ SecurityError::RlimitAboveHardLimit { .. }) => say(&format!("validate: {e}")),
            other => {
                say(&format!("validate gave {other:?}"));
                return 4;
            }
        }
        // finalize checks first too, so it refuses before touching anything.
        match security::finalize(&p, None) {
            Err(e @ SecurityError::RlimitAboveHardLimit { .. }) => {
                say(&format!("finalize: {e}"));
                0
            }
            other => {
                say(&format!("finalize gave {other:?}"));
                5
            }
        }
    });
    outcome.assert_exit(0);
    assert!(
        outcome
            .output
            .contains("validate: process.rlimits: RLIMIT_NOFILE hard limit"),
        "{}",
        outcome.output
    );
    assert!(
        outcome
            .output
            .contains("finalize: process.rlimits: RLIMIT_NOFILE"),
        "{}",
        outcome.output
    );
}

// ---- seccomp ----

#[test]
fn an_errno_rule_fails_the_syscall_with_that_errno() {
    let dir = tempdir();
    let target = dir.path().join("made");
    let target_str = target.to_str().unwrap().to_owned();
    // EDQUOT (122) is an errno mkdir would never return here by itself.
    let filter = seccomp(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":122}]}"#,
    );
    let p = root_process_with_caps(&all_caps(), "");
    let outcome = in_child(move || match finalize_or_report(&p, Some(&filter)) {
        Ok(_) => exec_busybox(&["mkdir", &target_str]),
        Err(code) => code,
    });
    outcome.assert_exit(1);
    assert!(
        outcome.output.contains("Disk quota exceeded"),
        "{}",
        outcome.output
    );
    assert!(!target.exists());
}

/// A non-root user without CAP_SYS_ADMIN under an ERRNO rule that gives no errno (EPERM).
fn mkdir_denied_for_a_user(no_new_privileges: bool) {
    let dir = tempdir();
    let target = dir.path().join("made");
    let target_str = target.to_str().unwrap().to_owned();
    let filter = seccomp(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#,
    );
    let p = process(&format!(
        r#"{{"user":{{"uid":1000,"gid":1000}},"cwd":"/","noNewPrivileges":{no_new_privileges},"capabilities":{}}}"#,
        docker_caps_json()
    ));
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let outcome = in_child(move || match finalize_or_report(&p, Some(&filter)) {
        Ok(_) => exec_busybox(&["mkdir", &target_str]),
        Err(code) => code,
    });
    outcome.assert_exit(1);
    assert!(
        outcome.output.contains("Operation not permitted"),
        "{}",
        outcome.output
    );
    assert!(!target.exists());
}

#[test]
fn a_filter_is_loaded_last_with_no_new_privileges() {
    mkdir_denied_for_a_user(true);
}

#[test]
fn a_filter_is_loaded_before_cap_sys_admin_goes_without_no_new_privileges() {
    // Loading a filter without no_new_privileges needs CAP_SYS_ADMIN, which this user does
    // not keep: finalize must load it before dropping capabilities.
    mkdir_denied_for_a_user(false);
}

#[test]
fn an_argument_filter_matches_only_the_given_arguments() {
    let dir = tempdir();
    let file = dir.path().join("f");
    fs::write(&file, "").unwrap();
    // chmod to exactly 0700 is refused with EDQUOT; other modes go through. chmod(2) has the
    // mode in argument 1, fchmodat(2) in argument 2 (tested with a mask on the permission
    // bits).
    let filter = seccomp(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["chmod"],"action":"SCMP_ACT_ERRNO","errnoRet":122,
             "args":[{"index":1,"value":448,"op":"SCMP_CMP_EQ"}]},
            {"names":["fchmodat","fchmodat2"],"action":"SCMP_ACT_ERRNO","errnoRet":122,
             "args":[{"index":2,"value":511,"valueTwo":448,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#,
    );
    let p = root_process_with_caps(&all_caps(), "");
    for way in Way::both(&p, &filter, &dir.path().join("cache")) {
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        let path = file.clone();
        let outcome = in_child(move || {
            if let Err(code) = way.apply() {
                return code;
            }
            let chmod = |mode: u32| {
                nix::sys::stat::fchmodat(
                    nix::fcntl::AT_FDCWD,
                    &path,
                    Mode::from_bits_truncate(mode),
                    nix::sys::stat::FchmodatFlags::FollowSymlink,
                )
            };
            match (chmod(0o755), chmod(0o700), chmod(0o640)) {
                (Ok(()), Err(Errno::EDQUOT), Ok(())) => 0,
                other => {
                    say(&format!("chmod results: {other:?}"));
                    1
                }
            }
        });
        outcome.assert_exit(0);
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }
}

fn killed_by(action: &str) -> Outcome {
    // Every flag the spec has, on a filter without NOTIFY rules.
    let filter = seccomp(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW",
            "flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                     "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV","SECCOMP_FILTER_FLAG_TSYNC"],
            "syscalls":[{{"names":["getppid"],"action":"{action}"}}]}}"#
    ));
    let p = root_process_with_caps(&all_caps(), "");
    in_child(move || {
        if let Err(code) = finalize_or_report(&p, Some(&filter)) {
            return code;
        }
        nix::unistd::getppid();
        say("getppid returned");
        0
    })
}

#[test]
fn kill_actions_kill_with_sigsys() {
    for action in [
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_TRAP",
    ] {
        let outcome = killed_by(action);
        assert!(
            matches!(outcome.status, WaitStatus::Signaled(_, Signal::SIGSYS, _)),
            "{action}: {:?} {}",
            outcome.status,
            outcome.output
        );
    }
}

#[test]
fn log_allows_the_call_and_default_action_with_errno_applies_to_the_rest() {
    let outcome = killed_by("SCMP_ACT_LOG");
    outcome.assert_exit(0);
    assert!(outcome.output.contains("getppid returned"));
    // The kernel also writes an audit record (code=0x7ffc0000) for it; printk rate-limits
    // those records when no audit daemon runs, so it is not asserted here.

    // Deny by default with EDQUOT; allow only what the child needs to report and exit.
    let filter = seccomp(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":122,"syscalls":[
            {"names":["write","exit","exit_group"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let dir = tempdir();
    let target = dir.path().join("made");
    let p = process(r#"{"user":{"uid":0,"gid":0},"cwd":"/","noNewPrivileges":true}"#);
    let path = target.clone();
    let outcome = in_child(move || {
        if let Err(code) = finalize_or_report(&p, Some(&filter)) {
            return code;
        }
        match nix::unistd::mkdir(&path, Mode::S_IRWXU) {
            Err(Errno::EDQUOT) => 0,
            other => {
                say(&format!("mkdir gave {other:?}"));
                1
            }
        }
    });
    outcome.assert_exit(0);
    assert!(!target.exists());
}

#[test]
fn syscalls_newer_than_a_deny_by_default_profile_get_enosys() {
    // The highest syscall this profile names is exit_group (231 on x86_64): mkdir (83) is
    // simply denied (EPERM), memfd_create (319) is "newer than the profile" (ENOSYS), so a
    // C library would fall back to an older call.
    let filter = seccomp(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["write","exit","exit_group","getppid"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let dir = tempdir();
    let target = dir.path().join("made");
    let p = process(r#"{"user":{"uid":0,"gid":0},"cwd":"/","noNewPrivileges":true}"#);
    for way in Way::both(&p, &filter, &dir.path().join("cache")) {
        let path = target.clone();
        let outcome = in_child(move || {
            if let Err(code) = way.apply() {
                return code;
            }
            let mkdir = nix::unistd::mkdir(&path, Mode::S_IRWXU);
            let memfd =
                nix::sys::memfd::memfd_create("x", nix::sys::memfd::MFdFlags::empty()).map(drop);
            match (mkdir, memfd) {
                (Err(Errno::EPERM), Err(Errno::ENOSYS)) => 0,
                other => {
                    say(&format!("mkdir, memfd_create gave {other:?}"));
                    1
                }
            }
        });
        outcome.assert_exit(0);
    }
}

#[test]
fn notify_hands_a_working_listener_to_the_agent() {
    let dir = tempdir();
    let socket_path = dir.path().join("agent.sock");
    let agent = UnixListener::bind(&socket_path).unwrap();
    agent.set_nonblocking(true).unwrap();
    let target = dir.path().join("made");
    let filter = seccomp(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"{}","listenerMetadata":"m1",
            "flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                     "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV","SECCOMP_FILTER_FLAG_TSYNC"],
            "syscalls":[{{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_NOTIFY"}}]}}"#,
        socket_path.display()
    ));
    let p = root_process_with_caps(&all_caps(), "");
    let (socket, path) = (socket_path.clone(), target.clone());
    let state =
        r#"{"ociVersion":"1.2.0","id":"notify-test","status":"creating","pid":77,"bundle":"/b"}"#;

    let _one_at_a_time = FORK.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: as in `in_child`: FORK is held, and the child ends with _exit.
    let child = match unsafe { fork() }.unwrap() {
        ForkResult::Child => {
            let code = (|| {
                let listener = match finalize_or_report(&p, Some(&filter)) {
                    Ok(Some(fd)) => fd,
                    Ok(None) => return 4,
                    Err(code) => return code,
                };
                if let Err(e) =
                    security::send_seccomp_listener(&socket, listener.as_fd(), state, "m1")
                {
                    say(&format!("send: {e}"));
                    return 5;
                }
                drop(listener);
                // The agent answers this mkdir with EDQUOT.
                match nix::unistd::mkdir(&path, Mode::S_IRWXU) {
                    Err(Errno::EDQUOT) => 0,
                    other => {
                        say(&format!("mkdir gave {other:?}"));
                        6
                    }
                }
            })();
            // SAFETY: ends the forked child without the parent's atexit handlers.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => child,
    };

    // The agent: accept the connection, take the state and the fd, answer one notification.
    let deadline = Instant::now() + Duration::from_secs(20);
    let connection = loop {
        match agent.accept() {
            Ok((connection, _)) => break connection,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => {
                let _ = nix::sys::signal::kill(child, Signal::SIGKILL);
                panic!("agent accept: {e}; child {:?}", waitpid(child, None));
            }
        }
    };
    connection.set_nonblocking(false).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let msg = nix::sys::socket::recvmsg::<()>(
        connection.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        nix::sys::socket::MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .unwrap();
    let mut received = None;
    for c in msg.cmsgs().unwrap() {
        if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c {
            received = fds.first().copied();
        }
    }
    let len = msg.bytes;
    let listener = received.expect("an fd in SCM_RIGHTS");
    let doc: serde_json::Value = serde_json::from_slice(&buf[..len]).unwrap();
    assert_eq!(doc["fds"], serde_json::json!(["seccompFd"]));
    assert_eq!(doc["metadata"], "m1");
    assert_eq!(doc["pid"], 77);
    assert_eq!(doc["state"]["id"], "notify-test");

    let request = libseccomp::ScmpNotifReq::receive(listener).unwrap();
    let name = request.data.syscall.get_name().unwrap();
    assert!(name == "mkdir" || name == "mkdirat", "notified for {name}");
    libseccomp::ScmpNotifResp::new_error(
        request.id,
        -libc::EDQUOT,
        libseccomp::ScmpNotifRespFlags::empty(),
    )
    .respond(listener)
    .unwrap();
    let status = waitpid(child, None).unwrap();
    // SAFETY: `listener` came to us through SCM_RIGHTS and nothing else owns it.
    drop(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(listener) });
    assert!(
        matches!(status, WaitStatus::Exited(_, 0)),
        "child {status:?}"
    );
    assert!(!target.exists());
}

#[test]
fn dockers_default_profile_runs_a_shell_and_refuses_unshare() {
    let caps: Vec<String> = serde_json::from_str(DOCKER_CAPS).unwrap();
    let filter = security::docker_default_seccomp(&caps);
    let p = root_process_with_caps(&docker_caps_json(), r#","noNewPrivileges":true"#);
    let cache = tempdir();
    // Finalize, then the cache's first (compiling) and second (reading) use.
    let [finalize, first] = Way::both(&p, &filter, cache.path());
    let [_, second] = Way::both(&p, &filter, cache.path());
    for way in [finalize, first, second] {
        let outcome = in_child(move || {
            match way.apply() {
        Ok(_) => exec_busybox(&[
            "sh",
            "-c",
            "echo hello from $(id -u); busybox unshare -U true && echo unshared || echo refused",
        ]),
        Err(code) => code,
    }
        });
        outcome.assert_exit(0);
        assert!(
            outcome.output.contains("hello from 0"),
            "{}",
            outcome.output
        );
        assert!(outcome.output.contains("refused"), "{}", outcome.output);
        assert!(
            outcome.output.contains("Operation not permitted"),
            "{}",
            outcome.output
        );
    }
}

#[test]
fn validate_rejects_bad_input_before_anything_runs() {
    let p = process(r#"{"user":{"uid":0,"gid":0},"cwd":"/"}"#);
    let bad_index = seccomp(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":7,"value":0,"op":"SCMP_CMP_EQ"}]}]}"#,
    );
    let err = security::validate(&p, Some(&bad_index)).unwrap_err();
    assert!(err.to_string().contains("index 7"), "{err}");
    let soft_above_hard = process(
        r#"{"user":{"uid":0,"gid":0},"cwd":"/","rlimits":[{"type":"RLIMIT_NPROC","soft":9,"hard":1}]}"#,
    );
    let err = security::validate(&soft_above_hard, None).unwrap_err();
    assert!(err.to_string().contains("RLIMIT_NPROC"), "{err}");
    let oom = process(r#"{"user":{"uid":0,"gid":0},"cwd":"/","oomScoreAdj":5000}"#);
    assert!(matches!(
        security::validate(&oom, None),
        Err(SecurityError::OomScoreAdjRange { .. })
    ));
    // And a good one passes.
    security::validate(&p, Some(&security::docker_default_seccomp(&[]))).unwrap();
}

// ---- hooks ----

fn hook(args: &[&str], env: &[&str], timeout: Option<i64>) -> Hook {
    let mut hook = Hook::default();
    hook.set_path(PathBuf::from(BUSYBOX));
    hook.set_args(Some(args.iter().map(|a| (*a).to_owned()).collect()));
    if !env.is_empty() {
        hook.set_env(Some(env.iter().map(|e| (*e).to_owned()).collect()));
    }
    hook.set_timeout(timeout);
    hook
}

const STATE: &str = r#"{"ociVersion":"1.2.0","id":"h1","status":"created","pid":1,"bundle":"/b"}"#;

#[test]
fn a_hook_gets_the_state_on_stdin_and_its_env() {
    let dir = tempdir();
    let out = dir.path().join("state");
    let env = format!("OUT={}", out.display());
    let h = hook(
        &["sh", "-c", r#"test "$FOO" = bar && cat > "$OUT""#],
        &[&env, "FOO=bar"],
        Some(5),
    );
    hooks::run(&[h], STATE).unwrap();
    assert_eq!(fs::read_to_string(&out).unwrap(), STATE);
}

#[test]
fn a_failing_hook_names_its_path_status_and_stderr_and_stops_the_rest() {
    let dir = tempdir();
    let marker = dir.path().join("second-ran");
    let failing = hook(&["sh", "-c", "echo something broke >&2; exit 3"], &[], None);
    let second = hook(&["touch", marker.to_str().unwrap()], &[], None);
    let err = hooks::run(&[failing, second], STATE).unwrap_err();
    assert!(matches!(err, HookError::Failed { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(BUSYBOX), "{text}");
    assert!(text.contains("exit status: 3"), "{text}");
    assert!(text.contains("something broke"), "{text}");
    assert!(!marker.exists(), "hooks after a failure must not run");
}

#[test]
fn a_hook_past_its_timeout_is_killed() {
    let dir = tempdir();
    let pidfile = dir.path().join("pid");
    let script = format!("echo $$ > {}; exec sleep 30", pidfile.display());
    let started = Instant::now();
    let err = hooks::run(&[hook(&["sh", "-c", &script], &[], Some(1))], STATE).unwrap_err();
    assert!(
        matches!(err, HookError::TimedOut { timeout: 1, .. }),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    // The hook process is gone (killed and reaped).
    let pid: i32 = fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "hook {pid} still exists"
    );
}

#[test]
fn a_hook_that_leaves_a_background_child_holding_its_output_does_not_block() {
    let started = Instant::now();
    hooks::run(
        &[hook(&["sh", "-c", "sleep 5 & echo started"], &[], None)],
        STATE,
    )
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_missing_hook_or_a_bad_timeout_is_a_clear_error() {
    let mut missing = hook(&["nope"], &[], None);
    missing.set_path(PathBuf::from("/nonexistent/skiff-hook"));
    let err = hooks::run(&[missing], STATE).unwrap_err();
    assert!(matches!(err, HookError::Spawn { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/skiff-hook"), "{err}");
    let err = hooks::run(&[hook(&["true"], &[], Some(0))], STATE).unwrap_err();
    assert!(
        matches!(err, HookError::InvalidTimeout { timeout: 0, .. }),
        "{err}"
    );
}
