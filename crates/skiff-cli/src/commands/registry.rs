//! `skiff pull`, `skiff push`, `skiff login`, `skiff logout`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::Context;
use clap::Args;
use skiff_engine::Engine;
use skiff_image::Reference;
use skiff_registry::credentials::Credentials;
use skiff_registry::progress::{Progress, Quiet};
use skiff_registry::{Platform, PullOptions, PushOptions, RegistryConfig, TextProgress};

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Suppress verbose output (print only the image name).
    #[arg(short, long)]
    quiet: bool,
    /// Pull the image for this platform (os/arch[/variant]) instead of the host's.
    #[arg(long)]
    platform: Option<String>,
    /// The image: NAME[:TAG|@DIGEST].
    image: String,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Suppress verbose output (print only the image name).
    #[arg(short, long)]
    quiet: bool,
    /// The image: NAME[:TAG].
    image: String,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Username.
    #[arg(short, long)]
    username: Option<String>,
    /// Password (prefer --password-stdin: a password on the command line is visible to others).
    #[arg(short, long)]
    password: Option<String>,
    /// Take the password from stdin.
    #[arg(long)]
    password_stdin: bool,
    /// The registry (default: Docker Hub).
    server: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The registry (default: Docker Hub).
    server: Option<String>,
}

fn open(root: &Path) -> anyhow::Result<Engine> {
    Engine::open(root).with_context(|| format!("cannot open the state root {}", root.display()))
}

fn parse_reference(image: &str) -> anyhow::Result<Reference> {
    Reference::parse(image).map_err(|e| anyhow::anyhow!("{e}"))
}

pub fn pull(root: &Path, args: PullArgs) -> anyhow::Result<i32> {
    let reference = parse_reference(&args.image)?;
    let platform = args.platform.as_deref().map(Platform::parse).transpose()?;
    let engine = open(root)?;
    let options = PullOptions {
        platform,
        ..Default::default()
    };
    let stdout = std::io::stdout();
    let terminal = stdout.is_terminal();
    let text = TextProgress::new(stdout, terminal);
    let tag_given = args
        .image
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains(':'));
    if !args.quiet && reference.digest().is_none() && !tag_given {
        text.line("Using default tag: latest");
    }
    let progress: &dyn Progress = if args.quiet { &Quiet } else { &text };
    let outcome = engine.pull(&reference, &options, progress)?;
    if !args.quiet {
        text.line(&format!("Digest: {}", outcome.digest));
        let status = if outcome.downloaded {
            "Downloaded newer image for"
        } else {
            "Image is up to date for"
        };
        text.line(&format!("Status: {status} {}", reference.familiar()));
    }
    text.line(&reference.to_string());
    Ok(0)
}

pub fn push(root: &Path, args: PushArgs) -> anyhow::Result<i32> {
    let reference = parse_reference(&args.image)?;
    let engine = open(root)?;
    let stdout = std::io::stdout();
    let terminal = stdout.is_terminal();
    let text = TextProgress::new(stdout, terminal);
    let progress: &dyn Progress = if args.quiet { &Quiet } else { &text };
    let outcome = engine.push(&reference, &PushOptions::default(), progress)?;
    if args.quiet {
        text.line(&reference.to_string());
    } else {
        text.line(&format!(
            "{}: digest: {} size: {}",
            outcome.tag, outcome.digest, outcome.size
        ));
    }
    Ok(0)
}

pub fn login(root: &Path, args: LoginArgs) -> anyhow::Result<i32> {
    let config = RegistryConfig::load(root)?;
    if args.password.is_some() && args.password_stdin {
        anyhow::bail!("--password and --password-stdin are mutually exclusive");
    }
    let stdin = std::io::stdin();
    let username = match args.username {
        Some(u) => u,
        None if args.password_stdin => {
            anyhow::bail!("must provide --username with --password-stdin")
        }
        None => {
            eprint!("Username: ");
            let _ = std::io::stderr().flush();
            read_line(&mut stdin.lock())?
        }
    };
    let password = if let Some(p) = args.password {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
        p
    } else if args.password_stdin || !stdin.is_terminal() {
        read_line(&mut stdin.lock())?
    } else {
        read_password_from_terminal()?
    };
    if username.is_empty() || password.is_empty() {
        anyhow::bail!("a username and a password are required to log in");
    }
    let registry = skiff_registry::login(
        &config,
        args.server.as_deref(),
        &Credentials { username, password },
    )?;
    tracing::debug!(%registry, file = %config.credentials_file().display(), "credentials stored");
    println!("Login Succeeded");
    Ok(0)
}

pub fn logout(root: &Path, args: LogoutArgs) -> anyhow::Result<i32> {
    let config = RegistryConfig::load(root)?;
    let (registry, removed) = skiff_registry::logout(&config, args.server.as_deref())?;
    if removed {
        println!("Removing login credentials for {registry}");
    } else {
        println!("Not logged in to {registry}");
    }
    Ok(0)
}

fn read_line(input: &mut impl BufRead) -> anyhow::Result<String> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .context("cannot read from stdin")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// Prompts for a password with echo turned off (restored even if reading fails).
fn read_password_from_terminal() -> anyhow::Result<String> {
    use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
    let stdin = std::io::stdin();
    eprint!("Password: ");
    let _ = std::io::stderr().flush();
    let saved = tcgetattr(&stdin).context("cannot read the terminal settings")?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    tcsetattr(&stdin, OptionalActions::Now, &quiet).context("cannot turn off the terminal echo")?;
    let line = read_line(&mut stdin.lock());
    let _ = tcsetattr(&stdin, OptionalActions::Now, &saved);
    eprintln!();
    line
}
