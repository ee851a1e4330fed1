//! The tree's context menu and the trash section.

use leptos::prelude::*;

use super::{Files, tree::Creating};
use crate::editor::lang::icon_for;
use crate::files::{FileKind, duplicate_entry, empty_trash, restore_entry};
use crate::types::FileId;

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
                let href = if e.kind == FileKind::Folder {
                    format!("/api/projects/{project}/export.zip?folder={id}")
                } else {
                    format!("/api/projects/{project}/files/{id}/raw")
                };
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

/// Trashed entries with restore, and emptying the trash.
#[component]
pub(super) fn Trash(files: Files) -> AnyView {
    let view = {
        let project = files.project;
        let items = Memo::new(move |_| {
            files.tree.with(|t| {
                t.trash()
                    .into_iter()
                    .map(|e| (e.id, t.path(e.id).unwrap_or_else(|| e.name.clone()), e.kind))
                    .collect::<Vec<_>>()
            })
        });
        view! {
            <details class="trash" data-test="trash">
                <summary>{move || format!("Trash ({})", items.with(Vec::len))}</summary>
                <ul>
                    <For each=move || items.get() key=|i| i.clone() let:item>
                        <li class="trash-item" data-test="trash-item" data-name=item.1.clone()>
                            <span class=format!("file-icon icon-{}", if item.2 == FileKind::Folder { "folder" } else { icon_for(&item.1) }) aria-hidden="true"></span>
                            <span class="name">{item.1.clone()}</span>
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
                                .and_then(|w| w.confirm_with_message("Delete everything in the trash for good?").ok())
                                .unwrap_or(false);
                            if ok {
                                files.run(empty_trash(project));
                            }
                        }>"Empty trash"</button>
                })}
            </details>
        }
    };
    view.into_any()
}
