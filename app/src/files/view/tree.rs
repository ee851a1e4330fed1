//! The file pane: toolbar, filter, the virtualised tree with inline create and rename.

use std::collections::HashSet;

use leptos::{ev, prelude::*, task::spawn_local};

use super::{
    Files,
    menu::{ContextMenu, Trash},
    search::SearchPanel,
};
use crate::files::{FileKind, create_entry, names, rename_entry, tree::Row};
use crate::types::FileId;
use crate::{
    browser::on_window,
    editor::{lang::icon_for, presence::color_index},
};

/// Height of one tree row in pixels (the CSS uses the same).
const ROW_H: f64 = 24.0;
/// A row's height where the pointer is a finger (`--row-h` in style/main.css says the same).
const TOUCH_ROW_H: f64 = 40.0;
/// How long a finger rests on a row before its menu opens.
const LONG_PRESS: std::time::Duration = std::time::Duration::from_millis(500);

/// The row height in use: rows are drawn at `var(--row-h)`, and the window of rows to draw
/// is computed with the same number (the server renders the mouse layout; rows are placed by
/// index in CSS, so the first client render fixes nothing).
fn row_h() -> f64 {
    if crate::browser::coarse_pointer() {
        TOUCH_ROW_H
    } else {
        ROW_H
    }
}
/// Rows rendered above and below the visible ones, so fast scrolling shows no gaps.
pub(super) const OVERSCAN: usize = 10;

/// What the file pane is showing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum PaneMode {
    Tree,
    Search,
}

/// A pending inline create: in which folder, a file or a folder.
pub(super) type Creating = Option<(Option<FileId>, FileKind)>;

/// The file pane: toolbar, filter, the virtualised tree, the trash; or search.
#[component]
pub fn FileTree(files: Files) -> AnyView {
    let view = {
        let mode = RwSignal::new(PaneMode::Tree);
        let filter = RwSignal::new(String::new());
        let creating = RwSignal::new(None::<(Option<FileId>, FileKind)>);
        let renaming = RwSignal::new(None::<FileId>);
        let menu = RwSignal::new(None::<(i32, i32, Option<FileId>)>);
        on_window(ev::click, move |_| {
            if menu.get_untracked().is_some() {
                menu.set(None);
            }
        });
        on_window(ev::keydown, move |e: ev::KeyboardEvent| {
            if e.key() == "Escape" && menu.get_untracked().is_some() {
                menu.set(None);
            }
        });
        // "Changed since you looked": now, whenever the window comes back, and every minute.
        #[cfg(feature = "browser")]
        {
            files.refresh_changed();
            on_window(ev::focus, move |_| files.refresh_changed());
            let every = set_interval_with_handle(
                move || files.refresh_changed(),
                std::time::Duration::from_secs(60),
            );
            on_cleanup(move || {
                if let Ok(h) = every {
                    h.clear();
                }
            });
        }
        let project = files.project;
        let new_entry = move |kind: FileKind| {
            mode.set(PaneMode::Tree);
            let parent = files.target_folder();
            if let Some(p) = parent {
                files.expanded.update(|e| {
                    e.insert(p);
                });
            }
            creating.set(Some((parent, kind)));
        };
        view! {
            <div class="tree-toolbar">
                <button type="button" class="icon-button" class:active=move || mode.get() == PaneMode::Tree
                    title="Files" data-test="mode-tree" on:click=move |_| mode.set(PaneMode::Tree)>"Files"</button>
                <button type="button" class="icon-button" class:active=move || mode.get() == PaneMode::Search
                    title="Search in files" data-test="mode-search" on:click=move |_| mode.set(PaneMode::Search)>"Search"</button>
                <span class="spacer"></span>
                {files.writable.then(|| view! {
                    <button type="button" class="icon-button" title="New file" data-test="new-file"
                        on:click=move |_| new_entry(FileKind::File)>"+ File"</button>
                    <button type="button" class="icon-button" title="New folder" data-test="new-folder"
                        on:click=move |_| new_entry(FileKind::Folder)>"+ Folder"</button>
                })}
                <button type="button" class="icon-button" title="Collapse all folders" data-test="collapse-all"
                    on:click=move |_| { files.expanded.set(HashSet::new()); files.save_expanded(); }>"⊟"</button>
                <a class="icon-button" href=crate::remote::server_url(&format!("/api/projects/{project}/export.zip")) download
                    title="Download the project as a zip" data-test="download-zip">"⤓"</a>
            </div>
            {move || files.error.get().map(|e| view! {
                <div class="error tree-error" role="alert" data-test="tree-error">
                    {e}<button type="button" class="link" aria-label="Dismiss" on:click=move |_| files.error.set(None)>"×"</button>
                </div>
            })}
            <Show when=move || mode.get() == PaneMode::Tree fallback=move || view! { <SearchPanel files=files/> }>
                <input class="tree-filter" type="search" placeholder="Filter files" aria-label="Filter files"
                    data-test="tree-filter" prop:value=move || filter.get()
                    on:input=move |ev| filter.set(event_target_value(&ev))/>
                <CreateInput files=files creating=creating/>
                <TreeRows files=files filter=filter renaming=renaming menu=menu/>
                <Trash files=files/>
            </Show>
            <ContextMenu files=files menu=menu renaming=renaming creating=creating/>
        }
    };
    view.into_any()
}

/// The inline input for a new file or folder, with its validation shown as you type.
#[component]
pub(super) fn CreateInput(files: Files, creating: RwSignal<Creating>) -> AnyView {
    let view = {
        let name = RwSignal::new(String::new());
        let problem = RwSignal::new(None::<String>);
        let submit = move || {
            let Some((parent, kind)) = creating.get_untracked() else {
                return;
            };
            let n = name.get_untracked();
            if let Err(e) = names::check_name(&n) {
                problem.set(Some(e));
                return;
            }
            let project = files.project;
            spawn_local(async move {
                match create_entry(project, parent, n, kind).await {
                    Ok(entry) => {
                        files.tree.update(|t| t.apply(vec![entry.clone()]));
                        creating.set(None);
                        name.set(String::new());
                        problem.set(None);
                        files.selected.set(Some(entry.id));
                        if kind == FileKind::File {
                            files.open(entry.id);
                        }
                    }
                    Err(e) => problem.set(Some(e.to_string())),
                }
            });
        };
        let where_ = move || {
            let (parent, kind) = creating.get()?;
            let place = match parent {
                Some(p) => files.tree.with(|t| t.path(p)).unwrap_or_default(),
                None => "the project root".into(),
            };
            let what = if kind == FileKind::Folder {
                "folder"
            } else {
                "file"
            };
            Some(format!("New {what} in {place}"))
        };
        view! {
            {move || where_().map(|label| view! {
                <form class="create-entry" data-test="create-entry" on:submit=move |ev| { ev.prevent_default(); submit(); }>
                    <label class="muted small">{label.clone()}</label>
                    <input type="text" aria-label=label autofocus data-test="create-name"
                        prop:value=move || name.get()
                        on:input=move |ev| {
                            let v = event_target_value(&ev);
                            problem.set(names::check_name(&v).err().filter(|_| !v.is_empty()));
                            name.set(v);
                        }
                        on:keydown=move |ev| if ev.key() == "Escape" { creating.set(None); problem.set(None); name.set(String::new()); }/>
                    {move || problem.get().map(|p| view! { <p class="field-error" role="alert" data-test="create-error">{p}</p> })}
                </form>
            })}
        }
    };
    view.into_any()
}

/// The tree's rows, rendered only around the visible part.
#[component]
pub(super) fn TreeRows(
    files: Files,
    filter: RwSignal<String>,
    renaming: RwSignal<Option<FileId>>,
    menu: RwSignal<Option<(i32, i32, Option<FileId>)>>,
) -> AnyView {
    let view = {
        let list = NodeRef::<leptos::html::Div>::new();
        let scroll_top = RwSignal::new(0.0f64);
        // Before the first measurement (and on the server): a typical pane's height.
        let height = RwSignal::new(800.0f64);
        let rows = Memo::new(move |_| {
            let f = filter.get();
            files
                .expanded
                .with(|open| files.tree.with(|t| t.rows(open, &f)))
        });
        let dragging = RwSignal::new(None::<FileId>);
        let drop_target = RwSignal::new(None::<Option<FileId>>);
        let measure = move || {
            if let Some(el) = list.get_untracked() {
                height.set(f64::from(el.client_height()).max(row_h()));
            }
        };
        list.on_load(move |_| measure());
        on_window(ev::resize, move |_| measure());
        let window = move || {
            let all = rows.get();
            let first = ((scroll_top.get() / row_h()) as usize).saturating_sub(OVERSCAN);
            let count = (height.get() / row_h()).ceil() as usize + 2 * OVERSCAN;
            all.into_iter()
                .enumerate()
                .skip(first)
                .take(count)
                .collect::<Vec<_>>()
        };
        let scroll_to = move |index: usize| {
            let Some(el) = list.get_untracked() else {
                return;
            };
            let h = row_h();
            let top = index as f64 * h;
            let view_h = f64::from(el.client_height());
            let cur = f64::from(el.scroll_top());
            if top < cur {
                el.set_scroll_top(top as i32);
            } else if top + h > cur + view_h {
                el.set_scroll_top((top + h - view_h) as i32);
            }
        };
        let on_key = move |ev: ev::KeyboardEvent| {
            if renaming.get_untracked().is_some() {
                return;
            }
            let all = rows.get_untracked();
            if tree_key(files, &all, &ev.key(), renaming, scroll_to) {
                ev.prevent_default();
            }
        };
        // Dropping on the empty part of the list moves to the root.
        let root_over = move |ev: ev::DragEvent| {
            if dragging.get_untracked().is_some() {
                ev.prevent_default();
                drop_target.set(Some(None));
            }
        };
        let root_drop = move |ev: ev::DragEvent| {
            ev.prevent_default();
            if let Some(id) = dragging.get_untracked() {
                files.move_into(id, None);
            }
            dragging.set(None);
            drop_target.set(None);
        };
        view! {
            <div class="tree-list" node_ref=list tabindex="0" role="tree" aria-label="Project files"
                data-test="file-tree" data-count=move || rows.with(Vec::len)
                class:drop-root=move || drop_target.get() == Some(None)
                on:scroll=move |_| if let Some(el) = list.get_untracked() { scroll_top.set(f64::from(el.scroll_top())); }
                on:keydown=on_key on:dragover=root_over on:drop=root_drop
                on:dragleave=move |_| drop_target.set(None)
                on:contextmenu=move |ev: ev::MouseEvent| {
                    ev.prevent_default();
                    menu.set(Some((ev.client_x(), ev.client_y(), None)));
                }>
                {move || rows.with(Vec::is_empty).then(|| view! {
                    <p class="empty" data-test="tree-empty">{move || if filter.with(String::is_empty) { "No files yet" } else { "No matching files" }}</p>
                })}
                <div class="tree-spacer" style=move || format!("--n:{}", rows.with(Vec::len))>
                    <For each=window key=|(i, r)| (*i, r.clone()) let:item>
                        <TreeRow files=files index=item.0 row=item.1 renaming=renaming menu=menu
                            dragging=dragging drop_target=drop_target/>
                    </For>
                </div>
            </div>
        }
    };
    view.into_any()
}

/// Keyboard use of the tree: arrows move and open or close folders, Home/End jump, Enter
/// opens, F2 renames, Delete trashes. False when the key is not the tree's.
fn tree_key(
    files: Files,
    all: &[Row],
    key: &str,
    renaming: RwSignal<Option<FileId>>,
    scroll_to: impl Fn(usize),
) -> bool {
    let pos = files
        .selected
        .get_untracked()
        .and_then(|s| all.iter().position(|r| r.id == s));
    let select = |i: usize| {
        if let Some(r) = all.get(i) {
            files.selected.set(Some(r.id));
            scroll_to(i);
        }
    };
    match key {
        "ArrowDown" => select(pos.map_or(0, |p| (p + 1).min(all.len().saturating_sub(1)))),
        "ArrowUp" => select(pos.map_or(0, |p| p.saturating_sub(1))),
        "Home" => select(0),
        "End" => select(all.len().saturating_sub(1)),
        "ArrowRight" => {
            if let Some(r) = pos.and_then(|p| all.get(p)) {
                if r.kind == FileKind::Folder && !r.expanded {
                    files.toggle(r.id);
                } else if r.kind == FileKind::Folder {
                    select(pos.unwrap_or(0) + 1);
                }
            }
        }
        "ArrowLeft" => {
            if let Some(r) = pos.and_then(|p| all.get(p)) {
                if r.kind == FileKind::Folder && r.expanded {
                    files.toggle(r.id);
                } else if let Some(parent) = files.tree.with_untracked(|t| t.get(r.id)?.parent)
                    && let Some(i) = all.iter().position(|x| x.id == parent)
                {
                    select(i);
                }
            }
        }
        "Enter" => {
            if let Some(r) = pos.and_then(|p| all.get(p)) {
                if r.kind == FileKind::Folder {
                    files.toggle(r.id);
                } else {
                    files.open(r.id);
                }
            }
        }
        "F2" if files.writable => renaming.set(files.selected.get_untracked()),
        "Delete" if files.writable => {
            if let Some(id) = files.selected.get_untracked() {
                files.trash(id);
            }
        }
        _ => return false,
    }
    true
}

#[component]
pub(super) fn TreeRow(
    files: Files,
    index: usize,
    row: Row,
    renaming: RwSignal<Option<FileId>>,
    menu: RwSignal<Option<(i32, i32, Option<FileId>)>>,
    dragging: RwSignal<Option<FileId>>,
    drop_target: RwSignal<Option<Option<FileId>>>,
) -> AnyView {
    let view = {
        let id = row.id;
        let folder = row.kind == FileKind::Folder;
        let doc = files.tree.with_untracked(|t| t.get(id).and_then(|e| e.doc));
        let icon = if folder {
            if row.expanded {
                "folder-open"
            } else {
                "folder"
            }
        } else if row.kind == FileKind::Blob {
            "binary"
        } else {
            icon_for(&row.name)
        };
        // Where a drop on this row goes: into a folder, or next to a file.
        let drop_folder = move || {
            if folder {
                Some(id)
            } else {
                files
                    .tree
                    .with_untracked(|t| t.get(id).and_then(|e| e.parent))
            }
        };
        // A finger resting on a row opens its menu (phones have no right button); the click
        // that ends a long press does not also open the file.
        let press: StoredValue<Option<TimeoutHandle>> = StoredValue::new(None);
        let pressed_long = StoredValue::new(false);
        let press_at = StoredValue::new((0, 0));
        let cancel_press = move || {
            if let Some(h) = press.try_update_value(Option::take).flatten() {
                h.clear();
            }
        };
        let on_pointer_down = move |ev: ev::PointerEvent| {
            pressed_long.set_value(false);
            if ev.pointer_type() != "touch" {
                return;
            }
            let (x, y) = (ev.client_x(), ev.client_y());
            press_at.set_value((x, y));
            cancel_press();
            let handle = set_timeout_with_handle(
                move || {
                    press.set_value(None);
                    pressed_long.set_value(true);
                    files.selected.set(Some(id));
                    menu.set(Some((x, y, Some(id))));
                },
                LONG_PRESS,
            );
            press.set_value(handle.ok());
        };
        let on_pointer_move = move |ev: ev::PointerEvent| {
            let (x, y) = press_at.get_value();
            if (ev.client_x() - x).abs() + (ev.client_y() - y).abs() > 10 {
                cancel_press();
            }
        };
        let on_click = move |ev: ev::MouseEvent| {
            if pressed_long.get_value() {
                // The finger lifting after a long press: the menu it opened stays open.
                pressed_long.set_value(false);
                ev.stop_propagation();
                return;
            }
            files.selected.set(Some(id));
            if folder {
                files.toggle(id);
            } else {
                files.open(id);
            }
        };
        let on_drag_start = move |ev: ev::DragEvent| {
            if !files.writable {
                ev.prevent_default();
                return;
            }
            if let Some(dt) = ev.data_transfer() {
                let _ = dt.set_data("text/plain", &id.to_string());
                dt.set_effect_allowed("move");
            }
            dragging.set(Some(id));
        };
        let on_drag_over = move |ev: ev::DragEvent| {
            let Some(d) = dragging.get_untracked() else {
                return;
            };
            let target = drop_folder();
            if target.is_some_and(|t| files.tree.with_untracked(|tree| tree.is_within(t, d))) {
                return; // no drop into itself
            }
            ev.prevent_default();
            ev.stop_propagation();
            drop_target.set(Some(target));
        };
        let on_drop = move |ev: ev::DragEvent| {
            ev.prevent_default();
            ev.stop_propagation();
            if let Some(d) = dragging.get_untracked() {
                files.move_into(d, drop_folder());
            }
            dragging.set(None);
            drop_target.set(None);
        };
        let name = row.name.clone();
        view! {
            <div class="tree-row" role="treeitem" data-test="tree-row" data-name=row.name.clone()
                data-id=id.0 data-kind=row.kind.as_str()
                aria-expanded=folder.then(|| row.expanded.to_string())
                attr:aria-level=row.depth + 1 data-depth=row.depth
                style=format!("--i:{index};padding-left:{}px", 8 + row.depth * 14)
                class:selected=move || files.selected.get() == Some(id)
                class:active=move || files.tabs.active.get() == Some(id)
                class:drop-into=move || folder && drop_target.get() == Some(Some(id))
                draggable=if files.writable { "true" } else { "false" }
                on:click=on_click
                on:pointerdown=on_pointer_down on:pointermove=on_pointer_move
                on:pointerup=move |_| cancel_press() on:pointercancel=move |_| cancel_press()
                on:dblclick=move |_| if files.writable { renaming.set(Some(id)); }
                on:contextmenu=move |ev: ev::MouseEvent| {
                    ev.prevent_default();
                    ev.stop_propagation();
                    files.selected.set(Some(id));
                    menu.set(Some((ev.client_x(), ev.client_y(), Some(id))));
                }
                on:dragstart=on_drag_start on:dragover=on_drag_over on:drop=on_drop
                on:dragend=move |_| { dragging.set(None); drop_target.set(None); }>
                <span class="chevron" aria-hidden="true">{if folder { if row.expanded { "▾" } else { "▸" } } else { "" }}</span>
                <span class=format!("file-icon icon-{icon}") aria-hidden="true"></span>
                {move || if renaming.get() == Some(id) {
                    view! { <RenameInput files=files id=id name=name.clone() renaming=renaming/> }.into_any()
                } else {
                    view! { <span class="name">{name.clone()}</span> }.into_any()
                }}
                <span class="row-badges">
                    {move || files.unsaved(id).then(|| view! {
                        <span class="unsaved-dot" title="Unsaved changes" data-test="unsaved-dot">"●"</span>
                    })}
                    {move || files.changed.with(|c| c.contains(&id)).then(|| view! {
                        <span class="changed-dot" title="Changed by others since you last looked" data-test="changed-dot">"•"</span>
                    })}
                    {move || files.viewers_of(doc).into_iter().map(|(user, who)| view! {
                        <span class=format!("viewer-dot tandem-rc-{}", color_index(user)) title=format!("{who} has this open")
                            data-test="viewer-dot" data-name=who.clone()>{who.chars().next().map(|c| c.to_uppercase().to_string())}</span>
                    }).collect_view()}
                </span>
            </div>
        }
    };
    view.into_any()
}

#[component]
pub(super) fn RenameInput(
    files: Files,
    id: FileId,
    name: String,
    renaming: RwSignal<Option<FileId>>,
) -> AnyView {
    let view = {
        let value = RwSignal::new(name.clone());
        let input = NodeRef::<leptos::html::Input>::new();
        input.on_load(move |el| {
            let _ = el.focus();
            // Select the name without its extension, as editors do.
            let v = el.value();
            let end = v.rfind('.').filter(|i| *i > 0).unwrap_or(v.len());
            let end = v[..end].encode_utf16().count() as u32;
            let _ = el.set_selection_range(0, end);
        });
        let name = StoredValue::new(name);
        // Also runs on blur, and removing the input (after Enter) blurs it: by then this
        // component is disposed, so its own values are read with `try_` and the commit is over.
        let commit = move || {
            if renaming.try_get_untracked().flatten() != Some(id) {
                return;
            }
            let (Some(name), Some(new)) = (name.try_get_value(), value.try_get_untracked()) else {
                return;
            };
            if new == name {
                renaming.set(None);
                return;
            }
            if let Err(e) = names::check_name(&new) {
                files.error.set(Some(e));
                return;
            }
            renaming.set(None);
            files.run(rename_entry(files.project, id, new));
        };
        view! {
            <input class="rename-input" node_ref=input type="text" aria-label="New name" data-test="rename-input"
                prop:value=move || value.get()
                on:click=|ev| ev.stop_propagation()
                on:input=move |ev| value.set(event_target_value(&ev))
                on:keydown=move |ev| {
                    ev.stop_propagation();
                    match ev.key().as_str() {
                        "Enter" => commit(),
                        "Escape" => { renaming.set(None); files.error.set(None); }
                        _ => {}
                    }
                }
                on:blur=move |_| commit()/>
        }
    };
    view.into_any()
}
