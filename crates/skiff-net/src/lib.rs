//! Container networking for skiff, as a library the engine calls.
//!
//! - [`NetworkManager`]: bridge networks persisted as `<root>/networks/<name>.json` (atomic
//!   writes under one lock file), the default `bridge` network on a free subnet, IP allocation,
//!   attaching a container's network namespace with a veth pair, detaching, and [`restore`]
//!   after a host restart.
//! - [`firewall`]: NAT, published ports and isolation, in one nftables table (or iptables
//!   chains), regenerated from the persisted state.
//! - [`ports`]: `-p`/`-P` parsing and the host-port-in-use check.
//! - [`dns`]: the per-network DNS server and its process model.
//! - [`etc`]: /etc/hosts, /etc/hostname and /etc/resolv.conf contents.
//!
//! What the engine calls:
//! - `create`: parse `-p` with [`ports::parse_publish`] (`-P`: [`ports::publish_all`]); write
//!   /etc files with [`etc`] once the address is known (at start).
//! - `start`, once the container's process exists and before it runs user code:
//!   [`NetworkManager::default_network`] or the named network, then
//!   [`NetworkManager::attach`] with `/proc/<pid>/ns/net`; then make sure the network's DNS
//!   server runs ([`dns::is_running`], else spawn the DNS process that calls [`dns::serve`]).
//! - `stop` (the monitor, when the container exits) and `rm`: [`NetworkManager::detach_all`].
//! - daemon or first CLI call after boot: [`NetworkManager::restore`].
//!
//! [`restore`]: NetworkManager::restore

pub mod dns;
mod error;
pub mod etc;
pub mod firewall;
mod manager;
pub mod netlink;
pub mod ports;
mod store;
mod subnet;

pub use error::Error;
pub use firewall::Backend;
pub use manager::{
    loopback_only, AttachRequest, Attachment, Config, CreateOptions, NetworkManager, RestoreReport,
    DEFAULT_NETWORK,
};
pub use ports::{PortMapping, Protocol};
pub use store::{Endpoint, Network, Store};
pub use subnet::Subnet;
