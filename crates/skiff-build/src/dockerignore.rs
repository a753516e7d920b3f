//! `.dockerignore`: which files of the build context are not sent to the build.
//!
//! Docker's rules (moby/patternmatcher and its ignorefile reader):
//! - one pattern per line; a line starting with `#` is a comment; blank lines are skipped;
//!   surrounding whitespace is trimmed; a UTF-8 byte-order mark is ignored;
//! - patterns are cleaned like paths (`./a//b/` is `a/b`, `a/../b` is `b`) and a leading `/`
//!   is dropped: patterns are relative to the context root;
//! - `*` matches any run of characters except `/`, `?` one character except `/`, `[...]` a
//!   character class (`[^...]` negated), `\c` the character c; `**` matches any number of
//!   directories (`**/x`, `a/**/x`, `a/**`); matching is on whole paths;
//! - a path is excluded when it, or any of its parent directories, matches; `!pattern` is an
//!   exception that re-includes; patterns apply in order and the last one that matches wins;
//! - the Dockerfile and `.dockerignore` are always sent ([`DockerIgnore::keep_build_files`]).
//!
//! Walking a context: when a directory is excluded and [`DockerIgnore::may_reinclude_under`]
//! is false, nothing inside it can be sent and the walk skips it.
//!
//! Two flavours of Docker disagree in corner cases, so both are available ([`Flavor`]):
//! - [`Flavor::BuildKit`] (default): the rules above, exactly, as current BuildKit (the
//!   default builder since Docker 23) applies them: an exception such as `!*/keep`
//!   re-includes `dir/keep` even when `dir` is excluded.
//! - [`Flavor::Classic`]: docker 20.10, both its classic builder (`DOCKER_BUILDKIT=0`) and
//!   its built-in BuildKit 0.8. An excluded directory is entered only when the text of some
//!   exception starts with `dir/`, so `!*/keep` re-includes nothing inside excluded
//!   directories; and a path's parents are checked only at the depth of the pattern (moby's
//!   deprecated `Matches`). Checked against docker 20.10.24: see `tests/dockerignore.rs`.

use thiserror::Error;

/// A `.dockerignore` that Docker would reject.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DockerIgnoreError {
    #[error(".dockerignore: illegal exclusion pattern: \"!\" (an exception needs a pattern after the '!')")]
    IllegalExclusion,
    #[error(".dockerignore: syntax error in pattern {0:?} (check its [ ] classes and \\ escapes)")]
    BadPattern(String),
}

/// The patterns of a `.dockerignore`, ready for matching.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
    flavor: Flavor,
}

/// Whose matching to reproduce where Docker's builders differ (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    /// BuildKit's (the documented rules).
    #[default]
    BuildKit,
    /// The classic builder's client (docker 20.10 `DOCKER_BUILDKIT=0`).
    Classic,
}

#[derive(Debug, Clone)]
struct Pattern {
    /// The cleaned pattern, without the `!`.
    text: String,
    exception: bool,
    kind: MatchKind,
    tokens: Vec<Token>,
}

/// Docker classifies patterns and matches the simple ones without a regular expression;
/// the classification changes results in corner cases (`**foo` is a suffix match), so it is
/// kept.
#[derive(Debug, Clone, PartialEq)]
enum MatchKind {
    Exact,
    /// `prefix**`: any path starting with the prefix.
    Prefix(String),
    /// `**suffix` with no other wildcard: any path ending with the suffix (or equal to it
    /// without its leading `/`).
    Suffix(String),
    Glob,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(char),
    /// `?`
    AnyChar,
    /// `*`
    Star,
    /// `**/` or `**` before more pattern: zero or more whole directories (`(.*/)?`).
    AnyDirs,
    /// `**` at the end after other wildcards: anything (`.*`).
    AnyRest,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// Per-pattern results for a directory, so that its children are matched without
/// re-checking every parent (see [`DockerIgnore::matches_in`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParentMatches(Vec<bool>);

impl DockerIgnore {
    /// Reads a `.dockerignore` file's content.
    pub fn parse(content: &str) -> Result<DockerIgnore, DockerIgnoreError> {
        let content = content.strip_prefix('\u{feff}').unwrap_or(content);
        let mut patterns = Vec::new();
        for line in content.lines() {
            if line.starts_with('#') {
                continue;
            }
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let (exception, body) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let mut body = if body.is_empty() {
                String::new()
            } else {
                clean_path(body)
            };
            if body.len() > 1 && body.starts_with('/') {
                body.remove(0);
            }
            patterns.push(if exception { format!("!{body}") } else { body });
        }
        DockerIgnore::from_patterns(patterns)
    }

    /// Builds a matcher from patterns as Docker's `patternmatcher.New` takes them (`!` for
    /// exceptions; each pattern trimmed and cleaned).
    pub fn from_patterns<I, S>(patterns: I) -> Result<DockerIgnore, DockerIgnoreError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut compiled = Vec::new();
        for pattern in patterns {
            let pattern = pattern.as_ref().trim();
            if pattern.is_empty() {
                continue;
            }
            let pattern = clean_path(pattern);
            let (exception, text) = match pattern.strip_prefix('!') {
                Some("") => return Err(DockerIgnoreError::IllegalExclusion),
                Some(rest) => (true, rest.to_string()),
                None => (false, pattern),
            };
            if !is_valid_glob(&text) {
                return Err(DockerIgnoreError::BadPattern(text));
            }
            let (kind, tokens) = compile(&text);
            compiled.push(Pattern {
                text,
                exception,
                kind,
                tokens,
            });
        }
        Ok(DockerIgnore {
            patterns: compiled,
            flavor: Flavor::default(),
        })
    }

    /// Reproduces the given builder's matching (see [`Flavor`]).
    pub fn with_flavor(mut self, flavor: Flavor) -> DockerIgnore {
        self.flavor = flavor;
        self
    }

    /// The patterns, in order, as (cleaned pattern, is exception).
    pub fn patterns(&self) -> impl Iterator<Item = (&str, bool)> {
        self.patterns.iter().map(|p| (p.text.as_str(), p.exception))
    }

    /// Whether any pattern is an exception (`!...`).
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exception)
    }

    /// Adds exceptions so that `.dockerignore` and the Dockerfile (its path relative to the
    /// context) are sent even when a pattern excludes them, as the `docker` client does. The
    /// daemon then drops them again from what COPY/ADD see when the original patterns exclude
    /// them: keep an unmodified matcher for that.
    pub fn keep_build_files(&mut self, dockerfile: &str) {
        for file in [".dockerignore", dockerfile] {
            if self.is_excluded(file) {
                let text = clean_path(file);
                let (kind, tokens) = compile(&text);
                self.patterns.push(Pattern {
                    text,
                    exception: true,
                    kind,
                    tokens,
                });
            }
        }
    }

    /// Whether `path` (relative to the context root, `/`-separated) is left out of the
    /// context: it or one of its parent directories matches, and no later exception does.
    /// The context root itself is never excluded.
    pub fn is_excluded(&self, path: &str) -> bool {
        let path = clean_path(path.trim_start_matches('/'));
        if path == "." || self.patterns.is_empty() {
            return false;
        }
        match self.flavor {
            Flavor::BuildKit => self.matches_in(&path, None).0,
            Flavor::Classic => self.classic_is_excluded(&path),
        }
    }

    /// moby's deprecated `Matches`: a pattern of N path elements is tried on the path and on
    /// its ancestor of N elements only.
    fn classic_is_excluded(&self, path: &str) -> bool {
        let parents: Vec<&str> = match path.rsplit_once('/') {
            Some((parent, _)) => parent.split('/').collect(),
            None => Vec::new(),
        };
        let mut excluded = false;
        for pattern in &self.patterns {
            let depth = pattern.text.split('/').count();
            let matched = pattern.matches_str(path)
                || (!parents.is_empty()
                    && depth <= parents.len()
                    && pattern.matches_str(&parents[..depth].join("/")));
            if matched {
                excluded = !pattern.exception;
            }
        }
        excluded
    }

    /// [`DockerIgnore::is_excluded`] for a walk: pass the result returned for the parent
    /// directory (`None` for entries of the context root) and keep the returned value for
    /// this entry's children. `path` must be clean and relative.
    pub fn matches_in(&self, path: &str, parent: Option<&ParentMatches>) -> (bool, ParentMatches) {
        if self.flavor == Flavor::Classic {
            return (self.classic_is_excluded(path), ParentMatches::default());
        }
        let chars: Vec<char> = path.chars().collect();
        let mut excluded = false;
        let mut results = Vec::with_capacity(self.patterns.len());
        for (i, pattern) in self.patterns.iter().enumerate() {
            // Whether the pattern matches the path or one of its parents; recorded for every
            // pattern so that children inherit it, whatever the order decides here.
            let matched = match parent {
                Some(parent) => parent.0.get(i) == Some(&true) || pattern.matches(path, &chars),
                None => pattern.matches(path, &chars) || pattern.matches_parent_of(path, &chars),
            };
            results.push(matched);
            // The last matching pattern wins: an exception re-includes, any other excludes.
            if matched {
                excluded = !pattern.exception;
            }
        }
        (excluded, ParentMatches(results))
    }

    /// Whether an exception could re-include something inside the directory `dir` (relative
    /// path). When `dir` is excluded and this is false, the walk can skip the directory.
    pub fn may_reinclude_under(&self, dir: &str) -> bool {
        let dir = clean_path(dir.trim_start_matches('/'));
        if self.flavor == Flavor::Classic {
            let dir_slash = format!("{dir}/");
            return self
                .patterns
                .iter()
                .any(|p| p.exception && format!("{}/", p.text).starts_with(&dir_slash));
        }
        let text: Vec<char> = format!("{dir}/").chars().collect();
        self.patterns
            .iter()
            .filter(|p| p.exception)
            .any(|p| match &p.kind {
                MatchKind::Suffix(_) => true,
                _ => can_match_below(&p.tokens, &text),
            })
    }
}

impl Pattern {
    /// Whether the pattern matches `path`, given also as characters (for glob patterns).
    fn matches(&self, path: &str, chars: &[char]) -> bool {
        match &self.kind {
            MatchKind::Exact => path == self.text,
            MatchKind::Prefix(prefix) => path.starts_with(prefix.as_str()),
            MatchKind::Suffix(suffix) => {
                path.ends_with(suffix.as_str())
                    || suffix.strip_prefix('/').is_some_and(|s| s == path)
            }
            MatchKind::Glob => glob_match(&self.tokens, chars),
        }
    }

    fn matches_str(&self, path: &str) -> bool {
        let chars: Vec<char> = path.chars().collect();
        self.matches(path, &chars)
    }

    /// Whether the pattern matches one of the parent directories of `path`.
    fn matches_parent_of(&self, path: &str, chars: &[char]) -> bool {
        path.char_indices()
            .enumerate()
            .any(|(at_char, (at_byte, c))| {
                c == '/' && self.matches(&path[..at_byte], &chars[..at_char])
            })
    }
}

/// Converts a cleaned pattern the way Docker does (see [`MatchKind`]).
fn compile(pattern: &str) -> (MatchKind, Vec<Token>) {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut kind = MatchKind::Exact;
    let mut i = 0;
    let mut first = true;
    while i < chars.len() {
        let ch = chars[i];
        i += 1;
        match ch {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i == chars.len() {
                    if kind == MatchKind::Exact {
                        kind = MatchKind::Prefix(pattern[..pattern.len() - 2].to_string());
                    } else {
                        kind = MatchKind::Glob;
                    }
                    tokens.push(Token::AnyRest);
                } else {
                    kind = MatchKind::Glob;
                    tokens.push(Token::AnyDirs);
                }
                if first {
                    kind = MatchKind::Suffix(pattern[2..].to_string());
                }
            }
            '*' => {
                tokens.push(Token::Star);
                kind = MatchKind::Glob;
            }
            '?' => {
                tokens.push(Token::AnyChar);
                kind = MatchKind::Glob;
            }
            '\\' => match chars.get(i) {
                Some(&escaped) => {
                    i += 1;
                    tokens.push(Token::Literal(escaped));
                    kind = MatchKind::Glob;
                }
                None => tokens.push(Token::Literal('\\')),
            },
            '[' => {
                let (class, next) = parse_class(&chars, i);
                tokens.push(class);
                i = next;
                kind = MatchKind::Glob;
            }
            ']' => {
                tokens.push(Token::Literal(']'));
                kind = MatchKind::Glob;
            }
            other => tokens.push(Token::Literal(other)),
        }
        first = false;
    }
    (kind, tokens)
}

/// Parses a class whose `[` is just before `start`; returns it and the index after `]`.
/// A `]` right after `[` or `[^` is a member, as in Go's regular expressions.
fn parse_class(chars: &[char], start: usize) -> (Token, usize) {
    let mut i = start;
    let negated = chars.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    while i < chars.len() && (chars[i] != ']' || first) {
        first = false;
        let mut lo = chars[i];
        i += 1;
        if lo == '\\' && i < chars.len() {
            lo = chars[i];
            i += 1;
        }
        let mut hi = lo;
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&c| c != ']') {
            hi = chars[i + 1];
            i += 2;
            if hi == '\\' && i < chars.len() {
                hi = chars[i];
                i += 1;
            }
        }
        ranges.push((lo, hi));
    }
    (Token::Class { negated, ranges }, (i + 1).min(chars.len()))
}

fn class_matches(negated: bool, ranges: &[(char, char)], ch: char) -> bool {
    ranges.iter().any(|&(lo, hi)| lo <= ch && ch <= hi) != negated
}

/// Whether the tokens match all of `text`. Dynamic programming over (token, position), so
/// the time is linear in the pattern times the path whatever the wildcards (a backtracking
/// matcher is exponential on patterns like `*a*a*a*b`).
fn glob_match(tokens: &[Token], text: &[char]) -> bool {
    let n = text.len();
    // next[j]: the tokens after the current one match text[j..].
    let mut next: Vec<bool> = (0..=n).map(|j| j == n).collect();
    let mut current = vec![false; n + 1];
    for token in tokens.iter().rev() {
        // For AnyDirs: some '/' at or after j is followed by a match of the rest.
        let mut slash_then_rest = false;
        for j in (0..=n).rev() {
            let ch = text.get(j).copied();
            current[j] = match token {
                Token::Literal(c) => ch == Some(*c) && next[j + 1],
                Token::AnyChar => ch.is_some_and(|c| c != '/') && next[j + 1],
                Token::Class { negated, ranges } => {
                    ch.is_some_and(|c| class_matches(*negated, ranges, c)) && next[j + 1]
                }
                Token::Star => next[j] || (ch.is_some_and(|c| c != '/') && current[j + 1]),
                Token::AnyRest => next[j] || (ch.is_some() && current[j + 1]),
                Token::AnyDirs => {
                    if ch == Some('/') && next[j + 1] {
                        slash_then_rest = true;
                    }
                    next[j] || slash_then_rest
                }
            };
        }
        std::mem::swap(&mut current, &mut next);
    }
    next[0]
}

/// Whether the tokens can match some path that starts with `text` (a directory followed by
/// `/`), or match a parent of such paths. Dynamic programming like [`glob_match`].
fn can_match_below(tokens: &[Token], text: &[char]) -> bool {
    let n = text.len();
    // next[j]: the tokens after the current one can match a path continuing text[j..]. With
    // no tokens left, the pattern matched text[..j], an ancestor of the directory or the
    // directory itself, when a '/' follows.
    let mut next: Vec<bool> = (0..=n).map(|j| j == n || text[j] == '/').collect();
    let mut current = vec![false; n + 1];
    for token in tokens.iter().rev() {
        for j in (0..=n).rev() {
            let Some(&ch) = text.get(j) else {
                // The whole directory is consumed: whatever follows can be matched.
                current[j] = true;
                continue;
            };
            current[j] = match token {
                Token::Literal(c) => ch == *c && next[j + 1],
                Token::AnyChar => ch != '/' && next[j + 1],
                Token::Class { negated, ranges } => {
                    class_matches(*negated, ranges, ch) && next[j + 1]
                }
                Token::Star => next[j] || (ch != '/' && current[j + 1]),
                // `(.*/)?` and `.*` can run past the directory.
                Token::AnyDirs | Token::AnyRest => true,
            };
        }
        std::mem::swap(&mut current, &mut next);
    }
    next[0]
}

/// Go's `filepath.Match` syntax check, which Docker runs on every pattern: escapes must
/// escape something, classes must be closed and non-empty, and a class member cannot be an
/// unescaped `-` or `]`.
fn is_valid_glob(pattern: &str) -> bool {
    let mut chars = pattern.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            // An escape must escape something.
            '\\' if chars.next().is_none() => return false,
            '[' => {
                chars.next_if_eq(&'^');
                let mut members = 0;
                loop {
                    match chars.peek() {
                        Some(']') if members > 0 => {
                            chars.next();
                            break;
                        }
                        _ => {}
                    }
                    // One member: a character or a range lo-hi.
                    for part in 0..2 {
                        match chars.next() {
                            None | Some('-') | Some(']') => return false,
                            Some('\\') => {
                                if chars.next().is_none() {
                                    return false;
                                }
                            }
                            Some(_) => {}
                        }
                        if part == 0 && chars.next_if_eq(&'-').is_none() {
                            break;
                        }
                    }
                    members += 1;
                }
            }
            _ => {}
        }
    }
    true
}

/// Go's `filepath.Clean` for `/`-separated paths: repeated slashes, `.` and `..` elements
/// resolved lexically, no trailing slash; an empty result is `.`.
fn clean_path(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}
