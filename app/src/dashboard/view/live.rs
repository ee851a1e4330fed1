//! The dashboard follows `/api/dashboard/live` (server-sent events) while it is shown: a poke
//! refetches, after a short quiet so a burst of events costs one fetch. `EventSource`
//! reconnects by itself; each connection refetches too (what changed before it).

use leptos::prelude::*;

/// Quiet before a refetch (ms).
#[cfg(feature = "browser")]
const QUIET_MS: u64 = 250;

/// Bumps `tick` when the dashboard should refetch; `connected` says whether the stream is up.
pub fn follow(tick: RwSignal<u32>, connected: RwSignal<bool>) {
    #[cfg(feature = "browser")]
    Effect::new(move |_| {
        use std::time::Duration;
        use wasm_bindgen::{JsCast, closure::Closure};

        let init = web_sys::EventSourceInit::new();
        init.set_with_credentials(true);
        let url = crate::remote::server_url("/api/dashboard/live");
        let Ok(source) = web_sys::EventSource::new_with_event_source_init_dict(&url, &init) else {
            return;
        };
        let pending = StoredValue::new_local(None::<leptos::prelude::TimeoutHandle>);
        let refetch = move || {
            if let Some(h) = pending.get_value() {
                h.clear();
            }
            let h = set_timeout_with_handle(
                move || {
                    let _ = tick.try_update(|n| *n = n.wrapping_add(1));
                },
                Duration::from_millis(QUIET_MS),
            )
            .ok();
            pending.set_value(h);
        };
        // Every connection refetches, the first too: what changed between the page's data
        // and the stream's start (a tab of mine closing as I came here) was not followed.
        let on_ready = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |_| {
            let _ = connected.try_set(true);
            refetch();
        });
        let on_poke = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |_| refetch());
        let on_error = Closure::<dyn Fn(web_sys::Event)>::new(move |_| {
            let _ = connected.try_set(false);
        });
        let _ = source.add_event_listener_with_callback("ready", on_ready.as_ref().unchecked_ref());
        // Signed out elsewhere: the refetch shows the sign-in page's error.
        let _ =
            source.add_event_listener_with_callback("signed_out", on_poke.as_ref().unchecked_ref());
        let on_notice =
            Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
                if let Some(notice) = e
                    .data()
                    .as_string()
                    .and_then(|d| serde_json::from_str(&d).ok())
                {
                    crate::ops::banner::received(notice);
                }
            });
        let _ =
            source.add_event_listener_with_callback("notice", on_notice.as_ref().unchecked_ref());
        source.set_onmessage(Some(on_poke.as_ref().unchecked_ref()));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let held = send_wrapper::SendWrapper::new((source, on_ready, on_poke, on_error, on_notice));
        on_cleanup(move || {
            let (source, ..) = held.take();
            source.close();
        });
    });
    #[cfg(not(feature = "browser"))]
    let _ = (tick, connected);
}
