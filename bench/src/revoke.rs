//! Live revocation latency: M members each hold a `/ws` tab on the project; the owner removes
//! them one at a time through `/api/projects/remove-member`, timing from just before each
//! request to the close frame arriving at the removed member's tab. Every removal is announced
//! to every open socket, so the fan-out to the ones that stay is part of what is measured.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use crate::{
    chat, percentile,
    server::{self, Server},
    tab::{self, Error},
};

/// The close code of a removed member's socket (`app::live::events::close::NO_ACCESS`).
const NO_ACCESS: u16 = 4403;

pub(crate) async fn removal(server: &Server, members: usize) -> Result<(), Error> {
    let port = server.port();
    let (owner, _) = tab::login(port, server::USER, server::PASSWORD).await?;
    let t0 = Instant::now();
    let mut closes = Vec::with_capacity(members);
    for i in 0..members {
        let name = format!("member{i:04}");
        let (cookie, id) = chat::sign_up(port, &name).await?;
        chat::invite(port, &owner, &name, "editor").await?;
        let mut ws = tab::tab_socket(port, &cookie).await?;
        // Reads the tab until the server closes it: when, and with which code.
        let closed = tokio::spawn(async move {
            while let Some(msg) = ws.next().await {
                match msg {
                    Ok(Message::Close(frame)) => {
                        return Some((Instant::now(), frame.map(|f| u16::from(f.code))));
                    }
                    Err(_) => return None,
                    Ok(_) => {}
                }
            }
            None
        });
        closes.push((id, closed));
    }
    println!(
        "{members} members signed up, invited and connected in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cpu0 = server.cpu_secs();
    let mut latencies = Vec::with_capacity(members);
    let mut round_trips = Vec::with_capacity(members);
    for (id, closed) in closes {
        let t = Instant::now();
        let (status, _, body) = tab::post(
            port,
            "/api/projects/remove-member",
            &format!("project=1&user={id}"),
            Some(&owner),
        )
        .await?;
        if status != 200 {
            return Err(format!("remove {id}: {status} {body}").into());
        }
        round_trips.push(t.elapsed().as_micros() as u32);
        match tokio::time::timeout(Duration::from_secs(5), closed).await {
            Ok(Ok(Some((at, Some(NO_ACCESS))))) => {
                latencies.push(at.duration_since(t).as_micros() as u32);
            }
            other => return Err(format!("member {id}: no 4403 close ({other:?})").into()),
        }
    }
    let cpu = server.cpu_secs() - cpu0;
    latencies.sort_unstable();
    round_trips.sort_unstable();
    println!(
        "removal -> close at the removed tab, {members} tabs: p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
    );
    println!(
        "remove-member round trip: p50 {:.2} ms  p99 {:.2} ms; server CPU for {members} removals {cpu:.3} s",
        percentile(&round_trips, 0.5),
        percentile(&round_trips, 0.99),
    );
    Ok(())
}
