//! Builds the built-in hello-world image: compiles hello/hello.c into a static x86_64
//! program without libc, packs it into an OCI image (src/builtin/pack.rs) and leaves the
//! blobs in OUT_DIR, where src/builtin/mod.rs embeds them with include_bytes!.

#[path = "src/layer/tar_write.rs"]
#[allow(dead_code)]
mod tar_write;

#[path = "src/builtin/pack.rs"]
#[allow(dead_code)]
mod pack;

use std::path::PathBuf;
use std::process::Command;

/// The compiler flags; the test that rebuilds the program uses the same list.
const CFLAGS: &[&str] = &[
    "-static",
    "-nostdlib",
    "-ffreestanding",
    "-Os",
    "-fno-pie",
    "-no-pie",
    "-fno-stack-protector",
    "-fno-asynchronous-unwind-tables",
    "-fno-ident",
    "-Wl,--build-id=none",
    "-Wl,-n",
    "-s",
];

fn main() {
    println!("cargo:rerun-if-changed=hello/hello.c");
    println!("cargo:rerun-if-changed=src/builtin/pack.rs");
    println!("cargo:rerun-if-changed=src/layer/tar_write.rs");
    println!("cargo:rerun-if-env-changed=CC");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    println!("cargo:rustc-check-cfg=cfg(skiff_hello_world)");
    if arch != "x86_64" {
        println!("cargo:warning=the built-in hello-world image is only built for x86_64 (target is {arch})");
        return;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let program = out.join("hello");
    let status = Command::new(&cc)
        .args(CFLAGS)
        .arg("-o")
        .arg(&program)
        .arg("hello/hello.c")
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {cc:?} to build the hello-world image: {e} (install gcc)"));
    assert!(status.success(), "{cc} failed to build hello/hello.c");
    let bytes = std::fs::read(&program).expect("compiled hello program");
    let image = pack::pack_hello(&bytes);
    std::fs::write(out.join("hello-layer.tar.gz"), &image.layer).unwrap();
    std::fs::write(out.join("hello-config.json"), &image.config).unwrap();
    std::fs::write(out.join("hello-manifest.json"), &image.manifest).unwrap();
    std::fs::write(out.join("hello-cflags.txt"), CFLAGS.join("\n")).unwrap();
    println!("cargo:rustc-cfg=skiff_hello_world");
}
