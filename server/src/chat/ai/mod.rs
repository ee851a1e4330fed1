//! The AI provider client: OpenAI-compatible `POST {base}/chat/completions` with
//! `stream: true`, which OpenAI, Ollama, llama.cpp's server and vLLM all speak. The server
//! calls the provider; API keys never reach a browser. Every failure becomes an [`AiError`]
//! whose text is shown in the chat, and every wait is bounded by the timeout.

use std::{sync::Arc, time::Duration};

use serde_json::{Value, json};
use tokio::sync::Semaphore;

pub mod fill;
pub mod prompt;
pub mod sse;
pub mod usage;

pub use prompt::PromptMessage;

/// How to reach the provider (`--ai-*` flags).
#[derive(Debug, Clone)]
pub struct AiConfig {
    /// e.g. `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1` (Ollama).
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    /// Longest wait for the response to start, and between two chunks of it.
    pub timeout: Duration,
    pub max_tokens: u32,
    /// Characters of the asker's file sent as context.
    pub context_chars: usize,
    /// Requests to the provider in flight at once, whoever makes them (chat answers wait for
    /// a place; completions, useless when late, are refused as busy).
    pub max_concurrent: usize,
    pub fill: FillConfig,
}

/// Inline completions (`--ai-completion-*`).
#[derive(Debug, Clone)]
pub struct FillConfig {
    pub endpoint: fill::Endpoint,
    pub model: String,
    pub max_tokens: u32,
    /// Longest wait for one completion; a later one is of no use to a typist.
    pub timeout: Duration,
}

/// A completion and what it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filled {
    pub text: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AiError {
    #[error("The AI provider did not answer within {0} seconds.")]
    Timeout(u64),
    #[error("The AI provider refused the request (HTTP {0}): check the API key (--ai-api-key).")]
    Unauthorized(u16),
    #[error("The AI provider is rate-limiting requests (HTTP 429). Try again in a moment.")]
    RateLimited,
    #[error("Could not reach the AI provider: {0}")]
    Unreachable(String),
    #[error("The AI provider answered HTTP {0}: {1}")]
    Status(u16, String),
    #[error("The AI provider reported an error: {0}")]
    Provider(String),
    #[error("The AI provider sent something that is not a chat-completions stream.")]
    Malformed,
    #[error("The AI provider is busy with other requests; try again in a moment.")]
    Busy,
}

impl AiError {
    /// What the members see: the kind of failure and what to do, never the provider's address,
    /// network errors or its own messages (those may name internal hosts or accounts; the
    /// server log has them in full).
    pub fn public(&self) -> String {
        match self {
            Self::Unreachable(_) => "Could not reach the AI provider. Try again later.".into(),
            Self::Status(code, _) => format!("The AI provider answered HTTP {code}."),
            Self::Provider(_) => "The AI provider reported an error.".into(),
            other => other.to_string(),
        }
    }
}

#[derive(Clone)]
pub struct Provider {
    http: reqwest::Client,
    url: String,
    config: AiConfig,
    /// Places for requests in flight (`AiConfig::max_concurrent`), shared by every clone.
    slots: Arc<Semaphore>,
}

/// Keeps an upstream error message short enough for a chat line.
fn short(s: &str) -> String {
    let s = s.trim();
    let mut out: String = s.chars().take(200).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// The message of an in-stream `error` value (`{"message": …}` or a plain string).
fn provider_message(err: &Value) -> String {
    err.get("message")
        .and_then(Value::as_str)
        .or_else(|| err.as_str())
        .map_or_else(|| short(&err.to_string()), short)
}

/// The `error.message` of an OpenAI-style error body, or the body itself.
fn error_text(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("error"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .map_or_else(|| short(body), |m| short(&m))
}

impl Provider {
    pub fn new(config: AiConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| format!("cannot build the AI HTTP client: {e}"))?;
        let url = format!("{}/chat/completions", config.base_url.trim_end_matches('/'));
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "--ai-base-url must start with http:// or https:// (got {})",
                config.base_url
            ));
        }
        Ok(Self {
            http,
            url,
            slots: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
            config,
        })
    }

    pub fn config(&self) -> &AiConfig {
        &self.config
    }

    /// Posts `body` to `url` and checks the status: an answering provider's response, or why
    /// there is none.
    async fn send(
        &self,
        url: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<reqwest::Response, AiError> {
        let mut request = self.http.post(url).json(body);
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key);
        }
        let timed_out = || AiError::Timeout(timeout.as_secs().max(1));
        let response = tokio::time::timeout(timeout, request.send())
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| {
                if e.is_timeout() {
                    timed_out()
                } else {
                    AiError::Unreachable(short(&format!("{e:#}")))
                }
            })?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let text = tokio::time::timeout(timeout, response.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        Err(match status {
            401 | 403 => AiError::Unauthorized(status),
            429 => AiError::RateLimited,
            _ => AiError::Status(status, error_text(&text)),
        })
    }

    /// One inline completion: the text to insert at the cursor (empty when the model had
    /// nothing). Refused at once as [`AiError::Busy`] when every place is taken: waiting would
    /// only deliver a completion for text the person has typed past. Dropping the future
    /// closes the upstream request.
    pub async fn fill(&self, ask: &fill::FillAsk) -> Result<Filled, AiError> {
        let _slot = self.slots.try_acquire().map_err(|_| AiError::Busy)?;
        let f = &self.config.fill;
        let (url, body) = match f.endpoint {
            fill::Endpoint::Fim => (
                format!("{}/completions", self.config.base_url.trim_end_matches('/')),
                fill::fim_body(&f.model, ask, f.max_tokens),
            ),
            fill::Endpoint::Chat => (
                self.url.clone(),
                fill::chat_body(&f.model, ask, f.max_tokens),
            ),
        };
        let response = self.send(&url, &body, f.timeout).await?;
        let text = tokio::time::timeout(f.timeout, response.text())
            .await
            .map_err(|_| AiError::Timeout(f.timeout.as_secs().max(1)))?
            .map_err(|e| AiError::Unreachable(short(&e.to_string())))?;
        let v: Value = serde_json::from_str(&text).map_err(|_| AiError::Malformed)?;
        if let Some(err) = v.get("error") {
            return Err(AiError::Provider(provider_message(err)));
        }
        let answer = fill::answer_text(&v).ok_or(AiError::Malformed)?;
        let (prompt_tokens, completion_tokens) = fill::usage(&v);
        Ok(Filled {
            text: fill::clean(answer, &ask.prefix, &ask.suffix),
            prompt_tokens,
            completion_tokens,
        })
    }

    fn timed_out(&self) -> AiError {
        AiError::Timeout(self.config.timeout.as_secs().max(1))
    }

    /// Streams the answer to `messages`, calling `on_delta` with each piece of text as it
    /// arrives. Dropping the returned future closes the upstream connection (that is how an
    /// answer is stopped). Returns the tokens used (prompt, answer) if the provider said.
    pub async fn stream(
        &self,
        messages: &[PromptMessage],
        mut on_delta: impl FnMut(&str),
    ) -> Result<Option<(u64, u64)>, AiError> {
        let body = json!({
            "model": self.config.model,
            "messages": messages,
            "stream": true,
            "max_tokens": self.config.max_tokens,
        });
        let timeout = self.config.timeout;
        // A place among the requests in flight; an answer waits for one as long as it would
        // wait for the provider.
        let _slot = tokio::time::timeout(timeout, self.slots.acquire())
            .await
            .map_err(|_| AiError::Busy)?
            .map_err(|_| AiError::Busy)?;
        let mut response = self.send(&self.url, &body, timeout).await?;
        // Some servers ignore `stream` and answer in one JSON document.
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if is_json {
            let text = tokio::time::timeout(timeout, response.text())
                .await
                .map_err(|_| self.timed_out())?
                .map_err(|e| AiError::Unreachable(short(&e.to_string())))?;
            let v: Value = serde_json::from_str(&text).map_err(|_| AiError::Malformed)?;
            if let Some(err) = v.get("error") {
                return Err(AiError::Provider(provider_message(err)));
            }
            let content = v
                .pointer("/choices/0/message/content")
                .and_then(Value::as_str)
                .ok_or(AiError::Malformed)?;
            on_delta(content);
            return Ok(reported_usage(&v));
        }
        let mut parser = sse::SseParser::default();
        // Providers that count tokens of a stream say so in a chunk (usually the last).
        let mut used = None;
        loop {
            let chunk = tokio::time::timeout(timeout, response.chunk())
                .await
                .map_err(|_| self.timed_out())?
                .map_err(|e| AiError::Unreachable(short(&format!("{e:#}"))))?;
            let Some(bytes) = chunk else {
                // The body ended without `[DONE]`: what arrived is the answer.
                if let Some(data) = parser.finish().filter(|d| d.trim() != "[DONE]")
                    && let Some(text) = delta_of(&data, &mut used)?
                {
                    on_delta(&text);
                }
                return Ok(used);
            };
            for data in parser.push(&bytes).map_err(|_| AiError::Malformed)? {
                if data.trim() == "[DONE]" {
                    return Ok(used);
                }
                if let Some(text) = delta_of(&data, &mut used)? {
                    on_delta(&text);
                }
            }
        }
    }
}

/// The tokens a response says it used: `usage.prompt_tokens` and `usage.completion_tokens`.
fn reported_usage(v: &Value) -> Option<(u64, u64)> {
    v.get("usage").filter(|u| u.is_object())?;
    Some(fill::usage(v))
}

/// The text of one streamed chunk (`choices[0].delta.content`), if it carries any; the tokens
/// used, if it says, go to `used`.
fn delta_of(data: &str, used: &mut Option<(u64, u64)>) -> Result<Option<String>, AiError> {
    let v: Value = serde_json::from_str(data).map_err(|_| AiError::Malformed)?;
    if let Some(err) = v.get("error") {
        return Err(AiError::Provider(provider_message(err)));
    }
    if let Some(u) = reported_usage(&v) {
        *used = Some(u);
    }
    Ok(v.pointer("/choices/0/delta/content")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_and_errors_are_read() {
        let mut used = None;
        assert_eq!(
            delta_of(r#"{"choices":[{"delta":{"content":"Hi"}}]}"#, &mut used),
            Ok(Some("Hi".into()))
        );
        assert_eq!(
            delta_of(r#"{"choices":[{"delta":{"role":"assistant"}}]}"#, &mut used),
            Ok(None)
        );
        assert_eq!(used, None);
        assert_eq!(
            delta_of(
                r#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3}}"#,
                &mut used
            ),
            Ok(None)
        );
        assert_eq!(used, Some((12, 3)));
        assert_eq!(
            delta_of(r#"{"error":{"message":"model overloaded"}}"#, &mut used),
            Err(AiError::Provider("model overloaded".into()))
        );
        assert_eq!(delta_of("not json", &mut used), Err(AiError::Malformed));
        assert_eq!(error_text(r#"{"error":{"message":"bad key"}}"#), "bad key");
        assert_eq!(error_text("plain"), "plain");
    }
}
