//! The container DNS server: answers A queries for the names, aliases, hostnames and short
//! ids of containers on one network, and forwards every other query to the host's resolvers.
//!
//! # Process model
//!
//! One server per network, in its own small long-lived process, like Podman's aardvark-dns:
//! the engine runs `skiff` in a hidden DNS mode (for example `skiff internal net-dns <network>`)
//! detached from the CLI (new session, stdio on /dev/null) whenever it attaches a container to
//! the network, and that process calls [`serve`]. [`serve`] takes an exclusive lock next to
//! the network's state file and returns at once when another server already holds it, so
//! spawning is idempotent and racing CLIs start exactly one server; [`is_running`] lets the
//! engine skip the spawn (an exec on the start path) when one is up.
//!
//! The server listens on the bridge's address (the network's gateway), UDP and TCP port 53,
//! so it lives in the host's network namespace and can forward to host-local resolvers such
//! as 127.0.0.53. Containers get `nameserver <gateway>` in /etc/resolv.conf
//! ([`crate::etc::resolv_conf`]). It needs no reload signal: before answering it stats the
//! network's two state files and re-reads them when one was replaced, which every attach and
//! detach does. It exits when the network is removed, or after [`IDLE_EXIT`] without
//! endpoints, so nothing outlives its network. A thread per forwarded query and per TCP
//! connection keeps it simple; memory stays around a megabyte.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::manager::Config;
use crate::store::Store;
use crate::Error;

/// A server whose network has had no endpoints for this long exits.
pub const IDLE_EXIT: Duration = Duration::from_secs(30);
const TTL: u32 = 60;
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(3);

const TYPE_A: u16 = 1;
const TYPE_ANY: u16 = 255;
const RCODE_SERVFAIL: u8 = 2;
const RCODE_NXDOMAIN: u8 = 3;
const RCODE_REFUSED: u8 = 5;

/// Runs the DNS server for `network` until the network is removed or idle; returns at once
/// when another process already serves it. This is the whole body of the DNS process.
pub fn serve(config: &Config, network: &str) -> Result<(), Error> {
    let store = Store::new(&config.root, &config.run_dir);
    let Some(_lock) = try_lock(&store, network)? else {
        tracing::debug!(network, "a DNS server already runs for this network");
        return Ok(());
    };
    let server = DnsServer::bind(&store, network, None)?;
    server.run(&AtomicBool::new(false), Some(IDLE_EXIT))
}

/// Whether a DNS server process holds `network`'s lock.
pub fn is_running(config: &Config, network: &str) -> Result<bool, Error> {
    Ok(try_lock(&Store::new(&config.root, &config.run_dir), network)?.is_none())
}

/// The lock file a network's DNS server holds while it runs.
pub fn lock_path(store: &Store, network: &str) -> PathBuf {
    store.dir().join(format!(".{network}.dns.lock"))
}

fn try_lock(store: &Store, network: &str) -> Result<Option<File>, Error> {
    let path = lock_path(store, network);
    std::fs::create_dir_all(store.dir()).map_err(|source| Error::State {
        path: store.dir().to_path_buf(),
        source,
    })?;
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| Error::State {
            path: path.clone(),
            source,
        })?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(file)),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
        Err(e) => Err(Error::State {
            path,
            source: e.into(),
        }),
    }
}

/// The names of one network, reloaded when its files change.
struct Records {
    store: Store,
    network: String,
    /// (modification time, inode) of the file last read: every save renames a new file into
    /// place, so the inode changes even when two saves share a timestamp tick.
    version: Option<[Option<(SystemTime, u64)>; 2]>,
    names: HashMap<String, Vec<Ipv4Addr>>,
    internal: bool,
    endpoints: usize,
    gone: bool,
}

impl Records {
    fn new(store: Store, network: &str) -> Records {
        Records {
            store,
            network: network.to_string(),
            version: None,
            names: HashMap::new(),
            internal: false,
            endpoints: 0,
            gone: false,
        }
    }

    /// Re-reads the network if one of its files changed since the last look (two stats
    /// otherwise).
    fn refresh(&mut self) {
        let stamp = |path: PathBuf| {
            std::fs::metadata(path)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.ino())))
        };
        let definition = stamp(self.store.path(&self.network));
        if definition.is_none() {
            self.gone = true;
            return;
        }
        let version = Some([definition, stamp(self.store.endpoints_path(&self.network))]);
        if version == self.version {
            return;
        }
        let network = match self.store.load(&self.network) {
            Ok(Some(network)) => network,
            _ => return, // keep the last good view; the file was removed or is bad
        };
        self.version = version;
        self.internal = network.internal;
        self.endpoints = network.endpoints.len();
        self.names.clear();
        for endpoint in network.endpoints.values() {
            for name in endpoint.dns_names() {
                let ips = self.names.entry(name.to_ascii_lowercase()).or_default();
                if !ips.contains(&endpoint.ip) {
                    ips.push(endpoint.ip);
                }
            }
        }
    }
}

/// A bound server: UDP and TCP sockets on one address, the network's names and the upstream
/// resolvers.
pub struct DnsServer {
    network: String,
    udp: UdpSocket,
    tcp: TcpListener,
    upstreams: Arc<Vec<SocketAddr>>,
    records: Arc<Mutex<Records>>,
}

impl DnsServer {
    /// Binds UDP and TCP on `address`, by default the network's gateway port 53.
    pub fn bind(
        store: &Store,
        network: &str,
        address: Option<SocketAddr>,
    ) -> Result<DnsServer, Error> {
        let state = store.load(network)?.ok_or_else(|| Error::NoSuchNetwork {
            name: network.to_string(),
        })?;
        let address = address.unwrap_or(SocketAddr::new(IpAddr::V4(state.gateway), 53));
        let failed = |what: String| {
            move |source| Error::Dns {
                network: network.to_string(),
                what,
                source,
            }
        };
        let udp = UdpSocket::bind(address).map_err(failed(format!("bind UDP {address}")))?;
        // Bind TCP on the port UDP got (they differ only when `address` asked for port 0).
        let tcp_address = udp
            .local_addr()
            .map_err(failed("read the UDP address".into()))?;
        let tcp =
            TcpListener::bind(tcp_address).map_err(failed(format!("bind TCP {tcp_address}")))?;
        let upstreams = host_resolvers(Path::new("/etc/resolv.conf"), tcp_address.ip());
        let mut records = Records::new(store.clone(), network);
        records.refresh();
        Ok(DnsServer {
            network: network.to_string(),
            udp,
            tcp,
            upstreams: Arc::new(upstreams),
            records: Arc::new(Mutex::new(records)),
        })
    }

    /// Replaces the upstream resolvers read from /etc/resolv.conf.
    pub fn with_upstreams(mut self, upstreams: Vec<SocketAddr>) -> DnsServer {
        self.upstreams = Arc::new(upstreams);
        self
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.udp
            .local_addr()
            .expect("a bound socket has an address")
    }

    /// Serves until `stop` is set, the network is removed, or (with `idle_exit`) the network
    /// has had no endpoints that long.
    pub fn run(&self, stop: &AtomicBool, idle_exit: Option<Duration>) -> Result<(), Error> {
        let failed = |what: &str| {
            let what = what.to_string();
            move |source: std::io::Error| Error::Dns {
                network: self.network.clone(),
                what,
                source,
            }
        };
        self.tcp
            .set_nonblocking(true)
            .map_err(failed("configure the TCP listener"))?;
        self.udp
            .set_nonblocking(true)
            .map_err(failed("configure the UDP socket"))?;
        let mut idle_since: Option<Instant> = None;
        let mut buffer = [0u8; 4096];
        while !stop.load(Ordering::Relaxed) {
            {
                let mut records = self.records.lock().expect("records lock");
                records.refresh();
                if records.gone {
                    tracing::debug!(network = %self.network, "network removed; DNS server exits");
                    return Ok(());
                }
                idle_since = if records.endpoints == 0 {
                    idle_since.or(Some(Instant::now()))
                } else {
                    None
                };
            }
            if let (Some(since), Some(limit)) = (idle_since, idle_exit) {
                if since.elapsed() >= limit {
                    return Ok(());
                }
            }
            let mut fds = [
                PollFd::new(self.udp.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.tcp.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::from(500u16)) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(failed("wait for queries")(e.into())),
            }
            loop {
                match self.udp.recv_from(&mut buffer) {
                    Ok((len, client)) => self.answer_udp(&buffer[..len], client),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        tracing::debug!(error = %e, "DNS UDP receive failed");
                        break;
                    }
                }
            }
            loop {
                match self.tcp.accept() {
                    Ok((stream, _)) => {
                        let records = Arc::clone(&self.records);
                        let upstreams = Arc::clone(&self.upstreams);
                        std::thread::spawn(move || serve_tcp(stream, &records, &upstreams));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        tracing::debug!(error = %e, "DNS TCP accept failed");
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    fn answer_udp(&self, query: &[u8], client: SocketAddr) {
        match local_answer(query, &self.records) {
            Some(reply) => {
                let _ = self.udp.send_to(&reply, client);
            }
            None => {
                let Ok(socket) = self.udp.try_clone() else {
                    return;
                };
                let upstreams = Arc::clone(&self.upstreams);
                let query = query.to_vec();
                std::thread::spawn(move || {
                    let reply = forward_udp(&query, &upstreams)
                        .unwrap_or_else(|| error_reply(&query, RCODE_SERVFAIL).unwrap_or_default());
                    if !reply.is_empty() {
                        let _ = socket.send_to(&reply, client);
                    }
                });
            }
        }
    }
}

/// One TCP connection: length-prefixed queries until the client closes it.
fn serve_tcp(mut stream: TcpStream, records: &Mutex<Records>, upstreams: &[SocketAddr]) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    loop {
        let mut length = [0u8; 2];
        if stream.read_exact(&mut length).is_err() {
            return;
        }
        let mut query = vec![0u8; usize::from(u16::from_be_bytes(length))];
        if stream.read_exact(&mut query).is_err() {
            return;
        }
        let reply = match local_answer(&query, records) {
            Some(reply) => reply,
            None => forward_tcp(&query, upstreams)
                .unwrap_or_else(|| error_reply(&query, RCODE_SERVFAIL).unwrap_or_default()),
        };
        if reply.is_empty() {
            return;
        }
        let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&reply);
        if stream.write_all(&framed).is_err() {
            return;
        }
    }
}

/// The reply skiff gives itself, or `None` when the query must go upstream.
fn local_answer(query: &[u8], records: &Mutex<Records>) -> Option<Vec<u8>> {
    let Some(question) = Question::parse(query) else {
        return error_reply(query, RCODE_SERVFAIL).or(Some(Vec::new()));
    };
    let mut records = records.lock().expect("records lock");
    records.refresh();
    match records.names.get(&question.name) {
        Some(ips) => {
            let ips = if question.qtype == TYPE_A || question.qtype == TYPE_ANY {
                ips.as_slice()
            } else {
                &[]
            };
            Some(answer(query, &question, ips))
        }
        None if records.internal => error_reply(query, RCODE_REFUSED),
        None if question.name.is_empty() => error_reply(query, RCODE_NXDOMAIN),
        None => None,
    }
}

/// The question of a standard query: its lower-cased name without the final dot, its type,
/// and where the question section ends.
#[derive(Debug, PartialEq, Eq)]
struct Question {
    name: String,
    qtype: u16,
    end: usize,
}

impl Question {
    fn parse(message: &[u8]) -> Option<Question> {
        if message.len() < 12 || message[2] & 0x80 != 0 || (message[2] >> 3) & 0x0f != 0 {
            return None; // too short, a response, or not a standard query
        }
        if u16::from_be_bytes([message[4], message[5]]) != 1 {
            return None;
        }
        let mut labels = Vec::new();
        let mut at = 12;
        loop {
            let length = usize::from(*message.get(at)?);
            at += 1;
            if length == 0 {
                break;
            }
            if length > 63 {
                return None; // compression is not valid in a lone question
            }
            let label = message.get(at..at + length)?;
            labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
            at += length;
        }
        let qtype = u16::from_be_bytes([*message.get(at)?, *message.get(at + 1)?]);
        message.get(at + 3)?;
        Some(Question {
            name: labels.join("."),
            qtype,
            end: at + 4,
        })
    }
}

/// An authoritative answer with one A record per address (none: NOERROR, no data).
fn answer(query: &[u8], question: &Question, ips: &[Ipv4Addr]) -> Vec<u8> {
    let mut reply = header(query, 0, ips.len() as u16);
    reply.extend_from_slice(&query[12..question.end]);
    for ip in ips {
        reply.extend_from_slice(&[0xc0, 0x0c]); // the name: a pointer to the question's
        reply.extend_from_slice(&TYPE_A.to_be_bytes());
        reply.extend_from_slice(&1u16.to_be_bytes()); // class IN
        reply.extend_from_slice(&TTL.to_be_bytes());
        reply.extend_from_slice(&4u16.to_be_bytes());
        reply.extend_from_slice(&ip.octets());
    }
    reply
}

/// A reply carrying only `rcode` (and the question, when it parses).
fn error_reply(query: &[u8], rcode: u8) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    match Question::parse(query) {
        Some(question) => {
            let mut reply = header(query, rcode, 0);
            reply.extend_from_slice(&query[12..question.end]);
            Some(reply)
        }
        None => {
            let mut reply = header(query, rcode, 0);
            reply[4..6].copy_from_slice(&0u16.to_be_bytes());
            Some(reply)
        }
    }
}

/// A response header for `query`: same id and opcode and RD, QR+AA+RA set, one question.
fn header(query: &[u8], rcode: u8, answers: u16) -> Vec<u8> {
    let mut h = Vec::with_capacity(64);
    h.extend_from_slice(&query[0..2]);
    h.push(0x80 | 0x04 | (query[2] & 0x79)); // QR, AA; keep opcode and RD
    h.push(0x80 | (rcode & 0x0f)); // RA
    h.extend_from_slice(&1u16.to_be_bytes());
    h.extend_from_slice(&answers.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 0]);
    h
}

fn forward_udp(query: &[u8], upstreams: &[SocketAddr]) -> Option<Vec<u8>> {
    for upstream in upstreams {
        let bind: SocketAddr = if upstream.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        }
        .parse()
        .ok()?;
        let Ok(socket) = UdpSocket::bind(bind) else {
            continue;
        };
        if socket.set_read_timeout(Some(UPSTREAM_TIMEOUT)).is_err()
            || socket.connect(upstream).is_err()
        {
            continue;
        }
        if socket.send(query).is_err() {
            continue;
        }
        let mut buffer = vec![0u8; 65535];
        if let Ok(len) = socket.recv(&mut buffer) {
            if len >= 2 && buffer[..2] == query[..2] {
                buffer.truncate(len);
                return Some(buffer);
            }
        }
    }
    None
}

fn forward_tcp(query: &[u8], upstreams: &[SocketAddr]) -> Option<Vec<u8>> {
    for upstream in upstreams {
        let Ok(mut stream) = TcpStream::connect_timeout(upstream, UPSTREAM_TIMEOUT) else {
            continue;
        };
        let _ = stream.set_read_timeout(Some(UPSTREAM_TIMEOUT));
        let mut framed = (query.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(query);
        if stream.write_all(&framed).is_err() {
            continue;
        }
        let mut length = [0u8; 2];
        if stream.read_exact(&mut length).is_err() {
            continue;
        }
        let mut reply = vec![0u8; usize::from(u16::from_be_bytes(length))];
        if stream.read_exact(&mut reply).is_ok() {
            return Some(reply);
        }
    }
    None
}

/// The `nameserver` entries of a resolv.conf, on port 53, minus `own` (no forwarding loops).
pub fn host_resolvers(path: &Path, own: IpAddr) -> Vec<SocketAddr> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    crate::etc::nameservers(&text)
        .into_iter()
        .filter(|ip| *ip != own)
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.') {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&1u16.to_be_bytes());
        q
    }

    #[test]
    fn parses_a_question() {
        let q = query("Web.Example", TYPE_A);
        let question = Question::parse(&q).unwrap();
        assert_eq!(question.name, "web.example");
        assert_eq!(question.qtype, TYPE_A);
        assert_eq!(question.end, q.len());
        assert!(Question::parse(&q[..q.len() - 1]).is_none());
        let mut response = q.clone();
        response[2] |= 0x80;
        assert!(Question::parse(&response).is_none());
    }

    #[test]
    fn answers_carry_the_addresses() {
        let q = query("db", TYPE_A);
        let question = Question::parse(&q).unwrap();
        let reply = answer(&q, &question, &[Ipv4Addr::new(10, 213, 0, 2)]);
        assert_eq!(&reply[..2], &[0x12, 0x34]);
        assert_eq!(reply[2] & 0x80, 0x80, "QR set");
        assert_eq!(reply[3] & 0x0f, 0, "NOERROR");
        assert_eq!(u16::from_be_bytes([reply[6], reply[7]]), 1, "one answer");
        assert_eq!(&reply[reply.len() - 4..], &[10, 213, 0, 2]);
        let refused = error_reply(&q, RCODE_REFUSED).unwrap();
        assert_eq!(refused[3] & 0x0f, RCODE_REFUSED);
        assert_eq!(refused.len(), q.len());
    }
}
