//! Inline completions (ghost text) for the page: whether this person wants them (kept in this
//! browser), what the status bar says about them, and the answers arriving on the tab socket.
//! A request leaves from the document's session, which knows the text around the cursor;
//! Monaco shows the answer after the cursor, Tab takes it, Ctrl+→ takes a word, Escape hides it.

use leptos::prelude::*;

use crate::live::events::{CompletionError, ServerEvent};

/// Where this browser keeps the person's choice ("off" when they turned completions off).
const PREF: &str = "tandem.ai.completions";

/// What the status bar's AI item says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ghost {
    /// Nothing on its way.
    Ready,
    /// A request is on its way.
    Thinking,
    /// The last request failed, and why.
    Failed(CompletionError, String),
}

/// The page's completion state; `Copy`, handed to every document's session.
#[derive(Clone, Copy)]
pub struct Ghosts {
    pub state: RwSignal<Ghost>,
    /// The person wants completions (their choice in this browser).
    pub wanted: RwSignal<bool>,
    /// The server offers them to this person (false once it said they are off, or that the
    /// person may not edit): the tab stops asking until the page loads again.
    pub offered: RwSignal<bool>,
    /// The request whose answer the status bar waits for.
    latest: StoredValue<u64>,
}

impl Default for Ghosts {
    fn default() -> Self {
        Self::new()
    }
}

impl Ghosts {
    pub fn new() -> Self {
        let ghosts = Self {
            state: RwSignal::new(Ghost::Ready),
            // Off until the browser has read the choice: the server renders the same.
            wanted: RwSignal::new(false),
            offered: RwSignal::new(true),
            latest: StoredValue::new(0),
        };
        #[cfg(feature = "browser")]
        Effect::new(move |_| {
            let off = crate::browser::storage()
                .and_then(|s| s.get_item(PREF).ok().flatten())
                .is_some_and(|v| v == "off");
            ghosts.wanted.set(!off);
        });
        ghosts
    }

    /// Whether a session should ask now.
    pub fn active(&self) -> bool {
        self.wanted.get_untracked() && self.offered.get_untracked()
    }

    /// The person's choice, kept in this browser.
    pub fn set_wanted(&self, on: bool) {
        self.wanted.set(on);
        if let Some(s) = crate::browser::storage() {
            let _ = s.set_item(PREF, if on { "on" } else { "off" });
        }
        if !on {
            self.state.set(Ghost::Ready);
        }
    }

    /// Request `id` went to the server.
    pub fn asked(&self, id: u64) {
        self.latest.set_value(id);
        self.state.set(Ghost::Thinking);
    }

    /// Request `id` is not wanted any more (the person typed on).
    pub fn cancelled(&self, id: u64) {
        if self.latest.get_value() == id && self.state.get_untracked() == Ghost::Thinking {
            self.state.set(Ghost::Ready);
        }
    }

    /// A completion event from the tab socket: hands the text to the editor and updates the
    /// status. Failures that will not change (off, not allowed) stop further requests.
    pub fn arrived(&self, event: &ServerEvent) {
        let (id, text, failed) = match event {
            ServerEvent::Completion { id, text } => (*id, text.as_str(), None),
            ServerEvent::CompletionFailed { id, error, message } => {
                (*id, "", Some((*error, message.clone())))
            }
            _ => return,
        };
        #[cfg(feature = "browser")]
        super::client::completion_arrived(id, text);
        #[cfg(not(feature = "browser"))]
        let _ = text;
        if let Some((error, _)) = &failed
            && matches!(error, CompletionError::Off | CompletionError::NotAllowed)
        {
            self.offered.set(false);
        }
        if id == self.latest.get_value() {
            self.state.set(match failed {
                Some((error, message)) => Ghost::Failed(error, message),
                None => Ghost::Ready,
            });
        }
    }
}

/// The status bar's item: what completions are doing, and a click to turn them on or off.
pub fn label(wanted: bool, offered: bool, state: &Ghost) -> (&'static str, String) {
    if !offered {
        // Turned off by the server or the project's owners: say which.
        let why = match state {
            Ghost::Failed(_, why) => why.clone(),
            _ => "Inline completions are not available here.".into(),
        };
        return ("AI off", why);
    }
    if !wanted {
        return (
            "AI off",
            "Inline completions are off in this browser. Click to turn them on.".into(),
        );
    }
    match state {
        Ghost::Ready => (
            "AI",
            "Inline completions are on: pause while typing to see a suggestion, Tab to take \
             it, Ctrl+→ for a word, Escape to hide it. Click to turn them off."
                .into(),
        ),
        Ghost::Thinking => ("AI …", "Asking the assistant for a completion.".into()),
        Ghost::Failed(CompletionError::Unreachable, why) => ("AI unreachable", why.clone()),
        Ghost::Failed(CompletionError::Limited, why) => ("AI limited", why.clone()),
        Ghost::Failed(CompletionError::Busy, why) => ("AI busy", why.clone()),
        Ghost::Failed(_, why) => ("AI off", why.clone()),
    }
}

/// The status bar's AI item (`data-test="ai-status"`).
#[component]
pub fn GhostStatus(ghosts: Ghosts, #[prop(into)] writable: Signal<bool>) -> impl IntoView {
    let shown = move || {
        let (text, title) = ghosts
            .state
            .with(|s| label(ghosts.wanted.get(), ghosts.offered.get(), s));
        (text, title)
    };
    view! {
        <Show when=move || writable.get()>
            <button type="button" class="link ai-status" data-test="ai-status"
                data-state=move || format!("{:?}", ghosts.state.get())
                aria-pressed=move || (ghosts.wanted.get() && ghosts.offered.get()).to_string()
                disabled=move || !ghosts.offered.get()
                title=move || shown().1
                on:click=move |_| ghosts.set_wanted(!ghosts.wanted.get_untracked())>
                {move || shown().0}
            </button>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_item_says_what_completions_do() {
        assert_eq!(label(true, true, &Ghost::Ready).0, "AI");
        assert_eq!(label(true, true, &Ghost::Thinking).0, "AI …");
        assert_eq!(label(false, true, &Ghost::Thinking).0, "AI off");
        assert_eq!(label(true, false, &Ghost::Ready).0, "AI off");
        let off = Ghost::Failed(CompletionError::Off, "The owners turned them off.".into());
        assert_eq!(
            label(true, false, &off),
            ("AI off", "The owners turned them off.".to_owned())
        );
        let failed = Ghost::Failed(CompletionError::Unreachable, "Could not reach it.".into());
        assert_eq!(
            label(true, true, &failed),
            ("AI unreachable", "Could not reach it.".to_owned())
        );
        let limited = Ghost::Failed(CompletionError::Limited, "60 a minute".into());
        assert_eq!(label(true, true, &limited).0, "AI limited");
    }
}
