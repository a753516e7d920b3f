//! Variable substitution and word splitting, as Docker's builder does it.
//!
//! This is the "shell lexer" the Dockerfile reference describes: it is not a shell. It removes
//! quotes, honours the escape character, and replaces `$NAME` / `${...}` references from the
//! build's ARG and ENV scope. The parser keeps every word raw; the builder calls [`expand`] (or
//! [`expand_words`] for EXPOSE) on the words of the instructions that allow substitution
//! (ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME WORKDIR ONBUILD-triggers and ARG).
//!
//! Supported forms (the set of BuildKit's current lexer, a superset of docker 20.10's, which
//! knew only the first four):
//!
//! | form | value |
//! |---|---|
//! | `$V`, `${V}` | value of V, empty if unset |
//! | `${V:-w}` / `${V-w}` | w if V is unset or empty / unset |
//! | `${V:+w}` / `${V+w}` | w if V is set and not empty / set, else empty |
//! | `${V:?msg}` / `${V?msg}` | error if V is unset or empty / unset |
//! | `${V#p}` / `${V##p}` | V without the shortest / longest prefix matching p |
//! | `${V%p}` / `${V%%p}` | V without the shortest / longest suffix matching p |
//! | `${V/p/r}` / `${V//p/r}` | V with the first / every match of p replaced by r |
//!
//! Patterns know `*`, `?` and escaped characters (no bracket expressions, like BuildKit).
//! Single quotes keep everything literal; inside double quotes the escape character only
//! escapes `"`, `$` and itself; outside quotes it escapes any character.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use thiserror::Error;

/// Where variable values come from (the build's ARG and ENV scope).
pub trait Variables {
    /// The value of `name`, or `None` when it is not set (set-but-empty is `Some("")`).
    fn get(&self, name: &str) -> Option<&str>;
}

impl<S: BuildHasher> Variables for HashMap<String, String, S> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

impl Variables for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        BTreeMap::get(self, name).map(String::as_str)
    }
}

/// `KEY=value` pairs in order; the first definition of a key wins, like Docker's env lists.
impl Variables for [(String, String)] {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Variables for Vec<(String, String)> {
    fn get(&self, name: &str) -> Option<&str> {
        Variables::get(self.as_slice(), name)
    }
}

/// No variables at all.
pub struct NoVariables;

impl Variables for NoVariables {
    fn get(&self, _name: &str) -> Option<&str> {
        None
    }
}

/// Why a word could not be expanded. The message names the word and the problem.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("failed to process {word:?}: {problem}")]
pub struct ExpandError {
    /// The word as written in the Dockerfile.
    pub word: String,
    /// What is wrong with it.
    pub problem: ExpandProblem,
}

/// The individual problems the lexer reports (Docker's wording).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ExpandProblem {
    #[error("unexpected end of statement while looking for matching single-quote")]
    UnterminatedSingleQuote,
    #[error("unexpected end of statement while looking for matching double-quote")]
    UnterminatedDoubleQuote,
    #[error("unexpected end of statement while looking for matching {0}")]
    Unterminated(char),
    #[error("syntax error: missing '}}'")]
    MissingBrace,
    #[error("syntax error: missing '/' in ${{}}")]
    MissingSlash,
    #[error("syntax error: bad substitution")]
    BadSubstitution,
    #[error("unsupported modifier ({0}) in substitution")]
    UnsupportedModifier(String),
    #[error("{name}: {message}")]
    Required { name: String, message: String },
    #[error("invalid pattern ({pattern}) in substitution: invalid escape '\\{escaped}'")]
    InvalidPatternEscape { pattern: String, escaped: char },
}

/// Expands one word: quotes removed, escapes applied, variables substituted; whitespace inside
/// the word is kept (`ENV a="x  y"` stays `x  y`). This is Docker's `ProcessWord`.
pub fn expand(
    word: &str,
    vars: &(impl Variables + ?Sized),
    escape: char,
) -> Result<String, ExpandError> {
    Lexer::new(escape).process(word, vars).map(|(word, _)| word)
}

/// Expands and then splits into words on unquoted whitespace (quoted and escaped whitespace
/// stays inside a word; whitespace from a variable's value splits). Docker's `ProcessWords`,
/// used for EXPOSE (`EXPOSE $PORTS` with `PORTS="80 443"` exposes two ports).
pub fn expand_words(
    word: &str,
    vars: &(impl Variables + ?Sized),
    escape: char,
) -> Result<Vec<String>, ExpandError> {
    Lexer::new(escape)
        .process(word, vars)
        .map(|(_, words)| words)
}

/// The lexer with BuildKit's switches. The public functions above use the default switches;
/// the parser uses the raw ones to find heredoc markers without changing the text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lexer {
    pub(crate) escape: char,
    /// Keep quote characters in the output.
    pub(crate) raw_quotes: bool,
    /// Keep escape characters in the output.
    pub(crate) raw_escapes: bool,
    /// Leave references to unset variables as written instead of expanding them to "".
    pub(crate) skip_unset: bool,
}

impl Lexer {
    pub(crate) fn new(escape: char) -> Lexer {
        Lexer {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_unset: false,
        }
    }

    /// Returns the expanded word and its split into words.
    pub(crate) fn process(
        &self,
        word: &str,
        vars: &(impl Variables + ?Sized),
    ) -> Result<(String, Vec<String>), ExpandError> {
        let chars: Vec<char> = word.chars().collect();
        let mut state = State {
            lexer: self,
            vars,
            chars: &chars,
            pos: 0,
        };
        state
            .process_until(None, self.raw_escapes)
            .map_err(|problem| ExpandError {
                word: word.to_string(),
                problem,
            })
    }
}

struct State<'a, V: Variables + ?Sized> {
    lexer: &'a Lexer,
    vars: &'a V,
    chars: &'a [char],
    pos: usize,
}

/// Accumulates the split words: Docker's `wordsStruct`. Empty quoted strings do not make a
/// word on their own (`""` alone yields no word), exactly as Docker does.
#[derive(Default)]
struct Words {
    words: Vec<String>,
    current: String,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() {
            if self.in_word && !self.current.is_empty() {
                self.words.push(std::mem::take(&mut self.current));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(ch);
        }
    }

    fn add_raw_char(&mut self, ch: char) {
        self.current.push(ch);
        self.in_word = true;
    }

    fn add_string(&mut self, s: &str) {
        s.chars().for_each(|c| self.add_char(c));
    }

    fn add_raw_string(&mut self, s: &str) {
        self.current.push_str(s);
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        if !self.current.is_empty() {
            self.words.push(self.current);
        }
        self.words
    }
}

type Step<T> = Result<T, ExpandProblem>;

impl<V: Variables + ?Sized> State<'_, V> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let ch = self.peek();
        if ch.is_some() {
            self.pos += 1;
        }
        ch
    }

    fn lookup(&self, name: &str) -> Option<String> {
        self.vars.get(name).map(str::to_string)
    }

    /// Processes until `stop` (consumed) or the end of input when `stop` is `None`.
    fn process_until(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Step<(String, Vec<String>)> {
        let mut result = String::new();
        let mut words = Words::default();
        let escape = self.lexer.escape;
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.pos += 1;
                return Ok((result, words.finish()));
            }
            match ch {
                '$' => {
                    let value = self.dollar()?;
                    result.push_str(&value);
                    words.add_string(&value);
                }
                '\'' => {
                    let value = self.single_quote()?;
                    result.push_str(&value);
                    words.add_raw_string(&value);
                }
                '"' => {
                    let value = self.double_quote(raw_escapes)?;
                    result.push_str(&value);
                    words.add_raw_string(&value);
                }
                _ => {
                    self.pos += 1;
                    if ch == escape {
                        if raw_escapes {
                            words.add_raw_char(ch);
                            result.push(ch);
                        }
                        // An escape at the very end is dropped.
                        let Some(escaped) = self.next() else { break };
                        words.add_raw_char(escaped);
                        result.push(escaped);
                    } else {
                        words.add_char(ch);
                        result.push(ch);
                    }
                }
            }
        }
        match stop {
            Some(stop) => Err(ExpandProblem::Unterminated(stop)),
            None => Ok((result, words.finish())),
        }
    }

    fn single_quote(&mut self) -> Step<String> {
        let mut out = String::new();
        let quote = self.next().expect("caller saw a quote");
        if self.lexer.raw_quotes {
            out.push(quote);
        }
        loop {
            match self.next() {
                None => return Err(ExpandProblem::UnterminatedSingleQuote),
                Some('\'') => {
                    if self.lexer.raw_quotes {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(ch) => out.push(ch),
            }
        }
    }

    fn double_quote(&mut self, raw_escapes: bool) -> Step<String> {
        let mut out = String::new();
        let quote = self.next().expect("caller saw a quote");
        if self.lexer.raw_quotes {
            out.push(quote);
        }
        let escape = self.lexer.escape;
        loop {
            match self.peek() {
                None => return Err(ExpandProblem::UnterminatedDoubleQuote),
                Some('"') => {
                    self.pos += 1;
                    if self.lexer.raw_quotes {
                        out.push('"');
                    }
                    return Ok(out);
                }
                Some('$') => {
                    let value = self.dollar()?;
                    out.push_str(&value);
                }
                Some(mut ch) => {
                    self.pos += 1;
                    if ch == escape {
                        if raw_escapes {
                            out.push(ch);
                        }
                        match self.peek() {
                            // An escape just before the end: dropped (the missing quote is
                            // reported on the next turn of the loop).
                            None => continue,
                            Some(next) if next == '"' || next == '$' || next == escape => {
                                self.pos += 1;
                                ch = next;
                            }
                            // Any other escaped character keeps its escape.
                            Some(_) => {}
                        }
                    }
                    out.push(ch);
                }
            }
        }
    }

    fn dollar(&mut self) -> Step<String> {
        self.pos += 1; // the '$'
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".to_string());
            }
            return Ok(match self.lookup(&name) {
                Some(value) => value,
                None if self.lexer.skip_unset => format!("${name}"),
                None => String::new(),
            });
        }
        self.pos += 1; // the '{'
        match self.peek() {
            None => return Err(ExpandProblem::MissingBrace),
            Some('{' | '}' | ':') => return Err(ExpandProblem::BadSubstitution),
            Some(_) => {}
        }
        let name = self.name();
        let Some(mut modifier) = self.next() else {
            return Err(ExpandProblem::MissingBrace);
        };
        let mut written = modifier.to_string();
        match modifier {
            '}' => Ok(match self.lookup(&name) {
                Some(value) => value,
                None if self.lexer.skip_unset => format!("${{{name}}}"),
                None => String::new(),
            }),
            ':' | '+' | '-' | '?' | '#' | '%' => {
                let null_is_unset = modifier == ':';
                if null_is_unset {
                    let Some(next) = self.next() else {
                        return Err(ExpandProblem::MissingBrace);
                    };
                    modifier = next;
                    written.push(next);
                }
                let pattern_like = modifier == '#' || modifier == '%';
                if null_is_unset && pattern_like {
                    return Err(ExpandProblem::UnsupportedModifier(written));
                }
                let word = self.nested_until('}', pattern_like, ExpandProblem::MissingBrace)?;
                let value = self.lookup(&name);
                if self.lexer.skip_unset && value.is_none() {
                    return Ok(format!("${{{name}{written}{word}}}"));
                }
                let empty = value.as_deref().is_none_or(str::is_empty);
                let unset = value.is_none() || (null_is_unset && empty);
                match modifier {
                    '-' => Ok(if unset {
                        word
                    } else {
                        value.unwrap_or_default()
                    }),
                    '+' => Ok(if unset { String::new() } else { word }),
                    '?' => match value {
                        Some(value) if !(null_is_unset && value.is_empty()) => Ok(value),
                        Some(_) => Err(required(&name, word, "is not allowed to be empty")),
                        None => Err(required(&name, word, "is not allowed to be unset")),
                    },
                    '#' | '%' => {
                        let (longest, pattern) = match word.strip_prefix(modifier) {
                            Some(rest) => (true, rest),
                            None => (false, word.as_str()),
                        };
                        let pattern = Pattern::compile(pattern)?;
                        let value = value.unwrap_or_default();
                        Ok(if modifier == '#' {
                            pattern.trim_prefix(&value, longest)
                        } else {
                            pattern.trim_suffix(&value, longest)
                        })
                    }
                    _ => Err(ExpandProblem::UnsupportedModifier(written)),
                }
            }
            '/' => {
                let replace_all = self.peek() == Some('/');
                if replace_all {
                    self.pos += 1;
                }
                let pattern_text = self.nested_until('/', true, ExpandProblem::MissingSlash)?;
                let replacement = self.nested_until('}', true, ExpandProblem::MissingBrace)?;
                let value = self.lookup(&name);
                if self.lexer.skip_unset && value.is_none() {
                    return Ok(format!("${{{name}/{pattern_text}/{replacement}}}"));
                }
                let pattern = Pattern::compile(&pattern_text)?;
                Ok(pattern.replace(&value.unwrap_or_default(), &replacement, replace_all))
            }
            _ => Err(ExpandProblem::UnsupportedModifier(written)),
        }
    }

    /// The word inside `${...}` up to `stop`; a missing `stop` at the end of input is reported
    /// as `at_end`.
    fn nested_until(
        &mut self,
        stop: char,
        raw_escapes: bool,
        at_end: ExpandProblem,
    ) -> Step<String> {
        match self.process_until(Some(stop), raw_escapes) {
            Ok((word, _)) => Ok(word),
            Err(_) if self.peek().is_none() => Err(at_end),
            Err(other) => Err(other),
        }
    }

    /// A variable name: letters, digits and `_`; or a run of digits; or one special parameter.
    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_numeric() {
                while let Some(digit) = self.peek().filter(|c| c.is_numeric()) {
                    name.push(digit);
                    self.pos += 1;
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.pos += 1;
                return ch.to_string();
            }
            if !ch.is_alphanumeric() && ch != '_' {
                break;
            }
            name.push(ch);
            self.pos += 1;
        }
        name
    }
}

fn required(name: &str, word: String, default_message: &str) -> ExpandProblem {
    let message = if word.is_empty() {
        default_message.to_string()
    } else {
        word
    };
    ExpandProblem::Required {
        name: name.to_string(),
        message,
    }
}

/// A shell pattern of `${V#p}`, `${V%p}` and `${V/p/r}`: `*` any string, `?` any character,
/// `\c` the character c literally (`\}` and `\/` are just the escaped delimiters).
#[derive(Debug)]
struct Pattern {
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    Star,
    AnyChar,
    Literal(char),
}

impl Pattern {
    fn compile(text: &str) -> Step<Pattern> {
        let mut tokens = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(ch) = chars.next() {
            match ch {
                '*' => tokens.push(Token::Star),
                '?' => tokens.push(Token::AnyChar),
                '\\' => match chars.peek().copied() {
                    // The escape of a delimiter is not part of the pattern.
                    Some('}' | '/') => {}
                    Some(escaped @ ('*' | '?' | '\\')) => {
                        chars.next();
                        tokens.push(Token::Literal(escaped));
                    }
                    Some(escaped) => {
                        return Err(ExpandProblem::InvalidPatternEscape {
                            pattern: text.to_string(),
                            escaped,
                        })
                    }
                    None => {
                        return Err(ExpandProblem::InvalidPatternEscape {
                            pattern: text.to_string(),
                            escaped: ' ',
                        })
                    }
                },
                other => tokens.push(Token::Literal(other)),
            }
        }
        Ok(Pattern { tokens })
    }

    /// Whether the pattern matches all of `text` (dynamic programming: linear in pattern
    /// times text, whatever the stars).
    fn matches(&self, text: &[char]) -> bool {
        let n = text.len();
        let mut next: Vec<bool> = (0..=n).map(|j| j == n).collect();
        let mut current = vec![false; n + 1];
        for token in self.tokens.iter().rev() {
            for j in (0..=n).rev() {
                current[j] = match token {
                    Token::Star => next[j] || (j < n && current[j + 1]),
                    Token::AnyChar => j < n && next[j + 1],
                    Token::Literal(c) => text.get(j) == Some(c) && next[j + 1],
                };
            }
            std::mem::swap(&mut current, &mut next);
        }
        next[0]
    }

    fn trim_prefix(&self, value: &str, longest: bool) -> String {
        let chars: Vec<char> = value.chars().collect();
        let mut ends: Box<dyn Iterator<Item = usize>> = if longest {
            Box::new((0..=chars.len()).rev())
        } else {
            Box::new(0..=chars.len())
        };
        match ends.find(|&end| self.matches(&chars[..end])) {
            Some(end) => chars[end..].iter().collect(),
            None => value.to_string(),
        }
    }

    fn trim_suffix(&self, value: &str, longest: bool) -> String {
        let chars: Vec<char> = value.chars().collect();
        let mut starts: Box<dyn Iterator<Item = usize>> = if longest {
            Box::new(0..=chars.len())
        } else {
            Box::new((0..=chars.len()).rev())
        };
        match starts.find(|&start| self.matches(&chars[start..])) {
            Some(start) => chars[..start].iter().collect(),
            None => value.to_string(),
        }
    }

    /// The longest match starting at `start`, as an end index.
    fn longest_match_at(&self, chars: &[char], start: usize) -> Option<usize> {
        (start..=chars.len())
            .rev()
            .find(|&end| self.matches(&chars[start..end]))
    }

    /// Replaces the leftmost-longest match (or every non-overlapping one) by `replacement`.
    fn replace(&self, value: &str, replacement: &str, all: bool) -> String {
        let chars: Vec<char> = value.chars().collect();
        let mut out = String::new();
        let mut pos = 0;
        let mut last_match_end: Option<usize> = None;
        while pos <= chars.len() {
            match self.longest_match_at(&chars, pos) {
                // An empty match right after a previous match is ignored, as Go's ReplaceAll does.
                Some(end) if !(end == pos && last_match_end == Some(pos)) => {
                    out.push_str(replacement);
                    last_match_end = Some(end);
                    if !all {
                        out.extend(&chars[end..]);
                        return out;
                    }
                    if end > pos {
                        pos = end;
                        continue;
                    }
                }
                _ => {}
            }
            if let Some(&ch) = chars.get(pos) {
                out.push(ch);
            }
            pos += 1;
        }
        out
    }
}
