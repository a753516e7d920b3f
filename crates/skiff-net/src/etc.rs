//! The contents of a container's /etc/hosts, /etc/hostname and /etc/resolv.conf. Pure
//! functions: the engine writes the files into the container's state directory and
//! bind-mounts them.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

/// `/etc/hostname`.
pub fn hostname_file(hostname: &str) -> String {
    format!("{hostname}\n")
}

/// `/etc/hosts`: localhost entries, the container's own addresses under its hostname (and
/// name, when different), then `--add-host` entries in the order given.
pub fn hosts_file(
    hostname: &str,
    container_name: Option<&str>,
    own_ips: &[Ipv4Addr],
    add_hosts: &[(String, IpAddr)],
) -> String {
    let mut s = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    let names = match container_name {
        Some(name) if name != hostname && !name.is_empty() => format!("{hostname} {name}"),
        _ => hostname.to_string(),
    };
    for ip in own_ips {
        let _ = writeln!(s, "{ip}\t{names}");
    }
    for (host, ip) in add_hosts {
        let _ = writeln!(s, "{ip}\t{host}");
    }
    s
}

/// Parses one `--add-host host:ip` value (`host=ip` too, like recent Docker).
pub fn parse_add_host(value: &str) -> Option<(String, IpAddr)> {
    let (host, ip) = value.split_once('=').or_else(|| value.split_once(':'))?;
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    Some((host.to_string(), ip.parse().ok()?)).filter(|(host, _)| !host.is_empty())
}

/// Where a container's DNS queries go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nameservers {
    /// The network's DNS server (the gateway address); container names resolve.
    Network(Ipv4Addr),
    /// `--dns` servers given by the user.
    Explicit(Vec<IpAddr>),
    /// The host's servers, minus loopback ones (unreachable from a container), falling back to
    /// Google's public servers like Docker does (`--network none` keeps the host's as is).
    Host,
}

/// `/etc/resolv.conf` for a container, from the host's (`host_resolv_conf`): the chosen
/// nameservers, and the host's `search` and `options` lines, or `dns_search`/`dns_options`
/// when given.
pub fn resolv_conf(
    host_resolv_conf: &str,
    choice: &Nameservers,
    dns_search: &[String],
    dns_options: &[String],
) -> String {
    let servers: Vec<IpAddr> = match choice {
        Nameservers::Network(gateway) => vec![IpAddr::V4(*gateway)],
        Nameservers::Explicit(servers) => servers.clone(),
        Nameservers::Host => {
            let usable: Vec<IpAddr> = nameservers(host_resolv_conf)
                .into_iter()
                .filter(|ip| !ip.is_loopback())
                .collect();
            if usable.is_empty() {
                vec![
                    IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)),
                    IpAddr::V4(Ipv4Addr::new(8, 8, 4, 4)),
                ]
            } else {
                usable
            }
        }
    };
    let mut s = String::new();
    for server in servers {
        let _ = writeln!(s, "nameserver {server}");
    }
    let keep = |keyword: &str, given: &[String]| -> Option<String> {
        if !given.is_empty() {
            return Some(format!("{keyword} {}", given.join(" ")));
        }
        host_resolv_conf
            .lines()
            .rev()
            .find(|line| line.split_whitespace().next() == Some(keyword))
            .map(|line| line.trim().to_string())
    };
    for line in [keep("search", dns_search), keep("options", dns_options)]
        .into_iter()
        .flatten()
    {
        let _ = writeln!(s, "{line}");
    }
    s
}

/// The `nameserver` addresses of a resolv.conf text, in order.
pub fn nameservers(resolv_conf: &str) -> Vec<IpAddr> {
    resolv_conf
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("nameserver"))
                .then(|| words.next())
                .flatten()
        })
        .filter_map(|address| address.split('%').next()?.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "# generated\nnameserver 127.0.0.53\nnameserver 10.255.255.53\nsearch corp.example\noptions edns0 trust-ad\n";

    #[test]
    fn resolv_conf_variants() {
        let gw = Ipv4Addr::new(10, 213, 0, 1);
        assert_eq!(
            resolv_conf(HOST, &Nameservers::Network(gw), &[], &[]),
            "nameserver 10.213.0.1\nsearch corp.example\noptions edns0 trust-ad\n"
        );
        assert_eq!(
            resolv_conf(HOST, &Nameservers::Host, &[], &[]),
            "nameserver 10.255.255.53\nsearch corp.example\noptions edns0 trust-ad\n"
        );
        let explicit = Nameservers::Explicit(vec!["1.1.1.1".parse().unwrap()]);
        assert_eq!(
            resolv_conf(HOST, &explicit, &["a.example".into()], &["ndots:2".into()]),
            "nameserver 1.1.1.1\nsearch a.example\noptions ndots:2\n"
        );
        assert_eq!(
            resolv_conf("nameserver 127.0.0.1\n", &Nameservers::Host, &[], &[]),
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
    }

    #[test]
    fn hosts_and_add_host() {
        let extra = vec![parse_add_host("db.local:10.1.2.3").unwrap()];
        let hosts = hosts_file(
            "abc123",
            Some("web"),
            &[Ipv4Addr::new(10, 213, 0, 2)],
            &extra,
        );
        assert!(hosts.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(hosts.contains("\n10.213.0.2\tabc123 web\n"));
        assert!(hosts.ends_with("10.1.2.3\tdb.local\n"));
        assert_eq!(
            parse_add_host("h=::1").unwrap().1,
            "::1".parse::<IpAddr>().unwrap()
        );
        assert!(parse_add_host("nohost").is_none());
        assert!(parse_add_host(":1.2.3.4").is_none());
        assert_eq!(hostname_file("abc"), "abc\n");
    }
}
