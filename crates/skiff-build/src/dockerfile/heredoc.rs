//! Here-documents (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`) on RUN, COPY and ADD.

use std::borrow::Cow;

use serde::Serialize;

use super::shell::{Lexer, NoVariables};

/// One here-document: its delimiter word and the lines up to the delimiter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heredoc {
    /// The delimiter with quotes removed (`EOF` for `<<"EOF"`).
    pub name: String,
    /// The body exactly as written, line terminators included, without the delimiter line.
    pub content: String,
    /// `<<-`: leading tabs are stripped from the body lines (see [`Heredoc::body`]).
    pub chomp: bool,
    /// The delimiter was unquoted: variables in the body are expanded (by the builder for
    /// COPY/ADD; by the shell for RUN).
    pub expand: bool,
    /// The file descriptor before `<<` (`3<<EOF`), 0 when none was written.
    pub fd: u32,
}

impl Heredoc {
    /// The body with leading tabs removed from every line when `<<-` was used.
    pub fn body(&self) -> Cow<'_, str> {
        if !self.chomp {
            return Cow::Borrowed(&self.content);
        }
        let mut out = String::with_capacity(self.content.len());
        for line in self.content.split_inclusive('\n') {
            out.push_str(line.trim_start_matches('\t'));
        }
        Cow::Owned(out)
    }
}

/// The here-documents a (joined) instruction line opens, in order. Docker splits the whole
/// line into shell words without touching quotes, escapes or variables, and takes every word
/// of the form `[digits]<<[-]WORD` as a here-document.
pub(crate) fn heredocs_in_line(line: &str) -> Vec<Heredoc> {
    if !line.contains("<<") {
        return Vec::new();
    }
    let lexer = Lexer {
        raw_quotes: true,
        raw_escapes: true,
        skip_unset: true,
        ..Lexer::new('\\')
    };
    let Ok((_, words)) = lexer.process(line, &NoVariables) else {
        return Vec::new();
    };
    words
        .iter()
        .filter_map(|word| parse_heredoc_word(word))
        .collect()
}

/// `[digits]<<[-]WORD` → a here-document with an empty body; `None` for any other word.
pub(crate) fn parse_heredoc_word(word: &str) -> Option<Heredoc> {
    let digits = word
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(word.len());
    let rest = word[digits..].strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let fd = if digits == 0 {
        0
    } else {
        word[..digits].parse().unwrap_or(u32::MAX)
    };

    // The delimiter is one shell word. Lexing it with and without quote removal tells whether
    // any part was quoted: a quoted delimiter turns variable expansion of the body off.
    let plain = Lexer {
        skip_unset: true,
        ..Lexer::new('\\')
    };
    let (_, words) = plain.process(rest, &NoVariables).ok()?;
    let [name] = words.as_slice() else {
        return None;
    };
    let raw = Lexer {
        raw_quotes: true,
        ..plain
    };
    let (_, raw_words) = raw.process(rest, &NoVariables).ok()?;
    let quotes = |s: &str| s.chars().filter(|&c| c == '\'' || c == '"').count();
    let expand = raw_words
        .first()
        .is_some_and(|raw_name| quotes(name) == quotes(raw_name));
    Some(Heredoc {
        name: name.clone(),
        content: String::new(),
        chomp,
        expand,
        fd,
    })
}
