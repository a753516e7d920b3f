//! Test fixtures: a real Distribution registry (Debian's `docker-registry` 2.8.2) on a free
//! loopback port, plain, with htpasswd Basic auth, or with token auth (tokenserver.py);
//! OCI layouts to push with skopeo or raw HTTP; and checks that a store holds nothing.

#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};
use skiff_image::ImageStore;
use skiff_registry::RegistryConfig;

pub const USER: &str = "skiffuser";
pub const PASSWORD: &str = "s3cret-pw";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Auth {
    None,
    Htpasswd,
    Token,
}

/// A registry process (and its token server), killed and reaped on drop.
pub struct Registry {
    pub host: String,
    pub dir: tempfile::TempDir,
    children: Vec<Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Registry {
    pub fn start(auth: Auth) -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("skiff-registry-test")
            .tempdir()
            .unwrap();
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let mut registry = Registry {
            host: host.clone(),
            dir,
            children: Vec::new(),
        };
        let d = registry.dir.path().to_owned();
        let auth_section = match auth {
            Auth::None => String::new(),
            Auth::Htpasswd => {
                let out = Command::new("htpasswd")
                    .args(["-Bbn", USER, PASSWORD])
                    .output()
                    .expect("htpasswd (apache2-utils) is installed");
                assert!(out.status.success());
                fs::write(d.join("htpasswd"), out.stdout).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: basic-realm\n    path: {}\n",
                    d.join("htpasswd").display()
                )
            }
            Auth::Token => {
                let token_port = free_port();
                let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tokenserver.py");
                let log = fs::File::create(d.join("tokenserver.log")).unwrap();
                let child = Command::new("python3")
                    .arg(script)
                    .args([d.to_str().unwrap(), &token_port.to_string(), USER, PASSWORD])
                    .stdout(log.try_clone().unwrap())
                    .stderr(log)
                    .spawn()
                    .unwrap();
                registry.children.push(child);
                wait_until(|| {
                    d.join("cert.pem").exists()
                        && std::net::TcpStream::connect(("127.0.0.1", token_port)).is_ok()
                });
                format!(
                    "auth:\n  token:\n    realm: http://127.0.0.1:{token_port}/token\n    service: test-registry\n    issuer: test-issuer\n    rootcertbundle: {}\n",
                    d.join("cert.pem").display()
                )
            }
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n{auth_section}",
            d.join("storage").display()
        );
        fs::write(d.join("config.yml"), config).unwrap();
        let log = fs::File::create(d.join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(d.join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry is installed");
        registry.children.push(child);
        let url = format!("http://{host}/v2/");
        wait_until(|| {
            ureq::get(&url).call().is_ok()
                || matches!(ureq::get(&url).call(), Err(ureq::Error::StatusCode(401)))
        });
        registry
    }

    /// The storage path of a blob's data in the registry (to corrupt it).
    pub fn blob_data(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.dir.path().join(format!(
            "storage/docker/registry/v2/blobs/sha256/{}/{hex}/data",
            &hex[..2]
        ))
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn wait_until(mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "the test registry did not come up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A skiff state root and registry config of the test's own.
pub struct Env {
    pub root: tempfile::TempDir,
    pub docker_config: tempfile::TempDir,
    pub store: ImageStore,
    pub config: RegistryConfig,
}

impl Env {
    pub fn new() -> Env {
        let root = tempfile::Builder::new()
            .prefix("skiff-registry-root")
            .tempdir()
            .unwrap();
        let docker_config = tempfile::tempdir().unwrap();
        let store = ImageStore::open(root.path()).unwrap();
        let config = RegistryConfig {
            insecure: vec![],
            docker_config_dir: docker_config.path().to_owned(),
        };
        Env {
            root,
            docker_config,
            store,
            config,
        }
    }

    /// The store holds no blob, layer, tag or image, and no temp file.
    pub fn assert_empty(&self) {
        let root = self.root.path();
        let entries = |p: &Path| -> Vec<String> {
            fs::read_dir(p)
                .map(|d| {
                    d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(
            entries(&root.join("blobs/sha256")),
            Vec::<String>::new(),
            "blobs left behind"
        );
        assert_eq!(
            entries(&root.join("layers")),
            Vec::<String>::new(),
            "layers left behind"
        );
        let index = self.store.index.load().unwrap();
        assert!(
            index.tags.is_empty() && index.images.is_empty(),
            "index not empty: {index:?}"
        );
    }
}

pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

#[derive(Clone, Copy, Debug)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// An OCI image layout directory being built.
pub struct Layout {
    pub dir: tempfile::TempDir,
}

/// A layer as pushed: its blob and the uncompressed tar's digest.
pub struct LayerBlob {
    pub blob: Vec<u8>,
    pub media_type: &'static str,
    pub diff_id: String,
}

pub fn compress(tar: &[u8], compression: Compression) -> LayerBlob {
    let diff_id = sha256(tar);
    match compression {
        Compression::None => LayerBlob {
            blob: tar.to_vec(),
            media_type: "application/vnd.oci.image.layer.v1.tar",
            diff_id,
        },
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(tar).unwrap();
            LayerBlob {
                blob: enc.finish().unwrap(),
                media_type: "application/vnd.oci.image.layer.v1.tar+gzip",
                diff_id,
            }
        }
        Compression::Zstd => LayerBlob {
            blob: zstd::encode_all(tar, 3).unwrap(),
            media_type: "application/vnd.oci.image.layer.v1.tar+zstd",
            diff_id,
        },
    }
}

/// `tar` of a directory with GNU tar, reproducibly (the way image builders do).
pub fn tar_dir(dir: &Path) -> Vec<u8> {
    let out = Command::new("tar")
        .args([
            "--sort=name",
            "--mtime=@0",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "-C",
        ])
        .arg(dir)
        .args(["-cf", "-", "."])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tar failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A small root filesystem: /bin/busybox, a few applets, /etc/passwd, and /platform naming
/// `arch` (so a test can tell which platform's image it got).
pub fn busybox_tar(arch: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    for applet in ["sh", "ls", "cat", "echo", "true"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    fs::write(root.join("platform"), arch).unwrap();
    tar_dir(root)
}

/// A tar with one file (`path`, `content`).
pub fn file_tar(path: &str, content: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(path);
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(file, content).unwrap();
    tar_dir(dir.path())
}

impl Layout {
    pub fn new() -> Layout {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("oci-layout"),
            r#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
        Layout { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn add_blob(&self, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        fs::write(
            self.dir.path().join("blobs/sha256").join(&digest[7..]),
            bytes,
        )
        .unwrap();
        digest
    }

    /// Adds an image (config + layers + manifest); returns the manifest's descriptor with
    /// its platform.
    pub fn add_image(&self, layers: &[LayerBlob], arch: &str) -> serde_json::Value {
        let config = serde_json::json!({
            "architecture": arch, "os": "linux",
            "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"]},
            "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>()},
        });
        let config = serde_json::to_vec(&config).unwrap();
        let config_digest = self.add_blob(&config);
        let layer_descs: Vec<_> = layers
            .iter()
            .map(|l| serde_json::json!({"mediaType": l.media_type, "digest": self.add_blob(&l.blob), "size": l.blob.len()}))
            .collect();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
            "layers": layer_descs,
        });
        let manifest = serde_json::to_vec(&manifest).unwrap();
        serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": self.add_blob(&manifest),
            "size": manifest.len(),
            "platform": {"architecture": arch, "os": "linux"},
        })
    }

    /// Adds a multi-platform index of `manifests`; returns its descriptor.
    pub fn add_index(&self, manifests: Vec<serde_json::Value>) -> serde_json::Value {
        let index = serde_json::json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests,
        });
        let bytes = serde_json::to_vec(&index).unwrap();
        serde_json::json!({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": self.add_blob(&bytes), "size": bytes.len()})
    }

    /// Writes index.json naming `descriptor` as `name`.
    pub fn tag(&self, mut descriptor: serde_json::Value, name: &str) {
        descriptor["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": name});
        let index = serde_json::json!({"schemaVersion": 2, "manifests": [descriptor]});
        fs::write(
            self.dir.path().join("index.json"),
            serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
    }

    pub fn blob(&self, digest: &str) -> Vec<u8> {
        fs::read(self.dir.path().join("blobs/sha256").join(&digest[7..])).unwrap()
    }
}

/// `skopeo copy [--all] oci:LAYOUT:name docker://HOST/REPO` (a peer pushing).
pub fn skopeo_push(layout: &Layout, name: &str, dest: &str, creds: Option<&str>, all: bool) {
    let mut cmd = Command::new("skopeo");
    cmd.args(["--insecure-policy", "copy", "-q", "--dest-tls-verify=false"]);
    if let Some(c) = creds {
        cmd.args(["--dest-creds", c]);
    }
    if all {
        cmd.arg("--all");
    }
    // A private blob-info cache: skopeo's shared one can swap blobs between tests.
    let cache = tempfile::tempdir().unwrap();
    cmd.env("XDG_DATA_HOME", cache.path())
        .env("HOME", cache.path());
    cmd.arg(format!("oci:{}:{name}", layout.path().display()))
        .arg(format!("docker://{dest}"));
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "skopeo copy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `skopeo inspect --raw` of a registry image: the manifest bytes as the registry serves them.
pub fn skopeo_raw(reference: &str, creds: Option<&str>) -> Vec<u8> {
    let mut cmd = Command::new("skopeo");
    cmd.args(["inspect", "--raw", "--tls-verify=false"]);
    if let Some(c) = creds {
        cmd.args(["--creds", c]);
    }
    let out = cmd.arg(format!("docker://{reference}")).output().unwrap();
    assert!(
        out.status.success(),
        "skopeo inspect failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Pushes an OCI layout image with plain HTTP calls (no auth): blobs, then the manifest.
/// Lets a test put content on a registry exactly as built (skopeo may recompress).
pub fn raw_push(host: &str, repo: &str, tag: &str, layout: &Layout, manifest: &serde_json::Value) {
    let manifest_bytes = layout.blob(manifest["digest"].as_str().unwrap());
    let parsed: serde_json::Value = serde_json::from_slice(&manifest_bytes).unwrap();
    let mut digests = vec![parsed["config"]["digest"].as_str().unwrap().to_owned()];
    digests.extend(
        parsed["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["digest"].as_str().unwrap().to_owned()),
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    for digest in digests {
        let resp = agent
            .post(format!("http://{host}/v2/{repo}/blobs/uploads/"))
            .send_empty()
            .unwrap();
        assert_eq!(resp.status(), 202);
        let loc = resp.headers()["location"].to_str().unwrap().to_owned();
        let loc = if loc.starts_with('/') {
            format!("http://{host}{loc}")
        } else {
            loc
        };
        let sep = if loc.contains('?') { '&' } else { '?' };
        let resp = agent
            .put(format!("{loc}{sep}digest={digest}"))
            .send(&layout.blob(&digest)[..])
            .unwrap();
        assert_eq!(resp.status(), 201, "blob upload of {digest}");
    }
    let resp = agent
        .put(format!("http://{host}/v2/{repo}/manifests/{tag}"))
        .header("Content-Type", parsed["mediaType"].as_str().unwrap())
        .send(&manifest_bytes[..])
        .unwrap();
    assert_eq!(resp.status(), 201, "manifest upload");
}

/// What a [`FlakyProxy`] does to blob downloads.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Answer `503 Service Unavailable` (the registry is overloaded).
    Unavailable,
    /// Send the headers and half the body, then close the connection.
    CutBody,
}

/// An HTTP proxy in front of a registry that breaks the first `count` blob downloads with
/// `fault`, and passes everything else through. One request per connection.
pub struct FlakyProxy {
    pub host: String,
    pub faults_left: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FlakyProxy {
    pub fn start(upstream: &str, fault: Fault, count: usize) -> FlakyProxy {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::Arc;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let faults_left = Arc::new(AtomicUsize::new(count));
        let stop = Arc::new(AtomicBool::new(false));
        let (left, stopping, upstream) = (faults_left.clone(), stop.clone(), upstream.to_owned());
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        conn.set_nonblocking(false).unwrap();
                        let _ = proxy_one(conn, &upstream, fault, &left);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FlakyProxy {
            host,
            faults_left,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn proxy_one(
    mut conn: std::net::TcpStream,
    upstream: &str,
    fault: Fault,
    left: &std::sync::atomic::AtomicUsize,
) -> std::io::Result<()> {
    use std::io::Read;
    use std::sync::atomic::Ordering;
    // The request head (pulls send no request bodies).
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let request_line = text.lines().next().unwrap_or_default().to_owned();
    let mut forwarded = String::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            forwarded.push_str(line);
            forwarded.push_str("\r\n");
        }
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    let is_blob = request_line.starts_with("GET ") && request_line.contains("/blobs/sha256:");
    let faulty = is_blob
        && left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
    if faulty && matches!(fault, Fault::Unavailable) {
        conn.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        return Ok(());
    }
    let mut up = std::net::TcpStream::connect(upstream)?;
    up.write_all(forwarded.as_bytes())?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    if faulty {
        let body_start = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(response.len(), |i| i + 4);
        let cut = body_start + (response.len() - body_start) / 2;
        conn.write_all(&response[..cut])?;
    } else {
        conn.write_all(&response)?;
    }
    Ok(())
}
