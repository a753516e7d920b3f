//! The skiff OCI runtime: turns an OCI bundle into a running, isolated process tree.
//!
//! It knows nothing about images or container names (see DESIGN.md). The engine calls it
//! in-process; `skiff runtime …` exposes the same calls as a runc-compatible command line.
