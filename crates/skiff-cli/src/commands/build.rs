//! `skiff build`: parses docker's flags and reads the context and Dockerfile; the builder is
//! skiff_build::builder.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use skiff_build::builder::{self, BuildContext, BuildOptions, NetworkMode};
use skiff_image::Reference;

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Name and optionally a tag (name:tag); may be given several times.
    #[arg(short, long = "tag")]
    tag: Vec<String>,
    /// Name of the Dockerfile (default: PATH/Dockerfile); `-` reads it from stdin.
    #[arg(short, long)]
    file: Option<String>,
    /// Set build-time variables (NAME=value, or NAME to take the value from the environment).
    #[arg(long = "build-arg")]
    build_arg: Vec<String>,
    /// Set the target build stage to build.
    #[arg(long)]
    target: Option<String>,
    /// Do not use cache when building the image.
    #[arg(long)]
    no_cache: bool,
    /// Always attempt to pull a newer version of the image (missing ones are pulled anyway).
    #[arg(long)]
    pull: bool,
    /// Set metadata for an image (KEY=value).
    #[arg(long)]
    label: Vec<String>,
    /// Suppress the build output and print image ID on success.
    #[arg(short, long)]
    quiet: bool,
    /// Networking mode for the RUN instructions: host (default) or none.
    #[arg(long, default_value = "host")]
    network: String,
    /// Write the image ID to the file.
    #[arg(long)]
    iidfile: Option<PathBuf>,
    /// The context: a directory, or `-` for a tar (or a lone Dockerfile) on stdin.
    path: String,
}

pub fn build(root: &Path, args: BuildArgs) -> anyhow::Result<i32> {
    let network = match args.network.as_str() {
        "host" | "default" => NetworkMode::Host,
        "none" => NetworkMode::None,
        other => {
            bail!("network mode {other:?} is not supported by skiff build yet; use host or none")
        }
    };
    let tags = args
        .tag
        .iter()
        .map(|t| {
            Reference::parse(t)
                .with_context(|| format!("invalid argument {t:?} for \"-t, --tag\" flag"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut build_args = BTreeMap::new();
    for arg in &args.build_arg {
        match arg.split_once('=') {
            Some((k, v)) => {
                build_args.insert(k.to_string(), v.to_string());
            }
            None => {
                if let Ok(v) = std::env::var(arg) {
                    build_args.insert(arg.clone(), v);
                }
            }
        }
    }
    let mut labels = BTreeMap::new();
    for label in &args.label {
        let (k, v) = label.split_once('=').unwrap_or((label.as_str(), ""));
        labels.insert(k.to_string(), v.to_string());
    }
    let scratch = root.join("build-cache").join("tmp");
    std::fs::create_dir_all(&scratch)
        .with_context(|| format!("cannot create {}", scratch.display()))?;

    let (context, dockerfile, dockerfile_name) = if args.path == "-" {
        let mut input = Vec::new();
        std::io::stdin()
            .read_to_end(&mut input)
            .context("reading the build context from stdin")?;
        if looks_like_archive(&input) {
            let context = BuildContext::from_tar(input.as_slice(), &scratch)?;
            let name = args.file.clone().unwrap_or_else(|| "Dockerfile".into());
            let path = context.dir.join(&name);
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!("Cannot locate specified Dockerfile: {name} (not in the context tar)")
            })?;
            (context, text, name)
        } else {
            let text = String::from_utf8(input).context("the Dockerfile on stdin is not UTF-8")?;
            (
                BuildContext::empty(&scratch)?,
                text,
                "Dockerfile".to_string(),
            )
        }
    } else {
        let dir = PathBuf::from(&args.path);
        let context = BuildContext::from_dir(&dir)?;
        match args.file.as_deref() {
            Some("-") => {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("reading the Dockerfile from stdin")?;
                (context, text, "Dockerfile".to_string())
            }
            file => {
                let path = match file {
                    Some(f) => PathBuf::from(f),
                    None => dir.join("Dockerfile"),
                };
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: no such file or directory", path.display()))?;
                let name = path
                    .canonicalize()
                    .ok()
                    .and_then(|p| {
                        p.strip_prefix(&context.dir)
                            .ok()
                            .map(|r| r.to_string_lossy().into_owned())
                    })
                    .unwrap_or_else(|| "Dockerfile".into());
                (context, text, name)
            }
        }
    };
    let opts = BuildOptions {
        dockerfile,
        dockerfile_name,
        context,
        tags,
        build_args,
        target: args.target,
        no_cache: args.no_cache,
        labels,
        quiet: args.quiet,
        pull: args.pull,
        network,
        epoch: std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|v| v.parse().ok()),
    };
    let mut stdout = std::io::stdout();
    if !args.quiet {
        writeln!(stdout, "Sending build context to skiff").ok();
    }
    match builder::build(root, &opts, &mut stdout) {
        Ok(id) => {
            if args.quiet {
                println!("{id}");
            }
            if let Some(path) = &args.iidfile {
                std::fs::write(path, id.to_string())
                    .with_context(|| format!("writing --iidfile {}", path.display()))?;
            }
            Ok(0)
        }
        Err(e) => {
            stdout.flush().ok();
            eprintln!("{e}");
            Ok(e.exit_code())
        }
    }
}

/// A tar (plain, gzip, zstd) rather than a Dockerfile.
fn looks_like_archive(data: &[u8]) -> bool {
    data.starts_with(&[0x1f, 0x8b])
        || data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || data.get(257..262) == Some(b"ustar".as_slice())
}
