//! `GET /p/{project}` latency: a release server on a free port with a fresh SQLite file, one
//! signed-in client, sequential requests over keep-alive. Prints median, p90, p99 and max.
//!
//! cargo bench -p server --bench page -- [REQUESTS] [RUNS]

use std::time::{Duration, Instant};

use server::config::Config;

const PASSWORD: &str = "correct horse battery staple";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let requests: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let runs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);

    let data = std::env::temp_dir().join(format!("tandem_bench_{}", std::process::id()));
    let mut config = Config::for_data_dir(&data);
    config.bind = "127.0.0.1:0".parse()?;
    config.log_filter = "warn".into();
    let running = server::start(config).await?;
    let client = reqwest::Client::builder().cookie_store(true).build()?;
    client
        .post(running.url("/api/signup"))
        .form(&[("name", "bench"), ("password", PASSWORD)])
        .send()
        .await?
        .error_for_status()?;
    let project: serde_json::Value = client
        .post(running.url("/api/projects/create"))
        .form(&[("name", "Bench project")])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let url = running.url(&format!("/p/{}", project["id"]));

    println!("GET /p/{{project}}: {runs} runs x {requests} sequential requests");
    let mut medians = Vec::new();
    let mut p99s = Vec::new();
    for run in 1..=runs {
        // Warm-up: connection, caches, allocator.
        for _ in 0..50 {
            client.get(&url).send().await?.bytes().await?;
        }
        let mut samples = Vec::with_capacity(requests);
        for _ in 0..requests {
            let t = Instant::now();
            let res = client.get(&url).send().await?;
            assert!(res.status().is_success(), "status {}", res.status());
            res.bytes().await?;
            samples.push(t.elapsed());
        }
        samples.sort();
        let (p50, p90, p99, max) = (
            percentile(&samples, 0.5),
            percentile(&samples, 0.9),
            percentile(&samples, 0.99),
            samples[samples.len() - 1],
        );
        println!(
            "run {run}: median {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
            ms(p50),
            ms(p90),
            ms(p99),
            ms(max)
        );
        medians.push(p50);
        p99s.push(p99);
    }
    medians.sort();
    p99s.sort();
    println!(
        "median of runs: median {:.3} ms, p99 {:.3} ms",
        ms(percentile(&medians, 0.5)),
        ms(percentile(&p99s, 0.5))
    );
    running.stop().await?;
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}
