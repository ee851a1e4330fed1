//! A file's history as a dialog: its timeline (newest first, a page at a time), the chosen
//! version in Monaco's diff editor against the version before it or the current text, and
//! restoring it (all of it, or the lines selected in the diff) for those who may edit.

use leptos::prelude::*;

use super::{ago, file_timeline, name_version, restore_version};
use crate::types::{
    DocId, ProjectId,
    history::{LineRange, VersionCursor, VersionEntry, VersionId, Via},
};

/// What the chosen version is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    /// What this entry changed: the version before it on the left, this one on the right.
    Previous,
    /// What changed since: this version on the left, the current text on the right.
    Current,
}

/// The text of the file now: the whole log replayed.
#[cfg(feature = "browser")]
const CURRENT: VersionId = VersionId::Pending(i64::MAX);

/// "3 days ago", or why there is no time.
fn when(e: &VersionEntry, now: i64) -> String {
    if e.at == 0 {
        "Before Tandem kept history".to_owned()
    } else {
        ago(e.at, now)
    }
}

/// How the entry's edits came, where that is worth saying.
fn ways(e: &VersionEntry) -> Vec<&'static str> {
    e.vias
        .iter()
        .filter(|v| !matches!(v, Via::Browser | Via::Unknown))
        .filter_map(|v| v.label())
        .collect()
}

fn id_text(id: VersionId) -> String {
    match id {
        VersionId::Stored(n) => format!("s{n}"),
        VersionId::Pending(n) => format!("p{n}"),
    }
}

#[component]
pub fn HistoryPanel(
    project: ProjectId,
    doc: DocId,
    /// The file's name, for the title.
    #[prop(into)]
    title: Signal<String>,
    /// Monaco's language id for the diff.
    language: &'static str,
    /// Restore and naming are offered (editors); the server checks again.
    #[prop(into)]
    can_edit: Signal<bool>,
    on_close: Callback<()>,
) -> impl IntoView {
    let entries = RwSignal::new(Vec::<VersionEntry>::new());
    let more = RwSignal::new(None::<VersionCursor>);
    let loaded = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let selected = RwSignal::new(None::<VersionEntry>);
    let compare = RwSignal::new(Compare::Current);
    let busy = RwSignal::new(false);
    let new_name = RwSignal::new(String::new());
    // The version the diff shows once drawn (tests wait for it).
    let shown = RwSignal::new(String::new());
    let host = NodeRef::<leptos::html::Div>::new();

    let load = move |before: Option<VersionCursor>| {
        leptos::task::spawn_local(async move {
            match file_timeline(project, doc, before).await {
                Ok(t) => {
                    if before.is_none() {
                        entries.set(t.entries);
                    } else {
                        entries.update(|e| e.extend(t.entries));
                    }
                    more.set(t.more);
                    error.set(None);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            loaded.set(true);
        });
    };
    Effect::new(move |_| load(None));

    #[cfg(feature = "browser")]
    let diff = {
        use leptos::reactive::owner::LocalStorage;
        let diff: StoredValue<Option<super::diff::TandemDiff>, LocalStorage> =
            StoredValue::new_local(None);
        host.on_load(move |el| {
            diff.set_value(Some(super::diff::TandemDiff::new(&el, language)));
        });
        let asked = StoredValue::new(0u64);
        Effect::new(move |_| {
            let Some(entry) = selected.get() else { return };
            let mode = compare.get();
            let ask = asked.get_value().wrapping_add(1);
            asked.set_value(ask);
            leptos::task::spawn_local(async move {
                use super::version_text;
                let this = version_text(project, doc, entry.id).await;
                let other = match (mode, entry.previous) {
                    (Compare::Current, _) => version_text(project, doc, CURRENT).await,
                    (Compare::Previous, Some(p)) => version_text(project, doc, p).await,
                    (Compare::Previous, None) => Ok(String::new()),
                };
                if asked.get_value() != ask {
                    return;
                }
                let (left, right) = match (this, other) {
                    (Ok(a), Ok(b)) if mode == Compare::Current => (a, b),
                    (Ok(a), Ok(b)) => (b, a),
                    (Err(e), _) | (_, Err(e)) => {
                        error.set(Some(e.to_string()));
                        return;
                    }
                };
                let drawn = diff.with_value(|d| d.as_ref().map(|d| d.show(&left, &right)));
                if let Some(p) = drawn {
                    let _ = wasm_bindgen_futures::JsFuture::from(p).await;
                    if asked.get_value() == ask {
                        shown.set(id_text(entry.id));
                    }
                }
            });
        });
        on_cleanup(move || {
            diff.with_value(|d| {
                if let Some(d) = d {
                    d.dispose();
                }
            });
        });
        diff
    };

    #[cfg(not(feature = "browser"))]
    let _ = language;

    // The lines of the chosen version selected in the diff (its side depends on the mode).
    let selected_lines = move || -> Option<LineRange> {
        #[cfg(feature = "browser")]
        {
            let left = compare.get_untracked() == Compare::Current;
            let json = diff.with_value(|d| d.as_ref().map(|d| d.selected_lines(left)))?;
            let [from, to]: [u32; 2] = serde_json::from_str(&json).ok()?;
            Some(LineRange { from, to })
        }
        #[cfg(not(feature = "browser"))]
        None
    };

    let restore = move |only_lines: bool| {
        let Some(entry) = selected.get_untracked() else {
            return;
        };
        let lines = if only_lines {
            match selected_lines() {
                Some(r) => Some(r),
                None => {
                    notice.set(Some(
                        "Select lines on the version's side of the diff first.".to_owned(),
                    ));
                    return;
                }
            }
        } else {
            None
        };
        let what = match lines {
            Some(r) => format!("lines {}–{} of this version", r.from, r.to),
            None => "this version".to_owned(),
        };
        #[cfg(feature = "browser")]
        {
            let ok = web_sys::window()
                .and_then(|w| {
                    w.confirm_with_message(&format!(
                        "Restore {what}? Everyone editing the file sees it at once; it is recorded in the history as your edit."
                    ))
                    .ok()
                })
                .unwrap_or(false);
            if !ok {
                return;
            }
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            match restore_version(project, doc, entry.id, lines).await {
                Ok(()) => {
                    notice.set(Some(format!("Restored {what}.")));
                    error.set(None);
                    load(None);
                    // Redraw against the text as it is now.
                    selected.set(Some(entry));
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };

    let save_name = move || {
        let name = new_name.get_untracked();
        busy.set(true);
        leptos::task::spawn_local(async move {
            match name_version(project, doc, name.clone()).await {
                Ok(()) => {
                    new_name.set(String::new());
                    notice.set(Some(format!(
                        "Saved the current text as “{}”.",
                        name.trim()
                    )));
                    error.set(None);
                    load(None);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };

    let now = crate::browser::now_ms() as i64;
    // Built in parts: one view of it all is a type too deep for the compiler.
    let head = view! {
            <header class="history-head">
                <h2>"History of " {move || title.get()}</h2>
                <button type="button" class="link" data-test="history-close" aria-label="Close history"
                    on:click=move |_| on_close.run(())>"Close"</button>
            </header>
            {move || can_edit.get().then(|| view! {
                <form class="history-name" on:submit=move |ev| { ev.prevent_default(); save_name(); }>
                    <input type="text" maxlength="100" placeholder="Name the current version (e.g. Before the refactor)"
                        aria-label="Version name" data-test="history-name"
                        prop:value=move || new_name.get()
                        on:input=move |ev| new_name.set(event_target_value(&ev))/>
                    <button type="submit" data-test="history-name-save"
                        disabled=move || busy.get() || new_name.with(|n| n.trim().is_empty())>"Save version"</button>
                </form>
            })}
            {move || (!can_edit.get()).then(|| view! {
                <p class="muted small" data-test="history-viewer-note">"Viewers can look through the history but not restore it."</p>
            })}
            {move || error.get().map(|e| view! { <p class="error small" role="alert" data-test="history-error">{e}</p> })}
            {move || notice.get().map(|n| view! { <p class="notice small" role="status" data-test="history-notice">{n}</p> })}
    }
    .into_any();
    let list = view! {
                <ol class="history-list" data-test="history-list">
                    {move || (loaded.get() && entries.with(Vec::is_empty)).then(|| view! {
                        <li class="muted small">"No history yet: versions appear as the file is edited."</li>
                    })}
                    <For each=move || entries.get() key=|e| (e.id, e.started, e.name.clone()) let:entry>
                        {
                            let id = entry.id;
                            let e = entry.clone();
                            let who = if entry.authors.is_empty() { "Unknown".to_owned() } else { entry.authors.join(", ") };
                            let tags = ways(&entry);
                            view! {
                                <li class="history-entry" data-test="history-entry" data-id=id_text(id)
                                    class:selected=move || selected.with(|s| s.as_ref().is_some_and(|s| s.id == id))
                                    class:named=entry.name.is_some() class:restore=entry.is_restore()>
                                    <button type="button" on:click=move |_| { notice.set(None); selected.set(Some(e.clone())); }>
                                        {entry.name.clone().map(|n| view! {
                                            <span class="history-label" data-test="history-label">{n}</span>
                                        })}
                                        <span class="history-when">{when(&entry, now)}</span>
                                        <span class="history-who" data-test="history-who">{who}</span>
                                        {entry.named_by.clone().map(|b| view! { <span class="muted small">"saved by " {b}</span> })}
                                        {tags.into_iter().map(|t| view! { <span class="history-tag">{t}</span> }).collect_view()}
                                    </button>
                                </li>
                            }
                        }
                    </For>
                    {move || more.get().map(|c| view! {
                        <li><button type="button" class="link" data-test="history-more"
                            on:click=move |_| load(Some(c))>"Older versions"</button></li>
                    })}
                </ol>
    }
    .into_any();
    let detail = view! {
                <section class="history-view">
                    {move || selected.get().is_none().then(|| view! {
                        <p class="muted">"Choose a version to see what changed."</p>
                    })}
                    {move || selected.get().is_some().then(|| view! {
                        <div class="history-actions">
                            <span role="group" aria-label="Compare with">
                                <button type="button" class="toggle" data-test="history-vs-current"
                                    aria-pressed=move || (compare.get() == Compare::Current).to_string()
                                    on:click=move |_| compare.set(Compare::Current)>"Compare with now"</button>
                                <button type="button" class="toggle" data-test="history-vs-previous"
                                    aria-pressed=move || (compare.get() == Compare::Previous).to_string()
                                    on:click=move |_| compare.set(Compare::Previous)>"What it changed"</button>
                            </span>
                            {move || can_edit.get().then(|| view! {
                                <button type="button" data-test="history-restore" disabled=move || busy.get()
                                    on:click=move |_| restore(false)>"Restore this version"</button>
                                <button type="button" data-test="history-restore-lines" disabled=move || busy.get()
                                    title="Select lines of the version in the diff, then restore only those"
                                    on:click=move |_| restore(true)>"Restore selected lines"</button>
                            })}
                        </div>
                    })}
                    <div class="history-diff" node_ref=host data-test="history-diff"
                        data-shown=move || shown.get()
                        class:hidden=move || selected.with(Option::is_none)></div>
                </section>
    }
    .into_any();
    view! {
        <div class="history-backdrop" on:click=move |_| on_close.run(())>
        <div class="history-panel" role="dialog" aria-label="File history" data-test="history-panel"
            on:click=|ev| ev.stop_propagation()
            on:keydown=move |ev| if ev.key() == "Escape" { on_close.run(()) }>
            {head}
            <div class="history-body">
                {list}
                {detail}
            </div>
        </div>
        </div>
    }
}
