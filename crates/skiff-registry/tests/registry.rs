//! Pull, push and login against a real Distribution registry (docker-registry 2.8.2), with
//! images put there by skopeo or by plain HTTP, and checked back with skopeo.

mod common;

use std::fs;
use std::sync::Mutex;

use common::*;
use skiff_image::digest::Digest;
use skiff_image::Reference;
use skiff_registry::credentials::Credentials;
use skiff_registry::progress::{Event, Progress, Quiet, Status};
use skiff_registry::{
    login, logout, pull, push, Platform, PullOptions, PushOptions, RegistryError, TextProgress,
};

fn reference(s: &str) -> Reference {
    Reference::parse(s).unwrap()
}

/// Records layer statuses.
#[derive(Default)]
struct Recorder(Mutex<Vec<(String, Status)>>);

impl Progress for Recorder {
    fn event(&self, event: Event<'_>) {
        if let Event::Layer { digest, status } = event {
            self.0.lock().unwrap().push((digest.to_string(), status));
        }
    }
}

impl Recorder {
    fn has(&self, digest: &str, status: &Status) -> bool {
        self.0
            .lock()
            .unwrap()
            .iter()
            .any(|(d, s)| d == digest && s == status)
    }
}

fn pull_default(env: &Env, r: &str) -> Result<skiff_registry::PullOutcome, RegistryError> {
    pull(
        &env.store,
        &env.config,
        &reference(r),
        &PullOptions::default(),
        &Quiet,
    )
}

#[test]
fn skopeo_pushed_image_pulls_and_unpacks() {
    let registry = Registry::start(Auth::None);
    let layout = Layout::new();
    let layers = [
        compress(&busybox_tar("amd64"), Compression::Gzip),
        compress(&file_tar("etc/motd", b"hello\n"), Compression::Gzip),
    ];
    let desc = layout.add_image(&layers, "amd64");
    layout.tag(desc, "v1");
    let name = format!("{}/test/busybox:v1", registry.host);
    skopeo_push(&layout, "v1", &name, None, false);

    let env = Env::new();
    let out = Vec::new();
    let text = TextProgress::new(out, false);
    let outcome = pull(
        &env.store,
        &env.config,
        &reference(&name),
        &PullOptions::default(),
        &text,
    )
    .unwrap();
    assert!(outcome.downloaded);
    // The digest is the registry's manifest digest, as skopeo sees it.
    let raw = skopeo_raw(&name, None);
    assert_eq!(outcome.digest.to_string(), sha256(&raw));
    assert_eq!(outcome.manifest, outcome.digest);

    let manifest = env
        .store
        .resolve(&reference(&name))
        .unwrap()
        .expect("the tag is in the index");
    let image = env.store.image(&manifest).unwrap();
    let lowers = env.store.unpack(&image).unwrap();
    // Top layer first.
    assert_eq!(fs::read(lowers[0].join("etc/motd")).unwrap(), b"hello\n");
    assert_eq!(
        fs::read(lowers[1].join("bin/busybox")).unwrap(),
        fs::read("/bin/busybox").unwrap()
    );
    assert_eq!(
        fs::read_link(lowers[1].join("bin/sh")).unwrap().to_str(),
        Some("busybox")
    );
    assert_eq!(fs::read(lowers[1].join("platform")).unwrap(), b"amd64");

    // Docker-like text on a non-terminal: state lines, no escapes, no byte counts.
    let printed = String::from_utf8(text.into_inner()).unwrap();
    assert!(
        printed.starts_with("v1: Pulling from test/busybox\n"),
        "{printed}"
    );
    for l in &image.layer_digests {
        assert!(
            printed.contains(&format!("{}: Pull complete", l.short())),
            "{printed}"
        );
    }
    assert!(
        !printed.contains('\x1b') && !printed.contains("Downloading"),
        "{printed}"
    );

    // A second pull finds everything.
    let again = pull_default(&env, &name).unwrap();
    assert!(!again.downloaded);
    // Another tag of the same content: layers already exist, nothing is fetched.
    skopeo_push(
        &layout,
        "v1",
        &format!("{}/test/busybox:v2", registry.host),
        None,
        false,
    );
    let rec = Recorder::default();
    let v2 = pull(
        &env.store,
        &env.config,
        &reference(&format!("{}/test/busybox:v2", registry.host)),
        &PullOptions::default(),
        &rec,
    )
    .unwrap();
    assert!(v2.downloaded, "a new tag is a change");
    for l in &image.layer_digests {
        assert!(
            rec.has(&l.to_string(), &Status::AlreadyExists),
            "{:?}",
            rec.0.lock().unwrap()
        );
    }
    // Pull by digest.
    let by_digest = pull_default(
        &env,
        &format!("{}/test/busybox@{}", registry.host, outcome.digest),
    )
    .unwrap();
    assert_eq!(by_digest.manifest, outcome.manifest);
}

#[test]
fn gzip_zstd_and_uncompressed_layers() {
    let registry = Registry::start(Auth::None);
    let layout = Layout::new();
    let layers = [
        compress(&busybox_tar("amd64"), Compression::Gzip),
        compress(&file_tar("z/file", &vec![b'z'; 300_000]), Compression::Zstd),
        compress(&file_tar("plain/file", b"plain"), Compression::None),
    ];
    let desc = layout.add_image(&layers, "amd64");
    raw_push(&registry.host, "mixed", "latest", &layout, &desc);
    let env = Env::new();
    let name = format!("{}/mixed", registry.host);
    let outcome = pull_default(&env, &name).unwrap();
    assert_eq!(
        outcome.manifest.to_string(),
        desc["digest"].as_str().unwrap()
    );
    let image = env.store.image(&outcome.manifest).unwrap();
    let lowers = env.store.unpack(&image).unwrap();
    assert_eq!(fs::read(lowers[0].join("plain/file")).unwrap(), b"plain");
    assert_eq!(fs::read(lowers[1].join("z/file")).unwrap().len(), 300_000);
    // Each blob is stored exactly as sent (compressed), verified.
    for (l, d) in layers.iter().zip(&image.layer_digests) {
        assert_eq!(env.store.content.read(d).unwrap(), l.blob);
    }
}

#[test]
fn multi_arch_index_resolves_to_the_platform() {
    let registry = Registry::start(Auth::None);
    let layout = Layout::new();
    let arm = layout.add_image(
        &[compress(&busybox_tar("arm64"), Compression::Gzip)],
        "arm64",
    );
    let amd = layout.add_image(
        &[compress(&busybox_tar("amd64"), Compression::Gzip)],
        "amd64",
    );
    let index = layout.add_index(vec![arm.clone(), amd.clone()]);
    layout.tag(index.clone(), "multi");
    let name = format!("{}/multi:latest", registry.host);
    skopeo_push(&layout, "multi", &name, None, true);

    let env = Env::new();
    let outcome = pull_default(&env, &name).unwrap();
    assert_eq!(
        outcome.digest.to_string(),
        index["digest"].as_str().unwrap(),
        "Digest: is the index's"
    );
    assert_eq!(
        outcome.manifest.to_string(),
        amd["digest"].as_str().unwrap(),
        "the host (amd64) manifest is chosen"
    );
    let image = env
        .store
        .image(&env.store.resolve(&reference(&name)).unwrap().unwrap())
        .unwrap();
    assert_eq!(
        fs::read(env.store.unpack(&image).unwrap()[0].join("platform")).unwrap(),
        b"amd64"
    );

    let arm_env = Env::new();
    let options = PullOptions {
        platform: Some(Platform::parse("linux/arm64").unwrap()),
        ..Default::default()
    };
    let outcome = pull(
        &arm_env.store,
        &arm_env.config,
        &reference(&name),
        &options,
        &Quiet,
    )
    .unwrap();
    assert_eq!(
        outcome.manifest.to_string(),
        arm["digest"].as_str().unwrap()
    );

    let none = Env::new();
    let options = PullOptions {
        platform: Some(Platform::parse("linux/s390x").unwrap()),
        ..Default::default()
    };
    let err = pull(
        &none.store,
        &none.config,
        &reference(&name),
        &options,
        &Quiet,
    )
    .unwrap_err();
    assert!(
        matches!(err, RegistryError::NoMatchingPlatform { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("linux/arm64, linux/amd64"),
        "{err}"
    );
    none.assert_empty();
}

#[test]
fn push_round_trip_keeps_the_digest() {
    let registry = Registry::start(Auth::None);
    let layout = Layout::new();
    let layers = [
        compress(&busybox_tar("amd64"), Compression::Gzip),
        compress(
            &file_tar("big", &random_bytes(3_000_000)),
            Compression::None,
        ),
    ];
    let desc = layout.add_image(&layers, "amd64");
    layout.tag(desc.clone(), "v1");
    let source = format!("{}/src/app:v1", registry.host);
    skopeo_push(&layout, "v1", &source, None, false);
    let source_digest = sha256(&skopeo_raw(&source, None));

    let env = Env::new();
    pull_default(&env, &source).unwrap();
    let image = env
        .store
        .image(&env.store.resolve(&reference(&source)).unwrap().unwrap())
        .unwrap();

    // Retag into another repository of the same registry: the layers are mounted.
    let target = reference(&format!("{}/dst/app:v2", registry.host));
    env.store
        .index
        .tag(&target, &image.manifest_digest)
        .unwrap();
    let rec = Recorder::default();
    let pushed = push(
        &env.store,
        &env.config,
        &target,
        &PushOptions::default(),
        &rec,
    )
    .unwrap();
    assert_eq!(pushed.digest.to_string(), source_digest);
    for l in &image.layer_digests {
        assert!(
            rec.has(&l.to_string(), &Status::MountedFrom("src/app".into())),
            "{:?}",
            rec.0.lock().unwrap()
        );
    }
    assert_eq!(
        sha256(&skopeo_raw(&target.to_string(), None)),
        source_digest,
        "the registry serves the same manifest"
    );

    // A third repository with tiny chunks: chunked PATCH uploads (no mount source there
    // after forgetting the sources).
    fs::remove_dir_all(env.root.path().join("registry")).unwrap();
    let chunked = reference(&format!("{}/chunked/app:v3", registry.host));
    env.store
        .index
        .tag(&chunked, &image.manifest_digest)
        .unwrap();
    let rec = Recorder::default();
    push(
        &env.store,
        &env.config,
        &chunked,
        &PushOptions {
            chunk_size: 256 * 1024,
        },
        &rec,
    )
    .unwrap();
    for l in &image.layer_digests {
        assert!(
            rec.has(&l.to_string(), &Status::Pushed),
            "{:?}",
            rec.0.lock().unwrap()
        );
    }
    assert!(rec
        .0
        .lock()
        .unwrap()
        .iter()
        .any(|(_, s)| matches!(s, Status::Pushing { .. })));
    // skopeo copies it back and finds every blob intact.
    let back = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("skopeo")
        .args([
            "--insecure-policy",
            "copy",
            "-q",
            "--src-tls-verify=false",
            "--preserve-digests",
        ])
        .arg(format!("docker://{chunked}"))
        .arg(format!("oci:{}:back", back.path().display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back_index: serde_json::Value =
        serde_json::from_slice(&fs::read(back.path().join("index.json")).unwrap()).unwrap();
    assert_eq!(
        back_index["manifests"][0]["digest"].as_str().unwrap(),
        source_digest
    );

    // Pushing again skips every blob.
    let rec = Recorder::default();
    push(
        &env.store,
        &env.config,
        &chunked,
        &PushOptions::default(),
        &rec,
    )
    .unwrap();
    for l in &image.layer_digests {
        assert!(rec.has(&l.to_string(), &Status::LayerAlreadyExists));
    }

    // An image that never was on a registry (the built-in hello-world) pushes and pulls.
    let hello = reference(&format!("{}/hello-world:latest", registry.host));
    let local = env
        .store
        .resolve(&reference("hello-world"))
        .unwrap()
        .expect("hello-world is built in");
    env.store.index.tag(&hello, &local).unwrap();
    let pushed = push(
        &env.store,
        &env.config,
        &hello,
        &PushOptions::default(),
        &Quiet,
    )
    .unwrap();
    assert_eq!(pushed.digest, local);
    let fresh = Env::new();
    assert_eq!(
        pull_default(&fresh, &hello.to_string()).unwrap().manifest,
        local
    );

    // Not in the store.
    let err = push(
        &env.store,
        &env.config,
        &reference(&format!("{}/nope:1", registry.host)),
        &PushOptions::default(),
        &Quiet,
    )
    .unwrap_err();
    eprintln!("error: {err}");
    assert!(matches!(err, RegistryError::NotLocal { .. }), "{err}");
}

fn random_bytes(n: usize) -> Vec<u8> {
    // Incompressible, deterministic.
    let mut out = Vec::with_capacity(n + 32);
    let mut block = sha256(b"seed").into_bytes();
    while out.len() < n {
        block = sha256(&block).into_bytes();
        out.extend_from_slice(&block);
    }
    out.truncate(n);
    out
}

#[test]
fn htpasswd_basic_auth_and_login() {
    let registry = Registry::start(Auth::Htpasswd);
    let layout = Layout::new();
    let desc = layout.add_image(
        &[compress(&busybox_tar("amd64"), Compression::Gzip)],
        "amd64",
    );
    layout.tag(desc, "v1");
    let name = format!("{}/private/busybox:v1", registry.host);
    skopeo_push(
        &layout,
        "v1",
        &name,
        Some(&format!("{USER}:{PASSWORD}")),
        false,
    );

    let env = Env::new();
    let err = pull_default(&env, &name).unwrap_err();
    eprintln!("error: {err}");
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains("skiff login"), "{err}");
    env.assert_empty();

    let wrong = Credentials {
        username: USER.into(),
        password: "wrong".into(),
    };
    let err = login(&env.config, Some(&registry.host), &wrong).unwrap_err();
    eprintln!("error: {err}");
    assert!(matches!(err, RegistryError::BadCredentials { .. }), "{err}");
    assert!(
        !env.config.credentials_file().exists(),
        "wrong credentials are not stored"
    );

    let right = Credentials {
        username: USER.into(),
        password: PASSWORD.into(),
    };
    assert_eq!(
        login(
            &env.config,
            Some(&format!("http://{}/", registry.host)),
            &right
        )
        .unwrap(),
        registry.host
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&fs::read(env.config.credentials_file()).unwrap()).unwrap();
    assert!(doc["auths"][&registry.host]["auth"].is_string(), "{doc}");
    pull_default(&env, &name).unwrap();
    // And push with the same credentials.
    let copy = reference(&format!("{}/private/copy:v1", registry.host));
    env.store
        .index
        .tag(
            &copy,
            &env.store.resolve(&reference(&name)).unwrap().unwrap(),
        )
        .unwrap();
    push(
        &env.store,
        &env.config,
        &copy,
        &PushOptions::default(),
        &Quiet,
    )
    .unwrap();
    skopeo_raw(&copy.to_string(), Some(&format!("{USER}:{PASSWORD}")));

    // Credentials that went stale after login.
    fs::write(
        env.config.credentials_file(),
        serde_json::to_vec(&serde_json::json!({"auths": {registry.host.clone(): {"auth": "c2tpZmZ1c2VyOm9sZA=="}}})).unwrap(),
    )
    .unwrap();
    let stale = Env {
        config: env.config.clone(),
        ..Env::new()
    };
    let err = pull_default(&stale, &name).unwrap_err();
    assert!(
        matches!(err, RegistryError::CredentialsRejected { .. }),
        "{err}"
    );
    stale.assert_empty();

    assert!(logout(&env.config, Some(&registry.host)).unwrap().1);
    assert!(!logout(&env.config, Some(&registry.host)).unwrap().1);
}

#[test]
fn token_auth() {
    let registry = Registry::start(Auth::Token);
    let env = Env::new();
    // The built-in image, pushed with credentials.
    let local = env
        .store
        .resolve(&reference("hello-world"))
        .unwrap()
        .unwrap();
    let name = reference(&format!("{}/tok/hello:1", registry.host));
    env.store.index.tag(&name, &local).unwrap();
    let err = push(
        &env.store,
        &env.config,
        &name,
        &PushOptions::default(),
        &Quiet,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::Unauthorized { .. } | RegistryError::Denied { .. }
        ),
        "anonymous push: {err}"
    );

    let wrong = Credentials {
        username: USER.into(),
        password: "nope".into(),
    };
    assert!(matches!(
        login(&env.config, Some(&registry.host), &wrong),
        Err(RegistryError::BadCredentials { .. })
    ));
    let right = Credentials {
        username: USER.into(),
        password: PASSWORD.into(),
    };
    login(&env.config, Some(&registry.host), &right).unwrap();
    let pushed = push(
        &env.store,
        &env.config,
        &name,
        &PushOptions::default(),
        &Quiet,
    )
    .unwrap();
    assert_eq!(pushed.digest, local);
    // Mount into another repository needs a token for both (the challenge names both).
    let other = reference(&format!("{}/tok/other:1", registry.host));
    env.store.index.tag(&other, &local).unwrap();
    push(
        &env.store,
        &env.config,
        &other,
        &PushOptions::default(),
        &Quiet,
    )
    .unwrap();

    // Anonymous pull is allowed by this token server.
    let anon = Env::new();
    assert_eq!(
        pull_default(&anon, &name.to_string()).unwrap().manifest,
        local
    );
    // And with credentials.
    let authed = Env {
        config: env.config.clone(),
        ..Env::new()
    };
    assert_eq!(
        pull_default(&authed, &other.to_string()).unwrap().manifest,
        local
    );
}

#[test]
fn bad_input_fails_cleanly() {
    let registry = Registry::start(Auth::None);
    let env = Env::new();
    // Unknown tag and unknown repository.
    let err = pull_default(&env, &format!("{}/nothing/here:v9", registry.host)).unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::ManifestUnknown { .. } | RegistryError::RepositoryUnknown { .. }
        ),
        "{err}"
    );
    let layout = Layout::new();
    let layers = [
        compress(&busybox_tar("amd64"), Compression::Gzip),
        compress(&file_tar("x", b"x"), Compression::Gzip),
    ];
    let desc = layout.add_image(&layers, "amd64");
    raw_push(&registry.host, "app", "good", &layout, &desc);
    let err = pull_default(&env, &format!("{}/app:missing", registry.host)).unwrap_err();
    assert!(
        matches!(err, RegistryError::ManifestUnknown { .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "manifest for {}/app:missing not found: manifest unknown; check the image name and tag",
            registry.host
        )
    );
    env.assert_empty();

    // Registry down: a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = pull_default(&env, &format!("127.0.0.1:{port}/app")).unwrap_err();
    eprintln!("error: {err}");
    assert!(matches!(err, RegistryError::Unreachable { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("check that the registry is running"),
        "{err}"
    );
    env.assert_empty();

    // Digest mismatch: the registry's copy of the second layer is corrupted (same size).
    let manifest: serde_json::Value =
        serde_json::from_slice(&layout.blob(desc["digest"].as_str().unwrap())).unwrap();
    let second = manifest["layers"][1]["digest"].as_str().unwrap().to_owned();
    let data = registry.blob_data(&second);
    let good = fs::read(&data).unwrap();
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    fs::write(&data, &bad).unwrap();
    let err = pull_default(&env, &format!("{}/app:good", registry.host)).unwrap_err();
    eprintln!("error: {err}");
    assert!(matches!(err, RegistryError::DigestMismatch { .. }), "{err}");
    env.assert_empty();

    // Truncated layer: the registry serves fewer bytes than the manifest says.
    fs::write(&data, &good[..good.len() / 2]).unwrap();
    let err = pull_default(&env, &format!("{}/app:good", registry.host)).unwrap_err();
    eprintln!("error: {err}");
    assert!(matches!(err, RegistryError::SizeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("cut short"), "{err}");
    env.assert_empty();
    fs::write(&data, &good).unwrap();
    pull_default(&env, &format!("{}/app:good", registry.host)).unwrap();
}

#[test]
fn layer_escaping_its_root_fails_cleanly() {
    let registry = Registry::start(Auth::None);
    let env = Env::new();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret");
    fs::write(&secret, b"secret").unwrap();
    // A hard link to a file outside the layer root, then a write through it.
    let mut tar = skiff_image::layer::tar_write::TarBuilder::new(Vec::new());
    let escape = format!("../../../../../../../../..{}", secret.display());
    tar.append(
        &skiff_image::layer::tar_write::Header::hardlink("link", escape.as_bytes()),
        &mut std::io::empty(),
    )
    .unwrap();
    let tar = tar.finish().unwrap();
    let layout = Layout::new();
    let desc = layout.add_image(
        &[
            compress(&busybox_tar("amd64"), Compression::Gzip),
            compress(&tar, Compression::Gzip),
        ],
        "amd64",
    );
    raw_push(&registry.host, "evil", "latest", &layout, &desc);
    let err = pull_default(&env, &format!("{}/evil", registry.host)).unwrap_err();
    eprintln!("error: {err}");
    assert!(matches!(err, RegistryError::Layer { .. }), "{err}");
    assert!(!err.to_string().contains('\n'), "one line: {err}");
    env.assert_empty();
    assert_eq!(fs::read(&secret).unwrap(), b"secret");

    // A `..` path is kept inside the layer, never written outside.
    let target = outside.path().join("planted");
    let mut tar = skiff_image::layer::tar_write::TarBuilder::new(Vec::new());
    let name = format!("../../../../../../../../..{}", target.display());
    tar.append(
        &skiff_image::layer::tar_write::Header::file(name.as_bytes(), 2),
        &mut &b"hi"[..],
    )
    .unwrap();
    let tar = tar.finish().unwrap();
    let layout = Layout::new();
    let desc = layout.add_image(&[compress(&tar, Compression::Gzip)], "amd64");
    raw_push(&registry.host, "dots", "latest", &layout, &desc);
    let _ = pull_default(&env, &format!("{}/dots", registry.host));
    assert!(!target.exists(), "a layer wrote outside its root");
}

#[test]
fn digest_reference_must_match() {
    let registry = Registry::start(Auth::None);
    let env = Env::new();
    let layout = Layout::new();
    let desc = layout.add_image(
        &[compress(&file_tar("a", b"a"), Compression::Gzip)],
        "amd64",
    );
    raw_push(&registry.host, "pinned", "v1", &layout, &desc);
    let wrong = Digest::of(b"not this");
    let err = pull_default(&env, &format!("{}/pinned@{wrong}", registry.host)).unwrap_err();
    assert!(
        matches!(err, RegistryError::ManifestUnknown { .. }),
        "{err}"
    );
    env.assert_empty();
}

#[test]
fn transient_failures_are_retried_and_broken_downloads_resumed() {
    let registry = Registry::start(Auth::None);
    let layout = Layout::new();
    let layers = [
        compress(&busybox_tar("amd64"), Compression::Gzip),
        compress(
            &file_tar("data", &random_bytes(2_000_000)),
            Compression::None,
        ),
    ];
    let desc = layout.add_image(&layers, "amd64");
    raw_push(&registry.host, "flaky", "v1", &layout, &desc);

    // Two 503s on blob downloads: retried with backoff.
    let proxy = FlakyProxy::start(&registry.host, Fault::Unavailable, 2);
    let env = Env::new();
    let outcome = pull_default(&env, &format!("{}/flaky:v1", proxy.host)).unwrap();
    assert_eq!(
        proxy.faults_left.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the faults happened"
    );
    assert_eq!(
        outcome.manifest.to_string(),
        desc["digest"].as_str().unwrap()
    );

    // Bodies cut in the middle: resumed with Range requests, and the result verifies.
    let proxy = FlakyProxy::start(&registry.host, Fault::CutBody, 3);
    let env = Env::new();
    let outcome = pull_default(&env, &format!("{}/flaky:v1", proxy.host)).unwrap();
    assert_eq!(
        proxy.faults_left.load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    let image = env.store.image(&outcome.manifest).unwrap();
    for (l, d) in layers.iter().zip(&image.layer_digests) {
        assert_eq!(env.store.content.read(d).unwrap(), l.blob);
    }
    assert_eq!(
        fs::read(env.store.unpack(&image).unwrap()[0].join("data"))
            .unwrap()
            .len(),
        2_000_000
    );

    // A registry that always fails: a clear error after the retries, nothing stored.
    let proxy = FlakyProxy::start(&registry.host, Fault::Unavailable, usize::MAX);
    let env = Env::new();
    let err = pull_default(&env, &format!("{}/flaky:v1", proxy.host)).unwrap_err();
    assert!(
        matches!(err, RegistryError::ServerError { status: 503, .. }),
        "{err}"
    );
    env.assert_empty();
    // A body that always breaks: gives up after the resumes, nothing stored.
    let proxy = FlakyProxy::start(&registry.host, Fault::CutBody, usize::MAX);
    let err = pull_default(&env, &format!("{}/flaky:v1", proxy.host)).unwrap_err();
    assert!(err.to_string().contains("broke off"), "{err}");
    env.assert_empty();
}

#[test]
fn failed_pull_keeps_what_other_images_use() {
    let registry = Registry::start(Auth::None);
    let base = compress(&busybox_tar("amd64"), Compression::Gzip);
    let top = compress(&file_tar("top", b"top"), Compression::Gzip);
    let layout = Layout::new();
    let a = layout.add_image(
        &[compress(&busybox_tar("amd64"), Compression::Gzip)],
        "amd64",
    );
    raw_push(&registry.host, "a", "1", &layout, &a);
    let b = layout.add_image(&[base, top], "amd64");
    raw_push(&registry.host, "b", "1", &layout, &b);
    let manifest_b: serde_json::Value =
        serde_json::from_slice(&layout.blob(b["digest"].as_str().unwrap())).unwrap();
    let top_digest = manifest_b["layers"][1]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let data = registry.blob_data(&top_digest);
    let mut bad = fs::read(&data).unwrap();
    bad[0] ^= 0xff;
    fs::write(&data, bad).unwrap();

    let env = Env::new();
    let pulled_a = pull_default(&env, &format!("{}/a:1", registry.host)).unwrap();
    let image_a = env.store.image(&pulled_a.manifest).unwrap();
    let blobs_before = env.store.content.list().unwrap();
    let layers_before = env.store.layers.list().unwrap();
    let err = pull_default(&env, &format!("{}/b:1", registry.host)).unwrap_err();
    assert!(matches!(err, RegistryError::DigestMismatch { .. }), "{err}");
    // B's base layer is A's layer: it stays; B's own blob and layer are gone.
    assert_eq!(env.store.content.list().unwrap(), blobs_before);
    assert_eq!(env.store.layers.list().unwrap(), layers_before);
    assert!(env.store.layers.has(&image_a.chain_ids[0]));
    assert!(!env.store.content.has(&top_digest.parse().unwrap()));
    assert_eq!(env.store.index.load().unwrap().tags.len(), 1);
}
