//! The browser shims view code uses: navigation, local storage, the clock, the viewport and
//! window events. Each compiles (as a no-op) on the server too, so pages need no `cfg` for
//! them.

use leptos::{ev::EventDescriptor, prelude::*};

/// A full page load, so the server's session and page guard see the new state.
pub fn go_to(url: &str) {
    #[cfg(feature = "browser")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_href(url);
    }
    #[cfg(not(feature = "browser"))]
    let _ = url;
}

/// This browser's local storage, if it allows any.
pub fn storage() -> Option<web_sys::Storage> {
    #[cfg(feature = "browser")]
    {
        web_sys::window()?.local_storage().ok().flatten()
    }
    #[cfg(not(feature = "browser"))]
    {
        None
    }
}

/// Milliseconds since the Unix epoch (0 on the server, which never asks).
pub fn now_ms() -> f64 {
    #[cfg(feature = "browser")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "browser"))]
    {
        0.0
    }
}

/// The phone layout (panes as tabs, under 768 px) is in use.
pub fn narrow() -> bool {
    #[cfg(feature = "browser")]
    {
        web_sys::window()
            .and_then(|w| w.inner_width().ok())
            .and_then(|w| w.as_f64())
            .is_some_and(|w| w < 768.0)
    }
    #[cfg(not(feature = "browser"))]
    {
        false
    }
}

/// The pointer is a finger (a phone or tablet): controls get bigger targets.
pub fn coarse_pointer() -> bool {
    #[cfg(feature = "browser")]
    {
        web_sys::window()
            .and_then(|w| w.match_media("(pointer: coarse)").ok().flatten())
            .is_some_and(|m| m.matches())
    }
    #[cfg(not(feature = "browser"))]
    {
        false
    }
}

/// Listens to `event` on the window for as long as the calling component lives. Leptos's
/// `window_event_listener` stays until its handle's `remove()` is called: one that outlives
/// its page reads disposed signals on the next event, and the wasm panics.
pub fn on_window<E>(event: E, cb: impl Fn(E::EventType) + 'static)
where
    E: EventDescriptor + 'static,
    E::EventType: leptos::wasm_bindgen::JsCast,
{
    let handle = window_event_listener(event, cb);
    on_cleanup(move || handle.remove());
}

/// Percent-encodes a string for use as one URL query value.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_query_values() {
        assert_eq!(super::encode_component("/p/3?x=1&y"), "/p/3%3Fx%3D1%26y");
    }
}
