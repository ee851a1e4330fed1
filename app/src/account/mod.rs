//! The account page: change the password (which signs out every other browser), see where the
//! account is signed in, sign out one browser or all the others, and delete the account.

use leptos::prelude::*;

use crate::{
    error::AppError,
    types::SessionInfo,
    ui::{ErrorPage, TopBar, loading},
};

#[cfg(feature = "ssr")]
use crate::auth::ssr;

mod delete;
mod local_copies;
pub use delete::AccountDeletion;
use local_copies::LocalCopies;
#[cfg(feature = "ssr")]
pub mod leaving;

/// Sets a new password after checking the current one; every other session ends.
#[server(endpoint = "account/change-password")]
pub async fn change_password(current: String, new: String) -> Result<(), AppError> {
    let user = ssr::current_user().await?;
    let keep = ssr::session_id().await?;
    ssr::accounts()?
        .change_password(user.id, &current, &new, keep)
        .await
}

/// Where the caller's account is signed in.
#[server(endpoint = "account/sessions")]
pub async fn list_sessions() -> Result<Vec<SessionInfo>, AppError> {
    let user = ssr::current_user().await?;
    let current = ssr::session_id().await?;
    ssr::accounts()?.sessions(user.id, current).await
}

/// Signs one browser out (by the handle the list shows).
#[server(endpoint = "account/end-session")]
pub async fn end_session(handle: String) -> Result<(), AppError> {
    let user = ssr::current_user().await?;
    ssr::accounts()?.end_session(user.id, &handle).await
}

/// Signs out every browser but this one.
#[server(endpoint = "account/end-other-sessions")]
pub async fn end_other_sessions() -> Result<u64, AppError> {
    let user = ssr::current_user().await?;
    let keep = ssr::session_id().await?;
    ssr::accounts()?.end_other_sessions(user.id, keep).await
}

/// "2026-12-03T09:40:00Z" as "2026-12-03 09:40"; empty stays empty.
fn short_time(rfc3339: &str) -> String {
    rfc3339
        .replace('T', " ")
        .get(..16)
        .unwrap_or_default()
        .to_owned()
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let end_one = ServerAction::<EndSession>::new();
    let end_others = ServerAction::<EndOtherSessions>::new();
    let sessions = Resource::new(
        move || {
            (
                change.version().get(),
                end_one.version().get(),
                end_others.version().get(),
            )
        },
        |_| list_sessions(),
    );
    let changed = move || matches!(change.value().get(), Some(Ok(())));
    let field_error = move |name: &str| {
        change
            .value()
            .get()
            .and_then(Result::err)
            .and_then(|e| e.field_message(name))
    };
    let other_error = move || {
        change
            .value()
            .get()
            .and_then(Result::err)
            .filter(|e| e.field_message("current").is_none() && e.field_message("new").is_none())
            .map(|e| e.to_string())
    };
    // Server admins reach the operations console from here.
    let admin = Resource::new(|| (), |_| crate::files::can_open_dirs());
    view! {
        <TopBar/>
        <main class="page settings account">
            <h1>"Your account"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    admin.await.unwrap_or(false).then(|| view! {
                        <p class="card" data-test="ops-link">
                            "You administer this server: "
                            <a href="/admin">"Operations console"</a>
                        </p>
                    })
                })}
            </Suspense>
            <section class="card">
                <h2>"Change password"</h2>
                <p class="muted">"Every other browser signed in to your account is signed out."</p>
                <ActionForm action=change attr:class="stack-form" attr:data-test="change-password">
                    <label for="current-password">"Current password"</label>
                    <input id="current-password" type="password" name="current" required
                        autocomplete="current-password"/>
                    <p class="field-error" role="alert">{move || field_error("current")}</p>
                    <label for="new-password">"New password"</label>
                    <input id="new-password" type="password" name="new" required
                        autocomplete="new-password"/>
                    <p class="field-error" role="alert">{move || field_error("new")}</p>
                    <button type="submit" disabled=move || change.pending().get()>"Change password"</button>
                </ActionForm>
                <p class="form-error" role="alert">{other_error}</p>
                {move || changed().then(|| view! {
                    <p class="ok" role="status" data-test="password-changed">
                        "Password changed. Other browsers are signed out."
                    </p>
                })}
            </section>
            <section class="card">
                <h2>"Where you are signed in"</h2>
                <Suspense fallback=loading>
                    {move || Suspend::new(async move {
                        match sessions.await {
                            Ok(list) => view! { <SessionList list=list end_one=end_one end_others=end_others/> }.into_any(),
                            Err(e) => view! { <ErrorPage error=e/> }.into_any(),
                        }
                    })}
                </Suspense>
                <p class="form-error" role="alert">
                    {move || end_one.value().get().and_then(Result::err)
                        .or_else(|| end_others.value().get().and_then(Result::err))
                        .map(|e| e.to_string())}
                </p>
            </section>
            <LocalCopies/>
            <AccountDeletion/>
        </main>
    }
}

#[component]
fn SessionList(
    list: Vec<SessionInfo>,
    end_one: ServerAction<EndSession>,
    end_others: ServerAction<EndOtherSessions>,
) -> impl IntoView {
    let others = list.iter().filter(|s| !s.current).count();
    view! {
        <table class="members" data-test="sessions">
            <thead><tr><th>"Browser"</th><th>"Signed in"</th><th>"Last used"</th><th></th></tr></thead>
            <tbody>
                {list.into_iter().map(|s| {
                    let handle = s.handle.clone();
                    // User agents are set as text, like every user-supplied string.
                    let agent = if s.agent.is_empty() { "Unknown browser".to_owned() } else { s.agent.clone() };
                    view! {
                        <tr data-test="session" data-current=s.current.to_string()>
                            <td class="agent" title=agent.clone()>{agent.clone()}{s.current.then_some(" (this browser)")}</td>
                            <td class="muted">{short_time(&s.signed_in_at)}</td>
                            <td class="muted">{short_time(&s.last_used_at)}</td>
                            <td>{(!s.current).then(|| view! {
                                <button type="button" data-test="end-session"
                                    on:click=move |_| { end_one.dispatch(EndSession { handle: handle.clone() }); }>
                                    "Sign out"
                                </button>
                            })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        {(others > 0).then(|| view! {
            <button type="button" data-test="end-other-sessions"
                on:click=move |_| { end_others.dispatch(EndOtherSessions {}); }>
                "Sign out everywhere else"
            </button>
        })}
    }
}
