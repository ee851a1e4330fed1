//! The tree's context menu and the trash section.

use leptos::prelude::*;

use super::{Files, tree::Creating};
use crate::editor::lang::icon_for;
use crate::files::{
    FileKind, duplicate_entry, empty_trash, purged_files, restore_entry, restore_purged,
};
use crate::types::{DocId, FileId, files::PurgedFile};

#[component]
pub(super) fn ContextMenu(
    files: Files,
    menu: RwSignal<Option<(i32, i32, Option<FileId>)>>,
    renaming: RwSignal<Option<FileId>>,
    creating: RwSignal<Creating>,
) -> AnyView {
    let view = {
        let project = files.project;
        let item =
            move |label: &'static str, test: &'static str, action: Box<dyn Fn() + Send + Sync>| {
                view! {
                    <li><button type="button" role="menuitem" data-test=test
                        on:click=move |_| { menu.set(None); action(); }>{label}</button></li>
                }
            };
        move || {
            let (x, y, target) = menu.get()?;
            let entry = target.and_then(|id| files.tree.with_untracked(|t| t.get(id).cloned()));
            let folder_for_new = match &entry {
                Some(e) if e.kind == FileKind::Folder => Some(e.id),
                Some(e) => e.parent,
                None => None,
            };
            let mut items = Vec::new();
            if files.writable {
                items.push(
                    item(
                        "New file",
                        "menu-new-file",
                        Box::new(move || {
                            if let Some(f) = folder_for_new {
                                files.expanded.update(|e| {
                                    e.insert(f);
                                });
                            }
                            creating.set(Some((folder_for_new, FileKind::File)));
                        }),
                    )
                    .into_any(),
                );
                items.push(
                    item(
                        "New folder",
                        "menu-new-folder",
                        Box::new(move || {
                            if let Some(f) = folder_for_new {
                                files.expanded.update(|e| {
                                    e.insert(f);
                                });
                            }
                            creating.set(Some((folder_for_new, FileKind::Folder)));
                        }),
                    )
                    .into_any(),
                );
            }
            if let Some(e) = &entry {
                let id = e.id;
                if e.kind != FileKind::Folder {
                    items.push(
                        item("Open", "menu-open", Box::new(move || files.open(id))).into_any(),
                    );
                }
                if files.writable {
                    items.push(
                        item(
                            "Rename",
                            "menu-rename",
                            Box::new(move || renaming.set(Some(id))),
                        )
                        .into_any(),
                    );
                    items.push(
                        item(
                            "Duplicate",
                            "menu-duplicate",
                            Box::new(move || files.run(duplicate_entry(project, id))),
                        )
                        .into_any(),
                    );
                    items.push(
                        item("Delete", "menu-delete", Box::new(move || files.trash(id))).into_any(),
                    );
                }
                let href = crate::remote::server_url(&if e.kind == FileKind::Folder {
                    format!("/api/projects/{project}/export.zip?folder={id}")
                } else {
                    format!("/api/projects/{project}/files/{id}/raw")
                });
                items.push(view! {
                <li><a role="menuitem" href=href download data-test="menu-download">"Download"</a></li>
            }.into_any());
            }
            Some(view! {
                <ul class="context-menu" role="menu" data-test="context-menu"
                    style=format!("left:{x}px;top:{y}px") on:click=|ev| ev.stop_propagation()>
                    {items}
                </ul>
            })
        }
    };
    view.into_any()
}

/// Trashed entries with restore and their history, emptying the trash, and the text files of
/// emptied trashes still kept (history for everyone, bring back for owners).
#[component]
pub(super) fn Trash(files: Files) -> AnyView {
    let view = {
        let project = files.project;
        let items = Memo::new(move |_| {
            files.tree.with(|t| {
                t.trash()
                    .into_iter()
                    .map(|e| {
                        let path = t.path(e.id).unwrap_or_else(|| e.name.clone());
                        (e.id, path, e.kind, e.doc)
                    })
                    .collect::<Vec<_>>()
            })
        });
        // Loaded when the section is opened, and again after the trash is emptied.
        let kept = RwSignal::new(None::<Vec<PurgedFile>>);
        let load_kept = move || {
            leptos::task::spawn_local(async move {
                match purged_files(project).await {
                    Ok(k) => kept.set(Some(k)),
                    Err(e) => files.error.set(Some(e.to_string())),
                }
            });
        };
        // The file whose history is open: (document, name, may restore). Files deleted for
        // good are read only: bring them back first.
        let history = RwSignal::new(None::<(DocId, String, bool)>);
        let show_history =
            move |doc: DocId, name: String, edit: bool| history.set(Some((doc, name, edit)));
        view! {
            <details class="trash" data-test="trash"
                on:toggle=move |_| {
                    if kept.with_untracked(Option::is_none) {
                        load_kept();
                    }
                }>
                <summary>{move || format!("Trash ({})", items.with(Vec::len))}</summary>
                <ul>
                    <For each=move || items.get() key=|i| i.clone() let:item>
                        <li class="trash-item" data-test="trash-item" data-name=item.1.clone()>
                            <span class=format!("file-icon icon-{}", if item.2 == FileKind::Folder { "folder" } else { icon_for(&item.1) }) aria-hidden="true"></span>
                            <span class="name">{item.1.clone()}</span>
                            {item.3.map(|doc| {
                                let name = item.1.clone();
                                view! {
                                    <button type="button" class="link" data-test="trash-history"
                                        on:click=move |_| show_history(doc, name.clone(), files.writable)>"History"</button>
                                }
                            })}
                            {files.writable.then(|| view! {
                                <button type="button" class="link" data-test="restore"
                                    on:click=move |_| files.run(restore_entry(project, item.0))>"Restore"</button>
                            })}
                        </li>
                    </For>
                </ul>
                {move || (files.writable && !items.with(Vec::is_empty)).then(|| view! {
                    <button type="button" class="danger small" data-test="empty-trash"
                        on:click=move |_| {
                            let ok = web_sys::window()
                                .and_then(|w| w.confirm_with_message(
                                    "Empty the trash? Text files stay recoverable by the project's owners for the server's retention period; everything else goes for good.",
                                ).ok())
                                .unwrap_or(false);
                            if ok {
                                files.run(async move {
                                    let done = empty_trash(project).await;
                                    load_kept();
                                    done
                                });
                            }
                        }>"Empty trash"</button>
                })}
                {move || kept.get().filter(|k| !k.is_empty()).map(|k| view! {
                    <p class="muted small kept-head">"Deleted for good, still kept:"</p>
                    <ul class="kept" data-test="kept">
                        {k.into_iter().map(|p| {
                            let (doc, name) = (p.doc, p.path.clone());
                            let until = crate::audit::format_ms(p.expires_at * 1000);
                            let id = p.id;
                            view! {
                                <li class="trash-item" data-test="kept-item" data-name=p.path.clone()
                                    title=format!("Deleted by {}; kept until {until}", p.purged_by)>
                                    <span class="name">{p.path.clone()}</span>
                                    <button type="button" class="link" data-test="kept-history"
                                        on:click=move |_| show_history(doc, name.clone(), false)>"History"</button>
                                    {files.is_owner.then(|| view! {
                                        <button type="button" class="link" data-test="kept-restore"
                                            on:click=move |_| files.run(async move {
                                                let done = restore_purged(project, id).await;
                                                load_kept();
                                                done
                                            })>"Bring back"</button>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                })}
            </details>
            {move || history.get().map(|(doc, name, edit)| {
                let language = crate::editor::lang::language_for(&name);
                view! {
                    <crate::history::HistoryPanel project=project doc=doc title=name language=language
                        can_edit=edit on_close=Callback::new(move |_| history.set(None))/>
                }
            })}
        }
    };
    view.into_any()
}
