//! One stage at a time, one instruction at a time: the variable scope, Docker's rules for
//! each instruction's effect on the config, the cache lookup, and the step output.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use skiff_image::{ImageStore, Reference};

use super::cache::BuildCache;
use super::context::SourceRoot;
use super::copy::{parse_chmod, CopyItem, CopyPlan, CopyRequest, LayerView};
use super::error::BuildError;
use super::image::{commit_dir, ImageState};
use super::run::{self, RunCommand};
use super::{BuildOptions, PROXY_ARGS};
use crate::dockerfile::{
    self, parse_ports, Add, CommandLine, Copy, Dockerfile, Healthcheck, Instruction,
    InstructionKind, Source,
};

pub(super) struct Builder<'a> {
    pub df: &'a Dockerfile,
    pub opts: &'a BuildOptions,
    pub store: &'a ImageStore,
    pub cache: &'a BuildCache,
    pub scratch: &'a Path,
    pub init_layer: &'a Path,
    pub runtime_root: &'a Path,
    pub epoch: i64,
    pub created: String,
    pub step: usize,
    pub total: usize,
    pub results: Vec<Option<ImageState>>,
    /// Build args some ARG declared.
    pub consumed: BTreeSet<String>,
    pub out: &'a mut dyn Write,
}

/// The state of the stage being built.
struct Stage {
    image: ImageState,
    /// Declared ARGs with their values, in declaration order.
    args: Vec<(String, Option<String>)>,
    /// CMD was set in this stage (ENTRYPOINT then keeps it).
    cmd_set: bool,
    escape: char,
}

impl Stage {
    /// The expansion scope: ENV first (it wins), then declared ARGs with values.
    fn vars(&self) -> Vec<(String, String)> {
        let mut vars = self.image.env();
        for (k, v) in &self.args {
            if let Some(v) = v {
                vars.push((k.clone(), v.clone()));
            }
        }
        vars
    }

    fn shell(&self) -> Vec<String> {
        self.image
            .strings("Shell")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()])
    }

    /// A shell-form command with the SHELL in front; exec form as is.
    fn command(&self, command: &CommandLine) -> Vec<String> {
        match command {
            CommandLine::Exec(args) => args.clone(),
            CommandLine::Shell(text) if text.is_empty() => self.shell(),
            CommandLine::Shell(text) => {
                let mut args = self.shell();
                args.push(text.clone());
                args
            }
        }
    }
}

/// Go's `%q` of a string list, as Docker writes commands into `created_by`.
fn quoted_list(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| serde_json::to_string(s).expect("string"))
        .collect();
    format!("[{}]", quoted.join(" "))
}

fn nop(text: &str) -> String {
    format!("/bin/sh -c #(nop)  {text}")
}

impl Builder<'_> {
    /// The global ARGs (before the first FROM), with `--build-arg` overrides.
    pub fn meta_args(&mut self) -> Result<Vec<(String, String)>, BuildError> {
        let mut meta: Vec<(String, String)> = Vec::new();
        for ins in &self.df.meta_args {
            self.print_step(&ins.source);
            let InstructionKind::Arg(decls) = &ins.kind else {
                continue;
            };
            for decl in decls {
                let value = match self.opts.build_args.get(&decl.name) {
                    Some(v) => Some(v.clone()),
                    None => match &decl.default {
                        Some(d) => Some(self.expand(ins.start_line, d, &meta)?),
                        None => None,
                    },
                };
                self.consumed.insert(decl.name.clone());
                meta.retain(|(k, _)| k != &decl.name);
                if let Some(v) = value {
                    meta.push((decl.name.clone(), v));
                }
            }
        }
        Ok(meta)
    }

    fn expand(
        &self,
        line: usize,
        word: &str,
        vars: &[(String, String)],
    ) -> Result<String, BuildError> {
        dockerfile::expand(word, vars, self.df.directives.escape)
            .map_err(|source| BuildError::Expand { line, source })
    }

    fn print_step(&mut self, text: &str) {
        self.step += 1;
        writeln!(self.out, "Step {}/{} : {}", self.step, self.total, text).ok();
    }

    pub fn build_stage(
        &mut self,
        index: usize,
        meta: &[(String, String)],
    ) -> Result<ImageState, BuildError> {
        let df = self.df;
        let stage_def = &df.stages[index];
        self.print_step(&stage_def.source);
        let line = stage_def.start_line;
        let name = self.expand(line, &stage_def.from.image, meta)?;
        let image = self.base_image(&name, index)?;
        let triggers = image.strings("OnBuild").unwrap_or_default();
        let mut stage = Stage {
            image,
            args: Vec::new(),
            cmd_set: false,
            escape: df.directives.escape,
        };
        if !triggers.is_empty() {
            stage.image.set("OnBuild", Value::Null);
        }
        writeln!(self.out, " ---> {}", &stage.image.id().hex()[..12]).ok();
        // Global ARGs are visible to a stage's ARG without a default only.
        let meta: BTreeMap<String, String> = meta.iter().cloned().collect();
        if !triggers.is_empty() {
            writeln!(
                self.out,
                "# Executing {} build trigger{}",
                triggers.len(),
                if triggers.len() == 1 { "" } else { "s" }
            )
            .ok();
            let parsed =
                dockerfile::parse_triggers(&triggers).map_err(|source| BuildError::Parse {
                    path: format!("ONBUILD triggers of {name}"),
                    source,
                })?;
            for trigger in &parsed {
                let trigger = Instruction {
                    start_line: line,
                    end_line: line,
                    ..trigger.clone()
                };
                self.instruction(&mut stage, &trigger, &meta)?;
            }
        }
        for ins in &stage_def.instructions {
            self.print_step(&ins.source);
            self.instruction(&mut stage, ins, &meta)?;
            writeln!(self.out, " ---> {}", &stage.image.id().hex()[..12]).ok();
        }
        Ok(stage.image)
    }

    fn base_image(&mut self, name: &str, index: usize) -> Result<ImageState, BuildError> {
        if name.eq_ignore_ascii_case("scratch") {
            return Ok(ImageState::scratch());
        }
        if let Some(dep) = self.df.stage_index(name).filter(|&d| d < index) {
            if let Some(state) = &self.results[dep] {
                return Ok(state.clone());
            }
        }
        self.store_image(name, self.opts.pull)
    }

    /// An image from the store; pulled when missing, or always with `pull`.
    fn store_image(&self, name: &str, pull: bool) -> Result<ImageState, BuildError> {
        let reference = Reference::parse(name).map_err(|e| BuildError::BadReference {
            reference: name.to_string(),
            reason: e.to_string(),
        })?;
        let digest = match self.store.resolve(&reference)? {
            Some(digest) if !pull => digest,
            _ => self.pull(&reference)?,
        };
        let info = self.store.image(&digest)?;
        ImageState::from_store(self.store, &info)
    }

    /// Pulls an image through the engine (the registry's progress on stderr, unless `-q`).
    /// The registry client's threads are joined when it returns, so the process is
    /// single-threaded again for the RUN steps.
    fn pull(&self, reference: &Reference) -> Result<skiff_image::Digest, BuildError> {
        use skiff_registry::progress::{Progress, Quiet};
        let err = |message: String| BuildError::Pull {
            reference: reference.familiar(),
            message,
        };
        let engine =
            skiff_engine::Engine::open(self.store.root()).map_err(|e| err(e.to_string()))?;
        let text = skiff_registry::TextProgress::new(std::io::stderr(), false);
        let progress: &dyn Progress = if self.opts.quiet { &Quiet } else { &text };
        let outcome = engine
            .pull(reference, &skiff_registry::PullOptions::default(), progress)
            .map_err(|e| err(e.to_string()))?;
        Ok(outcome.manifest)
    }

    /// Applies one instruction to the stage.
    fn instruction(
        &mut self,
        stage: &mut Stage,
        ins: &Instruction,
        meta: &BTreeMap<String, String>,
    ) -> Result<(), BuildError> {
        let line = ins.start_line;
        let vars = stage.vars();
        let ex = |w: &str| {
            dockerfile::expand(w, &vars, stage.escape)
                .map_err(|source| BuildError::Expand { line, source })
        };
        let mut next = stage.image.clone();
        let created_by = match &ins.kind {
            InstructionKind::Env(pairs) => {
                let mut text = Vec::new();
                for pair in pairs {
                    let (k, v) = (ex(&pair.key)?, ex(&pair.value)?);
                    text.push(format!("{k}={v}"));
                    next.set_env(&k, &v);
                }
                nop(&format!("ENV {}", text.join(" ")))
            }
            InstructionKind::Arg(decls) => {
                let mut text = Vec::new();
                for decl in decls {
                    let value = match self.opts.build_args.get(&decl.name) {
                        Some(v) => Some(v.clone()),
                        None => match &decl.default {
                            Some(d) => Some(ex(d)?),
                            None => meta.get(&decl.name).cloned(),
                        },
                    };
                    self.consumed.insert(decl.name.clone());
                    text.push(match &decl.default {
                        Some(d) => format!("{}={d}", decl.name),
                        None => decl.name.clone(),
                    });
                    stage.args.retain(|(k, _)| k != &decl.name);
                    stage.args.push((decl.name.clone(), value));
                }
                nop(&format!("ARG {}", text.join(" ")))
            }
            InstructionKind::Label(pairs) => {
                let mut text = Vec::new();
                let labels = next
                    .run_config()
                    .entry("Labels")
                    .or_insert_with(|| json!({}));
                if !labels.is_object() {
                    *labels = json!({});
                }
                for pair in pairs {
                    let (k, v) = (ex(&pair.key)?, ex(&pair.value)?);
                    text.push(format!("{k}={v}"));
                    labels[&k] = json!(v);
                }
                nop(&format!("LABEL {}", text.join(" ")))
            }
            InstructionKind::Expose(words) => {
                let mut expanded = Vec::new();
                for w in words {
                    expanded.extend(
                        dockerfile::expand_words(w, &vars, stage.escape)
                            .map_err(|source| BuildError::Expand { line, source })?,
                    );
                }
                let ports =
                    parse_ports(&expanded).map_err(|source| BuildError::Value { line, source })?;
                let exposed = next
                    .run_config()
                    .entry("ExposedPorts")
                    .or_insert_with(|| json!({}));
                if !exposed.is_object() {
                    *exposed = json!({});
                }
                for port in ports {
                    exposed[port.to_string()] = json!({});
                }
                nop(&format!("EXPOSE {}", expanded.join(" ")))
            }
            InstructionKind::Workdir(raw) => {
                let dir = ex(raw)?;
                let current = next
                    .get("WorkingDir")
                    .and_then(Value::as_str)
                    .unwrap_or("/")
                    .to_string();
                let joined = if dir.starts_with('/') {
                    dir
                } else {
                    format!("{}/{dir}", current.trim_end_matches('/'))
                };
                let clean = format!(
                    "/{}",
                    super::context::clean_source(&joined).unwrap_or_default()
                );
                next.set("WorkingDir", json!(clean));
                let created_by = format!("/bin/sh -c #(nop) WORKDIR {clean}");
                return self.layer_step(stage, next, &created_by, |b, parent| {
                    b.workdir_layer(parent, &clean)
                });
            }
            InstructionKind::User(raw) => {
                let user = ex(raw)?;
                next.set("User", json!(user));
                nop(&format!("USER {user}"))
            }
            InstructionKind::Volume(raw) => {
                let mut paths = Vec::new();
                for v in raw {
                    paths.push(ex(v)?);
                }
                let volumes = next
                    .run_config()
                    .entry("Volumes")
                    .or_insert_with(|| json!({}));
                if !volumes.is_object() {
                    *volumes = json!({});
                }
                for p in &paths {
                    volumes[p] = json!({});
                }
                nop(&format!("VOLUME [{}]", paths.join(" ")))
            }
            InstructionKind::StopSignal(raw) => {
                let signal = ex(raw)?;
                next.set("StopSignal", json!(signal));
                nop(&format!("STOPSIGNAL {signal}"))
            }
            InstructionKind::Cmd(command) => {
                let cmd = stage.command(command);
                next.set("Cmd", json!(cmd));
                stage.cmd_set = true;
                nop(&format!("CMD {}", quoted_list(&cmd)))
            }
            InstructionKind::Entrypoint(command) => {
                let entrypoint = match command {
                    CommandLine::Exec(args) if args.is_empty() => None,
                    CommandLine::Shell(text) if text.is_empty() => None,
                    other => Some(stage.command(other)),
                };
                next.set(
                    "Entrypoint",
                    entrypoint.as_ref().map_or(Value::Null, |e| json!(e)),
                );
                if !stage.cmd_set {
                    next.set("Cmd", Value::Null);
                }
                nop(&format!(
                    "ENTRYPOINT {}",
                    quoted_list(&entrypoint.unwrap_or_default())
                ))
            }
            InstructionKind::Shell(shell) => {
                next.set("Shell", json!(shell));
                nop(&format!("SHELL {}", quoted_list(shell)))
            }
            InstructionKind::Healthcheck(hc) => {
                let value = healthcheck(hc, next.get("Healthcheck"));
                let text = format!(
                    "HEALTHCHECK {}",
                    serde_json::to_string(&value).expect("json")
                );
                next.set("Healthcheck", value);
                nop(&text)
            }
            InstructionKind::Onbuild(onbuild) => {
                let mut triggers = next.strings("OnBuild").unwrap_or_default();
                triggers.push(onbuild.expression.clone());
                next.set("OnBuild", json!(triggers));
                nop(&format!("ONBUILD {}", onbuild.expression))
            }
            InstructionKind::Maintainer(raw) => {
                let author = ex(raw)?;
                next.config["author"] = json!(author);
                nop(&format!("MAINTAINER {author}"))
            }
            InstructionKind::Run(run) => return self.run_step(stage, run, line),
            InstructionKind::Copy(copy) => return self.copy_step(stage, copy, None, &vars, line),
            InstructionKind::Add(add) => {
                return self.copy_step(stage, &add_as_copy(add), Some(add), &vars, line)
            }
            InstructionKind::From(_) => {
                return Err(BuildError::Instruction {
                    line,
                    message: "FROM inside a stage".into(),
                })
            }
        };
        // Metadata only: no layer, but a history entry, as the classic builder records.
        let key = BuildCache::key(&stage.image, &created_by);
        if let Some(hit) = self.lookup(&key) {
            stage.image = hit;
            return Ok(());
        }
        next.add_history(&self.created, &created_by, true);
        self.cache.put(&key, &next);
        stage.image = next;
        Ok(())
    }

    /// A cache hit, unless `--no-cache`; prints Docker's marker.
    fn lookup(&mut self, key: &skiff_image::Digest) -> Option<ImageState> {
        if self.opts.no_cache {
            return None;
        }
        let hit = self.cache.get(key, self.store)?;
        writeln!(self.out, " ---> Using cache").ok();
        Some(hit)
    }

    /// A step that may add a layer: cache lookup, else `make` (which returns the layer, or
    /// `None` when nothing changed) and a history entry.
    fn layer_step(
        &mut self,
        stage: &mut Stage,
        mut next: ImageState,
        created_by: &str,
        make: impl FnOnce(&mut Self, &ImageState) -> Result<Option<super::image::LayerRef>, BuildError>,
    ) -> Result<(), BuildError> {
        let key = BuildCache::key(&stage.image, created_by);
        if let Some(hit) = self.lookup(&key) {
            stage.image = hit;
            return Ok(());
        }
        let layer = make(self, &stage.image)?;
        let empty = layer.is_none();
        if let Some(layer) = layer {
            next.push_layer(layer);
        }
        next.add_history(&self.created, created_by, empty);
        self.cache.put(&key, &next);
        stage.image = next;
        Ok(())
    }

    /// WORKDIR creates the directory when the image lacks it (a layer with it, as the
    /// classic builder commits); otherwise no layer.
    fn workdir_layer(
        &mut self,
        parent: &ImageState,
        dir: &str,
    ) -> Result<Option<super::image::LayerRef>, BuildError> {
        let view = LayerView {
            lowers: parent.lowers(self.store)?,
        };
        let rel = dir.trim_start_matches('/');
        if rel.is_empty() || view.lookup(rel).is_some() {
            return Ok(None);
        }
        let layer_dir = self.scratch.join(format!("workdir-{}", run::new_id()));
        let mut path = layer_dir.clone();
        let mut at = String::new();
        for part in rel.split('/') {
            at = if at.is_empty() {
                part.to_string()
            } else {
                format!("{at}/{part}")
            };
            path.push(part);
            fs::create_dir_all(&path).map_err(BuildError::io("create", &path))?;
            // Directories the image has keep their owner and mode in the layer.
            if let Some(meta) = view.lookup(&at) {
                use std::os::unix::fs::{MetadataExt, PermissionsExt};
                let _ =
                    fs::set_permissions(&path, fs::Permissions::from_mode(meta.mode() & 0o7777));
                let _ = std::os::unix::fs::lchown(&path, Some(meta.uid()), Some(meta.gid()));
            } else {
                use std::os::unix::fs::PermissionsExt;
                let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o755));
            }
        }
        let layer = commit_dir(self.store, &layer_dir, self.epoch);
        let _ = fs::remove_dir_all(&layer_dir);
        layer.map(Some)
    }

    fn run_step(
        &mut self,
        stage: &mut Stage,
        run: &crate::dockerfile::Run,
        line: usize,
    ) -> Result<(), BuildError> {
        if !run.mounts.is_empty() || run.security.is_some() {
            return Err(BuildError::Instruction {
                line,
                message: "RUN --mount and --security are not supported by skiff build yet".into(),
            });
        }
        let command = match (&run.command, run.heredocs.as_slice()) {
            (CommandLine::Shell(text), docs) if !docs.is_empty() => {
                let trimmed = text.trim();
                let script = if docs.len() == 1
                    && trimmed.starts_with("<<")
                    && !trimmed.contains(char::is_whitespace)
                {
                    // `RUN <<EOF` alone: the body is the script.
                    docs[0].body().into_owned()
                } else {
                    let mut script = text.clone();
                    for doc in docs {
                        script.push('\n');
                        script.push_str(&doc.content);
                        script.push_str(&doc.name);
                    }
                    script
                };
                stage.command(&CommandLine::Shell(script))
            }
            (command, _) => stage.command(command),
        };
        // Declared ARGs with values go into the environment and, like Docker, in front of
        // the command in the history ("|2 A=1 B=2 /bin/sh -c …"); proxy args only into the
        // environment.
        let mut build_env = Vec::new();
        let mut recorded: Vec<String> = Vec::new();
        for (k, v) in &stage.args {
            if let Some(v) = v {
                build_env.push(format!("{k}={v}"));
                if !PROXY_ARGS.contains(&k.as_str()) {
                    recorded.push(format!("{k}={v}"));
                }
            }
        }
        for proxy in PROXY_ARGS {
            if let Some(v) = self.opts.build_args.get(*proxy) {
                if !stage.args.iter().any(|(k, _)| k == proxy) {
                    build_env.push(format!("{proxy}={v}"));
                }
            }
        }
        recorded.sort();
        let mut created_by = command.join(" ");
        if !recorded.is_empty() {
            created_by = format!("|{} {} {created_by}", recorded.len(), recorded.join(" "));
        }
        let network = match run.network {
            Some(crate::dockerfile::NetworkMode::None) => super::NetworkMode::None,
            Some(crate::dockerfile::NetworkMode::Host) => super::NetworkMode::Host,
            _ => self.opts.network.clone(),
        };
        let mut key_text = created_by.clone();
        for kv in &build_env {
            if !recorded.contains(kv) {
                key_text.push_str(&format!("\n{kv}"));
            }
        }
        let cmd = RunCommand {
            args: command,
            build_env,
            network,
            quiet: self.opts.quiet,
        };
        let key = BuildCache::key(&stage.image, &key_text);
        if let Some(hit) = self.lookup(&key) {
            stage.image = hit;
            return Ok(());
        }
        let layer = run::run(
            self.store,
            self.runtime_root,
            self.scratch,
            self.init_layer,
            &stage.image,
            &cmd,
            self.epoch,
            self.out,
        )?;
        let mut next = stage.image.clone();
        next.push_layer(layer);
        next.add_history(&self.created, &created_by, false);
        self.cache.put(&key, &next);
        stage.image = next;
        Ok(())
    }

    fn copy_step(
        &mut self,
        stage: &mut Stage,
        copy: &Copy,
        add: Option<&Add>,
        vars: &[(String, String)],
        line: usize,
    ) -> Result<(), BuildError> {
        let ex = |w: &str| {
            dockerfile::expand(w, vars, stage.escape)
                .map_err(|source| BuildError::Expand { line, source })
        };
        let keyword = if add.is_some() { "ADD" } else { "COPY" };
        let unsupported = |flag: &str| BuildError::Instruction {
            line,
            message: format!("{keyword} {flag} is not supported by skiff build yet"),
        };
        if copy.parents {
            return Err(unsupported("--parents"));
        }
        if !copy.exclude.is_empty() {
            return Err(unsupported("--exclude"));
        }
        if add.is_some_and(|a| a.checksum.is_some()) {
            return Err(unsupported("--checksum"));
        }
        let dest_raw = ex(&copy.dest)?;
        let workdir = stage
            .image
            .get("WorkingDir")
            .and_then(Value::as_str)
            .unwrap_or("/")
            .to_string();
        let dest = if dest_raw.starts_with('/') {
            dest_raw.clone()
        } else {
            let joined = format!("{}/{dest_raw}", workdir.trim_end_matches('/'));
            if dest_raw.ends_with('/') || dest_raw == "." {
                format!("{}/", joined.trim_end_matches('/'))
            } else {
                joined
            }
        };
        let lowers = stage.image.lowers(self.store)?;
        let view = LayerView {
            lowers: lowers.clone(),
        };

        // Where the sources come from: the context, another stage, or an image.
        let mut from_mount: Option<FromRoot> = None;
        if let Some(from) = &copy.from {
            let from = ex(from)?;
            let state = match self
                .df
                .stage_index(&from)
                .and_then(|i| self.results.get(i).cloned().flatten())
            {
                Some(state) => state,
                None => self.store_image(&from, false)?,
            };
            from_mount = Some(FromRoot::mount(self.store, &state, self.scratch)?);
        }
        let from_dir = from_mount.as_ref().map(|m| m.merged.clone());
        let other_root = from_dir
            .as_ref()
            .map(|dir| SourceRoot { dir, ignore: None });
        let context_root = self.opts.context.source_root();
        let root = other_root.as_ref().unwrap_or(&context_root);

        let mut items = Vec::new();
        let mut kinds = Vec::new();
        for source in &copy.sources {
            match source {
                Source::Heredoc(doc) => {
                    let body = doc.body();
                    let data = if doc.expand {
                        ex(&body)?
                    } else {
                        body.into_owned()
                    };
                    kinds.push("file");
                    items.push(CopyItem::Bytes {
                        name: doc.name.clone(),
                        data: data.into_bytes(),
                        mode: 0o644,
                    });
                }
                Source::Path(raw) => {
                    let raw = ex(raw)?;
                    if add.is_some() && (raw.starts_with("http://") || raw.starts_with("https://"))
                    {
                        let (name, data) = download(&raw)?;
                        kinds.push("file");
                        items.push(CopyItem::Bytes {
                            name,
                            data,
                            mode: 0o600,
                        });
                        continue;
                    }
                    for rel in root.expand(&raw)? {
                        kinds.push(if root.dir.join(&rel).is_dir() {
                            "dir"
                        } else {
                            "file"
                        });
                        items.push(CopyItem::Path { root, rel });
                    }
                }
            }
        }
        let owner = match &copy.chown {
            Some(chown) => Some(self.resolve_chown(&ex(chown)?, &stage.image)?),
            None => None,
        };
        let chmod = match &copy.chmod {
            Some(text) => Some(
                parse_chmod(&ex(text)?).ok_or_else(|| BuildError::Instruction {
                    line,
                    message: format!("invalid --chmod {text:?}: use an octal mode such as 0755"),
                })?,
            ),
            None => None,
        };
        let req = CopyRequest {
            items,
            dest: dest.clone(),
            owner,
            chmod,
            extract_archives: add.is_some(),
            epoch: self.epoch,
        };
        let plan = CopyPlan::new(&req, &view)?;
        let hash = plan.digest();
        let hash = hash?;
        let kind = match kinds.as_slice() {
            [one] => *one,
            _ => "multi",
        };
        let mut flags = String::new();
        if let Some(c) = &copy.chown {
            flags.push_str(&format!("--chown={c} "));
        }
        if let Some(c) = &copy.chmod {
            flags.push_str(&format!("--chmod={c} "));
        }
        if let Some(f) = &copy.from {
            flags.push_str(&format!("--from={f} "));
        }
        let created_by = format!(
            "/bin/sh -c #(nop) {keyword} {flags}{kind}:{} in {dest} ",
            hash.hex()
        );
        let result = self.layer_step(stage, stage.image.clone(), &created_by, |b, parent| {
            b.apply_copy(parent, &lowers, &plan).map(Some)
        });
        // The sources of COPY --from stay mounted until the layer is written.
        drop(from_mount);
        result
    }

    /// Applies a COPY onto the parent's overlay and commits the upper dir.
    fn apply_copy(
        &mut self,
        _parent: &ImageState,
        lowers: &[std::path::PathBuf],
        plan: &CopyPlan,
    ) -> Result<super::image::LayerRef, BuildError> {
        let dir = self.scratch.join(format!("copy-{}", run::new_id()));
        let tar_path = self.scratch.join(format!("copy-{}.tar", run::new_id()));
        plan.write(&tar_path)?;
        let mount = OverlayGuard::mount(&dir, lowers);
        let mount = match mount {
            Ok(m) => m,
            Err(e) => {
                let _ = fs::remove_file(&tar_path);
                return Err(e);
            }
        };
        let applied = plan.apply(&tar_path, &mount.merged);
        let _ = fs::remove_file(&tar_path);
        applied?;
        let upper = dir.join("upper");
        mount.unmount()?;
        let layer = commit_dir(self.store, &upper, self.epoch);
        let _ = fs::remove_dir_all(&dir);
        layer
    }

    /// `--chown`: numeric ids, or names looked up in the image's /etc/passwd and /etc/group.
    fn resolve_chown(&self, spec: &str, image: &ImageState) -> Result<(u32, u32), BuildError> {
        let (user, group) = dockerfile::split_user(spec);
        if let Ok(uid) = user.parse::<u32>() {
            match group.map(|g| g.parse::<u32>()) {
                None => return Ok((uid, uid)),
                Some(Ok(gid)) => return Ok((uid, gid)),
                Some(Err(_)) => {}
            }
        }
        let lowers = image.lowers(self.store)?;
        let dir = self.scratch.join(format!("chown-{}", run::new_id()));
        let mount = OverlayGuard::mount(&dir, &lowers)?;
        let resolved = skiff_engine::user::resolve(&mount.merged, spec)
            .map_err(|e| BuildError::Chown(e.to_string()));
        drop(mount);
        let _ = fs::remove_dir_all(&dir);
        let resolved = resolved?;
        // A user name alone gives the user's primary group, as in Docker.
        Ok((resolved.uid, resolved.gid))
    }
}

/// ADD's flags that COPY shares, as a COPY.
fn add_as_copy(add: &Add) -> Copy {
    Copy {
        sources: add.sources.clone(),
        dest: add.dest.clone(),
        from: None,
        chown: add.chown.clone(),
        chmod: add.chmod.clone(),
        link: add.link,
        parents: false,
        exclude: add.exclude.clone(),
        json: add.json,
    }
}

/// Docker's healthcheck config: zero durations and retries inherit the parent's.
fn healthcheck(hc: &Healthcheck, parent: Option<&Value>) -> Value {
    let mut value = json!({ "Test": hc.test });
    let fields: [(&str, Duration); 4] = [
        ("Interval", hc.interval),
        ("Timeout", hc.timeout),
        ("StartPeriod", hc.start_period),
        ("StartInterval", hc.start_interval),
    ];
    for (name, d) in fields {
        let inherited = parent
            .and_then(|p| p.get(name))
            .filter(|v| !v.is_null())
            .cloned();
        match (d.is_zero(), inherited) {
            (false, _) => value[name] = json!(d.as_nanos() as u64),
            (true, Some(v)) => value[name] = v,
            (true, None) => {}
        }
    }
    match (
        hc.retries,
        parent
            .and_then(|p| p.get("Retries"))
            .filter(|v| !v.is_null()),
    ) {
        (0, Some(v)) => value["Retries"] = v.clone(),
        (0, None) => {}
        (n, _) => value["Retries"] = json!(n),
    }
    value
}

/// ADD <url>: fetches the file (name from the URL's last path element).
fn download(url: &str) -> Result<(String, Vec<u8>), BuildError> {
    let err = |message: String| BuildError::Download {
        url: url.to_string(),
        message,
    };
    let response = ureq::get(url).call().map_err(|e| err(e.to_string()))?;
    let data = response
        .into_body()
        .read_to_vec()
        .map_err(|e| err(e.to_string()))?;
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty() && !n.contains(':'))
        .unwrap_or("__unnamed__");
    Ok((name.to_string(), data))
}

/// An overlay of some layers with a throwaway upper dir; unmounted on drop.
struct OverlayGuard {
    merged: std::path::PathBuf,
    mounted: bool,
}

impl OverlayGuard {
    fn mount(dir: &Path, lowers: &[std::path::PathBuf]) -> Result<OverlayGuard, BuildError> {
        let dirs = skiff_image::overlay::mount(dir, lowers, skiff_image::overlay::MountApi::Auto)?;
        Ok(OverlayGuard {
            merged: dirs.merged,
            mounted: true,
        })
    }

    fn unmount(mut self) -> Result<(), BuildError> {
        self.mounted = false;
        skiff_image::overlay::unmount_overlay(&self.merged, false)?;
        Ok(())
    }
}

impl Drop for OverlayGuard {
    fn drop(&mut self) {
        if self.mounted {
            let _ = skiff_image::overlay::unmount_overlay(&self.merged, true);
        }
    }
}

/// Another stage's or image's file tree, mounted for COPY --from; unmounted and removed
/// on drop.
struct FromRoot {
    merged: std::path::PathBuf,
    dir: std::path::PathBuf,
    mount: Option<OverlayGuard>,
}

impl FromRoot {
    fn mount(
        store: &ImageStore,
        state: &ImageState,
        scratch: &Path,
    ) -> Result<FromRoot, BuildError> {
        let lowers = state.lowers(store)?;
        let dir = scratch.join(format!("from-{}", run::new_id()));
        let mount = OverlayGuard::mount(&dir, &lowers)?;
        Ok(FromRoot {
            merged: mount.merged.clone(),
            dir,
            mount: Some(mount),
        })
    }
}

impl Drop for FromRoot {
    fn drop(&mut self) {
        if let Some(mount) = self.mount.take() {
            if let Err(e) = mount.unmount() {
                tracing::warn!(path = %self.merged.display(), error = %e, "cannot unmount a COPY --from source");
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}
