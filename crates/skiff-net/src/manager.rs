//! The operations the engine calls: network create/inspect/list/remove, attaching and
//! detaching containers, and restoring the kernel state after a reboot.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::firewall::{Backend, Firewall};
use crate::netlink::{open_netns, set_sysctl, Netlink};
use crate::ports::{check_port_free, PortMapping};
use crate::store::{Endpoint, Network, Store};
use crate::subnet::Subnet;
use crate::Error;

/// The name of the network containers join when they name none.
pub const DEFAULT_NETWORK: &str = "bridge";

/// Where state lives and how kernel objects are named.
#[derive(Debug, Clone)]
pub struct Config {
    /// The skiff root; network definitions live in `<root>/networks/`.
    pub root: PathBuf,
    /// Runtime state on a tmpfs (`/run/skiff/networks` for the default root): each network's
    /// endpoints. Cleared by a reboot, like the containers it describes.
    pub run_dir: PathBuf,
    /// Up to 5 characters starting every bridge and veth skiff creates (`skiff` by default:
    /// bridges `skiff0`, `skiff-<8 hex>`, veths `skiff<10 hex>`).
    pub link_prefix: String,
    /// The nftables table (or, upper-cased, the iptables chain prefix) holding every rule.
    pub firewall_name: String,
    /// `None` detects at run time: nftables when `nft` is installed, else iptables.
    pub firewall: Option<Backend>,
    /// Address pools for networks created without `--subnet`: (pool, prefix length of each
    /// network). The first candidate overlapping no host route and no network wins.
    pub pools: Vec<(Subnet, u8)>,
}

impl Config {
    /// Production defaults, with Docker's default pools: 172.17-31.0.0/16, then
    /// 192.168.0.0/16 in /20 steps.
    pub fn new(root: impl Into<PathBuf>, run_dir: impl Into<PathBuf>) -> Config {
        Config {
            root: root.into(),
            run_dir: run_dir.into(),
            link_prefix: "skiff".to_string(),
            firewall_name: "skiff".to_string(),
            firewall: None,
            pools: vec![
                (Subnet::new(Ipv4Addr::new(172, 17, 0, 0), 16).unwrap(), 16),
                (Subnet::new(Ipv4Addr::new(172, 18, 0, 0), 15).unwrap(), 16),
                (Subnet::new(Ipv4Addr::new(172, 20, 0, 0), 14).unwrap(), 16),
                (Subnet::new(Ipv4Addr::new(172, 24, 0, 0), 13).unwrap(), 16),
                (Subnet::new(Ipv4Addr::new(192, 168, 0, 0), 16).unwrap(), 20),
            ],
        }
    }
}

/// What `skiff network create` asks for.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub name: String,
    pub subnet: Option<Subnet>,
    pub gateway: Option<Ipv4Addr>,
    pub internal: bool,
    pub labels: std::collections::BTreeMap<String, String>,
}

/// A container joining a network.
#[derive(Debug, Clone, Default)]
pub struct AttachRequest {
    /// The full container id.
    pub container_id: String,
    pub container_name: String,
    /// `--network-alias` values.
    pub aliases: Vec<String>,
    /// `--hostname`, resolvable on the network like the name.
    pub hostname: Option<String>,
    /// The container's network namespace, e.g. `/proc/<pid>/ns/net`.
    pub netns: PathBuf,
    /// The interface name inside the container; `eth0` when `None`. The engine passes
    /// `eth1`, `eth2`... for further networks (`network connect`); the first network keeps
    /// the default route.
    pub interface: Option<String>,
    /// `--ip`: a fixed address instead of the next free one.
    pub ip: Option<Ipv4Addr>,
    /// `-p`/`-P` mappings, DNATed to this attachment's address.
    pub ports: Vec<PortMapping>,
}

/// The container's side of an attachment, for `inspect` and the container's /etc files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub network: String,
    pub interface: String,
    pub ip: Ipv4Addr,
    pub prefix_len: u8,
    /// `None` on internal networks (no route out).
    pub gateway: Option<Ipv4Addr>,
    /// The address of the network's DNS server (the bridge's address).
    pub dns_server: Ipv4Addr,
    pub host_veth: String,
    pub mtu: u32,
}

/// What [`NetworkManager::restore`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Bridges that had to be recreated.
    pub bridges_created: Vec<String>,
    /// (network, container id) of endpoints whose veth was gone; their addresses were freed.
    pub stale_endpoints: Vec<(String, String)>,
}

pub struct NetworkManager {
    config: Config,
    store: Store,
    firewall: Firewall,
}

impl NetworkManager {
    /// Checks the configuration and finds the firewall tool; touches no kernel state.
    pub fn new(config: Config) -> Result<NetworkManager, Error> {
        let prefix = &config.link_prefix;
        if prefix.is_empty()
            || prefix.len() > 5
            || !prefix.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(Error::BadConfig(format!(
                "link prefix {prefix:?} must be 1 to 5 letters or digits (Linux link names are at most 15 characters)"
            )));
        }
        let firewall = match config.firewall {
            None => Firewall::detect(&config.firewall_name)?,
            Some(Backend::Nftables) => Firewall::nftables(&config.firewall_name)?,
            Some(Backend::Iptables) => Firewall::iptables(&config.firewall_name)?,
        };
        let store = Store::new(&config.root, &config.run_dir);
        Ok(NetworkManager {
            config,
            store,
            firewall,
        })
    }

    pub fn firewall(&self) -> &Firewall {
        &self.firewall
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Creates a network: its state file, its bridge (up, with the gateway address) and its
    /// firewall rules.
    pub fn create(&self, options: CreateOptions) -> Result<Network, Error> {
        validate_name(&options.name)?;
        let _lock = self.store.lock()?;
        self.create_locked(options)
    }

    fn create_locked(&self, options: CreateOptions) -> Result<Network, Error> {
        if self.store.load(&options.name)?.is_some() {
            return Err(Error::NetworkExists { name: options.name });
        }
        let mut networks = self.store.load_all()?;
        let mut netlink = Netlink::new()?;
        let routes = netlink.routes4()?;
        let taken: Vec<(Subnet, String)> = networks
            .iter()
            .map(|n| (n.subnet, format!("network {}", n.name)))
            .chain(routes.iter().filter(|r| r.prefix_len > 0).filter_map(|r| {
                let subnet = Subnet::new(r.destination, r.prefix_len)?;
                Some((subnet, format!("host route {subnet}")))
            }))
            .collect();
        let subnet = match options.subnet {
            Some(subnet) => {
                if let Some((_, with)) = taken.iter().find(|(t, _)| t.overlaps(&subnet)) {
                    return Err(Error::SubnetOverlap {
                        subnet,
                        with: with.clone(),
                    });
                }
                subnet
            }
            None => self.free_subnet(&taken)?,
        };
        let gateway = match options.gateway {
            Some(gateway) if subnet.hosts().any(|h| h == gateway) => gateway,
            Some(gateway) => return Err(Error::BadGateway { gateway, subnet }),
            None => subnet.hosts().next().ok_or(Error::BadGateway {
                gateway: subnet.network(),
                subnet,
            })?,
        };
        let id = random_id()?;
        let bridge = if options.name == DEFAULT_NETWORK {
            format!("{}0", self.config.link_prefix)
        } else {
            format!("{}-{}", self.config.link_prefix, &id[..8])
        };
        let default_oif = routes
            .iter()
            .find(|r| r.prefix_len == 0)
            .and_then(|r| r.oif);
        let mtu = match default_oif {
            Some(index) => netlink.link_mtu(index)?.unwrap_or(1500),
            None => 1500,
        };
        let network = Network {
            name: options.name,
            id,
            driver: "bridge".to_string(),
            bridge,
            subnet,
            gateway,
            internal: options.internal,
            mtu,
            created: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            labels: options.labels,
            endpoints: Default::default(),
        };
        // Undo only what this call made: a `skiff0` left by a lost state dir is reused.
        let bridge_existed = netlink.link_index(&network.bridge)?.is_some();
        networks.push(network.clone());
        let applied = ensure_bridge(&mut netlink, &network, true)
            .and_then(|_| self.store.save(&network))
            .and_then(|()| self.firewall.sync(&networks));
        if let Err(error) = applied {
            if !bridge_existed {
                let _ = netlink.delete_link(&network.bridge);
            }
            let _ = self.store.remove(&network.name);
            return Err(error);
        }
        tracing::debug!(network = %network.name, subnet = %network.subnet, bridge = %network.bridge, "created network");
        Ok(network)
    }

    /// The first pool subnet that overlaps nothing in `taken`.
    fn free_subnet(&self, taken: &[(Subnet, String)]) -> Result<Subnet, Error> {
        for &(pool, prefix_len) in &self.config.pools {
            let mut index = 0;
            while let Some(candidate) = pool.nth_child(prefix_len, index) {
                if !taken.iter().any(|(t, _)| t.overlaps(&candidate)) {
                    return Ok(candidate);
                }
                index += 1;
            }
        }
        Err(Error::PoolExhausted)
    }

    /// The default `bridge` network, created on first use.
    pub fn default_network(&self) -> Result<Network, Error> {
        if let Some(network) = self.store.load(DEFAULT_NETWORK)? {
            return Ok(network);
        }
        let _lock = self.store.lock()?;
        match self.store.load(DEFAULT_NETWORK)? {
            Some(network) => Ok(network),
            None => self.create_locked(CreateOptions {
                name: DEFAULT_NETWORK.to_string(),
                ..Default::default()
            }),
        }
    }

    /// The network called `name`, or whose id starts with `name`.
    pub fn inspect(&self, name: &str) -> Result<Network, Error> {
        if let Some(network) = self.store.load(name)? {
            return Ok(network);
        }
        let mut matches = self
            .store
            .load_all()?
            .into_iter()
            .filter(|n| n.id.starts_with(name));
        match (matches.next(), matches.next()) {
            (Some(network), None) if !name.is_empty() => Ok(network),
            _ => Err(Error::NoSuchNetwork {
                name: name.to_string(),
            }),
        }
    }

    pub fn list(&self) -> Result<Vec<Network>, Error> {
        self.store.load_all()
    }

    /// Removes a network without containers: its bridge, rules and state file.
    pub fn remove(&self, name: &str) -> Result<(), Error> {
        if name == DEFAULT_NETWORK {
            return Err(Error::Predefined {
                name: name.to_string(),
            });
        }
        let _lock = self.store.lock()?;
        let network = self.inspect(name)?;
        self.remove_locked(network)
    }

    fn remove_locked(&self, network: Network) -> Result<(), Error> {
        if !network.endpoints.is_empty() {
            let containers: Vec<&str> = network
                .endpoints
                .values()
                .map(|e| e.container_name.as_str())
                .collect();
            return Err(Error::NetworkInUse {
                name: network.name,
                containers: containers.join(", "),
            });
        }
        Netlink::new()?.delete_link(&network.bridge)?;
        self.store.remove(&network.name)?;
        // A running DNS server notices the state file is gone and exits on its own.
        let _ = std::fs::remove_file(crate::dns::lock_path(&self.store, &network.name));
        self.firewall.sync(&self.store.load_all()?)?;
        Ok(())
    }

    /// Removes every network without containers except the default one; returns their names.
    pub fn prune(&self) -> Result<Vec<String>, Error> {
        let _lock = self.store.lock()?;
        let mut removed = Vec::new();
        for network in self.store.load_all()? {
            if network.name != DEFAULT_NETWORK && network.endpoints.is_empty() {
                removed.push(network.name.clone());
                self.remove_locked(network)?;
            }
        }
        Ok(removed)
    }

    /// Removes every network, the default one included, after detaching whatever is still
    /// attached: the state `skiff system reset` (and test teardown) wants.
    pub fn reset(&self) -> Result<(), Error> {
        let _lock = self.store.lock()?;
        let mut netlink = Netlink::new()?;
        for network in self.store.load_all()? {
            for endpoint in network.endpoints.values() {
                netlink.delete_link(&endpoint.host_veth)?;
            }
            netlink.delete_link(&network.bridge)?;
            self.store.remove(&network.name)?;
            let _ = std::fs::remove_file(crate::dns::lock_path(&self.store, &network.name));
        }
        self.firewall.remove_all()
    }

    /// Connects a container's network namespace to `network`: a veth pair with its host end on
    /// the bridge and the other end (`eth0`) in the namespace with the next free address, the
    /// default route (unless the network is internal) and `lo` up; then the published ports.
    ///
    /// Fails with [`Error::PortInUse`]/[`Error::PortPublished`] before touching the kernel when
    /// a host port is taken.
    pub fn attach(&self, network: &str, request: AttachRequest) -> Result<Attachment, Error> {
        let _lock = self.store.lock()?;
        let mut network = self.inspect(network)?;
        if network.endpoints.contains_key(&request.container_id) {
            return Err(Error::AlreadyAttached {
                container: request.container_name,
                network: network.name,
            });
        }
        let mut all = if request.ports.is_empty() {
            Vec::new()
        } else {
            self.store.load_all()?
        };
        self.check_ports(&all, &request.ports)?;
        let ip = allocate_ip(&network, request.ip)?;
        let interface = request
            .interface
            .clone()
            .unwrap_or_else(|| "eth0".to_string());
        let host_veth = veth_name(&self.config.link_prefix, &network.id, &request.container_id);

        let netns = open_netns(&request.netns).map_err(|source| Error::Netns {
            path: request.netns.clone(),
            source,
        })?;
        let mut host = Netlink::new()?;
        let bridge = ensure_bridge(&mut host, &network, false)?;
        host.add_veth(&host_veth, bridge, &interface, &netns, network.mtu)?;
        let configured = configure_container_side(&netns, &network, &interface, ip);
        if let Err(error) = configured {
            let _ = host.delete_link(&host_veth);
            return Err(error);
        }
        // Lets a container reach its own published ports through the bridge (hairpin NAT).
        let hairpin = format!("/sys/class/net/{host_veth}/brport/hairpin_mode");
        if let Err(source) = std::fs::write(&hairpin, "1") {
            let _ = host.delete_link(&host_veth);
            return Err(Error::Sysctl {
                key: hairpin,
                source,
            });
        }

        let endpoint = Endpoint {
            container_id: request.container_id.clone(),
            container_name: request.container_name,
            aliases: request.aliases,
            hostname: request.hostname,
            ip,
            host_veth: host_veth.clone(),
            interface: interface.clone(),
            ports: request.ports,
        };
        let has_ports = !endpoint.ports.is_empty();
        network.endpoints.insert(request.container_id, endpoint);
        let mut saved = self.store.save_endpoints(&network);
        if saved.is_ok() && has_ports {
            replace(&mut all, &network);
            saved = self.firewall.sync(&all);
        }
        if let Err(error) = saved {
            let _ = host.delete_link(&host_veth);
            return Err(error);
        }
        tracing::debug!(network = %network.name, %ip, %host_veth, "attached container");
        Ok(Attachment {
            network: network.name,
            interface,
            ip,
            prefix_len: network.subnet.prefix_len(),
            gateway: (!network.internal).then_some(network.gateway),
            dns_server: network.gateway,
            host_veth,
            mtu: network.mtu,
        })
    }

    /// Fails when a requested host port is published by another container or held by another
    /// program.
    fn check_ports(&self, networks: &[Network], ports: &[PortMapping]) -> Result<(), Error> {
        for (index, port) in ports.iter().enumerate() {
            let clashes = |other: &PortMapping| {
                other.host_port == port.host_port
                    && other.protocol == port.protocol
                    && (other.host_ip.is_none()
                        || port.host_ip.is_none()
                        || other.host_ip == port.host_ip)
            };
            if ports[..index].iter().any(clashes) {
                return Err(Error::PortPublished {
                    host_port: port.host_port,
                    protocol: port.protocol,
                    container: "this container (twice)".to_string(),
                });
            }
            for endpoint in networks.iter().flat_map(|n| n.endpoints.values()) {
                if endpoint.ports.iter().any(clashes) {
                    return Err(Error::PortPublished {
                        host_port: port.host_port,
                        protocol: port.protocol,
                        container: endpoint.container_name.clone(),
                    });
                }
            }
            check_port_free(port)?;
        }
        Ok(())
    }

    /// Disconnects a container: deletes its veth pair (gone already if the namespace died),
    /// frees its address and drops its published ports.
    pub fn detach(&self, network: &str, container_id: &str) -> Result<(), Error> {
        let _lock = self.store.lock()?;
        let mut network = self.inspect(network)?;
        let Some(endpoint) = network.endpoints.remove(container_id) else {
            return Err(Error::NotAttached {
                container: container_id.to_string(),
                network: network.name,
            });
        };
        Netlink::new()?.delete_link(&endpoint.host_veth)?;
        self.store.save_endpoints(&network)?;
        if !endpoint.ports.is_empty() {
            self.firewall.sync(&self.store.load_all()?)?;
        }
        tracing::debug!(network = %network.name, ip = %endpoint.ip, "detached container");
        Ok(())
    }

    /// Disconnects a container from every network it is on (`skiff rm`, monitor cleanup).
    pub fn detach_all(&self, container_id: &str) -> Result<Vec<String>, Error> {
        let networks: Vec<String> = self
            .store
            .load_all()?
            .into_iter()
            .filter(|n| n.endpoints.contains_key(container_id))
            .map(|n| n.name)
            .collect();
        for network in &networks {
            match self.detach(network, container_id) {
                Ok(()) | Err(Error::NotAttached { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(networks)
    }

    /// Re-establishes the kernel state from the persisted networks, for example after a host
    /// restart: bridges with their addresses and sysctls, then the firewall rules. Endpoints
    /// whose veth no longer exists (their container died with the host) are dropped and their
    /// addresses freed. Safe to run any number of times.
    pub fn restore(&self) -> Result<RestoreReport, Error> {
        let _lock = self.store.lock()?;
        let mut netlink = Netlink::new()?;
        let mut report = RestoreReport::default();
        let mut networks = self.store.load_all()?;
        for network in &mut networks {
            if netlink.link_index(&network.bridge)?.is_none() {
                report.bridges_created.push(network.bridge.clone());
            }
            ensure_bridge(&mut netlink, network, true)?;
            let mut stale = Vec::new();
            for (id, endpoint) in &network.endpoints {
                if netlink.link_index(&endpoint.host_veth)?.is_none() {
                    stale.push(id.clone());
                }
            }
            for id in stale {
                network.endpoints.remove(&id);
                report.stale_endpoints.push((network.name.clone(), id));
            }
            if report
                .stale_endpoints
                .iter()
                .any(|(n, _)| *n == network.name)
            {
                self.store.save(network)?;
            }
        }
        self.firewall.sync(&networks)?;
        Ok(report)
    }
}

/// `--network none`: only `lo`, brought up, in the container's namespace.
pub fn loopback_only(netns: &std::path::Path) -> Result<(), Error> {
    let file = open_netns(netns).map_err(|source| Error::Netns {
        path: netns.to_path_buf(),
        source,
    })?;
    let mut inside = Netlink::in_netns(&file)?;
    let lo = inside
        .link_index("lo")?
        .ok_or_else(|| crate::netlink::NetlinkError {
            operation: "find lo in the container's netns".to_string(),
            source: std::io::Error::from_raw_os_error(nix::errno::Errno::ENODEV as i32),
        })?;
    inside.set_up(lo)?;
    Ok(())
}

/// Makes sure the network's bridge exists, is up and has the gateway address; returns its
/// index. With `full`, re-applies the address and sysctls even when the bridge exists.
fn ensure_bridge(netlink: &mut Netlink, network: &Network, full: bool) -> Result<u32, Error> {
    let existing = netlink.link_index(&network.bridge)?;
    if let (Some(index), false) = (existing, full) {
        return Ok(index);
    }
    let index = match existing {
        Some(index) => index,
        None => {
            netlink.add_bridge(&network.bridge, network.mtu)?;
            netlink
                .link_index(&network.bridge)?
                .ok_or_else(|| crate::netlink::NetlinkError {
                    operation: format!("find bridge {} after creating it", network.bridge),
                    source: std::io::Error::from_raw_os_error(nix::errno::Errno::ENODEV as i32),
                })?
        }
    };
    netlink.add_address(index, network.gateway, network.subnet.prefix_len())?;
    netlink.set_up(index)?;
    // Locally generated traffic to 127.0.0.1:<published port> is DNATed into the bridge.
    sysctl(
        &format!("net/ipv4/conf/{}/route_localnet", network.bridge),
        "1",
    )?;
    if !network.internal {
        sysctl("net/ipv4/ip_forward", "1")?;
    }
    Ok(index)
}

fn sysctl(key: &str, value: &str) -> Result<(), Error> {
    set_sysctl(key, value).map_err(|source| Error::Sysctl {
        key: key.to_string(),
        source,
    })
}

/// Inside the container: address on `interface`, `interface` and `lo` up, default route.
fn configure_container_side(
    netns: &std::fs::File,
    network: &Network,
    interface: &str,
    ip: Ipv4Addr,
) -> Result<(), Error> {
    let mut inside = Netlink::in_netns(netns)?;
    let missing = |name: &str| crate::netlink::NetlinkError {
        operation: format!("find {name} in the container's netns"),
        source: std::io::Error::from_raw_os_error(nix::errno::Errno::ENODEV as i32),
    };
    let index = inside
        .link_index(interface)?
        .ok_or_else(|| missing(interface))?;
    inside.add_address(index, ip, network.subnet.prefix_len())?;
    inside.set_up(index)?;
    let lo = inside.link_index("lo")?.ok_or_else(|| missing("lo"))?;
    inside.set_up(lo)?;
    if !network.internal {
        let _first_gateway = inside.add_default_route(network.gateway, index)?;
    }
    Ok(())
}

/// The requested address if usable, else the lowest free host address.
fn allocate_ip(network: &Network, requested: Option<Ipv4Addr>) -> Result<Ipv4Addr, Error> {
    let used: BTreeSet<Ipv4Addr> = network
        .endpoints
        .values()
        .map(|e| e.ip)
        .chain(std::iter::once(network.gateway))
        .collect();
    match requested {
        Some(ip) if network.subnet.hosts().any(|h| h == ip) && !used.contains(&ip) => Ok(ip),
        Some(ip) => Err(Error::AddressUnavailable {
            ip,
            network: network.name.clone(),
            subnet: network.subnet,
        }),
        None => network
            .subnet
            .hosts()
            .find(|ip| !used.contains(ip))
            .ok_or_else(|| Error::AddressesExhausted {
                network: network.name.clone(),
                subnet: network.subnet,
            }),
    }
}

fn replace(networks: &mut Vec<Network>, network: &Network) {
    networks.retain(|n| n.name != network.name);
    networks.push(network.clone());
}

/// Docker's rule for network names.
fn validate_name(name: &str) -> Result<(), Error> {
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric());
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if first_ok && rest_ok && name.len() <= 200 {
        Ok(())
    } else {
        Err(Error::BadName {
            name: name.to_string(),
        })
    }
}

/// The host end's name: the prefix and 10 hex digits of a hash of network and container, so
/// it is stable (restore finds it) and unique per attachment.
fn veth_name(prefix: &str, network_id: &str, container_id: &str) -> String {
    // FNV-1a, 64 bits.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in network_id.bytes().chain([0]).chain(container_id.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{prefix}{:010x}", hash & 0xff_ffff_ffff)
}

/// 64 random hex digits.
fn random_id() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    let path = PathBuf::from("/dev/urandom");
    std::io::Read::read_exact(
        &mut std::fs::File::open(&path).map_err(|source| Error::State {
            path: path.clone(),
            source,
        })?,
        &mut bytes,
    )
    .map_err(|source| Error::State { path, source })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_veths() {
        assert!(validate_name("my-net_1.x").is_ok());
        assert!(validate_name("-bad").is_err());
        assert!(validate_name("").is_err());
        assert!(validate_name("a/b").is_err());
        let a = veth_name("skiff", "n1", "c1");
        assert_eq!(a.len(), 15);
        assert_eq!(a, veth_name("skiff", "n1", "c1"));
        assert_ne!(a, veth_name("skiff", "n1", "c2"));
        assert_ne!(a, veth_name("skiff", "n2", "c1"));
    }
}
