//! Fixtures for skiff-net's kernel tests: network namespaces standing in for containers,
//! a manager on a private root with its own firewall table, processes killed on drop.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use skiff_net::{AttachRequest, Attachment, Backend, Config, NetworkManager, PortMapping, Subnet};
use skiff_testutil::{unique_name, BUSYBOX};

/// A network namespace playing a container; deleted on drop.
pub struct Netns {
    pub name: String,
    pub path: PathBuf,
}

impl Netns {
    pub fn new() -> Netns {
        let name = unique_name("ctns");
        run("ip", &["netns", "add", &name]);
        let path = PathBuf::from(format!("/run/netns/{name}"));
        Netns { name, path }
    }

    /// Runs busybox `args` inside the namespace and waits for it, at most 4 seconds
    /// (Debian's busybox 1.35 `wget -T` crashes, so `timeout` bounds clients instead).
    pub fn busybox(&self, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name, "timeout", "4", BUSYBOX])
            .args(args)
            .output()
            .expect("run ip netns exec")
    }

    /// Starts busybox `args` inside the namespace; killed when the guard drops.
    pub fn spawn(&self, args: &[&str]) -> ChildGuard {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.name, BUSYBOX])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ip netns exec");
        ChildGuard(child)
    }

    /// Gives the namespace its own /etc/resolv.conf (`ip netns exec` bind-mounts
    /// /etc/netns/<name>/resolv.conf over /etc/resolv.conf).
    pub fn set_resolv_conf(&self, text: &str) {
        let dir = PathBuf::from(format!("/etc/netns/{}", self.name));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("resolv.conf"), text).unwrap();
    }

    pub fn request(&self, name: &str) -> AttachRequest {
        AttachRequest {
            container_id: format!(
                "{:0>64}",
                name.replace(|c: char| !c.is_ascii_alphanumeric(), "")
            ),
            container_name: name.to_string(),
            netns: self.path.clone(),
            ..Default::default()
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        let _ = std::fs::remove_dir_all(format!("/etc/netns/{}", self.name));
    }
}

pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // `ip netns exec` execs busybox, so the child is the server itself.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A manager on its own temporary root, link prefix and firewall table; every network,
/// veth and rule it made is removed on drop, even when the test failed.
pub struct TestNet {
    pub manager: NetworkManager,
    pub config: Config,
    _root: tempfile::TempDir,
    _run: tempfile::TempDir,
}

impl TestNet {
    pub fn new(link_prefix: &str, backend: Option<Backend>) -> TestNet {
        static N: AtomicU32 = AtomicU32::new(0);
        let root = tempfile::Builder::new()
            .prefix("skiff-net-test")
            .tempdir()
            .unwrap();
        // Runtime state on a tmpfs, as in production (/run/skiff).
        let run = tempfile::Builder::new()
            .prefix("skiff-net-test")
            .tempdir_in("/run")
            .unwrap();
        let mut config = Config::new(root.path(), run.path());
        config.link_prefix = link_prefix.to_string();
        config.firewall_name = format!(
            "sktest_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        config.firewall = backend;
        config.pools = vec![("10.213.0.0/16".parse().unwrap(), 24)];
        let manager = NetworkManager::new(config.clone()).unwrap();
        TestNet {
            manager,
            config,
            _root: root,
            _run: run,
        }
    }

    pub fn create(&self, name: &str, internal: bool) -> skiff_net::Network {
        self.manager
            .create(skiff_net::CreateOptions {
                name: name.to_string(),
                subnet: Some(test_subnet()),
                internal,
                ..Default::default()
            })
            .unwrap()
    }

    pub fn attach(
        &self,
        network: &str,
        ns: &Netns,
        name: &str,
        ports: Vec<PortMapping>,
    ) -> Attachment {
        let mut request = ns.request(name);
        request.ports = ports;
        self.manager.attach(network, request).unwrap()
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        if let Err(e) = self.manager.reset() {
            eprintln!("test cleanup failed: {e}");
        }
    }
}

/// A /24 from 10.213.0.0/16 no other test (in this process) uses; the process id spreads
/// concurrent test processes apart.
pub fn test_subnet() -> Subnet {
    static N: AtomicU32 = AtomicU32::new(0);
    let base = (std::process::id() % 12) * 20;
    let n = N.fetch_add(1, Ordering::Relaxed);
    assert!(n < 20, "test subnets exhausted");
    Subnet::new(Ipv4Addr::new(10, 213, (base + n) as u8, 0), 24).unwrap()
}

/// The host's own address (the source address of its default route).
pub fn host_ip() -> Ipv4Addr {
    let out = run("ip", &["-4", "route", "get", "1.1.1.1"]);
    let words: Vec<&str> = out.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| *w == "src")
        .expect("default route has a source");
    words[at + 1].parse().unwrap()
}

pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .expect("run command");
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A minimal HTTP GET; the whole response.
pub fn http_get(address: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(3))?;
    stream.set_read_timeout(Some(Duration::from_secs(3)))?;
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

/// Waits until `address` accepts TCP connections.
pub fn wait_for_tcp(address: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {address}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Serves `body` with busybox httpd on port 80 inside `ns`; returns the guard.
pub fn httpd(ns: &Netns, ip: Ipv4Addr, body: &str) -> (ChildGuard, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), body).unwrap();
    let guard = ns.spawn(&[
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        dir.path().to_str().unwrap(),
    ]);
    wait_for_tcp(SocketAddr::from((ip, 80)));
    (guard, dir)
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

/// A free host port below the kernel's ephemeral range (32768 and up), so no client
/// connection of a concurrently running test can take it between the pick and the use.
pub fn free_low_port(protocol: skiff_net::Protocol) -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = 20000 + (std::process::id() % 500) * 20;
    loop {
        let port = (base + NEXT.fetch_add(1, Ordering::Relaxed) % 10000) as u16;
        let free = match protocol {
            skiff_net::Protocol::Tcp => std::net::TcpListener::bind(("0.0.0.0", port)).is_ok(),
            skiff_net::Protocol::Udp => std::net::UdpSocket::bind(("0.0.0.0", port)).is_ok(),
        };
        if free {
            return port;
        }
    }
}

/// `-p <free low port>:<container_spec>`.
pub fn publish(container_spec: &str) -> PortMapping {
    let protocol = if container_spec.ends_with("/udp") {
        skiff_net::Protocol::Udp
    } else {
        skiff_net::Protocol::Tcp
    };
    skiff_net::ports::parse_publish(&format!("{}:{container_spec}", free_low_port(protocol)))
        .unwrap()
}
