//! The chat and AI assistant flags.

use std::time::Duration;

use clap::Args as ClapArgs;

#[derive(ClapArgs, Debug, Clone)]
// Each feature's flags are a group named for the feature: four structs all called `Args` would
// share one group id, which clap's debug assertions refuse.
#[group(id = "chat_args")]
pub struct Args {
    /// Largest chat message, in bytes (after trimming).
    #[arg(long, env = "TANDEM_CHAT_MAX_MESSAGE_BYTES", default_value_t = 16 * 1024, global = true)]
    pub chat_max_message_bytes: usize,

    /// Chat messages one user may send per minute (a minute's worth may come at once).
    #[arg(
        long,
        env = "TANDEM_CHAT_MESSAGES_PER_MINUTE",
        default_value_t = 60,
        global = true
    )]
    pub chat_messages_per_minute: u32,

    /// Base URL of an OpenAI-compatible chat-completions API for the assistant, e.g.
    /// `https://api.openai.com/v1` or Ollama's `http://127.0.0.1:11434/v1`. Without it the AI
    /// commands explain how to configure one.
    #[arg(long, env = "TANDEM_AI_BASE_URL", global = true)]
    pub ai_base_url: Option<String>,

    /// Model name the provider knows, e.g. `gpt-4o-mini` or `qwen2.5-coder:7b`.
    #[arg(long, env = "TANDEM_AI_MODEL", global = true)]
    pub ai_model: Option<String>,

    /// API key sent as a bearer token (stays on the server).
    #[arg(long, env = "TANDEM_AI_API_KEY", hide_env_values = true, global = true)]
    pub ai_api_key: Option<String>,

    /// Seconds to wait for the provider to start answering, and between two pieces of it.
    #[arg(
        long,
        env = "TANDEM_AI_TIMEOUT_SECS",
        default_value_t = 60,
        global = true
    )]
    pub ai_timeout_secs: u64,

    /// Most tokens in one answer.
    #[arg(
        long,
        env = "TANDEM_AI_MAX_TOKENS",
        default_value_t = 1024,
        global = true
    )]
    pub ai_max_tokens: u32,

    /// Characters of the open file (around the cursor) sent with a question.
    #[arg(
        long,
        env = "TANDEM_AI_CONTEXT_CHARS",
        default_value_t = 12_000,
        global = true
    )]
    pub ai_context_chars: usize,

    /// AI requests (questions and regenerations) one user may make per minute.
    #[arg(
        long,
        env = "TANDEM_AI_REQUESTS_PER_MINUTE",
        default_value_t = 10,
        global = true
    )]
    pub ai_requests_per_minute: u32,

    /// AI requests one project may make per minute, all its members together.
    #[arg(
        long,
        env = "TANDEM_AI_REQUESTS_PER_MINUTE_PER_PROJECT",
        default_value_t = 30,
        global = true
    )]
    pub ai_requests_per_minute_per_project: u32,

    /// Requests to the AI provider in flight at once, from everyone (chat answers wait for a
    /// place, inline completions are refused as busy).
    #[arg(
        long,
        env = "TANDEM_AI_MAX_CONCURRENT",
        default_value_t = 8,
        global = true
    )]
    pub ai_max_concurrent: usize,

    /// How inline completions are asked: `chat` (any chat model, the cursor marked in the
    /// prompt) or `fim` (`POST {base}/completions` with `prompt` and `suffix`, for code models
    /// with fill-in-the-middle: llama.cpp's server, Ollama, vLLM).
    #[arg(
        long,
        env = "TANDEM_AI_COMPLETION_ENDPOINT",
        value_enum,
        default_value_t = super::ai::fill::Endpoint::Chat,
        global = true
    )]
    pub ai_completion_endpoint: super::ai::fill::Endpoint,

    /// Model for inline completions (default: `--ai-model`), e.g. a small code model.
    #[arg(long, env = "TANDEM_AI_COMPLETION_MODEL", global = true)]
    pub ai_completion_model: Option<String>,

    /// Most tokens in one inline completion.
    #[arg(
        long,
        env = "TANDEM_AI_COMPLETION_MAX_TOKENS",
        default_value_t = 128,
        global = true
    )]
    pub ai_completion_max_tokens: u32,

    /// Milliseconds one inline completion may take before it is given up.
    #[arg(
        long,
        env = "TANDEM_AI_COMPLETION_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub ai_completion_timeout_ms: u64,
}

impl Args {
    /// Chat limits and the AI provider; an error when the AI flags are incomplete.
    pub fn settings(&self) -> Result<super::ChatSettings, String> {
        let ai = match (&self.ai_base_url, &self.ai_model) {
            (None, None) => None,
            (Some(_), None) => return Err("--ai-base-url needs --ai-model as well".into()),
            (None, Some(_)) => return Err("--ai-model needs --ai-base-url as well".into()),
            (Some(base), Some(model)) => Some(super::ai::AiConfig {
                base_url: base.clone(),
                model: model.clone(),
                api_key: self.ai_api_key.clone().filter(|k| !k.is_empty()),
                timeout: Duration::from_secs(self.ai_timeout_secs.max(1)),
                max_tokens: self.ai_max_tokens.max(1),
                context_chars: self.ai_context_chars.max(200),
                max_concurrent: self.ai_max_concurrent.max(1),
                fill: super::ai::FillConfig {
                    endpoint: self.ai_completion_endpoint,
                    model: self
                        .ai_completion_model
                        .clone()
                        .filter(|m| !m.is_empty())
                        .unwrap_or_else(|| model.clone()),
                    max_tokens: self.ai_completion_max_tokens.max(1),
                    timeout: Duration::from_millis(self.ai_completion_timeout_ms.max(100)),
                },
            }),
        };
        Ok(super::ChatSettings {
            max_message_bytes: self.chat_max_message_bytes.max(1),
            messages_per_minute: self.chat_messages_per_minute,
            ai_requests_per_minute: self.ai_requests_per_minute,
            ai_requests_per_minute_per_project: self.ai_requests_per_minute_per_project,
            ai,
        })
    }
}
