//! One open document in the browser: its yrs `Doc` (UTF-16 offsets), the awareness of who is
//! in it, an undo manager that only tracks this tab's edits, and the Monaco editor showing it.
//! Transactions never call into Monaco: observers collect what changed, and `flush` hands it to
//! Monaco and the socket once the transaction is over.
//!
//! Longer than the ~600 lines the code aims for, on purpose: it is one state machine (the
//! session's cells and the handlers that keep them consistent with each other); cut by concern,
//! every part would need most of the others' fields.

use std::{
    cell::{Cell, RefCell},
    collections::{HashMap, HashSet},
    rc::{Rc, Weak},
    sync::Arc,
    time::Duration,
};

use bytes::Bytes;
use collab::{Channel, protocol};
use leptos::{prelude::*, task::spawn_local};
use wasm_bindgen::{JsCast, closure::Closure};
use yrs::{
    ClientID, Doc, GetString, Observable, OffsetKind, Options, Origin, ReadTxn, TextRef, Transact,
    UndoManager, Update,
    sync::{Awareness, Message, SyncMessage},
    undo,
    updates::decoder::Decode,
};

use super::monaco::{TandemEditor, load_monaco};
use crate::{
    editor::{
        LiveSignals,
        binding::{CONTENT, Change, apply_changes, crlf_fixes, delta_to_changes},
        ghost::Ghosts,
        presence::{self, PresenceState, PresenceUser},
        status::{DocSync, Save},
    },
    live::{connection::ConnectionRef, events::ClientEvent},
    offline::local::{self, DocPlace},
    suggestions::{Pinned, Suggestion, SuggestionId, anchor},
    types::DocId,
};

const LOCAL: &str = "tandem.local";
const REMOTE: &str = "tandem.remote";
const NORMALIZE: &str = "tandem.normalize";
/// An accepted AI suggestion applied by this tab: sent like typing and undone as one step.
const SUGGESTION: &str = "tandem.suggestion";
/// This device's local copy being read back: neither sent (the handshake carries whatever the
/// server lacks) nor undoable.
const CACHE: &str = "tandem.cache";
/// A local copy read only after the document opened without it: sent like a local edit.
const LATE_CACHE: &str = "tandem.cache.late";
/// How long opening a document waits for its local copy.
const CACHE_PATIENCE: Duration = Duration::from_millis(1500);
/// The local copy's whole state is written this long after the last change (each local edit
/// is appended at once, so nothing typed waits for this).
const SAVE_DELAY: Duration = Duration::from_millis(400);
/// Cursor updates go out at most this often while the user moves around.
const CURSOR_THROTTLE: Duration = Duration::from_millis(60);
/// Our awareness state is renewed this often; remote states older than `STALE_MS` are dropped
/// (y-protocols' outdated timeout), so a vanished tab's cursor does not linger.
const HEARTBEAT: Duration = Duration::from_secs(10);
const STALE_MS: u64 = 30_000;

fn now_ms() -> u64 {
    crate::browser::now_ms() as u64
}

/// Selections pinned as (anchor, head) sticky indices before a remote change.
type Pins = Vec<(Vec<u8>, Vec<u8>)>;

/// Pinned selections as offsets in the text now, as the shim's JSON; `None` if any no longer
/// resolves, and the editor keeps its own selections.
fn resolve_pins<T: ReadTxn>(txn: &T, pins: &Pins) -> Option<String> {
    let offsets: Option<Vec<(u32, u32)>> = pins
        .iter()
        .map(|(a, h)| Some((presence::resolve(txn, a)?, presence::resolve(txn, h)?)))
        .collect();
    serde_json::to_string(&offsets?).ok()
}

struct EditorCallbacks {
    _changes: Closure<dyn FnMut(String)>,
    _selection: Closure<dyn FnMut(String)>,
    _undo: Closure<dyn FnMut()>,
    _redo: Closure<dyn FnMut()>,
    ask: Closure<dyn FnMut(f64, String, String)>,
    cancel: Closure<dyn FnMut(f64)>,
    _action: Closure<dyn FnMut(String)>,
}

pub(crate) struct DocSession {
    id: DocId,
    /// This session, for its timers: they act only while it is alive and not disposed.
    this: Weak<DocSession>,
    language: std::cell::Cell<&'static str>,
    conn: ConnectionRef,
    doc: Doc,
    text: TextRef,
    awareness: RefCell<Awareness>,
    undo: RefCell<UndoManager>,
    sync: RefCell<DocSync>,
    /// Monaco edits collected by the text observer from non-local transactions.
    edits: Rc<RefCell<Vec<Change>>>,
    /// Encoded updates of non-remote transactions, to send.
    outbox: Rc<RefCell<Vec<Vec<u8>>>>,
    /// A non-local transaction inserted a carriage return: normalise before Monaco sees it.
    saw_cr: Rc<Cell<bool>>,
    me: PresenceUser,
    signals: LiveSignals,
    element: RefCell<Option<web_sys::HtmlElement>>,
    editor: RefCell<Option<TandemEditor>>,
    callbacks: RefCell<Option<EditorCallbacks>>,
    monaco_ready: Cell<bool>,
    synced: Cell<bool>,
    cursor_timer: Cell<bool>,
    cursor_sent_at: Cell<f64>,
    heartbeat: RefCell<Option<IntervalHandle>>,
    disposed: Cell<bool>,
    /// Where this document's local copy lives.
    place: DocPlace,
    /// Whether this person could edit it when the project was last loaded: how the local copy
    /// is shown before (or without) the server's answer.
    writable_hint: bool,
    /// The local copy has been read (or found missing).
    cache_read: Cell<bool>,
    /// The server opened the document before the local copy was read: the handshake waits
    /// for it, so our diff includes the copy's edits. `Some(writable)`.
    open_waiting: Cell<Option<bool>>,
    /// Messages from the server that arrived before the local copy was read, in order: the
    /// server's step 1 must be answered with a diff that includes the copy.
    early: RefCell<Vec<Vec<u8>>>,
    save_timer: Cell<bool>,
    /// The page's inline completions.
    ghosts: Ghosts,
}

/// What every document of the tab shares: the connection, who is editing, and the page's
/// inline completions.
pub(crate) struct Tab {
    pub conn: ConnectionRef,
    pub me: PresenceUser,
    pub ghosts: Ghosts,
}

impl DocSession {
    pub(crate) fn new(
        id: DocId,
        language: &'static str,
        tab: Tab,
        signals: LiveSignals,
        place: DocPlace,
        writable_hint: bool,
    ) -> Rc<Self> {
        let Tab { conn, me, ghosts } = tab;
        // Monaco counts UTF-16 code units; so does every Tandem document.
        let doc = Doc::with_options(Options {
            offset_kind: OffsetKind::Utf16,
            ..Options::default()
        });
        let text = doc.get_or_insert_text(CONTENT);
        let edits: Rc<RefCell<Vec<Change>>> = Rc::default();
        let outbox: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
        let saw_cr: Rc<Cell<bool>> = Rc::default();
        {
            let (edits, saw_cr) = (edits.clone(), saw_cr.clone());
            let local = Origin::from(LOCAL);
            text.observe("tandem.monaco", move |txn, e| {
                if txn.origin() == Some(&local) {
                    return; // Monaco made this edit; echoing it back would duplicate it.
                }
                let changes = delta_to_changes(e.delta(txn));
                if changes.iter().any(|c| c.2.contains('\r')) {
                    saw_cr.set(true);
                }
                edits.borrow_mut().extend(changes);
            });
        }
        {
            let outbox = outbox.clone();
            let (remote, cache) = (Origin::from(REMOTE), Origin::from(CACHE));
            let _ = doc.observe_update_v1("tandem.net", move |txn, e| {
                if txn.origin() != Some(&remote) && txn.origin() != Some(&cache) {
                    outbox.borrow_mut().push(e.update.clone());
                }
            });
        }
        let mut undo = UndoManager::with_options(undo::Options {
            capture_timeout_millis: 500,
            tracked_origins: HashSet::from([Origin::from(LOCAL), Origin::from(SUGGESTION)]),
            capture_transaction: None,
            timestamp: Arc::new(now_ms),
            init_undo_stack: Vec::new(),
            init_redo_stack: Vec::new(),
        });
        undo.expand_scope(&doc, &text);
        let awareness = Awareness::with_clock(doc.clone(), now_ms);
        let session = Rc::new_cyclic(|this| Self {
            id,
            this: this.clone(),
            language: Cell::new(language),
            conn,
            doc,
            text,
            awareness: RefCell::new(awareness),
            undo: RefCell::new(undo),
            sync: RefCell::new(DocSync::default()),
            edits,
            outbox,
            saw_cr,
            me,
            signals,
            element: RefCell::new(None),
            editor: RefCell::new(None),
            callbacks: RefCell::new(None),
            monaco_ready: Cell::new(false),
            synced: Cell::new(false),
            cursor_timer: Cell::new(false),
            cursor_sent_at: Cell::new(0.0),
            heartbeat: RefCell::new(None),
            disposed: Cell::new(false),
            place,
            writable_hint,
            cache_read: Cell::new(false),
            open_waiting: Cell::new(None),
            early: RefCell::new(Vec::new()),
            save_timer: Cell::new(false),
            ghosts,
        });
        session.start_heartbeat();
        local::set_open(&session.place.key, true);
        let this = session.clone();
        spawn_local(async move {
            let cached = local::load_doc(&this.place.key).await;
            this.restore(cached);
        });
        // A store that does not answer (held by an old tab, a broken profile) must not hold
        // the document back: after this long it opens without the copy, and a copy read later
        // is sent as an ordinary edit.
        let this = session.this.clone();
        set_timeout(
            move || {
                if let Some(s) = this.upgrade().filter(|s| !s.cache_read.get()) {
                    leptos::logging::warn!("local copy not read in time; opening without it");
                    s.restore(None);
                }
            },
            CACHE_PATIENCE,
        );
        session
    }

    /// Reads the local copy into the document (before or after the server's state: the two
    /// merge either way) and shows it at once, writable as this person was last time; then
    /// lets a waiting handshake go.
    fn restore(self: &Rc<Self>, cached: Option<local::Cached>) {
        if self.disposed.get() {
            return;
        }
        // Read after the handshake went without it: the copy's edits must be sent like any.
        let late = self.cache_read.get();
        if let Some(c) = cached {
            let updates = c.state.into_iter().chain(c.edits.iter().cloned());
            let mut read = false;
            let origin = if late { LATE_CACHE } else { CACHE };
            if let Ok(mut txn) = self.doc.try_transact_mut_with(origin) {
                for bytes in updates {
                    match Update::decode_v1(&bytes) {
                        Ok(u) => read |= txn.apply_update(u).is_ok(),
                        Err(e) => leptos::logging::warn!("local copy unreadable: {e}"),
                    }
                }
            }
            let waiting = c.pending + c.edits.len() as u64;
            let writable = self.writable_hint;
            if !late {
                self.sync.borrow_mut().restored(writable, waiting);
            }
            if read && !self.synced.get() {
                if self.open_waiting.get().is_none() && !self.sync.borrow().is_open() {
                    self.signals.writable.set(writable);
                }
                self.synced.set(true);
                self.create_editor();
            }
            self.flush(None);
        }
        if late {
            return;
        }
        self.cache_read.set(true);
        if let Some(writable) = self.open_waiting.take() {
            self.handshake(writable);
        }
        let early = std::mem::take(&mut *self.early.borrow_mut());
        for payload in early {
            self.on_message(&payload);
        }
        self.update_save();
    }

    /// Writes the whole state to the local copy a moment after the last change.
    fn schedule_save(&self) {
        if self.save_timer.replace(true) {
            return;
        }
        let this = self.this.clone();
        set_timeout(
            move || {
                if let Some(s) = this.upgrade() {
                    s.save_timer.set(false);
                    s.save_now();
                }
            },
            SAVE_DELAY,
        );
    }

    fn save_now(&self) {
        if !self.cache_read.get() {
            // Writing before the copy is read would replace it with less.
            self.schedule_save();
            return;
        }
        let state = self
            .doc
            .transact()
            .encode_state_as_update_v1(&yrs::StateVector::default());
        local::save_doc(&self.place, state, self.sync.borrow().pending());
    }

    /// Highlighting for a new name's language.
    pub(crate) fn set_language(&self, language: &'static str) {
        if self.language.replace(language) != language
            && let Some(editor) = self.editor.borrow().as_ref()
        {
            editor.set_language(language);
        }
    }

    /// The cursor's 1-based line and the selected text.
    pub(crate) fn cursor_context(&self) -> Option<crate::editor::CursorContext> {
        let json = self.editor.borrow().as_ref()?.cursor_context();
        let v: serde_json::Value = serde_json::from_str(&json).ok()?;
        let number = |k: &str| u32::try_from(v.get(k)?.as_u64()?).ok();
        let line = number("line")?;
        Some(crate::editor::CursorContext {
            line,
            selection: v.get("selection")?.as_str()?.to_owned(),
            lines: (number("from").unwrap_or(line), number("to").unwrap_or(line)),
        })
    }

    /// Types `text` at the cursor as a local edit (synced, undoable); false when read-only.
    pub(crate) fn insert_text(&self, text: &str) -> bool {
        // A handle, not a borrow: the edit calls back into this session synchronously.
        let editor: Option<TandemEditor> = self.editor.borrow().as_ref().map(|e| {
            let handle: &wasm_bindgen::JsValue = e.as_ref();
            handle.clone().unchecked_into()
        });
        editor.is_some_and(|e| e.insert_text(text))
    }

    /// Selects a range on one line and scrolls it into view (1-based, UTF-16 columns).
    /// Colours the text by author (`history::shades` as JSON; `[]` for none).
    pub(crate) fn set_blame(&self, json: &str) {
        if let Some(editor) = self.editor.borrow().as_ref() {
            editor.set_blame(json);
        }
    }

    pub(crate) fn reveal(&self, line: u32, column: u32, end_column: u32) {
        if let Some(editor) = self.editor.borrow().as_ref() {
            editor.reveal(line, column, end_column);
        }
    }

    /// Loads Monaco and shows the document in `el` once both Monaco and the first sync are in.
    pub(crate) fn attach(self: &Rc<Self>, el: web_sys::HtmlElement) {
        *self.element.borrow_mut() = Some(el);
        let this = self.clone();
        spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(load_monaco("/monaco/vs")).await {
                Ok(_) => {
                    this.monaco_ready.set(true);
                    this.create_editor();
                }
                Err(e) => this
                    .signals
                    .error
                    .set(Some(format!("The editor failed to load: {e:?}"))),
            }
        });
    }

    fn create_editor(self: &Rc<Self>) {
        if self.disposed.get()
            || !self.monaco_ready.get()
            || !self.synced.get()
            || self.editor.borrow().is_some()
        {
            return;
        }
        let Some(el) = self.element.borrow().clone() else {
            return;
        };
        self.normalize_line_endings();
        self.edits.borrow_mut().clear();
        self.send_outbox();
        let weak = Rc::downgrade(self);
        let w = weak.clone();
        let changes = Closure::<dyn FnMut(String)>::new(move |json: String| {
            if let Some(s) = w.upgrade() {
                s.local_changes(&json);
            }
        });
        let w = weak.clone();
        let selection = Closure::<dyn FnMut(String)>::new(move |_json: String| {
            if let Some(s) = w.upgrade() {
                s.cursor_moved();
            }
        });
        let w = weak.clone();
        let undo = Closure::<dyn FnMut()>::new(move || {
            if let Some(s) = w.upgrade() {
                s.undo(true);
            }
        });
        let w = weak.clone();
        let redo = Closure::<dyn FnMut()>::new(move || {
            if let Some(s) = w.upgrade() {
                s.undo(false);
            }
        });
        let w = weak.clone();
        // Monaco numbers its requests; the numbers fit a u64.
        let ask = Closure::<dyn FnMut(f64, String, String)>::new(
            move |id: f64, prefix: String, suffix: String| {
                if let Some(s) = w.upgrade() {
                    s.ask_completion(id as u64, prefix, suffix);
                }
            },
        );
        let w = weak.clone();
        let cancel = Closure::<dyn FnMut(f64)>::new(move |id: f64| {
            if let Some(s) = w.upgrade() {
                s.cancel_completion(id as u64);
            }
        });
        let action = Closure::<dyn FnMut(String)>::new(move |name: String| {
            if let Some(s) = weak.upgrade() {
                s.code_action(&name);
            }
        });
        let value = self.text.get_string(&self.doc.transact());
        let writable = self.signals.writable.get_untracked();
        let editor = TandemEditor::new(
            &el,
            &value,
            self.language.get(),
            !writable,
            changes.as_ref().unchecked_ref(),
            selection.as_ref().unchecked_ref(),
            undo.as_ref().unchecked_ref(),
            redo.as_ref().unchecked_ref(),
        );
        editor.set_actions(action.as_ref().unchecked_ref());
        *self.editor.borrow_mut() = Some(editor);
        *self.callbacks.borrow_mut() = Some(EditorCallbacks {
            _changes: changes,
            _selection: selection,
            _undo: undo,
            _redo: redo,
            ask,
            cancel,
            _action: action,
        });
        self.update_completer();
        self.signals.ready.set(true);
        self.render_cursors();
        self.publish_presence();
    }

    /// Ghost text is offered while this person may edit (the request checks the rest).
    fn update_completer(&self) {
        let (editor, callbacks) = (self.editor.borrow(), self.callbacks.borrow());
        let (Some(editor), Some(cb)) = (editor.as_ref(), callbacks.as_ref()) else {
            return;
        };
        if self.signals.writable.get_untracked() {
            editor.set_completer(
                Some(cb.ask.as_ref().unchecked_ref()),
                Some(cb.cancel.as_ref().unchecked_ref()),
            );
        } else {
            editor.set_completer(None, None);
        }
    }

    /// Monaco wants ghost text for the text around the cursor: ask the server, unless this
    /// person turned completions off, the server does not offer them, or the tab is offline
    /// (then there is nothing to show).
    fn ask_completion(&self, id: u64, prefix: String, suffix: String) {
        let sent = self.ghosts.active()
            && self.signals.writable.get_untracked()
            && self.conn.upgrade().is_some_and(|c| {
                c.send_event(&ClientEvent::Complete {
                    id,
                    doc: self.id,
                    prefix,
                    suffix,
                    language: self.language.get().to_owned(),
                    path: self.place.name.clone(),
                })
            });
        if sent {
            self.ghosts.asked(id);
        } else {
            super::completion_arrived(id, "");
        }
    }

    fn cancel_completion(&self, id: u64) {
        if let Some(c) = self.conn.upgrade() {
            c.send_event(&ClientEvent::CancelCompletion { id });
        }
        self.ghosts.cancelled(id);
    }

    /// A code action picked in the editor (its context menu, Ctrl+. or F1): handed to the
    /// page with the selected lines pinned, so the lines it is for move with later edits.
    fn code_action(&self, name: &str) {
        let pin = self.pin_selection();
        self.signals.action.set(Some((name.to_owned(), pin)));
    }

    /// The whole lines the primary selection touches, pinned in this document.
    fn pin_selection(&self) -> Option<Pinned> {
        let sels: Vec<(u32, u32)> =
            serde_json::from_str(&self.editor.borrow().as_ref()?.selections_json()).ok()?;
        let (a, h) = *sels.first()?;
        let txn = self.doc.transact();
        let all = self.text.get_string(&txn);
        let (from, to) = anchor::whole_lines(&all, a, h);
        let (start, end) = anchor::pin(&txn, &self.text, from, to)?;
        Some(Pinned {
            start,
            end,
            first_line: anchor::line_of(&all, from),
            last_line: anchor::line_of(&all, to),
        })
    }

    /// Draws the file's suggestions over their lines, and says for each whether its lines in
    /// this tab still hold what it replaces.
    pub(crate) fn show_suggestions(&self, list: &[Suggestion]) -> HashMap<SuggestionId, bool> {
        let mut fresh = HashMap::new();
        let mut shown = Vec::new();
        {
            let txn = self.doc.transact();
            for s in list {
                let Some((from, to, now)) = anchor::current(&txn, &self.text, &s.start, &s.end)
                else {
                    // Its text is not in this copy yet (or any more): nothing to draw.
                    fresh.insert(s.id, false);
                    continue;
                };
                let is_fresh = now == s.original;
                fresh.insert(s.id, is_fresh);
                shown.push(serde_json::json!({
                    "id": s.id.0,
                    "from": from,
                    "to": to,
                    "fresh": is_fresh,
                    "state": s.state.as_str(),
                    "header": format!("{} asked the assistant {}", s.author_name, s.action.asked()),
                    "lines": s.lines.iter().map(|l| (l.op, &l.text)).collect::<Vec<_>>(),
                }));
            }
        }
        if let Some(editor) = self.editor.borrow().as_ref() {
            editor.set_suggestions(&serde_json::Value::Array(shown).to_string());
        }
        fresh
    }

    /// Applies a claimed suggestion as this person's edit: one transaction, one undo step of
    /// its own. False (and nothing changed) when its lines no longer hold what it replaces.
    pub(crate) fn apply_suggestion(&self, s: &Suggestion) -> bool {
        if !self.signals.writable.get_untracked() {
            return false;
        }
        let Some((from, to, now)) =
            anchor::current(&self.doc.transact(), &self.text, &s.start, &s.end)
        else {
            return false;
        };
        if now != s.original {
            return false;
        }
        // Its own undo step: not merged with the typing just before or after it.
        self.undo.borrow_mut().reset();
        match self.doc.try_transact_mut_with(SUGGESTION) {
            Ok(mut txn) => apply_changes(
                &mut txn,
                &self.text,
                vec![Change(from, to - from, s.replacement.clone())],
            ),
            Err(e) => {
                leptos::logging::warn!("suggestion not applied, the document was busy: {e}");
                return false;
            }
        }
        self.undo.borrow_mut().reset();
        self.flush(None);
        true
    }

    fn send(&self, message: Bytes) -> bool {
        self.conn
            .upgrade()
            .is_some_and(|c| match collab::DocId::try_from(self.id) {
                Ok(id) => c.send(Channel::Doc(id), message),
                Err(_) => false,
            })
    }

    /// A y-sync or awareness message from the server.
    pub(crate) fn on_message(self: &Rc<Self>, payload: &[u8]) {
        if !self.cache_read.get() {
            self.early.borrow_mut().push(payload.to_vec());
            return;
        }
        let msg = match protocol::decode(payload) {
            Ok(m) => m,
            Err(e) => {
                leptos::logging::warn!("ignoring a malformed message: {e}");
                return;
            }
        };
        match msg {
            Message::Sync(SyncMessage::SyncStep1(sv)) => {
                // Our answer carries every local edit the server lacks, including offline ones.
                let update = self.doc.transact().encode_state_as_update_v1(&sv);
                self.send(protocol::sync_step2(update.clone()));
                self.sync.borrow_mut().handshake_sent(&update);
                self.outbox.borrow_mut().clear();
                self.update_save();
            }
            Message::Sync(SyncMessage::SyncStep2(update)) => {
                self.apply_remote(&update);
                // The server's whole state is in: the editor can show the document.
                if !self.synced.replace(true) {
                    self.create_editor();
                }
            }
            Message::Sync(SyncMessage::Update(update)) => self.apply_remote(&update),
            Message::Awareness(update) => {
                if self.awareness.borrow_mut().apply_update(update).is_ok() {
                    self.render_cursors();
                }
            }
            Message::AwarenessQuery => self.publish_presence(),
            Message::Auth(Some(reason)) => match reason.strip_prefix(protocol::DOCUMENT_FULL) {
                // The refused edit stays in this tab's copy and everything typed after it
                // builds on it, so the editor stops taking keystrokes that could never be
                // saved, and says how to go on.
                Some(why) => self.stop_writing(why.trim_start_matches(':').trim()),
                // The edit stays in this copy; when maintenance lifts the server reopens
                // the document and the handshake sends it.
                None if reason == protocol::MAINTENANCE => self
                    .stop_writing("The server is in maintenance: edits are paused until it ends."),
                None => {
                    leptos::logging::warn!("the server refused an edit: {reason}");
                    self.signals.writable.set(false);
                }
            },
            Message::Auth(None) | Message::Custom(..) => {}
        }
    }

    fn apply_remote(&self, update: &[u8]) {
        let Ok(update) = Update::decode_v1(update) else {
            leptos::logging::warn!("ignoring a malformed update");
            return;
        };
        // Pin the local selections to the characters around them before the text changes.
        let pinned = self.pin_selections();
        match self.doc.try_transact_mut_with(REMOTE) {
            Ok(mut txn) => {
                if let Err(e) = txn.apply_update(update) {
                    leptos::logging::warn!("update not applied: {e}");
                }
            }
            Err(e) => leptos::logging::warn!("document busy: {e}"),
        }
        self.flush(pinned);
    }

    fn pin_selections(&self) -> Option<Pins> {
        let editor = self.editor.borrow();
        let sels: Vec<(u32, u32)> =
            serde_json::from_str(&editor.as_ref()?.selections_json()).ok()?;
        let txn = self.doc.transact();
        sels.into_iter()
            .map(|(a, h)| {
                presence::encode_cursor(&txn, &self.text, a, h).map(|c| (c.anchor, c.head))
            })
            .collect()
    }

    /// Hands what the last transaction changed to Monaco (restoring pinned selections) and
    /// sends what it produced.
    fn flush(&self, pinned: Option<Pins>) {
        let edits = std::mem::take(&mut *self.edits.borrow_mut());
        if self.saw_cr.replace(false) {
            self.normalize_line_endings();
            self.edits.borrow_mut().clear();
            self.replace_all(pinned);
        } else if !edits.is_empty()
            && let Some(editor) = self.editor.borrow().as_ref()
        {
            let selections = pinned.and_then(|pins| resolve_pins(&self.doc.transact(), &pins));
            let json = serde_json::to_string(&edits).unwrap_or_default();
            editor.apply_remote(&json, selections);
        }
        self.send_outbox();
        self.schedule_save();
        let changed = self.signals.changed;
        changed.set(changed.get_untracked().wrapping_add(1));
        if !edits.is_empty() {
            let remote = self.signals.remote;
            remote.set(remote.get_untracked().wrapping_add(1));
            self.render_cursors();
        }
    }

    /// Rewrites Monaco's whole content from the document (only after CR normalisation, which
    /// Monaco would otherwise have applied to its copy on its own and put offsets out of step).
    fn replace_all(&self, pinned: Option<Pins>) {
        let editor = self.editor.borrow();
        let Some(editor) = editor.as_ref() else {
            return;
        };
        let old_len = editor.get_value().encode_utf16().count() as u32;
        let (value, selections) = {
            let txn = self.doc.transact();
            let selections = pinned.and_then(|pins| resolve_pins(&txn, &pins));
            (self.text.get_string(&txn), selections)
        };
        let edits = serde_json::to_string(&[Change(0, old_len, value)]).unwrap_or_default();
        editor.apply_remote(&edits, selections);
    }

    fn normalize_line_endings(&self) {
        let fixes = crlf_fixes(&self.text.get_string(&self.doc.transact()));
        if fixes.is_empty() || !self.signals.writable.get_untracked() {
            return;
        }
        if let Ok(mut txn) = self.doc.try_transact_mut_with(NORMALIZE) {
            apply_changes(&mut txn, &self.text, fixes);
        }
    }

    fn send_outbox(&self) {
        let updates = std::mem::take(&mut *self.outbox.borrow_mut());
        for update in updates {
            // Kept on this device at once: until the server acknowledges it, it may be the
            // only copy (the tab can close before the next whole write).
            local::append_edit(&self.place.key, &update);
            if self.sync.borrow_mut().local_update() {
                self.send(protocol::update(update));
            }
        }
        self.update_save();
    }

    /// Monaco's edit event: apply it to the text as one transaction tracked by undo.
    fn local_changes(&self, json: &str) {
        let changes: Vec<Change> = match serde_json::from_str(json) {
            Ok(c) => c,
            Err(e) => {
                leptos::logging::warn!("unreadable change from the editor: {e}");
                return;
            }
        };
        match self.doc.try_transact_mut_with(LOCAL) {
            Ok(mut txn) => apply_changes(&mut txn, &self.text, changes),
            Err(e) => {
                leptos::logging::error!("edit lost, the document was busy: {e}");
                return;
            }
        }
        self.flush(None);
        self.cursor_moved();
    }

    /// Ctrl+Z / Ctrl+Shift+Z: only this tab's edits are on the stack.
    fn undo(&self, undo: bool) {
        if !self.signals.writable.get_untracked() {
            return;
        }
        let changed = {
            let mut manager = self.undo.borrow_mut();
            if undo {
                manager.undo_blocking()
            } else {
                manager.redo_blocking()
            }
        };
        if changed {
            self.flush(None);
            self.cursor_moved();
        }
    }

    pub(crate) fn opened(self: &Rc<Self>, writable: bool) {
        if !self.cache_read.get() {
            self.open_waiting.set(Some(writable));
            return;
        }
        self.handshake(writable);
    }

    fn handshake(self: &Rc<Self>, writable: bool) {
        self.sync.borrow_mut().opened(writable);
        self.signals.writable.set(writable);
        self.signals.error.set(None);
        if let Some(editor) = self.editor.borrow().as_ref() {
            editor.set_read_only(!writable);
        }
        self.update_completer();
        // Our half of the handshake: the server answers with whatever we missed.
        self.send(protocol::sync_step1(self.doc.transact().state_vector()));
        self.publish_presence();
        self.update_save();
    }

    pub(crate) fn saved(&self, n: u64) {
        self.sync.borrow_mut().saved(n);
        if self.sync.borrow().pending() == 0 {
            // The copy's edits are all on the server now.
            self.schedule_save();
        }
        self.update_save();
    }

    pub(crate) fn failed(&self, message: String) {
        self.signals.error.set(Some(message));
    }

    /// The subscription is gone: forget remote cursors (the server re-sends them on rejoin).
    pub(crate) fn disconnected(&self) {
        self.open_waiting.set(None);
        self.early.borrow_mut().clear();
        self.sync.borrow_mut().closed();
        // The copy's count of unacknowledged edits changed: keep it from eviction.
        self.schedule_save();
        {
            let mut awareness = self.awareness.borrow_mut();
            let me = awareness.client_id();
            let others: Vec<ClientID> = awareness
                .iter()
                .map(|(id, _)| id)
                .filter(|id| *id != me)
                .collect();
            for id in others {
                awareness.remove_state(id);
            }
        }
        self.render_cursors();
        self.update_save();
    }

    /// Access ended for good: the editor turns read-only, so no keystroke is taken that could
    /// never be saved, and the error line says why.
    pub(crate) fn revoked(&self, why: &str) {
        self.disconnected();
        self.stop_writing(why);
    }

    /// The editor turns read-only with `why` on the error line.
    fn stop_writing(&self, why: &str) {
        self.signals.writable.set(false);
        if let Some(editor) = self.editor.borrow().as_ref() {
            editor.set_read_only(true);
        }
        self.update_completer();
        self.signals.error.set(Some(why.to_owned()));
    }

    pub(crate) fn has_unsaved(&self) -> bool {
        matches!(
            self.sync.borrow().save_state(),
            Save::Saving | Save::Unsaved
        )
    }

    fn update_save(&self) {
        let (state, waiting) = {
            let sync = self.sync.borrow();
            (sync.save_state(), sync.waiting())
        };
        if self.signals.save.get_untracked() != state {
            self.signals.save.set(state);
        }
        if self.signals.waiting.get_untracked() != waiting {
            self.signals.waiting.set(waiting);
        }
    }

    /// Sends the cursor now, or once the throttle window has passed.
    fn cursor_moved(&self) {
        if self.cursor_timer.get() {
            return;
        }
        let since = js_sys::Date::now() - self.cursor_sent_at.get();
        let wait = CURSOR_THROTTLE.as_secs_f64() * 1000.0 - since;
        if wait <= 0.0 {
            self.publish_presence();
            return;
        }
        self.cursor_timer.set(true);
        let this = self.this.clone();
        set_timeout(
            move || {
                if let Some(s) = this.upgrade().filter(|s| !s.disposed.get()) {
                    s.cursor_timer.set(false);
                    s.publish_presence();
                }
            },
            Duration::from_millis(wait as u64),
        );
    }

    /// Publishes who we are and where our primary cursor is.
    fn publish_presence(&self) {
        if self.disposed.get() {
            return;
        }
        let cursor = self.editor.borrow().as_ref().and_then(|editor| {
            let sels: Vec<(u32, u32)> = serde_json::from_str(&editor.selections_json()).ok()?;
            let (anchor, head) = *sels.first()?;
            presence::encode_cursor(&self.doc.transact(), &self.text, anchor, head)
        });
        let state = PresenceState {
            user: self.me.clone(),
            cursor,
        };
        let update = {
            let mut awareness = self.awareness.borrow_mut();
            if awareness.set_local_state(&state).is_err() {
                return;
            }
            let me = awareness.client_id();
            awareness.update_with_clients([me])
        };
        self.cursor_sent_at.set(js_sys::Date::now());
        if let Ok(update) = update
            && self.sync.borrow().is_open()
        {
            self.send(protocol::awareness(update));
        }
        self.refresh_people();
    }

    fn render_cursors(&self) {
        let cursors = {
            let awareness = self.awareness.borrow();
            let me = awareness.client_id();
            let txn = self.doc.transact();
            awareness
                .iter()
                .filter(|(id, _)| *id != me)
                .filter_map(|(id, state)| {
                    presence::remote_cursor(&txn, id.get(), state.data.as_deref()?)
                })
                .collect::<Vec<_>>()
        };
        if let Some(editor) = self.editor.borrow().as_ref() {
            editor.set_cursors(&serde_json::to_string(&cursors).unwrap_or_default());
        }
        self.refresh_people();
    }

    fn refresh_people(&self) {
        let people = {
            let awareness = self.awareness.borrow();
            let states: Vec<_> = awareness.iter().filter_map(|(_, s)| s.data).collect();
            presence::people(states.iter().map(|s| &**s))
        };
        if self.signals.people.with_untracked(|p| *p != people) {
            self.signals.people.set(people);
        }
    }

    fn start_heartbeat(self: &Rc<Self>) {
        let this = self.this.clone();
        let handle = set_interval_with_handle(
            move || {
                if let Some(s) = this.upgrade().filter(|s| !s.disposed.get()) {
                    s.expire_stale();
                    s.publish_presence();
                }
            },
            HEARTBEAT,
        );
        *self.heartbeat.borrow_mut() = handle.ok();
    }

    fn expire_stale(&self) {
        let cutoff = now_ms().saturating_sub(STALE_MS);
        let removed = {
            let mut awareness = self.awareness.borrow_mut();
            let me = awareness.client_id();
            let stale: Vec<ClientID> = awareness
                .iter()
                .filter(|(id, s)| *id != me && s.data.is_some() && s.last_updated < cutoff)
                .map(|(id, _)| id)
                .collect();
            for id in &stale {
                awareness.remove_state(*id);
            }
            !stale.is_empty()
        };
        if removed {
            self.render_cursors();
        }
    }

    pub(crate) fn dispose(&self) {
        if self.save_timer.get() || self.sync.borrow().pending() > 0 {
            self.save_now();
        }
        local::set_open(&self.place.key, false);
        self.disposed.set(true);
        if let Some(h) = self.heartbeat.borrow_mut().take() {
            h.clear();
        }
        if let Some(editor) = self.editor.borrow_mut().take() {
            editor.dispose();
        }
        self.callbacks.borrow_mut().take();
    }
}
