//! A shared terminal through the real paths: the owner opens one with `/api/terminals/open`
//! and types on their `/ws` tab; a second member's tab watches. The terminal runs `cat` in raw
//! mode without the tty's own echo, so every keystroke comes back as exactly one byte written
//! by a program in the sandbox, the round trip a shell's line editor or an editor makes.
//!
//! Measured: keystroke sent -> its echo at the second member, one key at a time, `--gap-ms`
//! apart (30 ms: faster than anyone types; 0: back to back, where the output pacing of one
//! event per 16 ms is what shows).

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use collab::{Channel, Frame};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

use crate::{
    chat, percentile,
    server::{self, Server},
    tab::{self, Error},
};

/// What the watching member has seen of the terminal: bytes, and the text's last part.
#[derive(Default)]
struct Seen {
    bytes: u64,
    tail: String,
}

/// The watcher's view, and a wake-up for whoever waits on it (no polling to skew the clock).
#[derive(Default)]
struct Shared {
    seen: Mutex<Seen>,
    changed: Notify,
}

async fn watch(port: u16, cookie: String, term: i64, shared: Arc<Shared>) -> Result<(), Error> {
    let mut ws = tab::tab_socket(port, &cookie).await?;
    while let Some(e) = tab::next_event(&mut ws).await? {
        if e["type"] == "term_output" && e["term"].as_i64() == Some(term) {
            let data = e["data"].as_str().unwrap_or_default();
            if let Ok(mut s) = shared.seen.lock() {
                s.bytes += data.len() as u64;
                s.tail.push_str(data);
                let cut = s.tail.len().saturating_sub(256);
                let cut = (cut..s.tail.len())
                    .find(|&i| s.tail.is_char_boundary(i))
                    .unwrap_or(0);
                s.tail.drain(..cut);
            }
            shared.changed.notify_waiters();
        }
    }
    Ok(())
}

/// Waits until `cond` holds for what the watcher has seen.
async fn until(shared: &Shared, what: &str, cond: impl Fn(&Seen) -> bool) -> Result<(), Error> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let changed = shared.changed.notified();
        if shared.seen.lock().is_ok_and(|s| cond(&s)) {
            return Ok(());
        }
        if tokio::time::timeout_at(deadline, changed).await.is_err() {
            return Err(format!("timed out waiting for {what}").into());
        }
    }
}

/// The terminal opens on `server`; both members' tabs connect to `tabs` (the same server's
/// port, or another node's).
pub(crate) async fn keystroke_echo(
    server: &Server,
    tabs: u16,
    keys: usize,
    gap: Duration,
) -> Result<(), Error> {
    let port = server.port();
    let (owner, _) = tab::login(port, server::USER, server::PASSWORD).await?;
    let (member, _) = chat::sign_up(port, "watcher").await?;
    chat::invite(port, &owner, "watcher", "viewer").await?;
    let json = serde_json::json!({ "project": 1, "cols": 120, "rows": 40 });
    let (status, _, body) =
        tab::post_json(port, "/api/terminals/open", &json.to_string(), Some(&owner)).await?;
    let info: serde_json::Value = serde_json::from_str(&body)?;
    let term = info["id"]
        .as_i64()
        .ok_or_else(|| format!("terminals/open: {status} {body}"))?;
    let seen = Arc::new(Shared::default());
    tokio::spawn(watch(tabs, member, term, seen.clone()));
    let (mut sink, mut stream) = tab::tab_socket(tabs, &owner).await?.split();
    // The typist's own socket must be read too, or its queue fills.
    tokio::spawn(async move { while stream.next().await.is_some() {} });
    let mut send = async |data: &str| -> Result<(), Error> {
        let e = serde_json::json!({ "type": "term_input", "term": term, "data": data });
        sink.send(Message::Binary(
            Frame::new(Channel::Project, e.to_string()).encode(),
        ))
        .await?;
        Ok(())
    };
    until(&seen, "the prompt", |s| s.tail.contains("$ ")).await?;
    send("stty raw -echo; exec cat\r").await?;
    until(&seen, "the command's echo", |s| {
        s.tail.contains("exec cat\r\n")
    })
    .await?;
    // A moment for the shell to run it (setup, not measured), then `#` until cat echoes it:
    // from then on every byte out is one key back.
    tokio::time::sleep(Duration::from_millis(300)).await;
    send("#").await?;
    until(&seen, "cat's echo", |s| s.tail.ends_with('#')).await?;
    let mut times = Vec::with_capacity(keys);
    for i in 0..keys {
        let key = char::from(b'a' + (i % 26) as u8).to_string();
        tokio::time::sleep(gap).await;
        let base = seen.seen.lock().map(|s| s.bytes).unwrap_or(0);
        let t = Instant::now();
        send(&key).await?;
        until(&seen, "the echo", |s| {
            s.bytes > base && s.tail.ends_with(key.as_str())
        })
        .await?;
        times.push(t.elapsed().as_micros() as u32);
    }
    times.sort_unstable();
    let direct = tokio::task::spawn_blocking(move || direct_cat(keys)).await??;
    println!(
        "baseline: one byte through `cat` on pipes spawned by this process (no server, no sandbox): p50 {:.3} ms  p99 {:.3} ms",
        percentile(&direct, 0.5),
        percentile(&direct, 0.99),
    );
    let place = if tabs == port {
        "tabs on the terminal's node"
    } else {
        "tabs on another node"
    };
    println!(
        "terminal keystroke -> echo at a second member ({place}): p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({keys} keys, {} ms apart)",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        percentile(&times, 1.0),
        gap.as_millis(),
    );
    Ok(())
}

/// The same round trip without Tandem: a byte written to a local `cat` and read back.
fn direct_cat(keys: usize) -> Result<Vec<u32>, Error> {
    use std::io::{Read, Write};
    let mut cat = std::process::Command::new("cat")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let (Some(mut input), Some(mut output)) = (cat.stdin.take(), cat.stdout.take()) else {
        return Err("cat has no pipes".into());
    };
    let mut times = Vec::with_capacity(keys);
    let mut byte = [0u8; 1];
    for i in 0..keys {
        let t = Instant::now();
        input.write_all(&[b'a' + (i % 26) as u8])?;
        input.flush()?;
        output.read_exact(&mut byte)?;
        times.push(t.elapsed().as_micros() as u32);
    }
    drop(input);
    cat.wait()?;
    times.sort_unstable();
    Ok(times)
}
