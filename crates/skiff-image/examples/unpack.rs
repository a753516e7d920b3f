//! Unpacks one layer blob (gzip, zstd or plain tar) into a fresh layer store, the way a pull
//! does: `unpack [--durable] BLOB ROOT`. Used by bench/unpack.sh against `tar -xf`.

use std::fs::File;
use std::time::Instant;

use skiff_image::layer::LayerStore;
use skiff_image::Digest;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let durable = args.first().is_some_and(|a| a == "--durable");
    if durable {
        args.remove(0);
    }
    let [blob, root] = &args[..] else {
        eprintln!("usage: unpack [--durable] BLOB ROOT");
        std::process::exit(2);
    };
    let mut store = LayerStore::new(root.as_ref()).unwrap_or_else(|e| fail(&e));
    store.durable = durable;
    let file = File::open(blob).unwrap_or_else(|e| fail(&e));
    let started = Instant::now();
    let chain_id = Digest::of(blob.as_bytes());
    let info = store
        .apply(&chain_id, None, None, file)
        .unwrap_or_else(|e| fail(&e));
    if std::env::var_os("UNPACK_VERBOSE").is_some() {
        eprintln!(
            "{} entries, {} bytes of tar, diff id {}, in {:?}",
            info.entries,
            info.tar_size,
            info.diff_id,
            started.elapsed()
        );
    }
}

fn fail(e: &dyn std::fmt::Display) -> ! {
    eprintln!("unpack: {e}");
    std::process::exit(1);
}
