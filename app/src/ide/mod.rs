//! The IDE shell at `/p/{id}`: file tree, editor area, chat and status bar in resizable panes, and
//! a tabbed single-pane layout under 768 px. Pane sizes are remembered per browser.

use leptos::{ev, prelude::*};

use crate::{
    auth::LogoutButton,
    chat::{ChatPanel, ChatState},
    editor::{
        FileDoc, LiveStatus, OpenDocs,
        ghost::{GhostStatus, Ghosts},
    },
    error::AppError,
    files::{EditorTabs, FileEntry, FileTree, Files, QuickOpen, default_file, list_files},
    live::{Live, events::ServerEvent, status::Link},
    projects::load_workspace,
    runs::{RunPanel, RunState},
    terminals::{TermState, view::Candidate},
    types::{FileId, Role, Workspace},
    ui::{ErrorPage, loading, project_id_param},
};

mod kept;
mod layout;

use layout::{Pane, PaneLayout};

/// Lines above and below a failed run's error that Fix with AI asks to change.
const FIX_LINES_AROUND: u32 = 5;

#[component]
pub fn IdePage() -> impl IntoView {
    let project = project_id_param();
    // One resource for everything the shell needs: resources created inside a resolved
    // `Suspend` do not reliably find their server-rendered values when hydrating.
    let data = Resource::new(project, |p| async move {
        let p = p.ok_or_else(|| AppError::NotFound("Project".into()))?;
        let online = async {
            let ws = load_workspace(p).await?;
            let file = default_file(p).await?;
            let entries = list_files(p).await?;
            Ok::<_, AppError>((ws, file, entries))
        };
        match online.await {
            // The server cannot be reached: the copy this device kept, if it has one.
            Err(AppError::Transport(why)) => kept::load(p).await.ok_or(AppError::Transport(why)),
            other => other,
        }
    });
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok((ws, file, entries)) => view! { <IdeShell ws=ws file=file entries=entries/> }.into_any(),
                    Err(e) => view! { <main class="page"><ErrorPage error=e/></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// "an owner", "an editor", "a viewer".
fn article(role: Role) -> String {
    let label = role.label().to_lowercase();
    let an = label.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {label}", if an { "an" } else { "a" })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum MobileTab {
    Files,
    Editor,
    Run,
    Chat,
}

impl MobileTab {
    fn as_str(self) -> &'static str {
        match self {
            MobileTab::Files => "files",
            MobileTab::Editor => "editor",
            MobileTab::Run => "run",
            MobileTab::Chat => "chat",
        }
    }
}

#[component]
fn IdeShell(ws: Workspace, file: Option<FileDoc>, entries: Vec<FileEntry>) -> impl IntoView {
    let layout = PaneLayout::new();
    let tab = RwSignal::new(MobileTab::Editor);
    let pid = ws.project.id;
    let role = ws.project.role;
    let member_count = ws.members.len();
    let link = RwSignal::new(Link::Connecting);
    let files = Files::new(pid, &ws.me, role, entries, link);
    // This device keeps the project as it is now, and again as its tree changes (files
    // created, renamed, moved while the page is open), so it opens offline as last seen.
    kept::follow(&ws, file.clone(), files, link);
    // The server renders the default file's tab; the browser then restores its own tabs.
    if let Some(f) = &file {
        files.open(f.file);
    }
    let chat = ChatState::new(pid, &ws.me, role);
    // The role as the server last said; documents follow it at once (the server reopens them
    // with the new access), the menus built for the old one on the next load.
    let role_now = RwSignal::new(role);
    let runs = RunState::new(pid, role_now, files);
    let candidates = ws
        .members
        .iter()
        .filter(|m| m.role >= Role::Editor)
        .map(|m| Candidate {
            user: m.user.id,
            name: m.user.name.clone(),
        })
        .collect();
    let terms = TermState::new(pid, ws.me.id, role_now, link, runs.open, candidates);
    let ghosts = Ghosts::new();
    let suggestions = crate::suggestions::Suggestions::new(pid);
    // Fix with AI on a failed run: the lines around the error become a shared suggestion,
    // and the file opens there so the asker sees it arrive.
    let fix = Callback::new(move |(file, line, output): (FileId, u32, String)| {
        // On a phone the suggestion is in the editor, even when the file was already open.
        if crate::browser::narrow() {
            tab.set(MobileTab::Editor);
        }
        files.open_at(
            file,
            crate::editor::Reveal {
                line,
                column: 1,
                end_column: 1,
            },
        );
        if let Some(doc) = files
            .tree
            .with_untracked(|t| t.get(file).and_then(|e| e.doc))
        {
            let around = (
                line.saturating_sub(FIX_LINES_AROUND).max(1),
                line + FIX_LINES_AROUND,
            );
            suggestions.fix_run(doc, file, around, output);
        }
    });
    let live = Live::new(
        pid,
        link,
        Callback::new(move |e: ServerEvent| {
            // A resync concerns both; everything else belongs to one of them.
            match &e {
                ServerEvent::RoleChanged { role } => role_now.set(*role),
                ServerEvent::Chat { .. }
                | ServerEvent::ChatDelta { .. }
                | ServerEvent::Typing { .. } => chat.on_event(e),
                ServerEvent::Run { .. }
                | ServerEvent::RunOutput { .. }
                | ServerEvent::RunStats { .. } => runs.on_event(e),
                ServerEvent::Terminal { .. }
                | ServerEvent::TermOutput { .. }
                | ServerEvent::TermRefused { .. } => terms.on_event(e),
                ServerEvent::Completion { .. } | ServerEvent::CompletionFailed { .. } => {
                    ghosts.arrived(&e)
                }
                ServerEvent::Suggestion { .. } => suggestions.on_event(e),
                ServerEvent::Resync => {
                    suggestions.on_event(ServerEvent::Resync);
                    chat.on_event(ServerEvent::Resync);
                    runs.on_event(ServerEvent::Resync);
                    terms.on_event(ServerEvent::Resync);
                    files.on_event(e);
                }
                _ => files.on_event(e),
            }
        }),
    );
    terms.connect(live);
    let docs = OpenDocs::new(live, ghosts, suggestions);
    // On a phone, a link that opens a file from the chat or the Run tab (a citation, a
    // `file:line` in the output, Fix with AI) shows the editor: that file is what the person
    // asked to see. The Files tab stays where it is (files are managed there).
    Effect::new(move |before: Option<Option<FileId>>| {
        let active = files.tabs.active.get();
        let from_link = matches!(tab.get_untracked(), MobileTab::Chat | MobileTab::Run);
        if before.is_some_and(|b| b != active)
            && active.is_some()
            && from_link
            && crate::browser::narrow()
        {
            tab.set(MobileTab::Editor);
        }
        active
    });
    // Unread messages count while the chat is out of sight: collapsed, or (on a phone)
    // another tab is showing.
    Effect::new(move |_| {
        let open = layout.is_open(Pane::Chat);
        let shown = tab.get() == MobileTab::Chat || !crate::browser::narrow();
        chat.visible.set(open && shown);
    });
    let grid = move || {
        format!(
            "--tree:{}px;--chat:{}px",
            layout.width(Pane::Tree),
            layout.width(Pane::Chat)
        )
    };
    let tab_button = move |t: MobileTab, label: &'static str| {
        let unread = move || {
            (t == MobileTab::Chat)
                .then(|| chat.unread.get())
                .filter(|n| *n > 0)
        };
        view! {
            <button type="button" role="tab" aria-selected=move || (tab.get() == t).to_string()
                class:active=move || tab.get() == t on:click=move |_| tab.set(t)>{label}
                {move || unread().map(|n| view! { <span class="unread" data-test="chat-unread-tab">{n}</span> })}
            </button>
        }
    };
    view! {
        <div class="ide" style=grid data-tab=move || tab.get().as_str()
            class:tree-hidden=move || !layout.is_open(Pane::Tree)
            class:chat-hidden=move || !layout.is_open(Pane::Chat)>
            <header class="ide-header">
                <a href="/" class="brand" title="All projects">"Tandem"</a>
                <h1 class="project-title" data-test="project-title">{ws.project.name.clone()}</h1>
                <span class="badge" data-test="my-role">{move || role_now.get().label()}</span>
                {move || (role_now.get() != role).then(|| view! {
                    <span class="role-note" role="status" data-test="role-changed">
                        {format!("You are now {}. ", article(role_now.get()))}
                        <a href=format!("/p/{pid}") rel="external">"Reload"</a>
                    </span>
                })}
                <span class="spacer"></span>
                <crate::pwa::InstallButton/>
                <PaneToggle layout=layout pane=Pane::Tree label="files" badge=None/>
                <PaneToggle layout=layout pane=Pane::Chat label="chat" badge=Some(chat.unread)/>
                <a href=format!("/p/{pid}/dashboard") data-test="project-dashboard-link">"Dashboard"</a>
                <a href=format!("/p/{pid}/settings") data-test="settings-link">
                    {if role == Role::Owner { "Share & settings" } else { "Members" }}
                </a>
                <a href="/account" class="who" data-test="whoami" title="Your account">{ws.me.name.clone()}</a>
                <LogoutButton/>
            </header>

            <aside class="pane tree" aria-label="Files">
                <h2 class="pane-title visually-hidden">"Files"</h2>
                <FileTree files=files/>
            </aside>
            <Splitter layout=layout pane=Pane::Tree/>

            <main class="pane editor" aria-label="Editor">
                <EditorTabs files=files me=ws.me.clone() docs=docs/>
                <RunPanel runs=runs terms=terms fix=fix/>
            </main>
            <Splitter layout=layout pane=Pane::Chat/>

            <aside class="pane chat" aria-label="Chat">
                <h2 class="pane-title">"Chat"</h2>
                <ChatPanel chat=chat files=files docs=docs/>
                <details class="members">
                    <summary class="pane-subtitle">{format!("Members ({member_count})")}</summary>
                    <ul class="member-list" data-test="member-list">
                        {ws.members.iter().map(|m| view! {
                            <li><span class="avatar" aria-hidden="true">{m.user.name.chars().next().map(|c| c.to_uppercase().to_string())}</span>
                                {m.user.name.clone()}<span class="muted">{format!(" · {}", m.role.label())}</span></li>
                        }).collect_view()}
                    </ul>
                </details>
            </aside>

            <nav class="mobile-tabs" role="tablist" aria-label="Panels">
                {tab_button(MobileTab::Files, "Files")}
                {tab_button(MobileTab::Editor, "Editor")}
                {tab_button(MobileTab::Run, "Run")}
                {tab_button(MobileTab::Chat, "Chat")}
            </nav>

            <footer class="statusbar" data-test="statusbar">
                <span>{ws.project.name.clone()}</span>
                <span>{format!("Role: {}", role.label())}</span>
                <span>{format!("{member_count} member{}", if member_count == 1 { "" } else { "s" })}</span>
                <span class="spacer"></span>
                <GhostStatus ghosts=ghosts
                    writable=Signal::derive(move || files.tabs.active_signals().is_some_and(|s| s.writable.get()))/>
                <LiveStatus live=live active=Signal::derive(move || files.tabs.active_signals())
                    waiting=Signal::derive(move || files.tabs.open.with(|t| t.iter().map(|t| t.signals.waiting.get()).sum::<u64>()))/>
                <span>{format!("Signed in as {}", ws.me.name)}</span>
            </footer>
            <QuickOpen files=files/>
        </div>
    }
}

#[component]
fn PaneToggle(
    layout: PaneLayout,
    pane: Pane,
    label: &'static str,
    /// A count shown while the pane is hidden (unread chat messages).
    badge: Option<RwSignal<u32>>,
) -> impl IntoView {
    let open = move || layout.is_open(pane);
    let count = move || badge.map(|b| b.get()).filter(|n| *n > 0);
    view! {
        <button type="button" class="link pane-toggle" aria-expanded=move || open().to_string()
            data-test=format!("toggle-{label}") on:click=move |_| layout.toggle(pane)>
            {move || if open() { format!("Hide {label}") } else { format!("Show {label}") }}
            {move || count().map(|n| view! {
                <span class="unread" data-test=format!("{label}-unread") title="Unread messages">{n}</span>
            })}
        </button>
    }
}

/// A draggable (and keyboard-adjustable) separator that sizes the pane beside it.
#[component]
fn Splitter(layout: PaneLayout, pane: Pane) -> impl IntoView {
    let dragging = RwSignal::new(false);
    let on_down = move |ev: ev::PointerEvent| {
        if let Some(el) = ev
            .target()
            .and_then(|t| leptos::wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
        {
            let _ = el.set_pointer_capture(ev.pointer_id());
        }
        dragging.set(true);
    };
    let on_move = move |ev: ev::PointerEvent| {
        if dragging.get_untracked() {
            layout.drag_to(pane, f64::from(ev.client_x()));
        }
    };
    let on_up = move |_: ev::PointerEvent| {
        if dragging.get_untracked() {
            dragging.set(false);
            layout.save();
        }
    };
    let on_key = move |ev: ev::KeyboardEvent| {
        let step = match (ev.key().as_str(), pane) {
            ("ArrowLeft", Pane::Tree) | ("ArrowRight", Pane::Chat) => -16.0,
            ("ArrowRight", Pane::Tree) | ("ArrowLeft", Pane::Chat) => 16.0,
            _ => return,
        };
        ev.prevent_default();
        layout.resize_by(pane, step);
        layout.save();
    };
    view! {
        <div class=format!("splitter splitter-{}", pane.as_str()) role="separator" tabindex="0"
            aria-orientation="vertical" aria-label=format!("Resize {}", pane.as_str())
            aria-valuenow=move || layout.width(pane).to_string()
            class:dragging=move || dragging.get()
            on:pointerdown=on_down on:pointermove=on_move on:pointerup=on_up
            on:pointercancel=on_up on:keydown=on_key></div>
    }
}
