//! Splitting an instruction line into its parts, the way Docker's line parsers do. No quote
//! removal or variable expansion happens here (that is [`super::shell`]'s job, later, with
//! the build's variables); words keep their quotes and escapes.

/// Docker's "whitespace" for splitting instructions: space, tab, vertical tab, form feed, CR.
pub(crate) const SPLIT_SPACES: [char; 5] = [' ', '\t', '\u{b}', '\u{c}', '\r'];

/// The parts of one instruction line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SplitCommand {
    /// The instruction keyword in lower case.
    pub keyword: String,
    /// The `--flag[=value]` words before the arguments (quotes removed).
    pub flags: Vec<String>,
    /// Everything after the flags, trimmed.
    pub rest: String,
}

/// Splits `INSTRUCTION [--flags] rest`.
pub(crate) fn split_command(line: &str) -> SplitCommand {
    let line = line.trim();
    let (keyword, after) = match line.find(SPLIT_SPACES) {
        Some(at) => (&line[..at], line[at..].trim_start_matches(SPLIT_SPACES)),
        None => (line, ""),
    };
    let (rest, flags) = if after.is_empty() {
        (String::new(), Vec::new())
    } else {
        extract_flags(after)
    };
    SplitCommand {
        keyword: keyword.to_ascii_lowercase(),
        flags,
        rest: rest.trim().to_string(),
    }
}

/// Takes leading words that start with `--` as flags (quotes and `\` escapes are removed in
/// them); a lone `--` ends the flags. Returns the rest of the line and the flags.
fn extract_flags(line: &str) -> (String, Vec<String>) {
    let mut flags = Vec::new();
    let mut chars = line.char_indices().peekable();
    loop {
        while chars.next_if(|&(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            return (String::new(), flags);
        };
        if !line[start..].starts_with("--") {
            return (line[start..].to_string(), flags);
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        let mut end = line.len();
        while let Some((at, ch)) = chars.next() {
            match quote {
                None if ch.is_whitespace() => {
                    end = at;
                    break;
                }
                None if ch == '\'' || ch == '"' => quote = Some(ch),
                Some(q) if ch == q => quote = None,
                _ if ch == '\\' => match chars.next() {
                    Some((_, escaped)) => word.push(escaped),
                    None => quote = None,
                },
                _ => word.push(ch),
            }
        }
        if word == "--" {
            return (line[end..].to_string(), flags);
        }
        if !word.is_empty() || line[start..end].contains(['\'', '"']) {
            flags.push(word);
        }
    }
}

/// Splits on whitespace only; quotes mean nothing here (Docker's shell-form COPY, ADD,
/// VOLUME, EXPOSE and FROM: `COPY "a b" c` has the three words `"a`, `b"` and `c`).
pub(crate) fn split_whitespace(rest: &str) -> Vec<String> {
    rest.split(SPLIT_SPACES)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Splits into words on whitespace outside quotes, keeping quotes and escapes in the words
/// (Docker's `parseWords`, used for ENV, LABEL and ARG). Inside single quotes the escape
/// character is literal; a trailing escape character is dropped.
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut blank_ok = false; // a quoted empty string is still a word
    let mut quote: Option<char> = None;
    let mut chars = rest.chars().peekable();
    while let Some(ch) = chars.next() {
        match quote {
            None if ch.is_whitespace() => {
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                blank_ok = false;
            }
            None => {
                if ch == '\'' || ch == '"' {
                    quote = Some(ch);
                    blank_ok = true;
                }
                if ch == escape {
                    // An escape keeps the next character in the word, even a quote or a space.
                    let Some(next) = chars.next() else { continue };
                    word.push(ch);
                    word.push(next);
                    continue;
                }
                word.push(ch);
            }
            Some(q) => {
                if ch == q {
                    quote = None;
                }
                if ch == escape && q != '\'' {
                    let Some(next) = chars.next() else {
                        quote = None;
                        continue;
                    };
                    word.push(ch);
                    word.push(next);
                    continue;
                }
                word.push(ch);
            }
        }
    }
    if blank_ok || !word.is_empty() {
        words.push(word);
    }
    words
}

/// What `[...]` at the start of an argument string turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JsonArgs {
    /// Not a JSON array: the instruction is in shell form.
    Absent,
    /// A JSON array of strings: exec form.
    Strings(Vec<String>),
    /// Valid JSON, but not only strings: Docker rejects this rather than falling back.
    NotStrings,
}

/// Reads a JSON array of strings at the start of `rest`. Like Docker (Go's json.Decoder),
/// anything after the closing `]` is ignored, an invalid array means "shell form", and
/// invalid `\u` surrogates decode to U+FFFD rather than failing.
pub(crate) fn parse_json_array(rest: &str) -> JsonArgs {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return JsonArgs::Absent;
    }
    let mut reader = JsonReader {
        text: rest.as_bytes(),
        pos: 0,
    };
    match reader.value() {
        Some(JsonValue::Strings(strings)) => JsonArgs::Strings(strings),
        Some(JsonValue::Other) => JsonArgs::NotStrings,
        None => JsonArgs::Absent,
    }
}

/// What a JSON value was, as far as the instruction cares.
enum JsonValue {
    /// An array whose elements are all strings.
    Strings(Vec<String>),
    /// Anything else that is valid JSON.
    Other,
}

/// A strict JSON (RFC 8259) reader over one value; `None` means a syntax error.
struct JsonReader<'a> {
    text: &'a [u8],
    pos: usize,
}

impl JsonReader<'_> {
    fn skip_whitespace(&mut self) {
        while matches!(self.text.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        let found = self.text.get(self.pos) == Some(&byte);
        if found {
            self.pos += 1;
        }
        found
    }

    fn value(&mut self) -> Option<JsonValue> {
        self.skip_whitespace();
        match *self.text.get(self.pos)? {
            b'[' => self.array(),
            b'{' => self.object().map(|_| JsonValue::Other),
            b'"' => self.string().map(|_| JsonValue::Other),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn array(&mut self) -> Option<JsonValue> {
        self.pos += 1; // '['
        let mut strings = Some(Vec::new());
        if self.eat(b']') {
            return Some(JsonValue::Strings(Vec::new()));
        }
        loop {
            self.skip_whitespace();
            if self.text.get(self.pos) == Some(&b'"') {
                let s = self.string()?;
                if let Some(strings) = &mut strings {
                    strings.push(s);
                }
            } else {
                self.value()?;
                strings = None;
            }
            if self.eat(b']') {
                return Some(strings.map_or(JsonValue::Other, JsonValue::Strings));
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }

    fn object(&mut self) -> Option<()> {
        self.pos += 1; // '{'
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            self.skip_whitespace();
            if self.text.get(self.pos) != Some(&b'"') {
                return None;
            }
            self.string()?;
            if !self.eat(b':') {
                return None;
            }
            self.value()?;
            if self.eat(b'}') {
                return Some(());
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }

    fn literal(&mut self, word: &str) -> Option<JsonValue> {
        let end = self.pos + word.len();
        (self.text.get(self.pos..end)? == word.as_bytes()).then(|| {
            self.pos = end;
            JsonValue::Other
        })
    }

    fn number(&mut self) -> Option<JsonValue> {
        let digits = |r: &mut Self| {
            let start = r.pos;
            while r.text.get(r.pos).is_some_and(u8::is_ascii_digit) {
                r.pos += 1;
            }
            r.pos > start
        };
        if self.text.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        match self.text.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return None,
        }
        if self.text.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if !digits(self) {
                return None;
            }
        }
        if matches!(self.text.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.text.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !digits(self) {
                return None;
            }
        }
        Some(JsonValue::Other)
    }

    /// A string starting at the opening quote, decoded the way Go does.
    fn string(&mut self) -> Option<String> {
        self.pos += 1; // '"'
        let mut out: Vec<u8> = Vec::new();
        loop {
            let byte = *self.text.get(self.pos)?;
            self.pos += 1;
            match byte {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let escape = *self.text.get(self.pos)?;
                    self.pos += 1;
                    let decoded = match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    };
                    out.extend_from_slice(decoded.encode_utf8(&mut [0; 4]).as_bytes());
                }
                0..=0x1f => return None,
                other => out.push(other),
            }
        }
    }

    /// The character of a `\uXXXX` escape (the `\u` already read), pairing surrogates; an
    /// unpaired surrogate is U+FFFD.
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4(self.pos)?;
        self.pos += 4;
        if !(0xD800..0xE000).contains(&first) {
            return char::from_u32(first);
        }
        if (0xD800..0xDC00).contains(&first)
            && self.text.get(self.pos..self.pos + 2) == Some(b"\\u")
        {
            if let Some(second) = self
                .hex4(self.pos + 2)
                .filter(|s| (0xDC00..0xE000).contains(s))
            {
                self.pos += 6;
                return char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00));
            }
        }
        Some(char::REPLACEMENT_CHARACTER)
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = std::str::from_utf8(self.text.get(at..at + 4)?).ok()?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(digits, 16).ok()
    }
}
