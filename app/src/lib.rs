//! The Tandem web application: routes, pages and the server functions they call. Built with
//! `ssr` into the server binary, with `hydrate` into the browser's wasm (which also renders
//! the offline shell from nothing), and with `csr` into the Trunk bundle for static hosts.

// `#[component]` re-emits items with the visibility of the function it wraps, which this lint
// misreads as unreachable `pub`; the rest of the workspace keeps it.
#![allow(unreachable_pub)]

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    Lazy, SsrMode,
    components::{Route, Router, Routes},
    path,
};

pub mod account;
pub mod audit;
pub mod auth;
pub mod browser;
pub mod chat;
pub mod dashboard;
pub mod editor;
pub mod error;
pub mod files;
pub mod history;
pub mod ide;
pub mod live;
pub mod offline;
pub mod ops;
pub mod projects;
pub mod pwa;
pub mod remote;
mod routes;
pub mod runs;
#[cfg(feature = "ssr")]
pub mod services;
pub mod suggestions;
pub mod terminals;
pub mod types;
mod ui;
pub mod validate;
pub mod when;

pub use error::{AppError, AppResult};

/// The HTML document around the app; rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover"/>
                <meta name="color-scheme" content="light dark"/>
                <meta name="theme-color" content="#2f6fed"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="apple-touch-icon" href="/icons/apple-touch-icon.png"/>
                // With credentials, so a signed-in person's manifest lists their projects.
                <link rel="manifest" href="/manifest.webmanifest" crossorigin="use-credentials"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    ops::banner::Notices::provide();
    view! {
        <Stylesheet id="leptos" href="/pkg/tandem.css"/>
        <Title text="Tandem"/>
        <pwa::UpdateBanner/>
        <ops::NoticeBar/>
        <Router>
            <Routes fallback=ui::NotFoundPage>
                <Route path=path!("/") view={Lazy::<routes::DashboardPage>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/login") view=auth::LoginPage/>
                <Route path=path!("/signup") view=auth::SignupPage/>
                <Route path=path!("/account") view={Lazy::<routes::AccountPage>::new()}/>
                <Route path=path!("/admin") view={Lazy::<routes::AdminPage>::new()} ssr=SsrMode::Async/>
                // Async SSR so a 403/404 from the data load becomes the page's HTTP status.
                <Route path=path!("/p/:id") view={Lazy::<routes::IdePage>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/p/:id/settings") view={Lazy::<routes::SettingsPage>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/p/:id/audit") view={Lazy::<routes::AuditPage>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/p/:id/dashboard") view={Lazy::<routes::ProjectDashboardPage>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/invite/:token") view={Lazy::<routes::InvitePage>::new()} ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}
