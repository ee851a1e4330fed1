//! `tandem-bench timeline`: a file with an N-update history on a server that compacts as
//! deployed (every 1,000 updates, so the log is folded into stored versions as it goes), plus
//! K named versions: time to open the timeline's first page, to walk every page, to read each
//! listed version's text, and the server's memory before and after.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{
    server::{self, Server},
    tab::{self, Error},
};

async fn call(port: u16, cookie: &str, path: &str, body: &Value) -> Result<Value, Error> {
    let (status, _, reply) = tab::post_json(port, path, &body.to_string(), Some(cookie)).await?;
    if status != 200 {
        return Err(format!("{path}: {status} {reply}").into());
    }
    Ok(serde_json::from_str(&reply)?)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}

pub(crate) async fn timeline(
    server: &Server,
    updates: usize,
    named: usize,
    runs: usize,
) -> Result<(), Error> {
    let port = server.port();
    let (cookie, doc) = tab::login(port, server::USER, server::PASSWORD).await?;
    let t0 = Instant::now();
    tab::edits_until_saved(port, &cookie, doc, updates, None).await?;
    println!(
        "wrote {updates} single-character updates through /ws in {:.1} s (all acknowledged)",
        t0.elapsed().as_secs_f64()
    );
    // Compaction runs in the background after the commit that crosses each 1,000.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for i in 0..named {
        call(
            port,
            &cookie,
            "/api/history/name",
            &json!({ "project": 1, "doc": doc, "name": format!("checkpoint {i}") }),
        )
        .await?;
    }
    let rss_before = server.rss_kb();
    let first_page = json!({ "project": 1, "doc": doc, "before": null });
    let mut firsts = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        call(port, &cookie, "/api/history/timeline", &first_page).await?;
        firsts.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    // Every page once, oldest last.
    let mut ids = Vec::new();
    let mut pages = Vec::new();
    let mut before = Value::Null;
    loop {
        let t = Instant::now();
        let page = call(
            port,
            &cookie,
            "/api/history/timeline",
            &json!({ "project": 1, "doc": doc, "before": before }),
        )
        .await?;
        pages.push(t.elapsed().as_secs_f64() * 1000.0);
        for e in page["entries"].as_array().into_iter().flatten() {
            ids.push(e["id"].clone());
        }
        if page["more"].is_null() {
            break;
        }
        before = page["more"].clone();
    }
    let mut texts = Vec::with_capacity(ids.len());
    let mut longest = 0;
    for id in &ids {
        let t = Instant::now();
        let text = call(
            port,
            &cookie,
            "/api/history/text",
            &json!({ "project": 1, "doc": doc, "version": id }),
        )
        .await?;
        texts.push(t.elapsed().as_secs_f64() * 1000.0);
        longest = longest.max(text.as_str().map_or(0, str::len));
    }
    let rss_after = server.rss_kb();
    println!(
        "timeline of a {updates}-update file with {named} named versions: {} entries in {} pages",
        ids.len(),
        pages.len()
    );
    println!(
        "first page: median {:.2} ms over {runs} (max {:.2} ms); every page: median {:.2} ms, max {:.2} ms",
        median(firsts.clone()),
        max(&firsts),
        median(pages.clone()),
        max(&pages)
    );
    println!(
        "version text ({} versions, up to {longest} B): median {:.2} ms, max {:.2} ms",
        texts.len(),
        median(texts.clone()),
        max(&texts)
    );
    println!(
        "server RSS: {rss_before} kB before opening the timeline, {rss_after} kB after reading every version (+{} kB)",
        rss_after.saturating_sub(rss_before)
    );
    Ok(())
}
