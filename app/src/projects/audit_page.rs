//! The project's audit log page (owners): filters by person, action and days, the entries a
//! page at a time, and the CSV and JSON export links.

use leptos::prelude::*;

use super::{audit_log, load_workspace};
use crate::{
    audit::{day_ms, export_href, format_ms},
    error::AppError,
    types::{
        Role, UserId,
        audit::{AuditAction, AuditFilter},
    },
    ui::{ErrorPage, TopBar, loading, project_id_param},
};

/// The log page: filters, the entries and the export links.
#[component]
pub(crate) fn AuditPage() -> impl IntoView {
    let project = project_id_param();
    let actor = RwSignal::new(None::<UserId>);
    let action = RwSignal::new(None::<AuditAction>);
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let filter = Memo::new(move |_| AuditFilter {
        actor: actor.get(),
        action: action.get(),
        from: day_ms(&from.get()),
        // The whole last day.
        to: day_ms(&to.get()).map(|t| t + 86_400_000),
    });
    let older = RwSignal::new(Vec::new());
    let more = RwSignal::new(None::<i64>);
    let workspace = Resource::new(project, |p| async move {
        match p {
            Some(p) => load_workspace(p).await,
            None => Err(AppError::NotFound("Project".into())),
        }
    });
    let first = Resource::new(
        move || (project(), filter.get()),
        |(p, f)| async move {
            match p {
                Some(p) => audit_log(p, f, None).await,
                None => Err(AppError::NotFound("Project".into())),
            }
        },
    );
    Effect::new(move |_| {
        if let Some(Ok(page)) = first.get() {
            older.set(Vec::new());
            more.set(page.more);
        }
    });
    let load_more = move |_| {
        let (Some(p), Some(before)) = (project(), more.get_untracked()) else {
            return;
        };
        let f = filter.get_untracked();
        leptos::task::spawn_local(async move {
            if let Ok(page) = audit_log(p, f, Some(before)).await {
                older.update(|o| o.extend(page.entries));
                more.set(page.more);
            }
        });
    };
    let row = |e: crate::types::audit::AuditEntry| {
        let when = format_ms(e.at);
        view! {
            <tr data-test="audit-row" data-action=e.action.code()>
                <td class="nowrap">{when}</td>
                <td>{e.actor_name}</td>
                <td>{e.action.label()}</td>
                <td class="audit-target">{e.target}</td>
                <td class="muted">{e.detail}</td>
            </tr>
        }
    };
    view! {
        <TopBar/>
        <main class="page audit">
            <Suspense fallback=loading>
                {move || Suspend::new(async move {
                    let ws = match workspace.await {
                        Ok(ws) => ws,
                        Err(e) => return view! { <ErrorPage error=e/> }.into_any(),
                    };
                    let pid = ws.project.id;
                    if ws.project.role < Role::Owner {
                        return view! { <ErrorPage error=AppError::Forbidden/> }.into_any();
                    }
                    let members = ws.members.clone();
                    view! {
                        <p><a href=format!("/p/{pid}/settings")>"← Back to settings"</a></p>
                        <h1>{format!("Audit log · {}", ws.project.name)}</h1>
                        <form class="audit-filters" on:submit=|ev| ev.prevent_default()>
                            <label>"Person "
                                <select data-test="audit-actor" on:change=move |ev| actor.set(event_target_value(&ev).parse().ok().map(UserId))>
                                    <option value="">"Everyone"</option>
                                    {members.into_iter().map(|m| view! {
                                        <option value=m.user.id.0.to_string()>{m.user.name}</option>
                                    }).collect_view()}
                                </select>
                            </label>
                            <label>"Action "
                                <select data-test="audit-action" on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    action.set((!v.is_empty()).then(|| AuditAction::parse(&v)));
                                }>
                                    <option value="">"Any"</option>
                                    {AuditAction::ALL.iter().map(|a| view! {
                                        <option value=a.code()>{a.label()}</option>
                                    }).collect_view()}
                                </select>
                            </label>
                            <label>"From " <input type="date" data-test="audit-from" on:change=move |ev| from.set(event_target_value(&ev))/></label>
                            <label>"To " <input type="date" data-test="audit-to" on:change=move |ev| to.set(event_target_value(&ev))/></label>
                            <span class="audit-export">"Export: "
                                <a data-test="audit-csv" download href=move || crate::remote::server_url(&export_href(pid, &filter.get(), "csv"))>"CSV"</a>
                                " · "
                                <a data-test="audit-json" download href=move || crate::remote::server_url(&export_href(pid, &filter.get(), "json"))>"JSON"</a>
                            </span>
                        </form>
                        <Transition fallback=loading>
                            {move || Suspend::new(async move {
                                match first.await {
                                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                                    Ok(page) if page.entries.is_empty() => view! {
                                        <p class="muted" data-test="audit-empty">"Nothing recorded that matches."</p>
                                    }.into_any(),
                                    Ok(page) => view! {
                                        <table class="audit-table" data-test="audit-table">
                                            <thead><tr><th>"When"</th><th>"Who"</th><th>"What"</th><th>"On"</th><th>"Details"</th></tr></thead>
                                            <tbody>
                                                {page.entries.into_iter().map(row).collect_view()}
                                                {move || older.get().into_iter().map(row).collect_view()}
                                            </tbody>
                                        </table>
                                        {move || more.get().is_some().then(|| view! {
                                            <button type="button" data-test="audit-more" on:click=load_more>"Older entries"</button>
                                        })}
                                    }.into_any(),
                                }
                            })}
                        </Transition>
                    }.into_any()
                })}
            </Suspense>
        </main>
    }
}
