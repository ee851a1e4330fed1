//! The chat pane: the message log (a sliding window over the history, older pages loaded on
//! scrolling up), the composer with slash commands, typing indicators, and the assistant's
//! streaming answers. Message HTML comes sanitised from the server; everything else a user
//! wrote (names, streaming text, pending sends) is set as text.

use leptos::{ev, html, prelude::*, task::spawn_local};

use super::{
    AiContext, AiRequest, AiState, AiTask, ChatMessage, MessageKind, ask_ai, chat_history,
    commands::{self, Command},
    delete_message, edit_message,
    model::{ChatModel, Pending, Streams, Typing, client_id},
    regenerate_ai, send_message, stop_ai,
};
use crate::{
    browser::{now_ms, storage},
    editor::OpenDocs,
    error::AppError,
    files::Files,
    live::events::ServerEvent,
    types::{ProjectId, Role, UserInfo},
};

/// The browser says "still typing" at most this often.
const TYPING_EVERY_MS: f64 = 2_000.0;
/// Within this many pixels of an edge counts as being at it.
const EDGE_PX: i32 = 48;

/// Something only this tab sees: `/help`, "no AI provider", "chat cleared".
#[derive(Debug, Clone, PartialEq, Eq)]
struct Notice {
    key: u32,
    text: String,
    /// Offer to show the cleared history again.
    undo_clear: bool,
}

/// The chat's state for one tab; the shell creates it and feeds it project events.
#[derive(Clone, Copy)]
pub struct ChatState {
    project: ProjectId,
    me: StoredValue<UserInfo>,
    role: Role,
    model: RwSignal<ChatModel>,
    streams: RwSignal<Streams>,
    typing: RwSignal<Typing>,
    notices: RwSignal<Vec<Notice>>,
    next_notice: StoredValue<u32>,
    /// Messages from others that arrived while the pane was out of sight.
    pub unread: RwSignal<u32>,
    /// The pane is on screen (set by the shell).
    pub visible: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    loading: RwSignal<bool>,
    /// Bumped when the log should scroll to the newest message.
    to_bottom: RwSignal<u64>,
    /// The reader is at the bottom of the log; new messages then scroll into view (someone
    /// who scrolled up to read is left alone).
    pinned: StoredValue<bool>,
}

fn random() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Math::random()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.5
    }
}

fn cleared_key(project: ProjectId) -> String {
    format!("tandem.chat-cleared.{project}")
}

impl ChatState {
    pub fn new(project: ProjectId, me: &UserInfo, role: Role) -> Self {
        let chat = Self {
            project,
            me: StoredValue::new(me.clone()),
            role,
            model: RwSignal::new(ChatModel::default()),
            streams: RwSignal::new(Streams::default()),
            typing: RwSignal::new(Typing::default()),
            notices: RwSignal::new(Vec::new()),
            next_notice: StoredValue::new(0),
            unread: RwSignal::new(0),
            visible: RwSignal::new(true),
            error: RwSignal::new(None),
            loading: RwSignal::new(false),
            to_bottom: RwSignal::new(0),
            pinned: StoredValue::new(true),
        };
        // Effects run in the browser only: the history loads after hydration.
        Effect::new(move |prev: Option<()>| {
            if prev.is_none() {
                let cleared = storage()
                    .and_then(|s| s.get_item(&cleared_key(project)).ok().flatten())
                    .and_then(|v| v.parse().ok());
                chat.model.update(|m| m.cleared_through = cleared);
                chat.load_latest();
            }
        });
        Effect::new(move |_| {
            if chat.visible.get() {
                chat.unread.set(0);
            }
        });
        chat
    }

    fn me(&self) -> UserInfo {
        self.me.get_value()
    }

    /// Applies a project event; the shell sends every event here.
    pub fn on_event(&self, event: ServerEvent) {
        match event {
            ServerEvent::Chat { message } => self.arrived(message),
            ServerEvent::ChatDelta { id, text } => self.streams.update(|s| s.delta(id, &text)),
            ServerEvent::Typing { user, name, active }
                if user != self.me.with_value(|m| m.id.0) =>
            {
                self.typing.update(|t| t.set(user, name, active, now_ms()));
            }
            ServerEvent::Resync => self.catch_up(),
            _ => {}
        }
    }

    fn arrived(&self, message: ChatMessage) {
        let mine = message.author.id == self.me.with_value(|m| m.id);
        let from_someone_else = !mine || message.kind == MessageKind::Ai;
        self.streams.update(|s| s.seen(&message));
        self.typing.update(|t| t.sent(message.author.id.0));
        let following = self.model.with_untracked(ChatModel::following);
        let is_new = self
            .model
            .try_update(|m| m.upsert(message))
            .unwrap_or(false);
        if is_new && from_someone_else && !self.visible.get_untracked() {
            self.unread.update(|n| *n += 1);
        }
        if is_new && (mine || (following && self.pinned.get_value())) {
            self.model.update(ChatModel::follow);
            self.to_bottom.update(|n| *n += 1);
        }
    }

    fn notice(&self, text: String, undo_clear: bool) {
        let key = self.next_notice.get_value();
        self.next_notice.set_value(key + 1);
        self.notices.update(|n| {
            n.push(Notice {
                key,
                text,
                undo_clear,
            })
        });
        self.to_bottom.update(|n| *n += 1);
    }

    fn load_latest(&self) {
        if self.loading.get_untracked() {
            return;
        }
        self.loading.set(true);
        let chat = *self;
        spawn_local(async move {
            match chat_history(chat.project, None, None).await {
                Ok(page) => {
                    chat.streams
                        .update(|s| page.messages.iter().for_each(|m| s.seen(m)));
                    chat.model.update(|m| m.load_newest(page));
                    chat.to_bottom.update(|n| *n += 1);
                }
                Err(e) => chat.error.set(Some(format!("The chat did not load: {e}"))),
            }
            chat.loading.set(false);
        });
    }

    /// After a (re)connect: fetch what was missed, then resend what did not get through.
    fn catch_up(&self) {
        let (loaded, last, streaming) = self
            .model
            .with_untracked(|m| (m.loaded, m.last_id(), !m.streaming().is_empty()));
        if !loaded || streaming {
            // Answers that streamed while away are only complete in a fresh page.
            self.load_latest();
        } else if let Some(after) = last {
            let chat = *self;
            spawn_local(async move {
                match chat_history(chat.project, None, Some(after)).await {
                    Ok(page) if page.more => chat.load_latest(),
                    Ok(page) => page.messages.into_iter().for_each(|m| chat.arrived(m)),
                    Err(_) => {}
                }
            });
        }
        let failed: Vec<Pending> = self.model.with_untracked(|m| {
            m.pending
                .iter()
                .filter(|p| p.error.is_some())
                .cloned()
                .collect()
        });
        for p in failed {
            self.deliver(p);
        }
    }

    /// Scrolled to the top: older loaded messages first, else the previous page.
    fn older(&self) {
        if self.model.try_update(ChatModel::slide_up).unwrap_or(false) {
            return;
        }
        let (more, first) = self.model.with_untracked(|m| (m.more_before, m.first_id()));
        let Some(first) = first.filter(|_| more && !self.loading.get_untracked()) else {
            return;
        };
        self.loading.set(true);
        let chat = *self;
        spawn_local(async move {
            if let Ok(page) = chat_history(chat.project, Some(first), None).await {
                let n = page.messages.len();
                chat.streams
                    .update(|s| page.messages.iter().for_each(|m| s.seen(m)));
                chat.model.update(|m| {
                    m.add_older(page);
                    m.prepended(n);
                });
            }
            chat.loading.set(false);
        });
    }

    /// Sends (or resends, with the same id) a message.
    fn deliver(&self, p: Pending) {
        let chat = *self;
        self.model.update(|m| {
            if let Some(q) = m.pending.iter_mut().find(|q| q.client_id == p.client_id) {
                q.error = None;
            } else {
                m.pending.push(p.clone());
            }
        });
        self.to_bottom.update(|n| *n += 1);
        spawn_local(async move {
            match send_message(chat.project, p.client_id.clone(), p.body, p.reply_to).await {
                Ok(m) => chat.arrived(m),
                Err(e) => {
                    let why = match e {
                        AppError::Transport(_) => {
                            "Not sent yet: it goes out when the connection is back.".to_owned()
                        }
                        other => other.to_string(),
                    };
                    chat.model.update(|m| {
                        if let Some(q) = m.pending.iter_mut().find(|q| q.client_id == p.client_id) {
                            q.error = Some(why);
                        }
                    });
                }
            }
        });
    }

    fn ask(&self, text: String, task: AiTask, files: Files, docs: OpenDocs) {
        let mut context = AiContext::default();
        if let Some((file, doc)) = files.active_doc() {
            context.file = Some(file);
            #[cfg(feature = "hydrate")]
            if let Some((line, selection)) = docs.cursor_context(doc) {
                context.line = Some(line);
                context.selection = (!selection.is_empty())
                    .then(|| selection.chars().take(super::MAX_SELECTION_CHARS).collect());
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = (doc, docs);
        }
        let request = AiRequest {
            client_id: client_id(random),
            text,
            task,
            context,
        };
        let chat = *self;
        spawn_local(async move {
            match ask_ai(chat.project, request).await {
                Ok(reply) => {
                    chat.arrived(reply.question);
                    chat.arrived(reply.answer);
                }
                Err(AppError::Unavailable(how)) => chat.notice(how, false),
                Err(e) => chat.error.set(Some(e.to_string())),
            }
        });
    }

    /// What the composer's Send does with its text; false keeps the text in the composer.
    fn submit(&self, text: &str, reply_to: Option<i64>, files: Files, docs: OpenDocs) -> bool {
        self.error.set(None);
        match commands::parse(text) {
            Command::Say(body) if body.is_empty() => false,
            Command::Say(body) => {
                self.deliver(Pending {
                    client_id: client_id(random),
                    body,
                    reply_to,
                    error: None,
                });
                true
            }
            Command::Ai(task) => {
                self.ask(text.trim().to_owned(), task, files, docs);
                true
            }
            Command::Help => {
                let lines: Vec<String> = commands::HELP
                    .iter()
                    .map(|(c, what)| format!("{c}: {what}"))
                    .collect();
                self.notice(
                    format!(
                        "Commands (only you see this):\n{}\nMarkdown works; `@name` mentions a member.",
                        lines.join("\n")
                    ),
                    false,
                );
                true
            }
            Command::Clear => {
                self.model.update(ChatModel::clear_view);
                if let (Some(s), Some(id)) =
                    (storage(), self.model.with_untracked(|m| m.cleared_through))
                {
                    let _ = s.set_item(&cleared_key(self.project), &id.to_string());
                }
                self.notices.set(Vec::new());
                self.notice(
                    "Chat cleared in this browser. Nothing was deleted.".into(),
                    true,
                );
                true
            }
            Command::Unknown(why) => {
                self.error.set(Some(why));
                false
            }
        }
    }

    fn unclear(&self) {
        self.model.update(|m| m.cleared_through = None);
        if let Some(s) = storage() {
            let _ = s.remove_item(&cleared_key(self.project));
        }
        self.notices.set(Vec::new());
    }

    fn may_delete(&self, m: &ChatMessage) -> bool {
        m.author.id == self.me.with_value(|u| u.id) || self.role == Role::Owner
    }

    fn may_control(&self, m: &ChatMessage) -> bool {
        m.kind == MessageKind::Ai
            && (m.author.id == self.me.with_value(|u| u.id) || self.role >= Role::Editor)
    }

    fn run(&self, action: impl std::future::Future<Output = Result<(), AppError>> + 'static) {
        let error = self.error;
        spawn_local(async move {
            if let Err(e) = action.await {
                error.set(Some(e.to_string()));
            }
        });
    }
}

fn time_label(unix: i64) -> String {
    #[cfg(feature = "hydrate")]
    {
        let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix as f64 * 1000.0));
        format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = unix;
        String::new()
    }
}

fn initial(name: &str) -> String {
    name.chars()
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default()
}

/// The chat pane.
#[component]
pub fn ChatPanel(chat: ChatState, files: Files, docs: OpenDocs) -> AnyView {
    let log = NodeRef::<html::Div>::new();
    let draft = RwSignal::new(String::new());
    let reply_to = RwSignal::new(None::<i64>);
    let editing = RwSignal::new(None::<i64>);
    let typing_sent = StoredValue::new(0.0_f64);
    let model = chat.model;

    // Keep the newest message in view when asked to (new message while following).
    Effect::new(move |_| {
        chat.to_bottom.track();
        if let Some(el) = log.get() {
            request_animation_frame(move || el.set_scroll_top(el.scroll_height()));
        }
    });
    // Typing indicators expire even when nobody says they stopped.
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                if !chat.typing.with_untracked(Typing::is_empty) {
                    chat.typing.update(|t| {
                        t.expire(now_ms());
                    });
                }
            },
            std::time::Duration::from_millis(1_000),
        );
        if let Ok(h) = handle {
            on_cleanup(move || h.clear());
        }
    }

    // Sliding the window adds or removes messages above what is on screen: keep what the
    // user is looking at in place (by hand: CSS scroll anchoring does nothing at offset 0,
    // which is exactly where older pages load).
    let anchor = StoredValue::new(None::<(i32, i32)>);
    let remember = move || {
        if let Some(el) = log.get_untracked() {
            anchor.set_value(Some((el.scroll_height(), el.scroll_top())));
        }
    };
    let on_scroll = move |_| {
        let Some(el) = log.get() else { return };
        let top = el.scroll_top();
        let bottom = el.scroll_height() - el.client_height() - top;
        chat.pinned.set_value(bottom <= EDGE_PX);
        if top <= EDGE_PX {
            remember();
            chat.older();
        } else if bottom <= EDGE_PX && !model.with_untracked(ChatModel::following) {
            remember();
            model.update(ChatModel::slide_down);
        }
    };

    let stop_typing = move || {
        if typing_sent.get_value() > 0.0 {
            typing_sent.set_value(0.0);
            #[cfg(feature = "hydrate")]
            docs.live
                .send(&crate::live::events::ClientEvent::Typing { active: false });
        }
    };
    let on_input = move |ev: ev::Event| {
        let value = event_target_value(&ev);
        let empty = value.trim().is_empty();
        draft.set(value);
        if empty {
            stop_typing();
        } else if now_ms() - typing_sent.get_value() >= TYPING_EVERY_MS {
            typing_sent.set_value(now_ms());
            #[cfg(feature = "hydrate")]
            docs.live
                .send(&crate::live::events::ClientEvent::Typing { active: true });
        }
    };
    let send = move || {
        let text = draft.get_untracked();
        if let Some(id) = editing.get_untracked() {
            let project = chat.project;
            chat.run(async move {
                edit_message(project, id, text)
                    .await
                    .map(|m| chat.arrived(m))
            });
            editing.set(None);
            draft.set(String::new());
            return;
        }
        if chat.submit(&text, reply_to.get_untracked(), files, docs) {
            draft.set(String::new());
            reply_to.set(None);
            stop_typing();
        }
    };
    let on_key = move |ev: ev::KeyboardEvent| match ev.key().as_str() {
        "Enter" if !ev.shift_key() && !ev.is_composing() => {
            ev.prevent_default();
            send();
        }
        "Escape" => {
            if editing.get_untracked().is_some() {
                draft.set(String::new());
            }
            editing.set(None);
            reply_to.set(None);
        }
        // Up in an empty composer edits your last message, as in most chat apps.
        "ArrowUp" if draft.with_untracked(String::is_empty) => {
            let me = chat.me().id;
            let last = model.with_untracked(|m| {
                m.window()
                    .into_iter()
                    .rev()
                    .find(|x| x.author.id == me && x.kind == MessageKind::User && !x.deleted)
            });
            if let Some(m) = last {
                ev.prevent_default();
                editing.set(Some(m.id));
                draft.set(m.body);
            }
        }
        _ => {}
    };
    let ask_button = move |_| {
        let text = draft.get_untracked();
        let question = text.trim();
        if question.is_empty() {
            chat.error.set(Some(
                "Type a question first, or use /explain, /tests, /doc or /review on a selection."
                    .into(),
            ));
            return;
        }
        let shown = if question.starts_with('/') {
            question.to_owned()
        } else {
            format!("/ai {question}")
        };
        if chat.submit(&shown, None, files, docs) {
            draft.set(String::new());
            stop_typing();
        }
    };

    // Copy / Insert buttons on code blocks, added by the Monaco shim.
    let on_log_click = move |ev: ev::MouseEvent| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(button) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|el| el.closest("[data-code-action]").ok().flatten())
            else {
                return;
            };
            let Some(code) = crate::editor::client::code_of_button(&button) else {
                return;
            };
            match button.get_attribute("data-code-action").as_deref() {
                Some("copy") => {
                    let _ = crate::editor::client::copy_text(&code);
                    button.set_text_content(Some("Copied"));
                }
                Some("insert") => {
                    let inserted = files
                        .active_doc()
                        .is_some_and(|(_, doc)| docs.insert_text(doc, &code));
                    if !inserted {
                        chat.error
                            .set(Some("Open a file you can edit, then insert again.".into()));
                    }
                }
                _ => {}
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };

    let window = Memo::new(move |_| model.with(ChatModel::window));
    Effect::new(move |_| {
        window.track();
        if let (Some((height, top)), Some(el)) = (anchor.get_value(), log.get_untracked()) {
            anchor.set_value(None);
            request_animation_frame(move || el.set_scroll_top(top + el.scroll_height() - height));
        }
    });
    let pending = move || model.with(|m| m.pending.clone());
    view! {
        <div class="chat-panel" data-test="chat-panel">
            <div class="chat-log" node_ref=log on:scroll=on_scroll on:click=on_log_click
                data-test="chat-log" aria-live="polite" aria-label="Chat messages">
                {move || {
                    let (more, hidden, loaded) = model.with(|m| (m.more_before, m.hidden_above(), m.loaded));
                    if !loaded {
                        view! { <p class="muted chat-empty">"Loading chat…"</p> }.into_any()
                    } else if more || hidden > 0 {
                        view! { <button type="button" class="link chat-older" on:click=move |_| { remember(); chat.older(); }>
                            "Show older messages"</button> }.into_any()
                    } else if model.with(ChatModel::is_empty) {
                        view! { <p class="muted chat-empty" data-test="chat-empty">"No messages yet. Say hello, or type /help."</p> }.into_any()
                    } else {
                        view! { <p class="muted chat-start">"The beginning of this project's chat."</p> }.into_any()
                    }
                }}
                <For each=move || window.get()
                    key=|m| (m.id, m.edited_at, m.deleted, m.ai.as_ref().map(|a| a.state))
                    children=move |m| view! {
                        <MessageView chat=chat message=m reply_to=reply_to editing=editing draft=draft
                            can_insert=files.writable/>
                    }/>
                <For each=pending key=|p| (p.client_id.clone(), p.error.clone()) let:p>
                    <PendingView chat=chat pending=p/>
                </For>
                <For each=move || chat.notices.get() key=|n| n.key let:n>
                    <div class="chat-notice" data-test="chat-notice" role="status">
                        <p>{n.text.clone()}</p>
                        {n.undo_clear.then(|| view! {
                            <button type="button" class="link" on:click=move |_| chat.unclear()>"Show the cleared messages"</button>
                        })}
                    </div>
                </For>
            </div>
            {move || (!model.with(ChatModel::following)).then(|| view! {
                <button type="button" class="chat-jump" on:click=move |_| {
                    model.update(ChatModel::follow);
                    chat.to_bottom.update(|n| *n += 1);
                }>"Jump to the newest messages ↓"</button>
            })}
            <p class="chat-typing muted small" data-test="chat-typing" aria-live="polite">
                {move || chat.typing.with(Typing::line)}
            </p>
            <form class="chat-compose" on:submit=move |ev: ev::SubmitEvent| { ev.prevent_default(); send(); }>
                {move || reply_to.get().map(|id| {
                    let who = model.with(|m| m.get(id).map(|x| x.author.name.clone())).unwrap_or_default();
                    view! { <p class="chat-replying small">{format!("Replying to {who}")}
                        <button type="button" class="link" on:click=move |_| reply_to.set(None)>"Cancel"</button></p> }
                })}
                {move || editing.get().map(|_| view! {
                    <p class="chat-replying small">"Editing your message"
                        <button type="button" class="link" on:click=move |_| { editing.set(None); draft.set(String::new()); }>"Cancel"</button></p>
                })}
                <textarea class="chat-input" data-test="chat-input" rows="2" aria-label="Message"
                    placeholder="Message (Markdown, @name) or /help"
                    prop:value=move || draft.get() on:input=on_input on:keydown=on_key
                    on:blur=move |_| stop_typing()></textarea>
                <div class="chat-compose-bar">
                    <button type="submit" data-test="chat-send">{move || if editing.get().is_some() { "Save" } else { "Send" }}</button>
                    <button type="button" class="secondary" data-test="chat-ask-ai" on:click=ask_button
                        title="Ask the assistant; the open file and your selection go along">"Ask AI"</button>
                </div>
                {move || chat.error.get().map(|e| view! { <p class="error small" role="alert" data-test="chat-error">{e}</p> })}
            </form>
        </div>
    }
    .into_any()
}

#[component]
fn MessageView(
    chat: ChatState,
    message: ChatMessage,
    reply_to: RwSignal<Option<i64>>,
    editing: RwSignal<Option<i64>>,
    draft: RwSignal<String>,
    can_insert: bool,
) -> AnyView {
    let id = message.id;
    let me = chat.me();
    let mine = message.author.id == me.id;
    let ai = message.kind == MessageKind::Ai;
    let streaming = message.is_streaming();
    let mentions_me = message.mentions.contains(&me.id.0);
    let body_ref = NodeRef::<html::Div>::new();
    #[cfg(feature = "hydrate")]
    body_ref.on_load(move |el| crate::editor::client::decorate_code(&el, can_insert));
    #[cfg(not(feature = "hydrate"))]
    let _ = can_insert;
    let quoted = message.reply_to.and_then(|r| {
        chat.model.with_untracked(|m| {
            m.get(r).map(|q| {
                let snippet: String = q.body.chars().take(80).collect();
                format!(
                    "↪ {}: {}",
                    q.author.name,
                    if q.deleted {
                        "(deleted)".into()
                    } else {
                        snippet
                    }
                )
            })
        })
    });
    let (who, byline) = if ai {
        (
            "Assistant".to_owned(),
            Some(format!("asked by {}", message.author.name)),
        )
    } else {
        (message.author.name.clone(), None)
    };
    let error = message.ai.as_ref().and_then(|a| a.error.clone());
    let stopped = message
        .ai
        .as_ref()
        .is_some_and(|a| a.state == AiState::Stopped);
    let body = if message.deleted {
        view! { <p class="muted chat-deleted">"Message deleted"</p> }.into_any()
    } else if streaming {
        let streams = chat.streams;
        view! {
            <div class="chat-stream" data-test="chat-stream">
                {move || streams.with(|s| s.get(id).unwrap_or("").to_owned())}
                <span class="chat-caret" aria-hidden="true">"▍"</span>
            </div>
        }
        .into_any()
    } else {
        view! { <div class="chat-body" node_ref=body_ref inner_html=message.html.clone()></div> }
            .into_any()
    };
    let may_delete = !message.deleted && chat.may_delete(&message);
    let may_control = !message.deleted && chat.may_control(&message);
    let editable = mine && !ai && !message.deleted;
    let body_text = message.body.clone();
    let project = chat.project;
    view! {
        <article class="chat-msg" class:mine=mine class:ai=ai class:mentions-me=mentions_me
            data-test="chat-message" data-id=id>
            <header class="chat-meta">
                <span class="avatar" aria-hidden="true">{if ai { "✦".to_owned() } else { initial(&message.author.name) }}</span>
                <span class="chat-author" data-test="chat-author">{who}</span>
                {byline.map(|b| view! { <span class="muted small">{b}</span> })}
                <time class="muted small">{time_label(message.created_at)}</time>
                {message.edited_at.map(|_| view! { <span class="muted small">"(edited)"</span> })}
            </header>
            {quoted.map(|q| view! { <p class="chat-quote small muted">{q}</p> })}
            {body}
            {stopped.then(|| view! { <p class="muted small">"Stopped."</p> })}
            {error.map(|e| view! { <p class="chat-ai-error" role="alert" data-test="chat-ai-error">{e}</p> })}
            <footer class="chat-actions">
                {(!message.deleted).then(|| view! {
                    <button type="button" class="link small" on:click=move |_| reply_to.set(Some(id))>"Reply"</button>
                })}
                {editable.then(|| view! {
                    <button type="button" class="link small" data-test="chat-edit" on:click=move |_| {
                        editing.set(Some(id));
                        draft.set(body_text.clone());
                    }>"Edit"</button>
                })}
                {may_delete.then(|| view! {
                    <button type="button" class="link small" data-test="chat-delete" on:click=move |_| {
                        chat.run(async move { delete_message(project, id).await.map(|m| chat.arrived(m)) });
                    }>"Delete"</button>
                })}
                {(may_control && streaming).then(|| view! {
                    <button type="button" class="link small" data-test="chat-stop" on:click=move |_| {
                        chat.run(stop_ai(project, id));
                    }>"Stop"</button>
                })}
                {(may_control && !streaming).then(|| view! {
                    <button type="button" class="link small" data-test="chat-regenerate" on:click=move |_| {
                        chat.run(async move { regenerate_ai(project, id).await.map(|m| chat.arrived(m)) });
                    }>"Regenerate"</button>
                })}
            </footer>
        </article>
    }
    .into_any()
}

#[component]
fn PendingView(chat: ChatState, pending: Pending) -> AnyView {
    let retry = pending.clone();
    let client_id = pending.client_id.clone();
    let failed = pending.error.is_some();
    view! {
        <article class="chat-msg mine pending" data-test="chat-pending">
            <header class="chat-meta">
                <span class="chat-author">{chat.me().name}</span>
                <span class="muted small">{if failed { "" } else { "Sending…" }}</span>
            </header>
            <p class="chat-stream">{pending.body.clone()}</p>
            {pending.error.clone().map(|e| view! {
                <p class="error small" role="alert">{e}
                    <button type="button" class="link small" on:click=move |_| chat.deliver(retry.clone())>"Retry"</button>
                    <button type="button" class="link small" on:click=move |_| {
                        let id = client_id.clone();
                        chat.model.update(|m| m.pending.retain(|p| p.client_id != id));
                    }>"Discard"</button>
                </p>
            })}
        </article>
    }
    .into_any()
}
