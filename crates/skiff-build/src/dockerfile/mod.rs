//! The Dockerfile language: parsing into a typed [`Dockerfile`], and the variable expansion
//! the builder applies to instruction words.
//!
//! ```
//! use skiff_build::dockerfile::{self, InstructionKind};
//! use std::collections::HashMap;
//!
//! let df = dockerfile::parse("FROM alpine AS base\nENV greeting=\"hello world\"\n").unwrap();
//! let InstructionKind::Env(pairs) = &df.stages[0].instructions[0].kind else { unreachable!() };
//! assert_eq!(pairs[0].value, "\"hello world\""); // raw, as written
//! let vars: HashMap<String, String> = HashMap::new();
//! let value = dockerfile::expand(&pairs[0].value, &vars, df.directives.escape).unwrap();
//! assert_eq!(value, "hello world");
//! ```
//!
//! Behaviour follows Docker's parser (moby/buildkit `frontend/dockerfile/parser` and
//! `instructions`); where skiff deliberately differs it says so on the item. Docker 20.10
//! rejects some newer syntax that skiff accepts like current Docker does: here-documents,
//! `${V-w}`-style and pattern substitutions, `HEALTHCHECK --start-interval`, zero HEALTHCHECK
//! durations and retries, RUN flags.
//!
//! # What the builder must do with the AST (checked against docker 20.10's builder)
//!
//! - Expand words in file order with the scope at that point: declared ARGs (a stage ARG
//!   without default takes the global ARG's value) overridden by ENV. The pairs of one ENV
//!   instruction do not see each other (`ENV a=1 b=$a` sets `b` empty unless `a` was set
//!   before). ENV and LABEL keys are expanded too; labels are not variables.
//! - Words of COPY, ADD and VOLUME given in JSON form are expanded as well; EXPOSE words use
//!   [`expand_words`] (one word may become several ports).
//! - Shell-form CMD/ENTRYPOINT/RUN prepend the SHELL (default `/bin/sh -c`). A bare `CMD`
//!   gives `["/bin/sh", "-c"]`; a bare `ENTRYPOINT` or `ENTRYPOINT []` gives a null
//!   entrypoint; ENTRYPOINT resets CMD unless the Dockerfile set CMD before it.
//! - HEALTHCHECK durations and retries of zero inherit the previous values (Docker merges
//!   the healthcheck on commit), also under `HEALTHCHECK NONE`.
//! - A scratch image gets `PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`.
//! - A base image's ONBUILD triggers ([`parse_triggers`]) run right after FROM, once: the
//!   new image's config has no OnBuild unless the Dockerfile adds some.

mod ast;
mod duration;
mod error;
mod flags;
mod heredoc;
mod instructions;
mod lines;
mod shell;
mod values;
mod words;

pub use ast::*;
pub use error::{ErrorKind, ParseError};
pub use heredoc::Heredoc;
pub use lines::Directives;
pub use shell::{expand, expand_words, ExpandError, ExpandProblem, NoVariables, Variables};
pub use values::{
    parse_mount, parse_ports, split_user, MountSpec, MountType, PortProtocol, PortSpec, ValueError,
};

use instructions::{parse_instruction, takes_heredocs};
use lines::LineReader;

/// Parses a Dockerfile. Errors carry the line and Docker's message; the first error wins.
///
/// Instruction flags must be written `--flag=value`, as Docker documents and docker 20.10
/// requires.
pub fn parse(source: &str) -> Result<Dockerfile, ParseError> {
    let (instructions, directives, warnings) = parse_instructions(source)?;
    let (meta_args, stages) = into_stages(instructions)?;
    Ok(Dockerfile {
        directives,
        meta_args,
        stages,
        warnings,
    })
}

/// Parses the ONBUILD triggers of a base image (its config's `OnBuild` list), which run
/// right after its FROM. Like Docker, the triggers are read as one Dockerfile fragment with
/// the default escape character, and may not be ONBUILD, FROM or MAINTAINER.
pub fn parse_triggers<S: AsRef<str>>(triggers: &[S]) -> Result<Vec<Instruction>, ParseError> {
    let joined = triggers
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join("\n");
    let (instructions, _, _) = match parse_instructions(&joined) {
        Err(ParseError {
            kind: ErrorKind::NoInstructions,
            ..
        }) => return Ok(Vec::new()),
        other => other?,
    };
    for instruction in &instructions {
        match &instruction.kind {
            InstructionKind::Onbuild(_) => {
                return Err(ParseError::new(
                    instruction.start_line,
                    ErrorKind::OnbuildChain,
                ))
            }
            kind @ (InstructionKind::From(_) | InstructionKind::Maintainer(_)) => {
                let kind = ErrorKind::OnbuildTrigger(kind.keyword().to_string());
                return Err(ParseError::new(instruction.start_line, kind));
            }
            _ => {}
        }
    }
    Ok(instructions)
}

/// Every instruction in order, with the directives and warnings.
fn parse_instructions(
    source: &str,
) -> Result<(Vec<Instruction>, Directives, Vec<Warning>), ParseError> {
    let mut reader = LineReader::new(source);
    let mut instructions = Vec::new();
    let mut warnings = Vec::new();
    while let Some(line) = reader.next_line()? {
        let escape = reader.directives.escape;
        let (heredocs, end_line) = if takes_heredocs(&line.text) {
            reader.heredoc_bodies(&line)?
        } else {
            (Vec::new(), line.end_line)
        };
        if line.had_empty_continuation {
            warnings.push(Warning {
                line: line.start_line,
                message: format!(
                    "Empty continuation line found in: {} (empty continuation lines will become errors in a future release)",
                    line.text.trim()
                ),
            });
        }
        let kind = parse_instruction(&line.text, heredocs, escape)
            .map_err(|kind| ParseError::new(line.start_line, kind))?;
        instructions.push(Instruction {
            start_line: line.start_line,
            end_line,
            source: line.text.trim().to_string(),
            kind,
        });
    }
    if instructions.is_empty() {
        let line_count = source.lines().count().max(1);
        return Err(ParseError::new(line_count, ErrorKind::NoInstructions));
    }
    Ok((instructions, reader.directives.clone(), warnings))
}

/// Groups instructions into stages; ARGs before the first FROM are the global (meta) ARGs.
fn into_stages(
    instructions: Vec<Instruction>,
) -> Result<(Vec<Instruction>, Vec<Stage>), ParseError> {
    let mut meta_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    let mut last_line = 1;
    for instruction in instructions {
        last_line = instruction.start_line;
        if let InstructionKind::From(from) = &instruction.kind {
            if let Some(name) = &from.name {
                if stages.iter().any(|s| s.from.name.as_ref() == Some(name)) {
                    let kind = ErrorKind::DuplicateStageName(name.clone());
                    return Err(ParseError::new(instruction.start_line, kind));
                }
            }
            stages.push(Stage {
                from: from.clone(),
                start_line: instruction.start_line,
                source: instruction.source.clone(),
                instructions: Vec::new(),
            });
            continue;
        }
        match stages.last_mut() {
            Some(stage) => stage.instructions.push(instruction),
            None if matches!(instruction.kind, InstructionKind::Arg(_)) => {
                meta_args.push(instruction)
            }
            None => {
                let kind = ErrorKind::NoBuildStage(instruction.kind.keyword().to_string());
                return Err(ParseError::new(instruction.start_line, kind));
            }
        }
    }
    if stages.is_empty() {
        return Err(ParseError::new(last_line, ErrorKind::NoFrom));
    }
    Ok((meta_args, stages))
}
