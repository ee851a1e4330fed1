//! The chat pane: the message log (a sliding window over the history, older pages loaded on
//! scrolling up), the composer with slash commands, typing indicators, and the assistant's
//! streaming answers. Message HTML comes sanitised from the server; everything else a user
//! wrote (names, streaming text, pending sends) is set as text.

use leptos::{prelude::*, task::spawn_local};

mod composer;
mod log;

use composer::Composer;
use log::ChatLog;

use super::{
    AiContext, AiRequest, AiTask, ChatMessage, MessageKind, ask_ai, chat_history,
    commands::{self, Command},
    model::{ChatModel, Pending, Streams, Typing, client_id},
    send_message,
};
use crate::{
    browser::{now_ms, storage},
    editor::OpenDocs,
    error::AppError,
    files::Files,
    live::events::ServerEvent,
    types::{MessageId, ProjectId, Role, UserInfo},
};

/// The browser says "still typing" at most this often.
pub(super) const TYPING_EVERY_MS: f64 = 2_000.0;
/// Within this many pixels of an edge counts as being at it.
pub(super) const EDGE_PX: i32 = 48;

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
    #[cfg(feature = "browser")]
    {
        js_sys::Math::random()
    }
    #[cfg(not(feature = "browser"))]
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
                chat.send_queued();
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
            ServerEvent::Typing { user, name, active } if user != self.me.with_value(|m| m.id) => {
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
        self.typing.update(|t| t.sent(message.author.id));
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

    /// A message in a server function's reply. The project channel may have brought a newer
    /// state of it already (an answer that finished before the reply to its question came
    /// back), so a reply only adds a message not held yet; the channel's events, which come
    /// in order, bring every later state.
    fn replied(&self, message: ChatMessage) {
        if !self.model.with_untracked(|m| m.has(message.id)) {
            self.arrived(message);
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

    /// Messages written offline in an earlier visit (kept on this device): sent again with
    /// their ids, so each arrives once however often this runs.
    fn send_queued(&self) {
        #[cfg(feature = "browser")]
        {
            let chat = *self;
            let user = self.me.with_value(|m| m.id.0);
            spawn_local(async move {
                for q in crate::offline::local::queued_chat(user, chat.project.0).await {
                    let Ok((body, reply_to)) = serde_json::from_str(&q.text) else {
                        continue;
                    };
                    chat.deliver(Pending {
                        client_id: q.client,
                        body,
                        reply_to,
                        error: None,
                    });
                }
            });
        }
    }

    /// Keeps (or, once sent, forgets) a message on this device, so one written offline is
    /// still sent after a reload or a relaunch.
    fn keep_queued(&self, p: &Pending, sent: bool) {
        #[cfg(feature = "browser")]
        {
            use crate::offline::local;
            let user = self.me.with_value(|m| m.id.0);
            let project = self.project.0;
            let client = p.client_id.clone();
            let text = serde_json::to_string(&(&p.body, p.reply_to)).unwrap_or_default();
            spawn_local(async move {
                if sent {
                    local::unqueue_chat(&client).await;
                } else {
                    local::queue_chat(user, project, &client, &text).await;
                }
            });
        }
        #[cfg(not(feature = "browser"))]
        let _ = (p, sent);
    }

    /// Sends (or resends, with the same id) a message.
    fn deliver(&self, p: Pending) {
        let chat = *self;
        let first_try = self
            .model
            .with_untracked(|m| !m.pending.iter().any(|q| q.client_id == p.client_id));
        // Kept on this device before it goes out, so a tab closed while offline (or while the
        // request is in flight) still sends it next time; forgotten once the server has it.
        if first_try {
            self.keep_queued(&p, false);
        }
        self.model.update(|m| {
            if let Some(q) = m.pending.iter_mut().find(|q| q.client_id == p.client_id) {
                q.error = None;
            } else {
                m.pending.push(p.clone());
            }
        });
        self.to_bottom.update(|n| *n += 1);
        spawn_local(async move {
            match send_message(
                chat.project,
                p.client_id.clone(),
                p.body.clone(),
                p.reply_to,
            )
            .await
            {
                Ok(m) => {
                    chat.keep_queued(&p, true);
                    chat.replied(m);
                }
                Err(e) => {
                    let why = match e {
                        AppError::Transport(_) => {
                            "Not sent yet: it goes out when the connection is back.".to_owned()
                        }
                        // Refused, not lost: retrying on the next visit would be refused again.
                        other => {
                            chat.keep_queued(&p, true);
                            other.to_string()
                        }
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
            #[cfg(feature = "browser")]
            if let Some(at) = docs.cursor_context(doc) {
                context.line = Some(at.line);
                if !at.selection.is_empty() {
                    context.selection = Some(
                        at.selection
                            .chars()
                            .take(super::MAX_SELECTION_CHARS)
                            .collect(),
                    );
                    context.lines = Some(at.lines);
                }
            }
            #[cfg(not(feature = "browser"))]
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
                    chat.replied(reply.question);
                    chat.replied(reply.answer);
                }
                Err(AppError::Unavailable(how)) => chat.notice(how, false),
                Err(e) => chat.error.set(Some(e.to_string())),
            }
        });
    }

    /// What the composer's Send does with its text; false keeps the text in the composer.
    fn submit(
        &self,
        text: &str,
        reply_to: Option<MessageId>,
        files: Files,
        docs: OpenDocs,
    ) -> bool {
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

pub(super) fn time_label(unix: i64) -> String {
    #[cfg(feature = "browser")]
    {
        let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix as f64 * 1000.0));
        format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
    }
    #[cfg(not(feature = "browser"))]
    {
        let _ = unix;
        String::new()
    }
}

/// What the log and the composer share: the text being written, the message it replies to and
/// the message being edited (the log's Reply and Edit buttons set them).
#[derive(Clone, Copy)]
pub(super) struct Draft {
    pub text: RwSignal<String>,
    pub reply_to: RwSignal<Option<MessageId>>,
    pub editing: RwSignal<Option<MessageId>>,
}

impl Draft {
    fn new() -> Self {
        Self {
            text: RwSignal::new(String::new()),
            reply_to: RwSignal::new(None),
            editing: RwSignal::new(None),
        }
    }

    /// Starts editing message `id`, whose text is `body`.
    pub fn edit(self, id: MessageId, body: String) {
        self.editing.set(Some(id));
        self.text.set(body);
    }

    /// Leaves editing, dropping the edited text.
    pub fn stop_editing(self) {
        self.editing.set(None);
        self.text.set(String::new());
    }
}

/// The chat pane: the log, who is typing, and the composer, sharing one [`Draft`].
#[component]
pub fn ChatPanel(chat: ChatState, files: Files, docs: OpenDocs) -> AnyView {
    let draft = Draft::new();
    // Explain, Write tests and Review picked in an editor answer here.
    Effect::new(move |_| {
        docs.chat_task.track();
        let Some(name) = docs.chat_task.try_update_untracked(Option::take).flatten() else {
            return;
        };
        let command = format!("/{name}");
        if let Command::Ai(task) = commands::parse(&command) {
            chat.ask(command, task, files, docs);
        }
    });
    view! {
        <div class="chat-panel" data-test="chat-panel">
            <ChatLog chat=chat files=files docs=docs draft=draft/>
            <TypingLine chat=chat/>
            <Composer chat=chat files=files docs=docs draft=draft/>
        </div>
    }
    .into_any()
}

/// Who is typing; entries expire even when nobody says they stopped.
#[component]
fn TypingLine(chat: ChatState) -> AnyView {
    #[cfg(feature = "browser")]
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

    view! {
        <p class="chat-typing muted small" data-test="chat-typing" aria-live="polite">
            {move || chat.typing.with(Typing::line)}
        </p>
    }
    .into_any()
}
