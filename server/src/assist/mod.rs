//! AI in the editor: inline completions (ghost text) and code actions as shared suggestions.
//! The tab socket hands each completion request to [`Assist`] through `live::CompletionPort`;
//! this module bounds what is sent, counts the per-person and per-project allowances, and asks
//! the chat's AI provider (one cap on requests in flight for the chat and the editor together).
//! [`Suggestions`] (in `suggest`) keeps the suggestions code actions make. Nothing is sent for
//! a viewer, and the provider's key and address never reach a browser.

mod args;
mod prompt;
mod settings;
mod suggest;
pub mod switches;

use std::{sync::Arc, time::Duration};

use crate::chat::ai::usage::{Kind, Outcome, Usage};
use app::{
    live::events::CompletionError,
    types::{ProjectId, UserId},
};
pub use args::Args;
use async_trait::async_trait;
pub use settings::AiSettings;
pub use suggest::Suggestions;
use switches::Switches;

use crate::{
    chat::ai::{AiError, Provider, fill::FillAsk},
    live::{CompletionAsk, CompletionPort},
    rate::{PerMinute, shared::SharedCounts},
};

/// The limits of `--ai-completion*` (see [`Args`]).
#[derive(Debug, Clone)]
pub struct Settings {
    pub enabled: bool,
    pub per_minute: u32,
    pub per_minute_per_project: u32,
    pub debounce: Duration,
    /// Most characters before the cursor sent; after it, a quarter of this.
    pub context_chars: usize,
}

#[derive(Clone)]
pub struct Assist(Arc<Inner>);

struct Inner {
    provider: Option<Provider>,
    settings: Settings,
    per_user: PerMinute<UserId>,
    per_project: PerMinute<ProjectId>,
    switches: Switches,
    usage: Usage,
}

/// The last `n` characters of `s` (whole characters).
fn tail(s: &str, n: usize) -> &str {
    match s.char_indices().rev().nth(n.saturating_sub(1)) {
        Some((i, _)) if n > 0 => &s[i..],
        _ if n == 0 => "",
        _ => s,
    }
}

/// The first `n` characters of `s`.
fn head(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

/// What members are told, by kind: never the provider's address or its own message.
fn refusal(e: &AiError) -> (CompletionError, String) {
    let kind = match e {
        AiError::Busy => CompletionError::Busy,
        AiError::RateLimited => CompletionError::Limited,
        _ => CompletionError::Unreachable,
    };
    (kind, e.public())
}

impl Assist {
    pub fn new(
        provider: Option<Provider>,
        settings: Settings,
        shared: &Option<SharedCounts>,
        (switches, usage): (Switches, Usage),
    ) -> Self {
        Self(Arc::new(Inner {
            switches,
            usage,
            per_user: PerMinute::maybe_shared(settings.per_minute, shared, "ai-completions"),
            per_project: PerMinute::maybe_shared(
                settings.per_minute_per_project,
                shared,
                "ai-project-completions",
            ),
            provider: provider.filter(|_| settings.enabled),
            settings,
        }))
    }

    async fn allowed(
        &self,
        project: ProjectId,
        user: UserId,
    ) -> Result<(), (CompletionError, String)> {
        if let Err(wait) = self.0.per_user.take_now(user).await {
            crate::limits::refused("ai-completions-per-minute");
            return Err((
                CompletionError::Limited,
                format!(
                    "Completions are limited to {} a minute per person; more in {wait} s.",
                    self.0.settings.per_minute
                ),
            ));
        }
        if let Err(wait) = self.0.per_project.take_now(project).await {
            crate::limits::refused("ai-completions-per-minute-per-project");
            return Err((
                CompletionError::Limited,
                format!(
                    "This project's completions are limited to {} a minute; more in {wait} s.",
                    self.0.settings.per_minute_per_project
                ),
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl CompletionPort for Assist {
    fn debounce(&self) -> Option<Duration> {
        self.0.provider.as_ref().map(|_| self.0.settings.debounce)
    }

    async fn complete(
        &self,
        project: ProjectId,
        user: UserId,
        ask: CompletionAsk,
    ) -> Result<String, (CompletionError, String)> {
        let Some(provider) = &self.0.provider else {
            return Err((
                CompletionError::Off,
                "Inline completions are off on this server.".to_owned(),
            ));
        };
        match self.0.switches.get(project).await {
            Ok(s) if !s.completions => {
                return Err((
                    CompletionError::Off,
                    "The project's owners turned inline completions off.".to_owned(),
                ));
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot read a project's AI switches");
                return Err((CompletionError::Unreachable, e.to_string()));
            }
        }
        self.allowed(project, user).await?;
        let n = self.0.settings.context_chars;
        let ask = FillAsk {
            prefix: tail(&ask.prefix, n).to_owned(),
            suffix: head(&ask.suffix, n / 4).to_owned(),
            language: head(&ask.language, 40).to_owned(),
            path: tail(&ask.path, 200).to_owned(),
        };
        let started = std::time::Instant::now();
        let result = provider.fill(&ask).await;
        let took = started.elapsed();
        metrics::histogram!("tandem_ai_completion_seconds").record(took.as_secs_f64());
        // A request refused before it left (busy) costs nothing upstream.
        if !matches!(result, Err(AiError::Busy)) {
            let tokens = result
                .as_ref()
                .ok()
                .map(|f| (f.prompt_tokens, f.completion_tokens));
            let sent = ask.prefix.chars().count() + ask.suffix.chars().count();
            let got = result.as_ref().map_or(0, |f| f.text.chars().count());
            self.0.usage.record(
                project,
                Kind::Completion,
                Outcome::estimated(result.is_ok(), tokens, sent, got, took),
            );
        }
        match result {
            Ok(filled) => {
                metrics::counter!("tandem_ai_completion_tokens_total", "kind" => "prompt")
                    .increment(filled.prompt_tokens);
                metrics::counter!("tandem_ai_completion_tokens_total", "kind" => "completion")
                    .increment(filled.completion_tokens);
                Ok(filled.text)
            }
            Err(e) => {
                tracing::info!(project = project.0, error = %e, "an inline completion failed");
                Err(refusal(&e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_is_cut_at_characters() {
        assert_eq!(tail("abcdef", 3), "def");
        assert_eq!(tail("ab", 3), "ab");
        assert_eq!(tail("ab", 0), "");
        assert_eq!(tail("héllo", 4), "éllo");
        assert_eq!(head("abcdef", 2), "ab");
        assert_eq!(head("ab", 5), "ab");
        assert_eq!(head("éa", 1), "é");
    }

    #[test]
    fn failures_are_told_by_kind() {
        assert_eq!(refusal(&AiError::Busy).0, CompletionError::Busy);
        assert_eq!(refusal(&AiError::RateLimited).0, CompletionError::Limited);
        let (kind, text) = refusal(&AiError::Unreachable("10.0.0.7:8080 refused".into()));
        assert_eq!(kind, CompletionError::Unreachable);
        assert!(!text.contains("10.0.0.7"), "{text}");
    }
}
