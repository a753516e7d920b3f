//! skiff's firewall rules, generated from the persisted networks and applied in one
//! transaction: nftables (`nft -f -`, one table holding every skiff rule) or, when `nft` is not
//! installed, iptables (`iptables-restore --noflush`, chains named `<PREFIX>-*`).
//!
//! Rules are a pure function of the networks, so applying them again is harmless: `restore()`
//! after a reboot and every change use the same [`Firewall::sync`]. Only network create/remove
//! and attachments with published ports need a sync; a plain attach runs no firewall command.
//!
//! What the rules do (as Docker's bridge driver does, with `userland-proxy=false`):
//! - DNAT every published port for traffic to a local address, both arriving (prerouting) and
//!   locally generated (output; to 127.0.0.1 too, thanks to `route_localnet` on the bridge);
//! - masquerade traffic leaving a non-internal network, traffic from 127.0.0.0/8 into a bridge,
//!   and hairpin traffic (a container reaching a published port of its own network);
//! - drop forwarding between different skiff bridges, and any forwarding in or out of an
//!   internal network's bridge.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::store::Network;
use crate::Error;

/// Which firewall tool to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Nftables,
    Iptables,
}

#[derive(Debug, Clone)]
pub struct Firewall {
    backend: Backend,
    program: PathBuf,
    /// The nft table name, or the iptables chain prefix (upper-cased).
    name: String,
}

impl Firewall {
    /// nftables when `nft` is installed, else iptables. Looks in PATH only; runs nothing.
    pub fn detect(name: &str) -> Result<Firewall, Error> {
        if let Some(program) = find_program("nft") {
            return Ok(Firewall::with(Backend::Nftables, program, name));
        }
        Firewall::iptables(name)
    }

    pub fn nftables(name: &str) -> Result<Firewall, Error> {
        let program = find_program("nft").ok_or(Error::NoFirewall)?;
        Ok(Firewall::with(Backend::Nftables, program, name))
    }

    pub fn iptables(name: &str) -> Result<Firewall, Error> {
        let program = find_program("iptables-restore").ok_or(Error::NoFirewall)?;
        Ok(Firewall::with(Backend::Iptables, program, name))
    }

    fn with(backend: Backend, program: PathBuf, name: &str) -> Firewall {
        let name = match backend {
            Backend::Nftables => name.to_string(),
            Backend::Iptables => name.to_ascii_uppercase(),
        };
        Firewall {
            backend,
            program,
            name,
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Makes the kernel's rules match `networks` exactly, atomically. With no networks left,
    /// removes every skiff rule, table and chain.
    pub fn sync(&self, networks: &[Network]) -> Result<(), Error> {
        if networks.is_empty() {
            return self.remove_all();
        }
        match self.backend {
            Backend::Nftables => self.run(&["-f", "-"], &nft_script(&self.name, networks)),
            Backend::Iptables => {
                let existing = self.iptables_save()?;
                let script = iptables_script(&self.name, networks, &existing);
                self.run(&["--noflush", "-w"], &script)
            }
        }
    }

    /// Removes every rule, chain and table this firewall owns.
    pub fn remove_all(&self) -> Result<(), Error> {
        match self.backend {
            Backend::Nftables => {
                let script = format!("table ip {0}\ndelete table ip {0}\n", self.name);
                self.run(&["-f", "-"], &script)
            }
            Backend::Iptables => {
                let existing = self.iptables_save()?;
                let script = iptables_removal_script(&self.name, &existing);
                self.run(&["--noflush", "-w"], &script)
            }
        }
    }

    /// skiff's rules as the firewall tool lists them (for `skiff network inspect` and tests).
    pub fn list(&self) -> Result<String, Error> {
        match self.backend {
            Backend::Nftables => {
                let output = Command::new(&self.program)
                    .args(["list", "table", "ip", &self.name])
                    .output()
                    .map_err(|e| self.failed(e.to_string()))?;
                // A missing table lists as nothing.
                Ok(String::from_utf8_lossy(&output.stdout).into_owned())
            }
            Backend::Iptables => Ok(self
                .iptables_save()?
                .lines()
                .filter(|line| line.contains(&format!("{}-", self.name)))
                .map(|line| format!("{line}\n"))
                .collect()),
        }
    }

    fn iptables_save(&self) -> Result<String, Error> {
        let program = self.program.with_file_name("iptables-save");
        let output = Command::new(&program)
            .output()
            .map_err(|e| self.failed(e.to_string()))?;
        if !output.status.success() {
            return Err(self.failed(String::from_utf8_lossy(&output.stderr).into_owned()));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn run(&self, args: &[&str], script: &str) -> Result<(), Error> {
        tracing::debug!(program = %self.program.display(), script, "applying firewall rules");
        let mut child = Command::new(&self.program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.failed(e.to_string()))?;
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(script.as_bytes())
            .map_err(|e| self.failed(e.to_string()))?;
        let output = child
            .wait_with_output()
            .map_err(|e| self.failed(e.to_string()))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(self.failed(format!("{}\nscript was:\n{script}", stderr.trim())));
        }
        Ok(())
    }

    fn failed(&self, message: String) -> Error {
        Error::Firewall {
            program: self.program.display().to_string(),
            message,
        }
    }
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Published ports of every attached container, as (network, endpoint, mapping).
fn published(
    networks: &[Network],
) -> impl Iterator<Item = (&Network, std::net::Ipv4Addr, &crate::PortMapping)> {
    networks.iter().filter(|n| !n.internal).flat_map(|network| {
        network
            .endpoints
            .values()
            .flat_map(move |e| e.ports.iter().map(move |port| (network, e.ip, port)))
    })
}

/// The nftables transaction: recreate table `table` from scratch.
pub fn nft_script(table: &str, networks: &[Network]) -> String {
    let mut s = String::new();
    // Creating then deleting makes the delete succeed whether or not the table exists.
    let _ = writeln!(
        s,
        "table ip {table}\ndelete table ip {table}\ntable ip {table} {{"
    );
    let nat = |hook: &str, priority: i32| {
        format!("type nat hook {hook} priority {priority}; policy accept;")
    };
    let _ = writeln!(s, "  chain published {{");
    for (_, ip, port) in published(networks) {
        let daddr = port
            .host_ip
            .map(|ip| format!("ip daddr {ip} "))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "    {daddr}{proto} dport {} dnat to {ip}:{}",
            port.host_port,
            port.container_port,
            proto = port.protocol
        );
    }
    let _ = writeln!(s, "  }}");
    let _ = writeln!(
        s,
        "  chain prerouting {{ {} fib daddr type local jump published; }}",
        nat("prerouting", -100)
    );
    let _ = writeln!(
        s,
        "  chain output {{ {} fib daddr type local jump published; }}",
        nat("output", -100)
    );
    let _ = writeln!(s, "  chain postrouting {{ {}", nat("postrouting", 100));
    for network in networks {
        let (br, subnet) = (&network.bridge, network.subnet);
        if !network.internal {
            let _ = writeln!(s, "    ip saddr {subnet} oifname != \"{br}\" masquerade");
            let _ = writeln!(s, "    oifname \"{br}\" ip saddr 127.0.0.0/8 masquerade");
            let _ = writeln!(
                s,
                "    oifname \"{br}\" ip saddr {subnet} ct status dnat masquerade"
            );
        }
    }
    let _ = writeln!(s, "  }}");
    let _ = writeln!(
        s,
        "  chain forward {{ type filter hook forward priority 0; policy accept;"
    );
    for network in networks {
        let br = &network.bridge;
        if network.internal {
            let _ = writeln!(s, "    iifname \"{br}\" oifname != \"{br}\" drop");
            let _ = writeln!(s, "    oifname \"{br}\" iifname != \"{br}\" drop");
            continue;
        }
        let others: Vec<String> = networks
            .iter()
            .filter(|other| other.bridge != *br)
            .map(|other| format!("\"{}\"", other.bridge))
            .collect();
        if !others.is_empty() {
            let _ = writeln!(
                s,
                "    iifname \"{br}\" oifname {{ {} }} drop",
                others.join(", ")
            );
        }
    }
    let _ = writeln!(s, "  }}\n}}");
    s
}

/// The chains an iptables firewall called `prefix` owns, by table, with the jump into each.
fn iptables_chains(prefix: &str) -> [(&'static str, String, &'static str, &'static str); 4] {
    [
        (
            "nat",
            format!("{prefix}-PREROUTING"),
            "PREROUTING",
            "-m addrtype --dst-type LOCAL ",
        ),
        (
            "nat",
            format!("{prefix}-OUTPUT"),
            "OUTPUT",
            "-m addrtype --dst-type LOCAL ",
        ),
        ("nat", format!("{prefix}-POSTROUTING"), "POSTROUTING", ""),
        ("filter", format!("{prefix}-FORWARD"), "FORWARD", ""),
    ]
}

/// The `iptables-restore --noflush` input: declare (and so flush) skiff's chains, refill them,
/// and add the jumps from the built-in chains that `existing` (iptables-save output) lacks.
pub fn iptables_script(prefix: &str, networks: &[Network], existing: &str) -> String {
    let chains = iptables_chains(prefix);
    let mut s = String::new();
    for table in ["nat", "filter"] {
        let _ = writeln!(s, "*{table}");
        for (_, chain, _, _) in chains.iter().filter(|c| c.0 == table) {
            let _ = writeln!(s, ":{chain} - [0:0]");
        }
        for (_, chain, builtin, matcher) in chains.iter().filter(|c| c.0 == table) {
            let jump = format!("-A {builtin} {matcher}-j {chain}");
            if !existing.lines().any(|line| line.trim() == jump) {
                let _ = writeln!(s, "-I {builtin} 1 {matcher}-j {chain}");
            }
        }
        if table == "nat" {
            for (_, ip, port) in published(networks) {
                let daddr = port
                    .host_ip
                    .map(|ip| format!("-d {ip}/32 "))
                    .unwrap_or_default();
                for chain in [&chains[0].1, &chains[1].1] {
                    let _ = writeln!(
                        s,
                        "-A {chain} {daddr}-p {p} -m {p} --dport {} -j DNAT --to-destination {ip}:{}",
                        port.host_port,
                        port.container_port,
                        p = port.protocol
                    );
                }
            }
            let post = &chains[2].1;
            for network in networks.iter().filter(|n| !n.internal) {
                let (br, subnet) = (&network.bridge, network.subnet);
                let _ = writeln!(s, "-A {post} -s {subnet} ! -o {br} -j MASQUERADE");
                let _ = writeln!(s, "-A {post} -s 127.0.0.0/8 -o {br} -j MASQUERADE");
                let _ = writeln!(
                    s,
                    "-A {post} -s {subnet} -o {br} -m conntrack --ctstate DNAT -j MASQUERADE"
                );
            }
        } else {
            let forward = &chains[3].1;
            for network in networks {
                let br = &network.bridge;
                if network.internal {
                    let _ = writeln!(s, "-A {forward} -i {br} ! -o {br} -j DROP");
                    let _ = writeln!(s, "-A {forward} -o {br} ! -i {br} -j DROP");
                    continue;
                }
                for other in networks.iter().filter(|o| o.bridge != *br) {
                    let _ = writeln!(s, "-A {forward} -i {br} -o {} -j DROP", other.bridge);
                }
            }
            // Accept what the rules above let through, so a FORWARD policy of DROP (set by a
            // dockerd that ran on this host) does not cut skiff's containers off.
            for network in networks {
                let br = &network.bridge;
                if network.internal {
                    let _ = writeln!(s, "-A {forward} -i {br} -o {br} -j ACCEPT");
                } else {
                    let _ = writeln!(s, "-A {forward} -i {br} -j ACCEPT");
                    let _ = writeln!(
                        s,
                        "-A {forward} -o {br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
                    );
                    let _ = writeln!(
                        s,
                        "-A {forward} -o {br} -m conntrack --ctstate DNAT -j ACCEPT"
                    );
                }
            }
        }
        let _ = writeln!(s, "COMMIT");
    }
    s
}

/// The `iptables-restore --noflush` input that deletes skiff's jumps and chains.
pub fn iptables_removal_script(prefix: &str, existing: &str) -> String {
    let chains = iptables_chains(prefix);
    let mut s = String::new();
    for table in ["nat", "filter"] {
        let section = iptables_table(existing, table);
        let _ = writeln!(s, "*{table}");
        for (_, chain, builtin, matcher) in chains.iter().filter(|c| c.0 == table) {
            let jump = format!("-A {builtin} {matcher}-j {chain}");
            for _ in section.lines().filter(|line| line.trim() == jump) {
                let _ = writeln!(s, "-D {builtin} {matcher}-j {chain}");
            }
            if section
                .lines()
                .any(|line| line.starts_with(&format!(":{chain} ")))
            {
                let _ = writeln!(s, ":{chain} - [0:0]\n-X {chain}");
            }
        }
        let _ = writeln!(s, "COMMIT");
    }
    s
}

/// The lines of one table (`*nat` … `COMMIT`) of iptables-save output.
fn iptables_table<'a>(save: &'a str, table: &str) -> &'a str {
    let header = format!("*{table}\n");
    let Some(start) = save.find(&header) else {
        return "";
    };
    let rest = &save[start..];
    &rest[..rest.find("COMMIT").unwrap_or(rest.len())]
}
