//! The dashboard's parts: project cards (who is in, sparkline, runs), runs in progress,
//! mentions of me and the activity feed with its filters.

use leptos::prelude::*;

use super::{
    Activity, ActivityKind, FeedFilter, MAX_PAGES, Mention, ProjectCard, TeamDashboard, What,
    read_mentions,
};
use crate::{
    types::{ProjectId, UserId, runs::RunInfo},
    when::{ago, now_ms},
};

pub mod live;
mod notify;
mod spark;

use spark::Sparkline;

/// The dashboard's state: the filter the feed is read with and a counter that refetches.
#[derive(Clone, Copy)]
pub struct Controls {
    pub filter: RwSignal<FeedFilter>,
    pub tick: RwSignal<u32>,
}

impl Controls {
    fn refetch(self) {
        self.tick.update(|n| *n = n.wrapping_add(1));
    }
}

#[component]
pub fn TeamView(data: TeamDashboard, controls: Controls) -> AnyView {
    let now = now_ms();
    let TeamDashboard {
        projects,
        feed,
        more,
        people,
        unread,
        mentions,
        today,
    } = data;
    notify::unread_now(unread, mentions.iter().find(|m| !m.read));
    let running: Vec<(String, RunInfo, ProjectId)> = projects
        .iter()
        .flat_map(|c| {
            c.running
                .iter()
                .map(|r| (c.project.name.clone(), r.clone(), c.project.id))
        })
        .collect();
    let names: Vec<(ProjectId, String)> = projects
        .iter()
        .map(|c| (c.project.id, c.project.name.clone()))
        .collect();
    view! {
        <div class="team">
            <section class="team-projects" aria-label="Projects">
                {if projects.is_empty() {
                    view! { <p class="empty">"No projects yet. Create one above, or open an invite link from a teammate."</p> }.into_any()
                } else {
                    view! {
                        <ul class="project-cards">
                            {projects.into_iter().map(|c| view! { <Card card=c today=today now=now/> }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
            <aside class="team-side">
                {(!running.is_empty()).then(|| view! {
                    <section class="running-now" data-test="running-now">
                        <h2>"Running now"</h2>
                        <ul>
                            {running.into_iter().map(|(project, r, id)| view! {
                                <li data-test="running-run">
                                    <a href=format!("/p/{}", id.0)>{project}</a>" · "
                                    <strong>{r.name.clone()}</strong>
                                    {r.environment.clone().map(|e| format!(" in {e}"))}
                                    <span class="muted small">{format!(" · started by {} {}", r.started_by_name, ago(r.started_at, now))}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    </section>
                })}
                <Mentions unread=unread mentions=mentions controls=controls now=now/>
                <Feed feed=feed more=more people=people projects=names controls=controls now=now/>
            </aside>
        </div>
    }
    .into_any()
}

#[component]
pub(super) fn Card(card: ProjectCard, today: i64, now: i64) -> AnyView {
    let ProjectCard {
        project: p,
        online,
        spark,
        running,
    } = card;
    let members = format!(
        "owner {} · {} member{}",
        p.owner,
        p.member_count,
        if p.member_count == 1 { "" } else { "s" }
    );
    view! {
        <li class="project-card" data-test="project-card" data-name=p.name.clone()>
            <div class="card-head">
                <a href=format!("/p/{}", p.id.0) class="project-name">{p.name.clone()}</a>
                <span class="badge">{p.role.label()}</span>
                <a href=format!("/p/{}/dashboard", p.id.0) class="muted small" data-test="project-dashboard-link">"Dashboard"</a>
                <a href=format!("/p/{}/settings", p.id.0) class="muted small">"Settings"</a>
            </div>
            <p class="muted small">{members}</p>
            <Sparkline days=spark today=today/>
            {if online.is_empty() {
                view! { <p class="muted small" data-test="project-online">"Nobody here now"</p> }.into_any()
            } else {
                view! {
                    <ul class="online" data-test="project-online" aria-label="Here now">
                        {online.into_iter().map(|o| {
                            let files = if o.files.is_empty() { String::new() } else { format!(" in {}", o.files.join(", ")) };
                            view! {
                                <li data-test="online-person">
                                    <span class="avatar" aria-hidden="true">{crate::ui::initial(&o.name)}</span>
                                    <strong>{o.name}</strong><span class="muted">{files}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {running.into_iter().map(|r| view! {
                <p class="small card-run">"▶ "{r.name.clone()}<span class="muted">{format!(" · {} · {}", r.started_by_name, ago(r.started_at, now))}</span></p>
            }).collect_view()}
        </li>
    }
    .into_any()
}

#[component]
fn Mentions(unread: u64, mentions: Vec<Mention>, controls: Controls, now: i64) -> AnyView {
    let read_all = move |_| {
        leptos::task::spawn_local(async move {
            if read_mentions(None).await.is_ok() {
                controls.refetch();
            }
        });
    };
    view! {
        <section class="mentions" data-test="mentions">
            <h2>"Mentions of you "
                {(unread > 0).then(|| view! { <span class="badge unread" data-test="mentions-unread">{unread.to_string()}</span> })}
            </h2>
            {if mentions.is_empty() {
                view! { <p class="muted small">"Nobody has mentioned you yet. Teammates write @your-name in a project's chat."</p> }.into_any()
            } else {
                view! {
                    <ul>
                        {mentions.into_iter().map(|m| {
                            let (message, project) = (m.message, m.project);
                            let open = move |_| {
                                // Marked read on the way into the project.
                                leptos::task::spawn_local(async move {
                                    let _ = read_mentions(Some(message)).await;
                                    controls.refetch();
                                });
                            };
                            view! {
                                <li class:fresh=!m.read data-test="mention" data-read=m.read.to_string()>
                                    <a href=format!("/p/{}", project.0) on:click=open>
                                        <strong>{m.by.clone()}</strong>" in "{m.project_name.clone()}
                                    </a>
                                    <span class="muted small">{format!(" · {}", ago(m.at, now))}</span>
                                    <p class="small">{m.excerpt.clone()}</p>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    {(unread > 0).then(|| view! {
                        <button type="button" class="link small" data-test="mentions-read" on:click=read_all>"Mark all read"</button>
                    })}
                }.into_any()
            }}
            <notify::NotifyButton/>
        </section>
    }
    .into_any()
}

/// What an entry says after the person's name.
fn said(a: &Activity) -> (String, Option<String>) {
    match &a.what {
        What::Edit { path, updates, .. } => (
            format!("edited {path}"),
            Some(format!(
                "{updates} change{}",
                if *updates == 1 { "" } else { "s" }
            )),
        ),
        What::Chat { excerpt, ai, .. } => (
            if *ai {
                "answered:".to_owned()
            } else {
                "wrote:".to_owned()
            },
            Some(excerpt.clone()),
        ),
        What::Run { run } => (
            format!(
                "ran {}{}",
                run.name,
                run.environment
                    .as_deref()
                    .map(|e| format!(" in {e}"))
                    .unwrap_or_default()
            ),
            Some(if run.running() {
                "running…".to_owned()
            } else {
                run.outcome()
            }),
        ),
        What::Join { role } => (format!("joined as {}", role.label().to_lowercase()), None),
    }
}

/// A run's entry is marked by how it ended.
fn outcome_class(a: &Activity) -> &'static str {
    match &a.what {
        What::Run { run } if run.running() => "running",
        What::Run { run } if run.exit_code == Some(0) && run.reason.is_none() => "ok",
        What::Run { .. } => "failed",
        _ => "",
    }
}

#[component]
fn Feed(
    feed: Vec<Activity>,
    more: bool,
    people: Vec<(UserId, String)>,
    projects: Vec<(ProjectId, String)>,
    controls: Controls,
    now: i64,
) -> AnyView {
    let filter = controls.filter;
    let set_project = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        filter.update(|f| {
            f.project = v.parse().ok().map(ProjectId);
            f.pages = 1;
        });
    };
    let set_person = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        filter.update(|f| {
            f.person = v.parse().ok().map(UserId);
            f.pages = 1;
        });
    };
    let kinds = ActivityKind::ALL.map(|k| {
        let on = move || filter.with(|f| f.kinds.contains(&k));
        view! {
            <button type="button" class="chip" aria-pressed=move || on().to_string()
                data-test="feed-kind" data-kind=k.as_str()
                on:click=move |_| filter.update(|f| {
                    if let Some(i) = f.kinds.iter().position(|x| *x == k) {
                        f.kinds.remove(i);
                    } else {
                        f.kinds.push(k);
                    }
                    f.pages = 1;
                })>{k.label()}</button>
        }
    });
    let chosen_project = filter.with_untracked(|f| f.project);
    let chosen_person = filter.with_untracked(|f| f.person);
    let empty = feed.is_empty();
    view! {
        <section class="feed" data-test="feed">
            <h2>"Activity"</h2>
            <div class="feed-filters">
                <select aria-label="Project" data-test="feed-project" on:change=set_project>
                    <option value="" selected=chosen_project.is_none()>"All projects"</option>
                    {projects.into_iter().map(|(id, name)| view! {
                        <option value=id.0.to_string() selected=chosen_project == Some(id)>{name}</option>
                    }).collect_view()}
                </select>
                <select aria-label="Person" data-test="feed-person" on:change=set_person>
                    <option value="" selected=chosen_person.is_none()>"Everyone"</option>
                    {people.into_iter().map(|(id, name)| view! {
                        <option value=id.0.to_string() selected=chosen_person == Some(id)>{name}</option>
                    }).collect_view()}
                </select>
                <span class="chips" role="group" aria-label="Kinds">{kinds}</span>
            </div>
            {empty.then(|| view! { <p class="muted small" data-test="feed-empty">"Nothing yet for this filter."</p> })}
            <ol class="feed-list">
                {feed.into_iter().map(|a| {
                    let (what, detail) = said(&a);
                    let class = outcome_class(&a);
                    view! {
                        <li class=format!("feed-entry {class}") data-test="feed-entry" data-kind=a.kind().as_str()>
                            <span class="avatar" aria-hidden="true">{crate::ui::initial(&a.who)}</span>
                            <div>
                                <p><strong>{a.who.clone()}</strong>" "{what}
                                    <span class="muted">" · "<a href=format!("/p/{}", a.project.0)>{a.project_name.clone()}</a></span></p>
                                {detail.map(|d| view! { <p class="small detail">{d}</p> })}
                            </div>
                            <time class="muted small" title=crate::audit::format_ms(a.at)>{ago(a.at, now)}</time>
                        </li>
                    }
                }).collect_view()}
            </ol>
            {more.then(|| view! {
                <button type="button" class="link" data-test="feed-more"
                    disabled=move || filter.with(|f| f.pages >= MAX_PAGES)
                    on:click=move |_| filter.update(|f| f.pages = (f.pages.max(1) + 1).min(MAX_PAGES))>
                    "Show older"
                </button>
            })}
        </section>
    }
    .into_any()
}
