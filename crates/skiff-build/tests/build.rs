//! `skiff build` end to end, as root on the real kernel: the Dockerfiles under
//! `testdata/build/` built into a throwaway state root with a busybox base image.
//!
//! RUN steps use the in-process runtime, which needs a single-threaded process: this test
//! has its own `main` (harness = false) and runs its cases one after the other.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde_json::Value;
use skiff_build::builder::{
    self, commit_dir, BuildContext, BuildError, BuildOptions, ImageState, NetworkMode,
};
use skiff_image::{Digest, ImageStore, Reference};

type Result<T = ()> = std::result::Result<T, String>;
type Case = (&'static str, fn(&Env) -> Result);

fn main() {
    if !rustix::process::geteuid().is_root() {
        println!("build tests skipped: they need root (overlay mounts, containers)");
        return;
    }
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let cases: &[Case] = &[
        ("config_matches_dockerfile", config_matches_dockerfile),
        ("file_tree", file_tree),
        ("cache_hits_and_misses", cache_hits_and_misses),
        ("reproducible_without_cache", reproducible_without_cache),
        ("failing_run_leaves_nothing", failing_run_leaves_nothing),
        (
            "multistage_builds_only_needed_stages",
            multistage_builds_only_needed_stages,
        ),
        (
            "onbuild_triggers_run_in_child",
            onbuild_triggers_run_in_child,
        ),
        ("dockerignore_is_respected", dockerignore_is_respected),
        ("add_extracts_local_archives", add_extracts_local_archives),
        ("context_from_tar", context_from_tar),
        ("add_downloads_urls", add_downloads_urls),
    ];
    let mut failed = Vec::new();
    for (name, case) in cases {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let env = Env::new();
        let result = case(&env).and_then(|()| env.check_clean());
        match result {
            Ok(()) => println!("test {name} ... ok"),
            Err(e) => {
                println!("test {name} ... FAILED: {e}");
                failed.push(*name);
            }
        }
    }
    if !failed.is_empty() {
        println!("failed: {failed:?}");
        std::process::exit(1);
    }
}

/// A state root with a busybox image, removed (after unmounting anything left) on drop.
struct Env {
    root: tempfile::TempDir,
    store: ImageStore,
}

impl Env {
    fn new() -> Env {
        let root = tempfile::Builder::new()
            .prefix("skiff-build-test")
            .tempdir()
            .expect("temp dir");
        let store = ImageStore::open(root.path()).expect("store");
        let rootfs = root.path().join("busybox-rootfs");
        skiff_testutil::busybox_rootfs(&rootfs).expect("busybox rootfs");
        let mut state = ImageState::scratch();
        state.push_layer(commit_dir(&store, &rootfs, 0).expect("busybox layer"));
        state.set("Cmd", serde_json::json!(["sh"]));
        state.add_history("2026-01-01T00:00:00Z", "busybox rootfs", false);
        state
            .save(&store, &[Reference::parse("busybox").unwrap()])
            .expect("save busybox");
        fs::remove_dir_all(&rootfs).unwrap();
        Env { root, store }
    }

    /// Copies `testdata/build/<name>` to a fresh context directory.
    fn context(&self, name: &str) -> PathBuf {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/build")
            .join(name);
        let dst = self
            .root
            .path()
            .join(format!("ctx-{name}-{}", skiff_testutil::unique_name("c")));
        copy_tree(&src, &dst);
        dst
    }

    fn options(&self, context: &Path, tag: &str) -> BuildOptions {
        let dockerfile = fs::read_to_string(context.join("Dockerfile")).unwrap();
        BuildOptions {
            dockerfile,
            dockerfile_name: "Dockerfile".into(),
            context: BuildContext::from_dir(context).unwrap(),
            tags: vec![Reference::parse(tag).unwrap()],
            build_args: BTreeMap::new(),
            target: None,
            no_cache: false,
            labels: BTreeMap::new(),
            quiet: false,
            pull: false,
            network: NetworkMode::Host,
            epoch: None,
        }
    }

    /// Builds; returns the image id and the progress output.
    /// Builds; returns the result and the progress output.
    fn build(&self, opts: &BuildOptions) -> (std::result::Result<Digest, BuildError>, String) {
        let mut out = Vec::new();
        let result = builder::build(self.root.path(), opts, &mut out);
        let text = String::from_utf8_lossy(&out).into_owned();
        print!("{text}");
        (result, text)
    }

    /// Builds what must build; returns the image id and the progress output.
    fn ok_build(&self, opts: &BuildOptions) -> Result<(Digest, String)> {
        match self.build(opts) {
            (Ok(id), out) => Ok((id, out)),
            (Err(e), _) => Err(e.to_string()),
        }
    }

    fn config(&self, id: &Digest) -> Value {
        serde_json::from_slice(&self.store.content.read(id).unwrap()).unwrap()
    }

    fn image_of(&self, tag: &str) -> Option<ImageState> {
        let digest = self
            .store
            .resolve(&Reference::parse(tag).unwrap())
            .unwrap()?;
        let info = self.store.image(&digest).unwrap();
        Some(ImageState::from_store(&self.store, &info).unwrap())
    }

    /// Mounts the image's layers and hands the root to `f`.
    fn with_rootfs<T>(&self, tag: &str, f: impl FnOnce(&Path) -> T) -> T {
        let state = self.image_of(tag).expect("image exists");
        let lowers = state.lowers(&self.store).unwrap();
        let dir = self
            .root
            .path()
            .join(skiff_testutil::unique_name("inspect"));
        let dirs = skiff_image::overlay::mount(&dir, &lowers, Default::default()).unwrap();
        let result = f(&dirs.merged);
        skiff_image::overlay::unmount_overlay(&dirs.merged, false).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        result
    }

    /// No mount, scratch directory or runtime state left behind.
    fn check_clean(&self) -> Result {
        let root = self.root.path().to_string_lossy().into_owned();
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
        if mounts.contains(&root) {
            return Err(format!("mounts left under {root}"));
        }
        let scratch = self.root.path().join("build-cache/tmp");
        if let Ok(entries) = fs::read_dir(&scratch) {
            let left: Vec<_> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name())
                .collect();
            if !left.is_empty() {
                return Err(format!("scratch entries left: {left:?}"));
            }
        }
        let run = self.root.path().join("run");
        if let Ok(entries) = fs::read_dir(&run) {
            let left: Vec<_> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name())
                .collect();
            if !left.is_empty() {
                return Err(format!("runtime state left: {left:?}"));
            }
        }
        Ok(())
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let root = self.root.path().to_string_lossy().into_owned();
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        for line in mounts.lines().rev() {
            if let Some(point) = line.split(' ').nth(4).filter(|p| p.starts_with(&root)) {
                let _ = skiff_image::overlay::unmount_overlay(Path::new(point), true);
            }
        }
    }
}

fn copy_tree(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for entry in fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let target = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn ensure(cond: bool, what: impl Into<String>) -> Result {
    if cond {
        Ok(())
    } else {
        Err(what.into())
    }
}

fn eq<T: PartialEq + std::fmt::Debug>(actual: T, expected: T, what: &str) -> Result {
    ensure(
        actual == expected,
        format!("{what}: got {actual:?}, expected {expected:?}"),
    )
}

fn config_matches_dockerfile(env: &Env) -> Result {
    let ctx = env.context("basic");
    let mut opts = env.options(&ctx, "basic");
    opts.build_args.insert("VERSION".into(), "2.5".into());
    let (id, out) = env.ok_build(&opts)?;
    let config = env.config(&id);
    let c = &config["config"];
    eq(
        c["Env"].clone(),
        serde_json::json!([
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "APP=/app",
            "GREETING=hello world",
            "LEGACY=value with spaces"
        ]),
        "Env",
    )?;
    eq(
        c["WorkingDir"].clone(),
        serde_json::json!("/app"),
        "WorkingDir",
    )?;
    eq(
        c["User"].clone(),
        serde_json::json!("nobody:nogroup"),
        "User",
    )?;
    eq(
        c["Entrypoint"].clone(),
        serde_json::json!(["/bin/sh", "-c"]),
        "Entrypoint",
    )?;
    eq(
        c["Cmd"].clone(),
        serde_json::json!(["cat /app/built.txt"]),
        "Cmd",
    )?;
    eq(
        c["ExposedPorts"].clone(),
        serde_json::json!({"80/tcp": {}, "443/udp": {}, "8000/tcp": {}, "8001/tcp": {}}),
        "ExposedPorts",
    )?;
    eq(
        c["Labels"].clone(),
        serde_json::json!({"a": "b", "c d": "e", "version": "2.5"}),
        "Labels",
    )?;
    eq(
        c["Volumes"].clone(),
        serde_json::json!({"/data": {}, "/logs": {}}),
        "Volumes",
    )?;
    eq(
        c["StopSignal"].clone(),
        serde_json::json!("SIGUSR1"),
        "StopSignal",
    )?;
    eq(
        c["Healthcheck"].clone(),
        serde_json::json!({"Test": ["CMD-SHELL", "wget -q -O- localhost || exit 1"], "Interval": 5_000_000_000u64, "Timeout": 2_000_000_000u64, "Retries": 4}),
        "Healthcheck",
    )?;
    eq(
        c["Shell"].clone(),
        serde_json::json!(["/bin/sh", "-ec"]),
        "Shell",
    )?;
    eq(
        c["OnBuild"].clone(),
        serde_json::json!(["USER root", "RUN echo triggered > /onbuild.txt"]),
        "OnBuild",
    )?;
    eq(
        config["author"].clone(),
        serde_json::json!("skiff tests"),
        "author",
    )?;
    eq(
        config["created"].clone(),
        serde_json::json!("2026-01-01T00:00:00Z"),
        "created",
    )?;
    // History: the base's entry, then one per instruction; layers only for WORKDIR (the
    // directory is new), COPY and RUN.
    let history = config["history"].as_array().unwrap();
    let created_by: Vec<&str> = history
        .iter()
        .map(|h| h["created_by"].as_str().unwrap())
        .collect();
    ensure(
        created_by.contains(&"|1 VERSION=2.5 /bin/sh -c echo \"built $GREETING $VERSION\" > built.txt && cat hello.txt"),
        format!("RUN with a build arg is recorded like docker: {created_by:#?}"),
    )?;
    ensure(
        created_by.contains(&"/bin/sh -c #(nop)  ENV APP=/app GREETING=hello world"),
        "ENV history",
    )?;
    let layers = history
        .iter()
        .filter(|h| h.get("empty_layer").is_none())
        .count();
    let diff_ids = config["rootfs"]["diff_ids"].as_array().unwrap().len();
    eq(layers, diff_ids, "history entries with layers vs diff_ids")?;
    eq(
        diff_ids,
        1 + 1 + 4 + 3,
        "layers: base, WORKDIR, 4 COPY, 3 RUN",
    )?;
    ensure(out.contains("Step 1/25 : ARG BASE=busybox"), "step header")?;
    ensure(out.contains(" ---> Running in "), "RUN marker")?;
    ensure(
        out.contains(&format!("Successfully built {}", &id.hex()[..12])),
        "final line",
    )?;
    ensure(out.contains("Successfully tagged basic:latest"), "tag line")
}

fn file_tree(env: &Env) -> Result {
    let ctx = env.context("basic");
    fs::set_permissions(ctx.join("sub"), fs::Permissions::from_mode(0o750)).unwrap();
    env.ok_build(&env.options(&ctx, "tree"))?;
    env.with_rootfs("tree", |root| {
        let read = |p: &str| fs::read_to_string(root.join(p)).map_err(|e| format!("{p}: {e}"));
        eq(
            read("app/hello.txt")?,
            "hello\n".into(),
            "COPY file into WORKDIR",
        )?;
        eq(read("app/sub/x")?, "x\n".into(), "COPY dir content")?;
        eq(
            read("app/built.txt")?,
            "built hello world 1.0\n".into(),
            "RUN with ENV and ARG default",
        )?;
        eq(read("app/exec.txt")?, "exec-form\n".into(), "RUN exec form")?;
        eq(
            read("app/script.txt")?,
            "from-heredoc\n".into(),
            "RUN heredoc",
        )?;
        eq(
            read("app/heredoc.txt")?,
            "greeting=hello world\n".into(),
            "COPY heredoc expanded",
        )?;
        ensure(
            fs::symlink_metadata(root.join("bin/vi")).is_err(),
            "rm in RUN is a whiteout",
        )?;
        let owned = fs::metadata(root.join("owned/hello.txt")).unwrap();
        eq(
            (owned.uid(), owned.gid(), owned.mode() & 0o7777),
            (65534, 65534, 0o600),
            "--chown/--chmod",
        )?;
        let owned_dir = fs::metadata(root.join("owned")).unwrap();
        eq(
            (owned_dir.uid(), owned_dir.mode() & 0o7777),
            (65534, 0o755),
            "dest dir made by COPY --chown",
        )?;
        eq(
            fs::metadata(root.join("app/sub")).unwrap().mode() & 0o7777,
            0o750,
            "copied dir keeps its mode",
        )?;
        for runtime_file in ["etc/hostname", "etc/resolv.conf"] {
            ensure(
                fs::symlink_metadata(root.join(runtime_file)).is_err(),
                format!("{runtime_file} leaked into a layer"),
            )?;
        }
        Ok(())
    })
}

fn cache_hits_and_misses(env: &Env) -> Result {
    let ctx = env.context("basic");
    let opts = env.options(&ctx, "cached");
    let (first, _) = env.ok_build(&opts)?;
    let (second, out) = env.ok_build(&opts)?;
    eq(
        second.clone(),
        first.clone(),
        "rebuild gives the same image",
    )?;
    eq(
        out.matches(" ---> Using cache").count(),
        23,
        "every step after FROM is cached",
    )?;
    ensure(
        !out.contains("Running in"),
        "nothing runs on a full cache hit",
    )?;

    // A touch (new mtime, same content) keeps the cache.
    let file = ctx.join("hello.txt");
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let (touched, out) = env.ok_build(&opts)?;
    eq(touched, first.clone(), "touch keeps the image")?;
    eq(
        out.matches(" ---> Using cache").count(),
        23,
        "touch keeps the cache",
    )?;

    // A mode change misses from the first COPY of that file on.
    fs::set_permissions(&file, fs::Permissions::from_mode(0o755)).unwrap();
    let (moded, out) = env.ok_build(&opts)?;
    ensure(moded != first, "mode change gives a new image")?;
    eq(
        out.matches(" ---> Using cache").count(),
        5,
        "cached until COPY hello.txt (MAINTAINER, ARG, ENV, ENV, WORKDIR)",
    )?;

    // A content change misses too.
    fs::write(&file, "changed\n").unwrap();
    let (changed, out) = env.ok_build(&opts)?;
    ensure(
        changed != moded && changed != first,
        "content change gives a new image",
    )?;
    eq(
        out.matches(" ---> Using cache").count(),
        5,
        "content change misses at COPY",
    )?;

    // --no-cache runs everything.
    let mut no_cache = env.options(&ctx, "cached");
    no_cache.no_cache = true;
    let (_, out) = env.ok_build(&no_cache)?;
    eq(
        out.matches(" ---> Using cache").count(),
        0,
        "--no-cache uses no cache",
    )
}

fn reproducible_without_cache(env: &Env) -> Result {
    let ctx = env.context("basic");
    let mut opts = env.options(&ctx, "repro");
    opts.no_cache = true;
    let (first, _) = env.ok_build(&opts)?;
    let first_manifest = env
        .store
        .resolve(&Reference::parse("repro").unwrap())
        .unwrap();
    let (second, _) = env.ok_build(&opts)?;
    let second_manifest = env
        .store
        .resolve(&Reference::parse("repro").unwrap())
        .unwrap();
    eq(second, first.clone(), "image id of two --no-cache builds")?;
    eq(
        second_manifest,
        first_manifest,
        "manifest digest of two --no-cache builds",
    )?;
    opts.epoch = Some(1_700_000_000);
    let (third, _) = env.ok_build(&opts)?;
    ensure(third != first, "SOURCE_DATE_EPOCH changes the image")?;
    eq(
        env.config(&third)["created"].clone(),
        serde_json::json!("2023-11-14T22:13:20Z"),
        "created from the epoch",
    )
}

fn failing_run_leaves_nothing(env: &Env) -> Result {
    let ctx = env.root.path().join("ctx-fail");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\nRUN echo before > /x && exit 3\nCMD [\"sh\"]\n",
    )
    .unwrap();
    let blobs_before = env.store.content.list().unwrap().len();
    let opts = env.options(&ctx, "failed");
    let (err, out) = match env.build(&opts) {
        (Ok(_), _) => return Err("a failing RUN must fail the build".into()),
        (Err(e), out) => (e, out),
    };
    eq(
        err.to_string(),
        "The command '/bin/sh -c echo before > /x && exit 3' returned a non-zero code: 3".into(),
        "message",
    )?;
    eq(err.exit_code(), 3, "exit code")?;
    ensure(!out.contains("Successfully"), "no success line")?;
    ensure(
        env.store
            .resolve(&Reference::parse("failed").unwrap())
            .unwrap()
            .is_none(),
        "no tag",
    )?;
    eq(
        env.store.content.list().unwrap().len(),
        blobs_before,
        "no blob written",
    )
}

fn multistage_builds_only_needed_stages(env: &Env) -> Result {
    let ctx = env.context("multistage");
    let mut opts = env.options(&ctx, "multi");
    opts.target = Some("final".into());
    let (id, out) = env.ok_build(&opts)?;
    ensure(
        !out.contains("must not be built"),
        "the unused stage was skipped",
    )?;
    ensure(
        !out.contains("exit 7"),
        "the stage after the target was skipped",
    )?;
    ensure(
        out.contains("Step 1/6 : FROM busybox AS builder"),
        format!("step count covers needed stages only:\n{out}"),
    )?;
    let config = env.config(&id);
    eq(
        config["config"]["Cmd"].clone(),
        serde_json::json!(["/bin/busybox", "cat", "/artifact.txt"]),
        "Cmd",
    )?;
    eq(
        config["rootfs"]["diff_ids"].as_array().unwrap().len(),
        2,
        "scratch + 2 COPY layers",
    )?;
    env.with_rootfs("multi", |root| {
        eq(
            fs::read_to_string(root.join("artifact.txt")).ok(),
            Some("artifact\n".into()),
            "COPY --from=stage",
        )?;
        ensure(root.join("bin/busybox").is_file(), "COPY --from=image")
    })?;
    // The full file fails in its last stage, with that stage's code.
    let all = env.options(&ctx, "multi-all");
    match env.build(&all) {
        (Err(e), _) => eq(e.exit_code(), 7, "last stage's RUN code"),
        (Ok(_), _) => Err("the last stage must fail".into()),
    }
}

fn onbuild_triggers_run_in_child(env: &Env) -> Result {
    let ctx = env.context("basic");
    let (base, _) = env.ok_build(&env.options(&ctx, "onbuild-base"))?;
    ensure(
        env.config(&base)["config"]["OnBuild"].is_array(),
        "base keeps its triggers",
    )?;
    let child_ctx = env.context("onbuild");
    let (child, out) = env.ok_build(&env.options(&child_ctx, "onbuild-child"))?;
    ensure(
        out.contains("# Executing 2 build triggers"),
        "trigger announced",
    )?;
    ensure(
        out.contains("triggered") || out.contains("Running in"),
        "trigger ran",
    )?;
    ensure(
        env.config(&child)["config"]["OnBuild"].is_null(),
        "the child has no triggers",
    )?;
    env.with_rootfs("onbuild-child", |root| {
        eq(
            fs::read_to_string(root.join("onbuild.txt")).ok(),
            Some("triggered\n".into()),
            "trigger's file",
        )
    })
}

fn dockerignore_is_respected(env: &Env) -> Result {
    let ctx = env.context("ignore");
    env.ok_build(&env.options(&ctx, "ignored"))?;
    env.with_rootfs("ignored", |root| {
        ensure(root.join("ctx/a.txt").is_file(), "a.txt copied")?;
        ensure(root.join("ctx/keep.log").is_file(), "!keep.log re-included")?;
        ensure(!root.join("ctx/drop.log").exists(), "*.log excluded")?;
        ensure(!root.join("ctx/secret").exists(), "secret/ excluded")?;
        ensure(
            root.join("ctx/.dockerignore").is_file(),
            ".dockerignore itself is sent",
        )
    })
}

fn add_extracts_local_archives(env: &Env) -> Result {
    let ctx = env.context("add");
    env.ok_build(&env.options(&ctx, "added"))?;
    env.with_rootfs("added", |root| {
        eq(
            fs::read_to_string(root.join("unpacked/d/f")).ok(),
            Some("inside\n".into()),
            "ADD tar.gz unpacks",
        )?;
        eq(
            fs::read_to_string(root.join("plain/plain.txt")).ok(),
            Some("plain\n".into()),
            "ADD plain file copies",
        )
    })
}

fn context_from_tar(env: &Env) -> Result {
    let ctx = env.context("ignore");
    let tar = env.root.path().join("ctx.tar");
    let status = std::process::Command::new("tar")
        .arg("-C")
        .arg(&ctx)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    ensure(status.success(), "tar the context")?;
    let scratch = env.root.path().join("scratch");
    fs::create_dir_all(&scratch).unwrap();
    let mut opts = env.options(&ctx, "from-tar");
    opts.context = BuildContext::from_tar(fs::File::open(&tar).unwrap(), &scratch)
        .map_err(|e| e.to_string())?;
    env.ok_build(&opts)?;
    drop(opts);
    env.with_rootfs("from-tar", |root| {
        ensure(
            root.join("ctx/a.txt").is_file(),
            "a.txt from the tar context",
        )?;
        ensure(
            !root.join("ctx/drop.log").exists(),
            ".dockerignore applies to a tar context",
        )
    })
}

/// A `busybox httpd` serving a directory on loopback; killed on drop.
struct HttpServer {
    child: std::process::Child,
    port: u16,
}

impl HttpServer {
    fn start(dir: &Path) -> HttpServer {
        let port = 20000 + (std::process::id() % 20000) as u16;
        let child = std::process::Command::new("/bin/busybox")
            .args(["httpd", "-f", "-p", &format!("127.0.0.1:{port}"), "-h"])
            .arg(dir)
            .spawn()
            .expect("busybox httpd");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        HttpServer { child, port }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn add_downloads_urls(env: &Env) -> Result {
    let www = env.root.path().join("www");
    fs::create_dir_all(&www).unwrap();
    fs::write(www.join("remote.txt"), "from the web\n").unwrap();
    let server = HttpServer::start(&www);
    let ctx = env.root.path().join("ctx-url");
    fs::create_dir_all(&ctx).unwrap();
    let url = format!("http://127.0.0.1:{}/remote.txt", server.port);
    fs::write(
        ctx.join("Dockerfile"),
        format!("FROM busybox\nADD {url} /downloads/\n"),
    )
    .unwrap();
    let opts = env.options(&ctx, "downloaded");
    env.ok_build(&opts)?;
    let (_, again) = env.ok_build(&opts)?;
    ensure(again.contains("Using cache"), "same download, cache hit")?;
    fs::write(www.join("remote.txt"), "changed on the web\n").unwrap();
    let (_, changed) = env.ok_build(&opts)?;
    ensure(
        !changed.contains("Using cache"),
        "changed download, cache miss",
    )?;
    drop(server);
    env.with_rootfs("downloaded", |root| {
        let path = root.join("downloads/remote.txt");
        eq(
            fs::read_to_string(&path).ok(),
            Some("changed on the web\n".into()),
            "ADD url content",
        )?;
        eq(
            fs::metadata(&path).unwrap().mode() & 0o7777,
            0o600,
            "ADD url mode (docker: 0600)",
        )
    })
}
