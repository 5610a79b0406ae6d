//! The test suite's stand-in LWA server as a program, for benchmarks and manual tries:
//! `cargo run --example lwa_standin -- --latency-ms 50` prints its token URL and serves
//! until killed. It accepts any client and refresh token.

#[path = "../tests/support/lwa_standin.rs"]
mod lwa_standin;

use std::time::Duration;

fn main() {
    let mut latency_ms = 0;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--latency-ms", Some(value)) => {
                latency_ms = value.parse().expect("--latency-ms takes milliseconds")
            }
            _ => panic!("usage: lwa_standin [--latency-ms N]"),
        }
    }
    let standin = lwa_standin::StandIn::start();
    standin.set_permissive(true);
    standin.set_latency(Duration::from_millis(latency_ms));
    println!("{}", standin.token_url());
    loop {
        std::thread::park();
    }
}
