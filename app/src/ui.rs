//! Pieces every page shares: the top bar, loading and error states, and the project-id param.

use leptos::prelude::*;
use leptos_router::{
    components::Redirect,
    hooks::{use_location, use_params_map},
};

use crate::{
    auth::{LogoutButton, me},
    browser::encode_component,
    error::AppError,
    types::ProjectId,
};

pub(crate) fn loading() -> impl IntoView {
    view! { <p class="loading" aria-busy="true">"Loading…"</p> }
}

/// The `:id` route parameter as a project id; `None` when it is not a number (shown as 404).
pub(crate) fn project_id_param() -> impl Fn() -> Option<ProjectId> + Copy + Send + Sync + 'static {
    let params = use_params_map();
    move || params.read().get("id")?.parse().ok().map(ProjectId)
}

/// A project page's section data (environments, AI use), loaded by the page itself, above every
/// `Suspense`, and handed to the section it shows. A resource made inside a `Suspend` (a section
/// drawn once the page's own data arrived) can lose its owner while it loads on the server, and
/// with it the request's services: the section then rendered an error the browser's copy did
/// not, and the page never hydrated (the settings page, now and then, in CI).
pub struct SectionData<T: Send + Sync + 'static> {
    /// Bump to load again (after a change the section made).
    pub reload: RwSignal<u32>,
    pub data: Resource<Result<T, AppError>>,
}

impl<T: Send + Sync + 'static> Clone for SectionData<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: Send + Sync + 'static> Copy for SectionData<T> {}

impl<T> SectionData<T>
where
    T: Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    pub fn new<F, Fut>(
        project: impl Fn() -> Option<ProjectId> + Send + Sync + 'static,
        load: F,
    ) -> Self
    where
        F: Fn(ProjectId) -> Fut + Copy + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<T, AppError>> + Send + 'static,
    {
        let reload = RwSignal::new(0u32);
        let data = Resource::new(
            move || (project(), reload.get()),
            move |(p, _)| async move {
                match p {
                    Some(p) => load(p).await,
                    None => Err(AppError::NotFound("Project".into())),
                }
            },
        );
        Self { reload, data }
    }

    pub fn changed(&self) {
        self.reload.update(|n| *n = n.wrapping_add(1));
    }
}

#[component]
pub(crate) fn TopBar() -> impl IntoView {
    let user = Resource::new(|| (), |_| me());
    view! {
        <header class="topbar">
            <a href="/" class="brand">"Tandem"</a>
            <crate::pwa::InstallButton/>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match user.await {
                        Ok(Some(u)) => view! {
                            <a href="/account" class="who" data-test="whoami" title="Your account">{u.name}</a>
                            <LogoutButton/>
                        }.into_any(),
                        _ => view! { <a href="/login">"Log in"</a> }.into_any(),
                    }
                })}
            </Suspense>
        </header>
    }
}

/// Turns an error into the page a user should see (and, on the server, the page's status):
/// login for a missing or expired session, 404 and 403 pages, or a plain message.
#[component]
pub(crate) fn ErrorPage(error: AppError) -> impl IntoView {
    crate::error::set_page_status(&error);
    match error {
        AppError::NotSignedIn | AppError::SessionExpired => {
            let here = use_location().pathname.get_untracked();
            let expired = if error == AppError::SessionExpired { "&expired=1" } else { "" };
            view! { <Redirect path=format!("/login?next={}{expired}", encode_component(&here))/> }.into_any()
        }
        AppError::NotFound(what) => view! {
            <section class="error-page" data-status="404">
                <h1>"404 · Not found"</h1>
                <p>{format!("{what} not found. It may have been deleted, or the link is wrong.")}</p>
                <a href="/">"Back to your projects"</a>
            </section>
        }
        .into_any(),
        AppError::Forbidden => view! {
            <section class="error-page" data-status="403">
                <h1>"403 · No access"</h1>
                <p>"You are not a member of this project. Ask its owner for an invite."</p>
                <a href="/">"Back to your projects"</a>
            </section>
        }
        .into_any(),
        other => view! {
            <section class="error-page">
                <h1>"Something went wrong"</h1>
                <p>{other.to_string()}</p>
                <a href="/">"Back to your projects"</a>
            </section>
        }
        .into_any(),
    }
}

#[component]
pub(crate) fn NotFoundPage() -> impl IntoView {
    view! {
        <TopBar/>
        <main class="page">
            <ErrorPage error=AppError::NotFound("Page".into())/>
        </main>
    }
}

/// The letter an avatar shows for a name.
pub fn initial(name: &str) -> String {
    name.chars()
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default()
}
