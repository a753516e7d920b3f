//! Cgroups for the skiff runtime: one interface, two implementations chosen at run time.
//!
//! Contract (used by `skiff-runtime`):
//! - [`detect`] tells which hierarchy the host runs (v2 unified, or v1 incl. hybrid hosts,
//!   which are treated as v1 like youki does).
//! - `Manager::new(cgroups_path, container_id)` builds a manager for an OCI
//!   `linux.cgroupsPath`; `create`, `add_task`, `apply(&LinuxResources)`, `freeze`/`thaw`,
//!   `stats`, `pids`, `oom_kill_count` and `destroy` act on the real cgroup filesystem.
