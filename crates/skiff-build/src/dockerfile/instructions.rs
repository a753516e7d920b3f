//! One logical line → one typed instruction, with Docker's argument rules and validations.
//! Each instruction's arguments are split the way Docker's line parser for it does:
//!
//! | instructions | arguments |
//! |---|---|
//! | RUN CMD ENTRYPOINT SHELL | JSON array, else the whole rest (shell form) |
//! | COPY ADD VOLUME | JSON array, else split on whitespace |
//! | FROM EXPOSE | split on whitespace |
//! | ENV LABEL | `k=v` words (quotes kept), or legacy `key value...` |
//! | ARG | `name[=default]` words |
//! | WORKDIR USER STOPSIGNAL MAINTAINER | the whole rest, one argument |
//! | HEALTHCHECK | a type word, then like CMD |
//! | ONBUILD | a nested instruction |

use std::time::Duration;

use super::ast::*;
use super::duration::parse_go_duration;
use super::error::ErrorKind;
use super::flags::{FlagKind, Flags};
use super::heredoc::{parse_heredoc_word, Heredoc};
use super::words::{
    parse_json_array, parse_words, split_command, split_whitespace, JsonArgs, SplitCommand,
    SPLIT_SPACES,
};

/// Whether the instruction on this line reads here-documents from the following lines:
/// RUN, COPY and ADD (also as an ONBUILD trigger) in shell form.
pub(crate) fn takes_heredocs(text: &str) -> bool {
    if !text.contains("<<") {
        return false;
    }
    let mut split = split_command(text);
    if split.keyword == "onbuild" {
        split = split_command(&split.rest);
    }
    matches!(split.keyword.as_str(), "run" | "copy" | "add")
        && !matches!(parse_json_array(&split.rest), JsonArgs::Strings(_))
}

/// Parses one instruction (its continuation lines joined); `heredocs` are the here-document
/// bodies that followed it.
pub(crate) fn parse_instruction(
    text: &str,
    heredocs: Vec<Heredoc>,
    escape: char,
) -> Result<InstructionKind, ErrorKind> {
    let split = split_command(text);
    let SplitCommand {
        keyword,
        flags,
        rest,
    } = &split;
    let flags = flags.as_slice();
    Ok(match keyword.as_str() {
        "from" => InstructionKind::From(parse_from(rest, flags)?),
        "run" => InstructionKind::Run(parse_run(rest, flags, heredocs)?),
        "cmd" => {
            let command = command_line("CMD", rest)?;
            Flags::parse("CMD", flags, &[])?;
            InstructionKind::Cmd(command)
        }
        "entrypoint" => {
            let command = command_line("ENTRYPOINT", rest)?;
            Flags::parse("ENTRYPOINT", flags, &[])?;
            InstructionKind::Entrypoint(command)
        }
        "env" => InstructionKind::Env(parse_key_values("ENV", rest, flags, escape)?),
        "label" => InstructionKind::Label(parse_key_values("LABEL", rest, flags, escape)?),
        "arg" => InstructionKind::Arg(parse_arg(rest, escape)?),
        "expose" => {
            let mut ports = split_whitespace(rest);
            if ports.is_empty() {
                return Err(ErrorKind::AtLeastOneArgument("EXPOSE"));
            }
            Flags::parse("EXPOSE", flags, &[])?;
            // Docker sorts the words (it makes no difference to the exposed set).
            ports.sort();
            InstructionKind::Expose(ports)
        }
        "workdir" => InstructionKind::Workdir(single_argument("WORKDIR", rest, Some(flags))?),
        "user" => InstructionKind::User(single_argument("USER", rest, Some(flags))?),
        // Docker does not check STOPSIGNAL's flags at all.
        "stopsignal" => InstructionKind::StopSignal(single_argument("STOPSIGNAL", rest, None)?),
        "maintainer" => {
            InstructionKind::Maintainer(single_argument("MAINTAINER", rest, Some(flags))?)
        }
        "volume" => InstructionKind::Volume(parse_volume(rest, flags)?),
        "copy" => InstructionKind::Copy(parse_copy(rest, flags, &heredocs)?),
        "add" => InstructionKind::Add(parse_add(rest, flags, &heredocs)?),
        "shell" => InstructionKind::Shell(parse_shell(rest, flags)?),
        "healthcheck" => InstructionKind::Healthcheck(parse_healthcheck(rest, flags)?),
        "onbuild" => InstructionKind::Onbuild(parse_onbuild(text, rest, flags, heredocs, escape)?),
        _ => return Err(ErrorKind::UnknownInstruction(keyword.to_uppercase())),
    })
}

/// RUN/CMD/ENTRYPOINT/SHELL arguments: a JSON array of strings, or the rest as written.
fn command_line(instruction: &'static str, rest: &str) -> Result<CommandLine, ErrorKind> {
    match parse_json_array(rest) {
        JsonArgs::Strings(args) => Ok(CommandLine::Exec(args)),
        JsonArgs::NotStrings => Err(ErrorKind::JsonNotStrings(instruction)),
        JsonArgs::Absent => Ok(CommandLine::Shell(rest.to_string())),
    }
}

/// COPY/ADD/VOLUME arguments: a JSON array of strings, or whitespace-separated words.
/// Returns the words and whether JSON was used.
fn word_list(instruction: &'static str, rest: &str) -> Result<(Vec<String>, bool), ErrorKind> {
    match parse_json_array(rest) {
        JsonArgs::Strings(args) => Ok((args, true)),
        JsonArgs::NotStrings => Err(ErrorKind::JsonNotStrings(instruction)),
        JsonArgs::Absent => Ok((split_whitespace(rest), false)),
    }
}

/// WORKDIR/USER/STOPSIGNAL/MAINTAINER: the whole rest is the one argument. `flags` is `None`
/// for the instructions whose flags Docker never looks at.
fn single_argument(
    instruction: &'static str,
    rest: &str,
    flags: Option<&[String]>,
) -> Result<String, ErrorKind> {
    if rest.is_empty() {
        return Err(ErrorKind::ExactlyOneArgument(instruction));
    }
    if let Some(flags) = flags {
        Flags::parse(instruction, flags, &[])?;
    }
    Ok(rest.to_string())
}

fn parse_from(rest: &str, flags: &[String]) -> Result<From, ErrorKind> {
    let args = split_whitespace(rest);
    let name = match args.as_slice() {
        [_] => None,
        [_, as_word, name] if as_word.eq_ignore_ascii_case("as") => {
            let lower = name.to_lowercase();
            if !valid_stage_name(&lower) {
                return Err(ErrorKind::InvalidStageName(name.clone()));
            }
            Some(lower)
        }
        _ => return Err(ErrorKind::FromArguments),
    };
    let flags = Flags::parse("FROM", flags, &[("platform", FlagKind::String)])?;
    Ok(From {
        image: args[0].clone(),
        name,
        platform: flags.string("platform"),
    })
}

/// `^[a-z][a-z0-9-_.]*$`
fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

fn parse_run(rest: &str, flags: &[String], heredocs: Vec<Heredoc>) -> Result<Run, ErrorKind> {
    let command = command_line("RUN", rest)?;
    let flags = Flags::parse(
        "RUN",
        flags,
        &[
            ("mount", FlagKind::Repeated),
            ("network", FlagKind::String),
            ("security", FlagKind::String),
        ],
    )?;
    let mounts = flags.repeated("mount");
    for mount in &mounts {
        check_mount_from(mount)?;
    }
    let network = match flags.string("network").as_deref() {
        None => None,
        Some("" | "default") => Some(NetworkMode::Default),
        Some("none") => Some(NetworkMode::None),
        Some("host") => Some(NetworkMode::Host),
        Some(other) => return Err(ErrorKind::UnsupportedNetwork(other.to_string())),
    };
    let security = match flags.string("security").as_deref() {
        None => None,
        Some("sandbox") => Some(SecurityMode::Sandbox),
        Some("insecure") => Some(SecurityMode::Insecure),
        Some(other) => return Err(ErrorKind::UnsupportedSecurity(other.to_string())),
    };
    Ok(Run {
        command,
        heredocs,
        mounts,
        network,
        security,
    })
}

/// Docker checks one thing about a mount before variables are known: `from=` may not use
/// them (stages are resolved before the build runs).
fn check_mount_from(spec: &str) -> Result<(), ErrorKind> {
    for field in spec.split(',') {
        let Some((key, value)) = field.split_once('=') else {
            continue;
        };
        let value_chars: Vec<char> = value.chars().collect();
        let has_variable = value_chars.windows(2).any(|w| w[0] == '$');
        if key.trim_matches('"').eq_ignore_ascii_case("from") && has_variable {
            return Err(ErrorKind::MountFromVariable);
        }
    }
    Ok(())
}

/// ENV and LABEL: `k=v k2="v 2"` pairs, or the legacy `key value with spaces`.
fn parse_key_values(
    instruction: &'static str,
    rest: &str,
    flags: &[String],
    escape: char,
) -> Result<Vec<KeyValue>, ErrorKind> {
    let words = parse_words(rest, escape);
    let mut pairs = Vec::new();
    match words.first() {
        None => {}
        Some(first) if !first.contains('=') => {
            // Legacy form: the key is the first word, the value everything after it.
            let at = rest.find(SPLIT_SPACES);
            let Some(at) = at else {
                return Err(ErrorKind::NameWithoutValue(instruction));
            };
            let value = rest[at..].trim_start_matches(SPLIT_SPACES);
            pairs.push(KeyValue {
                key: rest[..at].to_string(),
                value: value.to_string(),
                legacy: true,
            });
        }
        Some(_) => {
            for word in &words {
                let Some((key, value)) = word.split_once('=') else {
                    return Err(ErrorKind::MissingEquals {
                        instruction,
                        word: word.clone(),
                    });
                };
                pairs.push(KeyValue {
                    key: key.to_string(),
                    value: value.to_string(),
                    legacy: false,
                });
            }
        }
    }
    Flags::parse(instruction, flags, &[])?;
    if pairs.is_empty() {
        return Err(ErrorKind::AtLeastOneArgument(instruction));
    }
    if pairs.iter().any(|pair| pair.key.is_empty()) {
        return Err(ErrorKind::BlankName(instruction));
    }
    Ok(pairs)
}

/// ARG: `name` or `name=default` words. Docker ignores ARG's flags.
fn parse_arg(rest: &str, escape: char) -> Result<Vec<ArgDecl>, ErrorKind> {
    let words = parse_words(rest, escape);
    if words.is_empty() {
        return Err(ErrorKind::AtLeastOneArgument("ARG"));
    }
    words
        .into_iter()
        .map(|word| match word.split_once('=') {
            Some(("", _)) => Err(ErrorKind::BlankName("ARG")),
            Some((name, default)) => Ok(ArgDecl {
                name: name.to_string(),
                default: Some(default.to_string()),
            }),
            None => Ok(ArgDecl {
                name: word,
                default: None,
            }),
        })
        .collect()
}

fn parse_volume(rest: &str, flags: &[String]) -> Result<Vec<String>, ErrorKind> {
    let (volumes, _) = word_list("VOLUME", rest)?;
    if volumes.is_empty() {
        return Err(ErrorKind::AtLeastOneArgument("VOLUME"));
    }
    Flags::parse("VOLUME", flags, &[])?;
    volumes
        .into_iter()
        .map(|v| match v.trim() {
            "" => Err(ErrorKind::EmptyVolume),
            trimmed => Ok(trimmed.to_string()),
        })
        .collect()
}

/// Sources and destination of COPY/ADD; `<<NAME` sources are the here-documents' bodies.
fn sources_and_dest(
    instruction: &'static str,
    mut args: Vec<String>,
    heredocs: &[Heredoc],
) -> Result<(Vec<Source>, String), ErrorKind> {
    let dest = args.pop().expect("caller checked there are two arguments");
    if parse_heredoc_word(&dest).is_some() {
        return Err(ErrorKind::HeredocDestination(instruction));
    }
    let sources = args
        .into_iter()
        .map(|src| match parse_heredoc_word(&src) {
            Some(mut doc) => {
                if let Some(body) = heredocs.iter().find(|h| h.name == doc.name) {
                    doc.content = body.content.clone();
                }
                Source::Heredoc(doc)
            }
            None => Source::Path(src),
        })
        .collect();
    Ok((sources, dest))
}

fn parse_copy(rest: &str, flags: &[String], heredocs: &[Heredoc]) -> Result<Copy, ErrorKind> {
    let (args, json) = word_list("COPY", rest)?;
    if args.len() < 2 {
        return Err(ErrorKind::NoDestination("COPY"));
    }
    let flags = Flags::parse(
        "COPY",
        flags,
        &[
            ("chown", FlagKind::String),
            ("from", FlagKind::String),
            ("chmod", FlagKind::String),
            ("link", FlagKind::Bool),
            ("parents", FlagKind::Bool),
            ("exclude", FlagKind::Repeated),
        ],
    )?;
    let (sources, dest) = sources_and_dest("COPY", args, heredocs)?;
    Ok(Copy {
        sources,
        dest,
        from: flags.string("from"),
        chown: flags.string("chown"),
        chmod: flags.string("chmod"),
        link: flags.bool("link"),
        parents: flags.bool("parents"),
        exclude: flags.repeated("exclude"),
        json,
    })
}

fn parse_add(rest: &str, flags: &[String], heredocs: &[Heredoc]) -> Result<Add, ErrorKind> {
    let (args, json) = word_list("ADD", rest)?;
    if args.len() < 2 {
        return Err(ErrorKind::NoDestination("ADD"));
    }
    let flags = Flags::parse(
        "ADD",
        flags,
        &[
            ("chown", FlagKind::String),
            ("chmod", FlagKind::String),
            ("link", FlagKind::Bool),
            ("keep-git-dir", FlagKind::Bool),
            ("checksum", FlagKind::String),
            ("unpack", FlagKind::Bool),
            ("exclude", FlagKind::Repeated),
        ],
    )?;
    let (sources, dest) = sources_and_dest("ADD", args, heredocs)?;
    Ok(Add {
        sources,
        dest,
        chown: flags.string("chown"),
        chmod: flags.string("chmod"),
        link: flags.bool("link"),
        keep_git_dir: flags.bool("keep-git-dir"),
        checksum: flags.string("checksum"),
        unpack: flags.optional_bool("unpack"),
        exclude: flags.repeated("exclude"),
        json,
    })
}

fn parse_shell(rest: &str, flags: &[String]) -> Result<Vec<String>, ErrorKind> {
    let command = if rest.is_empty() {
        None
    } else {
        Some(command_line("SHELL", rest)?)
    };
    Flags::parse("SHELL", flags, &[])?;
    match command {
        None => Err(ErrorKind::AtLeastOneArgument("SHELL")),
        Some(CommandLine::Exec(args)) if args.is_empty() => {
            Err(ErrorKind::AtLeastOneArgument("SHELL"))
        }
        Some(CommandLine::Exec(args)) => Ok(args),
        Some(CommandLine::Shell(_)) => Err(ErrorKind::JsonRequired("SHELL")),
    }
}

fn parse_healthcheck(rest: &str, flags: &[String]) -> Result<Healthcheck, ErrorKind> {
    let type_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    if type_end == 0 {
        return Err(ErrorKind::AtLeastOneArgument("HEALTHCHECK"));
    }
    let kind = rest[..type_end].to_uppercase();
    let after = rest[type_end..].trim_start();
    let command = if after.is_empty() {
        None
    } else {
        Some(command_line("HEALTHCHECK", after)?)
    };

    if kind == "NONE" {
        if command.is_some() {
            return Err(ErrorKind::HealthcheckNoneArguments);
        }
        // Docker does not look at the flags of HEALTHCHECK NONE.
        return Ok(Healthcheck {
            test: vec!["NONE".to_string()],
            interval: Duration::ZERO,
            timeout: Duration::ZERO,
            start_period: Duration::ZERO,
            start_interval: Duration::ZERO,
            retries: 0,
        });
    }
    let flags = Flags::parse(
        "HEALTHCHECK",
        flags,
        &[
            ("interval", FlagKind::String),
            ("timeout", FlagKind::String),
            ("start-period", FlagKind::String),
            ("start-interval", FlagKind::String),
            ("retries", FlagKind::String),
        ],
    )?;
    if kind != "CMD" {
        return Err(ErrorKind::HealthcheckType(kind));
    }
    let test = match command {
        None => return Err(ErrorKind::HealthcheckMissingCommand),
        Some(CommandLine::Exec(args)) if args.is_empty() => {
            return Err(ErrorKind::HealthcheckMissingCommand)
        }
        Some(CommandLine::Exec(args)) => std::iter::once("CMD".to_string()).chain(args).collect(),
        Some(CommandLine::Shell(command)) => vec!["CMD-SHELL".to_string(), command],
    };
    let retries = match flags.string("retries").filter(|v| !v.is_empty()) {
        None => 0,
        Some(text) => {
            let value: i64 = text
                .parse()
                .ok()
                .filter(|v| i32::try_from(*v).is_ok())
                .ok_or_else(|| ErrorKind::InvalidRetries(text.clone()))?;
            u32::try_from(value).map_err(|_| ErrorKind::NegativeRetries(value))?
        }
    };
    Ok(Healthcheck {
        test,
        interval: interval(&flags, "interval")?,
        timeout: interval(&flags, "timeout")?,
        start_period: interval(&flags, "start-period")?,
        start_interval: interval(&flags, "start-interval")?,
        retries,
    })
}

/// A HEALTHCHECK duration option: absent or zero means unset; otherwise at least 1ms.
fn interval(flags: &Flags, name: &'static str) -> Result<Duration, ErrorKind> {
    let Some(text) = flags.string(name).filter(|v| !v.is_empty()) else {
        return Ok(Duration::ZERO);
    };
    let nanos = parse_go_duration(&text).ok_or_else(|| ErrorKind::InvalidDuration {
        flag: name,
        value: text.clone(),
    })?;
    if nanos == 0 {
        return Ok(Duration::ZERO);
    }
    if nanos < 1_000_000 {
        return Err(ErrorKind::DurationTooShort(name));
    }
    Ok(Duration::from_nanos(
        u64::try_from(nanos).expect("checked positive and below i64::MAX"),
    ))
}

fn parse_onbuild(
    text: &str,
    rest: &str,
    flags: &[String],
    heredocs: Vec<Heredoc>,
    escape: char,
) -> Result<Onbuild, ErrorKind> {
    if rest.is_empty() {
        return Err(ErrorKind::AtLeastOneArgument("ONBUILD"));
    }
    Flags::parse("ONBUILD", flags, &[])?;
    let trigger_keyword = split_command(rest).keyword.to_uppercase();
    match trigger_keyword.as_str() {
        "ONBUILD" => return Err(ErrorKind::OnbuildChain),
        "MAINTAINER" | "FROM" => return Err(ErrorKind::OnbuildTrigger(trigger_keyword)),
        _ => {}
    }
    // The expression is the line without its leading "ONBUILD" (and surrounding blanks);
    // here-document bodies follow it, each ended by its delimiter, as Docker stores them.
    let trimmed = text.trim_start();
    let mut expression = trimmed[trimmed.len().min("ONBUILD".len())..]
        .trim_start()
        .to_string();
    for doc in &heredocs {
        expression.push('\n');
        expression.push_str(&doc.content);
        expression.push_str(&doc.name);
    }
    // Docker rejects a trigger now only for errors of its line syntax; anything else (an
    // unknown instruction, a bad flag) is stored and fails the build that fires it.
    let trigger = match parse_instruction(rest, heredocs, escape) {
        Ok(trigger) => Some(Box::new(trigger)),
        Err(error) if error.is_line_syntax_error() => return Err(error),
        Err(_) => None,
    };
    Ok(Onbuild {
        expression,
        trigger,
    })
}
