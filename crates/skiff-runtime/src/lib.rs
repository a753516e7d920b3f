//! The skiff OCI runtime: turns an OCI bundle into a running, isolated process tree.
//!
//! It knows nothing about images or container names (see DESIGN.md). The engine calls it
//! in-process; `skiff runtime …` exposes the same calls as a runc-compatible command line.
//!
//! Entry point: [`Runtime`] (one per state root) with `create`, `start`, `kill`, `delete`,
//! `run`, `exec`, `pause`, `resume`, `update`, `stats`. The process that calls `create`,
//! `run` or `exec` must be single-threaded: the container init is cloned from it without an
//! exec (that is what makes start fast), like a fork.

pub mod cgroups;
mod console;
pub mod container;
pub mod error;
pub mod events;
pub mod exec;
pub mod features;
pub mod hooks;
mod init;
pub mod namespaces;
pub mod rootfs;
pub mod sealed_exe;
pub mod security;
mod signals;
pub mod spec;
pub mod state;
mod sync;
pub mod sys;
mod tty;

pub use container::{parse_signal, validate_id, Container, CreateOptions, Runtime};
pub use error::Error;
pub use state::{Status, DEFAULT_ROOT};
