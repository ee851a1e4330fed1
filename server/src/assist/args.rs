//! The inline completion flags (the provider itself is `--ai-*`, with the chat's).

use std::time::Duration;

use clap::Args as ClapArgs;

#[derive(ClapArgs, Debug, Clone)]
#[group(id = "assist_args")]
pub struct Args {
    /// Offer inline completions (ghost text) in the editor when an AI provider is configured.
    #[arg(
        long,
        env = "TANDEM_AI_COMPLETIONS",
        default_value_t = true,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub ai_completions: bool,

    /// Inline completions one person may get per minute (a tab asks at most once per pause
    /// in typing).
    #[arg(
        long,
        env = "TANDEM_AI_COMPLETIONS_PER_MINUTE",
        default_value_t = 60,
        global = true
    )]
    pub ai_completions_per_minute: u32,

    /// Inline completions one project may get per minute, all its members together.
    #[arg(
        long,
        env = "TANDEM_AI_COMPLETIONS_PER_MINUTE_PER_PROJECT",
        default_value_t = 600,
        global = true
    )]
    pub ai_completions_per_minute_per_project: u32,

    /// Milliseconds a completion request waits on the server before it goes to the provider;
    /// a newer request from the same tab replaces it meanwhile.
    #[arg(
        long,
        env = "TANDEM_AI_COMPLETION_DEBOUNCE_MS",
        default_value_t = 75,
        global = true
    )]
    pub ai_completion_debounce_ms: u64,

    /// Characters before the cursor sent with a completion request (a quarter as many after
    /// it).
    #[arg(
        long,
        env = "TANDEM_AI_COMPLETION_CONTEXT_CHARS",
        default_value_t = 4_000,
        global = true
    )]
    pub ai_completion_context_chars: usize,
}

impl Args {
    pub fn settings(&self) -> super::Settings {
        super::Settings {
            enabled: self.ai_completions,
            per_minute: self.ai_completions_per_minute,
            per_minute_per_project: self.ai_completions_per_minute_per_project,
            debounce: Duration::from_millis(self.ai_completion_debounce_ms),
            context_chars: self.ai_completion_context_chars.clamp(200, 64_000),
        }
    }
}
