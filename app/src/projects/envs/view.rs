//! The settings page's Environments section, and the picker the Run bar offers.

use std::{future::Future, pin::Pin};

use leptos::{prelude::*, task::spawn_local};

use super::{
    EnvVar, Environment, Environments, MIN_SECRET, create_env, delete_env, project_envs,
    remove_env_var, set_env_var,
};
use crate::{error::AppError, projects::pages::ConfirmButton, types::ProjectId, ui::SectionData};

/// A change to send; the section reloads after it or shows why it was refused.
type Change = Pin<Box<dyn Future<Output = Result<(), AppError>>>>;

/// "set by ann, 2 days ago".
fn set_line(v: &EnvVar) -> String {
    format!(
        "set by {}, {}",
        v.set_by,
        crate::when::ago(v.set_at, crate::when::now_ms())
    )
}

/// What the environments section shows; the page makes it (see `SectionData`).
pub type EnvsData = SectionData<Environments>;

/// Loads the environments section's data for the route's project.
pub fn envs_data(project: impl Fn() -> Option<ProjectId> + Send + Sync + 'static) -> EnvsData {
    SectionData::new(project, project_envs)
}

#[component]
pub fn EnvsSection(project: ProjectId, loaded: EnvsData) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let data = loaded.data;
    // Runs a change and reloads the list (or shows why it was refused).
    let act = move |f: Change| {
        error.set(None);
        spawn_local(async move {
            match f.await {
                Ok(()) => loaded.changed(),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let new_env = RwSignal::new(String::new());
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = new_env.get_untracked();
        new_env.set(String::new());
        act(Box::pin(async move {
            create_env(project, name).await.map(drop)
        }));
    };
    let body = move |envs: Environments| {
        let may_manage = envs.may_manage;
        let may_edit = envs.may_edit;
        let list = if envs.list.is_empty() {
            view! { <p class="muted" data-test="envs-empty">"No environments yet."</p> }.into_any()
        } else {
            envs.list
                .into_iter()
                .map(|env| view! { <EnvCard project env may_edit may_manage act/> })
                .collect_view()
                .into_any()
        };
        view! {
            {list}
            {may_manage.then(|| view! {
                <form class="env-create" on:submit=create>
                    <input type="text" placeholder="New environment, e.g. staging" aria-label="New environment name"
                        data-test="env-new-name" maxlength="64" required
                        prop:value=move || new_env.get() on:input=move |e| new_env.set(event_target_value(&e))/>
                    <button type="submit" data-test="env-create">"Add environment"</button>
                </form>
            })}
            {(!may_manage).then(|| view! {
                <p class="muted small">{if may_edit {
                    "Editors set plain variables; owners add environments and set secrets."
                } else {
                    "Only editors and owners change environments."
                }}</p>
            })}
        }
    };
    view! {
        <section class="card" data-test="envs-section">
            <h2>"Environments"</h2>
            <p class="muted small">"Variables and secrets that a run or a terminal started in an environment gets. "
                "Secrets are stored encrypted, never shown again once saved, and masked as •••• in output."</p>
            <Suspense fallback=crate::ui::loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(envs) => body(envs).into_any(),
                        Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <p class="form-error" role="alert" data-test="envs-error">{move || error.get()}</p>
        </section>
    }
}

#[component]
fn EnvCard(
    project: ProjectId,
    env: Environment,
    may_edit: bool,
    may_manage: bool,
    act: impl Fn(Change) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let id = env.id;
    let name = RwSignal::new(String::new());
    let value = RwSignal::new(String::new());
    let secret = RwSignal::new(false);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (n, v, s) = (
            name.get_untracked(),
            value.get_untracked(),
            secret.get_untracked(),
        );
        // The value leaves the page's state as soon as it is sent: a secret is not kept here.
        value.set(String::new());
        name.set(String::new());
        act(Box::pin(
            async move { set_env_var(project, id, n, v, s).await },
        ));
    };
    let env_name = env.name.clone();
    let secret_title = if may_manage {
        format!(
            "Stored encrypted, never shown again, masked in output (at least {MIN_SECRET} characters)"
        )
    } else {
        "Only owners set secrets".to_owned()
    };
    let rows = env
        .vars
        .into_iter()
        .map(|v| {
            let removable = if v.secret { may_manage } else { may_edit };
            let var = v.name.clone();
            let shown = match &v.value {
                Some(value) => view! { <code data-test="env-var-value">{value.clone()}</code> }.into_any(),
                None => view! { <span class="env-secret" data-test="env-secret-value">"•••• "<span class="muted small">"secret"</span></span> }.into_any(),
            };
            view! {
                <tr data-test="env-var" data-name=v.name.clone()>
                    <td><code>{v.name.clone()}</code></td>
                    <td>{shown}</td>
                    <td class="muted small" data-test="env-var-set">{set_line(&v)}</td>
                    <td>{removable.then(|| view! {
                        <button type="button" class="link" data-test="env-var-remove"
                            aria-label=format!("Remove {var}")
                            on:click=move |_| {
                                let var = var.clone();
                                act(Box::pin(async move { remove_env_var(project, id, var).await }))
                            }>"Remove"</button>
                    })}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="env" data-test="env" data-env=env_name.clone()>
            <h3>
                <span>{env_name.clone()}</span>
                {may_manage.then(|| view! {
                    <ConfirmButton label="Delete" confirm="Delete it with its secrets" test="env-delete"
                        on_confirm=move || act(Box::pin(async move { delete_env(project, id).await }))/>
                })}
            </h3>
            <table class="env-vars">
                <tbody>{rows}</tbody>
            </table>
            {may_edit.then(|| view! {
                <form class="env-set" on:submit=save>
                    <input type="text" placeholder="NAME" aria-label="Variable name" data-test="env-var-name"
                        maxlength="128" required autocomplete="off" spellcheck="false"
                        prop:value=move || name.get() on:input=move |e| name.set(event_target_value(&e))/>
                    <input type=move || if secret.get() { "password" } else { "text" }
                        placeholder="value" aria-label="Value" data-test="env-var-input" autocomplete="off" spellcheck="false"
                        prop:value=move || value.get() on:input=move |e| value.set(event_target_value(&e))/>
                    <label title=secret_title.clone()>
                        <input type="checkbox" data-test="env-var-secret" disabled=!may_manage
                            prop:checked=move || secret.get() on:change=move |e| secret.set(event_target_checked(&e))/>
                        " Secret"
                    </label>
                    <button type="submit" data-test="env-var-save">"Set"</button>
                </form>
            })}
        </div>
    }
}

/// Which environment a run or terminal starts in: "No environment" or one of `names`.
#[component]
pub fn EnvPicker(
    #[prop(into)] names: Signal<Vec<String>>,
    value: RwSignal<Option<String>>,
) -> impl IntoView {
    let options = move || {
        let chosen = value.get();
        names
            .get()
            .into_iter()
            .map(|n| {
                let selected = chosen.as_deref() == Some(n.as_str());
                view! { <option value=n.clone() selected=selected>{format!("in {n}")}</option> }
            })
            .collect_view()
    };
    view! {
        <select aria-label="Environment" data-test="env-picker" title="The environment runs and new terminals start in"
            on:change=move |e| {
                let v = event_target_value(&e);
                value.set((!v.is_empty()).then_some(v));
            }>
            <option value="" selected=move || value.get().is_none()>"No environment"</option>
            {options}
        </select>
    }
}
