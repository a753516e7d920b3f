//! Parse errors: the line, and what is wrong in Docker's words (so users recognise them).

use thiserror::Error;

/// A Dockerfile that Docker would reject. `line` is the 1-based line where the instruction
/// (or directive) starts.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Dockerfile parse error on line {line}: {kind}")]
pub struct ParseError {
    pub line: usize,
    pub kind: ErrorKind,
}

impl ErrorKind {
    /// Errors Docker's line parser raises (as opposed to its instruction checks). Only these
    /// reject an ONBUILD trigger when it is defined.
    pub(crate) fn is_line_syntax_error(&self) -> bool {
        matches!(
            self,
            ErrorKind::NameWithoutValue(_)
                | ErrorKind::MissingEquals { .. }
                | ErrorKind::JsonNotStrings(_)
                | ErrorKind::UnterminatedHeredoc { .. }
        )
    }
}

impl ParseError {
    pub(crate) fn new(line: usize, kind: ErrorKind) -> ParseError {
        ParseError { line, kind }
    }
}

/// Every way a Dockerfile can be rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ErrorKind {
    #[error("file with no instructions")]
    NoInstructions,
    #[error("{0} is not allowed before the first FROM (only ARG is); start a build stage with FROM first")]
    NoBuildStage(String),
    #[error("the Dockerfile has no FROM instruction, so there is no stage to build")]
    NoFrom,
    #[error("unknown instruction: {0}")]
    UnknownInstruction(String),

    #[error("only one {0} parser directive can be used")]
    RepeatedDirective(&'static str),
    #[error("invalid escape token '{0}' does not match ` or \\")]
    InvalidEscape(String),

    #[error("{0} requires at least one argument")]
    AtLeastOneArgument(&'static str),
    #[error("{0} requires exactly one argument")]
    ExactlyOneArgument(&'static str),
    #[error("{0} requires at least two arguments, but only one was provided. Destination could not be determined")]
    NoDestination(&'static str),
    #[error("{0} names can not be blank")]
    BlankName(&'static str),
    #[error("{0} must have two arguments")]
    NameWithoutValue(&'static str),
    #[error(
        "{instruction}: syntax error - can't find = in {word:?}. Must be of the form: name=value"
    )]
    MissingEquals {
        instruction: &'static str,
        word: String,
    },
    #[error("{0}: when using JSON array syntax, arrays must be comprised of strings only")]
    JsonNotStrings(&'static str),
    #[error("{0} requires the arguments to be in JSON form, like {0} [\"/bin/sh\", \"-c\"]")]
    JsonRequired(&'static str),

    #[error("FROM requires either one or three arguments (FROM image [AS name])")]
    FromArguments,
    #[error(
        "invalid name for build stage: {0:?}, name can't start with a number or contain symbols"
    )]
    InvalidStageName(String),
    #[error("duplicate stage name {0:?}: a stage name already used (names are case-insensitive)")]
    DuplicateStageName(String),

    #[error("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")]
    OnbuildChain,
    #[error("{0} isn't allowed as an ONBUILD trigger")]
    OnbuildTrigger(String),

    #[error("HEALTHCHECK NONE takes no arguments")]
    HealthcheckNoneArguments,
    #[error("Missing command after HEALTHCHECK CMD")]
    HealthcheckMissingCommand,
    #[error("Unknown type {0:?} in HEALTHCHECK (try CMD)")]
    HealthcheckType(String),
    #[error("HEALTHCHECK --{flag}: invalid duration {value:?} (use a number with a unit, like 30s or 1m30s)")]
    InvalidDuration { flag: &'static str, value: String },
    #[error("HEALTHCHECK: Interval \"{0}\" cannot be less than 1ms")]
    DurationTooShort(&'static str),
    #[error("HEALTHCHECK --retries: invalid number {0:?}")]
    InvalidRetries(String),
    #[error("HEALTHCHECK: --retries cannot be negative ({0})")]
    NegativeRetries(i64),

    #[error("VOLUME specified can not be an empty string")]
    EmptyVolume,
    #[error("{0} cannot accept a heredoc as a destination")]
    HeredocDestination(&'static str),
    #[error("unterminated heredoc: no line {name:?} closes it")]
    UnterminatedHeredoc { name: String },

    #[error("{instruction}: flag arguments should start with -- : {flag}")]
    FlagWithoutDashes {
        instruction: &'static str,
        flag: String,
    },
    #[error("{instruction}: unknown flag: --{flag}")]
    UnknownFlag {
        instruction: &'static str,
        flag: String,
    },
    #[error("{instruction}: duplicate flag specified: --{flag}")]
    DuplicateFlag {
        instruction: &'static str,
        flag: String,
    },
    #[error("{instruction}: missing a value on flag: --{flag} (write --{flag}=VALUE)")]
    FlagMissingValue {
        instruction: &'static str,
        flag: String,
    },
    #[error("{instruction}: expecting boolean value for flag {flag}, not: {value}")]
    FlagNotBoolean {
        instruction: &'static str,
        flag: String,
        value: String,
    },
    #[error("RUN: unsupported network mode {0:?} (use default, none or host)")]
    UnsupportedNetwork(String),
    #[error("RUN: unsupported security mode {0:?} (use sandbox or insecure)")]
    UnsupportedSecurity(String),
    #[error("RUN --mount: 'from' doesn't support variable expansion, define alias stage instead")]
    MountFromVariable,
}
