//! The chat composer.

use leptos::{ev, prelude::*};

use crate::chat::{MessageKind, edit_message};
use crate::{browser::now_ms, editor::OpenDocs, files::Files, types::MessageId};

use super::{ChatState, TYPING_EVERY_MS};

/// The composer: Enter sends, Up edits your last message, Escape cancels; slash commands and
/// Ask AI go to the assistant; typing is announced at most every [`TYPING_EVERY_MS`].
#[component]
pub(super) fn Composer(
    chat: ChatState,
    files: Files,
    docs: OpenDocs,
    draft: RwSignal<String>,
    reply_to: RwSignal<Option<MessageId>>,
    editing: RwSignal<Option<MessageId>>,
) -> AnyView {
    let typing_sent = StoredValue::new(0.0_f64);
    let model = chat.model;
    // Also runs on blur, which leaving the page fires after this component is disposed.
    let stop_typing = move || {
        if typing_sent.try_get_value().is_some_and(|t| t > 0.0) {
            typing_sent.set_value(0.0);
            #[cfg(feature = "hydrate")]
            docs.live
                .send(&crate::live::events::ClientEvent::Typing { active: false });
        }
    };
    let on_input = move |ev: ev::Event| {
        let value = event_target_value(&ev);
        let empty = value.trim().is_empty();
        draft.set(value);
        if empty {
            stop_typing();
        } else if now_ms() - typing_sent.get_value() >= TYPING_EVERY_MS {
            typing_sent.set_value(now_ms());
            #[cfg(feature = "hydrate")]
            docs.live
                .send(&crate::live::events::ClientEvent::Typing { active: true });
        }
    };
    let send = move || {
        let text = draft.get_untracked();
        if let Some(id) = editing.get_untracked() {
            let project = chat.project;
            chat.run(async move {
                edit_message(project, id, text)
                    .await
                    .map(|m| chat.arrived(m))
            });
            editing.set(None);
            draft.set(String::new());
            return;
        }
        if chat.submit(&text, reply_to.get_untracked(), files, docs) {
            draft.set(String::new());
            reply_to.set(None);
            stop_typing();
        }
    };
    let on_key = move |ev: ev::KeyboardEvent| match ev.key().as_str() {
        "Enter" if !ev.shift_key() && !ev.is_composing() => {
            ev.prevent_default();
            send();
        }
        "Escape" => {
            if editing.get_untracked().is_some() {
                draft.set(String::new());
            }
            editing.set(None);
            reply_to.set(None);
        }
        // Up in an empty composer edits your last message, as in most chat apps.
        "ArrowUp" if draft.with_untracked(String::is_empty) => {
            let me = chat.me().id;
            let last = model.with_untracked(|m| {
                m.window()
                    .into_iter()
                    .rev()
                    .find(|x| x.author.id == me && x.kind == MessageKind::User && !x.deleted)
            });
            if let Some(m) = last {
                ev.prevent_default();
                editing.set(Some(m.id));
                draft.set(m.body);
            }
        }
        _ => {}
    };
    let ask_button = move |_| {
        let text = draft.get_untracked();
        let question = text.trim();
        if question.is_empty() {
            chat.error.set(Some(
                "Type a question first, or use /explain, /tests, /doc or /review on a selection."
                    .into(),
            ));
            return;
        }
        let shown = if question.starts_with('/') {
            question.to_owned()
        } else {
            format!("/ai {question}")
        };
        if chat.submit(&shown, None, files, docs) {
            draft.set(String::new());
            stop_typing();
        }
    };

    view! {
        <form class="chat-compose" on:submit=move |ev: ev::SubmitEvent| { ev.prevent_default(); send(); }>
            {move || reply_to.get().map(|id| {
                let who = model.with(|m| m.get(id).map(|x| x.author.name.clone())).unwrap_or_default();
                view! { <p class="chat-replying small">{format!("Replying to {who}")}
                    <button type="button" class="link" on:click=move |_| reply_to.set(None)>"Cancel"</button></p> }
            })}
            {move || editing.get().map(|_| view! {
                <p class="chat-replying small">"Editing your message"
                    <button type="button" class="link" on:click=move |_| { editing.set(None); draft.set(String::new()); }>"Cancel"</button></p>
            })}
            <textarea class="chat-input" data-test="chat-input" rows="2" aria-label="Message"
                placeholder="Message (Markdown, @name) or /help"
                prop:value=move || draft.get() on:input=on_input on:keydown=on_key
                on:blur=move |_| stop_typing()></textarea>
            <div class="chat-compose-bar">
                <button type="submit" data-test="chat-send">{move || if editing.get().is_some() { "Save" } else { "Send" }}</button>
                <button type="button" class="secondary" data-test="chat-ask-ai" on:click=ask_button
                    title="Ask the assistant; the open file and your selection go along">"Ask AI"</button>
            </div>
            {move || chat.error.get().map(|e| view! { <p class="error small" role="alert" data-test="chat-error">{e}</p> })}
        </form>
    }
    .into_any()
}
