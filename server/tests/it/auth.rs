//! Accounts end to end over HTTP: sign-up, login, logout, form errors, rate limits, expired
//! sessions and the page guard.

use crate::common::{Backend, PASSWORD, TestServer};
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;

async fn signup_login_logout(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.client();
    alice.signup("alice").await;
    let me = alice.ok("me", &[]).await;
    assert_eq!(me["name"], "alice");

    alice.ok("logout", &[]).await;
    assert_eq!(alice.ok("me", &[]).await, serde_json::Value::Null);

    let wrong = alice
        .call(
            "login",
            &[("name", "alice"), ("password", "not the password")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.message(), "Wrong username or password.");
    let unknown = alice
        .call("login", &[("name", "nobody"), ("password", PASSWORD)])
        .await;
    assert_eq!(
        unknown.message(),
        "Wrong username or password.",
        "no hint which names exist"
    );

    // Login is case-insensitive on the name and the session survives into pages.
    alice
        .ok("login", &[("name", "ALICE"), ("password", PASSWORD)])
        .await;
    assert_eq!(alice.ok("me", &[]).await["name"], "alice");
    let page = alice.get("/").await;
    assert_eq!(page.status(), StatusCode::OK);
    server.finish().await;
}

async fn signup_errors(backend: Backend) {
    let server = TestServer::start(backend).await;
    let c = server.client();
    let weak = c
        .call("signup", &[("name", "bob"), ("password", "short")])
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        weak.message().starts_with("Password too weak"),
        "{}",
        weak.body
    );
    assert_eq!(weak.body["Invalid"]["field"], "password");

    let bad_name = c
        .call("signup", &[("name", "b b"), ("password", PASSWORD)])
        .await;
    assert_eq!(bad_name.body["Invalid"]["field"], "name");

    c.signup("bob").await;
    let other = server.client();
    let taken = other
        .call("signup", &[("name", "BOB"), ("password", PASSWORD)])
        .await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(taken.message(), "That username is taken.");
    server.finish().await;
}

/// Finding 6: sign-up had no rate limit. Now one address gets a few per hour, then 429.
async fn signups_per_address(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.auth.signups_per_ip_per_hour = 2).await;
    for name in ["one", "two"] {
        server.client().signup(name).await;
    }
    let third = server
        .client()
        .call("signup", &[("name", "three"), ("password", PASSWORD)])
        .await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(third.error_kind(), "RateLimited");
    // Logging in is not signing up.
    server
        .client()
        .ok("login", &[("name", "one"), ("password", PASSWORD)])
        .await;
    let metrics = server.metrics().await;
    assert!(
        metrics.contains(r#"tandem_limit_refusals_total{limit="signups-per-ip-per-hour"}"#),
        "{metrics}"
    );
    server.finish().await;
}

/// `--signup invite`: only someone on the way to accepting a live invite link may sign up.
async fn invite_only_signup(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        c.auth.signup = server::auth::Signup::Invite;
    })
    .await;
    server
        .state()
        .accounts
        .create_user("owner", PASSWORD)
        .await
        .expect("created");
    let owner = server.client();
    owner
        .ok("login", &[("name", "owner"), ("password", PASSWORD)])
        .await;
    let project = owner.create_project("Invited").await.to_string();
    let link = owner
        .ok(
            "projects/invite-links/create",
            &[("project", &project), ("role", "editor"), ("hours", "24")],
        )
        .await;
    let token = link["token"].as_str().expect("token");

    let stranger = server.client();
    for next in ["", "/", "/invite/not-a-real-token", "/invite/"] {
        let refused = stranger
            .call(
                "signup",
                &[("name", "walkin"), ("password", PASSWORD), ("next", next)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE, "{next:?}");
        let message = refused.body["Unavailable"].as_str().unwrap_or_default();
        assert!(message.contains("by invitation"), "{}", refused.body);
    }
    let next = format!("/invite/{token}");
    stranger
        .ok(
            "signup",
            &[("name", "guest"), ("password", PASSWORD), ("next", &next)],
        )
        .await;
    assert_eq!(
        stranger.ok("invites/accept", &[("token", token)]).await,
        serde_json::json!(project.parse::<i64>().expect("id"))
    );
    server.finish().await;
}

/// Finding 2: sign-up could not be turned off, so a stranger could claim any unused name.
/// `--signup closed` refuses every web sign-up; accounts made from the CLI still log in.
async fn closed_signup(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        c.auth.signup = server::auth::Signup::Closed;
    })
    .await;
    let stranger = server.client();
    let refused = stranger
        .call("signup", &[("name", "root"), ("password", PASSWORD)])
        .await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        refused.body["Unavailable"],
        "Sign-up is closed on this server; ask its administrator for an account."
    );
    assert_eq!(stranger.ok("me", &[]).await, serde_json::Value::Null);

    // What `tandem user add` does.
    server
        .state()
        .accounts
        .create_user("root", PASSWORD)
        .await
        .expect("created");
    stranger
        .ok("login", &[("name", "root"), ("password", PASSWORD)])
        .await;
    assert_eq!(stranger.ok("me", &[]).await["name"], "root");
    server.finish().await;
}

async fn login_rate_limit(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.auth.login_max_failures = 3).await;
    let c = server.client();
    c.signup("carol").await;
    c.ok("logout", &[]).await;
    for _ in 0..3 {
        let r = c
            .call(
                "login",
                &[("name", "carol"), ("password", "wrong password!")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Locked now, even with the right password.
    let locked = c
        .call("login", &[("name", "carol"), ("password", PASSWORD)])
        .await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(locked.error_kind(), "RateLimited");
    // Another account from the same IP is not locked by carol's failures.
    let d = server.client();
    d.signup("dave").await;
    d.ok("logout", &[]).await;
    d.ok("login", &[("name", "dave"), ("password", PASSWORD)])
        .await;
    server.finish().await;
}

async fn expired_session_goes_back_to_login(backend: Backend) {
    let server = TestServer::start(backend).await;
    // Two signed-in browsers: one meets the expiry through a server function, one through a page.
    let api = server.client();
    api.signup("erin").await;
    let project = api.create_project("Expiring").await;
    let browser = server.client();
    browser
        .ok("login", &[("name", "erin"), ("password", PASSWORD)])
        .await;
    server
        .db()
        .await
        .execute_unprepared("UPDATE sessions SET expires_at = 0")
        .await
        .expect("expire sessions");

    let reply = api.call("projects/list", &[]).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_kind(), "SessionExpired");

    let page = browser.get(&format!("/p/{project}")).await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    let location = page.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert_eq!(location, format!("/login?next=/p/{project}&expired=1"));
    let login = browser.get(&location).await;
    let html = login.text().await.expect("html");
    assert!(html.contains("Your session expired. Please log in again."));
    server.finish().await;
}

async fn page_guard(backend: Backend) {
    let server = TestServer::start(backend).await;
    let anon = server.client();
    let home = anon.get("/").await;
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    assert_eq!(home.headers()["location"], "/login?next=/");
    let login = anon.get("/login").await;
    assert_eq!(login.status(), StatusCode::OK);
    let html = login.text().await.expect("html");
    assert!(html.contains("Log in to Tandem"));
    assert!(
        html.contains("/pkg/tandem.js"),
        "hydration script is linked"
    );

    let signed_in = server.client();
    signed_in.signup("frank").await;
    let login = signed_in.get("/login").await;
    assert_eq!(
        login.status(),
        StatusCode::SEE_OTHER,
        "signed-in users skip the login page"
    );

    // Cookies are HttpOnly and SameSite=Lax.
    let res = server
        .client()
        .http
        .post(server.url("/api/signup"))
        .form(&[("name", "gina"), ("password", PASSWORD)])
        .send()
        .await
        .expect("signup");
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    assert!(cookie.starts_with("tandem_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    server.finish().await;
}

db_tests!(
    signup_login_logout,
    signup_errors,
    closed_signup,
    invite_only_signup,
    signups_per_address,
    login_rate_limit,
    expired_session_goes_back_to_login,
    page_guard,
);
