//! `/admin`: the operations console for server admins. Health (per node), the notice controls
//! (broadcast, maintenance, restart countdown), alerts with their history, and the users with
//! disable / sign out / reset password. It refreshes every [`REFRESH_SECS`] while open.

use std::{future::Future, pin::Pin};

use leptos::{prelude::*, task::spawn_local};

use super::{
    Alert, Console, Level, NodeStatus, Notice, SystemStatus, UserAction, UserRow, act_on_user,
    announce_shutdown, load_console, set_banner, set_maintenance,
};
use crate::{
    error::AppError,
    offline::format_bytes,
    ui::{ErrorPage, TopBar, loading},
    when::{ago, now_ms},
};

/// How often the open console reloads its numbers.
#[cfg_attr(not(feature = "browser"), allow(dead_code))]
const REFRESH_SECS: u64 = 5;

type Change = Pin<Box<dyn Future<Output = Result<Option<String>, AppError>>>>;

/// Runs a change, then reloads the console; shows the refusal or what the change answered.
#[derive(Clone, Copy)]
struct Act {
    reload: RwSignal<u32>,
    error: RwSignal<Option<String>>,
    told: RwSignal<Option<String>>,
}

impl Act {
    fn run(self, change: Change) {
        self.error.set(None);
        self.told.set(None);
        spawn_local(async move {
            match change.await {
                Ok(told) => {
                    self.told.set(told);
                    self.reload.update(|n| *n += 1);
                }
                Err(e) => self.error.set(Some(e.to_string())),
            }
        });
    }
}

#[component]
pub fn OpsConsole() -> impl IntoView {
    let act = Act {
        reload: RwSignal::new(0),
        error: RwSignal::new(None),
        told: RwSignal::new(None),
    };
    let console = Resource::new(move || act.reload.get(), |_| load_console());
    // The console knows the notice first: its own notice bar shows a change at once.
    Effect::new(move |_| {
        if let Some(Ok(c)) = console.get() {
            super::banner::received(c.notice);
        }
    });
    #[cfg(feature = "browser")]
    if let Ok(h) = set_interval_with_handle(
        // Only while it shows the console: a refusal (not an admin, signed out) stays put.
        move || {
            if matches!(console.get_untracked(), Some(Ok(_))) {
                act.reload.update(|n| *n += 1);
            }
        },
        std::time::Duration::from_secs(REFRESH_SECS),
    ) {
        on_cleanup(move || h.clear());
    }
    view! {
        <TopBar/>
        <main class="page ops" data-test="ops">
            <h1>"Operations"</h1>
            <p class="form-error" role="alert" data-test="ops-error">{move || act.error.get()}</p>
            {move || act.told.get().map(|t| view! {
                <p class="ops-told" role="status" data-test="ops-told">{t}</p>
            })}
            <Transition fallback=loading>
                {move || Suspend::new(async move {
                    match console.await {
                        Ok(c) => body(c, act),
                        Err(e) => view! { <ErrorPage error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

fn body(c: Console, act: Act) -> AnyView {
    view! {
        {status_view(c.status)}
        {notice_controls(c.notice, act)}
        {alerts_view(c.alerts)}
        {users_view(c.users, act)}
    }
    .into_any()
}

fn tile(label: &'static str, value: String, test: &'static str) -> impl IntoView {
    view! {
        <div class="ops-tile" data-test=test>
            <span class="ops-value">{value}</span>
            <span class="ops-label">{label}</span>
        </div>
    }
}

fn status_view(s: SystemStatus) -> AnyView {
    let sockets: u64 = s.nodes.iter().map(|n| n.sockets).sum();
    let docs: u64 = s.nodes.iter().map(|n| n.open_docs).sum();
    let memory: u64 = s.nodes.iter().map(|n| n.memory_bytes).sum();
    let disk = if s.disk_total_bytes > 0 {
        format!(
            "{} free of {}",
            format_bytes(s.disk_free_bytes),
            format_bytes(s.disk_total_bytes)
        )
    } else {
        "unknown".to_owned()
    };
    let nodes = s.nodes.into_iter().map(node_row).collect_view();
    view! {
        <section class="ops-section" aria-labelledby="ops-status">
            <h2 id="ops-status">"System status"</h2>
            <div class="ops-tiles">
                {tile("connections", sockets.to_string(), "ops-sockets")}
                {tile("open documents", docs.to_string(), "ops-docs")}
                {tile("memory", format_bytes(memory), "ops-memory")}
                {tile("database latency", format!("{:.2} ms", s.db_latency_ms), "ops-db")}
                {tile("commit mean / max", format!("{:.1} / {:.1} ms", s.commit_mean_ms, s.commit_max_ms), "ops-commit")}
                {tile("failed commits", s.failed_commits.to_string(), "ops-failed")}
                {tile("disk", disk, "ops-disk")}
                {tile("users / projects", format!("{} / {}", s.users, s.projects), "ops-counts")}
            </div>
            <p class="muted small">{format!("Database: {}", s.database)}</p>
            <div class="table-scroll">
                <table class="ops-table" data-test="ops-nodes">
                    <thead><tr>
                        <th>"Node"</th><th>"Connections"</th><th>"Documents"</th>
                        <th>"Memory"</th><th>"Broker"</th><th>"Up"</th><th>"Reported"</th>
                    </tr></thead>
                    <tbody>{nodes}</tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}

fn node_row(n: NodeStatus) -> impl IntoView {
    let up = match n.uptime_secs {
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    };
    view! {
        <tr class:this-node=n.this>
            <td>{n.node}{n.this.then_some(" (this one)")}</td>
            <td>{n.sockets}</td>
            <td>{n.open_docs}</td>
            <td>{format_bytes(n.memory_bytes)}</td>
            <td class=format!("broker-{}", n.broker)>{n.broker.clone()}</td>
            <td>{up}</td>
            <td>{ago(n.reported_ms, now_ms())}</td>
        </tr>
    }
}

fn notice_controls(n: Notice, act: Act) -> AnyView {
    let text = RwSignal::new(String::new());
    let level = RwSignal::new(Level::Info);
    let why = RwSignal::new(String::new());
    let secs = RwSignal::new(60u32);
    let broadcast = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (t, l) = (text.get_untracked(), level.get_untracked());
        act.run(Box::pin(
            async move { set_banner(t, l).await.map(|()| None) },
        ));
    };
    let banner_now = n.banner.clone().map(|b| view! {
        <p class="ops-current" data-test="ops-banner-now">
            {format!("Showing: “{}” (by {}, {})", b.text, b.by, ago(b.at_ms, now_ms()))}
            <button type="button" data-test="ops-banner-down" on:click=move |_| {
                act.run(Box::pin(async move { set_banner(String::new(), Level::Info).await.map(|()| None) }));
            }>"Take down"</button>
        </p>
    });
    let in_maintenance = n.maintenance.is_some();
    let maintenance_now = n.maintenance.clone().map(|m| {
        view! {
            <p class="ops-current" data-test="ops-maintenance-now">
                {format!("On since {} (by {}): “{}”", ago(m.since_ms, now_ms()), m.by, m.message)}
            </p>
        }
    });
    let maintenance = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let message = why.get_untracked();
        act.run(Box::pin(async move {
            set_maintenance(!in_maintenance, message)
                .await
                .map(|()| None)
        }));
    };
    let shutdown_now = n.shutdown.clone().map(|s| {
        view! {
            <p class="ops-current" data-test="ops-shutdown-now">
                {format!("Announced: restart {}", super::banner::countdown(s.at_ms, now_ms()))}
                <button type="button" on:click=move |_| {
                    act.run(Box::pin(async move { announce_shutdown(0).await.map(|()| None) }));
                }>"Withdraw"</button>
            </p>
        }
    });
    let shutdown = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let s = secs.get_untracked();
        act.run(Box::pin(async move {
            announce_shutdown(s).await.map(|()| None)
        }));
    };
    view! {
        <section class="ops-section" aria-labelledby="ops-notices">
            <h2 id="ops-notices">"Tell everyone"</h2>
            <form class="ops-form" on:submit=broadcast data-test="ops-broadcast">
                <label for="ops-banner-text">"Broadcast banner"</label>
                <input id="ops-banner-text" type="text" required data-test="ops-banner-text"
                    maxlength=super::MESSAGE_MAX.to_string()
                    placeholder="e.g. New Python image at 14:00"
                    prop:value=move || text.get() on:input=move |e| text.set(event_target_value(&e))/>
                <select aria-label="Level" on:change=move |e| level.set(
                    if event_target_value(&e) == "warning" { Level::Warning } else { Level::Info })>
                    <option value="info">"Info"</option>
                    <option value="warning">"Warning"</option>
                </select>
                <button type="submit" class="primary" data-test="ops-banner-send">"Broadcast"</button>
            </form>
            {banner_now}
            <form class="ops-form" on:submit=maintenance data-test="ops-maintenance">
                <label for="ops-maintenance-text">"Maintenance mode"</label>
                {(!in_maintenance).then(|| view! {
                    <input id="ops-maintenance-text" type="text" data-test="ops-maintenance-text"
                        maxlength=super::MESSAGE_MAX.to_string()
                        placeholder="Files are read-only for a few minutes."
                        prop:value=move || why.get() on:input=move |e| why.set(event_target_value(&e))/>
                })}
                <button type="submit" class=if in_maintenance { "primary" } else { "danger" }
                    data-test="ops-maintenance-toggle">
                    {if in_maintenance { "Lift maintenance" } else { "Start maintenance" }}
                </button>
            </form>
            {maintenance_now}
            <p class="muted small">"In maintenance every file is read-only, new runs, terminals and file changes are refused; everyone stays signed in and open tabs stay open."</p>
            <form class="ops-form" on:submit=shutdown data-test="ops-shutdown">
                <label for="ops-shutdown-secs">"Restart notice (seconds)"</label>
                <input id="ops-shutdown-secs" type="number" min="10" max=super::SHUTDOWN_MAX_SECS.to_string()
                    prop:value=move || secs.get().to_string()
                    on:input=move |e| secs.set(event_target_value(&e).parse().unwrap_or(60))/>
                <button type="submit" data-test="ops-shutdown-send">"Announce restart"</button>
            </form>
            {shutdown_now}
        </section>
    }
    .into_any()
}

fn alerts_view(alerts: Vec<Alert>) -> AnyView {
    let rows = if alerts.is_empty() {
        view! { <p class="muted" data-test="ops-no-alerts">"No alerts so far."</p> }.into_any()
    } else {
        let rows = alerts
            .into_iter()
            .map(|a| {
                let open = a.ended_ms.is_none();
                let when = match a.ended_ms {
                    Some(end) => format!("{} · lasted {} s", ago(a.started_ms, now_ms()), (end - a.started_ms) / 1000),
                    None => format!("since {}", ago(a.started_ms, now_ms())),
                };
                view! {
                    <li class="ops-alert" class:open=open data-test="ops-alert" data-kind=a.kind.code()>
                        <strong>{a.kind.label()}</strong>
                        <span>{format!(" · {} · {}", a.message, a.node)}</span>
                        <span class="muted small">{format!(" · {when}")}</span>
                    </li>
                }
            })
            .collect_view();
        view! { <ul class="ops-alerts">{rows}</ul> }.into_any()
    };
    view! {
        <section class="ops-section" aria-labelledby="ops-alerts">
            <h2 id="ops-alerts">"Alerts"</h2>
            {rows}
        </section>
    }
    .into_any()
}

fn users_view(users: Vec<UserRow>, act: Act) -> AnyView {
    let rows = users
        .into_iter()
        .map(|u| {
            let id = u.id;
            #[cfg_attr(not(feature = "browser"), allow(unused_variables))]
            let name = u.name.clone();
            let run = move |action: UserAction| {
                act.run(Box::pin(async move { act_on_user(id, action).await }));
            };
            let toggle = if u.disabled { UserAction::Enable } else { UserAction::Disable };
            let reset = move |_| {
                #[cfg(feature = "browser")]
                {
                    let ask = format!("Give {name} a new password? They are signed out everywhere.");
                    if !web_sys::window().is_some_and(|w| w.confirm_with_message(&ask).unwrap_or(false)) {
                        return;
                    }
                }
                run(UserAction::ResetPassword);
            };
            view! {
                <tr data-test="ops-user" data-name=u.name.clone() class:disabled=u.disabled>
                    <td>{u.name.clone()}{u.admin.then_some(" (admin)")}</td>
                    <td>{ago(u.created_at * 1000, now_ms())}</td>
                    <td>{u.sessions}</td>
                    <td>{u.projects}</td>
                    <td>{if u.disabled { "disabled" } else { "active" }}</td>
                    <td class="ops-actions">
                        <button type="button" data-test="ops-user-toggle" on:click=move |_| run(toggle)>
                            {if u.disabled { "Enable" } else { "Disable" }}
                        </button>
                        <button type="button" data-test="ops-user-signout" on:click=move |_| run(UserAction::SignOut)>"Sign out"</button>
                        <button type="button" data-test="ops-user-reset" on:click=reset>"Reset password"</button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="ops-section" aria-labelledby="ops-users">
            <h2 id="ops-users">"Users"</h2>
            <div class="table-scroll">
                <table class="ops-table" data-test="ops-users">
                    <thead><tr>
                        <th>"Name"</th><th>"Joined"</th><th>"Sessions"</th><th>"Projects"</th>
                        <th>"Status"</th><th>"Actions"</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}
