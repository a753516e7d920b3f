//! The docker-compatible verbs of `skiff` (`skiff run …`). Parsing and printing only: each
//! verb is a thin layer over one engine call.

mod build;
mod container;
mod format;
mod logs;
mod ps;
mod registry;
mod run;
mod signals;

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// skiff: run containers the way you run them with docker — daemonless, fast and light.
#[derive(Debug, Parser)]
#[command(name = "skiff", version, disable_help_subcommand = true)]
struct Cli {
    /// The state root holding images and containers.
    #[arg(long, global = true, env = "SKIFF_ROOT", default_value = skiff_engine::DEFAULT_ROOT)]
    root: PathBuf,
    /// Log level: error, warn, info, debug (debug shows each kernel-facing step).
    #[arg(long, global = true, default_value = "warn")]
    log_level: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build an image from a Dockerfile.
    Build(build::BuildArgs),
    /// Create and run a new container from an image.
    Run(run::RunArgs),
    /// Create a new container.
    Create(run::CreateOnlyArgs),
    /// Start one or more stopped containers.
    Start(container::StartArgs),
    /// Stop one or more running containers.
    Stop(container::StopArgs),
    /// Restart one or more containers.
    Restart(container::StopArgs),
    /// Kill one or more running containers.
    Kill(container::KillArgs),
    /// Remove one or more containers.
    Rm(container::RmArgs),
    /// List containers.
    Ps(ps::PsArgs),
    /// Fetch the logs of a container.
    Logs(logs::LogsArgs),
    /// Return low-level information on containers.
    Inspect(container::InspectArgs),
    /// Block until one or more containers stop, then print their exit codes.
    Wait(container::Targets),
    /// Execute a command in a running container.
    Exec(container::ExecArgs),
    /// Display the running processes of a container.
    Top(container::TopArgs),
    /// Rename a container.
    Rename(container::RenameArgs),
    /// Pause all processes within one or more containers.
    Pause(container::Targets),
    /// Unpause all processes within one or more containers.
    Unpause(container::Targets),
    /// Display a live stream of container(s) resource usage statistics.
    Stats(container::StatsArgs),
    /// List port mappings or a specific mapping for the container.
    Port(container::PortArgs),
    /// Update configuration of one or more containers.
    Update(container::UpdateArgs),
    /// Import the contents from a tarball to create a filesystem image.
    Import(container::ImportArgs),
    /// Download an image from a registry.
    Pull(registry::PullArgs),
    /// Upload an image to a registry.
    Push(registry::PushArgs),
    /// Log in to a registry.
    Login(registry::LoginArgs),
    /// Log out from a registry.
    Logout(registry::LogoutArgs),
}

/// Runs a docker-style command line; returns the process exit code.
pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    if args
        .get(1)
        .is_some_and(|a| a == skiff_engine::monitor::WAIT_VERB)
    {
        return monitor_wait(&args[2..]);
    }
    if args
        .get(1)
        .is_some_and(|a| a == skiff_engine::containers::MONITOR_VERB)
    {
        return monitor(&args[2..]);
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap uses 2 for usage errors; docker uses 125 for its own errors, 0 for --help.
            return if e.use_stderr() { 125 } else { 0 };
        }
    };
    init_logging(&cli.log_level);
    let root = &cli.root;
    let result = match cli.command {
        Command::Build(args) => build::build(root, args),
        Command::Run(args) => run::run(root, args),
        Command::Create(args) => run::create(root, args),
        Command::Start(args) => container::start(root, args),
        Command::Stop(args) => container::stop(root, args, false),
        Command::Restart(args) => container::stop(root, args, true),
        Command::Kill(args) => container::kill(root, args),
        Command::Rm(args) => container::rm(root, args),
        Command::Ps(args) => ps::ps(root, args),
        Command::Logs(args) => logs::logs(root, args),
        Command::Inspect(args) => container::inspect(root, args),
        Command::Wait(args) => container::wait(root, args),
        Command::Exec(args) => container::exec(root, args),
        Command::Top(args) => container::top(root, args),
        Command::Rename(args) => container::rename(root, args),
        Command::Pause(args) => container::pause(root, args, true),
        Command::Unpause(args) => container::pause(root, args, false),
        Command::Stats(args) => container::stats(root, args),
        Command::Port(args) => container::port(root, args),
        Command::Update(args) => container::update(root, args),
        Command::Import(args) => container::import(root, args),
        Command::Pull(args) => registry::pull(root, args),
        Command::Push(args) => registry::push(root, args),
        Command::Login(args) => registry::login(root, args),
        Command::Logout(args) => registry::logout(root, args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // The chain, without repeating a cause that a message already quotes.
            let mut text = e.to_string();
            for cause in e.chain().skip(1) {
                let cause = cause.to_string();
                if !text.contains(&cause) {
                    text.push_str(": ");
                    text.push_str(&cause);
                }
            }
            eprintln!("skiff: {text}");
            125
        }
    }
}

/// `skiff __monitor ROOT ID STATUS_FD attach|detached [exited CODE]`: the per-container
/// monitor (see skiff_engine::monitor). Not for users; `skiff run`/`start` start it.
fn monitor(args: &[std::ffi::OsString]) -> i32 {
    let arg = |i: usize| args.get(i).and_then(|a| a.to_str()).unwrap_or_default();
    let (root, id) = (std::path::Path::new(arg(0)), arg(1));
    let Some(status) = inherited_fd(arg(2)) else {
        eprintln!("skiff: __monitor is internal: skiff run and skiff start use it");
        return 125;
    };
    if std::env::var_os("SKIFF_MONITOR_LOG").is_some() {
        init_logging("debug");
    }
    let exited = (arg(4) == "exited").then(|| arg(5).parse().unwrap_or(255));
    skiff_engine::monitor::main(root, id, status, arg(3) == "attach", exited)
}

/// `skiff __monitor-wait ROOT ID STATUS_FD MODE PID OUT ERR IN MAX_SIZE MAX_FILE`: the
/// monitor's lean waiting phase, exec'd by the monitor itself.
fn monitor_wait(args: &[std::ffi::OsString]) -> i32 {
    let arg = |i: usize| args.get(i).and_then(|a| a.to_str()).unwrap_or_default();
    let (Some(status), Ok(pid)) = (inherited_fd(arg(2)), arg(4).parse()) else {
        eprintln!("skiff: __monitor-wait is internal: the monitor uses it");
        return 125;
    };
    skiff_engine::monitor::wait_main(skiff_engine::monitor::WaitArgs {
        root: PathBuf::from(arg(0)),
        id: arg(1).to_string(),
        status,
        attach: arg(3) == "attach",
        pid,
        out: inherited_fd(arg(5)),
        err: inherited_fd(arg(6)),
        stdin: inherited_fd(arg(7)),
        max_size: arg(8).parse().ok(),
        max_file: arg(9).parse().unwrap_or(1),
    })
}

/// Takes ownership of an fd our parent process (the monitor before its exec) passed by
/// number; "-1" means none. The status pipe, when the starter is gone, becomes /dev/null.
fn inherited_fd(number: &str) -> Option<OwnedFd> {
    let fd: i32 = number.parse().ok()?;
    if fd < 0 {
        return std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .ok()
            .map(OwnedFd::from);
    }
    if fd <= 2 || !std::path::Path::new(&format!("/proc/self/fd/{fd}")).exists() {
        return None;
    }
    Some(skiff_runtime::sys::own_inherited_fd(fd))
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level).unwrap_or_else(|_| "warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .init();
}
