//! Pane sizes and visibility for the IDE shell, clamped to sane bounds and kept in localStorage
//! so a reload (or the next visit) restores the user's layout.

use leptos::prelude::*;

use crate::browser::storage;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Pane {
    Tree,
    Chat,
}

impl Pane {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Pane::Tree => "files",
            Pane::Chat => "chat",
        }
    }
}

const MIN_WIDTH: f64 = 160.0;
const MAX_WIDTH: f64 = 640.0;
const STORAGE_KEY: &str = "tandem.panes";

#[derive(Clone, Copy, PartialEq, Debug)]
struct State {
    tree: f64,
    chat: f64,
    tree_open: bool,
    chat_open: bool,
}

impl Default for State {
    fn default() -> Self {
        Self {
            tree: 240.0,
            chat: 320.0,
            tree_open: true,
            chat_open: true,
        }
    }
}

impl State {
    fn encode(&self) -> String {
        format!(
            "{},{},{},{}",
            self.tree, self.chat, self.tree_open as u8, self.chat_open as u8
        )
    }

    /// Anything unreadable falls back to the default layout.
    fn decode(raw: &str) -> Option<Self> {
        let mut it = raw.split(',');
        let tree: f64 = it.next()?.parse().ok()?;
        let chat: f64 = it.next()?.parse().ok()?;
        let tree_open = it.next()? == "1";
        let chat_open = it.next()? == "1";
        Some(Self {
            tree: tree.clamp(MIN_WIDTH, MAX_WIDTH),
            chat: chat.clamp(MIN_WIDTH, MAX_WIDTH),
            tree_open,
            chat_open,
        })
    }
}

#[derive(Clone, Copy)]
pub(super) struct PaneLayout(RwSignal<State>);

impl PaneLayout {
    pub(super) fn new() -> Self {
        let state = RwSignal::new(State::default());
        // Effects run only in the browser, after hydration, so SSR and the first client render
        // agree and the saved layout applies a moment later.
        Effect::new(move |_| {
            if let Some(saved) = storage()
                .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
                .and_then(|raw| State::decode(&raw))
            {
                state.set(saved);
            }
        });
        Self(state)
    }

    pub(super) fn width(&self, pane: Pane) -> f64 {
        let s = self.0.get();
        match pane {
            Pane::Tree => s.tree,
            Pane::Chat => s.chat,
        }
    }

    pub(super) fn is_open(&self, pane: Pane) -> bool {
        let s = self.0.get();
        match pane {
            Pane::Tree => s.tree_open,
            Pane::Chat => s.chat_open,
        }
    }

    pub(super) fn toggle(&self, pane: Pane) {
        self.0.update(|s| match pane {
            Pane::Tree => s.tree_open = !s.tree_open,
            Pane::Chat => s.chat_open = !s.chat_open,
        });
        self.save();
    }

    pub(super) fn resize_by(&self, pane: Pane, delta: f64) {
        self.0.update(|s| {
            let w = match pane {
                Pane::Tree => &mut s.tree,
                Pane::Chat => &mut s.chat,
            };
            *w = (*w + delta).clamp(MIN_WIDTH, MAX_WIDTH);
        });
    }

    /// The tree grows from the left edge, the chat from the right edge of the window.
    pub(super) fn drag_to(&self, pane: Pane, client_x: f64) {
        let target = match pane {
            Pane::Tree => client_x,
            Pane::Chat => viewport_width() - client_x,
        };
        let current = self.0.with_untracked(|s| match pane {
            Pane::Tree => s.tree,
            Pane::Chat => s.chat,
        });
        self.resize_by(pane, target - current);
    }

    pub(super) fn save(&self) {
        if let Some(storage) = storage() {
            let _ = storage.set_item(STORAGE_KEY, &self.0.get_untracked().encode());
        }
    }
}

fn viewport_width() -> f64 {
    #[cfg(feature = "browser")]
    {
        web_sys::window()
            .and_then(|w| w.inner_width().ok())
            .and_then(|w| w.as_f64())
            .unwrap_or(1280.0)
    }
    #[cfg(not(feature = "browser"))]
    {
        1280.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_round_trips_and_clamps() {
        let s = State {
            tree: 300.0,
            chat: 200.0,
            tree_open: false,
            chat_open: true,
        };
        assert_eq!(State::decode(&s.encode()), Some(s));
        let clamped = State::decode("5,9999,1,0").expect("decodes");
        assert_eq!((clamped.tree, clamped.chat), (MIN_WIDTH, MAX_WIDTH));
        assert_eq!(State::decode("garbage"), None);
    }
}
