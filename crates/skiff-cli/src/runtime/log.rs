//! Error and debug logging the way runc does it, since dockerd and containerd read it:
//! without `--log`, logrus text lines on stderr; with `--log FILE`, lines in FILE (text or
//! `--log-format json`) and the bare error message on stderr.

use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

pub struct Logger {
    file: Option<PathBuf>,
    format: LogFormat,
    debug: bool,
}

impl Logger {
    pub fn new(file: Option<PathBuf>, format: LogFormat, debug: bool) -> Logger {
        Logger {
            file,
            format,
            debug,
        }
    }

    pub fn error(&self, message: &str) {
        self.write("error", message);
        if self.file.is_some() {
            eprintln!("{message}");
        }
    }

    pub fn debug(&self, message: &str) {
        if self.debug {
            self.write("debug", message);
        }
    }

    fn write(&self, level: &str, message: &str) {
        let time = now_rfc3339_seconds();
        let line = match self.format {
            LogFormat::Json => format!(
                "{}\n",
                serde_json::json!({ "level": level, "msg": message, "time": time })
            ),
            LogFormat::Text => format!("time=\"{time}\" level={level} msg={}\n", quote(message)),
        };
        match &self.file {
            Some(path) => {
                if let Ok(mut f) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                {
                    let _ = f.write_all(line.as_bytes());
                }
            }
            None => {
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
        }
    }
}

/// logrus quotes a message with Go's %q rules; JSON string escaping matches them for text.
fn quote(message: &str) -> String {
    serde_json::to_string(message).unwrap_or_default()
}

/// RFC 3339 with whole seconds in UTC, as logrus prints `time`.
fn now_rfc3339_seconds() -> String {
    let full = skiff_runtime::state::now_rfc3339();
    match full.find('.') {
        Some(dot) => format!("{}Z", &full[..dot]),
        None => full,
    }
}
