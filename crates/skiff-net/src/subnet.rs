//! IPv4 subnets: parsing `10.0.0.0/24`, overlap tests and host addresses.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An IPv4 network: its first address and prefix length (the host bits are zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subnet {
    network: Ipv4Addr,
    prefix_len: u8,
}

impl Subnet {
    /// The subnet of `address/prefix_len`, host bits cleared.
    pub fn new(address: Ipv4Addr, prefix_len: u8) -> Option<Subnet> {
        if prefix_len > 32 {
            return None;
        }
        let network = Ipv4Addr::from(u32::from(address) & mask(prefix_len));
        Some(Subnet {
            network,
            prefix_len,
        })
    }

    pub fn network(&self) -> Ipv4Addr {
        self.network
    }

    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) | !mask(self.prefix_len))
    }

    pub fn contains(&self, address: Ipv4Addr) -> bool {
        u32::from(address) & mask(self.prefix_len) == u32::from(self.network)
    }

    pub fn overlaps(&self, other: &Subnet) -> bool {
        self.contains(other.network) || other.contains(self.network)
    }

    /// The usable host addresses, in order (all but the network and broadcast address).
    pub fn hosts(&self) -> impl Iterator<Item = Ipv4Addr> {
        let first = u32::from(self.network);
        let last = u32::from(self.broadcast());
        let (start, end) = if self.prefix_len >= 31 {
            (first, last)
        } else {
            (first + 1, last - 1)
        };
        (start..=end).map(Ipv4Addr::from)
    }

    /// The `index`-th subnet of length `prefix_len` inside this one, if there is one.
    pub fn nth_child(&self, prefix_len: u8, index: u32) -> Option<Subnet> {
        if prefix_len < self.prefix_len || prefix_len > 32 {
            return None;
        }
        let count = 1u64 << (prefix_len - self.prefix_len);
        if u64::from(index) >= count {
            return None;
        }
        let step = 1u64 << (32 - prefix_len);
        let start = u64::from(u32::from(self.network)) + u64::from(index) * step;
        Subnet::new(Ipv4Addr::from(start as u32), prefix_len)
    }
}

fn mask(prefix_len: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(prefix_len))
        .unwrap_or(0)
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

/// The text was not `a.b.c.d/len`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSubnet(pub String);

impl FromStr for Subnet {
    type Err = BadSubnet;

    fn from_str(text: &str) -> Result<Subnet, BadSubnet> {
        let bad = || BadSubnet(text.to_string());
        let (address, prefix) = text.split_once('/').ok_or_else(bad)?;
        let address: Ipv4Addr = address.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        Subnet::new(address, prefix).ok_or_else(bad)
    }
}

impl Serialize for Subnet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Subnet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Subnet, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse()
            .map_err(|_| serde::de::Error::custom(format!("bad subnet {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_display_and_contain() {
        let s: Subnet = "10.213.7.9/24".parse().unwrap();
        assert_eq!(s.to_string(), "10.213.7.0/24");
        assert_eq!(s.broadcast(), Ipv4Addr::new(10, 213, 7, 255));
        assert!(s.contains(Ipv4Addr::new(10, 213, 7, 200)));
        assert!(!s.contains(Ipv4Addr::new(10, 213, 8, 1)));
        assert_eq!(s.hosts().count(), 254);
        assert!("10.0.0.0".parse::<Subnet>().is_err());
        assert!("10.0.0.0/33".parse::<Subnet>().is_err());
    }

    #[test]
    fn overlaps_and_children() {
        let a: Subnet = "172.16.0.0/12".parse().unwrap();
        let b: Subnet = "172.17.0.0/16".parse().unwrap();
        let c: Subnet = "192.168.0.0/16".parse().unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c));
        assert_eq!(c.nth_child(20, 1).unwrap().to_string(), "192.168.16.0/20");
        assert_eq!(c.nth_child(20, 16), None);
        let default: Subnet = "0.0.0.0/0".parse().unwrap();
        assert!(default.contains(Ipv4Addr::new(1, 2, 3, 4)));
    }
}
