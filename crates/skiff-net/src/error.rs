//! Every way a networking operation can fail, each saying what failed, on what, and what to do.

use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use crate::netlink::NetlinkError;
use crate::ports::{PortMapping, Protocol};
use crate::subnet::Subnet;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read or write network state at {path}: {source}; check that the skiff root is writable (are you root?)")]
    State { path: PathBuf, source: io::Error },

    #[error("network state file {path} is not valid JSON: {source}; remove it with `skiff network rm` or restore it from a backup")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },

    #[error("invalid network name {name:?}: use letters, digits, '_', '.' and '-', starting with a letter or digit")]
    BadName { name: String },

    #[error("invalid configuration: {0}")]
    BadConfig(String),

    #[error("network {name} already exists; choose another name or remove it first")]
    NetworkExists { name: String },

    #[error("network {name} not found; list networks with `skiff network ls`")]
    NoSuchNetwork { name: String },

    #[error(
        "network {name} is in use by {containers}; disconnect or remove those containers first"
    )]
    NetworkInUse { name: String, containers: String },

    #[error("network {name} is predefined and cannot be removed")]
    Predefined { name: String },

    #[error("subnet {subnet} overlaps {with}; choose another --subnet")]
    SubnetOverlap { subnet: Subnet, with: String },

    #[error("no free subnet left in skiff's address pools (every candidate overlaps a host route or a network); pass --subnet")]
    PoolExhausted,

    #[error(
        "gateway {gateway} is not a host address of subnet {subnet}; choose an address inside it"
    )]
    BadGateway { gateway: Ipv4Addr, subnet: Subnet },

    #[error("no free IP address left in network {network} ({subnet}); disconnect containers or create a larger network")]
    AddressesExhausted { network: String, subnet: Subnet },

    #[error("IP address {ip} is not usable in network {network} ({subnet}) or is already taken")]
    AddressUnavailable {
        ip: Ipv4Addr,
        network: String,
        subnet: Subnet,
    },

    #[error("container {container} is already connected to network {network}")]
    AlreadyAttached { container: String, network: String },

    #[error("container {container} is not connected to network {network}")]
    NotAttached { container: String, network: String },

    #[error("cannot open network namespace {path}: {source}; is the container running?")]
    Netns { path: PathBuf, source: io::Error },

    #[error("kernel refused to {}: {}", .0.operation, .0.source)]
    Netlink(#[from] NetlinkError),

    #[error("cannot set sysctl {key}: {source}")]
    Sysctl { key: String, source: io::Error },

    #[error("invalid port specification {spec:?}: {why}")]
    BadPortSpec { spec: String, why: String },

    #[error("host port {mapping} is already in use: {source}; stop whatever listens on it or publish another host port")]
    PortInUse {
        mapping: PortMapping,
        source: io::Error,
    },

    #[error("host port {host_port}/{protocol} is already published by container {container}; publish another host port")]
    PortPublished {
        host_port: u16,
        protocol: Protocol,
        container: String,
    },

    #[error("cannot find a free host port for {protocol}: {source}")]
    NoFreePort {
        protocol: Protocol,
        source: io::Error,
    },

    #[error("neither nft nor iptables-restore was found in PATH; install the nftables package")]
    NoFirewall,

    #[error("{program} failed to apply skiff's firewall rules: {message}")]
    Firewall { program: String, message: String },

    #[error("DNS server for network {network}: cannot {what}: {source}")]
    Dns {
        network: String,
        what: String,
        source: io::Error,
    },
}
