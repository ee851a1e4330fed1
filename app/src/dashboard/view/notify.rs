//! Optional browser notifications of new mentions while the dashboard is open: asked for by a
//! button (never on load), shown when the unread count grows.

use leptos::prelude::*;

use crate::dashboard::Mention;

#[cfg(feature = "browser")]
thread_local! {
    /// The unread count last seen by this page (None: not yet, so nothing is announced).
    static LAST: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// The dashboard read `unread` mentions, `newest` the latest unread one: notify when the count
/// grew since the last read and the person allowed notifications.
pub fn unread_now(unread: u64, newest: Option<&Mention>) {
    #[cfg(feature = "browser")]
    {
        let before = LAST.with(|l| l.replace(Some(unread)));
        let grew = before.is_some_and(|b| unread > b);
        if grew
            && web_sys::Notification::permission() == web_sys::NotificationPermission::Granted
            && let Some(m) = newest
        {
            let options = web_sys::NotificationOptions::new();
            options.set_body(&m.excerpt);
            options.set_tag("tandem-mention");
            let _ = web_sys::Notification::new_with_options(
                &format!("{} mentioned you in {}", m.by, m.project_name),
                &options,
            );
        }
    }
    #[cfg(not(feature = "browser"))]
    let _ = (unread, newest);
}

/// "Notify me of mentions", while the browser has not been asked yet.
#[component]
pub fn NotifyButton() -> impl IntoView {
    let ask = RwSignal::new(false);
    #[cfg(feature = "browser")]
    Effect::new(move |_| {
        let supported =
            js_sys::Reflect::has(&js_sys::global(), &"Notification".into()).unwrap_or(false);
        ask.set(
            supported
                && web_sys::Notification::permission() == web_sys::NotificationPermission::Default,
        );
    });
    let request = move |_| {
        #[cfg(feature = "browser")]
        if let Ok(p) = web_sys::Notification::request_permission() {
            leptos::task::spawn_local(async move {
                let _ = wasm_bindgen_futures::JsFuture::from(p).await;
                let _ = ask.try_set(false);
            });
        }
    };
    view! {
        <Show when=move || ask.get()>
            <button type="button" class="link small" data-test="notify-me" on:click=request>
                "Notify me of new mentions in this browser"
            </button>
        </Show>
    }
}
