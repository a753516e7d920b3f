//! Helpers shared by the parser tests: flatten a parsed Dockerfile and print instructions in
//! a compact, Docker-AST-like form that expected outputs are written in.
#![allow(dead_code)]

use skiff_build::dockerfile::{self, CommandLine, Dockerfile, InstructionKind, ParseError, Source};

/// Every instruction in file order: meta ARGs, then each stage's FROM and instructions.
pub fn kinds(df: &Dockerfile) -> Vec<InstructionKind> {
    let mut out: Vec<InstructionKind> = df.meta_args.iter().map(|i| i.kind.clone()).collect();
    for stage in &df.stages {
        out.push(InstructionKind::From(stage.from.clone()));
        out.extend(stage.instructions.iter().map(|i| i.kind.clone()));
    }
    out
}

pub fn parse_ok(src: &str) -> Dockerfile {
    dockerfile::parse(src).unwrap_or_else(|e| panic!("parse failed: {e}\n--- source ---\n{src}"))
}

pub fn parse_err(src: &str) -> ParseError {
    match dockerfile::parse(src) {
        Ok(df) => panic!("expected an error, got {:#?}", kinds(&df)),
        Err(e) => e,
    }
}

/// The instructions of `src` (which must parse), dumped one per line.
pub fn dump_source(src: &str) -> String {
    let df = parse_ok(src);
    kinds(&df).iter().map(dump).collect::<Vec<_>>().join("\n")
}

/// Parses a source that has a FROM and returns the kinds after it (handy for one-liners).
pub fn after_from(body: &str) -> Vec<InstructionKind> {
    let df = parse_ok(&format!("FROM scratch\n{body}"));
    kinds(&df).into_iter().skip(1).collect()
}

pub fn one(body: &str) -> InstructionKind {
    let mut all = after_from(body);
    assert_eq!(
        all.len(),
        1,
        "expected one instruction from {body:?}, got {all:#?}"
    );
    all.remove(0)
}

fn q(s: &str) -> String {
    format!("{s:?}")
}

fn list(items: &[String]) -> String {
    items.iter().map(|s| q(s)).collect::<Vec<_>>().join(" ")
}

fn command(c: &CommandLine) -> String {
    match c {
        CommandLine::Shell(s) => format!("shell {}", q(s)),
        CommandLine::Exec(args) if args.is_empty() => "exec".to_string(),
        CommandLine::Exec(args) => format!("exec {}", list(args)),
    }
}

fn sources(sources: &[Source]) -> String {
    sources
        .iter()
        .map(|s| match s {
            Source::Path(p) => q(p),
            Source::Heredoc(h) => format!(
                "(heredoc {} {} expand={})",
                q(&h.name),
                q(&h.body()),
                h.expand
            ),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `(keyword args...)`, with options as `name=value`.
pub fn dump(kind: &InstructionKind) -> String {
    let mut parts: Vec<String> = vec![kind.keyword().to_lowercase()];
    match kind {
        InstructionKind::From(f) => {
            if let Some(p) = &f.platform {
                parts.push(format!("platform={}", q(p)));
            }
            parts.push(q(&f.image));
            if let Some(n) = &f.name {
                parts.push(format!("as {}", q(n)));
            }
        }
        InstructionKind::Run(r) => {
            for m in &r.mounts {
                parts.push(format!("mount={}", q(m)));
            }
            if let Some(n) = r.network {
                parts.push(format!("network={n:?}"));
            }
            if let Some(s) = r.security {
                parts.push(format!("security={s:?}"));
            }
            parts.push(command(&r.command));
            for h in &r.heredocs {
                parts.push(format!(
                    "(heredoc {} {} expand={} chomp={})",
                    q(&h.name),
                    q(&h.content),
                    h.expand,
                    h.chomp
                ));
            }
        }
        InstructionKind::Cmd(c) | InstructionKind::Entrypoint(c) => parts.push(command(c)),
        InstructionKind::Env(kvs) | InstructionKind::Label(kvs) => {
            for kv in kvs {
                let legacy = if kv.legacy { "legacy " } else { "" };
                parts.push(format!("{legacy}{} {}", q(&kv.key), q(&kv.value)));
            }
        }
        InstructionKind::Arg(args) => {
            for a in args {
                match &a.default {
                    Some(d) => parts.push(format!("{}={}", q(&a.name), q(d))),
                    None => parts.push(q(&a.name)),
                }
            }
        }
        InstructionKind::Expose(v) | InstructionKind::Volume(v) | InstructionKind::Shell(v) => {
            parts.push(list(v))
        }
        InstructionKind::Workdir(s)
        | InstructionKind::User(s)
        | InstructionKind::StopSignal(s)
        | InstructionKind::Maintainer(s) => parts.push(q(s)),
        InstructionKind::Copy(c) => {
            for (name, value) in [("from", &c.from), ("chown", &c.chown), ("chmod", &c.chmod)] {
                if let Some(v) = value {
                    parts.push(format!("{name}={}", q(v)));
                }
            }
            if c.link {
                parts.push("link".into());
            }
            if c.parents {
                parts.push("parents".into());
            }
            for e in &c.exclude {
                parts.push(format!("exclude={}", q(e)));
            }
            if c.json {
                parts.push("json".into());
            }
            parts.push(sources(&c.sources));
            parts.push(q(&c.dest));
        }
        InstructionKind::Add(a) => {
            for (name, value) in [
                ("chown", &a.chown),
                ("chmod", &a.chmod),
                ("checksum", &a.checksum),
            ] {
                if let Some(v) = value {
                    parts.push(format!("{name}={}", q(v)));
                }
            }
            if a.link {
                parts.push("link".into());
            }
            if a.keep_git_dir {
                parts.push("keep-git-dir".into());
            }
            if let Some(u) = a.unpack {
                parts.push(format!("unpack={u}"));
            }
            for e in &a.exclude {
                parts.push(format!("exclude={}", q(e)));
            }
            if a.json {
                parts.push("json".into());
            }
            parts.push(sources(&a.sources));
            parts.push(q(&a.dest));
        }
        InstructionKind::Healthcheck(h) => {
            parts.push(list(&h.test));
            for (name, d) in [
                ("interval", h.interval),
                ("timeout", h.timeout),
                ("start-period", h.start_period),
                ("start-interval", h.start_interval),
            ] {
                if !d.is_zero() {
                    parts.push(format!("{name}={d:?}"));
                }
            }
            if h.retries != 0 {
                parts.push(format!("retries={}", h.retries));
            }
        }
        InstructionKind::Onbuild(o) => match &o.trigger {
            Some(trigger) => parts.push(dump(trigger)),
            None => parts.push(format!("unchecked {}", q(&o.expression))),
        },
    }
    format!("({})", parts.join(" "))
}

// ---------------------------------------------------------------- build contexts

/// Walks a context given as a list of files the way a builder does: an excluded directory is
/// entered only when an exception may re-include something inside it. Returns the files sent.
pub fn walk(ignore: &skiff_build::dockerignore::DockerIgnore, files: &[&str]) -> Vec<String> {
    use std::collections::BTreeSet;
    let mut dirs = BTreeSet::new();
    for file in files {
        let mut at = 0;
        while let Some(slash) = file[at..].find('/') {
            dirs.insert(file[..at + slash].to_string());
            at += slash + 1;
        }
    }
    let entries: BTreeSet<(String, bool)> = files
        .iter()
        .map(|f| (f.to_string(), false))
        .chain(dirs.iter().map(|d| (d.clone(), true)))
        .collect();
    let mut sent = Vec::new();
    visit(ignore, &entries, "", None, &mut sent);
    sent.sort();
    return sent;

    fn visit(
        ignore: &skiff_build::dockerignore::DockerIgnore,
        entries: &std::collections::BTreeSet<(String, bool)>,
        dir: &str,
        parent: Option<&skiff_build::dockerignore::ParentMatches>,
        sent: &mut Vec<String>,
    ) {
        let children = entries
            .iter()
            .filter(|(path, _)| match path.rsplit_once('/') {
                Some((p, _)) => p == dir,
                None => dir.is_empty(),
            });
        for (path, is_dir) in children {
            let (excluded, info) = ignore.matches_in(path, parent);
            match (excluded, is_dir) {
                (true, true) if ignore.may_reinclude_under(path) => {
                    visit(ignore, entries, path, Some(&info), sent)
                }
                (true, _) => {}
                (false, true) => visit(ignore, entries, path, Some(&info), sent),
                (false, false) => sent.push(path.clone()),
            }
        }
    }
}

pub const CONTEXT_FILES: &[&str] = &[
    "app.log",
    "keep.log",
    "sub/app.log",
    "build/out.bin",
    "build/keep/x",
    "build/keep/y/z",
    "x.tmp",
    "deep/er/x.tmp",
    "docs/a.md",
    "docs/README.md",
    "abs",
    "sub/abs",
    "dot/dir/f",
    "dot/other",
    "a/z",
    "a/b/c/z",
    "a/b/zz",
    "ac.txt",
    "bc.txt",
    "cc.txt",
    "q1.txt",
    "q12.txt",
    "one/nested.txt",
    "one/two/nested.txt",
    "other/wanted",
    "other/unwanted",
    "secret/a/ok",
    "secret/a/no",
    "secret/top",
    "sp ace.txt",
    "unicodé.txt",
    "Dockerfile",
    ".dockerignore",
];

pub const CONTEXT_DOCKERIGNORE: &str = "# comment line\n*.log\n!keep.log\nbuild/\n!build/keep/**\n**/*.tmp\ndocs\n!docs/README.md\n/abs\n./dot/dir/\na/**/z\n[ab]c.txt\nq?.txt\n*/nested.txt\nother\n!*/wanted\nsecret\n!secret/*/ok\n  sp ace.txt  \nunicod?.txt\nDockerfile\n.dockerignore\n";

/// The files `COPY . /ctx/` copied with docker 20.10.24 (classic builder, CLI 20.10 and CLI 28
/// with DOCKER_BUILDKIT=0, and the daemon's built-in BuildKit: all the same) from a context of
/// CONTEXT_FILES with CONTEXT_DOCKERIGNORE. Dockerfile and .dockerignore are sent to the daemon
/// but removed from what COPY sees because the patterns exclude them.
pub const DOCKER_20_10_COPIED: &[&str] = &[
    "a/b/zz",
    "build/keep/x",
    "build/keep/y/z",
    "cc.txt",
    "docs/README.md",
    "dot/other",
    "keep.log",
    "one/two/nested.txt",
    "q12.txt",
    "sub/abs",
    "sub/app.log",
];
