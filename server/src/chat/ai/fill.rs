//! Inline completion ("fill in the middle"): the text around the cursor becomes either a
//! fill-in-the-middle request (`POST {base}/completions` with `prompt` and `suffix`, which
//! OpenAI's legacy completions, llama.cpp's server, Ollama and vLLM take with code models) or,
//! for chat-only providers, a chat request with the cursor marked. The answer is cleaned into
//! the text to insert: no code fences, no echo of what is already there.

use serde_json::{Value, json};

use super::PromptMessage;

/// Which API a provider answers completions on (`--ai-completion-endpoint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Endpoint {
    /// `/chat/completions`, the cursor marked in the user message (any chat model).
    Chat,
    /// `/completions` with `prompt` and `suffix` (code models with fill-in-the-middle).
    Fim,
}

/// What one completion is asked with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FillAsk {
    pub prefix: String,
    pub suffix: String,
    pub language: String,
    pub path: String,
}

/// Where the cursor is, in the chat prompt.
const CURSOR: &str = "<CURSOR>";

const SYSTEM: &str = "You complete code inside an editor. You are shown a file with the \
cursor marked <CURSOR>. Reply with only the text to insert at the cursor: no explanation, no \
code fences, nothing that is already before or after the cursor. Prefer a short completion \
(the rest of the line or statement, at most a few lines). Reply with nothing if nothing fits.";

/// The chat request's messages.
pub fn chat_messages(ask: &FillAsk) -> Vec<PromptMessage> {
    vec![
        PromptMessage {
            role: "system".into(),
            content: SYSTEM.into(),
        },
        PromptMessage {
            role: "user".into(),
            content: format!(
                "File `{}` ({}):\n{}{CURSOR}{}",
                ask.path, ask.language, ask.prefix, ask.suffix
            ),
        },
    ]
}

/// The fill-in-the-middle request's body.
pub fn fim_body(model: &str, ask: &FillAsk, max_tokens: u32) -> Value {
    json!({
        "model": model,
        "prompt": ask.prefix,
        "suffix": ask.suffix,
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": false,
    })
}

/// The chat request's body.
pub fn chat_body(model: &str, ask: &FillAsk, max_tokens: u32) -> Value {
    json!({
        "model": model,
        "messages": chat_messages(ask),
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": false,
    })
}

/// The answer's text: `choices[0].text` (completions) or `choices[0].message.content` (chat).
pub fn answer_text(v: &Value) -> Option<&str> {
    v.pointer("/choices/0/text")
        .or_else(|| v.pointer("/choices/0/message/content"))
        .and_then(Value::as_str)
}

/// Token counts the provider reported (`usage`), when it did.
pub fn usage(v: &Value) -> (u64, u64) {
    let n = |p: &str| v.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    (n("/usage/prompt_tokens"), n("/usage/completion_tokens"))
}

/// Turns a model's answer into the text to insert after `prefix` and before `suffix`: code
/// fences and a repeated cursor marker go, a repeat of the current line's start is cut, and
/// an ending that repeats the start of `suffix` is dropped.
pub fn clean(answer: &str, prefix: &str, suffix: &str) -> String {
    let mut text = answer.replace(CURSOR, "");
    // A fenced block: keep its inside.
    if let Some(start) = text.find("```") {
        let after = &text[start + 3..];
        let body = after.split_once('\n').map_or("", |(_, b)| b);
        let inner = body.rsplit_once("```").map_or(body, |(b, _)| b);
        text = inner.strip_suffix('\n').unwrap_or(inner).to_owned();
    }
    // Chat models like to repeat the line they were given.
    let line_start = prefix.rsplit('\n').next().unwrap_or_default();
    if !line_start.trim().is_empty()
        && let Some(rest) = text.strip_prefix(line_start)
    {
        text = rest.to_owned();
    }
    // Nor should it retype what follows the cursor.
    let next = suffix.split('\n').next().unwrap_or_default();
    if !next.trim().is_empty()
        && let Some(rest) = text.strip_suffix(next)
    {
        text = rest.to_owned();
    }
    if text.trim().is_empty() {
        return String::new();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask() -> FillAsk {
        FillAsk {
            prefix: "fn add(a: i32, b: i32) -> i32 {\n    a".into(),
            suffix: "\n}\n".into(),
            language: "rust".into(),
            path: "src/lib.rs".into(),
        }
    }

    #[test]
    fn prompts_carry_the_text_around_the_cursor() {
        let m = chat_messages(&ask());
        assert_eq!(m.len(), 2);
        assert!(
            m[1].content.contains(
                "`src/lib.rs` (rust):\nfn add(a: i32, b: i32) -> i32 {\n    a<CURSOR>\n}"
            )
        );
        let fim = fim_body("coder", &ask(), 64);
        assert_eq!(fim["prompt"], "fn add(a: i32, b: i32) -> i32 {\n    a");
        assert_eq!(fim["suffix"], "\n}\n");
        assert_eq!(fim["stream"], false);
        let chat = chat_body("gpt", &ask(), 64);
        assert_eq!(chat["messages"][0]["role"], "system");
    }

    #[test]
    fn answers_are_read_from_either_api() {
        let fim = json!({"choices": [{"text": " + b"}], "usage": {"prompt_tokens": 12, "completion_tokens": 3}});
        assert_eq!(answer_text(&fim), Some(" + b"));
        assert_eq!(usage(&fim), (12, 3));
        let chat = json!({"choices": [{"message": {"content": "x"}}]});
        assert_eq!(answer_text(&chat), Some("x"));
        assert_eq!(usage(&chat), (0, 0));
        assert_eq!(answer_text(&json!({})), None);
    }

    #[test]
    fn answers_are_cleaned_into_an_insertion() {
        let prefix = "let total = ";
        assert_eq!(clean("a + b;", prefix, "\n"), "a + b;");
        assert_eq!(clean("```rust\na + b;\n```", prefix, ""), "a + b;");
        assert_eq!(clean("let total = a + b;", prefix, ""), "a + b;");
        assert_eq!(clean("a + b);", "f(", ");"), "a + b");
        assert_eq!(clean("a<CURSOR> + b", prefix, ""), "a + b");
        assert_eq!(clean("  \n", prefix, ""), "");
        assert_eq!(clean("", prefix, ""), "");
    }
}
