//! A small synchronous rtnetlink client: just the link, address and route operations skiff
//! needs, one request and one acknowledgement at a time.
//!
//! Why not the `rtnetlink` crate: it is async (tokio), and `skiff run` is a short-lived CLI on
//! the container-start hot path. A blocking socket and the message types of
//! `netlink-packet-route` (from the same rust-netlink project) give the same kernel protocol
//! without a runtime, in a handful of syscalls per container.

use std::fs::File;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// An IPv4 route of the main table, as far as subnet selection and MTU detection need it.
#[derive(Debug, Clone)]
pub struct Route4 {
    pub destination: Ipv4Addr,
    pub prefix_len: u8,
    pub oif: Option<u32>,
}

/// A netlink error, with the kernel's errno when the kernel refused the request.
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {source}")]
pub struct NetlinkError {
    pub operation: String,
    pub source: io::Error,
}

impl NetlinkError {
    fn new(operation: impl Into<String>, source: io::Error) -> Self {
        NetlinkError {
            operation: operation.into(),
            source,
        }
    }

    pub fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}

type Result<T> = std::result::Result<T, NetlinkError>;

pub struct Netlink {
    socket: Socket,
    sequence: u32,
}

impl Netlink {
    /// A route socket in the caller's network namespace.
    pub fn new() -> Result<Netlink> {
        let mut socket = Socket::new(NETLINK_ROUTE)
            .map_err(|e| NetlinkError::new("open a netlink route socket", e))?;
        socket
            .bind_auto()
            .map_err(|e| NetlinkError::new("bind the netlink socket", e))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(|e| NetlinkError::new("connect the netlink socket", e))?;
        Ok(Netlink {
            socket,
            sequence: 0,
        })
    }

    /// A route socket in the network namespace at `netns` (for example `/proc/<pid>/ns/net`).
    /// A socket stays in the namespace it was created in, so a short-lived thread enters the
    /// namespace, opens the socket and hands it back; the calling thread never moves.
    pub fn in_netns(netns: &File) -> Result<Netlink> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    nix::sched::setns(netns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                        .map_err(|e| NetlinkError::new("enter the container's netns", e.into()))?;
                    Netlink::new()
                })
                .join()
                .unwrap_or_else(|_| {
                    Err(NetlinkError::new(
                        "open a netlink socket",
                        io::Error::other("thread panicked"),
                    ))
                })
        })
    }

    /// The index of the link called `name`, or `None` when there is none.
    pub fn link_index(&mut self, name: &str) -> Result<Option<u32>> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        let op = format!("look up link {name}");
        match self.request(RouteNetlinkMessage::GetLink(msg), 0, &op) {
            Ok(replies) => Ok(replies.into_iter().find_map(|m| match m {
                RouteNetlinkMessage::NewLink(link) => Some(link.header.index),
                _ => None,
            })),
            Err(e) if e.errno() == Some(libc_enodev()) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The MTU of the link with index `index`.
    pub fn link_mtu(&mut self, index: u32) -> Result<Option<u32>> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        let replies = self.request(RouteNetlinkMessage::GetLink(msg), 0, "read a link's MTU")?;
        Ok(replies.into_iter().find_map(|m| match m {
            RouteNetlinkMessage::NewLink(link) => {
                link.attributes.into_iter().find_map(|a| match a {
                    LinkAttribute::Mtu(mtu) => Some(mtu),
                    _ => None,
                })
            }
            _ => None,
        }))
    }

    /// Creates a bridge called `name` with the given MTU, down.
    pub fn add_bridge(&mut self, name: &str, mtu: u32) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes.push(LinkAttribute::Mtu(mtu));
        msg.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        let op = format!("create bridge {name}");
        self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &op,
        )?;
        Ok(())
    }

    /// Creates a veth pair in one request: `host_name` on the bridge with index `bridge`, up;
    /// its peer called `peer_name` directly inside the namespace `peer_netns`.
    pub fn add_veth(
        &mut self,
        host_name: &str,
        bridge: u32,
        peer_name: &str,
        peer_netns: &File,
        mtu: u32,
    ) -> Result<()> {
        let mut peer = LinkMessage::default();
        peer.attributes
            .push(LinkAttribute::IfName(peer_name.to_string()));
        peer.attributes.push(LinkAttribute::Mtu(mtu));
        peer.attributes
            .push(LinkAttribute::NetNsFd(peer_netns.as_raw_fd()));

        let mut msg = LinkMessage::default();
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        msg.attributes
            .push(LinkAttribute::IfName(host_name.to_string()));
        msg.attributes.push(LinkAttribute::Mtu(mtu));
        msg.attributes.push(LinkAttribute::Controller(bridge));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
        ]));
        let op = format!("create veth pair {host_name}/{peer_name}");
        self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &op,
        )?;
        Ok(())
    }

    /// Brings the link with index `index` up.
    pub fn set_up(&mut self, index: u32) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        self.request(RouteNetlinkMessage::SetLink(msg), 0, "bring a link up")?;
        Ok(())
    }

    /// Deletes the link called `name`; `Ok(false)` when it did not exist.
    pub fn delete_link(&mut self, name: &str) -> Result<bool> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        let op = format!("delete link {name}");
        match self.request(RouteNetlinkMessage::DelLink(msg), 0, &op) {
            Ok(_) => Ok(true),
            Err(e) if e.errno() == Some(libc_enodev()) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Adds `address/prefix_len` to the link with index `index`; an existing identical
    /// address is not an error (restore is idempotent).
    pub fn add_address(&mut self, index: u32, address: Ipv4Addr, prefix_len: u8) -> Result<()> {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        msg.header.prefix_len = prefix_len;
        msg.header.scope = AddressScope::Universe;
        msg.header.index = index;
        msg.attributes
            .push(AddressAttribute::Local(IpAddr::V4(address)));
        msg.attributes
            .push(AddressAttribute::Address(IpAddr::V4(address)));
        let broadcast = u32::from(address) | (u32::MAX.checked_shr(prefix_len as u32).unwrap_or(0));
        msg.attributes
            .push(AddressAttribute::Broadcast(Ipv4Addr::from(broadcast)));
        let op = format!("add address {address}/{prefix_len}");
        match self.request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &op,
        ) {
            Ok(_) => Ok(()),
            Err(e) if e.errno() == Some(libc_eexist()) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Adds a default route through `gateway` on the link with index `oif`; returns `false`
    /// when there already is a default route (it is kept: the first network's gateway wins).
    pub fn add_default_route(&mut self, gateway: Ipv4Addr, oif: u32) -> Result<bool> {
        let mut msg = RouteMessage::default();
        msg.header = route_header();
        msg.attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
        msg.attributes.push(RouteAttribute::Oif(oif));
        let op = format!("add default route via {gateway}");
        match self.request(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &op,
        ) {
            Ok(_) => Ok(true),
            Err(e) if e.errno() == Some(libc_eexist()) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The IPv4 routes of the main table.
    pub fn routes4(&mut self) -> Result<Vec<Route4>> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet;
        let replies = self.request(
            RouteNetlinkMessage::GetRoute(msg),
            NLM_F_DUMP,
            "list routes",
        )?;
        let mut routes = Vec::new();
        for reply in replies {
            let RouteNetlinkMessage::NewRoute(route) = reply else {
                continue;
            };
            if route.header.table != RouteHeader::RT_TABLE_MAIN
                || route.header.address_family != AddressFamily::Inet
            {
                continue;
            }
            let mut destination = Ipv4Addr::UNSPECIFIED;
            let mut oif = None;
            for attribute in route.attributes {
                match attribute {
                    RouteAttribute::Destination(RouteAddress::Inet(ip)) => destination = ip,
                    RouteAttribute::Oif(index) => oif = Some(index),
                    _ => {}
                }
            }
            routes.push(Route4 {
                destination,
                prefix_len: route.header.destination_prefix_length,
                oif,
            });
        }
        Ok(routes)
    }

    /// The IPv4 addresses on the host, with their prefix lengths.
    pub fn addresses4(&mut self) -> Result<Vec<(Ipv4Addr, u8)>> {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        let replies = self.request(
            RouteNetlinkMessage::GetAddress(msg),
            NLM_F_DUMP,
            "list addresses",
        )?;
        Ok(replies
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) => {
                    let prefix = a.header.prefix_len;
                    a.attributes.into_iter().find_map(|attr| match attr {
                        AddressAttribute::Local(IpAddr::V4(ip)) => Some((ip, prefix)),
                        _ => None,
                    })
                }
                _ => None,
            })
            .collect())
    }

    /// Sends one request and collects the replies up to the acknowledgement (or the end of a
    /// dump). A kernel error becomes `Err` with its errno.
    fn request(
        &mut self,
        message: RouteNetlinkMessage,
        extra_flags: u16,
        operation: &str,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        self.sequence = self.sequence.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | extra_flags;
        header.sequence_number = self.sequence;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
        packet.finalize();
        let mut buffer = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buffer);
        tracing::debug!(operation, "netlink request");
        self.socket
            .send(&buffer, 0)
            .map_err(|e| NetlinkError::new(operation, e))?;

        let mut replies = Vec::new();
        loop {
            let (data, _) = self
                .socket
                .recv_from_full()
                .map_err(|e| NetlinkError::new(operation, e))?;
            let mut offset = 0;
            while offset < data.len() {
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data[offset..])
                    .map_err(|e| NetlinkError::new(operation, io::Error::other(e.to_string())))?;
                let length = reply.header.length as usize;
                if length == 0 {
                    break;
                }
                offset += length;
                if reply.header.sequence_number != self.sequence {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::Error(error) => {
                        return match error.code {
                            None => Ok(replies),
                            Some(code) => Err(NetlinkError::new(
                                operation,
                                io::Error::from_raw_os_error(-code.get()),
                            )),
                        };
                    }
                    NetlinkPayload::Done(_) => return Ok(replies),
                    NetlinkPayload::InnerMessage(inner) => replies.push(inner),
                    _ => {}
                }
            }
        }
    }
}

fn route_header() -> RouteHeader {
    RouteHeader {
        address_family: AddressFamily::Inet,
        table: RouteHeader::RT_TABLE_MAIN,
        protocol: RouteProtocol::Boot,
        scope: RouteScope::Universe,
        kind: RouteType::Unicast,
        ..Default::default()
    }
}

fn libc_enodev() -> i32 {
    nix::errno::Errno::ENODEV as i32
}

fn libc_eexist() -> i32 {
    nix::errno::Errno::EEXIST as i32
}

/// Opens a network namespace file such as `/proc/<pid>/ns/net` or `/run/netns/<name>`.
pub fn open_netns(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// Writes a sysctl under /proc/sys (for example `net/ipv4/ip_forward`), skipping the write
/// when the value is already set.
pub fn set_sysctl(key: &str, value: &str) -> io::Result<()> {
    let path = format!("/proc/sys/{key}");
    if std::fs::read_to_string(&path)
        .map(|v| v.trim() == value)
        .unwrap_or(false)
    {
        return Ok(());
    }
    std::fs::write(&path, value)
}
