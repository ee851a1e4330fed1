//! A stand-in AI provider for tests: a real HTTP server on a free port speaking the
//! OpenAI-compatible `POST /v1/chat/completions` streaming format (server-sent events). What it
//! does is chosen by the requested model name, so one provider serves every case:
//! `echo` streams tokens and `[DONE]`; `hang` sends one token and then holds the stream open
//! (recording when the client hangs up); `silent` never answers; `unauthorized`, `ratelimit`
//! and `broken` answer 401, 429 and 500; `json` ignores `stream` and answers in one document.
//! A code action (a prompt with "Replace lines") gets its lines back with [`SUGGESTED`] above.
//! Inline completions (`stream: false` chat requests, and `POST /v1/completions`) answer
//! [`FILL`] at once, unless the text around the cursor holds `HANG`: then the request is held
//! until the client hangs up, which is counted.
#![allow(dead_code, unreachable_pub)]

use std::{
    convert::Infallible,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// The tokens `echo` streams, in order.
pub const TOKENS: [&str; 4] = ["Hello", " from", " the", " fake model"];
/// What an inline completion request gets.
pub const FILL: &str = "done()";
/// The line a code action's answer puts above the lines it was asked to change.
pub const SUGGESTED: &str = "// SUGGESTED";

/// The lines a code action asked to change: the fenced block after "Replace lines".
fn lines_to_change(prompt: &str) -> Option<String> {
    let rest = &prompt[prompt.find("Replace lines")?..];
    let mut lines = rest.lines().skip(1);
    let open = lines.next()?;
    let fence: String = open.chars().take_while(|c| *c == '`').collect();
    let body: Vec<&str> = lines.take_while(|l| l.trim() != fence).collect();
    Some(body.join("\n"))
}

#[derive(Clone, Default)]
pub struct FakeAi {
    /// Every request body received.
    pub requests: Arc<Mutex<Vec<Value>>>,
    /// Set when a client hung up on a `hang` stream.
    pub hung_up: Arc<AtomicBool>,
    /// The `Authorization` header of the last request.
    pub auth: Arc<Mutex<Option<String>>>,
    /// Inline completion requests received (either endpoint).
    pub fills: Arc<Mutex<Vec<Value>>>,
    /// Completion requests whose client hung up before the answer (held `HANG` requests).
    pub fill_hang_ups: Arc<std::sync::atomic::AtomicUsize>,
}

/// An inline completion: [`FILL`] at once, or held until the client goes away for `HANG`.
async fn fill(fake: FakeAi, body: Value, chat: bool) -> Response {
    fake.fills.lock().expect("lock").push(body.clone());
    if body.to_string().contains("HANG") {
        let (tx, rx) = mpsc::channel::<Bytes>(1);
        let hang_ups = fake.fill_hang_ups.clone();
        tokio::spawn(async move {
            tx.closed().await;
            hang_ups.fetch_add(1, Ordering::SeqCst);
        });
        // Headers go out, the body never ends: the client is waiting for it.
        return sse(rx);
    }
    let usage = json!({ "prompt_tokens": 40, "completion_tokens": 2 });
    if chat {
        Json(json!({ "choices": [{ "message": { "content": FILL } }], "usage": usage }))
            .into_response()
    } else {
        Json(json!({ "choices": [{ "text": FILL }], "usage": usage })).into_response()
    }
}

async fn fim(State(fake): State<FakeAi>, Json(body): Json<Value>) -> Response {
    fill(fake, body, false).await
}

pub struct RunningAi {
    pub fake: FakeAi,
    /// `http://127.0.0.1:PORT/v1`, for `--ai-base-url`.
    pub base_url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RunningAi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn chunk(text: &str) -> Bytes {
    let data = json!({ "choices": [{ "index": 0, "delta": { "content": text } }] });
    Bytes::from(format!("data: {data}\n\n"))
}

fn sse(rx: mpsc::Receiver<Bytes>) -> Response {
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(stream))
        .expect("response")
}

async fn completions(
    State(fake): State<FakeAi>,
    headers: axum::http::HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    *fake.auth.lock().expect("lock") = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if body["stream"] == json!(false) {
        return fill(fake, body, true).await;
    }
    fake.requests.lock().expect("lock").push(body.clone());
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    match model.as_str() {
        "unauthorized" => (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": { "message": "Incorrect API key provided" } })),
        )
            .into_response(),
        "ratelimit" => StatusCode::TOO_MANY_REQUESTS.into_response(),
        "broken" => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": { "message": "model crashed" } })),
        )
            .into_response(),
        "json" => Json(json!({
            "choices": [{ "message": { "role": "assistant", "content": "One piece." } }]
        }))
        .into_response(),
        "silent" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        "hang" => {
            let (tx, rx) = mpsc::channel(8);
            let hung_up = fake.hung_up.clone();
            tokio::spawn(async move {
                let _ = tx.send(chunk("Partial")).await;
                // Keep the stream open until the client goes away.
                tx.closed().await;
                hung_up.store(true, Ordering::SeqCst);
            });
            sse(rx)
        }
        _ => {
            let (tx, rx) = mpsc::channel(8);
            let last = body["messages"]
                .as_array()
                .and_then(|m| m.last())
                .and_then(|m| m["content"].as_str())
                .unwrap_or_default()
                .to_owned();
            if let Some(code) = lines_to_change(&last) {
                // A code action: the lines, with a line added above them, in a block.
                tokio::spawn(async move {
                    for t in ["Sure:\n```\n", SUGGESTED, "\n", &code, "\n```\n"] {
                        let _ = tx.send(chunk(t)).await;
                    }
                    let _ = tx.send(Bytes::from_static(b"data: [DONE]\n\n")).await;
                });
                return sse(rx);
            }
            tokio::spawn(async move {
                let role = json!({ "choices": [{ "delta": { "role": "assistant" } }] });
                let _ = tx
                    .send(Bytes::from(format!(": ping\n\ndata: {role}\n\n")))
                    .await;
                for t in TOKENS {
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    let _ = tx.send(chunk(t)).await;
                }
                let _ = tx.send(Bytes::from_static(b"data: [DONE]\n\n")).await;
            });
            sse(rx)
        }
    }
}

impl FakeAi {
    pub async fn start() -> RunningAi {
        let fake = FakeAi::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = Router::new()
            .route("/v1/chat/completions", post(completions))
            .route("/v1/completions", post(fim))
            .with_state(fake.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RunningAi {
            fake,
            base_url: format!("http://{addr}/v1"),
            task,
        }
    }
}
