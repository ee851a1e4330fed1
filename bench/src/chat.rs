//! Chat benchmarks through the real paths: N member accounts each hold a `/ws` tab while one
//! member posts through `/api/chat/send`, timing send -> arrival at every tab; and history page
//! loads over a chat of N messages (filled through the same API), newest, middle and oldest.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::{
    percentile,
    server::{self, Server},
    tab::{self, Error},
};

type Arrivals = Arc<Mutex<HashMap<String, Vec<Instant>>>>;

fn form_password() -> String {
    server::PASSWORD.replace(' ', "+")
}

/// Signs up `name` and returns its session cookie and user id.
pub(crate) async fn sign_up(port: u16, name: &str) -> Result<(String, i64), Error> {
    let (status, cookie, body) = tab::post(
        port,
        "/api/signup",
        &format!("name={name}&password={}", form_password()),
        None,
    )
    .await?;
    let id = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|u| u["id"].as_i64());
    match (cookie, id) {
        (Some(cookie), Some(id)) if status == 200 => Ok((cookie, id)),
        _ => Err(format!("signup {name}: {status} {body}").into()),
    }
}

/// Adds `name` to project 1 with `role`, as its owner.
pub(crate) async fn invite(port: u16, owner: &str, name: &str, role: &str) -> Result<(), Error> {
    let (status, _, body) = tab::post(
        port,
        "/api/projects/invite",
        &format!("project=1&username={name}&role={role}"),
        Some(owner),
    )
    .await?;
    if status == 200 {
        Ok(())
    } else {
        Err(format!("invite {name}: {status} {body}").into())
    }
}

async fn send(port: u16, cookie: &str, client_id: &str, body: &str) -> Result<(), Error> {
    let json = serde_json::json!({
        "project": 1, "client_id": client_id, "body": body, "reply_to": null
    })
    .to_string();
    let (status, _, reply) = tab::post_json(port, "/api/chat/send", &json, Some(cookie)).await?;
    if status == 200 {
        Ok(())
    } else {
        Err(format!("chat/send: {status} {reply}").into())
    }
}

/// One member's tab: notes when each chat message (by client id) arrives.
async fn listen(port: u16, cookie: String, arrivals: Arrivals) -> Result<(), Error> {
    let mut ws = tab::tab_socket(port, &cookie).await?;
    while let Some(e) = tab::next_event(&mut ws).await? {
        let at = Instant::now();
        if e["type"] == "chat"
            && let Some(id) = e["message"]["client_id"].as_str()
            && let Ok(mut a) = arrivals.lock()
        {
            a.entry(id.to_owned()).or_default().push(at);
        }
    }
    Ok(())
}

pub(crate) async fn delivery(
    server: &Server,
    members: usize,
    messages: usize,
    rate: f64,
) -> Result<(), Error> {
    let port = server.port();
    let (owner, _) = tab::login(port, server::USER, server::PASSWORD).await?;
    let arrivals: Arrivals = Arc::default();
    let mut listeners = Vec::with_capacity(members);
    let t0 = Instant::now();
    for i in 0..members {
        let name = format!("member{i:04}");
        let (cookie, _) = sign_up(port, &name).await?;
        invite(port, &owner, &name, "viewer").await?;
        listeners.push(tokio::spawn(listen(port, cookie, arrivals.clone())));
    }
    println!(
        "{members} members signed up, invited and connected in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (cpu0, wall0) = (server.cpu_secs(), Instant::now());
    let mut sent_at = HashMap::with_capacity(messages);
    let mut round_trips = Vec::with_capacity(messages);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    for i in 0..messages {
        tick.tick().await;
        let id = format!("bench{i}");
        let t = Instant::now();
        sent_at.insert(id.clone(), t);
        send(port, &owner, &id, &format!("message **{i}** for everyone")).await?;
        round_trips.push(t.elapsed().as_micros() as u32);
    }
    let expected = members * messages;
    let deadline = Instant::now() + Duration::from_secs(10);
    let count = |a: &Arrivals| {
        a.lock()
            .map(|m| m.values().map(Vec::len).sum())
            .unwrap_or(0)
    };
    while count(&arrivals) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu = server.cpu_secs() - cpu0;
    let wall = wall0.elapsed().as_secs_f64();
    let mut latencies: Vec<u32> = Vec::with_capacity(expected);
    if let Ok(a) = arrivals.lock() {
        for (id, times) in a.iter() {
            if let Some(start) = sent_at.get(id) {
                latencies.extend(
                    times
                        .iter()
                        .map(|t| t.duration_since(*start).as_micros() as u32),
                );
            }
        }
    }
    for l in listeners {
        l.abort();
    }
    latencies.sort_unstable();
    round_trips.sort_unstable();
    println!(
        "chat delivery, {members} members, {messages} messages at {rate}/s: deliveries {} (expected {expected})",
        latencies.len()
    );
    println!(
        "send -> arrival at each member ms: p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0)
    );
    println!(
        "chat/send round trip ms: p50 {:.2}  p99 {:.2}; server CPU {:.2} s over {wall:.1} s; RSS {} kB",
        percentile(&round_trips, 0.5),
        percentile(&round_trips, 0.99),
        cpu,
        server.rss_kb()
    );
    Ok(())
}

/// Median milliseconds of `runs` loads of one history page, checking it is full.
async fn page_ms(port: u16, cookie: &str, before: Option<i64>, runs: usize) -> Result<f64, Error> {
    let json = serde_json::json!({ "project": 1, "before": before, "after": null }).to_string();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let (status, _, body) =
            tab::post_json(port, "/api/chat/history", &json, Some(cookie)).await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        let page: serde_json::Value = serde_json::from_str(&body)?;
        let n = page["messages"].as_array().map_or(0, Vec::len);
        if status != 200 || n != 50 {
            return Err(format!("chat/history: {status}, {n} messages").into());
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Sends messages `from..to` with a few concurrent senders.
async fn fill(port: u16, cookie: &str, from: usize, to: usize) -> Result<(), Error> {
    const SENDERS: usize = 8;
    let mut tasks = Vec::new();
    for s in 0..SENDERS {
        let cookie = cookie.to_owned();
        tasks.push(tokio::spawn(async move {
            for i in (from + s..to).step_by(SENDERS) {
                send(
                    port,
                    &cookie,
                    &format!("h{i}"),
                    &format!("history message {i} with `code`"),
                )
                .await?;
            }
            Ok::<_, Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

pub(crate) async fn history(server: &Server, total: usize, runs: usize) -> Result<(), Error> {
    let port = server.port();
    let (owner, _) = tab::login(port, server::USER, server::PASSWORD).await?;
    let mut stored = 0;
    for checkpoint in [1_000.min(total), total] {
        if checkpoint > stored {
            let t = Instant::now();
            fill(port, &owner, stored, checkpoint).await?;
            let secs = t.elapsed().as_secs_f64();
            println!(
                "stored messages {stored} -> {checkpoint} through chat/send in {secs:.1} s ({:.0}/s)",
                (checkpoint - stored) as f64 / secs
            );
            stored = checkpoint;
        }
        // Ids start at 1 on the fresh database.
        let middle = (stored / 2) as i64;
        let newest = page_ms(port, &owner, None, runs).await?;
        let mid = page_ms(port, &owner, Some(middle), runs).await?;
        let oldest = page_ms(port, &owner, Some(51), runs).await?;
        println!(
            "history page (50 messages) with {stored} stored, median of {runs}: newest {newest:.2} ms  middle {mid:.2} ms  oldest {oldest:.2} ms"
        );
    }
    Ok(())
}
