//! The chat log and its messages.

use leptos::{ev, html, prelude::*};

use crate::chat::{
    AiSource, AiState, ChatMessage, MessageKind, SourceWhy, delete_message,
    model::{ChatModel, Pending},
    regenerate_ai, stop_ai,
};
use crate::{
    editor::{OpenDocs, Reveal},
    files::Files,
};

use super::{ChatState, Draft, EDGE_PX, time_label};
use crate::ui::initial;

/// The element of the log an event happened in (or inside) that matches `selector`.
#[cfg(feature = "browser")]
fn target_in(ev: &ev::Event, selector: &str) -> Option<web_sys::Element> {
    use wasm_bindgen::JsCast;
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|el| el.closest(selector).ok().flatten())
}

/// Opens the file and line a citation link (marked by [`mark_citations`]) names; false if
/// the event was not on one.
#[cfg(feature = "browser")]
fn open_citation(ev: &ev::Event, files: Files) -> bool {
    let Some(cite) = target_in(ev, "[data-cite-file]") else {
        return false;
    };
    let number = |k: &str| cite.get_attribute(k).and_then(|v| v.parse::<i64>().ok());
    if let (Some(file), Some(line)) = (number("data-cite-file"), number("data-cite-line")) {
        let line = u32::try_from(line).unwrap_or(1);
        files.open_at(
            crate::types::FileId(file),
            Reveal {
                line,
                column: 1,
                end_column: 1,
            },
        );
    }
    true
}

/// Turns the inline `path:line` code of an answer that names a project file into a link
/// (attributes only: the text stays the server's sanitised HTML).
#[cfg(feature = "browser")]
fn mark_citations(root: &web_sys::Element, sources: &[AiSource], files: Files) {
    let find = |path: &str| {
        files.tree.with_untracked(|t| {
            t.files()
                .into_iter()
                .find(|(_, p)| p == path)
                .map(|(id, _)| id)
        })
    };
    let mut stack = vec![root.clone()];
    while let Some(el) = stack.pop() {
        let mut child = el.first_element_child();
        while let Some(c) = child {
            child = c.next_element_sibling();
            stack.push(c);
        }
        let in_block = el.parent_element().is_some_and(|p| p.tag_name() == "PRE");
        if el.tag_name() != "CODE" || in_block {
            continue;
        }
        let text = el.text_content().unwrap_or_default();
        let Some((file, line)) = crate::chat::cite::resolve(&text, sources, find) else {
            continue;
        };
        let (file, line, title) = (file.0.to_string(), line.to_string(), format!("Open {text}"));
        for (k, v) in [
            ("data-cite-file", file.as_str()),
            ("data-cite-line", &line),
            ("data-test", "chat-cite"),
            ("class", "cite"),
            ("role", "link"),
            ("tabindex", "0"),
            ("title", &title),
        ] {
            let _ = el.set_attribute(k, v);
        }
    }
}

/// Clicks in the log: citation links, and the Copy / Insert buttons on code blocks (added by
/// the Monaco shim), handled once for the whole log.
fn log_click(ev: &ev::MouseEvent, chat: ChatState, files: Files, docs: OpenDocs) {
    #[cfg(feature = "browser")]
    {
        if open_citation(ev, files) {
            return;
        }
        let Some(button) = target_in(ev, "[data-code-action]") else {
            return;
        };
        let Some(code) = crate::editor::client::code_of_button(&button) else {
            return;
        };
        match button.get_attribute("data-code-action").as_deref() {
            Some("copy") => {
                let _ = crate::editor::client::copy_text(&code);
                button.set_text_content(Some("Copied"));
            }
            Some("insert") => {
                let inserted = files
                    .active_doc()
                    .is_some_and(|(_, doc)| docs.insert_text(doc, &code));
                if !inserted {
                    chat.error
                        .set(Some("Open a file you can edit, then insert again.".into()));
                }
            }
            _ => {}
        }
    }
    #[cfg(not(feature = "browser"))]
    let _ = (ev, chat, files, docs);
}

/// The message log: a sliding window over the history that keeps the reader's place, older
/// pages on scrolling up, and the Copy / Insert buttons of code blocks.
#[component]
pub(super) fn ChatLog(chat: ChatState, files: Files, docs: OpenDocs, draft: Draft) -> AnyView {
    let log = NodeRef::<html::Div>::new();
    let model = chat.model;
    // Keep the newest message in view when asked to (new message while following).
    Effect::new(move |_| {
        chat.to_bottom.track();
        if let Some(el) = log.get() {
            request_animation_frame(move || el.set_scroll_top(el.scroll_height()));
        }
    });
    // Sliding the window adds or removes messages above what is on screen: keep what the
    // user is looking at in place (by hand: CSS scroll anchoring does nothing at offset 0,
    // which is exactly where older pages load).
    let anchor = StoredValue::new(None::<(i32, i32)>);
    let remember = move || {
        if let Some(el) = log.get_untracked() {
            anchor.set_value(Some((el.scroll_height(), el.scroll_top())));
        }
    };
    let on_scroll = move |_| {
        let Some(el) = log.get() else { return };
        let top = el.scroll_top();
        let bottom = el.scroll_height() - el.client_height() - top;
        chat.pinned.set_value(bottom <= EDGE_PX);
        if top <= EDGE_PX {
            remember();
            chat.older();
        } else if bottom <= EDGE_PX && !model.with_untracked(ChatModel::following) {
            remember();
            model.update(ChatModel::slide_down);
        }
    };

    let window = Memo::new(move |_| model.with(ChatModel::window));
    Effect::new(move |_| {
        window.track();
        if let (Some((height, top)), Some(el)) = (anchor.get_value(), log.get_untracked()) {
            anchor.set_value(None);
            request_animation_frame(move || el.set_scroll_top(top + el.scroll_height() - height));
        }
    });
    let pending = move || model.with(|m| m.pending.clone());
    view! {
        <div class="chat-log" node_ref=log on:scroll=on_scroll
            on:click=move |ev| log_click(&ev, chat, files, docs)
            on:keydown=move |ev| {
                // A citation link opens with Enter, like a link.
                #[cfg(feature = "browser")]
                if ev.key() == "Enter" && open_citation(&ev, files) {
                    ev.prevent_default();
                }
                #[cfg(not(feature = "browser"))]
                let _ = ev;
            }
            data-test="chat-log" aria-live="polite" aria-label="Chat messages">
            {move || {
                let (more, hidden, loaded) = model.with(|m| (m.more_before, m.hidden_above(), m.loaded));
                if !loaded {
                    view! { <p class="muted chat-empty">"Loading chat…"</p> }.into_any()
                } else if more || hidden > 0 {
                    view! { <button type="button" class="link chat-older" on:click=move |_| { remember(); chat.older(); }>
                        "Show older messages"</button> }.into_any()
                } else if model.with(ChatModel::is_empty) {
                    view! { <p class="muted chat-empty" data-test="chat-empty">"No messages yet. Say hello, or type /help."</p> }.into_any()
                } else {
                    view! { <p class="muted chat-start">"The beginning of this project's chat."</p> }.into_any()
                }
            }}
            <For each=move || window.get()
                key=|m| (m.id, m.edited_at, m.deleted, m.ai.as_ref().map(|a| a.state))
                children=move |m| view! {
                    <MessageView chat=chat message=m draft=draft files=files/>
                }/>
            <For each=pending key=|p| (p.client_id.clone(), p.error.clone()) let:p>
                <PendingView chat=chat pending=p/>
            </For>
            <For each=move || chat.notices.get() key=|n| n.key let:n>
                <div class="chat-notice" data-test="chat-notice" role="status">
                    <p>{n.text.clone()}</p>
                    {n.undo_clear.then(|| view! {
                        <button type="button" class="link" on:click=move |_| chat.unclear()>"Show the cleared messages"</button>
                    })}
                </div>
            </For>
        </div>
        {move || (!model.with(ChatModel::following)).then(|| view! {
            <button type="button" class="chat-jump" on:click=move |_| {
                model.update(ChatModel::follow);
                chat.to_bottom.update(|n| *n += 1);
            }>"Jump to the newest messages ↓"</button>
        })}
    }
    .into_any()
}

#[component]
fn MessageView(chat: ChatState, message: ChatMessage, draft: Draft, files: Files) -> AnyView {
    let id = message.id;
    let (sources, cut) = message
        .ai
        .as_ref()
        .map(|a| (a.sources.clone(), a.cut.clone()))
        .unwrap_or_default();
    let me = chat.me();
    let mine = message.author.id == me.id;
    let ai = message.kind == MessageKind::Ai;
    let streaming = message.is_streaming();
    let mentions_me = message.mentions.contains(&me.id);
    let body_ref = NodeRef::<html::Div>::new();
    #[cfg(feature = "browser")]
    {
        let sources = sources.clone();
        body_ref.on_load(move |el| {
            crate::editor::client::decorate_code(&el, files.writable);
            if !sources.is_empty() {
                mark_citations(&el, &sources, files);
            }
        });
    }
    let quoted = message.reply_to.and_then(|r| {
        chat.model.with_untracked(|m| {
            m.get(r).map(|q| {
                let snippet: String = q.body.chars().take(80).collect();
                format!(
                    "↪ {}: {}",
                    q.author.name,
                    if q.deleted {
                        "(deleted)".into()
                    } else {
                        snippet
                    }
                )
            })
        })
    });
    let (who, byline) = if ai {
        (
            "Assistant".to_owned(),
            Some(format!("asked by {}", message.author.name)),
        )
    } else {
        (message.author.name.clone(), None)
    };
    let error = message.ai.as_ref().and_then(|a| a.error.clone());
    let stopped = message
        .ai
        .as_ref()
        .is_some_and(|a| a.state == AiState::Stopped);
    let body = if message.deleted {
        view! { <p class="muted chat-deleted">"Message deleted"</p> }.into_any()
    } else if streaming {
        let streams = chat.streams;
        view! {
            <div class="chat-stream" data-test="chat-stream">
                {move || streams.with(|s| s.get(id).unwrap_or("").to_owned())}
                <span class="chat-caret" aria-hidden="true">"▍"</span>
            </div>
        }
        .into_any()
    } else {
        view! { <div class="chat-body" node_ref=body_ref inner_html=message.html.clone()></div> }
            .into_any()
    };
    let may_delete = !message.deleted && chat.may_delete(&message);
    let may_control = !message.deleted && chat.may_control(&message);
    let editable = mine && !ai && !message.deleted;
    let body_text = message.body.clone();
    let project = chat.project;
    view! {
        <article class="chat-msg" class:mine=mine class:ai=ai class:mentions-me=mentions_me
            data-test="chat-message" data-id=id.0>
            <header class="chat-meta">
                <span class="avatar" aria-hidden="true">{if ai { "✦".to_owned() } else { initial(&message.author.name) }}</span>
                <span class="chat-author" data-test="chat-author">{who}</span>
                {byline.map(|b| view! { <span class="muted small">{b}</span> })}
                <time class="muted small">{time_label(message.created_at)}</time>
                {message.edited_at.map(|_| view! { <span class="muted small">"(edited)"</span> })}
            </header>
            {quoted.map(|q| view! { <p class="chat-quote small muted">{q}</p> })}
            {body}
            {(!message.deleted && !sources.is_empty()).then(|| view! {
                <Sources sources=sources files=files/>
            })}
            {cut.filter(|_| !message.deleted).map(|c| view! {
                <p class="muted small chat-cut" data-test="chat-cut">{c}</p>
            })}
            {stopped.then(|| view! { <p class="muted small">"Stopped."</p> })}
            {error.map(|e| view! { <p class="chat-ai-error" role="alert" data-test="chat-ai-error">{e}</p> })}
            <footer class="chat-actions">
                {(!message.deleted).then(|| view! {
                    <button type="button" class="link small" on:click=move |_| draft.reply_to.set(Some(id))>"Reply"</button>
                })}
                {editable.then(|| view! {
                    <button type="button" class="link small" data-test="chat-edit" on:click=move |_| {
                        draft.edit(id, body_text.clone());
                    }>"Edit"</button>
                })}
                {may_delete.then(|| view! {
                    <button type="button" class="link small" data-test="chat-delete" on:click=move |_| {
                        chat.run(async move { delete_message(project, id).await.map(|m| chat.arrived(m)) });
                    }>"Delete"</button>
                })}
                {(may_control && streaming).then(|| view! {
                    <button type="button" class="link small" data-test="chat-stop" on:click=move |_| {
                        chat.run(stop_ai(project, id));
                    }>"Stop"</button>
                })}
                {(may_control && !streaming).then(|| view! {
                    <button type="button" class="link small" data-test="chat-regenerate" on:click=move |_| {
                        chat.run(async move { regenerate_ai(project, id).await.map(|m| chat.replied(m)) });
                    }>"Regenerate"</button>
                })}
            </footer>
        </article>
    }
    .into_any()
}

/// What the assistant was shown, as buttons that open each place.
#[component]
fn Sources(sources: Vec<AiSource>, files: Files) -> impl IntoView {
    view! {
        <div class="chat-sources" data-test="chat-sources">
            <span class="muted small">"Looked at"</span>
            {sources.into_iter().map(|s| {
                let why = match &s.why {
                    SourceWhy::Open => "the asker's open file".to_owned(),
                    SourceWhy::Selection => "the asker's selection".to_owned(),
                    SourceWhy::Named => "named in the question".to_owned(),
                    SourceWhy::Match(name) => format!("mentions {name}"),
                };
                let (file, line) = (s.file, s.first);
                view! {
                    <button type="button" class="chip small" data-test="chat-source"
                        title=format!("Open {} ({why})", s.path)
                        on:click=move |_| files.open_at(file, Reveal { line, column: 1, end_column: 1 })>
                        {s.label()}
                    </button>
                }
            }).collect_view()}
        </div>
    }
}

#[component]
fn PendingView(chat: ChatState, pending: Pending) -> AnyView {
    let retry = pending.clone();
    let client_id = pending.client_id.clone();
    let failed = pending.error.is_some();
    view! {
        <article class="chat-msg mine pending" data-test="chat-pending">
            <header class="chat-meta">
                <span class="chat-author">{chat.me().name}</span>
                <span class="muted small">{if failed { "" } else { "Sending…" }}</span>
            </header>
            <p class="chat-stream">{pending.body.clone()}</p>
            {pending.error.clone().map(|e| view! {
                <p class="error small" role="alert">{e}
                    <button type="button" class="link small" on:click=move |_| chat.deliver(retry.clone())>"Retry"</button>
                    <button type="button" class="link small" on:click=move |_| {
                        let id = client_id.clone();
                        chat.model.update(|m| m.pending.retain(|p| p.client_id != id));
                    }>"Discard"</button>
                </p>
            })}
        </article>
    }
    .into_any()
}
