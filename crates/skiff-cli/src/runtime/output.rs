//! What `state`, `list` and `ps` print, byte for byte in runc 1.1's formats.

use std::io::Write;

use serde::Serialize;
use skiff_runtime::Container;

/// runc's `state`/`list --format json` object.
#[derive(Serialize)]
struct StateView<'a> {
    #[serde(rename = "ociVersion")]
    oci_version: &'a str,
    id: &'a str,
    pid: i32,
    status: &'a str,
    bundle: &'a std::path::Path,
    rootfs: &'a std::path::Path,
    created: &'a str,
    owner: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<&'a std::collections::HashMap<String, String>>,
}

fn view(c: &Container, owner: String) -> StateView<'_> {
    StateView {
        oci_version: c.state.config.version(),
        id: &c.state.id,
        pid: c.reported_pid(),
        status: c.status.as_str(),
        bundle: &c.state.bundle,
        rootfs: &c.state.rootfs,
        created: &c.state.created,
        owner,
        annotations: c
            .state
            .config
            .annotations()
            .as_ref()
            .filter(|a| !a.is_empty()),
    }
}

/// `state`: indented JSON, no trailing newline, empty owner (as runc prints it).
pub fn print_state(c: &Container) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(&view(c, String::new()))?;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// `list --format json`: one line, `null` when there are no containers.
pub fn print_list_json(containers: &[Container]) -> anyhow::Result<()> {
    if containers.is_empty() {
        println!("null");
        return Ok(());
    }
    let views: Vec<StateView<'_>> = containers
        .iter()
        .map(|c| view(c, owner_name(c.owner_uid)))
        .collect();
    println!("{}", serde_json::to_string(&views)?);
    Ok(())
}

/// `list`: Go's tabwriter with minwidth 12, padding 3, as runc configures it.
pub fn print_list_table(containers: &[Container]) {
    let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
        .map(String::from)
        .to_vec()];
    for c in containers {
        rows.push(vec![
            c.state.id.clone(),
            c.reported_pid().to_string(),
            c.status.to_string(),
            c.state.bundle.display().to_string(),
            c.state.created.clone(),
            owner_name(c.owner_uid),
        ]);
    }
    print!("{}", tabwrite(&rows, 12, 3));
}

/// Aligns cells like Go's text/tabwriter: each column but the last is padded to
/// max(minwidth, widest cell + padding).
pub fn tabwrite(rows: &[Vec<String>], minwidth: usize, padding: usize) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count() + padding).max(minwidth);
        }
    }
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < row.len() {
                out.push_str(&" ".repeat(widths[i] - cell.chars().count()));
            }
        }
        out.push('\n');
    }
    out
}

/// The user name of `uid` from /etc/passwd, or "#uid" like Go's fallback in runc.
fn owner_name(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|line| {
            let mut f = line.split(':');
            let name = f.next()?;
            let id: u32 = f.nth(1)?.parse().ok()?;
            (id == uid).then(|| name.to_string())
        })
        .unwrap_or_else(|| format!("#{uid}"))
}

/// `ps` table: runs ps(1) (default `-ef`) and keeps the header and the container's lines.
pub fn print_ps_table(pids: &[i32], ps_args: &[String]) -> anyhow::Result<()> {
    let args: Vec<&str> = if ps_args.is_empty() {
        vec!["-ef"]
    } else {
        ps_args.iter().map(String::as_str).collect()
    };
    let output = std::process::Command::new("ps").args(&args).output()?;
    if !output.status.success() {
        anyhow::bail!(
            "ps {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let pid_index = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| anyhow::anyhow!("couldn't find PID field in ps output"))?;
    println!("{header}");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(pid_index)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            println!("{line}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabwriter_matches_runc_list_layout() {
        let rows = vec![
            ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
                .map(String::from)
                .to_vec(),
            [
                "t1",
                "6465",
                "created",
                "/tmp/rb",
                "2026-11-28T00:03:02.272098051Z",
                "root",
            ]
            .map(String::from)
            .to_vec(),
        ];
        // Captured from `runc list` (1.1.5) on the same data.
        let expected = "ID          PID         STATUS      BUNDLE      CREATED                          OWNER\n\
                        t1          6465        created     /tmp/rb     2026-11-28T00:03:02.272098051Z   root\n";
        assert_eq!(tabwrite(&rows, 12, 3), expected);
    }
}
