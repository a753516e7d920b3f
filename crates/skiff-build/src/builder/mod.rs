//! `skiff build`: Docker's classic builder semantics, faster.
//!
//! - Stages: only the stages the target needs (through `FROM <stage>` and `COPY --from`) are
//!   built, in file order.
//! - Steps: metadata instructions change the config only (an `empty_layer` history entry,
//!   as Docker records them); COPY/ADD become a layer without a container ([`copy`]); RUN
//!   runs in a container and its overlay upper dir becomes the layer ([`run`]).
//! - Cache: every step is looked up by its parent and its expanded text ([`cache`]).
//! - Reproducible: every time in the config and every mtime in the layers is the fixed
//!   build epoch (`SOURCE_DATE_EPOCH`, else [`DEFAULT_EPOCH`]), entries are sorted and no
//!   host detail (hostname, container id, daemon version) goes into the config.

mod cache;
mod context;
mod copy;
mod error;
mod image;
mod run;
mod steps;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use context::BuildContext;
pub use error::BuildError;
pub use image::{commit_dir, rfc3339, ImageState, LayerRef};
pub use skiff_engine::spec::NetworkMode;

use skiff_image::{Digest, ImageStore, Reference};

use crate::dockerfile::{self, Dockerfile, InstructionKind};
use cache::BuildCache;

/// The creation time of built images when `SOURCE_DATE_EPOCH` is not set
/// (2026-01-01T00:00:00Z, the date skiff's built-in images carry too).
pub const DEFAULT_EPOCH: i64 = skiff_image::builtin::pack::EPOCH;

/// Build args Docker predefines: usable without an ARG, never recorded in the image.
pub const PROXY_ARGS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// What to build and how.
pub struct BuildOptions {
    /// The Dockerfile's text and its name (for messages).
    pub dockerfile: String,
    pub dockerfile_name: String,
    pub context: BuildContext,
    pub tags: Vec<Reference>,
    /// `--build-arg NAME=value`.
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub no_cache: bool,
    pub labels: BTreeMap<String, String>,
    /// `-q`: print only the image id.
    pub quiet: bool,
    /// `--pull`: pull FROM images even when the store has them (missing ones are always
    /// pulled, as docker does).
    pub pull: bool,
    pub network: NetworkMode,
    /// Fixed time for `created` and layer mtimes; `None` for [`DEFAULT_EPOCH`].
    pub epoch: Option<i64>,
}

/// Builds the image and returns its id. Progress goes to `out` in the classic builder's
/// format (nothing with `quiet`).
pub fn build(root: &Path, opts: &BuildOptions, out: &mut dyn Write) -> Result<Digest, BuildError> {
    let df = dockerfile::parse(&opts.dockerfile).map_err(|source| BuildError::Parse {
        path: opts.dockerfile_name.clone(),
        source,
    })?;
    let store = ImageStore::open(root)?;
    let cache = BuildCache::open(root)?;
    remove_abandoned_scratch(&cache.scratch_dir());
    let scratch = cache.scratch_dir().join(format!(
        "build-{}-{}",
        std::process::id(),
        &run::new_id()[..12]
    ));
    fs::create_dir_all(&scratch).map_err(BuildError::io("create", &scratch))?;
    let _scratch_guard = RemoveOnDrop(scratch.clone());
    // Made by the first RUN that needs it.
    let init_layer = scratch.join("init");
    let runtime_root = if root == Path::new(skiff_engine::DEFAULT_ROOT) {
        PathBuf::from(skiff_runtime::DEFAULT_ROOT)
    } else {
        root.join("run")
    };
    let epoch = opts.epoch.unwrap_or(DEFAULT_EPOCH);
    let mut sink = std::io::sink();
    let out: &mut dyn Write = if opts.quiet { &mut sink } else { out };

    let target = match &opts.target {
        Some(name) => df
            .stage_index(name)
            .ok_or_else(|| BuildError::NoTarget(name.clone()))?,
        None => df.stages.len() - 1,
    };
    let needed = needed_stages(&df, target);
    // Like the classic builder, the global ARGs count as steps.
    let total: usize = df.meta_args.len()
        + needed
            .iter()
            .map(|&i| df.stages[i].instructions.len() + 1)
            .sum::<usize>();

    let mut builder = steps::Builder {
        df: &df,
        opts,
        store: &store,
        cache: &cache,
        scratch: &scratch,
        init_layer: &init_layer,
        runtime_root: &runtime_root,
        epoch,
        created: image::rfc3339(epoch),
        step: 0,
        total,
        results: vec![None; df.stages.len()],
        consumed: BTreeSet::new(),
        out,
    };
    let meta = builder.meta_args()?;
    for &index in &needed {
        let state = builder.build_stage(index, &meta)?;
        builder.results[index] = Some(state);
    }
    let mut state = builder.results[target]
        .take()
        .expect("the target stage was built");
    if !opts.labels.is_empty() {
        let labels = state
            .run_config()
            .entry("Labels")
            .or_insert_with(|| serde_json::json!({}));
        if !labels.is_object() {
            *labels = serde_json::json!({});
        }
        for (k, v) in &opts.labels {
            labels[k] = serde_json::json!(v);
        }
    }
    let unused: Vec<&String> = opts
        .build_args
        .keys()
        .filter(|k| !builder.consumed.contains(*k) && !PROXY_ARGS.contains(&k.as_str()))
        .collect();
    if !unused.is_empty() {
        let names: Vec<&str> = unused.iter().map(|s| s.as_str()).collect();
        writeln!(
            builder.out,
            "[Warning] One or more build-args [{}] were not consumed",
            names.join(" ")
        )
        .ok();
    }
    let id = state.save(&store, &opts.tags)?;
    writeln!(builder.out, "Successfully built {}", &id.hex()[..12]).ok();
    for tag in &opts.tags {
        writeln!(builder.out, "Successfully tagged {}", tag.familiar()).ok();
    }
    Ok(id)
}

/// The stages `target` depends on (itself included), in file order.
fn needed_stages(df: &Dockerfile, target: usize) -> Vec<usize> {
    let mut needed = BTreeSet::new();
    let mut todo = vec![target];
    while let Some(i) = todo.pop() {
        if !needed.insert(i) {
            continue;
        }
        let stage = &df.stages[i];
        let mut refs = vec![stage.from.image.clone()];
        for ins in &stage.instructions {
            if let InstructionKind::Copy(copy) = &ins.kind {
                refs.extend(copy.from.clone());
            }
        }
        for name in refs {
            if let Some(dep) = df.stage_index(&name).filter(|&d| d < i) {
                todo.push(dep);
            }
        }
    }
    needed.into_iter().collect()
}

/// Removes what builds that were killed left behind (their overlay mounts and scratch
/// directories): a scratch directory is `build-<pid>-<random>`, abandoned once that process
/// is gone.
fn remove_abandoned_scratch(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("build-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let path = entry.path();
        let prefix = path.to_string_lossy().into_owned();
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        for point in mounts.lines().filter_map(|l| l.split(' ').nth(4)) {
            if point.starts_with(&prefix) {
                let _ = skiff_image::overlay::unmount_overlay(Path::new(point), true);
            }
        }
        tracing::info!(path = %path.display(), "removing an abandoned build's scratch directory");
        let _ = fs::remove_dir_all(&path);
    }
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
