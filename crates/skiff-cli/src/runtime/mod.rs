//! `skiff runtime`: runc's command line over `skiff_runtime::Runtime`. Flags, output formats,
//! error logging (`--log`, `--log-format`) and exit codes follow runc 1.1, because dockerd,
//! containerd-shim, podman and runc's own test suite parse them.

mod log;
mod output;

use std::ffi::OsString;
use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use skiff_runtime::{CreateOptions, Runtime};

use log::{LogFormat, Logger};

#[derive(Parser, Debug)]
#[command(
    about = "runc-compatible OCI runtime",
    disable_version_flag = true,
    arg_required_else_help = true
)]
struct Cli {
    /// Root directory for container state.
    #[arg(long, global = true, default_value = skiff_runtime::DEFAULT_ROOT)]
    root: PathBuf,
    /// Write errors and debug logs to this file instead of stderr.
    #[arg(long, global = true)]
    log: Option<PathBuf>,
    /// Log format: text or json.
    #[arg(long = "log-format", global = true, default_value = "text")]
    log_format: LogFormat,
    /// Log kernel-facing steps.
    #[arg(long, global = true)]
    debug: bool,
    /// Accepted for compatibility; skiff uses cgroupfs (the systemd path form is mapped).
    #[arg(long = "systemd-cgroup", global = true)]
    systemd_cgroup: bool,
    /// Accepted for compatibility (true, false or auto); given before the command.
    #[arg(long)]
    rootless: Option<String>,
    /// Accepted for compatibility; checkpointing is not supported.
    #[arg(long, hide = true)]
    criu: Option<String>,
    /// Print the version.
    #[arg(short = 'v', long = "version")]
    version: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a container (its program waits for `start`).
    Create(CreateArgs),
    /// Start a created container.
    Start { id: String },
    /// Print the state of a container.
    State { id: String },
    /// Send a signal (default SIGTERM) to a container's init.
    Kill {
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
        /// Send the signal to all processes in the container.
        #[arg(short, long)]
        all: bool,
    },
    /// Delete a container and its resources.
    Delete {
        id: String,
        /// Kill a running container first.
        #[arg(short, long)]
        force: bool,
    },
    /// Create and start a container, wait for it and delete it.
    Run(RunArgs),
    /// List containers.
    List {
        #[arg(short, long, default_value = "table")]
        format: String,
        /// Only print ids.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Run a new process in a running container.
    Exec(ExecArgs),
    /// Show the processes of a container.
    Ps {
        #[arg(short, long, default_value = "table")]
        format: String,
        id: String,
        /// Options for ps(1) (default -ef).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Freeze all processes of a container.
    Pause { id: String },
    /// Thaw a paused container.
    Resume { id: String },
    /// Change a running container's resource limits.
    Update(UpdateArgs),
    /// Print container statistics and events (OOM kills).
    Events {
        id: String,
        /// Print the statistics once and exit.
        #[arg(long)]
        stats: bool,
        /// Statistics interval.
        #[arg(long, default_value = "5s")]
        interval: String,
    },
    /// Print what this runtime supports (JSON).
    Features,
    /// Write a default config.json.
    Spec {
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
        #[arg(long)]
        rootless: bool,
    },
    /// Not supported (no CRIU).
    Checkpoint {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        rest: Vec<String>,
    },
    /// Not supported (no CRIU).
    Restore {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        rest: Vec<String>,
    },
}

#[derive(Args, Debug)]
struct CreateArgs {
    id: String,
    #[arg(short, long, default_value = ".")]
    bundle: PathBuf,
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    #[arg(long = "no-pivot")]
    no_pivot: bool,
    #[arg(long = "no-new-keyring")]
    no_new_keyring: bool,
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    create: CreateArgs,
    #[arg(short, long)]
    detach: bool,
    /// Keep the container's state after it exits.
    #[arg(long)]
    keep: bool,
    #[arg(long = "no-subreaper")]
    no_subreaper: bool,
}

#[derive(Args, Debug)]
struct ExecArgs {
    id: String,
    /// The command and its arguments (unless --process is given).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
    /// A JSON file with an OCI process object.
    #[arg(short, long)]
    process: Option<PathBuf>,
    #[arg(short, long)]
    env: Vec<String>,
    /// uid[:gid]
    #[arg(short, long)]
    user: Option<String>,
    #[arg(long)]
    cwd: Option<PathBuf>,
    #[arg(short, long)]
    tty: bool,
    #[arg(short, long)]
    detach: bool,
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    #[arg(short = 'g', long = "additional-gids")]
    additional_gids: Vec<u32>,
    #[arg(short, long)]
    cap: Vec<String>,
    #[arg(long = "no-new-privs")]
    no_new_privs: bool,
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    #[arg(long = "ignore-paused")]
    ignore_paused: bool,
    #[arg(long = "process-label")]
    process_label: Option<String>,
    #[arg(long)]
    apparmor: Option<String>,
    #[arg(long)]
    cgroup: Option<String>,
}

#[derive(Args, Debug)]
#[command(allow_negative_numbers = true)]
struct UpdateArgs {
    id: String,
    /// Resources as OCI JSON from a file ("-" for stdin).
    #[arg(short, long)]
    r#resources: Option<PathBuf>,
    #[arg(long = "blkio-weight")]
    blkio_weight: Option<u16>,
    #[arg(long = "cpu-period")]
    cpu_period: Option<u64>,
    #[arg(long = "cpu-quota")]
    cpu_quota: Option<i64>,
    #[arg(long = "cpu-share")]
    cpu_share: Option<u64>,
    #[arg(long = "cpu-rt-period")]
    cpu_rt_period: Option<u64>,
    #[arg(long = "cpu-rt-runtime")]
    cpu_rt_runtime: Option<i64>,
    #[arg(long = "cpuset-cpus")]
    cpuset_cpus: Option<String>,
    #[arg(long = "cpuset-mems")]
    cpuset_mems: Option<String>,
    #[arg(long = "kernel-memory")]
    kernel_memory: Option<String>,
    #[arg(long = "kernel-memory-tcp")]
    kernel_memory_tcp: Option<String>,
    #[arg(long)]
    memory: Option<String>,
    #[arg(long = "memory-reservation")]
    memory_reservation: Option<String>,
    #[arg(long = "memory-swap")]
    memory_swap: Option<String>,
    #[arg(long = "pids-limit")]
    pids_limit: Option<i64>,
    #[arg(long = "l3-cache-schema")]
    l3_cache_schema: Option<String>,
    #[arg(long = "mem-bw-schema")]
    mem_bw_schema: Option<String>,
}

/// Runs `skiff runtime` with `args` (without the program name); returns the exit code.
pub fn main(program: &str, args: Vec<OsString>) -> i32 {
    let mut argv = vec![OsString::from(program)];
    argv.extend(args);
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let logger = Logger::new(cli.log.clone(), cli.log_format, cli.debug);
    // runc exits 255 when exec fails (1 for everything else).
    let failure = if matches!(cli.command, Some(Command::Exec(_))) {
        255
    } else {
        1
    };
    match dispatch(cli, &logger) {
        Ok(code) => code,
        Err(e) => {
            logger.error(&describe(&e));
            failure
        }
    }
}

/// The runtime's errors already embed their causes in their message; other errors get
/// their context chain.
fn describe(e: &anyhow::Error) -> String {
    match e.downcast_ref::<skiff_runtime::Error>() {
        Some(runtime_error) => runtime_error.to_string(),
        None => format!("{e:#}"),
    }
}

fn dispatch(cli: Cli, logger: &Logger) -> anyhow::Result<i32> {
    if cli.version {
        println!(
            "skiff runtime version {}\nspec: 1.0.2-dev",
            env!("CARGO_PKG_VERSION")
        );
        return Ok(0);
    }
    let Some(command) = cli.command else {
        bail!("no command given; see --help");
    };
    // Verbs that put processes into a container first re-execute from a write-protected
    // view of the binary (CVE-2019-5736); doing it before anything else keeps the work
    // (and the debug log) from happening twice.
    if matches!(
        command,
        Command::Create(_) | Command::Run(_) | Command::Exec(_)
    ) {
        skiff_runtime::sealed_exe::ensure_sealed()?;
    }
    let runtime = Runtime::new(&cli.root);
    logger.debug(&format!("{command:?}"));
    match command {
        Command::Create(args) => {
            runtime.create(&create_options(args))?;
        }
        Command::Start { id } => runtime.start(&id)?,
        Command::State { id } => {
            let container = runtime.load(&id)?;
            output::print_state(&container)?;
        }
        Command::Kill { id, signal, all } => {
            let signal = skiff_runtime::parse_signal(&signal)?;
            runtime.kill(&id, signal, all)?;
        }
        Command::Delete { id, force } => runtime.delete(&id, force)?,
        Command::Run(args) => {
            let detach = args.detach;
            let keep = args.keep;
            let opts = create_options(args.create);
            return Ok(runtime.run(&opts, detach, keep)?);
        }
        Command::List { format, quiet } => {
            let containers = runtime.list()?;
            match (quiet, format.as_str()) {
                (true, _) => containers.iter().for_each(|c| println!("{}", c.state.id)),
                (false, "json") => output::print_list_json(&containers)?,
                (false, "table") => output::print_list_table(&containers),
                (false, other) => bail!("invalid format option {other:?}: use table or json"),
            }
        }
        Command::Exec(args) => return exec(&runtime, args),
        Command::Ps {
            format,
            id,
            ps_args,
        } => {
            let pids = runtime.pids(&id)?;
            match format.as_str() {
                "json" => println!("{}", serde_json::to_string(&pids)?),
                "table" => output::print_ps_table(&pids, &ps_args)?,
                other => bail!("invalid format option {other:?}: use table or json"),
            }
        }
        Command::Pause { id } => runtime.pause(&id)?,
        Command::Resume { id } => runtime.resume(&id)?,
        Command::Update(args) => update(&runtime, args)?,
        Command::Events {
            id,
            stats,
            interval,
        } => {
            if stats {
                let data = runtime.stats(&id)?;
                println!("{}", skiff_runtime::events::stats_event(&id, &data));
            } else {
                let every = parse_duration(&interval)?;
                runtime.stream_events(&id, every, &mut std::io::stdout())?;
            }
        }
        Command::Features => {
            println!(
                "{}",
                serde_json::to_string_pretty(&skiff_runtime::features::features())?
            );
        }
        Command::Spec { bundle, rootless } => {
            let path = bundle.join("config.json");
            if path.exists() {
                bail!("File {} exists. Remove it first", path.display());
            }
            let spec = skiff_runtime::spec::default_config(rootless);
            let json = serde_json::to_string_pretty(&spec)?;
            std::fs::write(&path, json)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Command::Checkpoint { .. } | Command::Restore { .. } => {
            bail!("checkpoint/restore is not supported by skiff (no CRIU integration)")
        }
    }
    Ok(0)
}

fn create_options(args: CreateArgs) -> CreateOptions {
    let _ = args.no_new_keyring; // skiff never creates a session keyring
    CreateOptions {
        id: args.id,
        bundle: args.bundle,
        pid_file: args.pid_file,
        console_socket: args.console_socket,
        no_pivot: args.no_pivot,
        preserve_fds: args.preserve_fds,
    }
}

fn exec(runtime: &Runtime, args: ExecArgs) -> anyhow::Result<i32> {
    let container = runtime.load(&args.id)?;
    let process = match &args.process {
        Some(path) => skiff_runtime::spec::parse_process(path)?,
        None => {
            if args.command.is_empty() {
                bail!("exec needs a command (or --process FILE)");
            }
            let (uid, gid) = match &args.user {
                Some(u) => {
                    let (uid, gid) = u.split_once(':').unwrap_or((u.as_str(), ""));
                    let uid: u32 = uid
                        .parse()
                        .with_context(|| format!("invalid --user {u:?}: use uid[:gid]"))?;
                    let gid: Option<u32> = if gid.is_empty() {
                        None
                    } else {
                        Some(
                            gid.parse()
                                .with_context(|| format!("invalid --user {u:?}: use uid[:gid]"))?,
                        )
                    };
                    (Some(uid), gid)
                }
                None => (None, None),
            };
            skiff_runtime::exec::process_from_flags(
                &container.state.config,
                &skiff_runtime::exec::ExecFlags {
                    args: args.command.clone(),
                    env: args.env.clone(),
                    cwd: args.cwd.clone(),
                    tty: args.tty,
                    uid,
                    gid,
                    additional_gids: args.additional_gids.clone(),
                    caps: args.cap.clone(),
                    no_new_privs: args.no_new_privs,
                },
            )
        }
    };
    let opts = skiff_runtime::exec::ExecOptions {
        id: args.id,
        process,
        detach: args.detach,
        pid_file: args.pid_file,
        console_socket: args.console_socket,
        preserve_fds: args.preserve_fds,
        ignore_paused: args.ignore_paused,
    };
    Ok(runtime.exec(&opts)?)
}

fn update(runtime: &Runtime, args: UpdateArgs) -> anyhow::Result<()> {
    use oci_spec_types::*;
    let mut resources: LinuxResources = match &args.r#resources {
        Some(path) => {
            let mut text = Vec::new();
            if path.as_os_str() == "-" {
                std::io::stdin().read_to_end(&mut text)?;
            } else {
                text = std::fs::read(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
            }
            skiff_runtime::spec::parse_json(&text, path)?
        }
        None => LinuxResources::default(),
    };
    let mut memory = resources.memory().unwrap_or_default();
    let mut cpu = resources.cpu().clone().unwrap_or_default();
    if let Some(v) = &args.memory {
        memory.set_limit(Some(parse_bytes(v)?));
    }
    if let Some(v) = &args.memory_reservation {
        memory.set_reservation(Some(parse_bytes(v)?));
    }
    if let Some(v) = &args.memory_swap {
        memory.set_swap(Some(parse_bytes(v)?));
    }
    if let Some(v) = &args.kernel_memory {
        memory.set_kernel(Some(parse_bytes(v)?));
    }
    if let Some(v) = &args.kernel_memory_tcp {
        memory.set_kernel_tcp(Some(parse_bytes(v)?));
    }
    if args.cpu_period.is_some() {
        cpu.set_period(args.cpu_period);
    }
    if args.cpu_quota.is_some() {
        cpu.set_quota(args.cpu_quota);
    }
    if args.cpu_share.is_some() {
        cpu.set_shares(args.cpu_share);
    }
    if args.cpu_rt_period.is_some() {
        cpu.set_realtime_period(args.cpu_rt_period);
    }
    if args.cpu_rt_runtime.is_some() {
        cpu.set_realtime_runtime(args.cpu_rt_runtime);
    }
    if args.cpuset_cpus.is_some() {
        cpu.set_cpus(args.cpuset_cpus.clone());
    }
    if args.cpuset_mems.is_some() {
        cpu.set_mems(args.cpuset_mems.clone());
    }
    if memory != LinuxMemory::default() {
        resources.set_memory(Some(memory));
    }
    if cpu != LinuxCpu::default() {
        resources.set_cpu(Some(cpu));
    }
    if let Some(limit) = args.pids_limit {
        let mut pids = LinuxPids::default();
        pids.set_limit(limit);
        resources.set_pids(Some(pids));
    }
    if let Some(weight) = args.blkio_weight {
        let mut blkio = resources.block_io().clone().unwrap_or_default();
        blkio.set_weight(Some(weight));
        resources.set_block_io(Some(blkio));
    }
    if args.l3_cache_schema.is_some() || args.mem_bw_schema.is_some() {
        bail!("Intel RDT (--l3-cache-schema, --mem-bw-schema) is not supported by skiff");
    }
    runtime.update(&args.id, &resources)?;
    Ok(())
}

mod oci_spec_types {
    pub use skiff_runtime::spec::oci::{LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};
}

/// Parses sizes the way runc's update does (docker's units.RAMInBytes): "10m", "1G", "-1".
fn parse_bytes(text: &str) -> anyhow::Result<i64> {
    let t = text.trim();
    if t == "-1" {
        return Ok(-1);
    }
    let lower = t.to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(digits_end);
    let value: f64 = num
        .parse()
        .with_context(|| format!("invalid size {text:?}: use e.g. 64m or 1g"))?;
    let mult: f64 = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0f64.powi(4),
        "p" => 1024.0f64.powi(5),
        _ => bail!("invalid size {text:?}: unknown unit {unit:?}"),
    };
    Ok((value * mult) as i64)
}

/// Parses Go durations as runc's --interval takes them: "5s", "100ms", "1m".
fn parse_duration(text: &str) -> anyhow::Result<std::time::Duration> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let value: f64 = num
        .parse()
        .with_context(|| format!("invalid duration {text:?}: use e.g. 5s"))?;
    let secs = match unit {
        "ns" => value / 1e9,
        "us" | "µs" => value / 1e6,
        "ms" => value / 1e3,
        "s" | "" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => bail!("invalid duration {text:?}: unknown unit {unit:?}"),
    };
    Ok(std::time::Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes_parse_like_docker_units() {
        assert_eq!(parse_bytes("10m").unwrap(), 10 << 20);
        assert_eq!(parse_bytes("1G").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("4096").unwrap(), 4096);
        assert_eq!(parse_bytes("-1").unwrap(), -1);
        assert!(parse_bytes("lots").is_err());
    }

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(
            parse_duration("5s").unwrap(),
            std::time::Duration::from_secs(5)
        );
        assert_eq!(
            parse_duration("100ms").unwrap(),
            std::time::Duration::from_millis(100)
        );
    }
}
