//! `skiff runtime` driven as a program, next to real runc 1.1 on the same bundle: the output
//! of state/list must have runc's shape, errors must be logged the way runc logs them, and
//! the CVE-2019-5736 defence must hold. Real containers, as root.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use skiff_testutil::{unique_name, Bundle};

const SKIFF: &str = env!("CARGO_BIN_EXE_skiff");

/// A runtime root for skiff and one for runc, with the containers started in them deleted
/// (forcefully) on drop.
struct Roots {
    dir: tempfile::TempDir,
    started: Vec<(bool, String)>,
}

impl Roots {
    fn new() -> Roots {
        Roots {
            dir: tempfile::Builder::new()
                .prefix("skiff-cli-rt")
                .tempdir()
                .unwrap(),
            started: Vec::new(),
        }
    }

    fn root(&self, runc: bool) -> PathBuf {
        self.dir.path().join(if runc { "runc" } else { "skiff" })
    }

    /// Runs skiff (or runc) with `--root` and `args`.
    fn run(&self, runc: bool, args: &[&str]) -> Output {
        let mut cmd = if runc {
            Command::new("runc")
        } else {
            let mut c = Command::new(SKIFF);
            c.arg("runtime");
            c
        };
        cmd.arg("--root").arg(self.root(runc)).args(args);
        cmd.output().expect("run the runtime")
    }

    /// `create`, with the container's stdio on files: the container's init inherits it, so
    /// pipes would stay open (and `output()` wait) for the container's whole life.
    fn create(&mut self, runc: bool, id: &str, bundle: &Path) {
        self.started.push((runc, id.to_string()));
        let err_path = self.dir.path().join(format!("{id}-{runc}.err"));
        let err = std::fs::File::create(&err_path).unwrap();
        let mut cmd = if runc {
            Command::new("runc")
        } else {
            let mut c = Command::new(SKIFF);
            c.arg("runtime");
            c
        };
        let status = cmd
            .arg("--root")
            .arg(self.root(runc))
            .args(["create", "--bundle", bundle.to_str().unwrap(), id])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(err)
            .status()
            .expect("run the runtime");
        let text = std::fs::read_to_string(&err_path).unwrap_or_default();
        assert!(status.success(), "create with runc={runc}: {text}");
    }
}

impl Drop for Roots {
    fn drop(&mut self) {
        for (runc, id) in &self.started {
            let _ = self.run(*runc, &["delete", "--force", id]);
        }
    }
}

fn runc_available() -> bool {
    Command::new("runc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The sorted keys of a JSON object and the JSON type of each value.
fn shape(v: &serde_json::Value) -> Vec<(String, &'static str)> {
    let mut keys: Vec<(String, &'static str)> = v
        .as_object()
        .expect("object")
        .iter()
        .map(|(k, v)| {
            let t = match v {
                serde_json::Value::Null => "null",
                serde_json::Value::Bool(_) => "bool",
                serde_json::Value::Number(_) => "number",
                serde_json::Value::String(_) => "string",
                serde_json::Value::Array(_) => "array",
                serde_json::Value::Object(_) => "object",
            };
            (k.clone(), t)
        })
        .collect();
    keys.sort();
    keys
}

fn sleeper() -> Bundle {
    Bundle::new(|s| {
        let mut p = s.process().clone().unwrap();
        p.set_args(Some(vec!["sleep".into(), "30".into()]));
        s.set_process(Some(p));
    })
    .unwrap()
}

#[test]
fn state_and_list_have_runcs_shape() {
    if !runc_available() {
        eprintln!("runc not installed: skipping the side-by-side comparison");
        return;
    }
    let bundle = sleeper();
    let mut roots = Roots::new();
    let id = unique_name("cmp");
    roots.create(false, &id, bundle.path());
    roots.create(true, &id, bundle.path());

    for status in ["created", "running"] {
        let ours = roots.run(false, &["state", &id]);
        let theirs = roots.run(true, &["state", &id]);
        assert!(
            ours.status.success(),
            "{}",
            String::from_utf8_lossy(&ours.stderr)
        );
        let (a, b) = (stdout(&ours), stdout(&theirs));
        // runc prints indented JSON without a trailing newline.
        assert_eq!(
            a.ends_with('\n'),
            b.ends_with('\n'),
            "trailing newline differs:\n{a}\n{b}"
        );
        assert_eq!(
            a.lines().count(),
            b.lines().count(),
            "line count differs:\n{a}\n{b}"
        );
        let ja: serde_json::Value = serde_json::from_str(&a).unwrap();
        let jb: serde_json::Value = serde_json::from_str(&b).unwrap();
        assert_eq!(shape(&ja), shape(&jb), "state shape:\n{a}\n{b}");
        assert_eq!(ja["status"], status);
        assert_eq!(jb["status"], status);
        assert_eq!(ja["bundle"], jb["bundle"]);
        assert_eq!(ja["rootfs"], jb["rootfs"]);
        assert_eq!(ja["owner"], jb["owner"]);

        let ours = stdout(&roots.run(false, &["list"]));
        let theirs = stdout(&roots.run(true, &["list"]));
        let (ours, theirs): (Vec<&str>, Vec<&str>) =
            (ours.lines().collect(), theirs.lines().collect());
        assert_eq!(ours.len(), 2, "{ours:?}");
        let words = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(words(ours[0]), words(theirs[0]), "list header");
        let (ro, rt) = (words(ours[1]), words(theirs[1]));
        assert_eq!(ro.len(), rt.len(), "{ours:?} vs {theirs:?}");
        for i in [0, 2, 3, 5] {
            assert_eq!(ro[i], rt[i], "list column {i}: {ours:?} vs {theirs:?}");
        }
        // Column widths depend on the values (the creation times differ in length), so
        // check the layout rule instead: every cell starts where its header starts, and
        // the first columns are padded like runc's tabwriter (min width 12, padding 3).
        for table in [&ours, &theirs] {
            let starts = |l: &str| {
                l.char_indices()
                    .filter(|&(i, c)| c != ' ' && (i == 0 || l.as_bytes()[i - 1] == b' '))
                    .map(|(i, _)| i)
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                starts(table[0]),
                starts(table[1]),
                "columns not aligned: {table:?}"
            );
            let s = starts(table[0]);
            assert_eq!(s[1], (ro[0].len() + 3).max(12), "{table:?}");
        }
        let ours: serde_json::Value =
            serde_json::from_str(&stdout(&roots.run(false, &["list", "--format", "json"])))
                .unwrap();
        let theirs: serde_json::Value =
            serde_json::from_str(&stdout(&roots.run(true, &["list", "--format", "json"]))).unwrap();
        assert_eq!(shape(&ours[0]), shape(&theirs[0]), "list json shape");

        if status == "created" {
            for runc in [false, true] {
                let out = roots.run(runc, &["start", &id]);
                assert!(
                    out.status.success(),
                    "start runc={runc}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
    let ps = stdout(&roots.run(false, &["ps", "--format", "json", &id]));
    let pids: Vec<i32> = serde_json::from_str(&ps).unwrap();
    assert_eq!(pids.len(), 1, "{ps}");
    let table = stdout(&roots.run(false, &["ps", &id]));
    assert!(table.starts_with("UID"), "{table}");
    assert!(table.contains("sleep 30"), "{table}");
}

#[test]
fn errors_are_logged_like_runc() {
    let roots = Roots::new();
    let log = roots.dir.path().join("log.json");
    let out = roots.run(
        false,
        &[
            "--log",
            log.to_str().unwrap(),
            "--log-format",
            "json",
            "state",
            "no-such-container",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let line = std::fs::read_to_string(&log).unwrap();
    let entry: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(entry["level"], "error");
    assert!(
        entry["msg"]
            .as_str()
            .unwrap()
            .contains("container does not exist"),
        "{line}"
    );
    assert!(entry["time"].as_str().unwrap().ends_with('Z'));
    // With --log the bare message also goes to stderr (dockerd shows it).
    assert!(String::from_utf8_lossy(&out.stderr).contains("container does not exist"));
    // Without --log: a logrus text line on stderr.
    let out = roots.run(false, &["kill", "no-such-container"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("time=\"") && err.contains("level=error msg="),
        "{err}"
    );
}

#[test]
fn run_returns_the_exit_code_and_argv0_runc_works() {
    let bundle = Bundle::new(|s| {
        let mut p = s.process().clone().unwrap();
        p.set_args(Some(vec![
            "sh".into(),
            "-c".into(),
            "echo out; exit 5".into(),
        ]));
        s.set_process(Some(p));
    })
    .unwrap();
    let roots = Roots::new();
    let id = unique_name("exit");
    let out = roots.run(
        false,
        &["run", "--bundle", bundle.path().to_str().unwrap(), &id],
    );
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout(&out), "out\n");
    // Deleted after the run.
    assert!(!roots.root(false).join(&id).exists());

    // Called as `runc` (a symlink) the binary is `skiff runtime`.
    let link = roots.dir.path().join("runc");
    std::os::unix::fs::symlink(SKIFF, &link).unwrap();
    let out = Command::new(&link)
        .arg("--root")
        .arg(roots.root(false))
        .arg("list")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        stdout(&out).starts_with("ID          PID         STATUS"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn runtime_binary_is_not_writable_from_the_container() {
    let bundle = sleeper();
    let mut roots = Roots::new();
    let id = unique_name("cve");
    roots.create(false, &id, bundle.path());
    // While the container is created, its pid 1 is the runtime itself: hold its executable
    // open, let init exec, then try to write through the held reference (CVE-2019-5736).
    let script = "exec 3</proc/1/exe; sleep 1; echo x >> /proc/self/fd/3; echo rc=$?";
    let exec = Command::new(SKIFF)
        .args(["runtime", "--root"])
        .arg(roots.root(false))
        .args(["exec", &id, "sh", "-c", script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = roots.run(false, &["start", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = exec.wait_with_output().unwrap();
    let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("rc=1"), "write did not fail: {text}");
    // EROFS is the lasting protection (the binary is reachable only through a read-only
    // mount); while any runtime process still executes the binary (this exec's own parent,
    // or other tests running in parallel) the kernel answers ETXTBSY first.
    assert!(
        text.contains("Read-only file system") || text.contains("Text file busy"),
        "{text}"
    );
}

#[test]
fn spec_and_features_are_valid_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(SKIFF)
        .args(["runtime", "spec", "--bundle"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(spec["root"]["path"], "rootfs");
    assert_eq!(spec["process"]["terminal"], true);
    // A second `spec` refuses to overwrite, like runc.
    let again = Command::new(SKIFF)
        .args(["runtime", "spec", "--bundle"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!again.status.success());

    let out = Command::new(SKIFF)
        .args(["runtime", "features"])
        .output()
        .unwrap();
    let features: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(features["ociVersionMin"], "1.0.0");
    assert!(features["linux"]["namespaces"].as_array().unwrap().len() == 7);
    assert!(features["linux"]["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "CAP_SYS_ADMIN"));
}
