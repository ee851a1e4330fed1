//! The chat composer.

use leptos::{ev, prelude::*};

use crate::chat::edit_message;
use crate::{browser::now_ms, editor::OpenDocs, files::Files};

use super::{ChatState, Draft, TYPING_EVERY_MS};

/// What "Ask AI" sends for the composer's text: a slash command as typed, anything else as a
/// question to the assistant; nothing for an empty composer.
fn ai_request(text: &str) -> Option<String> {
    let question = text.trim();
    if question.is_empty() {
        None
    } else if question.starts_with('/') {
        Some(question.to_owned())
    } else {
        Some(format!("/ai {question}"))
    }
}

/// The composer: Enter sends, Up edits your last message, Escape cancels; slash commands and
/// Ask AI go to the assistant; typing is announced at most every [`TYPING_EVERY_MS`].
#[component]
pub(super) fn Composer(chat: ChatState, files: Files, docs: OpenDocs, draft: Draft) -> AnyView {
    let Draft {
        text: body,
        reply_to,
        editing,
    } = draft;
    let typing_sent = StoredValue::new(0.0_f64);
    let model = chat.model;
    // Also runs on blur, which leaving the page fires after this component is disposed.
    let stop_typing = move || {
        if typing_sent.try_get_value().is_some_and(|t| t > 0.0) {
            typing_sent.set_value(0.0);
            #[cfg(feature = "browser")]
            docs.live
                .send(&crate::live::events::ClientEvent::Typing { active: false });
        }
    };
    let on_input = move |ev: ev::Event| {
        let value = event_target_value(&ev);
        let empty = value.trim().is_empty();
        body.set(value);
        if empty {
            stop_typing();
        } else if now_ms() - typing_sent.get_value() >= TYPING_EVERY_MS {
            typing_sent.set_value(now_ms());
            #[cfg(feature = "browser")]
            docs.live
                .send(&crate::live::events::ClientEvent::Typing { active: true });
        }
    };
    let send = move || {
        let text = body.get_untracked();
        if let Some(id) = editing.get_untracked() {
            let project = chat.project;
            chat.run(async move {
                edit_message(project, id, text)
                    .await
                    .map(|m| chat.arrived(m))
            });
            draft.stop_editing();
            return;
        }
        if chat.submit(&text, reply_to.get_untracked(), files, docs) {
            body.set(String::new());
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
                draft.stop_editing();
            }
            reply_to.set(None);
        }
        // Up in an empty composer edits your last message, as in most chat apps.
        "ArrowUp" if body.with_untracked(String::is_empty) => {
            let me = chat.me().id;
            if let Some(m) = model.with_untracked(|m| m.last_by(me)) {
                ev.prevent_default();
                draft.edit(m.id, m.body);
            }
        }
        _ => {}
    };
    let ask_button = move |_| {
        let Some(shown) = ai_request(&body.get_untracked()) else {
            chat.error.set(Some(
                "Type a question first, or use /explain, /tests, /doc or /review on a selection."
                    .into(),
            ));
            return;
        };
        if chat.submit(&shown, None, files, docs) {
            body.set(String::new());
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
                    <button type="button" class="link" on:click=move |_| draft.stop_editing()>"Cancel"</button></p>
            })}
            <textarea class="chat-input" data-test="chat-input" rows="2" aria-label="Message"
                placeholder="Message (Markdown, @name) or /help"
                prop:value=move || body.get() on:input=on_input on:keydown=on_key
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

#[cfg(test)]
mod tests {
    use super::ai_request;

    #[test]
    fn ask_ai_sends_commands_as_typed_and_text_as_a_question() {
        assert_eq!(ai_request("  "), None);
        assert_eq!(ai_request(" /explain ").as_deref(), Some("/explain"));
        assert_eq!(ai_request("why?").as_deref(), Some("/ai why?"));
    }
}
