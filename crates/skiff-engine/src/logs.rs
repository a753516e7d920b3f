//! Container logs in Docker's json-file format: one JSON object per line,
//! `{"log":"hi\n","stream":"stdout","time":"2026-11-28T00:36:58.123456789Z"}`, in
//! `<container dir>/<id>-json.log`, rotated by size into `.1`, `.2` … like docker's
//! `--log-opt max-size=10m --log-opt max-file=3`.
//!
//! The monitor writes them ([`LogWriter`]); `skiff logs` reads them ([`read_entries`]).

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::timefmt;

/// Docker cuts lines longer than this into several entries.
const MAX_LINE: usize = 16 * 1024;

/// Which output a log entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// The log file of the container in `dir`.
pub fn log_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}-json.log"))
}

/// Appends a container's output to its json-file log, line by line, rotating by size.
pub struct LogWriter {
    path: PathBuf,
    file: File,
    size: u64,
    max_size: Option<u64>,
    max_file: u32,
    /// Bytes of an unfinished line, per stream.
    partial: [Vec<u8>; 2],
}

impl LogWriter {
    pub fn open(path: PathBuf, max_size: Option<u64>, max_file: u32) -> std::io::Result<LogWriter> {
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let size = file.metadata()?.len();
        Ok(LogWriter {
            path,
            file,
            size,
            max_size,
            max_file: max_file.max(1),
            partial: [Vec::new(), Vec::new()],
        })
    }

    /// Logs `data` read from `stream`: each complete line is an entry; the rest waits for
    /// its newline (or for [`LogWriter::flush_partial`], or until it is too long).
    pub fn write(&mut self, stream: Stream, data: &[u8]) -> std::io::Result<()> {
        let slot = stream as usize;
        let mut rest = data;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let (line, tail) = rest.split_at(nl + 1);
            if self.partial[slot].is_empty() {
                self.entry(stream, line)?;
            } else {
                let mut full = std::mem::take(&mut self.partial[slot]);
                full.extend_from_slice(line);
                self.entry(stream, &full)?;
            }
            rest = tail;
        }
        self.partial[slot].extend_from_slice(rest);
        while self.partial[slot].len() >= MAX_LINE {
            let chunk: Vec<u8> = self.partial[slot].drain(..MAX_LINE).collect();
            self.entry(stream, &chunk)?;
        }
        Ok(())
    }

    /// Writes out an unfinished last line (at EOF of the stream).
    pub fn flush_partial(&mut self, stream: Stream) -> std::io::Result<()> {
        let rest = std::mem::take(&mut self.partial[stream as usize]);
        if rest.is_empty() {
            Ok(())
        } else {
            self.entry(stream, &rest)
        }
    }

    fn entry(&mut self, stream: Stream, line: &[u8]) -> std::io::Result<()> {
        let mut out = Vec::with_capacity(line.len() + 80);
        out.extend_from_slice(b"{\"log\":\"");
        escape_json(&String::from_utf8_lossy(line), &mut out);
        out.extend_from_slice(b"\",\"stream\":\"");
        out.extend_from_slice(stream.as_str().as_bytes());
        out.extend_from_slice(b"\",\"time\":\"");
        out.extend_from_slice(timefmt::now().as_bytes());
        out.extend_from_slice(b"\"}\n");
        if let Some(max) = self.max_size {
            if self.size > 0 && self.size + out.len() as u64 > max {
                self.rotate()?;
            }
        }
        self.file.write_all(&out)?;
        self.size += out.len() as u64;
        Ok(())
    }

    /// log -> log.1 -> log.2 …, dropping the oldest beyond max-file.
    fn rotate(&mut self) -> std::io::Result<()> {
        if self.max_file <= 1 {
            self.file.set_len(0)?;
            self.size = 0;
            return Ok(());
        }
        for n in (1..self.max_file - 1).rev() {
            let from = rotated(&self.path, n);
            if from.exists() {
                fs::rename(&from, rotated(&self.path, n + 1))?;
            }
        }
        fs::rename(&self.path, rotated(&self.path, 1))?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

/// JSON string escaping as Go's encoding/json does it (which docker's log files use):
/// quotes, backslashes and control characters, and <, >, & as \u003c …
fn escape_json(s: &str, out: &mut Vec<u8>) {
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

/// One entry read back from a log file.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Entry {
    pub log: String,
    pub stream: String,
    pub time: String,
}

impl Entry {
    pub fn time(&self) -> Option<SystemTime> {
        timefmt::parse_rfc3339(&self.time)
    }
}

/// The log files of a container, oldest first (rotated ones, then the current one).
pub fn log_files(path: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = (1..1000)
        .map(|n| rotated(path, n))
        .take_while(|p| p.exists())
        .collect();
    files.reverse();
    files.push(path.to_owned());
    files
}

/// Reads every entry of the log at `path` (with its rotated files); unreadable lines are
/// skipped, as docker does.
pub fn read_entries(path: &Path) -> std::io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for file in log_files(path) {
        let f = match File::open(&file) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        read_lines(BufReader::new(f), &mut entries)?;
    }
    Ok(entries)
}

/// Parses complete JSON lines from `reader` into `entries`; returns the bytes consumed.
pub fn read_lines(mut reader: impl BufRead, entries: &mut Vec<Entry>) -> std::io::Result<u64> {
    let mut consumed = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            return Ok(consumed);
        }
        consumed += n as u64;
        if let Ok(entry) = serde_json::from_slice::<Entry>(&line) {
            entries.push(entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_entries_and_partials_wait() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let mut w = LogWriter::open(path.clone(), None, 1).unwrap();
        w.write(Stream::Stdout, b"hi\nhal").unwrap();
        w.write(Stream::Stderr, b"oops <&>\n").unwrap();
        w.write(Stream::Stdout, b"f\n\"q\"").unwrap();
        w.flush_partial(Stream::Stdout).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("{\"log\":\"hi\\n\",\"stream\":\"stdout\",\"time\":\""),
            "{text}"
        );
        assert!(
            text.contains("{\"log\":\"oops \\u003c\\u0026\\u003e\\n\",\"stream\":\"stderr\""),
            "{text}"
        );
        let entries = read_entries(&path).unwrap();
        let logs: Vec<&str> = entries.iter().map(|e| e.log.as_str()).collect();
        assert_eq!(logs, ["hi\n", "oops <&>\n", "half\n", "\"q\""]);
        assert!(entries.iter().all(|e| e.time().is_some()));
    }

    #[test]
    fn rotation_keeps_max_file_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let mut w = LogWriter::open(path.clone(), Some(200), 3).unwrap();
        for i in 0..20 {
            w.write(Stream::Stdout, format!("line {i}\n").as_bytes())
                .unwrap();
        }
        assert!(
            rotated(&path, 1).exists() && rotated(&path, 2).exists() && !rotated(&path, 3).exists()
        );
        for file in log_files(&path) {
            assert!(fs::metadata(&file).unwrap().len() <= 200);
        }
        let entries = read_entries(&path).unwrap();
        assert_eq!(entries.last().unwrap().log, "line 19\n");
        let numbers: Vec<u32> = entries
            .iter()
            .map(|e| e.log[5..].trim().parse().unwrap())
            .collect();
        assert!(
            numbers.windows(2).all(|w| w[1] == w[0] + 1),
            "in order: {numbers:?}"
        );
    }
}
