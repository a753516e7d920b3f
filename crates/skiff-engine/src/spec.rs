//! From an image's config and the user's run options to the OCI runtime spec, with Docker's
//! defaults: its capability set, mounts, masked and read-only paths, device rules and
//! environment. The runtime below knows nothing of images; this is where that meaning lives.

use std::path::{Path, PathBuf};

use oci_spec::image::Config as ImageConfig;
use oci_spec::runtime::{
    Capability, LinuxCapabilitiesBuilder, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder,
    LinuxDeviceType, LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType,
    LinuxResourcesBuilder, Mount, MountBuilder, ProcessBuilder, RootBuilder, Spec, UserBuilder,
};

use crate::user::{self, UserError};

/// The `PATH` a container gets when its image sets none, as in Docker.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Docker's default capability set for unprivileged containers.
pub const DEFAULT_CAPABILITIES: &[Capability] = &[
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

const MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// How the container's network is set up.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NetworkMode {
    /// A network namespace of its own with only `lo` (`--network none`).
    #[default]
    None,
    /// The host's network namespace (`--network host`).
    Host,
    /// Another namespace by path (`--network container:<id>` resolves to one).
    Join(PathBuf),
}

/// What the user asked for on `run`/`create` that shapes the spec.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SpecOptions {
    pub hostname: String,
    /// `--entrypoint`: `Some(vec![])` clears the image's entrypoint, as `--entrypoint ""` does.
    pub entrypoint: Option<Vec<String>>,
    /// The command after the image name; empty means the image's Cmd.
    pub cmd: Vec<String>,
    /// `-e KEY=VALUE` (and `--env-file`), applied over the image's Env.
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub tty: bool,
    pub read_only: bool,
    pub privileged: bool,
    /// `--cap-add` / `--cap-drop` names, with or without the `CAP_` prefix, or `ALL`.
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub network: NetworkMode,
    /// `-v`, `--mount`, `--tmpfs`.
    pub mounts: Vec<MountOption>,
    /// `--security-opt no-new-privileges`.
    pub no_new_privileges: bool,
    /// `--security-opt seccomp=…`: none for docker's default profile, "unconfined", or a
    /// profile file's path.
    pub seccomp: Option<String>,
    /// `--device HOST[:CONTAINER[:PERMISSIONS]]`.
    pub devices: Vec<DeviceOption>,
    /// `--ulimit name=soft[:hard]`.
    pub ulimits: Vec<UlimitOption>,
    /// `--sysctl key=value`.
    pub sysctls: std::collections::BTreeMap<String, String>,
    /// `--shm-size` in bytes (docker's default is 64 MiB).
    pub shm_size: Option<u64>,
    pub resources: ResourceOptions,
}

/// A bind mount or a tmpfs from `-v`, `--mount` or `--tmpfs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MountOption {
    /// "bind" or "tmpfs".
    pub kind: String,
    /// The host path for a bind mount; empty for tmpfs.
    pub source: String,
    pub target: String,
    pub read_only: bool,
    /// Extra mount options (tmpfs size=…, mode=…; bind propagation).
    pub options: Vec<String>,
}

/// A host device made available in the container.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceOption {
    pub host: String,
    pub container: String,
    /// Some of "rwm".
    pub permissions: String,
}

/// One resource limit (`nofile`, `nproc` …).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UlimitOption {
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

/// Cgroup limits from `--memory`, `--cpus` and friends.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ResourceOptions {
    pub memory: Option<i64>,
    pub memory_swap: Option<i64>,
    pub memory_reservation: Option<i64>,
    /// `--cpus` × 10⁹.
    pub nano_cpus: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
    /// (device path, bytes or ops per second).
    pub device_read_bps: Vec<(String, u64)>,
    pub device_write_bps: Vec<(String, u64)>,
    pub device_read_iops: Vec<(String, u64)>,
    pub device_write_iops: Vec<(String, u64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("no command specified: the image has no Cmd or Entrypoint; give a command after the image name")]
    NoCommand,
    #[error(transparent)]
    User(#[from] UserError),
    #[error(
        "unknown capability {name:?} in --cap-add/--cap-drop; use names like NET_ADMIN or ALL"
    )]
    UnknownCapability { name: String },
    #[error("cannot use {path} as a device: {reason}")]
    BadDevice { path: String, reason: String },
    #[error("unknown ulimit {name:?}; use names like nofile, nproc, core, memlock, stack")]
    UnknownUlimit { name: String },
    #[error("cannot read the seccomp profile {path}: {reason}")]
    SeccompProfile { path: String, reason: String },
    #[error("bind mount source path does not exist: {path}; create it first or fix the -v/--mount source")]
    MissingBindSource { path: String },
    #[error("building the OCI spec failed at {what}: {source}")]
    Build {
        what: &'static str,
        #[source]
        source: oci_spec::OciSpecError,
    },
}

fn build_err(what: &'static str) -> impl FnOnce(oci_spec::OciSpecError) -> SpecError {
    move |source| SpecError::Build { what, source }
}

/// Builds the runtime spec for a container whose root filesystem is mounted at `rootfs`
/// (the rootfs is read only to resolve the user).
pub fn container_spec(
    image: &ImageConfig,
    rootfs: &Path,
    opts: &SpecOptions,
) -> Result<Spec, SpecError> {
    let args = command_line(image, opts)?;
    let resolved = user::resolve(
        rootfs,
        opts.user
            .as_deref()
            .or(image.user().as_deref())
            .unwrap_or(""),
    )?;
    let env = environment(image, opts, &resolved.home);
    let cwd = opts
        .workdir
        .clone()
        .or_else(|| image.working_dir().clone())
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".to_string());
    let caps: std::collections::HashSet<Capability> = capabilities(opts)?.into_iter().collect();
    let cap_set = LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        // Docker sets no inheritable or ambient capabilities (oci-spec would default them).
        .inheritable(std::collections::HashSet::new())
        .ambient(std::collections::HashSet::new())
        .effective(caps.clone())
        .permitted(caps)
        .build()
        .map_err(build_err("process.capabilities"))?;
    let process = ProcessBuilder::default()
        .terminal(opts.tty)
        .args(args)
        .env(env)
        .cwd(cwd)
        .user(
            UserBuilder::default()
                .uid(resolved.uid)
                .gid(resolved.gid)
                .additional_gids(resolved.additional_gids)
                .build()
                .map_err(build_err("process.user"))?,
        )
        .capabilities(cap_set)
        .no_new_privileges(opts.no_new_privileges)
        .rlimits(rlimits(&opts.ulimits)?)
        .build()
        .map_err(build_err("process"))?;

    let mut spec = Spec::default();
    spec.set_hostname(Some(opts.hostname.clone()));
    spec.set_process(Some(process));
    spec.set_root(Some(
        RootBuilder::default()
            .path(rootfs)
            .readonly(opts.read_only)
            .build()
            .map_err(build_err("root"))?,
    ));
    let mut mounts = default_mounts(opts.privileged, opts.shm_size);
    for m in &opts.mounts {
        mounts.retain(|existing| existing.destination() != Path::new(&m.target));
        mounts.push(user_mount(m)?);
    }
    spec.set_mounts(Some(mounts));

    let linux = spec.linux_mut().get_or_insert_with(Default::default);
    linux.set_namespaces(Some(namespaces(&opts.network)));
    if opts.privileged {
        linux.set_masked_paths(Some(vec![]));
        linux.set_readonly_paths(Some(vec![]));
    } else {
        linux.set_masked_paths(Some(MASKED_PATHS.iter().map(|p| p.to_string()).collect()));
        linux.set_readonly_paths(Some(READONLY_PATHS.iter().map(|p| p.to_string()).collect()));
    }
    let mut device_cgroup = device_rules(opts.privileged);
    let mut devices = Vec::new();
    for d in &opts.devices {
        let (device, rule) = host_device(d)?;
        devices.push(device);
        device_cgroup.push(rule);
    }
    if !devices.is_empty() {
        linux.set_devices(Some(devices));
    }
    if !opts.sysctls.is_empty() {
        linux.set_sysctl(Some(opts.sysctls.clone().into_iter().collect()));
    }
    let mut resources = resources(&opts.resources)?;
    resources.set_devices(Some(device_cgroup));
    linux.set_resources(Some(resources));
    if !opts.privileged {
        match opts.seccomp.as_deref() {
            Some("unconfined") => {}
            Some(path) => {
                linux.set_seccomp(Some(seccomp_from_file(path)?));
            }
            None => {
                let names: Vec<String> = caps_for_seccomp(&spec_caps(&spec));
                let linux = spec.linux_mut().get_or_insert_with(Default::default);
                linux.set_seccomp(Some(skiff_runtime::security::docker_default_seccomp(
                    &names,
                )));
            }
        }
    }
    Ok(spec)
}

fn spec_caps(spec: &Spec) -> Vec<Capability> {
    spec.process()
        .as_ref()
        .and_then(|p| p.capabilities().as_ref())
        .and_then(|c| c.bounding().clone())
        .map(|set| set.into_iter().collect())
        .unwrap_or_default()
}

fn caps_for_seccomp(caps: &[Capability]) -> Vec<String> {
    caps.iter()
        .filter_map(|c| serde_json::to_value(c).ok())
        .filter_map(|v| v.as_str().map(String::from))
        .collect()
}

/// A docker-format seccomp profile file. Its fields match the OCI spec's for profiles
/// that list syscalls by name (docker's `archMap`/`includes` extensions are not read).
fn seccomp_from_file(path: &str) -> Result<oci_spec::runtime::LinuxSeccomp, SpecError> {
    let err = |reason: String| SpecError::SeccompProfile {
        path: path.to_string(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| err(e.to_string()))
}

fn user_mount(m: &MountOption) -> Result<Mount, SpecError> {
    let mut options: Vec<&str> = Vec::new();
    let (typ, source) = if m.kind == "tmpfs" {
        options.extend(["nosuid", "nodev", "noexec"]);
        ("tmpfs", "tmpfs")
    } else {
        if !Path::new(&m.source).exists() {
            return Err(SpecError::MissingBindSource {
                path: m.source.clone(),
            });
        }
        options.extend(["rbind", "rprivate"]);
        ("bind", m.source.as_str())
    };
    if m.read_only {
        options.push("ro");
    }
    options.extend(m.options.iter().map(String::as_str));
    Ok(mount(&m.target, typ, source, &options))
}

fn rlimits(ulimits: &[UlimitOption]) -> Result<Vec<oci_spec::runtime::PosixRlimit>, SpecError> {
    ulimits
        .iter()
        .map(|u| {
            let typ: oci_spec::runtime::PosixRlimitType = serde_json::from_value(
                serde_json::Value::String(format!("RLIMIT_{}", u.name.to_ascii_uppercase())),
            )
            .map_err(|_| SpecError::UnknownUlimit {
                name: u.name.clone(),
            })?;
            oci_spec::runtime::PosixRlimitBuilder::default()
                .typ(typ)
                .soft(u.soft)
                .hard(u.hard)
                .build()
                .map_err(build_err("process.rlimits"))
        })
        .collect()
}

/// The device node at `d.host` and the cgroup rule allowing it.
fn host_device(
    d: &DeviceOption,
) -> Result<(oci_spec::runtime::LinuxDevice, LinuxDeviceCgroup), SpecError> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let bad = |reason: &str| SpecError::BadDevice {
        path: d.host.clone(),
        reason: reason.to_string(),
    };
    let meta = std::fs::metadata(&d.host).map_err(|e| bad(&e.to_string()))?;
    let typ = if meta.file_type().is_char_device() {
        LinuxDeviceType::C
    } else if meta.file_type().is_block_device() {
        LinuxDeviceType::B
    } else {
        return Err(bad("not a character or block device"));
    };
    let (major, minor) = (
        nix::sys::stat::major(meta.rdev()) as i64,
        nix::sys::stat::minor(meta.rdev()) as i64,
    );
    let device = oci_spec::runtime::LinuxDeviceBuilder::default()
        .path(if d.container.is_empty() {
            &d.host
        } else {
            &d.container
        })
        .typ(typ)
        .major(major)
        .minor(minor)
        .file_mode(meta.mode() & 0o777)
        .uid(meta.uid())
        .gid(meta.gid())
        .build()
        .map_err(build_err("linux.devices"))?;
    let access = if d.permissions.is_empty() {
        "rwm"
    } else {
        d.permissions.as_str()
    };
    let rule = LinuxDeviceCgroupBuilder::default()
        .allow(true)
        .typ(typ)
        .major(major)
        .minor(minor)
        .access(access)
        .build()
        .map_err(build_err("linux.resources.devices"))?;
    Ok((device, rule))
}

fn device_numbers(path: &str) -> Result<(i64, i64), SpecError> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(|e| SpecError::BadDevice {
        path: path.to_string(),
        reason: e.to_string(),
    })?;
    Ok((
        nix::sys::stat::major(meta.rdev()) as i64,
        nix::sys::stat::minor(meta.rdev()) as i64,
    ))
}

fn resources(r: &ResourceOptions) -> Result<oci_spec::runtime::LinuxResources, SpecError> {
    use oci_spec::runtime::{
        LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder,
        LinuxThrottleDeviceBuilder,
    };
    let mut out = LinuxResourcesBuilder::default()
        .build()
        .map_err(build_err("linux.resources"))?;
    if r.memory.is_some() || r.memory_swap.is_some() || r.memory_reservation.is_some() {
        let mut m = LinuxMemoryBuilder::default();
        if let Some(v) = r.memory {
            m = m.limit(v);
            // Docker's default: swap as much as memory again (memory-swap = 2 × memory).
            m = m.swap(r.memory_swap.unwrap_or(v * 2));
        } else if let Some(v) = r.memory_swap {
            m = m.swap(v);
        }
        if let Some(v) = r.memory_reservation {
            m = m.reservation(v);
        }
        out.set_memory(Some(
            m.build().map_err(build_err("linux.resources.memory"))?,
        ));
    }
    if r.nano_cpus.is_some() || r.cpu_shares.is_some() || r.cpuset_cpus.is_some() {
        let mut c = LinuxCpuBuilder::default();
        if let Some(n) = r.nano_cpus {
            c = c.period(100_000u64).quota(n / 10_000);
        }
        if let Some(s) = r.cpu_shares {
            c = c.shares(s);
        }
        if let Some(set) = &r.cpuset_cpus {
            c = c.cpus(set.clone());
        }
        out.set_cpu(Some(c.build().map_err(build_err("linux.resources.cpu"))?));
    }
    if let Some(limit) = r.pids_limit {
        out.set_pids(Some(
            LinuxPidsBuilder::default()
                .limit(limit)
                .build()
                .map_err(build_err("linux.resources.pids"))?,
        ));
    }
    let throttle = |list: &[(String, u64)]| -> Result<Vec<_>, SpecError> {
        list.iter()
            .map(|(path, rate)| {
                let (major, minor) = device_numbers(path)?;
                LinuxThrottleDeviceBuilder::default()
                    .major(major)
                    .minor(minor)
                    .rate(*rate)
                    .build()
                    .map_err(build_err("linux.resources.blockIO"))
            })
            .collect()
    };
    let has_throttle = !(r.device_read_bps.is_empty()
        && r.device_write_bps.is_empty()
        && r.device_read_iops.is_empty()
        && r.device_write_iops.is_empty());
    if r.blkio_weight.is_some() || has_throttle {
        let mut b = LinuxBlockIoBuilder::default();
        if let Some(w) = r.blkio_weight {
            b = b.weight(w);
        }
        if has_throttle {
            b = b
                .throttle_read_bps_device(throttle(&r.device_read_bps)?)
                .throttle_write_bps_device(throttle(&r.device_write_bps)?)
                .throttle_read_iops_device(throttle(&r.device_read_iops)?)
                .throttle_write_iops_device(throttle(&r.device_write_iops)?);
        }
        out.set_block_io(Some(
            b.build().map_err(build_err("linux.resources.blockIO"))?,
        ));
    }
    Ok(out)
}

/// Docker's rule: the entrypoint (from `--entrypoint`, else the image) followed by the
/// command (from the command line, else the image's Cmd — dropped when `--entrypoint` is
/// given, because an image's Cmd is meant for the image's own entrypoint).
fn command_line(image: &ImageConfig, opts: &SpecOptions) -> Result<Vec<String>, SpecError> {
    let entrypoint = match &opts.entrypoint {
        Some(e) => e.clone(),
        None => image.entrypoint().clone().unwrap_or_default(),
    };
    let cmd = if !opts.cmd.is_empty() {
        opts.cmd.clone()
    } else if opts.entrypoint.is_some() {
        Vec::new()
    } else {
        image.cmd().clone().unwrap_or_default()
    };
    let args: Vec<String> = entrypoint.into_iter().chain(cmd).collect();
    if args.is_empty() {
        return Err(SpecError::NoCommand);
    }
    Ok(args)
}

/// HOSTNAME first, then the image's Env (with a default PATH), then the user's `-e`
/// overriding by key, then TERM for a terminal and HOME when nothing set it.
fn environment(image: &ImageConfig, opts: &SpecOptions, home: &str) -> Vec<String> {
    let mut env: Vec<String> = vec![format!("HOSTNAME={}", opts.hostname)];
    let image_env = image.env().clone().unwrap_or_default();
    if !image_env.iter().any(|e| e.starts_with("PATH=")) {
        env.push(format!("PATH={DEFAULT_PATH}"));
    }
    for entry in image_env.into_iter().chain(opts.env.iter().cloned()) {
        set_env(&mut env, entry);
    }
    if opts.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".to_string());
    }
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={home}"));
    }
    env
}

/// Sets `KEY=VALUE`, replacing an earlier value of KEY. A bare `KEY` (from `-e KEY`) is left
/// for the caller to fill from its own environment; here it is kept as given.
fn set_env(env: &mut Vec<String>, entry: String) {
    let key = entry.split('=').next().unwrap_or_default().to_string();
    env.retain(|e| e.split('=').next() != Some(key.as_str()));
    env.push(entry);
}

fn capabilities(opts: &SpecOptions) -> Result<Vec<Capability>, SpecError> {
    let all: Vec<Capability> = all_capabilities();
    if opts.privileged {
        return Ok(all);
    }
    let mut caps: Vec<Capability> = DEFAULT_CAPABILITIES.to_vec();
    for name in &opts.cap_drop {
        if name.eq_ignore_ascii_case("ALL") {
            caps.clear();
        } else {
            let cap = parse_capability(name)?;
            caps.retain(|c| *c != cap);
        }
    }
    for name in &opts.cap_add {
        if name.eq_ignore_ascii_case("ALL") {
            caps = all.clone();
        } else {
            let cap = parse_capability(name)?;
            if !caps.contains(&cap) {
                caps.push(cap);
            }
        }
    }
    Ok(caps)
}

fn parse_capability(name: &str) -> Result<Capability, SpecError> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    serde_json::from_value(serde_json::Value::String(full)).map_err(|_| {
        SpecError::UnknownCapability {
            name: name.to_string(),
        }
    })
}

fn all_capabilities() -> Vec<Capability> {
    // Every capability the spec knows; the runtime skips ones this kernel lacks.
    [
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_ADMIN",
        "NET_RAW",
        "IPC_LOCK",
        "IPC_OWNER",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_CHROOT",
        "SYS_PTRACE",
        "SYS_PACCT",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_NICE",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "MKNOD",
        "LEASE",
        "AUDIT_WRITE",
        "AUDIT_CONTROL",
        "SETFCAP",
        "MAC_OVERRIDE",
        "MAC_ADMIN",
        "SYSLOG",
        "WAKE_ALARM",
        "BLOCK_SUSPEND",
        "AUDIT_READ",
        "PERFMON",
        "BPF",
        "CHECKPOINT_RESTORE",
    ]
    .iter()
    .filter_map(|n| parse_capability(n).ok())
    .collect()
}

fn mount(destination: &str, typ: &str, source: &str, options: &[&str]) -> Mount {
    MountBuilder::default()
        .destination(destination)
        .typ(typ)
        .source(source)
        .options(options.iter().map(|o| o.to_string()).collect::<Vec<_>>())
        .build()
        .expect("a mount with every field set always builds")
}

/// Docker's default mounts: /proc, a tmpfs /dev with devpts, shm and mqueue, a read-only
/// /sys (writable when privileged) and a read-only cgroup view.
fn default_mounts(privileged: bool, shm_size: Option<u64>) -> Vec<Mount> {
    let sys_mode = if privileged { "rw" } else { "ro" };
    let shm_size = format!("size={}k", shm_size.unwrap_or(64 << 20).div_ceil(1024));
    vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", sys_mode],
        ),
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", sys_mode],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", &shm_size],
        ),
    ]
}

fn namespaces(network: &NetworkMode) -> Vec<LinuxNamespace> {
    let ns = |typ: LinuxNamespaceType, path: Option<&Path>| {
        let mut b = LinuxNamespaceBuilder::default().typ(typ);
        if let Some(p) = path {
            b = b.path(p);
        }
        b.build().expect("a namespace with a type always builds")
    };
    let mut list = vec![
        ns(LinuxNamespaceType::Mount, None),
        ns(LinuxNamespaceType::Uts, None),
        ns(LinuxNamespaceType::Pid, None),
        ns(LinuxNamespaceType::Ipc, None),
    ];
    match network {
        NetworkMode::None => list.push(ns(LinuxNamespaceType::Network, None)),
        NetworkMode::Host => {}
        NetworkMode::Join(path) => list.push(ns(LinuxNamespaceType::Network, Some(path))),
    }
    list
}

/// Docker's device cgroup rules: deny everything, then allow mknod of any device and the
/// standard character devices; a privileged container may use every device.
fn device_rules(privileged: bool) -> Vec<LinuxDeviceCgroup> {
    let rule = |allow: bool,
                typ: Option<LinuxDeviceType>,
                major: Option<i64>,
                minor: Option<i64>,
                access: &str| {
        let mut b = LinuxDeviceCgroupBuilder::default()
            .allow(allow)
            .access(access);
        if let Some(t) = typ {
            b = b.typ(t);
        }
        if let Some(m) = major {
            b = b.major(m);
        }
        if let Some(m) = minor {
            b = b.minor(m);
        }
        b.build().expect("a device rule always builds")
    };
    if privileged {
        return vec![rule(true, Some(LinuxDeviceType::A), None, None, "rwm")];
    }
    let c = Some(LinuxDeviceType::C);
    vec![
        rule(false, Some(LinuxDeviceType::A), None, None, "rwm"),
        rule(true, c, None, None, "m"),
        rule(true, Some(LinuxDeviceType::B), None, None, "m"),
        rule(true, c, Some(1), Some(3), "rwm"),    // /dev/null
        rule(true, c, Some(1), Some(5), "rwm"),    // /dev/zero
        rule(true, c, Some(1), Some(7), "rwm"),    // /dev/full
        rule(true, c, Some(5), Some(0), "rwm"),    // /dev/tty
        rule(true, c, Some(1), Some(8), "rwm"),    // /dev/random
        rule(true, c, Some(1), Some(9), "rwm"),    // /dev/urandom
        rule(true, c, Some(136), None, "rwm"),     // /dev/pts/*
        rule(true, c, Some(5), Some(2), "rwm"),    // /dev/ptmx
        rule(true, c, Some(10), Some(200), "rwm"), // /dev/net/tun
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::image::ConfigBuilder;

    fn image(entrypoint: &[&str], cmd: &[&str]) -> ImageConfig {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut b =
            ConfigBuilder::default().env(vec!["PATH=/bin".to_string(), "A=image".to_string()]);
        if !entrypoint.is_empty() {
            b = b.entrypoint(v(entrypoint));
        }
        if !cmd.is_empty() {
            b = b.cmd(v(cmd));
        }
        b.build().unwrap()
    }

    fn args(image: &ImageConfig, opts: &SpecOptions) -> Vec<String> {
        let root = tempfile::tempdir().unwrap();
        let spec = container_spec(image, root.path(), opts).unwrap();
        spec.process().as_ref().unwrap().args().clone().unwrap()
    }

    #[test]
    fn command_follows_dockers_entrypoint_and_cmd_rules() {
        let img = image(&["/entry"], &["default"]);
        assert_eq!(args(&img, &SpecOptions::default()), ["/entry", "default"]);
        let opts = SpecOptions {
            cmd: vec!["mine".into()],
            ..Default::default()
        };
        assert_eq!(args(&img, &opts), ["/entry", "mine"]);
        let opts = SpecOptions {
            entrypoint: Some(vec!["/other".into()]),
            ..Default::default()
        };
        assert_eq!(
            args(&img, &opts),
            ["/other"],
            "--entrypoint drops the image's Cmd"
        );
        let opts = SpecOptions {
            entrypoint: Some(vec![]),
            cmd: vec!["sh".into()],
            ..Default::default()
        };
        assert_eq!(args(&img, &opts), ["sh"], "--entrypoint \"\" clears it");
    }

    #[test]
    fn no_command_is_a_clear_error() {
        let root = tempfile::tempdir().unwrap();
        let err =
            container_spec(&image(&[], &[]), root.path(), &SpecOptions::default()).unwrap_err();
        assert!(matches!(err, SpecError::NoCommand));
    }

    #[test]
    fn environment_layers_image_then_user_values() {
        let opts = SpecOptions {
            hostname: "abc".into(),
            env: vec!["A=user".into(), "B=2".into()],
            tty: true,
            ..Default::default()
        };
        let env = environment(&image(&[], &["x"]), &opts, "/root");
        assert_eq!(
            env,
            [
                "HOSTNAME=abc",
                "PATH=/bin",
                "A=user",
                "B=2",
                "TERM=xterm",
                "HOME=/root"
            ]
        );
    }

    #[test]
    fn default_path_when_image_has_none() {
        let img = ConfigBuilder::default()
            .cmd(vec!["x".to_string()])
            .build()
            .unwrap();
        let env = environment(&img, &SpecOptions::default(), "/");
        assert!(env.contains(&format!("PATH={DEFAULT_PATH}")));
    }

    #[test]
    fn capabilities_add_drop_and_privileged() {
        let opts = SpecOptions {
            cap_add: vec!["net_admin".into()],
            cap_drop: vec!["CAP_CHOWN".into()],
            ..Default::default()
        };
        let caps = capabilities(&opts).unwrap();
        assert!(caps.contains(&Capability::NetAdmin) && !caps.contains(&Capability::Chown));
        let none = capabilities(&SpecOptions {
            cap_drop: vec!["ALL".into()],
            ..Default::default()
        })
        .unwrap();
        assert!(none.is_empty());
        let all = capabilities(&SpecOptions {
            privileged: true,
            ..Default::default()
        })
        .unwrap();
        assert!(all.contains(&Capability::SysAdmin) && all.len() >= 40);
        let bad = capabilities(&SpecOptions {
            cap_add: vec!["FLY".into()],
            ..Default::default()
        });
        assert!(matches!(bad, Err(SpecError::UnknownCapability { .. })));
    }

    #[test]
    fn privileged_unmasks_and_allows_all_devices() {
        let root = tempfile::tempdir().unwrap();
        let opts = SpecOptions {
            privileged: true,
            ..Default::default()
        };
        let spec = container_spec(&image(&[], &["x"]), root.path(), &opts).unwrap();
        let linux = spec.linux().as_ref().unwrap();
        assert_eq!(linux.masked_paths().as_deref(), Some(&[][..]));
        let devices = linux
            .resources()
            .as_ref()
            .unwrap()
            .devices()
            .clone()
            .unwrap();
        assert_eq!(devices.len(), 1);
        assert!(devices[0].allow());
    }
}
