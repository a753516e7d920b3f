//! Progress of pulls and pushes, reported as events; [`TextProgress`] prints them the way
//! the docker CLI does: one line per layer, rewritten in place on a terminal, and only the
//! state changes (no byte counts, no cursor movement) when the output is not a terminal.

use std::io::Write;
use std::sync::Mutex;

use skiff_image::digest::Digest;

/// A layer's (or config's) state during a pull or push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Queued for download.
    PullingFsLayer,
    /// Unpacked already (by an earlier pull of another image).
    AlreadyExists,
    Downloading {
        done: u64,
        total: u64,
    },
    DownloadComplete,
    /// Downloaded and unpacked.
    PullComplete,
    Preparing,
    Pushing {
        done: u64,
        total: u64,
    },
    Pushed,
    /// The registry has the blob already.
    LayerAlreadyExists,
    /// Mounted from another repository of the same registry.
    MountedFrom(String),
}

impl Status {
    fn is_bytes(&self) -> bool {
        matches!(self, Status::Downloading { .. } | Status::Pushing { .. })
    }
}

/// What a pull or push reports.
#[derive(Clone, Debug)]
pub enum Event<'a> {
    /// `latest: Pulling from library/busybox`.
    PullStart {
        tag: &'a str,
        repository: &'a str,
    },
    /// `The push refers to repository [127.0.0.1:5000/busybox]`.
    PushStart {
        repository: &'a str,
    },
    Layer {
        digest: &'a Digest,
        status: Status,
    },
}

/// Receives progress events, possibly from several download threads at once.
pub trait Progress: Sync {
    fn event(&self, event: Event<'_>);
}

/// Reports nothing (`-q`).
pub struct Quiet;

impl Progress for Quiet {
    fn event(&self, _: Event<'_>) {}
}

/// Docker-like text output on a writer (stdout for `skiff pull`, stderr when a `run` pulls).
pub struct TextProgress<W: Write + Send> {
    state: Mutex<TextState<W>>,
}

struct TextState<W> {
    out: W,
    terminal: bool,
    /// Layer lines in the order they appeared, with the last byte count drawn.
    lines: Vec<(String, u64)>,
}

impl<W: Write + Send> TextProgress<W> {
    /// `terminal`: whether `out` is a terminal (lines are then rewritten in place).
    pub fn new(out: W, terminal: bool) -> TextProgress<W> {
        TextProgress {
            state: Mutex::new(TextState {
                out,
                terminal,
                lines: Vec::new(),
            }),
        }
    }

    /// The writer back (tests read what was printed).
    pub fn into_inner(self) -> W {
        self.state.into_inner().expect("progress lock").out
    }

    /// Prints a line of its own (the final `Digest:` and `Status:` lines).
    pub fn line(&self, text: &str) {
        let mut s = self.state.lock().expect("progress lock");
        let _ = writeln!(s.out, "{text}");
        let _ = s.out.flush();
    }
}

impl<W: Write + Send> Progress for TextProgress<W> {
    fn event(&self, event: Event<'_>) {
        let mut s = self.state.lock().expect("progress lock");
        match event {
            Event::PullStart { tag, repository } => {
                let _ = writeln!(s.out, "{tag}: Pulling from {repository}");
            }
            Event::PushStart { repository } => {
                let _ = writeln!(s.out, "The push refers to repository [{repository}]");
            }
            Event::Layer { digest, status } => s.layer(digest.short(), &status),
        }
        let _ = s.out.flush();
    }
}

impl<W: Write> TextState<W> {
    fn layer(&mut self, id: &str, status: &Status) {
        if !self.terminal {
            if !status.is_bytes() {
                let _ = writeln!(self.out, "{id}: {}", describe(status));
            }
            return;
        }
        let done = match status {
            Status::Downloading { done, total } | Status::Pushing { done, total } => {
                Some((*done, *total))
            }
            _ => None,
        };
        let position = self.lines.iter().position(|(l, _)| l == id);
        let index = match position {
            Some(i) => i,
            None => {
                self.lines.push((id.to_owned(), 0));
                let _ = writeln!(self.out, "{id}: {}", describe(status));
                return;
            }
        };
        if let Some((done, total)) = done {
            // Redraw at most every 1% (or every 512 kB when the size is unknown).
            let step = if total > 0 {
                (total / 100).max(1)
            } else {
                512 * 1024
            };
            let last = self.lines[index].1;
            if done < total && done.saturating_sub(last) < step {
                return;
            }
            self.lines[index].1 = done;
        }
        let up = self.lines.len() - index;
        let _ = write!(
            self.out,
            "\x1b[{up}A\r\x1b[2K{id}: {}\x1b[{up}B\r",
            describe(status)
        );
    }
}

fn describe(status: &Status) -> String {
    match status {
        Status::PullingFsLayer => "Pulling fs layer".into(),
        Status::AlreadyExists => "Already exists".into(),
        Status::Downloading { done, total } => format!("Downloading {}", bar(*done, *total)),
        Status::DownloadComplete => "Download complete".into(),
        Status::PullComplete => "Pull complete".into(),
        Status::Preparing => "Preparing".into(),
        Status::Pushing { done, total } => format!("Pushing {}", bar(*done, *total)),
        Status::Pushed => "Pushed".into(),
        Status::LayerAlreadyExists => "Layer already exists".into(),
        Status::MountedFrom(from) => format!("Mounted from {from}"),
    }
}

/// `[=====>        ]  1.23MB/4.56MB`, as docker draws it.
fn bar(done: u64, total: u64) -> String {
    const WIDTH: u64 = 50;
    if total == 0 {
        return human(done);
    }
    let filled = (done.min(total) * WIDTH / total) as usize;
    let mut s = String::with_capacity(80);
    s.push('[');
    s.push_str(&"=".repeat(filled.saturating_sub(1)));
    if filled > 0 {
        s.push('>');
    }
    s.push_str(&" ".repeat(WIDTH as usize - filled));
    s.push_str(&format!("]  {}/{}", human(done), human(total)));
    s
}

/// Decimal units with three significant digits (`2.22MB`), like docker's go-units.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    let precision = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    let precision = if unit == 0 { 0 } else { precision };
    format!("{value:.precision$}{}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_output_has_state_changes_only() {
        let p = TextProgress::new(Vec::new(), false);
        let d = Digest::of(b"layer");
        p.event(Event::PullStart {
            tag: "latest",
            repository: "library/busybox",
        });
        p.event(Event::Layer {
            digest: &d,
            status: Status::PullingFsLayer,
        });
        p.event(Event::Layer {
            digest: &d,
            status: Status::Downloading { done: 5, total: 10 },
        });
        p.event(Event::Layer {
            digest: &d,
            status: Status::DownloadComplete,
        });
        p.event(Event::Layer {
            digest: &d,
            status: Status::PullComplete,
        });
        p.line("Digest: x");
        let out = String::from_utf8(p.state.into_inner().unwrap().out).unwrap();
        let id = d.short();
        assert_eq!(
            out,
            format!("latest: Pulling from library/busybox\n{id}: Pulling fs layer\n{id}: Download complete\n{id}: Pull complete\nDigest: x\n")
        );
        assert!(!out.contains('\x1b'));
    }

    #[test]
    fn terminal_output_rewrites_lines() {
        let p = TextProgress::new(Vec::new(), true);
        let a = Digest::of(b"a");
        let b = Digest::of(b"b");
        p.event(Event::Layer {
            digest: &a,
            status: Status::PullingFsLayer,
        });
        p.event(Event::Layer {
            digest: &b,
            status: Status::PullingFsLayer,
        });
        p.event(Event::Layer {
            digest: &a,
            status: Status::Downloading {
                done: 500,
                total: 1000,
            },
        });
        let out = String::from_utf8(p.state.into_inner().unwrap().out).unwrap();
        assert!(
            out.contains(&format!("\x1b[2A\r\x1b[2K{}: Downloading [====", a.short())),
            "{out:?}"
        );
        assert!(out.contains("500B/1.00kB"), "{out:?}");
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(0), "0B");
        assert_eq!(human(999), "999B");
        assert_eq!(human(2_220_000), "2.22MB");
        assert_eq!(human(95_400_000), "95.4MB");
        assert_eq!(human(123_456_789_000), "123GB");
    }
}
