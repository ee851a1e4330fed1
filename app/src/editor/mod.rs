//! Live collaborative editing: the editor pane (Monaco showing a file's yrs document), the
//! status-bar facts it produces (connection, saved state, who is here), the project-channel
//! events and the server functions that find a file's document and mint Yjs links.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    error::AppError,
    live::{Live, status::Link},
    types::{DocId, FileId, ProjectId, UserInfo},
};

pub mod binding;
#[cfg(feature = "browser")]
pub(crate) mod client;
pub mod ghost;
pub mod lang;
pub mod presence;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod status;

use presence::{PresenceUser, color_index};
use status::Save;

/// A file and the document holding its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDoc {
    pub file: FileId,
    pub name: String,
    pub doc: DocId,
}

/// A short-lived token that lets a Yjs client (y-websocket's `WebsocketProvider`, a script)
/// join one document as the caller, with the caller's role.
#[server(endpoint = "editor/yjs_token")]
pub async fn yjs_token(project: ProjectId, doc: DocId) -> Result<String, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::documents()?
        .mint_token(ctx.user.id, project, doc)
        .await
}

/// Reactive facts one open document's client keeps up to date for the page.
#[derive(Clone, Copy)]
pub struct LiveSignals {
    /// The tab's connection (shared by all its documents).
    pub link: RwSignal<Link>,
    pub save: RwSignal<Save>,
    pub people: RwSignal<Vec<PresenceUser>>,
    pub writable: RwSignal<bool>,
    /// The editor is created and shows the synced document.
    pub ready: RwSignal<bool>,
    pub error: RwSignal<Option<String>>,
    /// Counts changes to the text (local or remote), for views that follow it.
    pub changed: RwSignal<u64>,
    /// Counts changes that came from elsewhere (other people, other tabs), for the tab marks.
    pub remote: RwSignal<u64>,
    /// Local edits waiting for a connection (kept in this tab and on this device).
    pub waiting: RwSignal<u64>,
    /// A code action picked in the editor (`explain`, `doc`, …) with the selected lines.
    pub action: RwSignal<Option<(String, Option<crate::suggestions::Pinned>)>>,
}

impl LiveSignals {
    pub fn new(link: RwSignal<Link>) -> Self {
        Self {
            link,
            save: RwSignal::new(Save::None),
            people: RwSignal::new(Vec::new()),
            writable: RwSignal::new(false),
            ready: RwSignal::new(false),
            error: RwSignal::new(None),
            changed: RwSignal::new(0),
            remote: RwSignal::new(0),
            waiting: RwSignal::new(0),
            action: RwSignal::new(None),
        }
    }
}

/// The documents open in this tab, each a session (its yrs document, awareness, undo and
/// Monaco editor) subscribed on the tab's [`Live`] connection. Chat reads the cursor and types
/// code into a document through it.
#[derive(Clone, Copy)]
pub struct OpenDocs {
    pub live: Live,
    /// The page's inline completions, which every document's editor offers.
    pub ghosts: ghost::Ghosts,
    /// The project's AI suggestions, drawn over their lines in every editor.
    pub suggestions: crate::suggestions::Suggestions,
    /// A code action that answers in the chat (`explain`, `tests`, `review`); the chat pane
    /// takes it from here.
    pub chat_task: RwSignal<Option<String>>,
    #[cfg(feature = "browser")]
    sessions: StoredValue<
        std::collections::HashMap<DocId, std::rc::Rc<client::DocSession>>,
        LocalStorage,
    >,
}

impl OpenDocs {
    pub fn new(
        live: Live,
        ghosts: ghost::Ghosts,
        suggestions: crate::suggestions::Suggestions,
    ) -> Self {
        Self {
            live,
            ghosts,
            suggestions,
            chat_task: RwSignal::new(None),
            #[cfg(feature = "browser")]
            sessions: StoredValue::new_local(Default::default()),
        }
    }

    #[cfg(feature = "browser")]
    fn open(
        &self,
        file: &FileDoc,
        project: ProjectId,
        me: &UserInfo,
        signals: LiveSignals,
        writable_hint: bool,
        el: web_sys::HtmlElement,
    ) -> Option<std::rc::Rc<client::DocSession>> {
        let conn = self.live.connection()?;
        let place = crate::offline::local::DocPlace {
            key: crate::offline::doc_key(me.id, file.doc),
            user: me.id.0,
            project: project.0,
            doc: file.doc.0,
            name: file.name.clone(),
        };
        let user = PresenceUser {
            id: me.id,
            name: me.name.clone(),
        };
        let session = client::DocSession::new(
            file.doc,
            lang::language_for(&file.name),
            client::Tab {
                conn: std::rc::Rc::downgrade(&conn),
                me: user,
                ghosts: self.ghosts,
            },
            signals,
            place,
            writable_hint,
        );
        conn.open_doc(file.doc, client::channel(&session));
        self.sessions.update_value(|m| {
            m.insert(file.doc, session.clone());
        });
        session.attach(el);
        Some(session)
    }

    #[cfg(feature = "browser")]
    fn session(&self, doc: DocId) -> Option<std::rc::Rc<client::DocSession>> {
        self.sessions
            .try_with_value(|m| m.get(&doc).cloned())
            .flatten()
    }

    /// The cursor's line and the selection in an open document.
    #[cfg(feature = "browser")]
    pub fn cursor_context(&self, doc: DocId) -> Option<CursorContext> {
        self.session(doc)?.cursor_context()
    }

    /// Types `text` at the cursor of an open document; false if it is not open or read-only.
    #[cfg(feature = "browser")]
    pub fn insert_text(&self, doc: DocId, text: &str) -> bool {
        self.session(doc).is_some_and(|d| d.insert_text(text))
    }

    /// Closes a document's subscription and its editor.
    #[cfg(feature = "browser")]
    fn close(&self, doc: DocId) {
        self.sessions.try_update_value(|m| m.remove(&doc));
        self.live.detach(doc);
    }
}

/// Where the cursor is in an open document (context for the assistant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorContext {
    /// 1-based.
    pub line: u32,
    pub selection: String,
    /// The selection's first and last line.
    pub lines: (u32, u32),
}

/// Where to put the cursor once a document is showing (a search result was clicked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reveal {
    pub line: u32,
    pub column: u32,
    pub end_column: u32,
}

/// One open document: Monaco with the file's live text, its presence and its read-only
/// banner. Mounted while its tab is open (hidden when another tab is active), so switching
/// tabs keeps cursors, undo history and scroll position.
#[component]
pub fn DocView(
    file: FileDoc,
    project: ProjectId,
    me: UserInfo,
    docs: OpenDocs,
    signals: LiveSignals,
    /// Set by search to move the cursor; cleared once done.
    reveal: RwSignal<Option<Reveal>>,
    /// The file's current name (renames change the highlighting).
    #[prop(into)]
    name: Signal<String>,
    /// The file is in the trash (still editable, restorable).
    #[prop(into)]
    trashed: Signal<bool>,
    /// Whether this person could edit when the project was loaded: how the local copy shows
    /// before the server says.
    writable_hint: bool,
) -> impl IntoView {
    let host = NodeRef::<leptos::html::Div>::new();
    let blame = Blame::new();
    let fresh = RwSignal::new(std::collections::HashMap::new());
    let refactor = RwSignal::new(None::<crate::suggestions::Pinned>);
    let file_id = file.file;
    #[cfg(feature = "browser")]
    let apply;
    #[cfg(feature = "browser")]
    {
        let session: StoredValue<Option<std::rc::Rc<client::DocSession>>, LocalStorage> =
            StoredValue::new_local(None);
        apply = Callback::new(move |s: crate::suggestions::Suggestion| {
            session.with_value(|x| x.as_ref().is_some_and(|x| x.apply_suggestion(&s)))
        });
        let doc = file.doc;
        // The file's suggestions follow the text: drawn again as it changes, and each one's
        // "still applies" is worked out from this tab's copy.
        let drawn = StoredValue::new(false);
        Effect::new(move |_| {
            let list = docs.suggestions.for_doc(doc);
            signals.changed.track();
            if !signals.ready.get() || (list.is_empty() && !drawn.get_value()) {
                return;
            }
            drawn.set_value(!list.is_empty());
            let now = session.with_value(|x| x.as_ref().map(|x| x.show_suggestions(&list)));
            if let Some(now) = now
                && fresh.with_untracked(|f| *f != now)
            {
                fresh.set(now);
            }
        });
        Effect::new(move |_| {
            signals.action.track();
            let Some((name, pin)) = signals.action.try_update_untracked(Option::take).flatten()
            else {
                return;
            };
            // Nothing is sent to the assistant for a viewer; say so here rather than after a
            // refused request.
            if !signals.writable.get_untracked() {
                docs.suggestions.tell(
                    doc,
                    "Only editors can ask the assistant; you are a viewer of this project.".into(),
                );
                return;
            }
            if matches!(name.as_str(), "explain" | "tests" | "review") {
                docs.chat_task.set(Some(name));
                return;
            }
            let Some(action) = crate::suggestions::CodeAction::parse(&name) else {
                return;
            };
            let Some(pin) = pin else {
                docs.suggestions
                    .tell(doc, "Select the code to change first.".into());
                return;
            };
            if action == crate::suggestions::CodeAction::Refactor {
                refactor.set(Some(pin));
            } else {
                docs.suggestions.ask(doc, file_id, action, pin, None);
            }
        });
        let doc = file.doc;
        let f = file.clone();
        host.on_load(move |el| {
            session.set_value(docs.open(&f, project, &me, signals, writable_hint, el.into()));
        });
        Effect::new(move |_| {
            let lang = lang::language_for(&name.get());
            session.with_value(|s| {
                if let Some(s) = s {
                    s.set_language(lang);
                }
            });
        });
        Effect::new(move |_| {
            let ready = signals.ready.get();
            if let (true, Some(r)) = (ready, reveal.get()) {
                session.with_value(|s| {
                    if let Some(s) = s {
                        s.reveal(r.line, r.column, r.end_column);
                    }
                });
                reveal.set(None);
            }
        });
        blame.follow(project, doc, signals, move |json| {
            session.with_value(|s| {
                if let Some(s) = s {
                    s.set_blame(json);
                }
            });
        });
        on_cleanup(move || docs.close(doc));
    }
    #[cfg(not(feature = "browser"))]
    let _ = (&me, reveal, name, writable_hint);
    #[cfg(not(feature = "browser"))]
    let apply = Callback::new(|_: crate::suggestions::Suggestion| false);
    let s = signals;
    let history = RwSignal::new(false);
    let doc = file.doc;
    let tools = view! {
        <div class="doc-tools">
            <People people=s.people/>
            <CopyYjsLink project=project doc=file.doc/>
            <BlameToggle blame=blame/>
            <button type="button" class="link" data-test="history-toggle"
                title="Earlier versions of this file: compare and restore"
                on:click=move |_| history.set(true)>"History"</button>
        </div>
    }
    .into_any();
    view! {
        {tools}
        {move || history.get().then(|| view! {
            <crate::history::HistoryPanel project=project doc=doc title=name
                language=lang::language_for(&name.get_untracked())
                can_edit=s.writable on_close=Callback::new(move |_| history.set(false))/>
        }.into_any())}
        {move || trashed.get().then(|| view! {
            <div class="readonly-banner" data-test="trashed-banner">"This file is in the trash. Restore it from the trash to keep it."</div>
        })}
        // A revoked document says why on its error line instead.
        {move || (s.ready.get() && !s.writable.get() && s.error.get().is_none()).then(|| view! {
            <div class="readonly-banner" data-test="readonly-banner">{move || if crate::ops::banner::Notices::maintenance() {
                "Read-only: the server is in maintenance. Editing comes back by itself when it ends."
            } else {
                "Read-only: you are a viewer of this project."
            }}</div>
        })}
        {move || s.error.get().map(|e| view! { <div class="error editor-error" role="alert">{e}</div> })}
        <crate::suggestions::SuggestionBar suggestions=docs.suggestions doc=doc file=file_id
            writable=s.writable fresh=fresh apply=apply refactor=refactor/>
        {move || (!s.ready.get()).then(|| view! { <p class="muted loading-editor">"Loading editor…"</p> })}
        <div class="monaco-host" node_ref=host data-test="editor" data-doc=file.doc.0
            data-ready=move || s.ready.get().to_string()></div>
    }
}

/// Everyone in the document, one avatar per person, in their cursor colour.
#[component]
fn People(people: RwSignal<Vec<PresenceUser>>) -> impl IntoView {
    view! {
        <ul class="people" data-test="doc-people" aria-label="In this file">
            <For each=move || people.get() key=|u| u.id let:user>
                <li class=format!("avatar tandem-rc-{}", color_index(user.id)) title=user.name.clone()
                    data-name=user.name.clone()>
                    {user.name.chars().next().map(|c| c.to_uppercase().to_string())}
                </li>
            </For>
        </ul>
    }
}

/// Mints a token and copies a `ws(s)://…/yjs/{doc}?token=…` URL for Yjs clients; the URL is
/// also shown, in case the browser refuses clipboard access.
#[component]
fn CopyYjsLink(project: ProjectId, doc: DocId) -> impl IntoView {
    let link = RwSignal::new(None::<String>);
    let note = RwSignal::new(None::<String>);
    let on_click = move |_| {
        #[cfg(feature = "browser")]
        leptos::task::spawn_local(async move {
            match yjs_token(project, doc).await {
                Ok(token) => {
                    let url = yjs_url(doc, &token);
                    let copied = wasm_bindgen_futures::JsFuture::from(client::copy_text(&url))
                        .await
                        .ok()
                        .and_then(|v| v.as_bool())
                        .unwrap_or(false);
                    note.set(Some(
                        if copied {
                            "Copied. Valid for one hour."
                        } else {
                            "Copy it from here. Valid for one hour."
                        }
                        .into(),
                    ));
                    link.set(Some(url));
                }
                Err(e) => note.set(Some(e.to_string())),
            }
        });
        #[cfg(not(feature = "browser"))]
        let _ = (project, doc);
    };
    view! {
        <button type="button" class="link" data-test="copy-yjs-link" on:click=on_click
            title="A link for Yjs clients (y-websocket) to join this file as you">"Copy Yjs link"</button>
        {move || link.get().map(|l| view! {
            <input class="yjs-link" readonly value=l data-test="yjs-link" aria-label="Yjs link"/>
        })}
        {move || note.get().map(|n| view! { <span class="muted small" data-test="yjs-link-note">{n}</span> })}
    }
}

#[cfg(feature = "browser")]
fn yjs_url(doc: DocId, token: &str) -> String {
    crate::remote::socket_url(&format!("/yjs/{doc}?token={token}")).unwrap_or_default()
}

/// The status bar's connection and save facts (of the active document, if any).
#[component]
pub fn LiveStatus(
    live: Live,
    #[prop(into)] active: Signal<Option<LiveSignals>>,
    /// Local edits in all open documents waiting for the connection.
    #[prop(into)]
    waiting: Signal<u64>,
) -> impl IntoView {
    let link = live.link;
    let save = move || active.get().map(|s| s.save.get()).unwrap_or(Save::None);
    view! {
        <span class=move || format!("link-status {}", link.get().class()) data-test="link-status"
            data-waiting=move || waiting.get().to_string()
            role="status">{move || status::link_text(link.get(), waiting.get())}</span>
        <span class="save-status" data-test="save-status" role="status"
            data-state=move || format!("{:?}", save())>{move || save().label()}</span>
    }
}

/// The "who wrote this" view of one editor: on or off, the people in its legend (name and
/// colour), and why it could not be shown.
#[derive(Clone, Copy)]
struct Blame {
    on: RwSignal<bool>,
    legend: RwSignal<Vec<(String, Option<usize>)>>,
    error: RwSignal<Option<String>>,
}

impl Blame {
    fn new() -> Self {
        Self {
            on: RwSignal::new(false),
            legend: RwSignal::new(Vec::new()),
            error: RwSignal::new(None),
        }
    }

    /// While on, fetches the blame when turned on and again shortly after the text stops
    /// changing (the server needs the last edits committed), and hands it to `draw` as the
    /// editor's JSON; off, clears it.
    #[cfg(feature = "browser")]
    fn follow(
        self,
        project: ProjectId,
        doc: DocId,
        signals: LiveSignals,
        draw: impl Fn(&str) + Copy + 'static,
    ) {
        /// Quiet time after a change before the blame is fetched again.
        const SETTLE: std::time::Duration = std::time::Duration::from_millis(800);
        let asked = StoredValue::new(0u64);
        Effect::new(move |_| {
            let on = self.on.get();
            let ready = signals.ready.get();
            signals.changed.track();
            let ask = asked.get_value().wrapping_add(1);
            asked.set_value(ask);
            if !(on && ready) {
                draw("[]");
                self.legend.set(Vec::new());
                self.error.set(None);
                return;
            }
            let current = move || asked.get_value() == ask && self.on.get_untracked();
            let wait = if self.legend.with_untracked(Vec::is_empty) {
                std::time::Duration::ZERO
            } else {
                SETTLE
            };
            set_timeout(
                move || {
                    if !current() {
                        return;
                    }
                    leptos::task::spawn_local(async move {
                        let result = crate::history::file_blame(project, doc).await;
                        if !current() {
                            return;
                        }
                        match result {
                            Ok(b) => {
                                let now = crate::browser::now_ms() as i64;
                                let shades = crate::history::shades(&b, now, presence::color_index);
                                draw(
                                    &serde_json::to_string(&shades).unwrap_or_else(|_| "[]".into()),
                                );
                                self.legend.set(legend_of(&b));
                                self.error.set(None);
                            }
                            Err(e) => self.error.set(Some(e.to_string())),
                        }
                    });
                },
                wait,
            );
        });
    }
}

/// Each author once, as the legend names them.
#[cfg(feature = "browser")]
fn legend_of(blame: &crate::types::history::Blame) -> Vec<(String, Option<usize>)> {
    blame
        .authors
        .iter()
        .map(|a| {
            let name = match a.via.label() {
                Some(how) => format!("{} ({how})", a.name),
                None => a.name.clone(),
            };
            (name, a.user.map(presence::color_index))
        })
        .collect()
}

/// The toggle that colours the text by author, with its legend.
#[component]
fn BlameToggle(blame: Blame) -> impl IntoView {
    let on = blame.on;
    view! {
        <button type="button" class="link" data-test="blame-toggle"
            aria-pressed=move || on.get().to_string()
            title="Colour the text by who wrote it; hover over text for who and when"
            on:click=move |_| on.update(|b| *b = !*b)>
            {move || if on.get() { "Hide authors" } else { "Who wrote this" }}
        </button>
        {move || on.get().then(|| view! {
            <span class="blame-legend" data-test="blame-legend">
                {move || blame.legend.get().into_iter().map(|(name, color)| {
                    let class = format!("blame-dot tandem-rc-{}", color.map_or_else(|| "none".to_owned(), |c| c.to_string()));
                    view! { <span class="blame-who"><span class=class></span>{name}</span> }
                }).collect_view()}
            </span>
        })}
        {move || blame.error.get().map(|e| view! { <span class="error small" role="alert" data-test="blame-error">{e}</span> })}
    }
}
