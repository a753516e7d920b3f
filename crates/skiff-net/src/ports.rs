//! Published ports: parsing `-p [ip:][host:]container[/udp]`, choosing ports for `-P`, and the
//! start-time check that a host port is free.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};

use serde::{Deserialize, Serialize};

use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

/// One published port: traffic to `host_ip:host_port` (any local address when `host_ip` is
/// `None`) goes to the container's `container_port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortMapping {
    #[serde(default)]
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: Protocol,
}

impl fmt::Display for PortMapping {
    /// The `skiff port` form: `80/tcp -> 0.0.0.0:8080`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ip = self.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        write!(
            f,
            "{}/{} -> {}:{}",
            self.container_port, self.protocol, ip, self.host_port
        )
    }
}

/// Parses one `-p` value: `container`, `host:container`, `ip:host:container` or
/// `ip::container`, each optionally followed by `/tcp` or `/udp`. A missing host port is
/// chosen now (a free ephemeral port), as Docker does.
pub fn parse_publish(spec: &str) -> Result<PortMapping, Error> {
    let bad = |why: &str| Error::BadPortSpec {
        spec: spec.to_string(),
        why: why.to_string(),
    };
    let (ports, protocol) = match spec.rsplit_once('/') {
        Some((ports, "tcp")) => (ports, Protocol::Tcp),
        Some((ports, "udp")) => (ports, Protocol::Udp),
        Some(_) => return Err(bad("the protocol must be tcp or udp")),
        None => (spec, Protocol::Tcp),
    };
    let parts: Vec<&str> = ports.split(':').collect();
    let (ip, host, container) = match parts.as_slice() {
        [container] => (None, "", *container),
        [host, container] => (None, *host, *container),
        [ip, host, container] => (Some(*ip), *host, *container),
        _ => return Err(bad("expected [ip:][host_port:]container_port[/udp]")),
    };
    let host_ip = match ip {
        None | Some("") => None,
        Some(ip) => Some(
            ip.parse::<Ipv4Addr>()
                .map_err(|_| bad("the host IP is not IPv4"))?,
        ),
    };
    let port = |text: &str| match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(bad("ports are numbers from 1 to 65535")),
        Ok(port) => Ok(port),
    };
    let container_port = port(container)?;
    let host_port = if host.is_empty() {
        free_port(host_ip, protocol)?
    } else {
        port(host)?
    };
    Ok(PortMapping {
        host_ip,
        host_port,
        container_port,
        protocol,
    })
}

/// `-P`: publishes every exposed port on a free host port.
pub fn publish_all(exposed: &[(u16, Protocol)]) -> Result<Vec<PortMapping>, Error> {
    exposed
        .iter()
        .map(|&(container_port, protocol)| {
            let host_port = free_port(None, protocol)?;
            Ok(PortMapping {
                host_ip: None,
                host_port,
                container_port,
                protocol,
            })
        })
        .collect()
}

/// Fails with [`Error::PortInUse`] when another program holds the host port: binding it
/// is the only reliable test. The socket is closed again right away; skiff's DNAT rules do
/// not need it.
pub fn check_port_free(mapping: &PortMapping) -> Result<(), Error> {
    let address = SocketAddrV4::new(
        mapping.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
        mapping.host_port,
    );
    let result = match mapping.protocol {
        Protocol::Tcp => TcpListener::bind(address).map(drop),
        Protocol::Udp => UdpSocket::bind(address).map(drop),
    };
    result.map_err(|source| Error::PortInUse {
        mapping: *mapping,
        source,
    })
}

/// A port the kernel considers free right now (from its ephemeral range).
fn free_port(host_ip: Option<Ipv4Addr>, protocol: Protocol) -> Result<u16, Error> {
    let address = SocketAddrV4::new(host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED), 0);
    let port = match protocol {
        Protocol::Tcp => TcpListener::bind(address).and_then(|l| l.local_addr()),
        Protocol::Udp => UdpSocket::bind(address).and_then(|s| s.local_addr()),
    };
    port.map(|a| a.port())
        .map_err(|source| Error::NoFreePort { protocol, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_docker_forms() {
        let m = parse_publish("8080:80").unwrap();
        assert_eq!((m.host_ip, m.host_port, m.container_port), (None, 8080, 80));
        assert_eq!(m.protocol, Protocol::Tcp);
        let m = parse_publish("127.0.0.1:5353:53/udp").unwrap();
        assert_eq!(m.host_ip, Some(Ipv4Addr::LOCALHOST));
        assert_eq!(
            (m.host_port, m.container_port, m.protocol),
            (5353, 53, Protocol::Udp)
        );
        let m = parse_publish("127.0.0.1::80").unwrap();
        assert!(m.host_port > 0);
        let m = parse_publish("80").unwrap();
        assert!(m.host_port > 0 && m.container_port == 80);
        assert_eq!(m.to_string(), format!("80/tcp -> 0.0.0.0:{}", m.host_port));
        for bad in [
            "",
            "0:80",
            "a:80",
            "80/sctp",
            "1:2:3:4",
            "::1:80:80",
            "70000:80",
        ] {
            assert!(parse_publish(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn a_held_port_is_reported_in_use() {
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let mapping = PortMapping {
            host_ip: Some(Ipv4Addr::LOCALHOST),
            host_port: port,
            container_port: 80,
            protocol: Protocol::Tcp,
        };
        let error = check_port_free(&mapping).unwrap_err();
        assert!(error.to_string().contains(&port.to_string()), "{error}");
        drop(held);
        check_port_free(&mapping).unwrap();
    }
}
