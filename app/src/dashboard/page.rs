//! The signed-in landing page: the ways to start a project (create, import a zip, open a
//! folder on the server) above the team view (`view`). It composes the projects and files
//! features; neither of them depends on it.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use super::{
    FeedFilter, load_dashboard,
    view::{Controls, TeamView, live},
};
use crate::{
    error::AppError,
    files::{OpenDir, can_open_dirs},
    projects::CreateProject,
    ui::{ErrorPage, TopBar, loading},
};

#[component]
pub fn Dashboard() -> impl IntoView {
    let create = ServerAction::<CreateProject>::new();
    let controls = Controls {
        filter: RwSignal::new(FeedFilter::default()),
        tick: RwSignal::new(0),
    };
    let connected = RwSignal::new(false);
    live::follow(controls.tick, connected);
    let team = Resource::new(
        move || {
            (
                controls.filter.get(),
                controls.tick.get(),
                create.version().get(),
            )
        },
        |(filter, _, _)| load_dashboard(filter),
    );
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(p)) = create.value().get() {
            navigate(&format!("/p/{}", p.id), Default::default());
        }
    });
    let open_dir = ServerAction::<OpenDir>::new();
    let may_open_dirs = Resource::new(|| (), |_| can_open_dirs());
    let navigate_dir = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(p)) = open_dir.value().get() {
            navigate_dir(&format!("/p/{p}"), Default::default());
        }
    });
    let create_error = move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    view! {
        <TopBar/>
        <main class="page dashboard" data-live=move || if connected.get() { "on" } else { "off" }>
            <h1>"Your projects"</h1>
            <ActionForm action=create attr:class="row-form" attr:data-test="create-project">
                <label class="sr-only" for="new-project">"Project name"</label>
                <input id="new-project" name="name" placeholder="New project name" required
                    maxlength=crate::validate::PROJECT_NAME_MAX.to_string()/>
                <button type="submit" class="primary" disabled=move || create.pending().get()>
                    "Create project"
                </button>
            </ActionForm>
            <p class="form-error" role="alert">{create_error}</p>
            // A plain multipart form: works before (and without) the wasm, and the server
            // answers with the new project or a page saying why the zip was refused.
            <details class="import-zip">
                <summary>"Import a project from a zip"</summary>
                <form method="post" action=crate::remote::server_url("/api/projects/import") enctype="multipart/form-data"
                    class="row-form" data-test="import-zip">
                    <input name="name" type="text" placeholder="Name (default: the zip's name)" aria-label="Name for the imported project"/>
                    <input name="file" type="file" accept=".zip,application/zip" required aria-label="Zip file"/>
                    <button type="submit">"Import"</button>
                </form>
            </details>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    may_open_dirs.await.unwrap_or(false).then(|| view! {
                        <details class="open-dir" data-test="open-dir">
                            <summary>"Open a folder on the server (admin)"</summary>
                            <ActionForm action=open_dir attr:class="row-form">
                                <input name="path" type="text" required placeholder="/srv/repos/my-repo"
                                    aria-label="Folder path on the server"/>
                                <button type="submit" disabled=move || open_dir.pending().get()>"Open folder"</button>
                            </ActionForm>
                            <p class="form-error" role="alert" data-test="open-dir-error">
                                {move || open_dir.value().get().and_then(Result::err).map(|e| e.to_string())}
                            </p>
                        </details>
                    })
                })}
            </Suspense>
            // A refetch (live event, filter) keeps the page as it is until the new data is in.
            <Transition fallback=loading>
                {move || Suspend::new(async move {
                    match team.await {
                        Ok(data) => view! { <TeamView data=data controls=controls/> }.into_any(),
                        Err(AppError::Transport(_)) => view! { <KeptProjects/> }.into_any(),
                        Err(e) => view! { <ErrorPage error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

/// The server cannot be reached (offline, or the installed app launched in a tunnel): the
/// projects this device kept, which open from their local copies.
#[component]
fn KeptProjects() -> impl IntoView {
    let kept: RwSignal<Option<Vec<(i64, String)>>> = RwSignal::new(None);
    #[cfg(feature = "browser")]
    leptos::task::spawn_local(async move {
        let names = crate::offline::local::project_names().await;
        let _ = kept.try_set(Some(names));
    });
    view! {
        <div class="offline-projects" data-test="kept-projects">
            <p class="notice" role="status">"The server cannot be reached. These projects are kept on this device and open offline; edits are sent when the connection is back."</p>
            {move || match kept.get() {
                None => view! { <p class="muted">"Reading…"</p> }.into_any(),
                Some(list) if list.is_empty() => view! {
                    <p class="empty">"No project is kept on this device yet: open one while online first."</p>
                }.into_any(),
                Some(list) => view! {
                    <ul class="project-list">
                        {list.into_iter().map(|(id, name)| view! {
                            <li><a href=format!("/p/{id}") class="project-name">{name}</a>
                                <span class="muted">"kept on this device"</span></li>
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </div>
    }
}
