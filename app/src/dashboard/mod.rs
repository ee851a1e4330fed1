//! The signed-in landing page: my projects, and the ways to start one (create, import a zip,
//! open a folder on the server). It composes the projects and files features; neither of them
//! depends on it.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::{
    error::AppError,
    files::{OpenDir, can_open_dirs},
    projects::{CreateProject, list_projects},
    ui::{ErrorPage, TopBar, loading},
};

#[component]
pub fn Dashboard() -> impl IntoView {
    let create = ServerAction::<CreateProject>::new();
    let projects = Resource::new(move || create.version().get(), |_| list_projects());
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
        <main class="page dashboard">
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
            <Suspense fallback=loading>
                {move || Suspend::new(async move {
                    match projects.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="empty">"No projects yet. Create one above, or open an invite link from a teammate."</p>
                        }.into_any(),
                        Ok(list) => view! {
                            <ul class="project-list">
                                {list.into_iter().map(|p| view! {
                                    <li>
                                        <a href=format!("/p/{}", p.id) class="project-name">{p.name.clone()}</a>
                                        <span class="badge">{p.role.label()}</span>
                                        <span class="muted">{format!("owner {} · {} member{}", p.owner, p.member_count, if p.member_count == 1 { "" } else { "s" })}</span>
                                        <a href=format!("/p/{}/settings", p.id) class="muted">"Settings"</a>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(AppError::Transport(_)) => view! { <KeptProjects/> }.into_any(),
                        Err(e) => view! { <ErrorPage error=e/> }.into_any(),
                    }
                })}
            </Suspense>
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
