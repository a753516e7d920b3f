//! skiff-net on the real kernel, as root: network namespaces stand in for containers and run
//! busybox servers and clients. All traffic stays on this machine.

mod common;

use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use skiff_net::dns::DnsServer;
use skiff_net::etc::{resolv_conf, Nameservers};
use skiff_net::{Backend, Error, PortMapping, Protocol};

/// A DNS server for `network` on its gateway, running on a thread until dropped.
struct RunningDns {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningDns {
    fn start(net: &TestNet, network: &str, upstream: Option<SocketAddr>) -> RunningDns {
        let mut server = DnsServer::bind(net.manager.store(), network, None).unwrap();
        if let Some(upstream) = upstream {
            server = server.with_upstreams(vec![upstream]);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || server.run(&flag, None).unwrap());
        RunningDns {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for RunningDns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A fake upstream resolver on loopback answering every A query with 198.51.100.7.
fn fake_upstream() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = socket.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 512];
        while let Ok((len, client)) = socket.recv_from(&mut buffer) {
            let mut reply = buffer[..len].to_vec();
            reply[2] |= 0x80;
            reply[3] = 0x80;
            reply[7] = 1;
            reply.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 51, 100, 7]);
            let _ = socket.send_to(&reply, client);
        }
    });
    address
}

#[test]
fn two_containers_reach_each_other_by_ip_and_by_name() {
    let net = TestNet::new("skt", None);
    let network = net.create("app", false);
    let (web_ns, db_ns) = (Netns::new(), Netns::new());
    let mut web_request = web_ns.request("web");
    web_request.aliases = vec!["frontend".into()];
    web_request.hostname = Some("webhost".into());
    let web = net.manager.attach("app", web_request).unwrap();
    let db = net.attach("app", &db_ns, "db", vec![]);
    assert_eq!(web.gateway, Some(network.gateway));
    assert_ne!(web.ip, db.ip);
    assert_eq!(
        web_ns.busybox(&["cat", "/sys/class/net/eth0/mtu"]).stdout,
        format!("{}\n", network.mtu).into_bytes()
    );

    let _dns = RunningDns::start(&net, "app", Some(fake_upstream()));
    let (_httpd, _dir) = httpd(&web_ns, web.ip, "hello from web\n");

    // By IP.
    let out = db_ns.busybox(&["wget", "-q", "-O", "-", &format!("http://{}/", web.ip)]);
    assert_eq!(stdout(&out), "hello from web\n");

    // By name, alias and hostname through the DNS server on the gateway.
    let gateway = network.gateway.to_string();
    for name in ["web", "frontend", "webhost", "WEB"] {
        let out = db_ns.busybox(&["nslookup", name, &gateway]);
        assert!(
            stdout(&out).contains(&format!("Address: {}", web.ip)),
            "{name}: {}",
            stdout(&out)
        );
    }
    let out = web_ns.busybox(&["nslookup", "db", &gateway]);
    assert!(
        stdout(&out).contains(&format!("Address: {}", db.ip)),
        "{}",
        stdout(&out)
    );

    // Other names go upstream.
    let out = db_ns.busybox(&["nslookup", "example.test", &gateway]);
    assert!(
        stdout(&out).contains("Address: 198.51.100.7"),
        "{}",
        stdout(&out)
    );

    // The container's resolver (its resolv.conf as skiff writes it) finds the name.
    db_ns.set_resolv_conf(&resolv_conf(
        "",
        &Nameservers::Network(network.gateway),
        &[],
        &[],
    ));
    let out = db_ns.busybox(&["wget", "-q", "-O", "-", "http://frontend/"]);
    assert_eq!(stdout(&out), "hello from web\n");

    // Detached containers disappear from DNS.
    net.manager
        .detach("app", &web_ns.request("web").container_id)
        .unwrap();
    let out = db_ns.busybox(&["nslookup", "web", &gateway]);
    assert!(
        !stdout(&out).contains(&format!("Address: {}", web.ip)),
        "{}",
        stdout(&out)
    );
}

#[test]
fn networks_are_isolated_and_internal_networks_have_no_way_out() {
    let net = TestNet::new("skt", None);
    net.create("front", false);
    net.create("back", false);
    let private = net.create("private", true);
    let (a1, a2, b1, p1, p2) = (
        Netns::new(),
        Netns::new(),
        Netns::new(),
        Netns::new(),
        Netns::new(),
    );
    let a1_at = net.attach("front", &a1, "a1", vec![]);
    net.attach("front", &a2, "a2", vec![]);
    net.attach("back", &b1, "b1", vec![]);
    let p1_at = net.attach("private", &p1, "p1", vec![]);
    net.attach("private", &p2, "p2", vec![]);
    let (_httpd, _dir) = httpd(&a1, a1_at.ip, "front page\n");
    let url = format!("http://{}/", a1_at.ip);

    // Same network: reachable (the control for the checks below).
    let out = a2.busybox(&["wget", "-q", "-O", "-", &url]);
    assert_eq!(stdout(&out), "front page\n");
    // Another network: dropped by the forward rules.
    let out = b1.busybox(&["wget", "-q", "-O", "-", &url]);
    assert!(
        !out.status.success(),
        "back reached front: {}",
        stdout(&out)
    );
    let out = p1.busybox(&["wget", "-q", "-O", "-", &url]);
    assert!(
        !out.status.success(),
        "internal network reached front: {}",
        stdout(&out)
    );

    // Internal: no default route, so nothing outside the subnet; inside it works.
    assert_eq!(p1_at.gateway, None);
    let routes = stdout(&p1.busybox(&["ip", "route"]));
    assert!(!routes.contains("default"), "{routes}");
    let (_p1_httpd, _p1_dir) = httpd(&p1, p1_at.ip, "private page\n");
    let out = p2.busybox(&["wget", "-q", "-O", "-", &format!("http://{}/", p1_at.ip)]);
    assert_eq!(stdout(&out), "private page\n");
    let out = p2.busybox(&["wget", "-q", "-O", "-", &format!("http://{}:1/", host_ip())]);
    assert!(stdout(&out).contains("unreachable"), "{}", stdout(&out));
    assert_eq!(
        private.endpoints.len(),
        0,
        "create returns the empty network"
    );
}

#[test]
fn containers_reach_the_host_address() {
    let net = TestNet::new("skt", None);
    net.create("out", false);
    let ns = Netns::new();
    net.attach("out", &ns, "client", vec![]);
    let listener = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut stream, peer) = listener.accept().unwrap();
        std::io::Write::write_all(&mut stream, b"hello from the host\n").unwrap();
        peer
    });
    let out = ns.busybox(&["nc", "-w", "3", &host_ip().to_string(), &port.to_string()]);
    assert_eq!(stdout(&out), "hello from the host\n");
    let peer = server.join().unwrap();
    assert!(net
        .manager
        .inspect("out")
        .unwrap()
        .subnet
        .contains(match peer.ip() {
            std::net::IpAddr::V4(ip) => ip,
            other => panic!("unexpected peer {other}"),
        }));
}

#[test]
fn published_tcp_and_udp_ports_are_reachable_from_the_host() {
    let net = TestNet::new("skt", None);
    net.create("pub", false);
    let (server_ns, neighbour_ns) = (Netns::new(), Netns::new());
    let tcp = publish("80");
    let udp = publish("5353/udp");
    let server = net.attach("pub", &server_ns, "server", vec![tcp, udp]);
    net.attach("pub", &neighbour_ns, "neighbour", vec![]);
    let (_httpd, _dir) = httpd(&server_ns, server.ip, "published page\n");

    // TCP: loopback, the host's own address, and hairpin from a container on the network.
    for ip in [Ipv4Addr::LOCALHOST, host_ip()] {
        let response = http_get(SocketAddr::from((ip, tcp.host_port))).unwrap();
        assert!(response.ends_with("published page\n"), "{ip}: {response}");
    }
    let url = format!("http://{}:{}/", host_ip(), tcp.host_port);
    let out = neighbour_ns.busybox(&["wget", "-q", "-O", "-", &url]);
    assert_eq!(stdout(&out), "published page\n");
    let out = server_ns.busybox(&["wget", "-q", "-O", "-", &url]);
    assert_eq!(
        stdout(&out),
        "published page\n",
        "a container reaches its own published port"
    );

    // UDP: an echo server inside the container's namespace.
    let ns_file = std::fs::File::open(&server_ns.path).unwrap();
    let echo = std::thread::spawn(move || {
        nix::sched::setns(&ns_file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let socket = UdpSocket::bind("0.0.0.0:5353").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buffer = [0u8; 64];
        for _ in 0..2 {
            let (len, peer) = socket.recv_from(&mut buffer).unwrap();
            let mut reply = b"echo:".to_vec();
            reply.extend_from_slice(&buffer[..len]);
            socket.send_to(&reply, peer).unwrap();
        }
    });
    std::thread::sleep(Duration::from_millis(100));
    for ip in [Ipv4Addr::LOCALHOST, host_ip()] {
        let client = UdpSocket::bind("0.0.0.0:0").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        client.send_to(b"ping", (ip, udp.host_port)).unwrap();
        let mut buffer = [0u8; 64];
        let len = client
            .recv(&mut buffer)
            .unwrap_or_else(|e| panic!("no UDP reply via {ip}: {e}"));
        assert_eq!(&buffer[..len], b"echo:ping");
    }
    echo.join().unwrap();

    // The rules are gone with the container.
    let id = server_ns.request("server").container_id;
    net.manager.detach("pub", &id).unwrap();
    assert!(http_get(SocketAddr::from((Ipv4Addr::LOCALHOST, tcp.host_port))).is_err());
    assert!(!net
        .manager
        .firewall()
        .list()
        .unwrap()
        .contains(&format!("dport {}", tcp.host_port)));
}

#[test]
fn a_host_port_in_use_is_a_clear_error() {
    let net = TestNet::new("skt", None);
    net.create("busy", false);
    let port = free_low_port(Protocol::Tcp);
    let held = TcpListener::bind(("0.0.0.0", port)).unwrap();
    let mapping = PortMapping {
        host_ip: None,
        host_port: port,
        container_port: 80,
        protocol: Protocol::Tcp,
    };
    let (ns, other_ns) = (Netns::new(), Netns::new());
    let mut request = ns.request("c1");
    request.ports = vec![mapping];
    let error = net.manager.attach("busy", request).unwrap_err();
    assert!(matches!(error, Error::PortInUse { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&port.to_string()) && message.contains("already in use"),
        "{message}"
    );
    // Nothing was set up for the failed attach.
    assert!(net.manager.inspect("busy").unwrap().endpoints.is_empty());
    assert_eq!(
        stdout(&ns.busybox(&["ip", "-o", "link"])).lines().count(),
        1,
        "only lo"
    );

    // A port another skiff container publishes is refused too.
    drop(held);
    // Another test thread forking at the wrong moment holds a copy of the socket until its
    // child execs; wait for the port to be really free.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while TcpListener::bind(("0.0.0.0", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "port {port} stays busy"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    net.attach("busy", &ns, "c1", vec![mapping]);
    let mut request = other_ns.request("c2");
    request.ports = vec![mapping];
    let error = net.manager.attach("busy", request).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("already published by container c1"),
        "{error}"
    );
}

#[test]
fn fifty_containers_on_one_network() {
    let net = TestNet::new("skt", None);
    let network = net.create("many", false);
    let namespaces: Vec<Netns> = (0..50).map(|_| Netns::new()).collect();
    let mut ips = std::collections::BTreeSet::new();
    let started = std::time::Instant::now();
    // Five threads attach at once, as concurrent `skiff run`s would: the lock keeps the
    // address allocation consistent.
    let attached: Vec<Ipv4Addr> = std::thread::scope(|scope| {
        let handles: Vec<_> = namespaces
            .chunks(10)
            .enumerate()
            .map(|(chunk, group)| {
                let net = &net;
                scope.spawn(move || {
                    group
                        .iter()
                        .enumerate()
                        .map(|(i, ns)| {
                            net.attach("many", ns, &format!("c{}", chunk * 10 + i), vec![])
                                .ip
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    for ip in attached {
        assert!(network.subnet.contains(ip));
        ips.insert(ip);
    }
    eprintln!("50 attachments took {:?}", started.elapsed());
    assert_eq!(ips.len(), 50, "every container has its own address");
    let first = ips.iter().next().unwrap().to_string();
    let out = namespaces[49].busybox(&["ping", "-c", "1", "-W", "3", &first]);
    assert!(out.status.success(), "{}", stdout(&out));
    let links = run("ip", &["-o", "link", "show", "master", &network.bridge]);
    assert_eq!(links.lines().count(), 50);

    for (i, ns) in namespaces.iter().enumerate() {
        net.manager
            .detach("many", &ns.request(&format!("c{i}")).container_id)
            .unwrap();
    }
    let links = run("ip", &["-o", "link", "show", "master", &network.bridge]);
    assert_eq!(links.lines().count(), 0, "{links}");
    assert!(net.manager.inspect("many").unwrap().endpoints.is_empty());
}

#[test]
fn restore_rebuilds_bridges_and_rules_after_a_reboot() {
    let net = TestNet::new("skt", None);
    let network = net.create("persist", false);
    let ns = Netns::new();
    let first = net.attach("persist", &ns, "old", vec![publish("80")]);
    let rules = net.manager.firewall().list().unwrap();
    assert!(
        rules.contains("masquerade") && rules.contains("dnat to"),
        "{rules}"
    );

    // A reboot: containers, bridge and firewall rules are gone, the state files remain.
    drop(ns);
    run("ip", &["link", "del", &network.bridge]);
    net.manager.firewall().remove_all().unwrap();
    assert_eq!(net.manager.firewall().list().unwrap(), "");

    let report = net.manager.restore().unwrap();
    assert_eq!(report.bridges_created, vec![network.bridge.clone()]);
    assert_eq!(report.stale_endpoints.len(), 1);
    let addresses = run("ip", &["-4", "-o", "addr", "show", "dev", &network.bridge]);
    assert!(
        addresses.contains(&format!("{}/24", network.gateway)),
        "{addresses}"
    );
    let restored = net.manager.firewall().list().unwrap();
    assert!(
        restored.contains(&format!(
            "ip saddr {} oifname != \"{}\" masquerade",
            network.subnet, network.bridge
        )),
        "{restored}"
    );
    assert!(
        !restored.contains("dnat to"),
        "the dead container's port is not republished"
    );

    // Idempotent: a second restore changes nothing.
    let again = net.manager.restore().unwrap();
    assert_eq!(again, Default::default());
    assert_eq!(net.manager.firewall().list().unwrap(), restored);

    // The freed address is handed out again and the network works.
    let ns = Netns::new();
    let second = net.attach("persist", &ns, "new", vec![]);
    assert_eq!(second.ip, first.ip);
    let out = ns.busybox(&["ping", "-c", "1", "-W", "3", &network.gateway.to_string()]);
    assert!(out.status.success(), "{}", stdout(&out));
}

#[test]
fn default_network_takes_the_first_free_subnet() {
    let net = TestNet::new("skd", None);
    // Occupy the first candidates of the pool with a host address (and so a route).
    let dummy = format!("skd{}", std::process::id() % 100000);
    run("ip", &["link", "add", &dummy, "type", "bridge"]);
    struct DelLink(String);
    impl Drop for DelLink {
        fn drop(&mut self) {
            let _ = std::process::Command::new("ip")
                .args(["link", "del", &self.0])
                .status();
        }
    }
    let _dummy = DelLink(dummy.clone());
    run("ip", &["addr", "add", "10.213.0.1/23", "dev", &dummy]);
    run("ip", &["link", "set", &dummy, "up"]);

    let network = net.manager.default_network().unwrap();
    assert_eq!(network.name, "bridge");
    assert_eq!(network.bridge, "skd0");
    assert_eq!(network.subnet.to_string(), "10.213.2.0/24");
    assert_eq!(network.gateway, Ipv4Addr::new(10, 213, 2, 1));
    assert_eq!(
        net.manager.default_network().unwrap(),
        network,
        "created once"
    );
    assert!(matches!(
        net.manager.remove("bridge"),
        Err(Error::Predefined { .. })
    ));
}

#[test]
fn network_lifecycle_and_errors() {
    let net = TestNet::new("skt", None);
    let subnet = test_subnet();
    let created = net
        .manager
        .create(skiff_net::CreateOptions {
            name: "life".into(),
            subnet: Some(subnet),
            gateway: Some(Ipv4Addr::from(u32::from(subnet.network()) + 254)),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(created.gateway.octets()[3], 254);
    assert_eq!(net.manager.inspect("life").unwrap(), created);
    assert_eq!(net.manager.inspect(&created.id[..12]).unwrap(), created);
    assert_eq!(net.manager.list().unwrap(), vec![created.clone()]);
    let on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(net.manager.store().path("life")).unwrap()).unwrap();
    assert_eq!(on_disk["subnet"], subnet.to_string());

    let error = net.create_err("life", Some(test_subnet()));
    assert!(matches!(error, Error::NetworkExists { .. }), "{error}");
    let error = net.create_err("other", Some(subnet));
    assert!(
        error.to_string().contains("overlaps network life"),
        "{error}"
    );
    let error = net.create_err("bad/name", None);
    assert!(matches!(error, Error::BadName { .. }), "{error}");
    let host_route: skiff_net::Subnet = format!("{}/24", host_ip()).parse().unwrap();
    let error = net.create_err("hostnet", Some(host_route));
    assert!(error.to_string().contains("host route"), "{error}");

    let ns = Netns::new();
    let attachment = net.attach("life", &ns, "user", vec![]);
    assert_eq!(
        attachment.ip,
        Ipv4Addr::from(u32::from(subnet.network()) + 1)
    );
    let error = net.manager.remove("life").unwrap_err();
    assert!(error.to_string().contains("in use by user"), "{error}");
    let error = net.manager.attach("life", ns.request("user")).unwrap_err();
    assert!(matches!(error, Error::AlreadyAttached { .. }), "{error}");
    assert_eq!(
        net.manager
            .detach_all(&ns.request("user").container_id)
            .unwrap(),
        vec!["life"]
    );
    net.manager.remove("life").unwrap();
    assert!(matches!(
        net.manager.inspect("life"),
        Err(Error::NoSuchNetwork { .. })
    ));
    assert!(run("ip", &["-o", "link"])
        .lines()
        .all(|l| !l.contains(&created.bridge)));
    assert!(matches!(
        net.manager.remove("life"),
        Err(Error::NoSuchNetwork { .. })
    ));

    // Concurrent creates (threads standing in for CLI invocations) get distinct subnets.
    let subnets: Vec<skiff_net::Subnet> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let manager = &net.manager;
                scope.spawn(move || {
                    manager
                        .create(skiff_net::CreateOptions {
                            name: format!("auto{i}"),
                            ..Default::default()
                        })
                        .unwrap()
                        .subnet
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, a) in subnets.iter().enumerate() {
        assert!(
            subnets[i + 1..].iter().all(|b| !a.overlaps(b)),
            "{subnets:?}"
        );
    }
    assert_eq!(net.manager.prune().unwrap().len(), 4);
    assert!(net.manager.list().unwrap().is_empty());
}

trait CreateErr {
    fn create_err(&self, name: &str, subnet: Option<skiff_net::Subnet>) -> Error;
}

impl CreateErr for TestNet {
    fn create_err(&self, name: &str, subnet: Option<skiff_net::Subnet>) -> Error {
        self.manager
            .create(skiff_net::CreateOptions {
                name: name.into(),
                subnet,
                ..Default::default()
            })
            .unwrap_err()
    }
}

/// Links, addresses and routes whose text mentions `marker`, and the firewall's own listing.
fn snapshot(net: &TestNet, markers: &[&str]) -> Vec<String> {
    let mut lines = Vec::new();
    for args in [&["-o", "link"][..], &["-o", "addr"], &["route"]] {
        for line in run("ip", args).lines() {
            if markers.iter().any(|m| line.contains(m)) {
                // Drop link counters that change with traffic; names and state matter.
                lines.push(line.split(" link/").next().unwrap().to_string());
            }
        }
    }
    lines.push(net.manager.firewall().list().unwrap());
    lines.extend(
        run("nft", &["list", "tables"])
            .lines()
            .filter(|l| l.contains(&net.config.firewall_name))
            .map(String::from),
    );
    lines.extend(
        run("iptables-save", &[])
            .lines()
            .filter(|l| l.contains(&net.config.firewall_name.to_ascii_uppercase()))
            .map(String::from),
    );
    lines
}

fn cleanup_scenario(backend: Backend, prefix: &str) {
    let net = TestNet::new(prefix, Some(backend));
    let (s1, s2) = (test_subnet(), test_subnet());
    let inet = |s: skiff_net::Subnet| {
        let [a, b, c, _] = s.network().octets();
        format!("inet {a}.{b}.{c}.")
    };
    let (r1, r2, i1, i2) = (s1.to_string(), s2.to_string(), inet(s1), inet(s2));
    let markers = [prefix, &r1, &r2, &i1, &i2];
    let before = snapshot(&net, &markers);
    assert!(before.iter().all(|l| !l.contains("dnat")), "{before:?}");

    let public = net
        .manager
        .create(skiff_net::CreateOptions {
            name: "public".into(),
            subnet: Some(s1),
            ..Default::default()
        })
        .unwrap();
    net.manager
        .create(skiff_net::CreateOptions {
            name: "hidden".into(),
            subnet: Some(s2),
            internal: true,
            ..Default::default()
        })
        .unwrap();
    let (n1, n2, n3) = (Netns::new(), Netns::new(), Netns::new());
    let port = publish("80");
    let server = net.attach("public", &n1, "server", vec![port, publish("53/udp")]);
    net.attach("public", &n2, "peer", vec![]);
    net.attach("hidden", &n3, "hidden", vec![]);
    let during = snapshot(&net, &markers);
    assert_ne!(during, before, "the scenario created links and rules");
    let rules = net.manager.firewall().list().unwrap();
    assert!(
        rules.to_lowercase().contains("masquerade") && rules.to_lowercase().contains("dnat"),
        "{rules}"
    );
    // The rules work with this backend too.
    let (_httpd, _dir) = httpd(&n1, server.ip, "via the firewall\n");
    let response = http_get(SocketAddr::from((Ipv4Addr::LOCALHOST, port.host_port))).unwrap();
    assert!(response.ends_with("via the firewall\n"), "{response}");
    let out = n3.busybox(&["wget", "-q", "-O", "-", &format!("http://{}/", server.ip)]);
    assert!(
        !out.status.success(),
        "internal reached public: {}",
        stdout(&out)
    );
    drop(_httpd);

    for (ns, name, network) in [
        (&n1, "server", "public"),
        (&n2, "peer", "public"),
        (&n3, "hidden", "hidden"),
    ] {
        net.manager
            .detach(network, &ns.request(name).container_id)
            .unwrap();
    }
    net.manager.remove("public").unwrap();
    net.manager.remove("hidden").unwrap();
    assert_eq!(public.endpoints.len(), 0);
    let after = snapshot(&net, &markers);
    assert_eq!(after, before, "everything skiff made is gone");
}

#[test]
fn cleanup_leaves_no_link_address_route_or_rule_with_nftables() {
    cleanup_scenario(Backend::Nftables, "skn");
}

#[test]
fn cleanup_leaves_no_link_address_route_or_rule_with_iptables() {
    cleanup_scenario(Backend::Iptables, "ski");
}

/// A standard A query for `name` with id 0x4242.
fn dns_query(name: &str) -> Vec<u8> {
    let mut query = vec![0x42, 0x42, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        query.push(label.len() as u8);
        query.extend_from_slice(label.as_bytes());
    }
    query.extend_from_slice(&[0, 0, 1, 0, 1]);
    query
}

#[test]
fn dns_serve_runs_once_per_network_answers_tcp_and_exits_with_the_network() {
    use std::io::{Read, Write};
    let net = TestNet::new("skt", None);
    let network = net.create("named", false);
    let ns = Netns::new();
    let attachment = net.attach("named", &ns, "svc", vec![]);
    assert!(!skiff_net::dns::is_running(&net.config, "named").unwrap());

    let config = net.config.clone();
    let server = std::thread::spawn(move || skiff_net::dns::serve(&config, "named"));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !skiff_net::dns::is_running(&net.config, "named").unwrap() {
        assert!(
            std::time::Instant::now() < deadline,
            "the DNS server did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // A second server for the same network returns at once: spawning is idempotent.
    skiff_net::dns::serve(&net.config, "named").unwrap();

    // TCP, length-prefixed, from the host to the gateway address.
    wait_for_tcp(SocketAddr::from((network.gateway, 53)));
    let mut stream = std::net::TcpStream::connect((network.gateway, 53)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let query = dns_query("svc");
    stream
        .write_all(&(query.len() as u16).to_be_bytes())
        .unwrap();
    stream.write_all(&query).unwrap();
    let mut length = [0u8; 2];
    stream.read_exact(&mut length).unwrap();
    let mut reply = vec![0u8; u16::from_be_bytes(length) as usize];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(&reply[..2], &[0x42, 0x42]);
    assert_eq!(u16::from_be_bytes([reply[6], reply[7]]), 1, "one answer");
    assert_eq!(&reply[reply.len() - 4..], &attachment.ip.octets());

    // The container's UDP lookup, then the server exits once its network is gone.
    let out = ns.busybox(&["nslookup", "svc", &network.gateway.to_string()]);
    assert!(
        stdout(&out).contains(&format!("Address: {}", attachment.ip)),
        "{}",
        stdout(&out)
    );
    net.manager
        .detach("named", &ns.request("svc").container_id)
        .unwrap();
    net.manager.remove("named").unwrap();
    server.join().unwrap().unwrap();
    assert!(!skiff_net::dns::is_running(&net.config, "named").unwrap());
}

#[test]
fn a_container_on_two_networks_and_network_none() {
    let net = TestNet::new("skt", None);
    let (front, back) = (net.create("front2", false), net.create("back2", false));
    let (both, front_only, back_only) = (Netns::new(), Netns::new(), Netns::new());
    let first = net.attach("front2", &both, "both", vec![]);
    let mut second_request = both.request("both");
    second_request.interface = Some("eth1".into());
    let second = net.manager.attach("back2", second_request).unwrap();
    assert_eq!(
        (first.interface.as_str(), second.interface.as_str()),
        ("eth0", "eth1")
    );
    let routes = stdout(&both.busybox(&["ip", "route"]));
    assert!(
        routes.contains(&format!("default via {} dev eth0", front.gateway)),
        "{routes}"
    );
    net.attach("front2", &front_only, "f", vec![]);
    let b = net.attach("back2", &back_only, "b", vec![]);
    let (_httpd, _dir) = httpd(&back_only, b.ip, "back page\n");
    // The container on both networks reaches the back; the front-only one does not.
    let url = format!("http://{}/", b.ip);
    assert_eq!(
        stdout(&both.busybox(&["wget", "-q", "-O", "-", &url])),
        "back page\n"
    );
    assert!(!front_only
        .busybox(&["wget", "-q", "-O", "-", &url])
        .status
        .success());
    // Disconnecting the second network removes eth1 only.
    net.manager
        .detach("back2", &both.request("both").container_id)
        .unwrap();
    let links = stdout(&both.busybox(&["ip", "-o", "link"]));
    assert!(links.contains("eth0") && !links.contains("eth1"), "{links}");
    assert!(back.endpoints.is_empty());

    // --network none: just lo, up.
    let none = Netns::new();
    skiff_net::loopback_only(&none.path).unwrap();
    let out = none.busybox(&["ping", "-c", "1", "-W", "2", "127.0.0.1"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(
        stdout(&none.busybox(&["ip", "-o", "link"])).lines().count(),
        1
    );
}
