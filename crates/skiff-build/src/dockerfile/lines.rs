//! From bytes to logical lines: parser directives, comments, blank lines, line continuations
//! and here-document bodies. Docker's rules, in the order it applies them:
//!
//! - A UTF-8 byte-order mark at the very start is dropped; lines end at `\n`, and trailing
//!   `\r`/`\n` characters are not part of a line.
//! - Parser directives (`# syntax=`, `# escape=`, `# check=`) are recognised only while every
//!   line so far was a directive. The first other line (a comment, a blank line, an
//!   instruction, or an unknown `# key=value`) ends the directive section. Keys are
//!   case-insensitive; each may appear once.
//! - A line whose first non-blank character is `#` is a comment, also inside a continuation
//!   (where it is dropped without ending the instruction). `#` elsewhere is not a comment.
//! - A line ending with the escape character (then optional spaces/tabs) continues on the next
//!   line, unless that escape character is itself escaped. Blank lines inside a continuation
//!   are dropped (Docker warns about them). Leading whitespace of continuation lines is kept.
//! - After an instruction that may carry here-documents (RUN, COPY, ADD, or ONBUILD of one of
//!   them, in shell form), the body of each `<<WORD` follows on the next lines, up to a line
//!   that is exactly WORD (after leading tabs, for `<<-WORD`).

use super::error::{ErrorKind, ParseError};
use super::heredoc::{heredocs_in_line, Heredoc};

/// The directives found at the top of a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Directives {
    /// `# syntax=` value (a frontend image reference; skiff has one built-in frontend).
    pub syntax: Option<String>,
    /// `# check=` value (BuildKit's linter configuration; kept, not interpreted).
    pub check: Option<String>,
    /// The escape character: `\` (default) or `` ` ``.
    pub escape: char,
}

impl Default for Directives {
    /// No directives: the escape character is `\`.
    fn default() -> Directives {
        Directives {
            syntax: None,
            check: None,
            escape: '\\',
        }
    }
}

/// One instruction's text, continuation lines joined, with its line span (1-based).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LogicalLine {
    pub start_line: usize,
    pub end_line: usize,
    pub text: String,
    /// Blank lines were dropped from inside the continuation.
    pub had_empty_continuation: bool,
}

/// Splits `source` into logical lines. After an instruction that takes here-documents, the
/// caller reads their bodies with [`LineReader::heredoc_bodies`] before asking for the next
/// line.
pub(crate) struct LineReader<'a> {
    lines: Vec<&'a str>,
    next: usize,
    pub directives: Directives,
    directives_done: bool,
    seen_directives: Vec<&'static str>,
}

impl<'a> LineReader<'a> {
    pub fn new(source: &'a str) -> LineReader<'a> {
        let source = source.strip_prefix('\u{feff}').unwrap_or(source);
        // Lines keep their terminator: here-document bodies are copied byte for byte.
        let lines: Vec<&str> = source.split_inclusive('\n').collect();
        LineReader {
            lines,
            next: 0,
            directives: Directives::default(),
            directives_done: false,
            seen_directives: Vec::new(),
        }
    }

    /// The next logical line, or `None` at the end of the file.
    pub fn next_line(&mut self) -> Result<Option<LogicalLine>, ParseError> {
        while let Some(raw) = self.take() {
            let number = self.next;
            let line = trim_newline(raw).trim_start();
            self.directive(line, number)?;
            if is_comment(line) {
                continue;
            }
            let (first, mut continues) = self.trim_continuation(line);
            if !continues && first.is_empty() {
                continue;
            }
            let mut text = first.to_string();
            let mut had_empty_continuation = false;
            while continues {
                let Some(raw) = self.take() else { break };
                let line = trim_newline(raw);
                if is_comment(line) {
                    continue;
                }
                if line.trim_start().is_empty() {
                    had_empty_continuation = true;
                    continue;
                }
                let (part, more) = self.trim_continuation(line);
                text.push_str(part);
                continues = more;
            }
            return Ok(Some(LogicalLine {
                start_line: number,
                end_line: self.next,
                text,
                had_empty_continuation,
            }));
        }
        Ok(None)
    }

    /// Reads the bodies of the here-documents named on `line` (an instruction that takes them).
    pub fn heredoc_bodies(
        &mut self,
        line: &LogicalLine,
    ) -> Result<(Vec<Heredoc>, usize), ParseError> {
        let mut docs = heredocs_in_line(&line.text);
        for doc in &mut docs {
            let mut terminated = false;
            while let Some(raw) = self.take() {
                let mut candidate = trim_newline(raw);
                if doc.chomp {
                    candidate = candidate.trim_start_matches('\t');
                }
                if candidate == doc.name {
                    terminated = true;
                    break;
                }
                doc.content.push_str(raw);
            }
            if !terminated {
                return Err(ParseError::new(
                    line.start_line,
                    ErrorKind::UnterminatedHeredoc {
                        name: doc.name.clone(),
                    },
                ));
            }
        }
        Ok((docs, self.next))
    }

    fn take(&mut self) -> Option<&'a str> {
        let line = self.lines.get(self.next).copied();
        if line.is_some() {
            self.next += 1;
        }
        line
    }

    /// Looks for a parser directive on a line (already left-trimmed).
    fn directive(&mut self, line: &str, number: usize) -> Result<(), ParseError> {
        if self.directives_done {
            return Ok(());
        }
        let Some((key, value)) = parse_directive(line) else {
            self.directives_done = true;
            return Ok(());
        };
        let key = match key.to_ascii_lowercase().as_str() {
            "syntax" => "syntax",
            "escape" => "escape",
            "check" => "check",
            _ => {
                self.directives_done = true;
                return Ok(());
            }
        };
        if self.seen_directives.contains(&key) {
            return Err(ParseError::new(number, ErrorKind::RepeatedDirective(key)));
        }
        self.seen_directives.push(key);
        match key {
            "syntax" => self.directives.syntax = Some(value.to_string()),
            "check" => self.directives.check = Some(value.to_string()),
            _ => {
                self.directives.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    other => {
                        return Err(ParseError::new(
                            number,
                            ErrorKind::InvalidEscape(other.to_string()),
                        ))
                    }
                }
            }
        }
        Ok(())
    }

    /// Strips a trailing line-continuation escape; returns the rest and whether it continues.
    fn trim_continuation<'l>(&self, line: &'l str) -> (&'l str, bool) {
        let escape = self.directives.escape;
        let body = line.trim_end_matches([' ', '\t']);
        let Some(before) = body.strip_suffix(escape) else {
            return (line, false);
        };
        // An escaped escape character at the end ("foo \\") is not a continuation.
        if before.ends_with(escape) {
            return (line, false);
        }
        (before, true)
    }
}

/// `# key = value` → (key, value). The key starts with a letter and has letters and digits;
/// the value runs to the end of the line without its trailing whitespace.
fn parse_directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('#')?.trim_start();
    let key_len = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let key = &rest[..key_len];
    if !key.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let value = rest[key_len..].trim_start().strip_prefix('=')?.trim();
    if value.is_empty() {
        return None;
    }
    Some((key, value))
}

fn trim_newline(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}
