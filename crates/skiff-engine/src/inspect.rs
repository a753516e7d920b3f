//! `skiff inspect`: a container in the JSON shape of docker's `ContainerJSON`, so scripts
//! written for `docker inspect` (and `--format '{{.State.ExitCode}}'`) keep working.

use serde_json::{json, Value};

use crate::logs::log_path;
use crate::record::{ContainerRecord, Status};
use crate::timefmt::ZERO_TIME;
use crate::Engine;

impl Engine {
    /// Docker's inspect document for the container whose record is `record`.
    pub fn inspect(&self, record: &ContainerRecord) -> Value {
        let state = record.live_state();
        let dir = self.container_dir(&record.id);
        let opts = &record.config.spec;
        let res = &opts.resources;
        // The resolved process (env, cwd, user) is in the bundle's spec.
        let spec: Option<oci_spec::runtime::Spec> = std::fs::read(dir.join("config.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let process = spec.as_ref().and_then(|s| s.process().clone());
        let env = process
            .as_ref()
            .and_then(|p| p.env().clone())
            .unwrap_or_default();
        let working_dir = opts.workdir.clone().unwrap_or_default();
        let (entrypoint, cmd) = match &opts.entrypoint {
            Some(e) => (json!(e), json!(opts.cmd)),
            None => (
                Value::Null,
                json!(std::iter::once(record.path.clone())
                    .chain(record.args.iter().cloned())
                    .collect::<Vec<_>>()),
            ),
        };
        let binds: Vec<String> = opts
            .mounts
            .iter()
            .filter(|m| m.kind == "bind")
            .map(|m| {
                format!(
                    "{}:{}{}",
                    m.source,
                    m.target,
                    if m.read_only { ":ro" } else { "" }
                )
            })
            .collect();
        let tmpfs: serde_json::Map<String, Value> = opts
            .mounts
            .iter()
            .filter(|m| m.kind == "tmpfs")
            .map(|m| (m.target.clone(), json!(m.options.join(","))))
            .collect();
        let mounts: Vec<Value> = opts
            .mounts
            .iter()
            .map(|m| {
                json!({
                    "Type": m.kind, "Source": m.source, "Destination": m.target, "Mode": "",
                    "RW": !m.read_only, "Propagation": if m.kind == "bind" { "rprivate" } else { "" },
                })
            })
            .collect();
        let mut security_opt: Vec<String> = Vec::new();
        if opts.no_new_privileges {
            security_opt.push("no-new-privileges".into());
        }
        if let Some(s) = &opts.seccomp {
            security_opt.push(format!("seccomp={s}"));
        }
        let log_config: serde_json::Map<String, Value> = [
            record
                .config
                .log_max_size
                .map(|s| ("max-size".to_string(), json!(s.to_string()))),
            (record.config.log_max_file > 1).then(|| {
                (
                    "max-file".to_string(),
                    json!(record.config.log_max_file.to_string()),
                )
            }),
        ]
        .into_iter()
        .flatten()
        .collect();
        let lowers: Vec<String> = record
            .lowers
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let network = match &opts.network {
            crate::spec::NetworkMode::None => "none".to_string(),
            crate::spec::NetworkMode::Host => "host".to_string(),
            crate::spec::NetworkMode::Join(p) => format!("container:{}", p.display()),
        };
        let max_retries = match record.config.restart {
            crate::record::RestartPolicy::OnFailure { max_retries } => max_retries,
            _ => 0,
        };
        json!({
            "Id": record.id,
            "Created": record.created,
            "Path": record.path,
            "Args": record.args,
            "State": {
                "Status": state.status.as_str(),
                "Running": matches!(state.status, Status::Running | Status::Paused | Status::Restarting),
                "Paused": state.status == Status::Paused,
                "Restarting": state.status == Status::Restarting,
                "OOMKilled": state.oom_killed,
                "Dead": state.status == Status::Dead,
                "Pid": state.pid,
                "ExitCode": state.exit_code,
                "Error": state.error,
                "StartedAt": state.started_at.as_deref().unwrap_or(ZERO_TIME),
                "FinishedAt": state.finished_at.as_deref().unwrap_or(ZERO_TIME),
            },
            "Image": record.image_id,
            "ResolvConfPath": "",
            "HostnamePath": "",
            "HostsPath": "",
            "LogPath": log_path(&dir, &record.id),
            "Name": format!("/{}", record.name),
            "RestartCount": state.restart_count,
            "Driver": "overlay",
            "Platform": "linux",
            "MountLabel": "",
            "ProcessLabel": "",
            "AppArmorProfile": "",
            "ExecIDs": null,
            "HostConfig": {
                "Binds": if binds.is_empty() { Value::Null } else { json!(binds) },
                "ContainerIDFile": "",
                "LogConfig": { "Type": "json-file", "Config": log_config },
                "NetworkMode": network,
                "PortBindings": {},
                "RestartPolicy": { "Name": record.config.restart.name(), "MaximumRetryCount": max_retries },
                "AutoRemove": record.config.auto_remove,
                "CapAdd": if opts.cap_add.is_empty() { Value::Null } else { json!(opts.cap_add) },
                "CapDrop": if opts.cap_drop.is_empty() { Value::Null } else { json!(opts.cap_drop) },
                "Privileged": opts.privileged,
                "ReadonlyRootfs": opts.read_only,
                "SecurityOpt": if security_opt.is_empty() { Value::Null } else { json!(security_opt) },
                "Tmpfs": if tmpfs.is_empty() { Value::Null } else { Value::Object(tmpfs) },
                "ShmSize": opts.shm_size.unwrap_or(64 << 20),
                "Sysctls": if opts.sysctls.is_empty() { Value::Null } else { json!(opts.sysctls) },
                "Runtime": if record.config.runtime.is_empty() { "skiff" } else { record.config.runtime.as_str() },
                "Memory": res.memory.unwrap_or(0),
                "MemorySwap": res.memory_swap.unwrap_or(res.memory.map_or(0, |m| m * 2)),
                "MemoryReservation": res.memory_reservation.unwrap_or(0),
                "NanoCpus": res.nano_cpus.unwrap_or(0),
                "CpuShares": res.cpu_shares.unwrap_or(0),
                "CpusetCpus": res.cpuset_cpus.clone().unwrap_or_default(),
                "PidsLimit": res.pids_limit,
                "BlkioWeight": res.blkio_weight.unwrap_or(0),
                "Devices": opts.devices.iter().map(|d| json!({
                    "PathOnHost": d.host, "PathInContainer": d.container, "CgroupPermissions": d.permissions,
                })).collect::<Vec<_>>(),
                "Ulimits": opts.ulimits.iter().map(|u| json!({ "Name": u.name, "Soft": u.soft, "Hard": u.hard })).collect::<Vec<_>>(),
            },
            "GraphDriver": {
                "Name": "overlay",
                "Data": {
                    "LowerDir": lowers.join(":"),
                    "UpperDir": dir.join("upper"),
                    "WorkDir": dir.join("work"),
                    "MergedDir": dir.join("merged"),
                },
            },
            "Mounts": mounts,
            "Config": {
                "Hostname": opts.hostname,
                "Domainname": "",
                "User": opts.user.clone().unwrap_or_default(),
                "AttachStdin": false,
                "AttachStdout": false,
                "AttachStderr": false,
                "Tty": opts.tty,
                "OpenStdin": record.config.open_stdin,
                "StdinOnce": false,
                "Env": env,
                "Cmd": cmd,
                "Image": record.image,
                "Volumes": null,
                "WorkingDir": working_dir,
                "Entrypoint": entrypoint,
                "OnBuild": null,
                "Labels": record.config.labels,
                "StopSignal": record.config.stop_signal,
                "StopTimeout": record.config.stop_timeout,
            },
            "NetworkSettings": {
                "Bridge": "", "SandboxID": "", "Ports": {}, "SandboxKey": "",
                "IPAddress": "", "IPPrefixLen": 0, "Gateway": "", "MacAddress": "",
                "Networks": { network.clone(): { "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "" } },
            },
        })
    }
}
