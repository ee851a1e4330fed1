//! A lean y-websocket client for load: it completes the sync handshake, then either just
//! receives (timing each update it gets) or also writes single-character updates at a rate.
//! The protocol is the shared test client's (`collab::testing`); what is lean here is that
//! received updates are timed, not applied, so a thousand clients cost the bench little.

use std::time::Instant;

use crate::{SentAt, key};
use bytes::Bytes;
use collab::testing::SyncClient;
use futures_util::{
    SinkExt, StreamExt,
    stream::{SplitSink, SplitStream},
};
use tokio::{net::TcpStream, sync::watch};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async_with_config, tungstenite::Message,
};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub(crate) struct Client {
    pub(crate) sink: SplitSink<Ws, Message>,
    pub(crate) stream: SplitStream<Ws>,
    /// The document as the handshake brought it; writers append to it.
    pub(crate) sync: SyncClient,
    /// When the server's step 2 (the document so far) arrived, before it was applied: the
    /// cold-load time is the server's, not this client's decoding.
    pub(crate) synced_at: Instant,
    /// Its size in bytes.
    pub(crate) initial_bytes: usize,
}

pub(crate) struct Report {
    pub(crate) latencies_us: Vec<u32>,
    pub(crate) disconnected: bool,
}

fn is_update(b: &[u8]) -> bool {
    b.len() > 2 && b[0] == 0 && b[1] == 2
}

impl Client {
    pub(crate) async fn connect(url: &str) -> Result<Self, Box<dyn std::error::Error>> {
        // TCP_NODELAY, as a browser sets it: small frames must not wait for Nagle.
        let (ws, _) = connect_async_with_config(url, None, true).await?;
        let (mut sink, mut stream) = ws.split();
        let mut sync = SyncClient::new();
        sink.send(Message::Binary(sync.hello())).await?;
        // Answer the server's step 1 (we have nothing it lacks) and wait for its step 2.
        let mut synced_at = Instant::now();
        let mut initial_bytes = 0;
        while let Some(msg) = stream.next().await {
            let Message::Binary(b) = msg? else { continue };
            synced_at = Instant::now();
            let got = sync.receive(&b)?;
            if let Some(reply) = got.reply {
                sink.send(Message::Binary(reply)).await?;
            }
            if got.applied {
                initial_bytes = b.len();
                break;
            }
        }
        Ok(Self {
            sink,
            stream,
            sync,
            synced_at,
            initial_bytes,
        })
    }

    /// Publishes an awareness state, as an editor tab does for its cursor.
    pub(crate) async fn announce(&mut self, id: u64) -> Result<(), Box<dyn std::error::Error>> {
        self.sink
            .send(Message::Binary(collab::testing::cursor(
                id,
                &format!("bench-{id}"),
            )))
            .await?;
        Ok(())
    }

    /// The document's text as this client received it at connect time.
    pub(crate) fn initial_text(&self) -> String {
        self.sync.text()
    }

    pub(crate) async fn run(
        mut self,
        rate: Option<f64>,
        sent: SentAt,
        mut stop: watch::Receiver<bool>,
    ) -> Report {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs_f64(
            1.0 / rate.unwrap_or(1.0),
        ));
        let mut latencies_us = Vec::new();
        let mut disconnected = false;
        let mut writing = rate.is_some();
        // After the stop signal writers stop and everyone keeps receiving a little longer, so
        // updates still in flight are counted.
        let mut until: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                _ = stop.changed(), if until.is_none() => {
                    writing = false;
                    until = Some(tokio::time::Instant::now() + std::time::Duration::from_millis(500));
                }
                () = tokio::time::sleep_until(until.unwrap_or_else(tokio::time::Instant::now)), if until.is_some() => break,
                _ = tick.tick(), if writing => {
                    let msg: Bytes = self.sync.append("x");
                    if let Ok(mut m) = sent.lock() {
                        m.insert(key(&msg), Instant::now());
                    }
                    if self.sink.send(Message::Binary(msg)).await.is_err() {
                        disconnected = true;
                        break;
                    }
                }
                msg = self.stream.next() => match msg {
                    Some(Ok(Message::Binary(b))) if is_update(&b) => {
                        let at = sent.lock().ok().and_then(|m| m.get(&key(&b)).copied());
                        if let Some(at) = at {
                            latencies_us.push(at.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => {
                        disconnected = true;
                        break;
                    }
                }
            }
        }
        Report {
            latencies_us,
            disconnected,
        }
    }
}
