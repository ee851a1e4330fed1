//! The operations console end to end: only server admins reach it (signed out 401, members
//! 403, for the page and every server function); maintenance refuses writes on `/ws` and
//! `/yjs` (and new runs, terminals and file changes), keeps everyone connected, and lifts
//! cleanly: the tab's refused edit arrives once its documents reopen; a broadcast reaches open
//! tabs at once; disabling, signing out and resetting a password take effect at once; alerts
//! open and close with their history.

use app::{
    live::events::ServerEvent,
    ops::{AlertKind, Notice},
    types::UserId,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Api, Backend, PASSWORD, TestServer, WAIT, tab::TabClient, yjs::YClient};

/// A team whose owner is a server admin, with a file `notes.txt` (its document id).
async fn staffed(backend: Backend) -> (TestServer, crate::common::Team, i64) {
    let server = TestServer::start(backend).await;
    let names = [
        crate::runs::unique("ada"),
        crate::runs::unique("eddy"),
        crate::runs::unique("vic"),
    ];
    let team = server
        .team(
            "Ops",
            [names[0].as_str(), names[1].as_str(), names[2].as_str()],
        )
        .await;
    server
        .state()
        .accounts
        .set_admin(UserId(team.ids[0]), true)
        .await
        .expect("admin");
    let entry = team
        .owner
        .json_ok(
            "files/create",
            json!({ "project": team.project, "parent": null, "name": "notes.txt", "kind": "file" }),
        )
        .await;
    let doc = entry["doc"].as_i64().expect("document id");
    (server, team, doc)
}

/// The document's text as the server holds it.
async fn server_text(server: &TestServer, doc: i64) -> String {
    use yrs::{GetString, ReadTxn, Transact, Update, updates::decoder::Decode};
    let state = server
        .state()
        .editor
        .state(app::types::DocId(doc))
        .await
        .expect("state");
    let d = yrs::Doc::new();
    let text = d.get_or_insert_text("content");
    d.transact_mut()
        .apply_update(Update::decode_v1(&state).expect("update"))
        .expect("apply");
    let txn = d.transact();
    let _ = txn.state_vector();
    text.get_string(&txn)
}

async fn server_text_until(server: &TestServer, doc: i64, what: &str, cond: impl Fn(&str) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = server_text(server, doc).await;
        if cond(&text) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out: {what}; text {text:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn notice_of(e: &ServerEvent) -> Option<&Notice> {
    match e {
        ServerEvent::Notice { notice } => Some(notice),
        _ => None,
    }
}

async fn maintenance(admin: &Api, on: bool) {
    admin
        .json_ok(
            "ops/maintenance",
            json!({ "on": on, "message": "Upgrading the database" }),
        )
        .await;
}

async fn maintenance_refuses_writes_and_lifts_cleanly(backend: Backend) {
    let (server, team, doc) = staffed(backend).await;
    let p = team.project;
    let ws_url = server.ws_url(&format!("/ws?project={p}"));
    let yjs_url = server.ws_url(&format!("/yjs/board?project={p}"));
    let mut tab = TabClient::connect(&ws_url, &team.editor.cookie())
        .await
        .expect("tab");
    tab.open(doc).await;
    assert_eq!(tab.opened(doc), Some(true));
    tab.insert(doc, 0, "a").await;
    assert!(tab.wait_saved(doc, WAIT).await, "the first edit is saved");
    let mut y = YClient::connect(&yjs_url, Some(&team.editor.cookie()))
        .await
        .expect("yjs");
    y.insert(0, "x").await;

    maintenance(&team.owner, true).await;
    // Anyone can read the notice; the tab is told and its document closed, to reopen read-only.
    let notice: Notice =
        serde_json::from_value(server.client().json_ok("ops/notice", json!({})).await)
            .expect("notice");
    assert_eq!(
        notice.maintenance.as_ref().map(|m| m.message.as_str()),
        Some("Upgrading the database")
    );
    let seen = tab.events.len();
    tab.until("the maintenance notice and the document closed", |t| {
        let new = &t.events[seen..];
        new.iter()
            .any(|e| notice_of(e).is_some_and(|n| n.maintenance.is_some()))
            && new
                .iter()
                .any(|e| matches!(e, ServerEvent::Closed { doc: d, .. } if d.0 == doc))
    })
    .await;
    tab.open(doc).await;
    assert_eq!(
        tab.opened(doc),
        Some(false),
        "reopened read-only during maintenance"
    );
    // A write anyway (a client that ignores "read-only") is refused and changes nothing.
    tab.insert(doc, 1, "b").await;
    tab.until("the refusal", |t| t.denied).await;
    assert_eq!(server_text(&server, doc).await, "a");
    // The plain Yjs writer was closed (1013) to reconnect; reconnected, its writes are refused.
    y.until("the yjs socket to close", |c| c.closed.is_some())
        .await;
    assert_eq!(y.closed.as_ref().map(|c| c.0), Some(1013), "{:?}", y.closed);
    let mut y2 = YClient::connect(&yjs_url, Some(&team.editor.cookie()))
        .await
        .expect("yjs again");
    y2.insert(0, "y").await;
    y2.until("the refusal", |c| c.denied).await;
    // New runs, terminals, file changes and restores wait; reading goes on.
    for (endpoint, body) in [
        (
            "runs/start",
            json!({ "project": p, "target": { "kind": "detect", "file": null }, "restart": false }),
        ),
        (
            "terminals/open",
            json!({ "project": p, "cols": 80, "rows": 24 }),
        ),
        (
            "files/create",
            json!({ "project": p, "parent": null, "name": "new.txt", "kind": "file" }),
        ),
    ] {
        let r = team.editor.json(endpoint, body).await;
        assert_eq!(
            r.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{endpoint}: {}",
            r.body
        );
        assert!(
            r.message().contains("maintenance"),
            "{endpoint}: {}",
            r.body
        );
    }
    team.editor
        .json_ok("files/list", json!({ "project": p }))
        .await;
    // Sessions are kept: the tab is still connected.
    assert!(tab.closed.is_none());

    maintenance(&team.owner, false).await;
    let seen = tab.events.len();
    tab.until("maintenance lifted and the document closed", |t| {
        let new = &t.events[seen..];
        new.iter()
            .any(|e| notice_of(e).is_some_and(|n| n.maintenance.is_none()))
            && new
                .iter()
                .any(|e| matches!(e, ServerEvent::Closed { doc: d, .. } if d.0 == doc))
    })
    .await;
    tab.open(doc).await;
    assert_eq!(tab.opened(doc), Some(true), "writable again");
    // The refused edit stayed in the tab's copy: the reopening handshake brings it in.
    server_text_until(&server, doc, "the kept edit to arrive", |t| t == "ab").await;
    tab.insert(doc, 2, "c").await;
    server_text_until(&server, doc, "a new edit", |t| t == "abc").await;
    // The Yjs client is closed again and, reconnected, writes.
    y2.until("the yjs socket to close", |c| c.closed.is_some())
        .await;
    let mut y3 = YClient::connect(&yjs_url, Some(&team.editor.cookie()))
        .await
        .expect("yjs");
    y3.insert(0, "z").await;
    let mut reader = YClient::connect(&yjs_url, Some(&team.owner.cookie()))
        .await
        .expect("reader");
    reader
        .until("the new Yjs edit", |c| c.text().contains('z'))
        .await;
    assert!(!y3.denied);
    team.editor
        .json_ok(
            "files/create",
            json!({ "project": p, "parent": null, "name": "new.txt", "kind": "file" }),
        )
        .await;
    server.finish().await;
}

async fn the_console_is_for_admins_only(backend: Backend) {
    let (server, team, _) = staffed(backend).await;
    let stranger = server.client();
    let admin = &team.owner;
    let calls = [
        ("ops/console", json!({})),
        ("ops/banner", json!({ "text": "hi", "level": "info" })),
        ("ops/maintenance", json!({ "on": true, "message": "" })),
        ("ops/shutdown", json!({ "secs": 60 })),
        (
            "ops/user",
            json!({ "user": team.ids[2], "action": "sign_out" }),
        ),
    ];
    for (endpoint, body) in &calls {
        let r = stranger.json(endpoint, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "{endpoint} signed out: {}",
            r.body
        );
        let r = team.editor.json(endpoint, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{endpoint} as a member: {}",
            r.body
        );
    }
    assert_eq!(
        team.editor.get("/admin").await.status(),
        StatusCode::FORBIDDEN
    );
    let page = admin.get("/admin").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.expect("page").contains("System status"));
    // Nothing changed by the refused calls.
    let notice: Notice =
        serde_json::from_value(stranger.json_ok("ops/notice", json!({})).await).expect("notice");
    assert!(notice.is_empty(), "{notice:?}");

    let console = admin.json_ok("ops/console", json!({})).await;
    let nodes = console["status"]["nodes"].as_array().expect("nodes");
    assert_eq!(nodes[0]["this"], true, "{console}");
    assert_eq!(nodes[0]["broker"], "local");
    assert!(
        nodes[0]["memory_bytes"].as_u64().unwrap_or(0) > 0,
        "{console}"
    );
    assert!(console["status"]["db_latency_ms"].as_f64().unwrap_or(-1.0) >= 0.0);
    assert_eq!(console["status"]["users"], 3);
    assert_eq!(console["status"]["projects"], 1);
    let users = console["users"].as_array().expect("users");
    assert_eq!(users.len(), 3);
    assert!(
        users
            .iter()
            .all(|u| u["sessions"] == 1 && u["projects"] == 1),
        "{console}"
    );
    // Input is checked: a message too long, a countdown past an hour, acting on oneself.
    let r = admin
        .json(
            "ops/banner",
            json!({ "text": "x".repeat(281), "level": "info" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = admin.json("ops/shutdown", json!({ "secs": 3601 })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = admin
        .json(
            "ops/user",
            json!({ "user": team.ids[0], "action": "disable" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = admin
        .json("ops/user", json!({ "user": 999_999, "action": "disable" }))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    // A restart countdown, withdrawn.
    admin.json_ok("ops/shutdown", json!({ "secs": 60 })).await;
    let notice: Notice =
        serde_json::from_value(stranger.json_ok("ops/notice", json!({})).await).expect("notice");
    let at = notice
        .shutdown
        .map(|s| s.at_ms - server::db::now_ms())
        .unwrap_or(0);
    assert!((50_000..=60_000).contains(&at), "restart in {at} ms");
    admin.json_ok("ops/shutdown", json!({ "secs": 0 })).await;
    let notice: Notice =
        serde_json::from_value(stranger.json_ok("ops/notice", json!({})).await).expect("notice");
    assert!(notice.shutdown.is_none());
    server.finish().await;
}

async fn broadcasts_and_account_actions_take_effect_at_once(backend: Backend) {
    let (server, team, _) = staffed(backend).await;
    let p = team.project;
    let admin = &team.owner;
    let mut tab = TabClient::connect(
        &server.ws_url(&format!("/ws?project={p}")),
        &team.editor.cookie(),
    )
    .await
    .expect("tab");
    admin
        .json_ok(
            "ops/banner",
            json!({ "text": "  Deploy at\n five  ", "level": "warning" }),
        )
        .await;
    tab.until("the broadcast", |t| {
        t.events.iter().filter_map(notice_of).any(|n| {
            n.banner
                .as_ref()
                .is_some_and(|b| b.text == "Deploy at five" && b.level == app::ops::Level::Warning)
        })
    })
    .await;
    // Taken down: an empty text.
    admin
        .json_ok("ops/banner", json!({ "text": "", "level": "info" }))
        .await;
    tab.until("the banner taken down", |t| {
        t.events
            .iter()
            .rev()
            .find_map(notice_of)
            .is_some_and(|n| n.banner.is_none())
    })
    .await;

    // Disabled: the open tab closes as signed out, requests fail, sign-in is refused.
    let editor_name = || async {
        let me = team.editor.ok("me", &[]).await;
        me["name"].as_str().map(str::to_owned)
    };
    let name = editor_name().await.expect("signed in");
    let editor_id = team.ids[1];
    admin
        .json_ok(
            "ops/user",
            json!({ "user": editor_id, "action": "disable" }),
        )
        .await;
    tab.until("the tab to close", |t| t.closed.is_some()).await;
    assert_eq!(
        tab.closed.as_ref().map(|c| c.0),
        Some(app::live::events::close::SIGNED_OUT)
    );
    assert_eq!(editor_name().await, None);
    let again = server.client();
    let r = again
        .call("login", &[("name", &name), ("password", PASSWORD)])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.message().contains("disabled"), "{}", r.body);
    let console = admin.json_ok("ops/console", json!({})).await;
    let row = |c: &Value| {
        c["users"]
            .as_array()
            .and_then(|u| u.iter().find(|u| u["id"] == editor_id).cloned())
            .expect("row")
    };
    assert_eq!(row(&console)["disabled"], true);
    assert_eq!(row(&console)["sessions"], 0);
    admin
        .json_ok("ops/user", json!({ "user": editor_id, "action": "enable" }))
        .await;
    again
        .ok("login", &[("name", &name), ("password", PASSWORD)])
        .await;

    // Reset password: the old one stops working, the new one (shown once) works, sessions end.
    let told = admin
        .json_ok(
            "ops/user",
            json!({ "user": editor_id, "action": "reset_password" }),
        )
        .await;
    let told = told.as_str().expect("a message").to_owned();
    let new_password = told
        .split("new password is ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the password in the message");
    assert_eq!(again.ok("me", &[]).await, Value::Null, "the session ended");
    let r = server
        .client()
        .call("login", &[("name", &name), ("password", PASSWORD)])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fresh = server.client();
    fresh
        .ok("login", &[("name", &name), ("password", new_password)])
        .await;

    // Sign out: every session of the account ends.
    let told = admin
        .json_ok(
            "ops/user",
            json!({ "user": editor_id, "action": "sign_out" }),
        )
        .await;
    assert!(
        told.as_str().is_some_and(|t| t.contains("1 session")),
        "{told}"
    );
    assert_eq!(fresh.ok("me", &[]).await, Value::Null);
    server.finish().await;
}

async fn alerts_open_and_close_with_history(backend: Backend) {
    // Every sample sees less free disk than the threshold asks.
    let server = TestServer::start_with(backend, |c| {
        c.ops.ops_sample_secs = 1;
        c.ops.alert_disk_free_percent = 101.0;
    })
    .await;
    let admin = server.client();
    let id = admin.signup(&crate::runs::unique("root")).await;
    server
        .state()
        .accounts
        .set_admin(UserId(id), true)
        .await
        .expect("admin");
    let deadline = tokio::time::Instant::now() + WAIT;
    let alert = loop {
        let console = admin.json_ok("ops/console", json!({})).await;
        if let Some(a) = console["alerts"]
            .as_array()
            .and_then(|l| l.iter().find(|a| a["kind"] == "disk_space").cloned())
        {
            break a;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no disk alert: {console}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(alert["ended_ms"].is_null(), "open: {alert}");
    assert_eq!(alert["threshold"], 101.0);

    // The monitor itself: a crossing opens one row, repeats keep the worst value, a calm
    // sample closes it.
    let db = server.db().await;
    let mut monitor = server::ops::alerts::Monitor::new(db.clone(), "test-node".to_owned());
    let slow = |ms: f64| server::ops::alerts::Crossing {
        kind: AlertKind::CommitLatency,
        value: ms,
        threshold: 250.0,
        message: format!("{ms} ms"),
    };
    monitor.check(vec![slow(300.0)]).await.expect("open");
    monitor.check(vec![slow(900.0)]).await.expect("worse");
    monitor.check(vec![slow(400.0)]).await.expect("better");
    monitor.check(vec![]).await.expect("close");
    let history = server::ops::alerts::list(&db).await.expect("list");
    let mine: Vec<_> = history.iter().filter(|a| a.node == "test-node").collect();
    assert_eq!(mine.len(), 1, "{history:?}");
    assert_eq!(mine[0].value, 900.0);
    assert!(mine[0].ended_ms.is_some());
    server.finish().await;
}

crate::db_tests!(
    maintenance_refuses_writes_and_lifts_cleanly,
    the_console_is_for_admins_only,
    broadcasts_and_account_actions_take_effect_at_once,
    alerts_open_and_close_with_history,
);
