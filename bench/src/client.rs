//! A lean y-websocket client for load: it completes the sync handshake, then either just
//! receives (timing each update it gets) or also writes single-character updates at a rate.
//! The protocol is the shared test client's (`collab::testing`); what is lean here is that
//! received updates are timed, not applied, so a thousand clients cost the bench little.
//!
//! The same client drives the peer servers of the comparison (`bench/peers`): y-websocket's and
//! y-sweet's wire is plain y-sync like Tandem's; Hocuspocus prefixes every message with the
//! document's name and wants an authentication message first ([`Framing::Hocuspocus`]).

use std::time::Instant;

use crate::SentAt;
use bytes::{BufMut, Bytes, BytesMut};
use collab::testing::SyncClient;
use collab::wire::{read_varuint, write_varuint};
use futures_util::{
    SinkExt, StreamExt,
    stream::{SplitSink, SplitStream},
};
use tokio::{net::TcpStream, sync::watch};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async_with_config, tungstenite::Message,
};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How y-sync messages travel on the socket.
#[derive(Clone, Debug, Default)]
pub(crate) enum Framing {
    /// As they are: Tandem, y-websocket, y-sweet.
    #[default]
    YSync,
    /// Hocuspocus: each message behind the document's name (a lib0 var-string); the server's
    /// sync replies come as type 4 (SyncReply), its acknowledgements as 8 (SyncStatus).
    Hocuspocus(String),
}

impl Framing {
    fn wrap(&self, msg: Bytes) -> Bytes {
        match self {
            Self::YSync => msg,
            Self::Hocuspocus(name) => {
                let mut out = BytesMut::with_capacity(name.len() + msg.len() + 2);
                write_varuint(&mut out, name.len() as u64);
                out.put_slice(name.as_bytes());
                out.put_slice(&msg);
                out.freeze()
            }
        }
    }

    /// The y-sync message in a frame, or `None` for what the plain protocol has no word for.
    fn unwrap(&self, frame: Bytes) -> Option<Bytes> {
        match self {
            Self::YSync => Some(frame),
            Self::Hocuspocus(_) => {
                let (len, used) = read_varuint(&frame).ok()?;
                let at = used.checked_add(usize::try_from(len).ok()?)?;
                match frame.get(at)? {
                    0 | 1 => Some(frame.slice(at..)),
                    // A sync reply is a sync message answered in kind.
                    4 => {
                        let mut m = BytesMut::from(&frame[at..]);
                        m[0] = 0;
                        Some(m.freeze())
                    }
                    _ => None,
                }
            }
        }
    }

    /// What must precede the first sync message: Hocuspocus queues everything until an auth
    /// message (type 2, token 0) with any token, when no extension checks it.
    fn greeting(&self) -> Option<Bytes> {
        match self {
            Self::YSync => None,
            Self::Hocuspocus(_) => {
                let mut m = BytesMut::new();
                m.put_slice(&[2, 0]);
                write_varuint(&mut m, 0);
                Some(self.wrap(m.freeze()))
            }
        }
    }
}

/// The key of one written character: who wrote it and at which clock. The pair survives a
/// server that re-encodes the update (the Yjs peers do), where its bytes would not.
fn key(client: u64, clock: u64) -> u64 {
    client.rotate_left(32) ^ clock
}

/// The key of a writer's own update: its first block's client and clock (one insert is one
/// block).
pub(crate) fn update_key(msg: &[u8]) -> Option<u64> {
    update_message(msg).and_then(first_key)
}

/// The first block's key of an update (the v1 encoding: clients, blocks of the first client,
/// its id, the first block's clock).
fn first_key(mut update: &[u8]) -> Option<u64> {
    let mut next = || -> Option<u64> {
        let (v, used) = read_varuint(update).ok()?;
        update = update.get(used..)?;
        Some(v)
    };
    let (_clients, _blocks) = (next()?, next()?);
    let (client, clock) = (next()?, next()?);
    Some(key(client, clock))
}

/// Calls `found` with the key of every character a received update message carries. A server
/// may merge several writers' updates into one message (Hocuspocus batches what arrives in one
/// event-loop turn; Tandem merges a slow reader's backlog), so every block counts, not only
/// the first. The common case, one writer's one character, is read off the header without
/// decoding; anything else is decoded by yrs and its inserted ranges enumerated.
pub(crate) fn for_each_key(msg: &[u8], mut found: impl FnMut(u64)) {
    let Some(update) = update_message(msg) else {
        return;
    };
    // One client, one block, ending in the one-character string content "x" and an empty
    // delete set: exactly what a writer here sends.
    if update.starts_with(&[1, 1]) && update.ends_with(&[1, b'x', 0]) {
        if let Some(k) = first_key(update) {
            found(k);
        }
        return;
    }
    let Ok(decoded) = <yrs::Update as yrs::updates::decoder::Decode>::decode_v1(update) else {
        return;
    };
    // A merged backlog is at most a few thousand characters; a bound keeps a bad message cheap.
    let mut budget = 1 << 16;
    for (client, ranges) in decoded.insertions(true).iter() {
        for range in ranges.iter() {
            for clock in range.clone() {
                if budget == 0 {
                    return;
                }
                budget -= 1;
                found(key(client.get(), u64::from(clock)));
            }
        }
    }
}

/// The update in an update message (not a sync step 2, which a reconnect would bring with old
/// clocks).
fn update_message(msg: &[u8]) -> Option<&[u8]> {
    if msg.get(1) != Some(&2) {
        return None;
    }
    collab::protocol::update_payload(msg)
}

pub(crate) struct Client {
    framing: Framing,
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

impl Client {
    pub(crate) async fn connect(url: &str) -> Result<Self, Box<dyn std::error::Error>> {
        Self::connect_framed(url, Framing::YSync).await
    }

    pub(crate) async fn connect_framed(
        url: &str,
        framing: Framing,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        // TCP_NODELAY, as a browser sets it: small frames must not wait for Nagle.
        let (ws, _) = connect_async_with_config(url, None, true).await?;
        let (mut sink, mut stream) = ws.split();
        let mut sync = SyncClient::new();
        // A 32-bit client id, as Yjs in a browser picks: y-sweet folds yrs's 53-bit ids into
        // 32 bits when it forwards an update, and the writer would not know its own edit.
        sync.doc = yrs::Doc::with_client_id(sync.doc.client_id().get() & u64::from(u32::MAX));
        if let Some(greeting) = framing.greeting() {
            sink.send(Message::Binary(greeting)).await?;
        }
        sink.send(Message::Binary(framing.wrap(sync.hello())))
            .await?;
        // Answer the server's step 1 (we have nothing it lacks) and wait for its step 2.
        let mut synced_at = Instant::now();
        let mut initial_bytes = 0;
        while let Some(msg) = stream.next().await {
            let Message::Binary(b) = msg? else { continue };
            synced_at = Instant::now();
            let Some(b) = framing.unwrap(b) else { continue };
            let got = sync.receive(&b)?;
            if let Some(reply) = got.reply {
                sink.send(Message::Binary(framing.wrap(reply))).await?;
            }
            if got.applied {
                initial_bytes = b.len();
                break;
            }
        }
        Ok(Self {
            framing,
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
            .send(Message::Binary(
                self.framing
                    .wrap(collab::testing::cursor(id, &format!("bench-{id}"))),
            ))
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
                    if let (Ok(mut m), Some(k)) = (sent.lock(), update_key(&msg)) {
                        m.insert(k, Instant::now());
                    }
                    if self.sink.send(Message::Binary(self.framing.wrap(msg))).await.is_err() {
                        disconnected = true;
                        break;
                    }
                }
                msg = self.stream.next() => match msg {
                    Some(Ok(Message::Binary(b))) => {
                        if let (Some(msg), Ok(m)) = (self.framing.unwrap(b), sent.lock()) {
                            for_each_key(&msg, |k| {
                                if let Some(at) = m.get(&k) {
                                    latencies_us.push(at.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                                }
                            });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_is_known_by_its_writer_and_clock_however_it_is_encoded() {
        let mut writer = SyncClient::new();
        let first = writer.append("x");
        let second = writer.append("y");
        let (a, b) = (update_key(&first), update_key(&second));
        assert!(a.is_some() && b.is_some() && a != b);
        // The Yjs peers re-encode what they forward: the same update through yrs again.
        let payload = collab::protocol::update_payload(&first).expect("an update message");
        let update =
            <yrs::Update as yrs::updates::decoder::Decode>::decode_v1(payload).expect("decodes");
        let again = collab::protocol::update(yrs::updates::encoder::Encode::encode_v1(&update));
        assert_eq!(update_key(&again), a);
        assert_eq!(update_key(&collab::testing::cursor(1, "a")), None);
        assert_eq!(update_key(&[0, 2, 200]), None);
    }

    fn keys(msg: &[u8]) -> Vec<u64> {
        let mut found = Vec::new();
        for_each_key(msg, |k| found.push(k));
        found.sort_unstable();
        found
    }

    #[test]
    fn every_character_of_a_merged_update_is_counted() {
        // Two writers typing at the end, each update seen by the other (as through a server).
        let (mut a, mut b) = (SyncClient::new(), SyncClient::new());
        let mut sent = Vec::new();
        for turn in 0..6 {
            let (from, to) = if turn % 2 == 0 {
                (&mut a, &mut b)
            } else {
                (&mut b, &mut a)
            };
            let msg = from.append("x");
            to.receive(&msg).expect("applies");
            sent.push(msg);
        }
        let mut want: Vec<u64> = sent.iter().filter_map(|m| update_key(m)).collect();
        want.sort_unstable();
        assert_eq!(want.len(), 6);
        // One at a time: the fast path, one key each.
        for msg in &sent {
            assert_eq!(keys(msg), vec![update_key(msg).expect("a key")]);
        }
        // Merged into one message, as Hocuspocus's flush or Tandem's backlog merge sends them.
        let payloads: Vec<&[u8]> = sent
            .iter()
            .filter_map(|m| collab::protocol::update_payload(m))
            .collect();
        let merged = yrs::merge_updates_v1(payloads).expect("merges");
        assert_eq!(keys(&collab::protocol::update(merged)), want);
        // Not updates: nothing.
        assert!(keys(&collab::testing::cursor(1, "a")).is_empty());
        assert!(keys(&[0, 2, 3, 1, 1, 200]).is_empty());
    }

    #[test]
    fn hocuspocus_frames_carry_the_document_name() {
        let framing = Framing::Hocuspocus("bench".into());
        let msg = SyncClient::new().append("x");
        let framed = framing.wrap(msg.clone());
        assert_eq!(&framed[..6], b"\x05bench");
        assert_eq!(framing.unwrap(framed), Some(msg.clone()));
        // A sync reply is read as a sync message; acknowledgements and auth are not y-sync.
        let mut reply = BytesMut::from(&b"\x05bench"[..]);
        reply.put_slice(&[4, 1, 0]);
        assert_eq!(
            framing.unwrap(reply.freeze()).as_deref(),
            Some(&[0, 1, 0][..])
        );
        let status = Bytes::from_static(b"\x05bench\x08\x01");
        assert_eq!(framing.unwrap(status), None);
        assert_eq!(framing.unwrap(Bytes::from_static(b"\x09ben")), None);
        assert_eq!(Framing::YSync.unwrap(msg.clone()), Some(msg));
    }
}
