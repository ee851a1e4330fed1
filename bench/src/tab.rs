//! The browser tab's path for the load generator: log in over HTTP for a session cookie, open a
//! file's document on `/ws`, and time each edit until the server acknowledges it as committed.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use collab::{Channel, DocId, Frame, testing::SyncClient};
use futures_util::{SinkExt, StreamExt};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_tungstenite::{
    connect_async_with_config,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

/// POSTs a form with HTTP/1.0 (so the body simply ends with the connection); returns the
/// status, the session cookie if one was set, and the body.
pub(crate) async fn post(
    port: u16,
    path: &str,
    form: &str,
    cookie: Option<&str>,
) -> Result<(u16, Option<String>, String), Error> {
    request(
        port,
        path,
        "application/x-www-form-urlencoded",
        form.as_bytes(),
        cookie,
    )
    .await
}

/// POSTs JSON (server functions declared with `input = Json`).
pub(crate) async fn post_json(
    port: u16,
    path: &str,
    json: &str,
    cookie: Option<&str>,
) -> Result<(u16, Option<String>, String), Error> {
    request(port, path, "application/json", json.as_bytes(), cookie).await
}

/// POSTs any body (a multipart upload).
pub(crate) async fn post_bytes(
    port: u16,
    path: &str,
    content_type: &str,
    body: &[u8],
    cookie: Option<&str>,
) -> Result<(u16, Option<String>, String), Error> {
    request(port, path, content_type, body, cookie).await
}

async fn request(
    port: u16,
    path: &str,
    content_type: &str,
    body: &[u8],
    cookie: Option<&str>,
) -> Result<(u16, Option<String>, String), Error> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    tcp.set_nodelay(true)?;
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n{cookie}\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await?;
    tcp.write_all(body).await?;
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("malformed HTTP response")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no HTTP status")?;
    let set_cookie = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("set-cookie")
            .then(|| value.trim().split(';').next().unwrap_or("").to_owned())
    });
    Ok((status, set_cookie, body.to_owned()))
}

/// Logs in and returns the session cookie and the project's default file's document id.
pub(crate) async fn login(port: u16, user: &str, password: &str) -> Result<(String, i64), Error> {
    let (status, cookie, body) = post(
        port,
        "/api/login",
        &format!("name={user}&password={}", password.replace(' ', "+")),
        None,
    )
    .await?;
    let cookie = cookie
        .filter(|_| status == 200)
        .ok_or(format!("login: {status} {body}"))?;
    let (status, _, body) =
        post(port, "/api/editor/default_file", "project=1", Some(&cookie)).await?;
    let file: serde_json::Value = serde_json::from_str(&body)?;
    let doc = file["doc"]
        .as_i64()
        .ok_or(format!("default file: {status} {body}"))?;
    Ok((cookie, doc))
}

/// A one-document `/yjs` token, as "Copy Yjs link" mints it.
pub(crate) async fn yjs_token(port: u16, cookie: &str, doc: i64) -> Result<String, Error> {
    let (status, _, body) = post(
        port,
        "/api/editor/yjs_token",
        &format!("project=1&doc={doc}"),
        Some(cookie),
    )
    .await?;
    let token: serde_json::Value = serde_json::from_str(&body)?;
    Ok(token
        .as_str()
        .ok_or(format!("yjs token: {status} {body}"))?
        .to_owned())
}

/// Opens the tab socket of project 1 as the holder of `cookie`.
pub(crate) async fn tab_socket(
    port: u16,
    cookie: &str,
) -> Result<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>, Error>
{
    let mut request = format!("ws://127.0.0.1:{port}/ws?project=1").into_client_request()?;
    request
        .headers_mut()
        .insert("cookie", HeaderValue::from_str(cookie)?);
    Ok(connect_async_with_config(request, None, true).await?.0)
}

/// The next event of the project channel on a tab socket, document frames skipped; `None`
/// once the socket ends.
pub(crate) async fn next_event(
    ws: &mut (
             impl futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
             + Unpin
         ),
) -> Result<Option<serde_json::Value>, Error> {
    while let Some(msg) = ws.next().await {
        let Message::Binary(b) = msg? else { continue };
        let Ok(f) = Frame::decode(b, usize::MAX) else {
            continue;
        };
        if f.channel == Channel::Project {
            return Ok(Some(serde_json::from_slice(&f.payload)?));
        }
    }
    Ok(None)
}

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// Asks the tab socket for document `doc` and waits for "opened" (the document's own
/// handshake messages are not needed by the load generator).
pub(crate) async fn open_doc(
    sink: &mut futures_util::stream::SplitSink<Socket, Message>,
    stream: &mut futures_util::stream::SplitStream<Socket>,
    doc: i64,
) -> Result<(), Error> {
    let open = format!(r#"{{"type":"open","doc":{doc}}}"#);
    sink.send(Message::Binary(Frame::new(Channel::Project, open).encode()))
        .await?;
    loop {
        let Some(msg) = stream.next().await else {
            return Err("closed before the document opened".into());
        };
        if let Message::Binary(b) = msg?
            && let Ok(f) = Frame::decode(b, usize::MAX)
            && f.channel == Channel::Project
        {
            let e: serde_json::Value = serde_json::from_slice(&f.payload)?;
            match e["type"].as_str() {
                Some("opened") => return Ok(()),
                Some("doc_error") => return Err(format!("could not open: {e}").into()),
                // Presence and other project events may come first.
                _ => {}
            }
        }
    }
}

/// Creates a text file at the root of project 1 and writes `text` into it through its
/// document, as a browser tab would; returns once the server has stored it.
pub(crate) async fn write_file(
    port: u16,
    cookie: &str,
    name: &str,
    text: &str,
) -> Result<(), Error> {
    let json = serde_json::json!({"project": 1, "parent": null, "name": name, "kind": "file"});
    let (status, _, body) =
        post_json(port, "/api/files/create", &json.to_string(), Some(cookie)).await?;
    let entry: serde_json::Value = serde_json::from_str(&body)?;
    let doc = entry["doc"]
        .as_i64()
        .ok_or(format!("files/create {name}: {status} {body}"))?;
    let (mut sink, mut stream) = tab_socket(port, cookie).await?.split();
    open_doc(&mut sink, &mut stream, doc).await?;
    let mut local = SyncClient::new();
    let channel = Channel::Doc(DocId(u64::try_from(doc)?));
    sink.send(Message::Binary(
        Frame::new(channel, local.insert(0, text)).encode(),
    ))
    .await?;
    while let Some(msg) = stream.next().await {
        if let Message::Binary(b) = msg?
            && let Ok(f) = Frame::decode(b, usize::MAX)
            && f.channel == Channel::Project
        {
            let e: serde_json::Value = serde_json::from_slice(&f.payload)?;
            if e["type"] == "saved" && e["n"].as_u64().unwrap_or(0) >= 1 {
                return Ok(());
            }
        }
    }
    Err(format!("closed before {name} was saved").into())
}

/// Sends `updates` single-character edits (at `rate` per second, or as fast as the server takes
/// them) over `/ws` and returns each one's edit→"saved" latency in microseconds.
pub(crate) async fn edits_until_saved(
    port: u16,
    cookie: &str,
    doc: i64,
    updates: usize,
    rate: Option<f64>,
) -> Result<Vec<u32>, Error> {
    let (sink, mut stream) = tab_socket(port, cookie).await?.split();
    let mut sink = sink;
    open_doc(&mut sink, &mut stream, doc).await?;
    let sent_at: Arc<Mutex<Vec<Instant>>> = Arc::new(Mutex::new(Vec::with_capacity(updates)));
    let writer = {
        let sent_at = sent_at.clone();
        tokio::spawn(async move {
            let mut local = SyncClient::new();
            let channel = Channel::Doc(DocId(u64::try_from(doc)?));
            let mut tick = rate.map(|r| tokio::time::interval(Duration::from_secs_f64(1.0 / r)));
            for i in 0..updates {
                if let Some(t) = tick.as_mut() {
                    t.tick().await;
                }
                let frame = Frame::new(channel, local.insert(i as u32, "x"));
                if let Ok(mut s) = sent_at.lock() {
                    s.push(Instant::now());
                }
                sink.send(Message::Binary(frame.encode())).await?;
            }
            Ok::<_, Error>(sink)
        })
    };
    let mut latencies = Vec::with_capacity(updates);
    let mut acked = 0usize;
    while acked < updates {
        let Some(e) = next_event(&mut stream).await? else {
            return Err(format!("closed after {acked} acknowledgements").into());
        };
        if e["type"] == "saved" {
            let n = e["n"].as_u64().unwrap_or(0) as usize;
            let now = Instant::now();
            let sent = sent_at.lock().map_err(|_| "lock")?;
            let upto = n.min(sent.len());
            if upto > acked {
                for at in &sent[acked..upto] {
                    latencies.push(now.duration_since(*at).as_micros() as u32);
                }
                acked = upto;
            }
        }
    }
    let _sink = writer.await??;
    Ok(latencies)
}
