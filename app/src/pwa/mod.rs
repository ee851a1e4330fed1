//! The installable app: the service worker's update announcement and the Install button.
//! The worker itself is `public/sw.js`; what it keeps and why is written there.

use leptos::prelude::*;

#[cfg(feature = "browser")]
mod client {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/src/pwa/pwa.js")]
    extern "C" {
        #[wasm_bindgen(js_name = onInstallable)]
        pub(super) fn on_installable(cb: &js_sys::Function) -> js_sys::Function;
        #[wasm_bindgen(js_name = promptInstall)]
        pub(super) fn prompt_install() -> js_sys::Promise;
        #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
        #[wasm_bindgen(js_name = registerWorker)]
        pub(super) fn register_worker(on_update: &js_sys::Function);
        #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
        #[wasm_bindgen(js_name = applyUpdate)]
        pub(super) fn apply_update();
    }
}

/// "A new version of Tandem is ready" with a Reload button, shown when the service worker
/// installed a new build while this page runs the old one. Never reloads on its own: the
/// person may be typing, and a page never mixes two builds' files.
#[component]
pub fn UpdateBanner() -> impl IntoView {
    let ready = RwSignal::new(false);
    // The server's pages only: the Trunk bundle's static host has no `/sw.js` (the worker's
    // precache list and offline shell are the server build's).
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use wasm_bindgen::{JsCast, closure::Closure};
        let cb = Closure::<dyn Fn()>::new(move || ready.set(true));
        client::register_worker(cb.as_ref().unchecked_ref());
        // Lives as long as the page: the worker may announce an update at any time.
        cb.forget();
    });
    let reload = move |_| {
        #[cfg(feature = "hydrate")]
        client::apply_update();
    };
    view! {
        <Show when=move || ready.get()>
            <div class="update-banner" role="status" data-test="update-banner">
                <span>"A new version of Tandem is ready."</span>
                <button type="button" class="primary" data-test="update-reload" on:click=reload>"Reload"</button>
                <button type="button" class="link" on:click=move |_| ready.set(false)>"Later"</button>
            </div>
        </Show>
    }
}

/// "Install app", shown while the browser offers to install Tandem (Chromium's
/// `beforeinstallprompt`); gone once installed or where the browser does not offer it.
#[component]
pub fn InstallButton() -> impl IntoView {
    let installable = RwSignal::new(false);
    #[cfg(feature = "browser")]
    Effect::new(move |_| {
        use wasm_bindgen::{JsCast, closure::Closure};
        let cb = Closure::<dyn Fn(bool)>::new(move |on: bool| {
            let _ = installable.try_set(on);
        });
        let stop = client::on_installable(cb.as_ref().unchecked_ref());
        let held = send_wrapper::SendWrapper::new((stop, cb));
        on_cleanup(move || {
            let (stop, _cb) = held.take();
            let _ = stop.call0(&wasm_bindgen::JsValue::NULL);
        });
    });
    let install = move |_| {
        #[cfg(feature = "browser")]
        leptos::task::spawn_local(async {
            let _ = wasm_bindgen_futures::JsFuture::from(client::prompt_install()).await;
        });
    };
    view! {
        <Show when=move || installable.get()>
            <button type="button" class="link install-app" data-test="install-app" on:click=install
                title="Install Tandem as an app on this device">"Install app"</button>
        </Show>
    }
}
