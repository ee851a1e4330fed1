//! The signed-in pages as lazily loaded routes. With the `split` feature (the hydrate wasm
//! `cargo xtask` builds) each is a split point: the build's wasm-split step moves the code only
//! these pages use out of the first bundle into a chunk, fetched when such a page is first
//! shown (hydration waits for it; the service worker precaches the chunks). Without the
//! feature (the server, the Trunk bundle) the same routes run with all their code in one
//! binary.

use leptos::prelude::*;
use leptos_router::LazyRoute;

/// A route whose page is `$view`, drawn by `$load`, a split point in chunk `$chunk`;
/// `$preload` is the name `#[lazy]` gives the function that loads the chunk.
///
/// Pages of one chunk load together: `#[lazy(name)]` names the chunk after `name` plus a hash
/// of where the attribute is written, which for every expansion of this macro is the same
/// place, so `name` alone decides. Two chunks, not one per page: wasm-split gives every set
/// of pages that share code a chunk of its own, and ten pages made some 160 files, a page
/// needing a hundred of them (each a request).
macro_rules! lazy_page {
    ($chunk:ident, $route:ident, $load:ident, $preload:ident, $view:path) => {
        pub struct $route;

        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            async fn view(_: Self) -> AnyView {
                $load().await
            }

            // The router loads the chunk before it hydrates a server-rendered page: hydration
            // draws the page at once, and a page whose code was still on its way would not
            // match the server's HTML.
            async fn preload() {
                #[cfg(feature = "split")]
                $preload().await;
            }
        }

        #[cfg_attr(feature = "split", leptos::lazy($chunk))]
        async fn $load() -> AnyView {
            view! { <$view/> }.into_any()
        }
    };
}

// The IDE: most of the app's code, and what a person opening a project link needs.
lazy_page!(
    ide,
    IdePage,
    ide_page,
    __preload_ide_page,
    crate::ide::IdePage
);
// Every other signed-in page. Sign-in and sign-up stay in the first bundle (they are small and
// are a newcomer's first page).
lazy_page!(
    pages,
    DashboardPage,
    dashboard_page,
    __preload_dashboard_page,
    crate::dashboard::Dashboard
);
lazy_page!(
    pages,
    AccountPage,
    account_page,
    __preload_account_page,
    crate::account::AccountPage
);
lazy_page!(
    pages,
    AdminPage,
    admin_page,
    __preload_admin_page,
    crate::ops::OpsConsole
);
lazy_page!(
    pages,
    SettingsPage,
    settings_page,
    __preload_settings_page,
    crate::projects::ProjectSettings
);
lazy_page!(
    pages,
    AuditPage,
    audit_page,
    __preload_audit_page,
    crate::projects::AuditPage
);
lazy_page!(
    pages,
    ProjectDashboardPage,
    project_dashboard_page,
    __preload_project_dashboard_page,
    crate::dashboard::ProjectDashboard
);
lazy_page!(
    pages,
    InvitePage,
    invite_page,
    __preload_invite_page,
    crate::projects::InvitePage
);
