//! The typed Dockerfile: what each instruction says, with its words still raw.
//!
//! "Raw" means as written: quotes, escapes and `$VARIABLES` are still in the words of the
//! instructions that allow substitution, because their values depend on the build's ARG and
//! ENV scope at that point. The builder passes each such word through
//! [`crate::dockerfile::expand`] (even words without variables: that is what removes the
//! quotes, e.g. `ENV a="b c"` has the raw value `"b c"`). Fields that Docker does not expand
//! (RUN/CMD/ENTRYPOINT/SHELL commands, HEALTHCHECK, flags of RUN) are final.

use std::time::Duration;

use serde::Serialize;

use super::heredoc::Heredoc;
use super::lines::Directives;

/// A parsed Dockerfile: its directives, the ARGs before the first FROM (the global scope,
/// usable in FROM lines), and the build stages in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dockerfile {
    pub directives: Directives,
    /// ARG instructions before the first FROM.
    pub meta_args: Vec<Instruction>,
    pub stages: Vec<Stage>,
    /// Docker's non-fatal remarks (empty continuation lines).
    pub warnings: Vec<Warning>,
}

impl Dockerfile {
    /// The index of the stage named `name` (case-insensitive, as Docker's stage names are),
    /// or given by its number (`COPY --from=0`). `None` means `name` refers to an image.
    pub fn stage_index(&self, name: &str) -> Option<usize> {
        let lower = name.to_lowercase();
        self.stages
            .iter()
            .position(|s| s.from.name.as_deref() == Some(lower.as_str()))
            .or_else(|| {
                name.parse::<usize>()
                    .ok()
                    .filter(|&i| i < self.stages.len())
            })
    }
}

/// A non-fatal remark about the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub line: usize,
    pub message: String,
}

/// One build stage: its FROM and the instructions up to the next FROM.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stage {
    pub from: From,
    /// Where the FROM instruction is.
    pub start_line: usize,
    /// The FROM line as written.
    pub source: String,
    pub instructions: Vec<Instruction>,
}

/// One instruction with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instruction {
    /// First and last line (1-based) of the instruction, continuation and heredoc lines
    /// included.
    pub start_line: usize,
    pub end_line: usize,
    /// The instruction as written, continuation lines joined (Docker's "original"; used in
    /// `history` as created_by).
    pub source: String,
    pub kind: InstructionKind,
}

/// Every Dockerfile instruction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum InstructionKind {
    From(From),
    Run(Run),
    Cmd(CommandLine),
    /// `ENTRYPOINT []` is `Exec(vec![])` (Docker resets the entrypoint).
    Entrypoint(CommandLine),
    Env(Vec<KeyValue>),
    Arg(Vec<ArgDecl>),
    Label(Vec<KeyValue>),
    /// Raw port words (`80`, `80/tcp`, `8000-8010/udp`, `$PORT`): expand each with
    /// [`crate::dockerfile::expand_words`], then read with [`crate::dockerfile::parse_ports`].
    Expose(Vec<String>),
    /// Raw path.
    Workdir(String),
    /// Raw `user[:group]`; after expansion, [`crate::dockerfile::split_user`].
    User(String),
    /// Raw paths (JSON form values too are expanded by Docker).
    Volume(Vec<String>),
    Copy(Copy),
    Add(Add),
    /// The new shell, e.g. `["/bin/bash", "-c"]` (JSON form is required).
    Shell(Vec<String>),
    /// Raw signal (`SIGTERM`, `9`, `$SIG`).
    StopSignal(String),
    Healthcheck(Healthcheck),
    Onbuild(Onbuild),
    Maintainer(String),
}

impl InstructionKind {
    /// The instruction keyword in upper case.
    pub fn keyword(&self) -> &'static str {
        match self {
            InstructionKind::From(_) => "FROM",
            InstructionKind::Run(_) => "RUN",
            InstructionKind::Cmd(_) => "CMD",
            InstructionKind::Entrypoint(_) => "ENTRYPOINT",
            InstructionKind::Env(_) => "ENV",
            InstructionKind::Arg(_) => "ARG",
            InstructionKind::Label(_) => "LABEL",
            InstructionKind::Expose(_) => "EXPOSE",
            InstructionKind::Workdir(_) => "WORKDIR",
            InstructionKind::User(_) => "USER",
            InstructionKind::Volume(_) => "VOLUME",
            InstructionKind::Copy(_) => "COPY",
            InstructionKind::Add(_) => "ADD",
            InstructionKind::Shell(_) => "SHELL",
            InstructionKind::StopSignal(_) => "STOPSIGNAL",
            InstructionKind::Healthcheck(_) => "HEALTHCHECK",
            InstructionKind::Onbuild(_) => "ONBUILD",
            InstructionKind::Maintainer(_) => "MAINTAINER",
        }
    }
}

/// `FROM [--platform=p] image [AS name]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct From {
    /// Raw image reference (or `scratch`, or an earlier stage's name); expanded with the
    /// meta ARGs only.
    pub image: String,
    /// The stage name, lower-cased (stage names are case-insensitive).
    pub name: Option<String>,
    /// Raw `--platform` value.
    pub platform: Option<String>,
}

/// A command in shell form (run through the SHELL, default `/bin/sh -c`) or exec form.
/// Docker turns a bare `CMD` into `["/bin/sh", "-c"]` and a bare `ENTRYPOINT` into no
/// entrypoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum CommandLine {
    /// The text after the instruction (and its flags), as written. Empty when the
    /// instruction had no arguments at all (Docker then runs the bare shell).
    Shell(String),
    /// The JSON array's strings.
    Exec(Vec<String>),
}

/// `RUN [--mount=...] [--network=...] [--security=...] command`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    pub command: CommandLine,
    /// Here-documents opened on the line (shell form only), in order.
    pub heredocs: Vec<Heredoc>,
    /// Raw `--mount` specifications (`type=cache,target=/root/.cache`), in order. Values
    /// are expanded by the builder, then read with [`crate::dockerfile::parse_mount`].
    pub mounts: Vec<String>,
    pub network: Option<NetworkMode>,
    pub security: Option<SecurityMode>,
}

/// `RUN --network=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum NetworkMode {
    Default,
    None,
    Host,
}

/// `RUN --security=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SecurityMode {
    Sandbox,
    Insecure,
}

/// A `key=value` of ENV or LABEL, both raw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
    /// Written in the legacy one-pair form `ENV key value` (the value is the rest of the line).
    pub legacy: bool,
}

/// One name of an ARG instruction, with its raw default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArgDecl {
    pub name: String,
    pub default: Option<String>,
}

/// A COPY or ADD source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Source {
    /// A raw path, glob or (ADD) URL.
    Path(String),
    /// A here-document used as a file: `COPY <<EOF /dest`. The file is named after the
    /// delimiter; its content is [`Heredoc::body`] (then expanded when `expand` is set).
    Heredoc(Heredoc),
}

/// `COPY [flags] src... dest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Copy {
    pub sources: Vec<Source>,
    /// Raw destination.
    pub dest: String,
    /// Raw `--from` (a stage name or index, or an image).
    pub from: Option<String>,
    /// Raw `--chown`.
    pub chown: Option<String>,
    /// Raw `--chmod`.
    pub chmod: Option<String>,
    pub link: bool,
    pub parents: bool,
    /// Raw `--exclude` patterns.
    pub exclude: Vec<String>,
    /// The JSON form was used.
    pub json: bool,
}

/// `ADD [flags] src... dest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Add {
    pub sources: Vec<Source>,
    pub dest: String,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub keep_git_dir: bool,
    /// Raw `--checksum` (`sha256:...`) for URL sources.
    pub checksum: Option<String>,
    /// `--unpack`: `None` when not given (then local tar archives are unpacked).
    pub unpack: Option<bool>,
    pub exclude: Vec<String>,
    pub json: bool,
}

/// `HEALTHCHECK NONE` or `HEALTHCHECK [options] CMD command`, in the image config's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Healthcheck {
    /// `["NONE"]`, `["CMD", args...]` (exec form) or `["CMD-SHELL", command]`.
    pub test: Vec<String>,
    /// Zero means "not set": Docker's commit then keeps the parent image's value.
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub start_interval: Duration,
    /// Zero means "not set".
    pub retries: u32,
}

/// `ONBUILD instruction`: a trigger recorded in the image for builds that use it as a base.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Onbuild {
    /// The trigger as written, without `ONBUILD` (stored in the image config's OnBuild, with
    /// here-document bodies appended as Docker does).
    pub expression: String,
    /// The trigger, parsed; `None` when it would be rejected when it fires (Docker accepts
    /// such a trigger here, e.g. `ONBUILD FOO bar`, and fails the later build that runs it).
    pub trigger: Option<Box<InstructionKind>>,
}
