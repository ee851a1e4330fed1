//! Deleting one's account: the password, the username typed to confirm, and a decision for
//! every project the user owns alone (hand it to a member, or delete it).

use std::collections::HashMap;

use leptos::prelude::*;
use server_fn::codec::Json;

use crate::{
    browser,
    error::AppError,
    types::{Leaving, ProjectId, SoleOwned},
    ui::{ErrorPage, loading},
};

/// The projects only the caller owns, which deleting the account must settle.
#[server(endpoint = "account/owned-alone")]
pub async fn owned_alone() -> Result<Vec<SoleOwned>, AppError> {
    let user = crate::auth::ssr::current_user().await?;
    super::leaving::sole_owned(&*crate::projects::ssr::projects()?, user.id).await
}

/// Deletes the caller's account after settling every project (see `account::leaving`), then signs
/// this browser out; every other session ends with it.
#[server(endpoint = "account/delete", input = Json)]
pub async fn delete_account(
    password: String,
    confirm: String,
    choices: Vec<(ProjectId, Leaving)>,
) -> Result<(), AppError> {
    use crate::auth::ssr;
    let user = ssr::current_user().await?;
    if confirm.trim() != user.name {
        return Err(AppError::invalid(
            "confirm",
            "Type your username to confirm.",
        ));
    }
    let accounts = ssr::accounts()?;
    accounts
        .check_password(user.id, &password, "password")
        .await?;
    super::leaving::leave_all(&*crate::projects::ssr::projects()?, user.id, &choices).await?;
    accounts.delete_account(user.id).await?;
    ssr::end_session().await
}

/// The first choice offered for a project: hand it to its first member, or delete it when
/// nobody else is in it.
fn default_choice(p: &SoleOwned) -> Leaving {
    p.members
        .first()
        .map_or(Leaving::Delete, |m| Leaving::HandOver(m.user.id))
}

#[component]
pub fn AccountDeletion() -> impl IntoView {
    let action = ServerAction::<DeleteAccount>::new();
    let owned = Resource::new(|| (), |_| owned_alone());
    let choices = RwSignal::new(HashMap::<ProjectId, Leaving>::new());
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    Effect::new(move || {
        if matches!(action.value().get(), Some(Ok(()))) {
            browser::go_to("/login");
        }
    });
    let error = move |field: &'static str| {
        action
            .value()
            .get()
            .and_then(Result::err)
            .and_then(|e| e.field_message(field))
    };
    let other_error = move || {
        action
            .value()
            .get()
            .and_then(Result::err)
            .filter(|e| {
                ["password", "confirm"]
                    .iter()
                    .all(|f| e.field_message(f).is_none())
            })
            .map(|e| e.to_string())
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch(DeleteAccount {
            password: password.get_untracked(),
            confirm: confirm.get_untracked(),
            choices: choices.get_untracked().into_iter().collect(),
        });
    };
    view! {
        <section class="card danger" data-test="delete-account">
            <h2>"Delete your account"</h2>
            <p class="muted">
                "You leave every project and are signed out everywhere. Your messages and files stay, "
                "shown as written by a deleted account, and your username becomes free."
            </p>
            <form class="stack-form" on:submit=submit>
                <Suspense fallback=loading>
                    {move || Suspend::new(async move {
                        match owned.await {
                            Ok(list) => view! { <OwnedChoices list=list choices=choices/> }.into_any(),
                            Err(e) => view! { <ErrorPage error=e/> }.into_any(),
                        }
                    })}
                </Suspense>
                <label for="delete-password">"Your password"</label>
                <input id="delete-password" type="password" required autocomplete="current-password"
                    bind:value=password/>
                <p class="field-error" role="alert">{move || error("password")}</p>
                <label for="delete-confirm">"Type your username to confirm"</label>
                <input id="delete-confirm" type="text" required autocomplete="off" bind:value=confirm/>
                <p class="field-error" role="alert">{move || error("confirm")}</p>
                <button type="submit" class="danger" disabled=move || action.pending().get()>
                    "Delete my account"
                </button>
            </form>
            <p class="form-error" role="alert">{other_error}</p>
        </section>
    }
}

/// A choice per project owned alone; names are set as text.
#[component]
fn OwnedChoices(
    list: Vec<SoleOwned>,
    choices: RwSignal<HashMap<ProjectId, Leaving>>,
) -> impl IntoView {
    choices.set(list.iter().map(|p| (p.id, default_choice(p))).collect());
    if list.is_empty() {
        return view! { <p class="muted">"You own no project alone."</p> }.into_any();
    }
    view! {
        <p>"You are the only owner of these projects. Choose what becomes of each:"</p>
        <ul class="owned-projects">
            {list.into_iter().map(|p| {
                let id = p.id;
                let select_id = format!("leaving-{}", id.0);
                let options = p.members.iter().map(|m| {
                    let value = m.user.id.0.to_string();
                    view! { <option value=value>{format!("Hand it to {} ({})", m.user.name, m.role.label())}</option> }
                }).collect_view();
                let current = move || match choices.get().get(&id) {
                    Some(Leaving::HandOver(u)) => u.0.to_string(),
                    _ => "delete".to_owned(),
                };
                let change = move |ev: leptos::ev::Event| {
                    let value = event_target_value(&ev);
                    let choice = value.parse().map_or(Leaving::Delete, |u| Leaving::HandOver(crate::types::UserId(u)));
                    choices.update(|c| { c.insert(id, choice); });
                };
                view! {
                    <li data-test="owned-project">
                        <label for=select_id.clone()>{p.name.clone()}</label>
                        <select id=select_id prop:value=current on:change=change>
                            {options}
                            <option value="delete">"Delete it, with all its files and chat"</option>
                        </select>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}
