//! Writes a synthetic estate for benchmarks and scale tests:
//!
//! ```sh
//! cargo run --release --example gen_estate -- 1000 25000 42 /tmp/big
//! powerplane --state-dir /tmp/big/state --inventory /tmp/big/inventory sim init
//! powerplane --state-dir /tmp/big/state plan /tmp/big/manifests
//! ```

#[path = "estate_gen/mod.rs"]
mod estate_gen;

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 4 {
        eprintln!("usage: gen_estate FRAMES PARTITIONS SEED OUT_DIR");
        std::process::exit(1);
    }
    let num = |i: usize| -> u64 {
        args[i].parse().unwrap_or_else(|_| {
            eprintln!("{} is not a number", args[i]);
            std::process::exit(1)
        })
    };
    let (frames, partitions, seed) = (num(0) as usize, num(1) as usize, num(2));
    let out = PathBuf::from(&args[3]);
    let g = estate_gen::generate(frames.max(1), partitions, seed);
    for (dir, files) in [("inventory", &g.inventory), ("manifests", &g.manifests)] {
        let d = out.join(dir);
        std::fs::create_dir_all(&d)?;
        for (name, text) in files {
            std::fs::write(d.join(name), text)?;
        }
    }
    println!("wrote {frames} frames and {partitions} partitions to {} (inventory/ and manifests/)", out.display());
    Ok(())
}
