//! `skiff logs`: reads the container's json-file log (docker's format), with `--tail`,
//! `--since`/`--until`, `-t` timestamps and `-f` to follow it while the container runs.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use clap::Args;
use skiff_engine::logs::{log_path, read_entries, read_lines, Entry};
use skiff_engine::timefmt::parse_since;

use super::run::open;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow log output.
    #[arg(short = 'f', long)]
    follow: bool,
    /// Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes).
    #[arg(long)]
    since: Option<String>,
    /// Show logs before a timestamp or relative time.
    #[arg(long)]
    until: Option<String>,
    /// Number of lines to show from the end of the logs ("all" for all).
    #[arg(short = 'n', long, default_value = "all")]
    tail: String,
    /// Show timestamps.
    #[arg(short = 't', long)]
    timestamps: bool,
    /// Show extra details provided to logs (accepted; none are recorded).
    #[arg(long)]
    details: bool,
    container: String,
}

pub fn logs(root: &Path, args: LogsArgs) -> anyhow::Result<i32> {
    let engine = open(root)?;
    let id = engine.resolve_container(&args.container)?;
    let path = log_path(&engine.container_dir(&id), &id);
    let now = SystemTime::now();
    let time_arg = |arg: &Option<String>, flag: &str| -> anyhow::Result<Option<SystemTime>> {
        arg.as_deref()
            .map(|s| parse_since(s, now).ok_or_else(|| anyhow::anyhow!("invalid value for {flag}: {s:?}; use an RFC 3339 time, a Unix timestamp or a duration like 10m")))
            .transpose()
    };
    let since = time_arg(&args.since, "--since")?;
    let until = time_arg(&args.until, "--until")?;
    let tail: Option<usize> = match args.tail.as_str() {
        "all" | "-1" => None,
        n => Some(n.parse().map_err(|_| {
            anyhow::anyhow!("invalid value for --tail: {n:?}; use a number or all")
        })?),
    };

    let mut entries = read_entries(&path).unwrap_or_default();
    entries.retain(|e| keep(e, since, until));
    if let Some(n) = tail {
        let skip = entries.len().saturating_sub(n);
        entries.drain(..skip);
    }
    for e in &entries {
        print_entry(e, args.timestamps);
    }
    if !args.follow {
        return Ok(0);
    }
    // Follow: read what is appended until the container stops for good.
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(_) => return Ok(0),
    };
    let mut offset = file.seek(SeekFrom::End(0))?;
    loop {
        let running = engine
            .load_record(&id)
            .map(|r| r.live_state().status.is_active())
            .unwrap_or(false);
        // Rotated away: start on the new file.
        if std::fs::metadata(&path)
            .map(|m| m.len() < offset)
            .unwrap_or(false)
        {
            file = File::open(&path)?;
            offset = 0;
        }
        file.seek(SeekFrom::Start(offset))?;
        let mut fresh = Vec::new();
        offset += read_lines(BufReader::new(&file), &mut fresh)?;
        for e in fresh.iter().filter(|e| keep(e, None, until)) {
            print_entry(e, args.timestamps);
        }
        if !running {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn keep(e: &Entry, since: Option<SystemTime>, until: Option<SystemTime>) -> bool {
    let Some(t) = e.time() else { return true };
    since.is_none_or(|s| t >= s) && until.is_none_or(|u| t <= u)
}

fn print_entry(e: &Entry, timestamps: bool) {
    let line = if timestamps {
        format!("{} {}", e.time, e.log)
    } else {
        e.log.clone()
    };
    let _ = if e.stream == "stderr" {
        std::io::stderr().write_all(line.as_bytes())
    } else {
        let mut out = std::io::stdout().lock();
        out.write_all(line.as_bytes()).and_then(|_| out.flush())
    };
}
