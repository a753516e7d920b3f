//! The `skiff` binary. `skiff runtime …` is the runc-compatible OCI runtime; invoked as
//! `skiff-runtime` or `runc` (argv[0], e.g. through a symlink) the binary behaves exactly like
//! `skiff runtime`, so dockerd's `--add-runtime` and podman's `--runtime` can use it.

mod commands;
mod runtime;

use std::ffi::OsString;
use std::path::Path;

fn main() {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    let name = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name == "skiff-runtime" || name == "runc" {
        std::process::exit(runtime::main(&name, args.split_off(1)));
    }
    if args.get(1).is_some_and(|a| a == "runtime") {
        std::process::exit(runtime::main("skiff runtime", args.split_off(2)));
    }
    std::process::exit(commands::main(args));
}
