//! `/p/:id/dashboard`: one project's dashboard. Its card (who is here and in which file, the
//! 14-day sparkline, runs in progress), the latest runs with their status, duration and who
//! started them, the files changed most this week and by whom, and for owners the AI use.
//! It reloads every [`REFRESH_SECS`] while open; a running run's CPU and memory are live in
//! the editor's Run panel.

use leptos::prelude::*;

use super::{HotFile, ProjectOverview, duration, load_project_overview, view::Card};
use crate::{
    error::AppError,
    types::{Role, runs::RunInfo},
    ui::{ErrorPage, TopBar, loading, project_id_param},
    when::{ago, now_ms},
};

#[cfg_attr(not(feature = "browser"), allow(dead_code))]
const REFRESH_SECS: u64 = 10;

#[component]
pub fn ProjectDashboard() -> impl IntoView {
    let project = project_id_param();
    let tick = RwSignal::new(0u32);
    // Made here, above the Transition (see `SectionData`); shown to owners only.
    let ai = crate::projects::ai::ai_data(project);
    let data = Resource::new(
        move || (project(), tick.get()),
        |(p, _)| async move {
            match p {
                Some(p) => load_project_overview(p).await,
                None => Err(AppError::NotFound("Project".into())),
            }
        },
    );
    #[cfg(feature = "browser")]
    if let Ok(h) = set_interval_with_handle(
        move || {
            if matches!(data.get_untracked(), Some(Ok(_))) {
                tick.update(|n| *n = n.wrapping_add(1));
            }
        },
        std::time::Duration::from_secs(REFRESH_SECS),
    ) {
        on_cleanup(move || h.clear());
    }
    view! {
        <TopBar/>
        <main class="page project-dashboard" data-test="project-dashboard">
            <Transition fallback=loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(o) => body(o, ai),
                        Err(e) => view! { <ErrorPage error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

fn body(o: ProjectOverview, ai: crate::projects::ai::AiData) -> AnyView {
    let now = now_ms();
    let p = o.card.project.clone();
    let owner = p.role == Role::Owner;
    view! {
        <p><a href=format!("/p/{}", p.id.0)>"← Back to the editor"</a></p>
        <h1>{format!("{} · Dashboard", p.name)}</h1>
        <ul class="project-cards single">
            <Card card=o.card today=o.today now=now/>
        </ul>
        {runs_view(o.runs, now)}
        {hot_view(o.hot_files)}
        {owner.then(|| view! { <crate::projects::ai::AiSection project=p.id is_owner=true loaded=ai/> })}
    }
    .into_any()
}

fn runs_view(runs: Vec<RunInfo>, now: i64) -> AnyView {
    let rows = if runs.is_empty() {
        view! { <p class="muted" data-test="overview-no-runs">"No runs yet. Run a file from the editor's Run bar."</p> }.into_any()
    } else {
        let rows = runs
            .into_iter()
            .map(|r| {
                let status = if r.running() {
                    "running…".to_owned()
                } else {
                    match (&r.reason, r.exit_code) {
                        (Some(reason), _) => reason.to_string(),
                        (None, Some(c)) => format!("exit {c}"),
                        (None, None) => "ended".to_owned(),
                    }
                };
                let ok = r.exit_code == Some(0) && r.reason.is_none();
                let class = if r.running() {
                    "running"
                } else if ok {
                    "ok"
                } else {
                    "failed"
                };
                view! {
                    <tr data-test="overview-run" data-name=r.name.clone()>
                        <td>{r.name.clone()}</td>
                        <td class=format!("run-state {class}")>{status}</td>
                        <td>{duration(&r, now)}</td>
                        <td>{r.started_by_name.clone()}</td>
                        <td>{ago(r.started_at, now)}</td>
                        <td>{r.environment.clone().unwrap_or_else(|| "—".to_owned())}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="table-scroll">
                <table class="ops-table" data-test="overview-runs">
                    <thead><tr>
                        <th>"Run"</th><th>"Status"</th><th>"Duration"</th><th>"Started by"</th>
                        <th>"When"</th><th>"Environment"</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="ops-section" aria-labelledby="overview-runs">
            <h2 id="overview-runs">"Runs"</h2>
            {rows}
        </section>
    }
    .into_any()
}

fn hot_view(files: Vec<HotFile>) -> AnyView {
    let most = files.first().map_or(1, |f| f.changes.max(1));
    let list = if files.is_empty() {
        view! { <p class="muted" data-test="overview-no-files">"Nobody changed a file this week."</p> }.into_any()
    } else {
        files
            .into_iter()
            .map(|f| {
                let width = format!("width: {:.0}%", f.changes as f64 * 100.0 / most as f64);
                let who = f
                    .people
                    .iter()
                    .map(|(name, n)| format!("{name} {n}"))
                    .collect::<Vec<_>>()
                    .join(" · ");
                view! {
                    <li class="hot-file" data-test="hot-file" data-name=f.name.clone() data-changes=f.changes.to_string()>
                        <div class="hot-head">
                            <strong>{f.name.clone()}</strong>
                            <span class="muted small">{format!("{} change{}", f.changes, if f.changes == 1 { "" } else { "s" })}</span>
                        </div>
                        <div class="hot-bar" aria-hidden="true"><span style=width></span></div>
                        <p class="small muted" data-test="hot-people">{who}</p>
                    </li>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <section class="ops-section" aria-labelledby="overview-hot">
            <h2 id="overview-hot">"Changed most this week"</h2>
            <ul class="hot-files">{list}</ul>
        </section>
    }
    .into_any()
}
