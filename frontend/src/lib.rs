//! The browser entry points: `hydrate()` for a page the server rendered, `mount()` for a page
//! that starts from nothing: the offline shell (`/offline.html`, which the service worker
//! answers with when the server cannot be reached) and the Trunk bundle (`src/main.rs`). Both
//! render the same app; offline it reads what it kept in IndexedDB.

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Each page is a lazily loaded route (`app/src/routes.rs`): hydration waits for the page's
    // chunk, so it runs as a task, and the page counts as live only once it is done.
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::prelude::document().body();
        if let Some(body) = body {
            let owner = leptos::mount::hydrate_from_async(body, app::App).await;
            owner.forget();
            mark("hydrated");
        }
    });
}

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn mount() {
    console_error_panic_hook::set_once();
    // The Trunk bundle may be served apart from the server it names (README, "A static client").
    app::remote::connect();
    leptos::mount::mount_to_body(app::App);
    mark("mounted");
}

/// Lets tests (and curious users) tell a live page from a server-rendered one.
fn mark(how: &str) {
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute(&format!("data-{how}"), "true");
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
