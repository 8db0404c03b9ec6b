//! What the secret scanner costs: building the needles for a set of values, and scanning
//! 64 KiB of text for every form of every value (against the literal-only search it replaced).
//! `cargo bench -p spud-policy --bench scan`; medians of 200 runs.

use spud_policy::Scanner;
use std::hint::black_box;
use std::time::Instant;

fn median_us(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut v: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let kib = 64;
    let prose =
        "The quick brown fox jumps over the lazy dog; spud 0123456789. ".repeat(kib * 1024 / 62);
    let with_percent = "a=%41%42&b=spud%20x ".repeat(kib * 1024 / 20);
    println!("| values | build | 64 KiB prose: all forms | literal only (before) | 64 KiB with `%`: all forms | redact 64 KiB prose |");
    println!("|---|---|---|---|---|---|");
    for n in [1usize, 5, 50] {
        let values: Vec<String> = (0..n)
            .map(|i| format!("tok-{i:04}-a8f3k2j9x7q1z5"))
            .collect();
        let build = median_us(200, || {
            black_box(Scanner::new(&values));
        });
        let s = Scanner::new(&values);
        let scan = median_us(200, || {
            black_box(s.found(black_box(&prose)));
        });
        let literal = median_us(200, || {
            black_box(
                values
                    .iter()
                    .any(|v| black_box(&prose).contains(v.as_str())),
            );
        });
        let percent = median_us(200, || {
            black_box(s.found(black_box(&with_percent)));
        });
        let redact = median_us(200, || {
            black_box(s.redact(black_box(&prose), "[REDACTED]"));
        });
        println!(
            "| {n} | {build:.0} µs | {scan:.0} µs | {literal:.0} µs | {percent:.0} µs | {redact:.0} µs |"
        );
    }
}
