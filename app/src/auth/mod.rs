//! Accounts: sign up, log in, log out, and who the caller is. Passwords and sessions are handled
//! by the server's `Accounts` service; these functions only move the session cookie around it.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{browser::go_to, error::AppError, types::UserInfo, validate};

#[cfg(feature = "ssr")]
pub mod ssr;

#[server(endpoint = "signup")]
pub async fn signup(
    name: String,
    password: String,
    next: Option<String>,
) -> Result<UserInfo, AppError> {
    let name = validate::username(&name)?;
    validate::password(&password, name)?;
    // Signing up on the way to an invite (the login page carries `next=/invite/{token}`).
    let invite = next
        .as_deref()
        .and_then(|n| n.strip_prefix("/invite/"))
        .filter(|t| !t.is_empty() && !t.contains(['/', '?', '#']));
    let ip = ssr::client_ip().await;
    let user = ssr::accounts()?
        .sign_up(name, &password, invite, ip)
        .await?;
    ssr::start_session(&user).await?;
    Ok(user)
}

#[server(endpoint = "login")]
pub async fn login(
    name: String,
    password: String,
    next: Option<String>,
) -> Result<UserInfo, AppError> {
    let _ = next;
    let ip = ssr::client_ip().await;
    let user = ssr::accounts()?.log_in(name.trim(), &password, ip).await?;
    ssr::start_session(&user).await?;
    Ok(user)
}

#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    ssr::end_session().await
}

/// The signed-in user, or `None`; never an error for a missing session, so pages can branch.
#[server(endpoint = "me")]
pub async fn me() -> Result<Option<UserInfo>, AppError> {
    match ssr::current_user().await {
        Ok(user) => Ok(Some(user)),
        Err(e) if e.needs_login() => Ok(None),
        Err(e) => Err(e),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum AuthMode {
    LogIn,
    SignUp,
}

impl AuthMode {
    fn title(self) -> &'static str {
        match self {
            AuthMode::LogIn => "Log in to Tandem",
            AuthMode::SignUp => "Create your Tandem account",
        }
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    view! {
        <AuthCard mode=AuthMode::LogIn>
            <ActionForm action=action>
                <AuthFields mode=AuthMode::LogIn value=Signal::derive(move || action.value().get()) pending=action.pending()/>
            </ActionForm>
        </AuthCard>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let action = ServerAction::<Signup>::new();
    view! {
        <AuthCard mode=AuthMode::SignUp>
            <ActionForm action=action>
                <AuthFields mode=AuthMode::SignUp value=Signal::derive(move || action.value().get()) pending=action.pending()/>
            </ActionForm>
        </AuthCard>
    }
}

fn next_param() -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let query = use_query_map();
    move || query.read().get("next").unwrap_or_default()
}

#[component]
fn AuthCard(mode: AuthMode, children: Children) -> impl IntoView {
    let query = use_query_map();
    let expired = move || query.read().get("expired").is_some();
    let next = next_param();
    let (other_text, other_href, other_label) = match mode {
        AuthMode::LogIn => ("No account yet?", "/signup", "Sign up"),
        AuthMode::SignUp => ("Already have an account?", "/login", "Log in"),
    };
    let other_link = move || {
        let n = next();
        if n.is_empty() {
            other_href.to_owned()
        } else {
            format!("{other_href}?next={}", crate::browser::encode_component(&n))
        }
    };
    view! {
        <main class="auth-page">
            <div class="auth-card">
                <h1>{mode.title()}</h1>
                <Show when=expired>
                    <p class="notice" role="status">"Your session expired. Please log in again."</p>
                </Show>
                {children()}
                <p class="switch">{other_text}" "<a href=other_link>{other_label}</a></p>
            </div>
        </main>
    }
}

/// The fields both auth forms share; shows per-field errors and follows `next` on success.
#[component]
fn AuthFields(
    mode: AuthMode,
    value: Signal<Option<Result<UserInfo, AppError>>>,
    pending: Memo<bool>,
) -> impl IntoView {
    let next = next_param();
    let error = move || value.get().and_then(Result::err);
    let field_error =
        move |field: &'static str| move || error().and_then(|e| e.field_message(field));
    let general_error = move || {
        error()
            .filter(|e| e.field_message("name").is_none() && e.field_message("password").is_none())
            .map(|e| e.to_string())
    };
    Effect::new(move |_| {
        if let Some(Ok(_)) = value.get() {
            go_to(&validate::local_redirect(Some(&next())));
        }
    });
    let (button, password_autocomplete) = match mode {
        AuthMode::LogIn => ("Log in", "current-password"),
        AuthMode::SignUp => ("Sign up", "new-password"),
    };
    view! {
        <input type="hidden" name="next" prop:value=next/>
        <label for="auth-name">"Username"</label>
        <input id="auth-name" type="text" name="name" required autocomplete="username"
            maxlength=validate::USERNAME_MAX.to_string()/>
        <p class="field-error" role="alert" data-test="name-error">{field_error("name")}</p>
        <label for="auth-password">"Password"</label>
        <input id="auth-password" type="password" name="password" required
            autocomplete=password_autocomplete/>
        {(mode == AuthMode::SignUp).then(|| view! {
            <p class="hint">
                {format!("At least {} characters; a passphrase is best.", validate::PASSWORD_MIN)}
            </p>
        })}
        <p class="field-error" role="alert" data-test="password-error">{field_error("password")}</p>
        <p class="form-error" role="alert" data-test="form-error">{general_error}</p>
        <button type="submit" class="primary" disabled=move || pending.get()>{button}</button>
    }
}

/// Logs out and returns to the login page with a full load, so no signed-in state survives.
#[component]
pub fn LogoutButton() -> impl IntoView {
    let action = ServerAction::<Logout>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = action.value().get() {
            // This device's local copies go with the session (a shared computer keeps nothing
            // of the person who left).
            #[cfg(feature = "browser")]
            leptos::task::spawn_local(async {
                crate::offline::local::forget_user().await;
                go_to("/login");
            });
            #[cfg(not(feature = "browser"))]
            go_to("/login");
        }
    });
    view! {
        <ActionForm action=action attr:class="inline">
            <button type="submit" class="link" data-test="logout">"Log out"</button>
        </ActionForm>
    }
}
