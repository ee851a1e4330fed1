//! The chat as one tab holds it: messages in server order, messages still being sent, answers
//! still streaming, who is typing, and which slice of a long history is in the DOM. Plain data
//! and pure functions, so the rules are tested natively; the view only renders it.

use std::collections::BTreeMap;

use super::{ChatMessage, HistoryPage, MessageKind, PAGE_SIZE};
use crate::types::{MessageId, UserId};

/// Most messages in the DOM at once; scrolling past either end slides this window.
pub const WINDOW: usize = 150;
/// How far the window slides (and how many older messages a scroll to the top asks for).
pub const STEP: usize = PAGE_SIZE;
/// A typing indicator disappears this long after its last refresh.
pub const TYPING_TTL_MS: f64 = 5_000.0;

/// A message this tab sent that the server has not confirmed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub client_id: String,
    pub body: String,
    pub reply_to: Option<MessageId>,
    /// Why the last attempt failed; it is retried on reconnect or by hand.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatModel {
    /// By id: the server's order.
    messages: BTreeMap<MessageId, ChatMessage>,
    pub pending: Vec<Pending>,
    /// Older messages exist on the server before the first one here.
    pub more_before: bool,
    /// The history has been loaded at least once.
    pub loaded: bool,
    /// `/clear`: messages up to this id are hidden in this browser.
    pub cleared_through: Option<MessageId>,
    /// Index (into the visible messages) where the rendered window starts, `None` while it
    /// follows the newest message.
    window_start: Option<usize>,
}

impl ChatModel {
    /// Adds or replaces a message; true when it is new to this tab.
    pub fn upsert(&mut self, m: ChatMessage) -> bool {
        self.pending.retain(|p| p.client_id != m.client_id);
        self.messages.insert(m.id, m).is_none()
    }

    /// Whether the message is held (in any state).
    pub fn has(&self, id: MessageId) -> bool {
        self.messages.contains_key(&id)
    }

    /// Ids of answers still streaming.
    pub fn streaming(&self) -> Vec<MessageId> {
        self.messages
            .values()
            .filter(|m| m.is_streaming())
            .map(|m| m.id)
            .collect()
    }

    /// The newest page, on first load or after missing too much: it replaces what was held,
    /// except messages newer than the page (live ones that overtook the request).
    pub fn load_newest(&mut self, page: HistoryPage) {
        if let Some(last) = page.messages.last().map(|m| m.id) {
            self.messages.retain(|id, _| *id > last);
        }
        self.more_before = page.more;
        self.loaded = true;
        self.window_start = None;
        for m in page.messages {
            self.upsert(m);
        }
    }

    /// An older page, fetched on scrolling up.
    pub fn add_older(&mut self, page: HistoryPage) {
        self.more_before = page.more;
        for m in page.messages {
            self.upsert(m);
        }
    }

    pub fn first_id(&self) -> Option<MessageId> {
        self.messages.keys().next().copied()
    }

    pub fn last_id(&self) -> Option<MessageId> {
        self.messages.keys().next_back().copied()
    }

    pub fn get(&self, id: MessageId) -> Option<&ChatMessage> {
        self.messages.get(&id)
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Messages not hidden by `/clear`, oldest first.
    fn visible(&self) -> impl DoubleEndedIterator<Item = &ChatMessage> {
        let from = self
            .cleared_through
            .map_or(MessageId(i64::MIN), |c| MessageId(c.0.saturating_add(1)));
        self.messages.range(from..).map(|(_, m)| m)
    }

    fn visible_len(&self) -> usize {
        self.visible().count()
    }

    /// The slice to render: at most [`WINDOW`] messages, the newest ones while following.
    pub fn window(&self) -> Vec<ChatMessage> {
        let n = self.visible_len();
        let start = match self.window_start {
            Some(s) => s.min(n.saturating_sub(1)),
            None => n.saturating_sub(WINDOW),
        };
        self.visible().skip(start).take(WINDOW).cloned().collect()
    }

    /// `user`'s newest message that can still be edited (what Up in an empty composer edits).
    pub fn last_by(&self, user: UserId) -> Option<ChatMessage> {
        self.visible()
            .rev()
            .find(|m| m.author.id == user && m.kind == MessageKind::User && !m.deleted)
            .cloned()
    }

    /// Whether the window shows the newest message (new ones then scroll into view).
    pub fn following(&self) -> bool {
        self.window_start.is_none()
    }

    /// Messages above the window that are already loaded.
    pub fn hidden_above(&self) -> usize {
        match self.window_start {
            Some(s) => s,
            None => self.visible_len().saturating_sub(WINDOW),
        }
    }

    /// The user scrolled to the top: show older loaded messages. False when none are loaded
    /// (the caller then fetches an older page and calls this again).
    pub fn slide_up(&mut self) -> bool {
        let above = self.hidden_above();
        if above == 0 {
            return false;
        }
        self.window_start = Some(above.saturating_sub(STEP));
        true
    }

    /// The user scrolled to the bottom: show newer messages, following again at the end.
    pub fn slide_down(&mut self) {
        let Some(s) = self.window_start else { return };
        let n = self.visible_len();
        let next = s + STEP;
        self.window_start = (next + WINDOW < n).then_some(next);
    }

    /// Back to the newest messages.
    pub fn follow(&mut self) {
        self.window_start = None;
    }

    /// An older page of `count` messages arrived at the front. Called when nothing loaded was
    /// above the window, so its first message is now at `count`: show a step of the new ones
    /// above it and keep the rest of the window where it was.
    pub fn prepended(&mut self, count: usize) {
        self.window_start = if self.visible_len() <= WINDOW {
            None
        } else {
            Some(count.saturating_sub(STEP))
        };
    }

    pub fn clear_view(&mut self) {
        self.cleared_through = self.last_id();
        self.window_start = None;
    }
}

/// Text of answers still streaming, kept apart from the messages so a token re-renders one
/// line, not the list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Streams(BTreeMap<MessageId, String>);

impl Streams {
    /// A message arrived: a streaming answer starts from what the server has so far (unless
    /// tokens already brought more); a finished one needs no stream.
    pub fn seen(&mut self, m: &ChatMessage) {
        if !m.is_streaming() {
            self.0.remove(&m.id);
            return;
        }
        let text = self.0.entry(m.id).or_default();
        if m.body.len() > text.len() {
            text.clone_from(&m.body);
        }
    }

    /// Tokens for an answer; ignored unless the answer is known to be streaming.
    pub fn delta(&mut self, id: MessageId, text: &str) {
        if let Some(t) = self.0.get_mut(&id) {
            t.push_str(text);
        }
    }

    pub fn get(&self, id: MessageId) -> Option<&str> {
        self.0.get(&id).map(String::as_str)
    }
}

/// Who is typing: user id → (name, expires at in ms).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Typing(BTreeMap<UserId, (String, f64)>);

impl Typing {
    pub fn set(&mut self, user: UserId, name: String, active: bool, now_ms: f64) {
        if active {
            self.0.insert(user, (name, now_ms + TYPING_TTL_MS));
        } else {
            self.0.remove(&user);
        }
    }

    /// A message from someone ends their indicator.
    pub fn sent(&mut self, user: UserId) {
        self.0.remove(&user);
    }

    /// Drops expired indicators; true if any went.
    pub fn expire(&mut self, now_ms: f64) -> bool {
        let before = self.0.len();
        self.0.retain(|_, (_, until)| *until > now_ms);
        self.0.len() != before
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// "ann is typing…", "ann and bob are typing…", "4 people are typing…".
    pub fn line(&self) -> Option<String> {
        let names: Vec<&str> = self.0.values().map(|(n, _)| n.as_str()).collect();
        match names.as_slice() {
            [] => None,
            [one] => Some(format!("{one} is typing…")),
            [a, b] => Some(format!("{a} and {b} are typing…")),
            [a, b, c] => Some(format!("{a}, {b} and {c} are typing…")),
            more => Some(format!("{} people are typing…", more.len())),
        }
    }
}

/// A fresh idempotency key: 128 random bits as hex.
pub fn client_id(mut random: impl FnMut() -> f64) -> String {
    (0..4)
        .map(|_| format!("{:08x}", (random() * f64::from(u32::MAX)) as u32))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        chat::{AiInfo, AiState},
        types::{UserId, UserInfo},
    };

    fn msg(id: i64, author: i64) -> ChatMessage {
        ChatMessage {
            id: MessageId(id),
            client_id: format!("c{id}"),
            author: UserInfo {
                id: UserId(author),
                name: format!("u{author}"),
            },
            kind: MessageKind::User,
            body: format!("m{id}"),
            html: format!("<p>m{id}</p>"),
            created_at: 0,
            edited_at: None,
            deleted: false,
            reply_to: None,
            mentions: vec![],
            ai: None,
        }
    }

    fn ids(v: &[ChatMessage]) -> Vec<i64> {
        v.iter().map(|m| m.id.0).collect()
    }

    #[test]
    fn server_order_wins_and_confirmed_sends_leave_pending() {
        let mut m = ChatModel::default();
        m.pending.push(Pending {
            client_id: "c2".into(),
            body: "m2".into(),
            reply_to: None,
            error: None,
        });
        assert!(m.upsert(msg(2, 1)));
        assert!(m.upsert(msg(1, 2)));
        assert!(
            !m.upsert(msg(2, 1)),
            "an echo of a known message is not new"
        );
        assert!(m.pending.is_empty());
        assert_eq!(ids(&m.window()), [1, 2]);
    }

    #[test]
    fn up_edits_your_newest_live_message() {
        let mut m = ChatModel::default();
        for (id, author) in [(1, 1), (2, 1), (3, 2), (4, 1)] {
            m.upsert(msg(id, author));
        }
        let mut gone = msg(4, 1);
        gone.deleted = true;
        m.upsert(gone);
        let mut answer = msg(5, 1);
        answer.kind = MessageKind::Ai;
        m.upsert(answer);
        assert_eq!(m.last_by(UserId(1)).map(|x| x.id), Some(MessageId(2)));
        assert_eq!(m.last_by(UserId(9)), None);
    }

    #[test]
    fn deltas_accumulate_until_the_answer_ends() {
        let mut s = Streams::default();
        let mut ai = msg(5, 1);
        ai.kind = MessageKind::Ai;
        ai.body = "He".into();
        ai.ai = Some(AiInfo::new(AiState::Streaming, None));
        s.seen(&ai);
        s.delta(MessageId(5), "l");
        s.delta(MessageId(5), "lo");
        s.delta(MessageId(99), "ignored");
        assert_eq!(s.get(MessageId(5)), Some("Hello"));
        // A history page read before the last tokens does not shorten the stream.
        s.seen(&ai);
        assert_eq!(s.get(MessageId(5)), Some("Hello"));
        ai.ai = Some(AiInfo::new(AiState::Done, None));
        s.seen(&ai);
        assert_eq!(s.get(MessageId(5)), None);
        s.delta(MessageId(5), "late");
        assert_eq!(
            s.get(MessageId(5)),
            None,
            "a finished answer takes no more tokens"
        );
    }

    #[test]
    fn the_window_keeps_the_dom_bounded_and_slides() {
        let mut m = ChatModel::default();
        for id in 1..=400 {
            m.upsert(msg(id, 1));
        }
        let w = m.window();
        assert_eq!(w.len(), WINDOW);
        assert_eq!(w.last().map(|x| x.id.0), Some(400));
        assert!(m.following());
        assert_eq!(m.hidden_above(), 250);
        assert!(m.slide_up());
        assert_eq!(m.window().first().map(|x| x.id.0), Some(201));
        while m.slide_up() {}
        assert_eq!(m.window().first().map(|x| x.id.0), Some(1));
        assert_eq!(m.window().len(), WINDOW);
        for _ in 0..10 {
            m.slide_down();
        }
        assert!(m.following());
        assert_eq!(m.window().last().map(|x| x.id.0), Some(400));
    }

    #[test]
    fn an_older_page_keeps_the_window_on_the_same_messages() {
        let mut m = ChatModel::default();
        m.load_newest(HistoryPage {
            messages: (101..=150).map(|i| msg(i, 1)).collect(),
            more: true,
        });
        assert!(m.more_before);
        assert!(!m.slide_up(), "nothing older is loaded yet");
        m.add_older(HistoryPage {
            messages: (51..=100).map(|i| msg(i, 1)).collect(),
            more: false,
        });
        m.prepended(50);
        assert!(!m.more_before);
        let w = m.window();
        assert_eq!(w.first().map(|x| x.id.0), Some(51));
        assert_eq!(w.last().map(|x| x.id.0), Some(150));
    }

    #[test]
    fn a_reload_keeps_live_messages_that_overtook_it() {
        let mut m = ChatModel::default();
        m.upsert(msg(1, 1));
        m.upsert(msg(9, 1));
        m.load_newest(HistoryPage {
            messages: (5..=8).map(|i| msg(i, 1)).collect(),
            more: true,
        });
        assert_eq!(ids(&m.window()), [5, 6, 7, 8, 9]);
        assert!(m.more_before && m.loaded);
    }

    #[test]
    fn clear_hides_only_what_came_before() {
        let mut m = ChatModel::default();
        m.upsert(msg(1, 1));
        m.upsert(msg(2, 1));
        m.clear_view();
        assert!(m.window().is_empty());
        m.upsert(msg(3, 1));
        assert_eq!(ids(&m.window()), [3]);
    }

    #[test]
    fn typing_indicators_expire_and_end_with_a_message() {
        let mut t = Typing::default();
        t.set(UserId(1), "ann".into(), true, 0.0);
        t.set(UserId(2), "bob".into(), true, 1_000.0);
        assert_eq!(t.line().as_deref(), Some("ann and bob are typing…"));
        assert!(t.expire(5_500.0));
        assert_eq!(t.line().as_deref(), Some("bob is typing…"));
        t.sent(UserId(2));
        assert_eq!(t.line(), None);
        for u in 1..=4 {
            t.set(UserId(u), format!("u{u}"), true, 0.0);
        }
        assert_eq!(t.line().as_deref(), Some("4 people are typing…"));
        t.set(UserId(4), String::new(), false, 0.0);
        assert_eq!(t.line().as_deref(), Some("u1, u2 and u3 are typing…"));
    }

    #[test]
    fn client_ids_are_32_hex_digits() {
        let mut x = 0.0;
        let id = client_id(|| {
            x += 0.21;
            x % 1.0
        });
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
