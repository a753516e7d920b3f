//! `skiff ps`: docker's container list, its filters, `--format` and status wording
//! ("Up 5 seconds", "Exited (0) 3 seconds ago").

use std::path::Path;
use std::time::SystemTime;

use clap::Args;
use serde_json::{json, Value};
use skiff_engine::record::{ContainerRecord, Status};
use skiff_engine::timefmt::{human_duration, parse_rfc3339, since};

use super::format::{print_table, render};
use super::run::open;

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running).
    #[arg(short = 'a', long)]
    all: bool,
    /// Only display container IDs.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Filter output based on conditions provided (name=, id=, status=, label=).
    #[arg(short = 'f', long)]
    filter: Vec<String>,
    /// Format output using a custom template ('table', 'table TEMPLATE', 'json', 'TEMPLATE').
    #[arg(long)]
    format: Option<String>,
    /// Don't truncate output.
    #[arg(long)]
    no_trunc: bool,
    /// Show n last created containers (includes all states).
    #[arg(short = 'n', long)]
    last: Option<usize>,
    /// Show the latest created container (includes all states).
    #[arg(short = 'l', long)]
    latest: bool,
    /// Display total file sizes (accepted; sizes are not computed yet).
    #[arg(short = 's', long)]
    size: bool,
}

pub fn ps(root: &Path, args: PsArgs) -> anyhow::Result<i32> {
    let engine = open(root)?;
    let mut records = engine.list_records()?;
    let last = if args.latest { Some(1) } else { args.last };
    let has_status_filter = args.filter.iter().any(|f| f.starts_with("status="));
    if !args.all && last.is_none() && !has_status_filter {
        records.retain(|r| r.live_state().status.is_active());
    }
    for filter in &args.filter {
        let Some((key, value)) = filter.split_once('=') else {
            anyhow::bail!("bad format of filter (expected name=value): {filter}");
        };
        match key {
            "name" => records.retain(|r| r.name.contains(value.trim_start_matches('/'))),
            "id" => records.retain(|r| r.id.starts_with(value)),
            "status" => records.retain(|r| r.live_state().status.as_str() == value),
            "label" => records.retain(|r| match value.split_once('=') {
                Some((k, v)) => r.config.labels.get(k).is_some_and(|x| x == v),
                None => r.config.labels.contains_key(value),
            }),
            "exited" => records.retain(|r| {
                let s = r.live_state();
                s.status == Status::Exited && s.exit_code.to_string() == value
            }),
            "ancestor" => records.retain(|r| r.image == value || r.image_id.contains(value)),
            _ => anyhow::bail!("invalid filter '{key}': skiff ps filters on name, id, status, label, exited and ancestor"),
        }
    }
    if let Some(n) = last {
        records.truncate(n);
    }
    let docs: Vec<Value> = records
        .iter()
        .map(|r| ps_fields(r, args.no_trunc))
        .collect();

    if args.quiet {
        for d in &docs {
            println!("{}", d["ID"].as_str().unwrap_or_default());
        }
        return Ok(0);
    }
    match args.format.as_deref() {
        Some("json") | Some("{{json .}}") => {
            for d in &docs {
                let mut d = d.clone();
                d.as_object_mut().map(|o| o.remove("LabelMap"));
                println!("{}", serde_json::to_string(&d)?);
            }
        }
        Some(template) if template != "table" => match template.strip_prefix("table ") {
            Some(body) => {
                let header = render(body, &header_fields());
                let mut rows = vec![header.split('\t').map(String::from).collect::<Vec<_>>()];
                for d in &docs {
                    rows.push(render(body, d).split('\t').map(String::from).collect());
                }
                print_table(&rows);
            }
            None => {
                for d in &docs {
                    println!("{}", render(template, d));
                }
            }
        },
        _ => {
            let fields = [
                "ID",
                "Image",
                "Command",
                "RunningFor",
                "Status",
                "Ports",
                "Names",
            ];
            let mut rows = vec![[
                "CONTAINER ID",
                "IMAGE",
                "COMMAND",
                "CREATED",
                "STATUS",
                "PORTS",
                "NAMES",
            ]
            .map(String::from)
            .to_vec()];
            for d in &docs {
                rows.push(
                    fields
                        .iter()
                        .map(|f| d[*f].as_str().unwrap_or_default().to_string())
                        .collect(),
                );
            }
            print_table(&rows);
        }
    }
    Ok(0)
}

/// The header row docker prints for `--format 'table …'`.
fn header_fields() -> Value {
    json!({
        "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
        "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE",
        "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS", "LocalVolumes": "LOCAL VOLUMES",
    })
}

/// One container as docker's `ps --format` sees it.
fn ps_fields(r: &ContainerRecord, no_trunc: bool) -> Value {
    let state = r.live_state();
    // The daemon's rule: path and args, args with spaces single-quoted; then the CLI
    // truncates to 20 characters and quotes the whole (strconv.Quote).
    let mut command = std::iter::once(r.path.clone())
        .chain(r.args.iter().map(|a| {
            if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.clone()
            }
        }))
        .collect::<Vec<_>>()
        .join(" ");
    if !no_trunc && command.chars().count() > 20 {
        command = command.chars().take(19).collect::<String>() + "…";
    }
    let created = parse_rfc3339(&r.created).unwrap_or(SystemTime::UNIX_EPOCH);
    let ago = |t: &Option<String>| {
        human_duration(since(
            t.as_deref().and_then(parse_rfc3339).unwrap_or(created),
        ))
    };
    let status = match state.status {
        Status::Created => "Created".to_string(),
        Status::Running => format!("Up {}", ago(&state.started_at)),
        Status::Paused => format!("Up {} (Paused)", ago(&state.started_at)),
        Status::Restarting => format!(
            "Restarting ({}) {} ago",
            state.exit_code,
            ago(&state.finished_at)
        ),
        Status::Removing => "Removal In Progress".to_string(),
        Status::Exited => format!(
            "Exited ({}) {} ago",
            state.exit_code,
            ago(&state.finished_at)
        ),
        Status::Dead => "Dead".to_string(),
    };
    let labels = r
        .config
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let mounts = r
        .config
        .spec
        .mounts
        .iter()
        .map(|m| m.source.clone())
        .collect::<Vec<_>>()
        .join(",");
    let network = match r.config.spec.network {
        skiff_engine::spec::NetworkMode::Host => "host",
        _ => "none",
    };
    json!({
        "Command": serde_json::to_string(&command).unwrap_or_default(),
        "CreatedAt": created_at(created),
        "ID": if no_trunc { r.id.clone() } else { r.id[..12].to_string() },
        "Image": r.image,
        "Labels": labels,
        "LabelMap": r.config.labels,
        "LocalVolumes": "0",
        "Mounts": mounts,
        "Names": r.name,
        "Networks": network,
        "Ports": "",
        "Platform": null,
        "RunningFor": format!("{} ago", human_duration(since(created))),
        "Size": "0B",
        "State": state.status.as_str(),
        "Status": status,
    })
}

/// docker's CreatedAt: "2026-11-28 00:36:58 +0000 UTC".
fn created_at(t: SystemTime) -> String {
    let s = skiff_engine::timefmt::rfc3339_nano(t);
    format!("{} {} +0000 UTC", &s[..10], &s[11..19])
}
