//! Project files: the numbers issue 4 asks for, measured in-process against a release server
//! on a fresh SQLite file. Each is repeated and reported as a median.
//!
//! - import: time to bind (scan and import) a directory of N files (default 10,000 in 100
//!   folders, ~10 MB of generated source);
//! - search: content-search latency over ~10 MB of source, cold (texts read from the
//!   documents) and warm (texts cached), plain and regex;
//! - disk round trip: an external write to a file → its update reaching a subscriber of the
//!   file's document (the browser's path minus the socket).
//!
//! cargo bench -p server --bench files -- [FILES] [RUNS]

use std::{
    path::Path,
    time::{Duration, Instant},
};

use app::files::SearchQuery;
use collab::{DocId, engine::Access};
use server::config::Config;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// ~1 kB of plausible Rust per function, `n` functions.
fn source(seed: usize, n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "/// Computes the value for case {seed}-{i}.\npub fn compute_{seed}_{i}(input: &[u64]) -> u64 {{\n    let mut total = 0u64;\n    for (k, v) in input.iter().enumerate() {{\n        if k % 3 == {r} {{\n            total = total.wrapping_add(v * {i});\n        }} else {{\n            total ^= v.rotate_left({r});\n        }}\n    }}\n    // TODO: handle overflow in case {seed}\n    total\n}}\n\n",
            r = i % 3
        ));
    }
    s
}

fn write_tree(root: &Path, files: usize) -> u64 {
    let mut bytes = 0;
    for f in 0..files {
        let dir = root.join(format!("mod_{:03}", f % 100));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let text = source(f, 3);
        bytes += text.len() as u64;
        std::fs::write(dir.join(format!("file_{f:05}.rs")), text).expect("write");
    }
    bytes
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let files: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let runs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);

    let data = std::env::temp_dir().join(format!("tandem_bench_files_{}", std::process::id()));
    let mut config = Config::for_data_dir(&data);
    config.bind = "127.0.0.1:0".parse()?;
    config.log_filter = "warn".into();
    config.files.dir_flush_ms = 0;
    let running = server::start(config).await?;
    let state = running.state.clone();
    let owner = state
        .membership
        .accounts
        .sign_up(
            "bench",
            "correct horse battery staple",
            None,
            std::net::IpAddr::from([127, 0, 0, 1]),
        )
        .await
        .map_err(|e| e.to_string())?
        .id;
    let disks = state.files.disks().clone();
    let ignore = vec!["target".to_owned()];

    // Import.
    let mut imports = Vec::new();
    let mut last = None;
    let mut size = 0;
    for run in 0..runs {
        let dir = data.join(format!("tree{run}"));
        size = write_tree(&dir, files);
        let started = Instant::now();
        let project = disks
            .bind(&state.files, &dir, owner, ignore.clone(), Duration::ZERO)
            .await
            .map_err(|e| e.to_string())?;
        imports.push(started.elapsed());
        last = Some((project, dir));
    }
    println!(
        "import {files} files ({:.1} MB) from disk: median {} of {runs} (runs: {})",
        size as f64 / 1e6,
        ms(median(imports.clone())),
        imports
            .iter()
            .map(|d| ms(*d))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let (project, dir) = last.ok_or("no runs")?;

    // Search over the last imported tree (~10 MB with the defaults).
    use app::files::ssr::FileService;
    for (label, text, regex) in [
        ("plain", "overflow in case 4242", false),
        ("regex", r"total\s*\^=\s*v\.rotate_left\(2\)", true),
    ] {
        let query = SearchQuery {
            text: text.into(),
            regex,
            case_sensitive: false,
        };
        let mut samples = Vec::new();
        let mut hits = 0;
        let mut searched = 0;
        for _ in 0..runs {
            let started = Instant::now();
            let r = state
                .files
                .search(project, query.clone())
                .await
                .map_err(|e| e.to_string())?;
            samples.push(started.elapsed());
            hits = r.files.iter().map(|f| f.hits.len()).sum::<usize>();
            searched = r.searched;
        }
        println!(
            "search {label} over {searched} files: first (cold) {}, median {} of {runs}; {hits} hits shown",
            ms(samples[0]),
            ms(median(samples.clone()))
        );
    }

    // Disk round trip: external write -> the document's update at a subscriber.
    let tree = state.files.list(project).await.map_err(|e| e.to_string())?;
    let target = tree
        .iter()
        .find(|e| e.name == "file_00042.rs")
        .ok_or("file missing")?;
    let doc = DocId::try_from(target.doc.ok_or("not a text file")?)?;
    let mut sub = state
        .editor
        .engine
        .subscribe(doc, Access::ReadOnly, Default::default())
        .await?;
    while tokio::time::timeout(Duration::from_millis(200), sub.recv())
        .await
        .is_ok()
    {}
    let path = dir.join("mod_042/file_00042.rs");
    let mut trips = Vec::new();
    for i in 0..20 {
        let text = format!("{}// edit {i}\n", source(42, 3));
        let started = Instant::now();
        std::fs::write(&path, text)?;
        loop {
            match tokio::time::timeout(Duration::from_secs(5), sub.recv()).await {
                Ok(Some(collab::engine::Outbound::Message(_))) => break,
                Ok(Some(_)) => {}
                _ => return Err("no update within 5 s".into()),
            }
        }
        trips.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    println!(
        "disk round trip (external write -> update at a subscriber), 20 writes: median {}, min {}, max {}",
        ms(median(trips.clone())),
        ms(*trips.iter().min().ok_or("none")?),
        ms(*trips.iter().max().ok_or("none")?)
    );
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}
