//! `skiff run` and `skiff create`: docker's flags turned into a create request; `run` then
//! starts the container under its monitor and, unless `-d`, follows it to its exit code.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};
use clap::Args;
use skiff_engine::containers::{Attach, CreateRequest};
use skiff_engine::record::{RestartPolicy, RunConfig};
use skiff_engine::spec::{
    DeviceOption, MountOption, NetworkMode, ResourceOptions, SpecOptions, UlimitOption,
};
use skiff_engine::Engine;

use super::format::parse_bytes;
use super::signals::SignalProxy;

/// The flags `run` and `create` share.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Assign a name to the container.
    #[arg(long)]
    name: Option<String>,
    /// Automatically remove the container and its resources when it exits.
    #[arg(long)]
    rm: bool,
    /// Keep STDIN open even if not attached.
    #[arg(short = 'i', long)]
    interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short = 't', long)]
    tty: bool,
    /// Set environment variables.
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    /// Read in a file of environment variables.
    #[arg(long)]
    env_file: Vec<String>,
    /// Working directory inside the container.
    #[arg(short = 'w', long)]
    workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>]).
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image.
    #[arg(long)]
    entrypoint: Option<String>,
    /// Container host name.
    #[arg(short = 'h', long)]
    hostname: Option<String>,
    /// Set meta data on a container.
    #[arg(short = 'l', long = "label")]
    label: Vec<String>,
    /// Bind mount a volume (HOST:CONTAINER[:ro]).
    #[arg(short = 'v', long = "volume")]
    volume: Vec<String>,
    /// Attach a filesystem mount to the container (type=bind|tmpfs,source=…,target=…,readonly).
    #[arg(long)]
    mount: Vec<String>,
    /// Mount a tmpfs directory (PATH[:OPTIONS]).
    #[arg(long)]
    tmpfs: Vec<String>,
    /// Mount the container's root filesystem as read only.
    #[arg(long)]
    read_only: bool,
    /// Restart policy to apply when a container exits (no, on-failure[:max-retries], always, unless-stopped).
    #[arg(long, default_value = "no")]
    restart: String,
    /// Signal to stop the container.
    #[arg(long)]
    stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container.
    #[arg(long)]
    stop_timeout: Option<i64>,
    /// Ulimit options (name=soft[:hard]).
    #[arg(long)]
    ulimit: Vec<String>,
    /// Give extended privileges to this container.
    #[arg(long)]
    privileged: bool,
    /// Add Linux capabilities.
    #[arg(long)]
    cap_add: Vec<String>,
    /// Drop Linux capabilities.
    #[arg(long)]
    cap_drop: Vec<String>,
    /// Security Options (no-new-privileges, seccomp=unconfined|FILE).
    #[arg(long)]
    security_opt: Vec<String>,
    /// Add a host device to the container.
    #[arg(long)]
    device: Vec<String>,
    /// Memory limit.
    #[arg(short = 'm', long)]
    memory: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap.
    #[arg(long)]
    memory_swap: Option<String>,
    /// Memory soft limit.
    #[arg(long)]
    memory_reservation: Option<String>,
    /// Number of CPUs.
    #[arg(long)]
    cpus: Option<f64>,
    /// CPU shares (relative weight).
    #[arg(short = 'c', long)]
    cpu_shares: Option<u64>,
    /// CPUs in which to allow execution (0-3, 0,1).
    #[arg(long)]
    cpuset_cpus: Option<String>,
    /// Tune container pids limit (set -1 for unlimited).
    #[arg(long)]
    pids_limit: Option<i64>,
    /// Block IO (relative weight), between 10 and 1000.
    #[arg(long)]
    blkio_weight: Option<u16>,
    /// Limit read rate (bytes per second) from a device.
    #[arg(long)]
    device_read_bps: Vec<String>,
    /// Limit write rate (bytes per second) to a device.
    #[arg(long)]
    device_write_bps: Vec<String>,
    /// Limit read rate (IO per second) from a device.
    #[arg(long)]
    device_read_iops: Vec<String>,
    /// Limit write rate (IO per second) to a device.
    #[arg(long)]
    device_write_iops: Vec<String>,
    /// Size of /dev/shm.
    #[arg(long)]
    shm_size: Option<String>,
    /// Sysctl options.
    #[arg(long)]
    sysctl: Vec<String>,
    /// Connect a container to a network (none or host).
    #[arg(long, alias = "net", default_value = "none")]
    network: String,
    /// Log driver options (max-size, max-file).
    #[arg(long)]
    log_opt: Vec<String>,
    /// Runtime to use for this container: skiff (its own, the default), or an external OCI runtime (runc, crun, a path).
    #[arg(long)]
    runtime: Option<String>,
    /// The image to run.
    image: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Print help (`-h` is --hostname, as in docker).
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// Run container in background and print container ID.
    #[arg(short = 'd', long)]
    detach: bool,
    /// Proxy received signals to the process.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    sig_proxy: bool,
    #[command(flatten)]
    create: CreateArgs,
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct CreateOnlyArgs {
    /// Print help (`-h` is --hostname, as in docker).
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    #[command(flatten)]
    create: CreateArgs,
}

pub fn run(root: &Path, args: RunArgs) -> anyhow::Result<i32> {
    let engine = open(root)?;
    let tty = args.create.tty;
    let request = request(args.create)?;
    let id = engine.create(&request)?;
    if args.detach {
        match engine.start(&id, Attach::No) {
            Ok(_) => {
                println!("{id}");
                Ok(0)
            }
            Err(e) => {
                eprintln!("skiff: {e}");
                Ok(e.exit_code())
            }
        }
    } else {
        // With -t our terminal passes keys through untouched (the container's pty handles
        // them); without it, signals to us go to the container (docker's --sig-proxy).
        let _raw = if tty { RawTerminal::enter() } else { None };
        let proxy = if args.sig_proxy && !tty {
            SignalProxy::install().ok()
        } else {
            None
        };
        let started = match engine.start(&id, Attach::Stdio) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("skiff: {e}");
                return Ok(e.exit_code());
            }
        };
        let code = match proxy {
            Some(proxy) => proxy.wait_exit(&engine, started),
            None => started.wait_exit(),
        };
        Ok(code.unwrap_or(125))
    }
}

pub fn create(root: &Path, args: CreateOnlyArgs) -> anyhow::Result<i32> {
    let engine = open(root)?;
    let id = engine.create(&request(args.create)?)?;
    println!("{id}");
    Ok(0)
}

pub fn open(root: &Path) -> anyhow::Result<Engine> {
    Engine::open(root).with_context(|| format!("cannot open the state root {}", root.display()))
}

fn request(args: CreateArgs) -> anyhow::Result<CreateRequest> {
    let network = match args.network.as_str() {
        "none" => NetworkMode::None,
        "host" => NetworkMode::Host,
        other => {
            bail!("network {other:?} is not available yet: use --network none or --network host")
        }
    };
    let mut env = Vec::new();
    for file in &args.env_file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the env file {file}"))?;
        env.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(String::from),
        );
    }
    env.extend(args.env);
    let env = env
        .into_iter()
        .filter_map(|e| match e.split_once('=') {
            Some(_) => Some(e),
            // `-e KEY` copies KEY from our environment, and drops it when unset, as docker does.
            None => std::env::var(&e).ok().map(|v| format!("{e}={v}")),
        })
        .collect();

    let mut mounts = Vec::new();
    for v in &args.volume {
        mounts.push(parse_volume(v)?);
    }
    for m in &args.mount {
        mounts.push(parse_mount(m)?);
    }
    for t in &args.tmpfs {
        let (target, options) = t.split_once(':').unwrap_or((t, ""));
        mounts.push(MountOption {
            kind: "tmpfs".into(),
            target: target.into(),
            options: options
                .split(',')
                .filter(|o| !o.is_empty())
                .map(String::from)
                .collect(),
            ..Default::default()
        });
    }

    let mut no_new_privileges = false;
    let mut seccomp = None;
    for opt in &args.security_opt {
        match opt.split_once(['=', ':']) {
            None if opt == "no-new-privileges" => no_new_privileges = true,
            Some(("no-new-privileges", v)) => no_new_privileges = v.parse().context("no-new-privileges takes true or false")?,
            Some(("seccomp", v)) => seccomp = Some(v.to_string()),
            _ => bail!("invalid --security-opt {opt:?}: use no-new-privileges or seccomp=unconfined|PROFILE.json"),
        }
    }

    let devices = args
        .device
        .iter()
        .map(|d| {
            let mut parts = d.split(':');
            let host = parts.next().unwrap_or_default().to_string();
            let container = parts
                .next()
                .map(String::from)
                .unwrap_or_else(|| host.clone());
            let permissions = parts.next().unwrap_or("rwm").to_string();
            DeviceOption {
                host,
                container,
                permissions,
            }
        })
        .collect();
    let ulimits = args
        .ulimit
        .iter()
        .map(|u| parse_ulimit(u))
        .collect::<anyhow::Result<_>>()?;
    let sysctls: BTreeMap<String, String> = args
        .sysctl
        .iter()
        .map(|s| {
            s.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .context(format!("invalid --sysctl {s:?}: use KEY=VALUE"))
        })
        .collect::<anyhow::Result<_>>()?;
    let memory_or_unlimited = |v: &Option<String>| -> anyhow::Result<Option<i64>> {
        match v.as_deref() {
            None => Ok(None),
            Some("-1") => Ok(Some(-1)),
            Some(s) => Ok(Some(parse_bytes(s)?)),
        }
    };
    let rates = |list: &[String], bytes: bool| -> anyhow::Result<Vec<(String, u64)>> {
        list.iter()
            .map(|r| {
                let (dev, rate) = r.rsplit_once(':').context(format!(
                    "invalid rate {r:?}: use DEVICE:RATE, e.g. /dev/sda:1mb"
                ))?;
                let rate = if bytes {
                    parse_bytes(rate)? as u64
                } else {
                    rate.parse().context("the iops rate must be a number")?
                };
                Ok((dev.to_string(), rate))
            })
            .collect()
    };
    let resources = ResourceOptions {
        memory: memory_or_unlimited(&args.memory)?,
        memory_swap: memory_or_unlimited(&args.memory_swap)?,
        memory_reservation: memory_or_unlimited(&args.memory_reservation)?,
        nano_cpus: args.cpus.map(|c| (c * 1e9) as i64),
        cpu_shares: args.cpu_shares,
        cpuset_cpus: args.cpuset_cpus,
        pids_limit: args.pids_limit,
        blkio_weight: args.blkio_weight,
        device_read_bps: rates(&args.device_read_bps, true)?,
        device_write_bps: rates(&args.device_write_bps, true)?,
        device_read_iops: rates(&args.device_read_iops, false)?,
        device_write_iops: rates(&args.device_write_iops, false)?,
    };

    let mut log_max_size = None;
    let mut log_max_file = 1;
    for opt in &args.log_opt {
        match opt.split_once('=') {
            Some(("max-size", v)) => log_max_size = Some(parse_bytes(v)? as u64),
            Some(("max-file", v)) => log_max_file = v.parse().context("max-file takes a number")?,
            _ => bail!("unknown log opt {opt:?}: the json-file driver takes max-size and max-file"),
        }
    }
    let labels = args
        .label
        .iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (l.clone(), String::new()),
        })
        .collect();

    Ok(CreateRequest {
        image: args.image,
        name: args.name,
        config: RunConfig {
            spec: SpecOptions {
                hostname: args.hostname.unwrap_or_default(),
                entrypoint: args
                    .entrypoint
                    .map(|e| if e.is_empty() { vec![] } else { vec![e] }),
                cmd: args.command,
                env,
                workdir: args.workdir,
                user: args.user,
                tty: args.tty,
                read_only: args.read_only,
                privileged: args.privileged,
                cap_add: args.cap_add,
                cap_drop: args.cap_drop,
                network,
                mounts,
                no_new_privileges,
                seccomp,
                devices,
                ulimits,
                sysctls,
                shm_size: args
                    .shm_size
                    .as_deref()
                    .map(parse_bytes)
                    .transpose()?
                    .map(|s| s as u64),
                resources,
            },
            auto_remove: args.rm,
            restart: RestartPolicy::parse(&args.restart)?,
            labels,
            stop_signal: args.stop_signal,
            stop_timeout: args.stop_timeout,
            open_stdin: args.interactive,
            log_max_size,
            log_max_file,
            runtime: args
                .runtime
                .unwrap_or_else(|| skiff_engine::runtimes::SKIFF.to_string()),
        },
    })
}

/// `-v HOST:CONTAINER[:ro|rw]` (named volumes come with the volumes work).
fn parse_volume(v: &str) -> anyhow::Result<MountOption> {
    let parts: Vec<&str> = v.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [s, t] => (*s, *t, ""),
        [s, t, m] => (*s, *t, *m),
        _ => bail!("invalid volume specification {v:?}: use HOST-PATH:CONTAINER-PATH[:ro]"),
    };
    if !source.starts_with('/') {
        bail!(
            "invalid volume {v:?}: named volumes are not supported yet; give an absolute host path"
        );
    }
    Ok(MountOption {
        kind: "bind".into(),
        source: source.into(),
        target: target.into(),
        read_only: mode.split(',').any(|m| m == "ro"),
        options: Vec::new(),
    })
}

/// `--mount type=bind,source=/a,target=/b,readonly` and `type=tmpfs,target=/t,tmpfs-size=…`.
fn parse_mount(m: &str) -> anyhow::Result<MountOption> {
    let mut out = MountOption {
        kind: "volume".into(),
        ..Default::default()
    };
    for field in m.split(',') {
        let (key, value) = field.split_once('=').unwrap_or((field, ""));
        match key {
            "type" => out.kind = value.into(),
            "source" | "src" => out.source = value.into(),
            "target" | "destination" | "dst" => out.target = value.into(),
            "readonly" | "ro" => {
                out.read_only = value.is_empty() || value == "true" || value == "1"
            }
            "tmpfs-size" => out.options.push(format!("size={}", parse_bytes(value)?)),
            "tmpfs-mode" => out.options.push(format!("mode={value}")),
            "bind-propagation" => out.options.push(value.into()),
            _ => bail!("unexpected key {key:?} in --mount {m:?}"),
        }
    }
    if !matches!(out.kind.as_str(), "bind" | "tmpfs") {
        bail!(
            "mount type {:?} is not supported yet: use type=bind or type=tmpfs",
            out.kind
        );
    }
    if out.target.is_empty() {
        bail!("invalid --mount {m:?}: target is required");
    }
    Ok(out)
}

fn parse_ulimit(u: &str) -> anyhow::Result<UlimitOption> {
    let (name, limits) = u
        .split_once('=')
        .context(format!("invalid --ulimit {u:?}: use NAME=SOFT[:HARD]"))?;
    let (soft, hard) = limits.split_once(':').unwrap_or((limits, limits));
    let parse = |v: &str| -> anyhow::Result<u64> {
        if v == "-1" {
            Ok(u64::MAX)
        } else {
            v.parse()
                .context(format!("invalid --ulimit {u:?}: limits are numbers"))
        }
    };
    Ok(UlimitOption {
        name: name.to_string(),
        soft: parse(soft)?,
        hard: parse(hard)?,
    })
}

/// Our terminal in raw mode while attached to a container's pty; restored when dropped.
struct RawTerminal {
    saved: rustix::termios::Termios,
}

impl RawTerminal {
    fn enter() -> Option<RawTerminal> {
        use rustix::termios::{tcgetattr, tcsetattr, OptionalActions};
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin).ok()?;
        let mut raw = saved.clone();
        raw.make_raw();
        tcsetattr(&stdin, OptionalActions::Now, &raw).ok()?;
        Some(RawTerminal { saved })
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ = rustix::termios::tcsetattr(
            std::io::stdin(),
            rustix::termios::OptionalActions::Now,
            &self.saved,
        );
    }
}
