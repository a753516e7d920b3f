//! The container verbs that act on existing containers: start, stop, restart, kill, rm,
//! inspect, wait, exec, top, rename, pause, unpause, stats, port, update; and import.

use std::path::Path;

use anyhow::{bail, Context};
use clap::Args;
use skiff_engine::containers::{Attach, ExecRequest};
use skiff_engine::Engine;

use super::format::{bytes_size, human_size, parse_bytes, print_table, render};
use super::run::open;

/// One or more containers, by name, id or id prefix.
#[derive(Debug, Args)]
pub struct Targets {
    #[arg(required = true)]
    containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals.
    #[arg(short = 'a', long)]
    attach: bool,
    /// Attach container's STDIN.
    #[arg(short = 'i', long)]
    interactive: bool,
    #[arg(required = true)]
    containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Seconds to wait before killing the container.
    #[arg(short = 't', long = "time", alias = "timeout")]
    time: Option<i64>,
    /// Signal to send to the container.
    #[arg(short = 's', long)]
    signal: Option<String>,
    #[arg(required = true)]
    containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal to send to the container.
    #[arg(short = 's', long, default_value = "KILL")]
    signal: String,
    #[arg(required = true)]
    containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL).
    #[arg(short = 'f', long)]
    force: bool,
    /// Remove anonymous volumes associated with the container.
    #[arg(short = 'v', long)]
    volumes: bool,
    #[arg(required = true)]
    containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format output using a custom template ('json' or a Go template).
    #[arg(short = 'f', long)]
    format: Option<String>,
    /// Display total file sizes (accepted for compatibility).
    #[arg(short = 's', long)]
    size: bool,
    /// Only inspect objects of the given type (container).
    #[arg(long = "type")]
    typ: Option<String>,
    #[arg(required = true)]
    names: Vec<String>,
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct ExecArgs {
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// Detached mode: run command in the background.
    #[arg(short = 'd', long)]
    detach: bool,
    /// Keep STDIN open even if not attached.
    #[arg(short = 'i', long)]
    interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short = 't', long)]
    tty: bool,
    /// Set environment variables.
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    /// Working directory inside the container.
    #[arg(short = 'w', long)]
    workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>]).
    #[arg(short = 'u', long)]
    user: Option<String>,
    container: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TopArgs {
    container: String,
    /// ps options (ignored: skiff prints UID, PID, PPID, C, STIME, TTY, TIME, CMD).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RenameArgs {
    container: String,
    new_name: String,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Show all containers (default shows just running).
    #[arg(short = 'a', long)]
    all: bool,
    /// Disable streaming stats and only pull the first result.
    #[arg(long)]
    no_stream: bool,
    /// Do not truncate output.
    #[arg(long)]
    no_trunc: bool,
    /// Format output using a custom template.
    #[arg(long)]
    format: Option<String>,
    containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PortArgs {
    container: String,
    private_port: Option<String>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Memory limit.
    #[arg(short = 'm', long)]
    memory: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap.
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
    /// CPUs in which to allow execution.
    #[arg(long)]
    cpuset_cpus: Option<String>,
    /// Tune container pids limit.
    #[arg(long)]
    pids_limit: Option<i64>,
    /// Block IO (relative weight).
    #[arg(long)]
    blkio_weight: Option<u16>,
    /// Restart policy to apply when a container exits.
    #[arg(long)]
    restart: Option<String>,
    #[arg(required = true)]
    containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A rootfs tar (plain, gzip or zstd), or - for stdin.
    file: String,
    /// The repository[:tag] to tag the image as.
    reference: Option<String>,
}

/// Runs `f` on each container, printing errors as docker does and returning 1 if any failed.
fn each(
    engine: &Engine,
    names: &[String],
    mut f: impl FnMut(&str, &str) -> anyhow::Result<()>,
) -> i32 {
    let mut code = 0;
    for name in names {
        let result = engine
            .resolve_container(name)
            .map_err(anyhow::Error::from)
            .and_then(|id| f(&id, name));
        if let Err(e) = result {
            eprintln!("Error response from daemon: {e:#}");
            code = 1;
        }
    }
    code
}

pub fn start(root: &Path, args: StartArgs) -> anyhow::Result<i32> {
    let engine = open(root)?;
    if args.attach || args.interactive {
        let [name] = args.containers.as_slice() else {
            bail!("you cannot start and attach multiple containers at once");
        };
        let id = engine.resolve_container(name)?;
        let started = match engine.start(&id, Attach::Stdio) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("Error response from daemon: {e}");
                return Ok(e.exit_code());
            }
        };
        return Ok(started.wait_exit().unwrap_or(125));
    }
    Ok(each(&engine, &args.containers, |id, name| {
        engine.start(id, Attach::No)?;
        println!("{name}");
        Ok(())
    }))
}

pub fn stop(root: &Path, args: StopArgs, restart: bool) -> anyhow::Result<i32> {
    let engine = open(root)?;
    Ok(each(&engine, &args.containers, |id, name| {
        engine.stop(id, args.time, args.signal.as_deref())?;
        if restart {
            engine.start(id, Attach::No)?;
        }
        println!("{name}");
        Ok(())
    }))
}

pub fn kill(root: &Path, args: KillArgs) -> anyhow::Result<i32> {
    let engine = open(root)?;
    Ok(each(&engine, &args.containers, |id, name| {
        engine.kill(id, &args.signal)?;
        println!("{name}");
        Ok(())
    }))
}

pub fn rm(root: &Path, args: RmArgs) -> anyhow::Result<i32> {
    let engine = open(root)?;
    // -v: skiff has no anonymous volumes yet, so there is nothing more to remove.
    let _ = args.volumes;
    Ok(each(&engine, &args.containers, |id, name| {
        engine.remove(id, args.force)?;
        println!("{name}");
        Ok(())
    }))
}

pub fn inspect(root: &Path, args: InspectArgs) -> anyhow::Result<i32> {
    let engine = open(root)?;
    if args.typ.as_deref().is_some_and(|t| t != "container") {
        bail!(
            "skiff inspect handles containers only for now (use `skiff image inspect` for images)"
        );
    }
    let mut docs = Vec::new();
    let mut code = 0;
    for name in &args.names {
        match engine
            .resolve_container(name)
            .and_then(|id| engine.load_record(&id))
        {
            Ok(record) => docs.push(engine.inspect(&record)),
            Err(_) => {
                eprintln!("Error: No such object: {name}");
                code = 1;
            }
        }
    }
    match args.format.as_deref() {
        None => println!("{}", serde_json::to_string_pretty(&docs)?),
        Some("json") => {
            for doc in &docs {
                println!("{}", serde_json::to_string(doc)?);
            }
        }
        Some(template) => {
            for doc in &docs {
                println!("{}", render(template, doc));
            }
        }
    }
    Ok(code)
}

pub fn wait(root: &Path, args: Targets) -> anyhow::Result<i32> {
    let engine = open(root)?;
    Ok(each(&engine, &args.containers, |id, _| {
        println!("{}", engine.wait(id)?);
        Ok(())
    }))
}

pub fn exec(root: &Path, args: ExecArgs) -> anyhow::Result<i32> {
    let engine = open(root)?;
    if args.tty {
        eprintln!(
            "skiff: warning: --tty is not supported yet; the command runs without a terminal"
        );
    }
    let _ = args.interactive; // stdin is always passed through to the process.
    let id = engine.resolve_container(&args.container)?;
    let request = ExecRequest {
        cmd: args.command,
        env: args.env,
        workdir: args.workdir,
        user: args.user,
        detach: args.detach,
    };
    match engine.exec(&id, &request) {
        Ok(code) => Ok(if args.detach { 0 } else { code }),
        Err(e) => {
            let message = e.to_string();
            eprintln!("skiff: {message}");
            // docker exec: 126 cannot execute, 127 not found.
            Ok(if message.contains("not found") {
                127
            } else if message.contains("not executable") || message.contains("permission denied") {
                126
            } else {
                125
            })
        }
    }
}

pub fn top(root: &Path, args: TopArgs) -> anyhow::Result<i32> {
    let engine = open(root)?;
    let id = engine.resolve_container(&args.container)?;
    let mut pids = engine.pids(&id)?;
    pids.sort_unstable();
    let mut rows = vec![["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
        .map(String::from)
        .to_vec()];
    let pid_list: Vec<String> = pids.iter().map(|p| p.to_string()).collect();
    if !pid_list.is_empty() {
        // ps does the formatting of user names, times and ttys; we pick our pids.
        let output = std::process::Command::new("ps")
            .args([
                "-o",
                "user=,pid=,ppid=,c=,stime=,tty=,time=,args=",
                "-p",
                &pid_list.join(","),
            ])
            .output()
            .context("cannot run ps to list the container's processes")?;
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let mut fields: Vec<String> =
                line.split_whitespace().take(7).map(String::from).collect();
            let cmd: Vec<&str> = line.split_whitespace().skip(7).collect();
            fields.push(cmd.join(" "));
            rows.push(fields);
        }
    }
    print_table(&rows);
    Ok(0)
}

pub fn rename(root: &Path, args: RenameArgs) -> anyhow::Result<i32> {
    let engine = open(root)?;
    let id = engine.resolve_container(&args.container)?;
    engine.rename(&id, &args.new_name)?;
    Ok(0)
}

pub fn pause(root: &Path, args: Targets, pause: bool) -> anyhow::Result<i32> {
    let engine = open(root)?;
    Ok(each(&engine, &args.containers, |id, name| {
        engine.pause(id, pause)?;
        println!("{name}");
        Ok(())
    }))
}

pub fn stats(root: &Path, args: StatsArgs) -> anyhow::Result<i32> {
    let engine = open(root)?;
    let records = if args.containers.is_empty() {
        engine
            .list_records()?
            .into_iter()
            .filter(|r| args.all || r.live_state().status.is_active())
            .collect()
    } else {
        args.containers
            .iter()
            .map(|n| {
                engine
                    .resolve_container(n)
                    .and_then(|id| engine.load_record(&id))
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    let total_memory = host_memory();
    let mut previous: std::collections::HashMap<String, (u64, std::time::Instant)> =
        Default::default();
    loop {
        let mut rows = vec![[
            "CONTAINER ID",
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET I/O",
            "BLOCK I/O",
            "PIDS",
        ]
        .map(String::from)
        .to_vec()];
        for r in &records {
            let short = if args.no_trunc {
                r.id.clone()
            } else {
                r.id[..12].to_string()
            };
            let Ok(s) = engine.stats(&r.id) else {
                rows.push(vec![
                    short,
                    r.name.clone(),
                    "--".into(),
                    "-- / --".into(),
                    "--".into(),
                    "--".into(),
                    "--".into(),
                    "--".into(),
                ]);
                continue;
            };
            let now = std::time::Instant::now();
            let cpu = match previous.insert(r.id.clone(), (s.cpu.usage_total_ns, now)) {
                Some((before, at)) => {
                    let elapsed = now.duration_since(at).as_nanos().max(1) as f64;
                    (s.cpu.usage_total_ns.saturating_sub(before)) as f64 / elapsed * 100.0
                }
                None => 0.0,
            };
            // docker subtracts the page cache ("inactive_file") from usage.
            let inactive = s
                .memory
                .stat
                .get("total_inactive_file")
                .or(s.memory.stat.get("inactive_file"))
                .copied()
                .unwrap_or(0);
            let usage = s.memory.usage.saturating_sub(inactive);
            let limit = if s.memory.limit == 0 || s.memory.limit >= total_memory {
                total_memory
            } else {
                s.memory.limit
            };
            let (read, write) = (s.blkio.read_bytes, s.blkio.write_bytes);
            rows.push(vec![
                short,
                r.name.clone(),
                format!("{cpu:.2}%"),
                format!(
                    "{} / {}",
                    bytes_size(usage as f64),
                    bytes_size(limit as f64)
                ),
                format!("{:.2}%", usage as f64 / limit.max(1) as f64 * 100.0),
                "0B / 0B".into(),
                format!("{} / {}", human_size(read as f64), human_size(write as f64)),
                s.pids.current.to_string(),
            ]);
        }
        if !args.no_stream {
            print!("\x1b[2J\x1b[H");
        }
        if let Some(template) = &args.format {
            let header = &rows[0];
            for row in &rows[1..] {
                let doc: serde_json::Map<String, serde_json::Value> = [
                    "ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDs",
                ]
                .iter()
                .zip(row)
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
                .collect();
                let _ = header;
                println!(
                    "{}",
                    render(
                        template.trim_start_matches("table "),
                        &serde_json::Value::Object(doc)
                    )
                );
            }
        } else {
            print_table(&rows);
        }
        if args.no_stream {
            return Ok(0);
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

fn host_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(u64::MAX, |kb| kb * 1024)
}

pub fn port(root: &Path, args: PortArgs) -> anyhow::Result<i32> {
    let engine = open(root)?;
    let id = engine.resolve_container(&args.container)?;
    // No port mappings until the networking work lands: docker prints nothing either.
    let _ = (id, args.private_port);
    Ok(0)
}

pub fn update(root: &Path, args: UpdateArgs) -> anyhow::Result<i32> {
    use oci_spec::runtime::{
        LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources,
    };
    let engine = open(root)?;
    // Each flag is parsed once; the values go both to the cgroup and to the record.
    let memory = args.memory.as_deref().map(parse_bytes).transpose()?;
    let memory_swap = args
        .memory_swap
        .as_deref()
        .map(|v| if v == "-1" { Ok(-1) } else { parse_bytes(v) })
        .transpose()?;
    let memory_reservation = args
        .memory_reservation
        .as_deref()
        .map(parse_bytes)
        .transpose()?;
    let mut resources = LinuxResources::default();
    if memory.is_some() || memory_swap.is_some() || memory_reservation.is_some() {
        let mut m = LinuxMemoryBuilder::default();
        if let Some(v) = memory {
            m = m.limit(v);
        }
        if let Some(v) = memory_swap {
            m = m.swap(v);
        }
        if let Some(v) = memory_reservation {
            m = m.reservation(v);
        }
        resources.set_memory(Some(m.build()?));
    }
    if args.cpus.is_some() || args.cpu_shares.is_some() || args.cpuset_cpus.is_some() {
        let mut c = LinuxCpuBuilder::default();
        if let Some(n) = args.cpus {
            c = c.period(100_000u64).quota((n * 100_000.0) as i64);
        }
        if let Some(s) = args.cpu_shares {
            c = c.shares(s);
        }
        if let Some(set) = &args.cpuset_cpus {
            c = c.cpus(set.clone());
        }
        resources.set_cpu(Some(c.build()?));
    }
    if let Some(limit) = args.pids_limit {
        resources.set_pids(Some(LinuxPidsBuilder::default().limit(limit).build()?));
    }
    if let Some(w) = args.blkio_weight {
        resources.set_block_io(Some(LinuxBlockIoBuilder::default().weight(w).build()?));
    }
    let restart = args
        .restart
        .as_deref()
        .map(skiff_engine::record::RestartPolicy::parse)
        .transpose()?;
    Ok(each(&engine, &args.containers, |id, name| {
        if let Some(policy) = &restart {
            engine.update_record(id, |r| r.config.restart = policy.clone())?;
        }
        if resources != LinuxResources::default() {
            engine.update_resources(id, &resources)?;
            // Keep what inspect shows in step with the cgroup.
            engine.update_record(id, |r| {
                let res = &mut r.config.spec.resources;
                if memory.is_some() {
                    res.memory = memory;
                }
                if memory_swap.is_some() {
                    res.memory_swap = memory_swap;
                }
                if memory_reservation.is_some() {
                    res.memory_reservation = memory_reservation;
                }
                if let Some(c) = args.cpus {
                    res.nano_cpus = Some((c * 1e9) as i64);
                }
                if let Some(s) = args.cpu_shares {
                    res.cpu_shares = Some(s);
                }
                if let Some(s) = &args.cpuset_cpus {
                    res.cpuset_cpus = Some(s.clone());
                }
                if let Some(p) = args.pids_limit {
                    res.pids_limit = Some(p);
                }
                if let Some(w) = args.blkio_weight {
                    res.blkio_weight = Some(w);
                }
            })?;
        }
        println!("{name}");
        Ok(())
    }))
}

pub fn import(root: &Path, args: ImportArgs) -> anyhow::Result<i32> {
    let engine = open(root)?;
    let id = if args.file == "-" {
        engine.import(&mut std::io::stdin().lock(), args.reference.as_deref())?
    } else {
        let mut file = std::fs::File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file))?;
        engine.import(&mut file, args.reference.as_deref())?
    };
    println!("{id}");
    Ok(0)
}
