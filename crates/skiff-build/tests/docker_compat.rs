//! Compatibility with real `docker build` (the classic builder of dockerd 20.10).
//!
//! Each case is a `FROM scratch` Dockerfile made only of instructions that change the image
//! config. The test builds it with docker, and evaluates it with our parser and expansion (a
//! small model of the builder's config steps, below), and compares the configs. Cases docker
//! rejects must be rejected by our parser too.
//!
//! Needs a docker daemon; run with
//! `SKIFF_TEST_DOCKER_HOST=unix:///path/docker.sock cargo test -p skiff-build --test docker_compat -- --ignored`
//! (start one with `dockerd --data-root D --exec-root E -H unix://S --bridge=none --iptables=false`).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Command;

mod common;

use common::{walk, CONTEXT_DOCKERIGNORE, CONTEXT_FILES};
use serde_json::{json, Value};
use skiff_build::dockerfile::{
    self, expand, expand_words, parse_ports, CommandLine, InstructionKind,
};
use skiff_build::dockerignore::{DockerIgnore, Flavor};

/// The docker CLI of the same version as the daemon (Debian's 20.10), with the classic builder.
fn docker(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    let host = std::env::var("SKIFF_TEST_DOCKER_HOST")
        .expect("set SKIFF_TEST_DOCKER_HOST to a docker socket");
    Command::new(
        std::env::var("SKIFF_TEST_DOCKER_CLI").unwrap_or_else(|_| "/usr/bin/docker".into()),
    )
    .args(args)
    .current_dir(dir)
    .env("DOCKER_HOST", host)
    .env("DOCKER_BUILDKIT", "0")
    .output()
    .expect("run docker")
}

/// A temporary build context, removed on drop.
struct Context(PathBuf);

impl Context {
    fn new(dockerfile: &str) -> Context {
        let dir = std::env::temp_dir().join(format!(
            "skiff-build-compat-{}-{}",
            std::process::id(),
            unique()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
        Context(dir)
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Builds with docker; the config as JSON, or docker's error output.
fn docker_config(dockerfile: &str) -> Result<Value, String> {
    let ctx = Context::new(dockerfile);
    let tag = format!("skiff-build-compat:{}-{}", std::process::id(), unique());
    let build = docker(&["build", "-q", "-t", &tag, "."], &ctx.0);
    if !build.status.success() {
        return Err(String::from_utf8_lossy(&build.stderr).trim().to_string());
    }
    let inspect = docker(&["image", "inspect", &tag], &ctx.0);
    let _ = docker(&["image", "rm", "-f", &tag], &ctx.0);
    let image: Value = serde_json::from_slice(&inspect.stdout).expect("inspect output");
    let mut config = image[0]["Config"].clone();
    config["Author"] = image[0]["Author"].clone();
    Ok(normalize(&config))
}

/// The fields instructions set, in a comparable form. Docker adds a default PATH to the
/// environment of scratch images: that is the builder's business, not the parser's, so PATH
/// is dropped.
fn normalize(config: &Value) -> Value {
    let keys = |v: &Value| -> Value {
        v.as_object()
            .map(|m| json!(m.keys().cloned().collect::<Vec<_>>()))
            .unwrap_or(json!([]))
    };
    let env: Vec<Value> = config["Env"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| !e.as_str().unwrap_or("").starts_with("PATH="))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let health = &config["Healthcheck"];
    let health = if health.is_null() {
        Value::Null
    } else {
        json!({
            "Test": health["Test"],
            "Interval": health["Interval"].as_u64().unwrap_or(0),
            "Timeout": health["Timeout"].as_u64().unwrap_or(0),
            "StartPeriod": health["StartPeriod"].as_u64().unwrap_or(0),
            "Retries": health["Retries"].as_u64().unwrap_or(0),
        })
    };
    let or_empty = |v: &Value| if v.is_null() { json!([]) } else { v.clone() };
    json!({
        "Env": env,
        "Labels": if config["Labels"].is_null() { json!({}) } else { config["Labels"].clone() },
        "ExposedPorts": keys(&config["ExposedPorts"]),
        "Volumes": keys(&config["Volumes"]),
        "User": config["User"],
        "WorkingDir": config["WorkingDir"],
        "StopSignal": config["StopSignal"].as_str().unwrap_or(""),
        "Healthcheck": health,
        "Cmd": config["Cmd"],
        "Entrypoint": config["Entrypoint"],
        "OnBuild": or_empty(&config["OnBuild"]),
        "Shell": or_empty(&config["Shell"]),
        "Author": config["Author"],
    })
}

/// Our side: parse, then apply the config-changing instructions the way docker's classic
/// builder does, using our expansion.
fn our_config(source: &str) -> Result<Value, String> {
    let df = dockerfile::parse(source).map_err(|e| e.to_string())?;
    let escape = df.directives.escape;
    let mut meta: HashMap<String, String> = HashMap::new();
    for arg in &df.meta_args {
        let InstructionKind::Arg(decls) = &arg.kind else {
            unreachable!()
        };
        for decl in decls {
            if let Some(default) = &decl.default {
                let value = expand(default, &meta, escape).map_err(|e| e.to_string())?;
                meta.insert(
                    expand(&decl.name, &meta, escape).map_err(|e| e.to_string())?,
                    value,
                );
            }
        }
    }
    let stage = df.stages.last().expect("a stage");
    // Docker gives a scratch image a default PATH (and drops it from the comparison).
    let mut env: Vec<(String, String)> = vec![(
        "PATH".into(),
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
    )];
    let mut args: HashMap<String, String> = HashMap::new();
    let mut labels = BTreeMap::new();
    let mut ports = Vec::new();
    let mut volumes = Vec::new();
    let (mut user, mut workdir, mut stop_signal, mut author) =
        (String::new(), String::new(), String::new(), Value::from(""));
    let mut shell = vec!["/bin/sh".to_string(), "-c".to_string()];
    let mut shell_set = false;
    let (mut cmd, mut entrypoint, mut cmd_set) = (Value::Null, Value::Null, false);
    let mut health = Value::Null;
    let mut onbuild = Vec::new();
    for instruction in &stage.instructions {
        // Variables for expansion: declared ARGs, overridden by ENV.
        let mut scope: HashMap<String, String> = args.clone();
        scope.extend(env.iter().cloned());
        let x = |word: &str| expand(word, &scope, escape).map_err(|e| e.to_string());
        let shell_form = |c: &CommandLine, shell: &[String]| match c {
            CommandLine::Exec(a) => json!(a),
            CommandLine::Shell(s) if s.is_empty() => json!(shell),
            CommandLine::Shell(s) => {
                json!(shell.iter().cloned().chain([s.clone()]).collect::<Vec<_>>())
            }
        };
        match &instruction.kind {
            InstructionKind::Arg(decls) => {
                for decl in decls {
                    let name = x(&decl.name)?;
                    let value = match &decl.default {
                        Some(default) => Some(x(default)?),
                        None => meta.get(&name).cloned(),
                    };
                    if let Some(value) = value {
                        args.insert(name, value);
                    }
                }
            }
            InstructionKind::Env(pairs) => {
                let mut new = Vec::new();
                for pair in pairs {
                    new.push((x(&pair.key)?, x(&pair.value)?));
                }
                for (k, v) in new {
                    env.retain(|(key, _)| *key != k);
                    env.push((k, v));
                }
            }
            InstructionKind::Label(pairs) => {
                for pair in pairs {
                    labels.insert(x(&pair.key)?, x(&pair.value)?);
                }
            }
            InstructionKind::Expose(words) => {
                let mut expanded = Vec::new();
                for w in words {
                    expanded.extend(expand_words(w, &scope, escape).map_err(|e| e.to_string())?);
                }
                ports.extend(
                    parse_ports(&expanded)
                        .map_err(|e| e.to_string())?
                        .iter()
                        .map(|p| p.to_string()),
                );
            }
            InstructionKind::Volume(v) => {
                for volume in v {
                    volumes.push(x(volume)?);
                }
            }
            InstructionKind::User(u) => user = x(u)?,
            InstructionKind::Workdir(w) => {
                let w = x(w)?;
                workdir = if w.starts_with('/') {
                    w
                } else {
                    format!("{}/{w}", workdir.trim_end_matches('/'))
                };
            }
            InstructionKind::StopSignal(s) => stop_signal = x(s)?,
            InstructionKind::Maintainer(m) => author = json!(m),
            InstructionKind::Shell(s) => {
                shell = s.clone();
                shell_set = true;
            }
            InstructionKind::Cmd(c) => {
                cmd = shell_form(c, &shell);
                cmd_set = true;
            }
            InstructionKind::Entrypoint(c) => {
                entrypoint = match c {
                    CommandLine::Exec(a) if a.is_empty() => Value::Null,
                    CommandLine::Shell(s) if s.is_empty() => Value::Null,
                    other => shell_form(other, &shell),
                };
                if !cmd_set {
                    cmd = Value::Null;
                }
            }
            InstructionKind::Healthcheck(h) => {
                // Docker's commit merges the healthcheck with the parent's: zero fields inherit.
                let inherit = |field: &str, value: u64| {
                    if value == 0 {
                        health[field].as_u64().unwrap_or(0)
                    } else {
                        value
                    }
                };
                health = json!({
                    "Test": h.test,
                    "Interval": inherit("Interval", h.interval.as_nanos() as u64),
                    "Timeout": inherit("Timeout", h.timeout.as_nanos() as u64),
                    "StartPeriod": inherit("StartPeriod", h.start_period.as_nanos() as u64),
                    "Retries": inherit("Retries", u64::from(h.retries)),
                })
            }
            InstructionKind::Onbuild(o) => onbuild.push(o.expression.clone()),
            other => panic!(
                "the compat model has no {} (keep cases to config instructions)",
                other.keyword()
            ),
        }
    }
    ports.sort();
    ports.dedup();
    volumes.sort();
    volumes.dedup();
    Ok(json!({
        "Env": env.iter().filter(|(k, _)| k != "PATH").map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "Labels": labels,
        "ExposedPorts": ports,
        "Volumes": volumes,
        "User": user,
        "WorkingDir": workdir,
        "StopSignal": stop_signal,
        "Healthcheck": health,
        "Cmd": cmd,
        "Entrypoint": entrypoint,
        "OnBuild": onbuild,
        "Shell": if shell_set { json!(shell) } else { json!([]) },
        "Author": author,
    }))
}

/// Dockerfiles docker 20.10 builds; our evaluation must give the same config.
const ACCEPTED: &[&str] = &[
    // ENV forms, quotes, escapes, expansion
    "FROM scratch\nARG A=argval\nENV e1=plain e2=\"quoted value\" e3=esc\\ aped e4='single $A' e5=\"dq $A\" e6=${A:-def} e7=${UNSET:-def} e8=${A:+alt} e9=\\$A\n",
    "FROM scratch\nENV legacy1 several words here\nENV legacy2 \"quoted legacy\"\nENV e1=x e10=$e1 chained=$legacy1\n",
    "FROM scratch\nENV a=1 b=$a\nENV c=$a\n",
    "FROM scratch\nENV a=\"x\"y'z' b=\\\"q\\\" c=\"multi \\\n   line\" d='it''s'\n",
    "FROM scratch\nARG K=name\nENV $K=v\nLABEL $K=l\n",
    "FROM scratch\nENV a=b\\\\\nENV c=d\n",
    "FROM scratch\nENV p=\"${PATH:-none}\" q=${UNSET:-\"two words\"}\n",
    "FROM scratch\nARG A=set\nENV a=${A:?unused} \n",
    // escape directive
    "# escape=`\nFROM scratch\nENV p=c:\\dir\\ q=`$HOME r=\"a`\"b\" s=\\$x\nENV w c:\\a\\`\n  b\n",
    "\u{feff}# escape=`\nFROM scratch\nENV a=b`\n c=d\n",
    "# a comment first\n# escape=`\nFROM scratch\nENV GOPATH \\\n\\go\n",
    // continuation and comments inside instructions
    "FROM scratch\nENV a=1 \\\n\n  b=2 \\\n# comment\n  c=3\n",
    "FROM scratch\nLABEL a=1 \\\n   \\\n  b=2\n",
    // LABEL
    "FROM scratch\nLABEL l1=v1 \"l 2\"=\"v 2\" l3='x y' legacy-free=yes\nLABEL legacylabel some value\nLABEL a= b=\"\" c''=x\n",
    "FROM scratch\nLABEL \"com.example.vendor\"=\"ACME Inc\" version=1.0 description=\"multi\\\n line\"\n",
    // EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, MAINTAINER
    "FROM scratch\nARG P=\"80 443/udp\"\nEXPOSE $P 22 8000-8002/tcp 9/UDP\n",
    "FROM scratch\nEXPOSE 127.0.0.1:8080:80\n",
    "FROM scratch\nARG D=/data\nVOLUME [\"$D\", \"${D}2\", \"/v 3\"]\nVOLUME /v4 /v5\n",
    "FROM scratch\nARG U=app\nUSER $U:grp\nWORKDIR /srv\nWORKDIR sub\nWORKDIR $U\nSTOPSIGNAL SIGQUIT\nMAINTAINER Jane <j@example.com>\n",
    "FROM scratch\nWORKDIR /a b\nUSER a b\nSTOPSIGNAL --ignored 9\n",
    // HEALTHCHECK
    "FROM scratch\nHEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2s --retries=4 CMD curl -f http://x/ || exit 1\n",
    "FROM scratch\nHEALTHCHECK CMD [\"/bin/check\", \"-q\"]\n",
    "FROM scratch\nHEALTHCHECK --interval=5s CMD a\nHEALTHCHECK --bogus=1 NONE\n",
    "FROM scratch\nHEALTHCHECK --interval=1.5h --timeout=1ms cmd   check   now\n",
    // CMD, ENTRYPOINT, SHELL and JSON
    "FROM scratch\nCMD echo $HOME\nENTRYPOINT [\"/bin/app\", \"--flag\"]\n",
    "FROM scratch\nENTRYPOINT [\"/e\"]\nCMD []\n",
    "FROM scratch\nCMD\n",
    "FROM scratch\nENTRYPOINT []\n",
    "FROM scratch\nENTRYPOINT\n",
    "FROM scratch\nSHELL [\"/bin/bash\", \"-eo\", \"pipefail\", \"-c\"]\nCMD echo hi\nENTRYPOINT exec app\nCMD [\"x\"]\n",
    "FROM scratch\nCMD ['a', 'b']\n",
    "FROM scratch\nCMD [\"a\"] trailing\n",
    "FROM scratch\nCMD [\"\\u00e9\\t\\\"x\\\\\", \"\\/\", \"\\ud800x\", \"\\uDC00\\uD800\\uDC00\"]\n",
    "FROM scratch\nCMD [\"a\",]\n",
    "FROM scratch\nCMD [01]\n",
    "FROM scratch\nCMD [ \"a\" , \"b\" ] \n",
    "FROM scratch\nCMD \"[\\\"echo\\\", \\\"Phew\\\"]\"\n",
    // ONBUILD (triggers are only stored)
    "FROM scratch\nONBUILD RUN echo \"on build\"\nONBUILD   copy . /\nONBUILD RUN a \\\n  && b\n",
    "FROM scratch\nONBUILD FOO bar\nONBUILD COPY --bogus a b\n",
    // ARG scopes
    "ARG TAG=latest\nARG OTHER=$TAG-x\nFROM scratch\nARG TAG\nARG OTHER\nARG NOPE\nENV t=$TAG o=$OTHER n=${NOPE:-unset}\n",
    "FROM scratch\nARG a=1 b=2\nENV x=$a y=$b\n",
    "FROM scratch AS first\nENV a=1\nFROM scratch\nENV b=2\n",
    // directives, whitespace, line endings
    "  # escape=`\nFROM scratch\nENV a=b`\n c=d\n",
    "#escape=`\n#syntax=docker/dockerfile:1\nFROM scratch\nENV a=b`\n c=d\n",
    "FROM scratch\nENV a=\"x\\ny\"\n",
    "FROM scratch\n\tENV\ta=1\t b=2\n",
    "FROM scratch\r\nENV a=1\r\nENV b=\"2 \\\r\n 3\"\r\n",
    "FROM scratch\nEXPOSE 80 \\\n\n",
    "FROM scratch\nLABEL a=b \\\n# c\n",
];

/// Dockerfiles docker 20.10 parses but fails to build because a word does not expand; our
/// expansion must fail too.
const EXPANSION_ERRORS: &[&str] = &[
    "FROM scratch\nARG A\nENV a=${A:?must_be_set}\n",
    "FROM scratch\nENV a=${A:?}\n",
    "FROM scratch\nENV a=\"unterminated\n",
    "FROM scratch\nLABEL a='open\n",
    "FROM scratch\nENV a=${\n",
    "FROM scratch\nENV a=${}\n",
    "FROM scratch\nENV a=${A:x}\n",
    "FROM scratch\nEXPOSE 80/xyz\n",
    "FROM scratch\nEXPOSE 70000\n",
    "FROM scratch\nEXPOSE 90-80\n",
];

/// Dockerfiles docker 20.10 refuses; so must we.
const REJECTED: &[&str] = &[
    "FROM scratch\nCMD [\"a\", 1]\n",
    "FROM scratch\nENV =x\n",
    "FROM scratch\nENV a=b c\n",
    "FROM scratch\nENV a\n",
    "FROM scratch\nFOO bar\n",
    "FROM scratch\nSHELL /bin/sh -c\n",
    "FROM scratch AS 1bad\n",
    "FROM scratch\nCOPY --chown 1 Dockerfile /x\n",
    "FROM scratch\nUSER\n",
    "FROM scratch\nSTOPSIGNAL\n",
    "FROM scratch\nHEALTHCHECK CONNECT TCP 7000\n",
    "FROM scratch\nHEALTHCHECK CMD\n",
    "FROM scratch\nHEALTHCHECK NONE x\n",
    "FROM scratch\nHEALTHCHECK --interval=5 CMD true\n",
    "FROM scratch\nONBUILD ONBUILD RUN x\n",
    "FROM scratch\nONBUILD FROM x\n",
    "FROM scratch\nONBUILD ENV a=b c\n",
    "FROM scratch\nVOLUME [\"\"]\n",
    "# escape=`\n# escape=`\nFROM scratch\n",
    "# escape=x\nFROM scratch\n",
    "FROM scratch\nCOPY --from=a --from=b x y\n",
    "FROM scratch\nADD onlyone\n",
    "ENV a=b\nFROM scratch\n",
    "FROM scratch\nEXPOSE\n",
    "FROM scratch\nARG\n",
    "FROM scratch\nLABEL =x\n",
    "FROM scratch\nCOPY --link=maybe a b\n",
    "FROM scratch AS a\nFROM scratch AS A\n",
];

#[test]
#[ignore = "needs a docker daemon: set SKIFF_TEST_DOCKER_HOST and run with --ignored"]
fn configs_agree_with_docker() {
    let mut failures = Vec::new();
    for source in ACCEPTED {
        match (docker_config(source), our_config(source)) {
            (Ok(theirs), Ok(ours)) if theirs == ours => {}
            (theirs, ours) => failures.push(format!(
                "{source}\n  docker: {}\n  skiff:  {}",
                theirs.map_or_else(|e| e, |v| v.to_string()),
                ours.map_or_else(|e| e, |v| v.to_string())
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n\n{}",
        failures.len(),
        ACCEPTED.len(),
        failures.join("\n\n")
    );
}

#[test]
#[ignore = "needs a docker daemon: set SKIFF_TEST_DOCKER_HOST and run with --ignored"]
fn rejections_agree_with_docker() {
    let mut failures = Vec::new();
    for source in REJECTED {
        let theirs = docker_config(source);
        let ours = dockerfile::parse(source);
        if theirs.is_ok() || ours.is_ok() {
            failures.push(format!(
                "{source}\n  docker: {:?}\n  skiff:  {:?}",
                theirs.err(),
                ours.err()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
#[ignore = "needs a docker daemon: set SKIFF_TEST_DOCKER_HOST and run with --ignored"]
fn expansion_errors_agree_with_docker() {
    let mut failures = Vec::new();
    for source in EXPANSION_ERRORS {
        dockerfile::parse(source).unwrap_or_else(|e| panic!("{source}: {e}"));
        let (theirs, ours) = (docker_config(source), our_config(source));
        if theirs.is_ok() || ours.is_ok() {
            failures.push(format!(
                "{source}\n  docker: {theirs:?}\n  skiff:  {ours:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Dockerfiles docker 20.10 refuses but current Docker (BuildKit) builds; skiff follows the
/// current behaviour, so it accepts a superset.
const NEWER_SYNTAX: &[&str] = &[
    "FROM scratch\nARG V\nENV a=${V-def} b=${V+alt}\n",
    "FROM scratch\nARG V=file.tar.gz\nENV a=${V%%.*} b=${V#*.} c=${V/tar/zip}\n",
    "FROM scratch\nHEALTHCHECK --interval=0s --retries=0 CMD true\n",
    "FROM scratch\nHEALTHCHECK --start-interval=1s CMD true\n",
];

#[test]
#[ignore = "needs a docker daemon: set SKIFF_TEST_DOCKER_HOST and run with --ignored"]
fn newer_syntax_is_a_superset() {
    for source in NEWER_SYNTAX {
        assert!(
            docker_config(source).is_err(),
            "docker 20.10 accepted {source}"
        );
        our_config(source).unwrap_or_else(|e| panic!("{source}: {e}"));
    }
}

/// The regular files `COPY . /ctx/` copies, as docker builds it from `ctx`.
fn docker_copied_files(ctx: &Context) -> Vec<String> {
    let tag = format!("skiff-build-compat:{}-{}", std::process::id(), unique());
    let build = docker(&["build", "-q", "-t", &tag, "."], &ctx.0);
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let created = docker(&["create", &tag, "unused"], &ctx.0);
    let id = String::from_utf8_lossy(&created.stdout).trim().to_string();
    let tar_path = ctx.0.join("rootfs.tar");
    let export = docker(&["export", "-o", tar_path.to_str().unwrap(), &id], &ctx.0);
    let _ = docker(&["rm", &id], &ctx.0);
    let _ = docker(&["image", "rm", "-f", &tag], &ctx.0);
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let list = Command::new("tar")
        .arg("-tf")
        .arg(&tar_path)
        .output()
        .expect("tar");
    let mut files: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("ctx/"))
        .filter(|l| !l.is_empty() && !l.ends_with('/'))
        .map(str::to_string)
        .collect();
    files.sort();
    files
}

#[test]
#[ignore = "needs a docker daemon: set SKIFF_TEST_DOCKER_HOST and run with --ignored"]
fn dockerignore_classic_flavor_agrees_with_docker() {
    let ctx = Context::new("FROM scratch\nCOPY . /ctx/\n");
    for file in CONTEXT_FILES.iter().filter(|f| **f != "Dockerfile") {
        let path = ctx.0.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, file).unwrap();
    }
    std::fs::write(ctx.0.join(".dockerignore"), CONTEXT_DOCKERIGNORE).unwrap();
    let theirs = docker_copied_files(&ctx);
    let ignore = DockerIgnore::parse(CONTEXT_DOCKERIGNORE)
        .unwrap()
        .with_flavor(Flavor::Classic);
    assert_eq!(walk(&ignore, CONTEXT_FILES), theirs);
}
