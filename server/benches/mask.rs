//! What masking an environment's secrets costs a run's output path: 64 MiB of log-like output
//! read in 8 KiB pieces (as a run's pipe is read) through the decoder alone (the baseline, no
//! environment), then with 1, 10 and 100 secrets of 24 characters, one of which appears every
//! 4 KiB. Each case is run 5 times; the median is reported in MiB/s.
//!
//! cargo bench -p server --bench mask

use std::time::{Duration, Instant};

use server::{envs::Masker, runs::output::Decoded};

const TOTAL: usize = 64 << 20;
const PIECE: usize = 8 << 10;
const RUNS: usize = 5;

fn secrets(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("sk-{i:04}-f00dfacecafebeef"))
        .collect()
}

/// Lines like a build's or a test runner's output, with a secret every ~4 KiB when given.
fn output(secret: Option<&str>) -> Vec<u8> {
    let mut out = String::with_capacity(TOTAL + 4096);
    let mut i = 0usize;
    while out.len() < TOTAL {
        out.push_str(&format!(
            "   Compiling crate-{i} v0.{}.{} (/project/crates/crate-{i})\n",
            i % 17,
            i % 5
        ));
        if i.is_multiple_of(60)
            && let Some(s) = secret
        {
            out.push_str(&format!(
                "connecting with token={s} to https://api.example.test\n"
            ));
        }
        i += 1;
    }
    out.into_bytes()
}

fn run(bytes: &[u8], secrets: &[String]) -> Duration {
    let mut decoded = Decoded::new(Masker::new(secrets.iter().cloned()));
    let start = Instant::now();
    let mut shown = 0usize;
    for piece in bytes.chunks(PIECE) {
        shown += decoded.push(piece).len();
    }
    shown += decoded.finish().len();
    let took = start.elapsed();
    assert!(shown > 0);
    took
}

fn main() {
    println!("masking secrets in 64 MiB of output, 8 KiB pieces, median of {RUNS}");
    let mut baseline = None;
    for n in [0usize, 1, 10, 100] {
        let list = secrets(n);
        let data = output(list.first().map(String::as_str));
        let mut times: Vec<Duration> = (0..RUNS).map(|_| run(&data, &list)).collect();
        times.sort();
        let median = times[RUNS / 2];
        let rate = (data.len() as f64 / (1 << 20) as f64) / median.as_secs_f64();
        let base = *baseline.get_or_insert(rate);
        println!(
            "{n:>3} secrets: {:>7.1} ms  {rate:>8.0} MiB/s  ({:.2}× the time of no secrets)",
            median.as_secs_f64() * 1000.0,
            base / rate
        );
    }
}
