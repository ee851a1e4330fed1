//! The project-aware assistant's own cost: how long `/api/chat/ask` takes to answer (the prompt
//! built, the question and answer rows stored; the provider is asked afterwards, in the
//! background) for a question that names code, so the project is searched and read first,
//! against one that names nothing, in a project of N files imported from a zip. The provider
//! is a closed port: the answers fail after the reply, which is not what is timed.

use std::{io::Write, time::Instant};

use crate::{
    percentile,
    server::Server,
    tab::{self, Error},
};

/// Lines per generated file.
const LINES: usize = 40;

/// N JavaScript files of 40 lines; every 50th calls `parseConfig`, which `src/config.js`
/// defines.
fn project_zip(files: usize) -> Result<Vec<u8>, Error> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("src/config.js", options)?;
    zip.write_all(b"// Reads the settings.\nexport function parseConfig(text) {\n  return JSON.parse(text);\n}\n")?;
    for i in 0..files {
        zip.start_file(format!("src/m{i}.js"), options)?;
        let mut text = String::new();
        for j in 0..LINES {
            if i % 50 == 0 && j == LINES / 2 {
                text.push_str("const settings = parseConfig(input);\n");
            } else {
                text.push_str(&format!(
                    "export function helper{i}_{j}(x) {{ return x + {j}; }}\n"
                ));
            }
        }
        zip.write_all(text.as_bytes())?;
    }
    Ok(zip.finish()?.into_inner())
}

async fn ask(
    port: u16,
    cookie: &str,
    project: i64,
    n: usize,
    question: &str,
) -> Result<u32, Error> {
    let body = serde_json::json!({ "project": project, "request": {
        "client_id": format!("bench{n}"), "text": format!("/ai {question}"),
        "task": { "task": "ask", "text": question },
        "context": { "file": null, "line": null, "selection": null },
    }});
    let t0 = Instant::now();
    let (status, _, answer) =
        tab::post_json(port, "/api/chat/ask", &body.to_string(), Some(cookie)).await?;
    let us = t0.elapsed().as_micros() as u32;
    if status != 200 {
        return Err(format!("ask: HTTP {status} {answer}").into());
    }
    Ok(us)
}

pub(crate) async fn ask_cost(server: &Server, files: usize, runs: usize) -> Result<(), Error> {
    let port = server.port();
    let zip = tokio::task::spawn_blocking(move || project_zip(files)).await??;
    let (cookie, _) = crate::chat::sign_up(port, "asker").await?;
    let boundary = "tandem-bench-boundary";
    let body = crate::import::multipart(boundary, "Lookups", &zip);
    let (status, _, answer) = tab::post_bytes(
        port,
        "/api/projects/import",
        &format!("multipart/form-data; boundary={boundary}"),
        &body,
        Some(&cookie),
    )
    .await?;
    if !(200..400).contains(&status) {
        return Err(format!("import: HTTP {status} {answer}").into());
    }
    let (_, _, list) = tab::post(port, "/api/projects/list", "", Some(&cookie)).await?;
    let project = serde_json::from_str::<serde_json::Value>(&list)?
        .as_array()
        .and_then(|l| l.iter().find(|p| p["name"] == "Lookups"))
        .and_then(|p| p["id"].as_i64())
        .ok_or("the imported project is not listed")?;
    let plain = "what should we do next?";
    let lookup = "where is `parseConfig` defined, and who calls helper7_3?";
    // The first lookup reads every document from the store (the search's text cache is cold).
    let cold = ask(port, &cookie, project, 0, lookup).await?;
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for n in 0..runs {
        without.push(ask(port, &cookie, project, 2 * n + 1, plain).await?);
        with.push(ask(port, &cookie, project, 2 * n + 2, lookup).await?);
    }
    without.sort_unstable();
    with.sort_unstable();
    let (p50_without, p50_with) = (percentile(&without, 0.5), percentile(&with, 0.5));
    println!(
        "{files} files × {LINES} lines; ask → reply over {runs} asks each: \
         no lookup p50 {p50_without:.2} ms p90 {:.2} ms; \
         with lookup (2 names, {} files mention them) p50 {p50_with:.2} ms p90 {:.2} ms; \
         first lookup (cold text cache) {:.2} ms; lookup cost p50 {:.2} ms",
        percentile(&without, 0.9),
        files.div_ceil(50) + 2,
        percentile(&with, 0.9),
        f64::from(cold) / 1000.0,
        p50_with - p50_without,
    );
    Ok(())
}
