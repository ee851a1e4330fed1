//! The terminals of a project as one tab holds them (state, scrollback, the one xterm.js view
//! on screen), and the terminal view inside the Run panel: a bar with who opened it and who
//! may type, the grant menu for its opener, and the screen.

use std::collections::HashMap;

use leptos::{prelude::*, task::spawn_local};

use super::{close_terminal, grant_typing, open_terminal, scrollback::Scrollback, terminals_now};
use crate::{
    live::{Live, events::ServerEvent, status::Link, stream::Applied},
    types::{
        ProjectId, Role, TermId, UserId,
        terminals::{TermInfo, TermReplay},
    },
};

/// Closed terminals a tab keeps listed (with their output) until the user dismisses them.
const KEEP_CLOSED: usize = 4;

/// A member who can be given typing (editors and owners).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub user: UserId,
    pub name: String,
}

#[derive(Clone, Copy)]
pub struct TermState {
    project: ProjectId,
    me: UserId,
    role: RwSignal<Role>,
    link: RwSignal<Link>,
    live: StoredValue<Option<Live>>,
    /// Members who may be granted typing.
    candidates: StoredValue<Vec<Candidate>>,
    pub terms: RwSignal<Vec<TermInfo>>,
    /// Output so far per terminal; not reactive (the view writes new output to xterm.js as
    /// it arrives, and reads this only when it opens).
    buffers: StoredValue<HashMap<TermId, Scrollback>>,
    /// The terminal the Run panel shows (`None`: the run output).
    pub selected: RwSignal<Option<TermId>>,
    /// The Run panel is expanded (a new terminal opens it for everyone, as a new run does).
    panel: RwSignal<bool>,
    pub error: RwSignal<Option<String>>,
    busy: RwSignal<bool>,
    #[cfg(feature = "browser")]
    screen: StoredValue<Option<(TermId, std::rc::Rc<super::client::TandemTerminal>)>, LocalStorage>,
}

impl TermState {
    pub fn new(
        project: ProjectId,
        me: UserId,
        role: RwSignal<Role>,
        link: RwSignal<Link>,
        panel: RwSignal<bool>,
        candidates: Vec<Candidate>,
    ) -> Self {
        let s = Self {
            project,
            me,
            role,
            link,
            live: StoredValue::new(None),
            candidates: StoredValue::new(candidates),
            terms: RwSignal::new(Vec::new()),
            buffers: StoredValue::new(HashMap::new()),
            selected: RwSignal::new(None),
            panel,
            error: RwSignal::new(None),
            busy: RwSignal::new(false),
            #[cfg(feature = "browser")]
            screen: StoredValue::new_local(None),
        };
        Effect::new(move |prev: Option<()>| {
            if prev.is_none() {
                s.refresh();
            }
        });
        // Removed from the project, signed out, project deleted: the terminals close here at
        // once (the server has stopped sending their output already).
        Effect::new(move |_| {
            if s.link.get().lost() {
                s.selected.set(None);
                s.terms.set(Vec::new());
                s.buffers.set_value(HashMap::new());
            }
        });
        s
    }

    /// The project channel the view sends keystrokes and sizes on.
    pub fn connect(&self, live: Live) {
        self.live.set_value(Some(live));
    }

    pub fn can_open(&self) -> bool {
        self.role.get() >= Role::Editor && !self.link.get().lost()
    }

    fn info(&self, id: TermId) -> Option<TermInfo> {
        self.terms.with(|t| t.iter().find(|x| x.id == id).cloned())
    }

    fn upsert(&self, term: TermInfo) {
        self.terms.update(|terms| {
            match terms.iter_mut().find(|t| t.id == term.id) {
                Some(t) => *t = term,
                None => terms.push(term),
            }
            let closed: Vec<TermId> = terms.iter().filter(|t| !t.open()).map(|t| t.id).collect();
            for old in closed.iter().take(closed.len().saturating_sub(KEEP_CLOSED)) {
                terms.retain(|t| t.id != *old);
                self.buffers.update_value(|b| {
                    b.remove(old);
                });
            }
        });
    }

    /// Fetches the open terminals with their scrollback (on open, after a resync or a gap).
    pub fn refresh(&self) {
        let s = *self;
        spawn_local(async move {
            let Ok(now) = terminals_now(s.project).await else {
                return;
            };
            let open: Vec<TermId> = now.iter().map(|r| r.term.id).collect();
            if !now.is_empty() {
                s.panel.set(true);
            }
            for r in now {
                s.take_replay(&r);
                s.upsert(r.term);
            }
            // Terminals that closed while this tab was not listening.
            let gone: Vec<TermInfo> = s.terms.with_untracked(|t| {
                t.iter()
                    .filter(|t| t.open() && !open.contains(&t.id))
                    .cloned()
                    .collect()
            });
            for mut t in gone {
                t.ended = Some("closed".to_owned());
                s.upsert(t);
            }
        });
    }

    /// Takes a replay unless what this tab has already reaches further (answers cross live
    /// events); a terminal on screen is redrawn from it.
    fn take_replay(&self, r: &TermReplay) {
        let id = r.term.id;
        let newer = self
            .buffers
            .with_value(|b| b.get(&id).is_none_or(|have| have.received < r.end));
        if !newer {
            return;
        }
        let sb = Scrollback::from_replay(r);
        #[cfg(feature = "browser")]
        self.on_screen(id, |t| {
            t.reset();
            t.write(&sb.data);
        });
        self.buffers.update_value(|b| {
            b.insert(id, sb);
        });
    }

    pub fn on_event(&self, e: ServerEvent) {
        match e {
            ServerEvent::Terminal { term } => {
                let new = self.info(term.id).is_none();
                if new && term.open() {
                    self.buffers.update_value(|b| {
                        b.entry(term.id).or_default();
                    });
                    self.panel.set(true);
                    // The opener's new terminal takes their panel; others see its tab appear.
                    if term.opened_by == self.me {
                        self.select(term.id);
                    }
                }
                self.upsert(term);
            }
            ServerEvent::TermOutput { term, at, data } => {
                // `None`: a terminal this page does not list (it ended, or its announcement
                // came before the page's list). Refetching on every chunk of its output would
                // flood the server; a missed announcement is repaired by the lag refetch.
                let mut result = None;
                self.buffers.update_value(|b| {
                    if let Some(sb) = b.get_mut(&term) {
                        result = Some(sb.apply(at, &data));
                    }
                });
                match result {
                    Some(Applied::Appended) => {
                        #[cfg(feature = "browser")]
                        self.on_screen(term, |t| t.write(&data));
                    }
                    Some(Applied::Duplicate) | None => {}
                    Some(Applied::Gap) => self.refresh(),
                }
            }
            ServerEvent::TermRefused { message, .. } => self.error.set(Some(message)),
            ServerEvent::Resync => self.refresh(),
            _ => {}
        }
    }

    /// Opens a terminal in `environment` (by name), if one.
    pub fn open(&self, environment: Option<String>) {
        if !self.can_open() || self.busy.get_untracked() {
            return;
        }
        let s = *self;
        s.busy.set(true);
        s.error.set(None);
        spawn_local(async move {
            match open_terminal(s.project, 80, 24, environment).await {
                Ok(term) => {
                    s.buffers.update_value(|b| {
                        b.entry(term.id).or_default();
                    });
                    s.upsert(term.clone());
                    s.select(term.id);
                }
                Err(e) => s.error.set(Some(e.to_string())),
            }
            s.busy.set(false);
        });
    }

    fn close(&self, id: TermId) {
        let s = *self;
        spawn_local(async move {
            if let Err(e) = close_terminal(s.project, id).await {
                s.error.set(Some(e.to_string()));
            }
        });
    }

    /// Shows a terminal in the panel (setting the same one again would rebuild its view).
    fn select(&self, id: TermId) {
        if self.selected.get_untracked() != Some(id) {
            self.selected.set(Some(id));
        }
    }

    /// Removes a closed terminal from the list.
    fn dismiss(&self, id: TermId) {
        self.terms.update(|t| t.retain(|x| x.id != id));
        self.buffers.update_value(|b| {
            b.remove(&id);
        });
        if self.selected.get_untracked() == Some(id) {
            self.selected.set(None);
        }
    }

    fn grant(&self, id: TermId, user: UserId, on: bool) {
        let s = *self;
        spawn_local(async move {
            match grant_typing(s.project, id, user, on).await {
                Ok(term) => s.upsert(term),
                Err(e) => s.error.set(Some(e.to_string())),
            }
        });
    }

    #[cfg(feature = "browser")]
    fn send(&self, event: &crate::live::events::ClientEvent) {
        // `try_`: a view closing with the page may outlive the page's state.
        if let Some(Some(live)) = self.live.try_get_value() {
            live.send(event);
        }
    }

    #[cfg(feature = "browser")]
    fn on_screen(&self, id: TermId, f: impl FnOnce(&super::client::TandemTerminal)) {
        let shown = self
            .screen
            .try_with_value(|s| s.as_ref().filter(|(t, _)| *t == id).map(|(_, x)| x.clone()))
            .flatten();
        if let Some(t) = shown {
            f(&t);
        }
    }
}

/// Splits typed or pasted text into events the server accepts (at most `MAX_INPUT` bytes,
/// cut at character boundaries).
pub fn input_pieces(data: &str) -> Vec<&str> {
    let max = crate::types::terminals::MAX_INPUT;
    let mut pieces = Vec::new();
    let mut rest = data;
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (a, b) = rest.split_at(cut);
        pieces.push(a);
        rest = b;
    }
    if !rest.is_empty() {
        pieces.push(rest);
    }
    pieces
}

/// The tabs of the project's terminals, for the Run panel's tab row.
#[component]
pub fn TerminalTabs(terms: TermState) -> impl IntoView {
    view! {
        <For each=move || terms.terms.get() key=|t: &TermInfo| (t.id, t.ended.clone()) let:term>
            {
                let id = term.id;
                view! {
                    <button type="button" class="run-tab term-tab" data-test="terminal-tab"
                        class:active=move || terms.selected.get() == Some(id) class:running=term.open()
                        title=format!("opened by {}", term.opened_by_name)
                        on:click=move |_| terms.selected.set(Some(id))>
                        {format!("⌨ {}", term.title())}</button>
                }
            }
        </For>
    }
}

/// The selected terminal: its bar and its screen.
#[component]
pub fn TerminalView(terms: TermState, id: TermId) -> impl IntoView {
    let info = Memo::new(move |_| terms.info(id));
    let me = terms.me;
    let is_opener = move || info.get().is_some_and(|t| t.opened_by == me);
    let may_manage = move || is_opener() || terms.role.get() == Role::Owner;
    let may_type =
        move || terms.role.get() >= Role::Editor && info.get().is_some_and(|t| t.may_type(me));
    let host = NodeRef::<leptos::html::Div>::new();
    #[cfg(feature = "browser")]
    mount(terms, id, host, info, Signal::derive(may_type));
    let typists = move || {
        info.get()
            .map(|t| {
                t.typists
                    .iter()
                    .map(|x| x.name.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let grant_menu = move || {
        let t = info.get()?;
        (may_manage() && t.open()).then(|| {
            let options = terms.candidates.with_value(|c| {
                c.iter()
                    .filter(|c| c.user != t.opened_by)
                    .map(|c| {
                        let on = t.typists.iter().any(|x| x.user == c.user);
                        let label = if on { format!("✓ {} (take back)", c.name) } else { format!("Let {} type", c.name) };
                        view! { <option value=c.user.0.to_string()>{label}</option> }
                    })
                    .collect_view()
            });
            view! {
                <select aria-label="Who may type" data-test="terminal-grant"
                    on:change=move |e| {
                        let v = event_target_value(&e);
                        if let Ok(user) = v.parse::<i64>() {
                            let user = UserId(user);
                            let on = !info.get_untracked().is_some_and(|t| t.typists.iter().any(|x| x.user == user));
                            terms.grant(id, user, on);
                        }
                        // Back to the prompt, so choosing the same person again works.
                        if let Some(sel) = e.target().and_then(|t| leptos::wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlSelectElement>(t).ok()) {
                            sel.set_value("");
                        }
                    }>
                    <option value="" selected=true>"Typing…"</option>
                    {options}
                </select>
            }
        })
    };
    view! {
        <div class="term" data-test="terminal-view">
            <div class="run-bar term-bar">
                <strong>{move || info.get().map(|t| t.title())}</strong>
                <span class="muted" data-test="terminal-meta">{move || info.get().map(|t| {
                    let size = format!("{}×{}", t.cols, t.rows);
                    match &t.ended {
                        Some(why) => format!("opened by {} · closed: {why}", t.opened_by_name),
                        None => format!("opened by {} · {size}", t.opened_by_name),
                    }
                })}</span>
                <span class="term-typists" data-test="terminal-typists">{move || format!("Typing: {}", typists())}</span>
                <span class="spacer"></span>
                <span class="muted" data-test="terminal-mode">{move || if may_type() { "You can type" } else { "Watching" }}</span>
                {grant_menu}
                {move || {
                    let t = info.get()?;
                    Some(if t.open() {
                        may_manage().then(|| view! {
                            <button type="button" data-test="terminal-close" on:click=move |_| terms.close(id)>"Close"</button>
                        }).into_any()
                    } else {
                        view! { <button type="button" class="link" on:click=move |_| terms.dismiss(id)>"Dismiss"</button> }.into_any()
                    })
                }}
                <button type="button" class="link" title="Back to the run output" on:click=move |_| terms.selected.set(None)>"×"</button>
            </div>
            <div class="term-host" node_ref=host data-test="terminal-screen"></div>
        </div>
    }
}

/// Creates the xterm.js view once the host is in the page, fed from the scrollback and then
/// live; sends keystrokes (when the user may type) and the size that fits; follows the
/// terminal's shared size and who may type; detaches and disposes when the view goes.
#[cfg(feature = "browser")]
fn mount(
    terms: TermState,
    id: TermId,
    host: NodeRef<leptos::html::Div>,
    info: Memo<Option<TermInfo>>,
    may_type: Signal<bool>,
) {
    use std::rc::Rc;

    use wasm_bindgen::{JsCast, closure::Closure};

    use super::client::{TandemTerminal, load_xterm};
    use crate::live::events::ClientEvent;

    type Callbacks = (Closure<dyn FnMut(String)>, Closure<dyn FnMut(u16, u16)>);
    // The callbacks xterm.js holds live as long as the view.
    let keep: StoredValue<Option<Callbacks>, LocalStorage> = StoredValue::new_local(None);
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) {
            return true;
        }
        let Some(el) = host.get() else {
            return false;
        };
        let el: web_sys::HtmlElement = el.unchecked_into();
        spawn_local(async move {
            if let Err(e) = wasm_bindgen_futures::JsFuture::from(load_xterm("/xterm")).await {
                terms
                    .error
                    .set(Some(format!("The terminal could not load: {e:?}")));
                return;
            }
            // The view may have gone while xterm.js loaded.
            let Some(Some(t)) = info.try_get_untracked() else {
                return;
            };
            let on_data = Closure::<dyn FnMut(String)>::new(move |data: String| {
                if may_type.try_get_untracked() != Some(true) {
                    return;
                }
                for piece in input_pieces(&data) {
                    terms.send(&ClientEvent::TermInput {
                        term: id,
                        data: piece.to_owned(),
                    });
                }
            });
            let on_fit = Closure::<dyn FnMut(u16, u16)>::new(move |cols: u16, rows: u16| {
                terms.send(&ClientEvent::TermAttach {
                    term: id,
                    cols,
                    rows,
                });
            });
            let writable = may_type.try_get_untracked().unwrap_or(false);
            let screen = Rc::new(TandemTerminal::new(
                &el,
                t.cols,
                t.rows,
                writable,
                on_data.as_ref().unchecked_ref(),
                on_fit.as_ref().unchecked_ref(),
            ));
            // The view went away while xterm.js loaded: nothing to show it in.
            if keep.try_set_value(Some((on_data, on_fit))).is_some() {
                screen.dispose();
                return;
            }
            let data = terms
                .buffers
                .with_value(|b| b.get(&id).map(|s| s.data.clone()))
                .unwrap_or_default();
            screen.write(&data);
            if writable {
                screen.focus();
            }
            terms.screen.set_value(Some((id, screen)));
        });
        true
    });
    // The shared size and who may type, as the server says.
    Effect::new(move |_| {
        let t = info.get();
        let writable = may_type.get();
        if let Some(t) = t {
            terms.on_screen(id, |s| {
                s.resize(t.cols, t.rows);
                s.set_writable(writable && t.open());
            });
        }
    });
    on_cleanup(move || {
        terms.send(&ClientEvent::TermDetach { term: id });
        let mine = terms.screen.try_update_value(|s| {
            if s.as_ref().is_some_and(|(t, _)| *t == id) {
                s.take()
            } else {
                None
            }
        });
        if let Some(Some((_, screen))) = mine {
            screen.dispose();
        }
        keep.try_set_value(None);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_paste_is_cut_at_character_boundaries() {
        let max = crate::types::terminals::MAX_INPUT;
        let text = "é".repeat(max);
        let pieces = input_pieces(&text);
        assert!(pieces.len() >= 2);
        assert!(pieces.iter().all(|p| p.len() <= max));
        assert_eq!(pieces.concat(), text);
        assert!(input_pieces("").is_empty());
    }
}
