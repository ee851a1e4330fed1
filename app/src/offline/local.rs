//! The browser side of the local copies: typed calls into `store.js`, the bounds enforced after
//! each write, and the set of documents open in this tab (never evicted). Writes are fire and
//! forget (a failed write is logged; the server still has everything it acknowledged).

use std::{cell::RefCell, collections::HashSet};

use js_sys::Uint8Array;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;

use super::budget::{self, CopyInfo, Limits};

#[wasm_bindgen(module = "/src/offline/store.js")]
extern "C" {
    #[wasm_bindgen(js_name = getDoc, catch)]
    async fn js_get_doc(key: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = putDoc, catch)]
    async fn js_put_doc(
        key: &str,
        user: f64,
        project: f64,
        doc: f64,
        name: &str,
        state: Uint8Array,
        pending: f64,
    ) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = appendEdit, catch)]
    async fn js_append_edit(key: &str, update: Uint8Array) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = markSent, catch)]
    async fn js_mark_sent(key: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = listDocs, catch)]
    async fn js_list_docs() -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = deleteDocs, catch)]
    async fn js_delete_docs(keys: js_sys::Array) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = putProject, catch)]
    async fn js_put_project(
        key: &str,
        user: f64,
        project: f64,
        name: &str,
        json: &str,
    ) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = listProjects, catch)]
    async fn js_list_projects() -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = getProject, catch)]
    async fn js_get_project(key: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = queueChat, catch)]
    async fn js_queue_chat(
        user: f64,
        project: f64,
        client: &str,
        text: &str,
    ) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = queuedChat, catch)]
    async fn js_queued_chat(user: f64, project: f64) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = unqueueChat, catch)]
    async fn js_unqueue_chat(client: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = clearAll, catch)]
    async fn js_clear_all() -> Result<JsValue, JsValue>;
}

/// The person whose copies this browser holds (the last to load a project here).
pub const USER_KEY: &str = "tandem.offline.user";

thread_local! {
    /// Documents open in this tab: never evicted while open.
    static OPEN: RefCell<HashSet<String>> = RefCell::default();
    /// When the bounds were last enforced (ms): listing every copy after each write of a
    /// document someone is typing in would cost more than the copies themselves.
    static ENFORCED_AT: std::cell::Cell<f64> = const { std::cell::Cell::new(f64::NEG_INFINITY) };
}

/// How often the bounds are checked while documents are being written.
const ENFORCE_EVERY_MS: f64 = 10_000.0;

/// The bytes kept for one document.
pub struct Cached {
    /// The whole state as last written (v1 update), if one was.
    pub state: Option<Vec<u8>>,
    /// Local edits appended after it.
    pub edits: Vec<Vec<u8>>,
    /// Local edits the server had not acknowledged when it was written.
    pub pending: u64,
}

fn warn(what: &str, e: &JsValue) {
    leptos::logging::warn!("local copies: {what} failed: {e:?}");
}

fn bytes_of(v: &JsValue) -> Option<Vec<u8>> {
    v.dyn_ref::<Uint8Array>().map(Uint8Array::to_vec)
}

fn field(v: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(v, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// Marks a document open (kept from eviction) or closed.
pub fn set_open(key: &str, open: bool) {
    OPEN.with(|o| {
        let mut o = o.borrow_mut();
        if open {
            o.insert(key.to_owned());
        } else {
            o.remove(key);
        }
    });
}

pub async fn load_doc(key: &str) -> Option<Cached> {
    let v = match js_get_doc(key).await {
        Ok(v) if !v.is_null() && !v.is_undefined() => v,
        Ok(_) => return None,
        Err(e) => {
            warn("reading a document", &e);
            return None;
        }
    };
    let edits = js_sys::Array::from(&field(&v, "edits"))
        .iter()
        .filter_map(|e| bytes_of(&e))
        .collect();
    Some(Cached {
        state: bytes_of(&field(&v, "state")),
        edits,
        pending: field(&v, "pending").as_f64().unwrap_or(0.0) as u64,
    })
}

/// Where a document's copy belongs.
#[derive(Clone)]
pub struct DocPlace {
    pub key: String,
    pub user: i64,
    pub project: i64,
    pub doc: i64,
    pub name: String,
}

/// Writes a document's whole state, then keeps the copies within their bounds.
pub fn save_doc(place: &DocPlace, state: Vec<u8>, pending: u64) {
    let p = place.clone();
    spawn_local(async move {
        let state = Uint8Array::from(state.as_slice());
        if let Err(e) = js_put_doc(
            &p.key,
            p.user as f64,
            p.project as f64,
            p.doc as f64,
            &p.name,
            state,
            pending as f64,
        )
        .await
        {
            warn("writing a document", &e);
            return;
        }
        let now = js_sys::Date::now();
        if now - ENFORCED_AT.with(std::cell::Cell::get) >= ENFORCE_EVERY_MS {
            ENFORCED_AT.with(|t| t.set(now));
            enforce().await;
        }
    });
}

/// Appends a local edit at once, so it survives a tab closed before the next whole write.
pub fn append_edit(key: &str, update: &[u8]) {
    let key = key.to_owned();
    let update = Uint8Array::from(update);
    spawn_local(async move {
        if let Err(e) = js_append_edit(&key, update).await {
            warn("keeping an edit", &e);
        }
    });
}

pub fn mark_sent(key: &str) {
    let key = key.to_owned();
    spawn_local(async move {
        if let Err(e) = js_mark_sent(&key).await {
            warn("marking a copy sent", &e);
        }
    });
}

/// Every document copy's bookkeeping.
pub async fn list() -> Vec<CopyInfo> {
    match js_list_docs().await {
        Ok(v) => serde_wasm(&v).unwrap_or_default(),
        Err(e) => {
            warn("listing copies", &e);
            Vec::new()
        }
    }
}

/// Reads a JS value through JSON (the store hands plain objects of numbers and strings).
fn serde_wasm<T: serde::de::DeserializeOwned>(v: &JsValue) -> Option<T> {
    let json = js_sys::JSON::stringify(v).ok()?.as_string()?;
    serde_json::from_str(&json).ok()
}

/// The bounds in force: the defaults, or the `tandem.offline.limits` browser setting.
pub fn limits() -> Limits {
    crate::browser::storage()
        .and_then(|s| s.get_item("tandem.offline.limits").ok().flatten())
        .and_then(|s| Limits::parse(&s))
        .unwrap_or_default()
}

/// Deletes the least recently used copies beyond the bounds (never open or unsent ones).
pub async fn enforce() {
    let copies = list().await;
    let open = OPEN.with(|o| o.borrow().clone());
    let gone = budget::evictions(&copies, limits(), &open);
    if gone.is_empty() {
        return;
    }
    let keys: js_sys::Array = gone.iter().map(|k| JsValue::from_str(k)).collect();
    if let Err(e) = js_delete_docs(keys).await {
        warn("evicting copies", &e);
    }
}

pub fn save_project(key: &str, user: i64, project: i64, name: &str, json: String) {
    let (key, name) = (key.to_owned(), name.to_owned());
    spawn_local(async move {
        if let Err(e) = js_put_project(&key, user as f64, project as f64, &name, &json).await {
            warn("keeping a project", &e);
        }
    });
}

/// The kept projects' names by id.
pub async fn project_names() -> Vec<(i64, String)> {
    #[derive(serde::Deserialize)]
    struct Row {
        project: i64,
        #[serde(default)]
        name: String,
    }
    match js_list_projects().await {
        Ok(v) => serde_wasm::<Vec<Row>>(&v)
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.project, r.name))
            .collect(),
        Err(e) => {
            warn("listing projects", &e);
            Vec::new()
        }
    }
}

pub async fn load_project(key: &str) -> Option<String> {
    match js_get_project(key).await {
        Ok(v) => v.as_string(),
        Err(e) => {
            warn("reading a project", &e);
            None
        }
    }
}

/// A chat message written offline, waiting to be sent.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct QueuedChat {
    pub client: String,
    pub text: String,
}

pub async fn queue_chat(user: i64, project: i64, client: &str, text: &str) -> bool {
    match js_queue_chat(user as f64, project as f64, client, text).await {
        Ok(_) => true,
        Err(e) => {
            warn("queueing a message", &e);
            false
        }
    }
}

pub async fn queued_chat(user: i64, project: i64) -> Vec<QueuedChat> {
    match js_queued_chat(user as f64, project as f64).await {
        Ok(v) => serde_wasm(&v).unwrap_or_default(),
        Err(e) => {
            warn("reading queued messages", &e);
            Vec::new()
        }
    }
}

pub async fn unqueue_chat(client: &str) {
    if let Err(e) = js_unqueue_chat(client).await {
        warn("removing a sent message", &e);
    }
}

/// Deletes every local copy (signing out).
pub async fn clear_all() {
    if let Err(e) = js_clear_all().await {
        warn("clearing", &e);
    }
}

/// Signing out: every local copy and the record of whose they were.
pub async fn forget_user() {
    clear_all().await;
    if let Some(s) = crate::browser::storage() {
        let _ = s.remove_item(USER_KEY);
    }
}
