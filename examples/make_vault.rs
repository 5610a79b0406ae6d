//! Writes a vault with N logged-in profiles, for benchmarks:
//! `SPVAULT_PASSPHRASE=… cargo run --release --example make_vault -- PATH N [KDF_MEMORY_MIB KDF_ITERATIONS]`.

#[path = "../benches/fixture.rs"]
mod fixture;

use spvault::vault::crypto::KdfParams;

fn main() -> Result<(), spvault::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: u32| {
        args.get(i)
            .map_or(default, |v| v.parse().expect("a number"))
    };
    let path = args
        .first()
        .expect("usage: make_vault PATH N [MIB ITERATIONS]");
    let kdf = KdfParams {
        memory_kib: number(2, 8) * 1024,
        iterations: number(3, 1),
        parallelism: 1,
    };
    fixture::write_vault(path, number(1, 1), kdf).map(drop)
}
