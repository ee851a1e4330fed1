//! Live revocation: a socket stays authorised only while its user is. Removal, a role change,
//! project deletion, sign-out and session expiry reach open `/ws` and `/yjs` sockets at once,
//! and nothing the user sends afterwards reaches anyone.

use std::time::Duration;

use app::{live::events::ServerEvent, live::events::close};
use sea_orm::ConnectionTrait;

use crate::common::{Api, Backend, PASSWORD, Team, TestServer, tab::TabClient, yjs::YClient};

/// A period in which nothing may arrive: the assertion is that it stays quiet.
const QUIET: Duration = Duration::from_millis(300);

async fn default_doc(api: &Api, project: i64) -> i64 {
    api.ok("editor/default_file", &[("project", &project.to_string())])
        .await["doc"]
        .as_i64()
        .expect("default file")
}

async fn set_role(owner: &Api, project: i64, user: i64, role: &str) {
    owner
        .ok(
            "projects/set-role",
            &[
                ("project", &project.to_string()),
                ("user", &user.to_string()),
                ("role", role),
            ],
        )
        .await;
}

async fn remove(owner: &Api, project: i64, user: i64) {
    owner
        .ok(
            "projects/remove-member",
            &[
                ("project", &project.to_string()),
                ("user", &user.to_string()),
            ],
        )
        .await;
}

/// Opens a tab on `project` with `doc` open.
async fn tab(server: &TestServer, who: &Api, project: i64, doc: i64) -> TabClient {
    let url = server.ws_url(&format!("/ws?project={project}"));
    let mut t = TabClient::connect(&url, &who.cookie()).await.expect("tab");
    t.open(doc).await;
    t
}

async fn removed_member_is_cut_off(backend: Backend) {
    let server = TestServer::start(backend).await;
    let Team {
        owner,
        editor,
        project,
        ids: [_, editor_id, _],
        ..
    } = server.team("Revoke", ["ona", "ed", "vic"]).await;
    let doc = default_doc(&owner, project).await;
    let mut a = tab(&server, &owner, project, doc).await;
    let mut b = tab(&server, &editor, project, doc).await;
    b.insert(doc, 0, "before").await;
    a.until("b's edit", |t| t.text(doc) == "before").await;

    remove(&owner, project, editor_id).await;
    b.until("the close", |t| t.closed.is_some()).await;
    let (code, reason) = b.closed.clone().expect("closed");
    assert_eq!(code, close::NO_ACCESS, "{reason}");
    assert!(reason.contains("no longer have access"), "{reason}");

    // Whatever the removed tab still sends reaches nobody.
    b.insert(doc, 0, "after").await;
    a.pump(QUIET).await;
    assert_eq!(a.text(doc), "before");
    // And it cannot come back.
    let again = TabClient::connect(
        &server.ws_url(&format!("/ws?project={project}")),
        &editor.cookie(),
    )
    .await
    .err()
    .map(|e| e.to_string());
    assert!(again.is_some_and(|e| e.contains("403")));
    // The owner's tab is untouched.
    assert!(a.closed.is_none());
    server.finish().await;
}

async fn role_changes_reach_open_documents(backend: Backend) {
    let server = TestServer::start(backend).await;
    let Team {
        owner,
        editor,
        viewer,
        project,
        ids: [_, editor_id, viewer_id],
    } = server.team("Roles", ["oli", "eda", "val"]).await;
    let doc = default_doc(&owner, project).await;
    let mut a = tab(&server, &owner, project, doc).await;
    let mut b = tab(&server, &editor, project, doc).await;
    let mut v = tab(&server, &viewer, project, doc).await;
    assert_eq!(b.opened(doc), Some(true));
    assert_eq!(v.opened(doc), Some(false));

    // Demoted: told so, the document closes, and reopening gives read-only access.
    set_role(&owner, project, editor_id, "viewer").await;
    b.until("the role change and the close", |t| {
        t.events.iter().any(|e| {
            matches!(
                e,
                ServerEvent::RoleChanged {
                    role: app::types::Role::Viewer
                }
            )
        }) && t
            .events
            .iter()
            .any(|e| matches!(e, ServerEvent::Closed { doc: d, .. } if d.0 == doc))
    })
    .await;
    b.open(doc).await;
    assert_eq!(b.opened(doc), Some(false), "read-only after the demotion");
    b.insert(doc, 0, "no longer").await;
    b.until("the refusal", |t| t.denied).await;
    a.pump(QUIET).await;
    assert_eq!(a.text(doc), "", "a demoted editor's write reaches nobody");
    assert!(b.closed.is_none(), "a demotion keeps the tab connected");

    // Promoted: the viewer may write after the reopen.
    set_role(&owner, project, viewer_id, "editor").await;
    v.until("the close", |t| {
        t.events
            .iter()
            .any(|e| matches!(e, ServerEvent::Closed { doc: d, .. } if d.0 == doc))
    })
    .await;
    v.open(doc).await;
    assert_eq!(v.opened(doc), Some(true));
    v.insert(doc, 0, "promoted").await;
    a.until("the promoted edit", |t| t.text(doc) == "promoted")
        .await;
    server.finish().await;
}

async fn deletion_and_sign_out_close_sockets(backend: Backend) {
    let server = TestServer::start(backend).await;
    let Team {
        owner,
        editor,
        project,
        ..
    } = server.team("Doomed", ["oz", "eli", "vi"]).await;
    let doc = default_doc(&owner, project).await;
    // The editor is signed in twice (two browsers); signing out one ends only that one.
    let laptop = server.client();
    laptop
        .ok("login", &[("name", "eli"), ("password", PASSWORD)])
        .await;
    let mut phone_tab = tab(&server, &editor, project, doc).await;
    let mut laptop_tab = tab(&server, &laptop, project, doc).await;
    let mut laptop_y = YClient::connect(
        &server.ws_url(&format!("/yjs/{doc}?project={project}")),
        Some(&laptop.cookie()),
    )
    .await
    .expect("yjs with the laptop's session");

    laptop.ok("logout", &[]).await;
    laptop_tab
        .until("the sign-out close", |t| t.closed.is_some())
        .await;
    assert_eq!(
        laptop_tab.closed.as_ref().map(|c| c.0),
        Some(close::SIGNED_OUT)
    );
    laptop_y
        .until("the sign-out close", |c| c.closed.is_some())
        .await;
    assert_eq!(
        laptop_y.closed.as_ref().map(|c| c.0),
        Some(close::SIGNED_OUT)
    );
    phone_tab.pump(QUIET).await;
    assert!(phone_tab.closed.is_none(), "the other session stays");

    let mut owner_tab = tab(&server, &owner, project, doc).await;
    owner
        .ok(
            "projects/delete",
            &[("project", &project.to_string()), ("confirm", "Doomed")],
        )
        .await;
    for t in [&mut phone_tab, &mut owner_tab] {
        t.until("the deletion close", |t| t.closed.is_some()).await;
        assert_eq!(t.closed.as_ref().map(|c| c.0), Some(close::DELETED));
    }
    server.finish().await;
}

async fn yjs_sockets_follow_the_role(backend: Backend) {
    let server = TestServer::start(backend).await;
    let Team {
        owner,
        editor,
        project,
        ids: [_, editor_id, _],
        ..
    } = server.team("Plain", ["oma", "eve", "vin"]).await;
    let doc = default_doc(&owner, project).await;
    let pid = project.to_string();
    let token = editor
        .ok(
            "editor/yjs_token",
            &[("project", &pid), ("doc", &doc.to_string())],
        )
        .await;
    let url = server.ws_url(&format!(
        "/yjs/{doc}?token={}",
        token.as_str().expect("token")
    ));
    let mut script = YClient::connect(&url, None).await.expect("token socket");
    let mut reader = YClient::connect(
        &server.ws_url(&format!("/yjs/{doc}?project={project}")),
        Some(&owner.cookie()),
    )
    .await
    .expect("owner socket");
    script.insert(0, "ok").await;
    reader
        .until("the script's edit", |c| c.text() == "ok")
        .await;

    // A demotion closes the token socket with "try again"; the reconnect is read-only.
    set_role(&owner, project, editor_id, "viewer").await;
    script.until("the close", |c| c.closed.is_some()).await;
    assert_eq!(script.closed.as_ref().map(|c| c.0), Some(1013));
    let mut again = YClient::connect(&url, None).await.expect("reconnect");
    again.insert(0, "no").await;
    again.until("the refusal", |c| c.denied).await;

    // Removal closes it for good, and the token no longer opens anything.
    remove(&owner, project, editor_id).await;
    again.until("the close", |c| c.closed.is_some()).await;
    assert_eq!(again.closed.as_ref().map(|c| c.0), Some(close::NO_ACCESS));
    assert!(YClient::connect(&url, None).await.is_err());
    reader.pump(QUIET).await;
    assert_eq!(reader.text(), "ok");
    assert!(reader.closed.is_none());
    server.finish().await;
}

async fn expired_session_closes_its_socket(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.client();
    owner.signup("exp").await;
    let project = owner.create_project("Expiry").await;
    let doc = default_doc(&owner, project).await;
    // The session lapses two seconds from now (as if idle for the whole timeout), and the
    // socket opened before then notices when it does.
    let soon = server::db::now() + 2;
    server
        .db()
        .await
        .execute_unprepared(&format!("UPDATE sessions SET expires_at = {soon}"))
        .await
        .expect("shorten sessions");
    let mut t = tab(&server, &owner, project, doc).await;
    t.until("the expiry close", |t| t.closed.is_some()).await;
    assert_eq!(t.closed.as_ref().map(|c| c.0), Some(close::SIGNED_OUT));
    server.finish().await;
}

/// The operator resets a password from the command line beside the running server: every
/// session of the account ends, its open socket closes (through the shared table the server
/// follows), and the new password works.
async fn cli_password_reset_signs_out_everywhere(backend: Backend) {
    use std::io::Write;
    let server = TestServer::start(backend).await;
    let owner = server.client();
    owner.signup("pam").await;
    let project = owner.create_project("Reset").await;
    let doc = default_doc(&owner, project).await;
    let mut t = tab(&server, &owner, project, doc).await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["user", "password", "pam"])
        .env("TANDEM_DATA_DIR", &server.data_dir)
        .env("TANDEM_DATABASE_URL", &server.database_url)
        .env("TANDEM_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn tandem");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"a brand new passphrase\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ended 1 session"));
    t.until("the sign-out close", |t| t.closed.is_some()).await;
    assert_eq!(t.closed.as_ref().map(|c| c.0), Some(close::SIGNED_OUT));
    assert_eq!(
        owner.call("projects/list", &[]).await.status,
        reqwest::StatusCode::UNAUTHORIZED
    );
    let fresh = server.client();
    let old = fresh
        .call("login", &[("name", "pam"), ("password", PASSWORD)])
        .await;
    assert_eq!(old.status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    fresh
        .ok(
            "login",
            &[("name", "pam"), ("password", "a brand new passphrase")],
        )
        .await;
    server.finish().await;
}

/// Changing the password in the app ends the other sessions (and closes their sockets) but
/// keeps the one that changed it; the sessions list names each browser, and one can be signed
/// out by its handle.
async fn password_change_and_sessions(backend: Backend) {
    let server = TestServer::start(backend).await;
    let phone = server.client();
    phone.signup("sam").await;
    let project = phone.create_project("Mine").await;
    let doc = default_doc(&phone, project).await;
    let (laptop, tablet) = (server.client(), server.client());
    for c in [&laptop, &tablet] {
        c.ok("login", &[("name", "sam"), ("password", PASSWORD)])
            .await;
    }
    let listed = phone.ok("account/sessions", &[]).await;
    let sessions = listed.as_array().expect("a list");
    assert_eq!(sessions.len(), 3, "{listed}");
    assert_eq!(
        sessions.iter().filter(|s| s["current"] == true).count(),
        1,
        "{listed}"
    );
    assert!(
        sessions
            .iter()
            .all(|s| s["handle"].as_str().is_some_and(|h| h.len() == 16)),
        "{listed}"
    );
    // Sign the tablet out from the phone, by its handle.
    let tablet_handle = tablet
        .ok("account/sessions", &[])
        .await
        .as_array()
        .and_then(|l| l.iter().find(|s| s["current"] == true).cloned())
        .and_then(|s| s["handle"].as_str().map(str::to_owned))
        .expect("the tablet's own handle");
    phone
        .ok("account/end-session", &[("handle", &tablet_handle)])
        .await;
    assert_eq!(
        tablet.call("projects/list", &[]).await.status,
        reqwest::StatusCode::UNAUTHORIZED
    );
    let unknown = phone
        .call("account/end-session", &[("handle", "0000000000000000")])
        .await;
    assert_eq!(unknown.status, reqwest::StatusCode::NOT_FOUND);

    let mut laptop_tab = tab(&server, &laptop, project, doc).await;
    let wrong = phone
        .call(
            "account/change-password",
            &[
                ("current", "not my password"),
                ("new", "something much longer"),
            ],
        )
        .await;
    assert_eq!(wrong.error_kind(), "Invalid");
    assert!(
        wrong.message().contains("current password"),
        "{}",
        wrong.message()
    );
    phone
        .ok(
            "account/change-password",
            &[("current", PASSWORD), ("new", "something much longer")],
        )
        .await;
    laptop_tab
        .until("the sign-out close", |t| t.closed.is_some())
        .await;
    assert_eq!(
        laptop_tab.closed.as_ref().map(|c| c.0),
        Some(close::SIGNED_OUT)
    );
    assert_eq!(
        laptop.call("projects/list", &[]).await.status,
        reqwest::StatusCode::UNAUTHORIZED
    );
    // The phone stays signed in.
    phone.ok("projects/list", &[]).await;
    assert_eq!(
        phone
            .ok("account/sessions", &[])
            .await
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    server.finish().await;
}

async fn account_deletion(backend: Backend) {
    let server = TestServer::start(backend).await;
    let Team {
        owner: ada,
        editor: ed,
        project: shared,
        ids: [ada_id, ed_id, _],
        ..
    } = server.team("Shared", ["ada", "ed", "vi"]).await;
    let solo = ada.create_project("Solo").await;
    let theirs = ed.create_project("Theirs").await;
    ed.invite(theirs, "ada", "editor").await;
    ada.json_ok(
        "chat/send",
        serde_json::json!({ "project": shared, "client_id": "c1", "body": "bye", "reply_to": null }),
    )
    .await;
    let doc = default_doc(&ada, shared).await;
    let mut ada_tab = tab(&server, &ada, shared, doc).await;

    // Only the projects ada owns alone need a decision.
    let owned = ada.ok("account/owned-alone", &[]).await;
    let mut owned: Vec<(i64, usize)> = owned
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| {
            let members = p["members"].as_array().map_or(0, Vec::len);
            (p["id"].as_i64().unwrap_or_default(), members)
        })
        .collect();
    owned.sort_unstable();
    let mut want = vec![(shared, 2), (solo, 0)];
    want.sort_unstable();
    assert_eq!(owned, want);
    let delete = |password: &str, confirm: &str, choices: serde_json::Value| {
        let body =
            serde_json::json!({ "password": password, "confirm": confirm, "choices": choices });
        ada.json("account/delete", body)
    };
    let good = serde_json::json!([[shared, { "HandOver": ed_id }], [solo, "Delete"]]);
    for (password, confirm, choices, field, says) in [
        (
            "wrong password",
            "ada",
            good.clone(),
            "password",
            "current password",
        ),
        (
            PASSWORD,
            "ad",
            good.clone(),
            "confirm",
            "Type your username",
        ),
        (
            PASSWORD,
            "ada",
            serde_json::json!([[shared, { "HandOver": ed_id }]]),
            "choices",
            "Choose what becomes of “Solo”",
        ),
        (
            PASSWORD,
            "ada",
            serde_json::json!([[shared, { "HandOver": ed_id }], [solo, { "HandOver": ed_id }]]),
            "choices",
            "one of its members",
        ),
    ] {
        let r = delete(password, confirm, choices).await;
        assert_eq!(r.error_kind(), "Invalid", "{field}: {}", r.body);
        assert!(r.message().contains(says), "{field}: {}", r.message());
    }
    assert_eq!(
        ada.ok("projects/list", &[]).await.as_array().map(Vec::len),
        Some(3),
        "a refused deletion changes nothing"
    );

    let r = delete(PASSWORD, "ada", good).await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body);
    ada_tab
        .until("the deleted account's tab to close", |t| t.closed.is_some())
        .await;
    let code = ada_tab.closed.as_ref().map(|c| c.0);
    assert!(
        matches!(code, Some(close::SIGNED_OUT | close::NO_ACCESS)),
        "{code:?}"
    );
    assert_eq!(
        ada.call("projects/list", &[]).await.status,
        reqwest::StatusCode::UNAUTHORIZED
    );
    let login = server
        .client()
        .call("login", &[("name", "ada"), ("password", PASSWORD)])
        .await;
    assert_ne!(login.status, reqwest::StatusCode::OK, "{}", login.body);

    // Ed owns Shared now; Theirs goes on without ada; Solo is gone.
    let eds = ed.ok("projects/list", &[]).await;
    let role_of = |id: i64| {
        eds.as_array()
            .and_then(|l| l.iter().find(|p| p["id"] == id))
            .map(|p| p["role"].clone())
    };
    assert_eq!(role_of(shared), Some(serde_json::json!("owner")), "{eds}");
    let workspace = ed
        .ok("projects/workspace", &[("project", &shared.to_string())])
        .await;
    let member_ids: Vec<i64> = workspace["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["user"]["id"].as_i64())
        .collect();
    assert!(!member_ids.contains(&ada_id), "{workspace}");
    let db = server.db().await;
    let sql = format!("SELECT id FROM projects WHERE id = {solo}");
    let solo_row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql,
        ))
        .await
        .expect("query");
    assert!(solo_row.is_none(), "the project owned alone was deleted");
    // What ada wrote stays, under the deleted account's name; the name itself is free again.
    let history = ed
        .json_ok(
            "chat/history",
            serde_json::json!({ "project": shared, "before": null, "after": null }),
        )
        .await;
    assert_eq!(
        history["messages"][0]["author"]["name"],
        format!("deleted-{ada_id}")
    );
    let again = server.client();
    again.signup("ada").await;
    assert_eq!(again.ok("projects/list", &[]).await, serde_json::json!([]));
    server.finish().await;
}

db_tests!(
    account_deletion,
    cli_password_reset_signs_out_everywhere,
    password_change_and_sessions,
    removed_member_is_cut_off,
    role_changes_reach_open_documents,
    deletion_and_sign_out_close_sockets,
    yjs_sockets_follow_the_role,
    expired_session_closes_its_socket
);
