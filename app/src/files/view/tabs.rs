//! The editor tabs and the open documents under them; binary files get a download page.

use leptos::{ev, prelude::*};

use super::Files;
use crate::files::{FileEntry, FileKind, MAX_TEXT_BYTES};
use crate::{
    editor::{DocView, FileDoc, OpenDocs, lang::icon_for, status::Save},
    types::{FileId, UserInfo},
};

/// The tab strip and the open documents under it.
#[component]
pub fn EditorTabs(files: Files, me: UserInfo, docs: OpenDocs) -> AnyView {
    let view = {
        let tabs = files.tabs;
        let dragged = RwSignal::new(None::<FileId>);
        let entry_of = move |id: FileId| files.tree.with(|t| t.get(id).cloned());
        let close = move |id: FileId| {
            let unsaved = tabs.open.with_untracked(|o| {
                o.iter()
                    .find(|t| t.file == id)
                    .is_some_and(|t| matches!(t.signals.save.get_untracked(), Save::Unsaved))
            });
            let ok = !unsaved
            || web_sys::window()
                .and_then(|w| {
                    w.confirm_with_message(
                        "This file has changes that are not saved yet (you are offline). Close it anyway?",
                    )
                    .ok()
                })
                .unwrap_or(false);
            if ok {
                files.close(id);
            }
        };
        let reorder = move |from: FileId, to: FileId| {
            tabs.open.update(|o| {
                let (Some(a), Some(b)) = (
                    o.iter().position(|t| t.file == from),
                    o.iter().position(|t| t.file == to),
                ) else {
                    return;
                };
                let t = o.remove(a);
                o.insert(b, t);
            });
            files.save_tabs();
        };
        view! {
            <div class="tab-strip" role="tablist" data-test="tab-strip">
                <For each=move || tabs.open.get() key=|t| t.file let:tab>
                    {
                        let id = tab.file;
                        let name = move || entry_of(id).map(|e| e.name).unwrap_or_default();
                        // Changed elsewhere while another tab was in front: marked until shown.
                        let unseen = RwSignal::new(false);
                        Effect::new(move |before: Option<u64>| {
                            let now = tab.signals.remote.get();
                            if before.is_some_and(|b| b != now) && tabs.active.get_untracked() != Some(id) {
                                unseen.set(true);
                            }
                            now
                        });
                        Effect::new(move |_| {
                            if tabs.active.get() == Some(id) {
                                unseen.set(false);
                            }
                        });
                        view! {
                            <div class="file-tab" role="tab" data-test="file-tab" data-name=name
                                aria-selected=move || (tabs.active.get() == Some(id)).to_string()
                                class:active=move || tabs.active.get() == Some(id)
                                class:trashed=move || !files.tree.with(|t| t.is_live(id))
                                draggable="true" title=move || files.tree.with(|t| t.path(id)).unwrap_or_default()
                                on:click=move |_| { tabs.active.set(Some(id)); files.selected.set(Some(id)); files.save_tabs(); }
                                on:auxclick=move |ev: ev::MouseEvent| if ev.button() == 1 { close(id); }
                                on:dragstart=move |_| dragged.set(Some(id))
                                on:dragover=move |ev: ev::DragEvent| if dragged.get_untracked().is_some() { ev.prevent_default(); }
                                on:drop=move |ev: ev::DragEvent| {
                                    ev.prevent_default();
                                    if let Some(from) = dragged.get_untracked() { reorder(from, id); }
                                    dragged.set(None);
                                }>
                                <span class=move || format!("file-icon icon-{}", icon_for(&name())) aria-hidden="true"></span>
                                <span class="name">{name}</span>
                                {move || matches!(tab.signals.save.get(), Save::Saving | Save::Unsaved)
                                    .then(|| view! { <span class="unsaved-dot" title="Unsaved changes">"●"</span> })}
                                {move || unseen.get().then(|| view! {
                                    <span class="changed-dot" title="Changed by others since you last looked" data-test="tab-changed">"•"</span>
                                })}
                                <button type="button" class="tab-close" aria-label="Close" data-test="tab-close"
                                    on:click=move |ev| { ev.stop_propagation(); close(id); }>"×"</button>
                            </div>
                        }
                    }
                </For>
            </div>
            {move || tabs.open.with(Vec::is_empty).then(|| view! {
                <div class="empty-editor" data-test="no-open-file">
                    <h2>{move || if files.tree.with(|t| t.files().is_empty()) { "No files yet" } else { "No file open" }}</h2>
                    <p class="muted">{if files.writable { "Pick a file in the tree, create one, or press Ctrl+P." } else { "Pick a file in the tree or press Ctrl+P." }}</p>
                </div>
            })}
            <For each=move || tabs.open.get() key=|t| t.file let:tab>
                {
                    let id = tab.file;
                    let entry = files.tree.with_untracked(|t| t.get(id).cloned());
                    let me = me.clone();
                    view! {
                        <div class="doc-pane" class:hidden=move || tabs.active.get() != Some(id) data-file=id.0>
                            {entry.map(|e| match (e.kind, e.doc) {
                                (FileKind::File, Some(doc)) => view! {
                                    <DocView file=FileDoc { file: id, name: e.name.clone(), doc } project=files.project
                                        me=me.clone() docs=docs signals=tab.signals reveal=tab.reveal
                                        name=Signal::derive(move || files.tree.with(|t| t.get(id).map(|e| e.name.clone())).unwrap_or_default())
                                        trashed=Signal::derive(move || !files.tree.with(|t| t.is_live(id)))
                                        writable_hint=files.writable/>
                                }.into_any(),
                                _ => view! { <BlobView files=files entry=e/> }.into_any(),
                            })}
                        </div>
                    }
                }
            </For>
        }
    };
    view.into_any()
}

/// A binary or too-large file: what it is and a download link, never loaded into Monaco.
#[component]
pub(super) fn BlobView(files: Files, entry: FileEntry) -> AnyView {
    let view = {
        let size = entry.size.unwrap_or(0);
        let what = if size as usize > MAX_TEXT_BYTES {
            "This file is too large to edit in the browser"
        } else {
            "This is a binary file"
        };
        view! {
            <div class="blob-view" data-test="blob-view">
                <h2>{entry.name.clone()}</h2>
                <p>{format!("{what} ({}).", human_size(size))}</p>
                <a class="button" href=crate::remote::server_url(&format!("/api/projects/{}/files/{}/raw", files.project, entry.id)) download>"Download"</a>
            </div>
        }
    };
    view.into_any()
}

pub fn human_size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b < 1024.0 {
        format!("{bytes} B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.1} KB", b / 1024.0)
    } else {
        format!("{:.1} MB", b / (1024.0 * 1024.0))
    }
}
