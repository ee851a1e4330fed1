//! The team dashboard end to end: the feed has an entry for each kind of activity (edits
//! folded per person and file, chat, runs with their outcome, members joining) in the right
//! project only, filters by project, kind and person, sparklines count today, presence shows
//! who has which file open, runs in progress are listed; mentions keep their unread count on
//! the server across two sessions; the live stream pokes on changes and stops following a
//! project the moment its member is removed.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    common::{Api, Backend, PASSWORD, WAIT},
    runs::{detect, doc_id, file_id, setup, start_ok},
};

async fn team(api: &Api, filter: Value) -> Value {
    api.json_ok("dashboard/team", json!({ "filter": filter }))
        .await
}

/// Polls the dashboard until `cond` holds for it.
async fn team_until(api: &Api, filter: Value, what: &str, cond: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let t = team(api, filter.clone()).await;
        if cond(&t) {
            return t;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}; last {t}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn entries<'a>(t: &'a Value, kind: &str) -> Vec<&'a Value> {
    t["feed"]
        .as_array()
        .map(|f| f.iter().filter(|e| e["what"]["kind"] == kind).collect())
        .unwrap_or_default()
}

fn card(t: &Value, project: i64) -> &Value {
    t["projects"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["project"]["id"] == project))
        .unwrap_or_else(|| panic!("no card for {project}: {t}"))
}

async fn say(api: &Api, project: i64, body: &str) -> Value {
    api.json_ok(
        "chat/send",
        json!({ "project": project, "client_id": crate::runs::unique("c-"), "body": body, "reply_to": null }),
    )
    .await
}

async fn feed_presence_runs_and_isolation(backend: Backend) {
    let files: &[(&str, &[u8])] = &[
        ("hello.py", b"print('hi')\n"),
        (
            "loop.py",
            b"import time\nwhile True:\n    time.sleep(0.1)\n",
        ),
    ];
    let Some(s) = setup(backend, files, |c| c.feed_flush_ms = 100).await else {
        return;
    };
    let p = s.project;
    let editor = s.editor.ok("me", &[]).await["id"].clone();
    // A stranger's project beside it.
    let stranger = s.server.client();
    stranger.signup(&crate::runs::unique("stan")).await;
    let other = stranger.create_project("Elsewhere").await;
    say(&stranger, other, "nothing for the others").await;

    // Joins: the editor and the viewer were invited.
    let t = team(&s.owner, json!({})).await;
    assert_eq!(
        entries(&t, "join").len(),
        3,
        "owner, editor and viewer: {t}"
    );
    assert!(
        t["feed"]
            .as_array()
            .is_some_and(|f| f.iter().all(|e| e["project"] == p)),
        "{t}"
    );

    // Edits: the editor types in hello.py; the feed folds them into one entry.
    let doc = doc_id(&s.editor, p, "hello.py").await;
    let mut tab = crate::runs::tab(&s, &s.editor).await;
    tab.open(doc).await;
    for (i, c) in "# typed\n".chars().enumerate() {
        tab.insert(doc, i as u32, &c.to_string()).await;
    }
    assert!(tab.wait_saved(doc, WAIT).await, "saved");
    let t = team_until(&s.owner, json!({}), "an edit entry", |t| {
        entries(t, "edit")
            .first()
            .is_some_and(|e| e["what"]["updates"].as_u64() >= Some(8))
    })
    .await;
    let edit = entries(&t, "edit")[0];
    assert_eq!(edit["what"]["path"], "hello.py");
    assert_eq!(edit["user"], editor);
    assert_eq!(entries(&t, "edit").len(), 1, "one burst, one entry: {t}");
    // More typing in the same burst grows the same entry.
    tab.insert(doc, 0, "#").await;
    assert!(tab.wait_saved(doc, WAIT).await, "saved");
    team_until(&s.owner, json!({}), "the burst grows", |t| {
        let e = entries(t, "edit");
        e.len() == 1 && e[0]["what"]["updates"].as_u64() >= Some(9)
    })
    .await;
    // Presence: the editor has hello.py open.
    let online = &card(&t, p)["online"];
    assert_eq!(online[0]["files"], json!(["hello.py"]), "{t}");

    // Chat and a run with its outcome.
    say(&s.viewer, p, "looks **good**").await;
    let hello = file_id(&s.owner, p, "hello.py").await;
    let run = start_ok(&s.owner, p, detect(hello)).await;
    let t = team_until(&s.editor, json!({}), "the run's outcome", |t| {
        entries(t, "run")
            .iter()
            .any(|e| e["what"]["run"]["id"] == run.id.0 && e["what"]["run"]["exit_code"] == 0)
    })
    .await;
    let chat = entries(&t, "chat");
    assert_eq!(chat.len(), 1, "{t}");
    assert_eq!(chat[0]["what"]["excerpt"], "looks good");
    // Spark: today holds everything so far.
    let spark = card(&t, p)["spark"].as_array().cloned().unwrap_or_default();
    assert_eq!(spark.len(), 14);
    assert!(
        spark[13].as_u64() >= Some(6),
        "joins, edit, chat, run today: {spark:?}"
    );

    // Runs in progress.
    let looping = file_id(&s.owner, p, "loop.py").await;
    let endless = start_ok(&s.owner, p, detect(looping)).await;
    let t = team_until(&s.viewer, json!({}), "the endless run listed", |t| {
        card(t, p)["running"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["id"] == endless.id.0))
    })
    .await;
    assert!(
        entries(&t, "run")
            .iter()
            .any(|e| e["what"]["run"]["ended_at"].is_null())
    );
    s.owner
        .json_ok("runs/stop", json!({ "project": p, "run": endless.id }))
        .await;
    team_until(&s.viewer, json!({}), "the stopped run unlisted", |t| {
        card(t, p)["running"].as_array().is_some_and(Vec::is_empty)
    })
    .await;

    // The project's own dashboard: its runs (outcome, who) and the file changed most this
    // week with who changed it; for members only.
    let overview = s
        .viewer
        .json_ok("dashboard/project", json!({ "project": p }))
        .await;
    let runs = overview["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2, "{overview}");
    assert_eq!(runs[0]["id"], endless.id.0, "newest first");
    assert!(
        runs.iter()
            .any(|r| r["id"] == run.id.0 && r["exit_code"] == 0)
    );
    assert_eq!(runs[1]["started_by_name"], run.started_by_name.as_str());
    let hot = &overview["hot_files"][0];
    assert_eq!(hot["name"], "hello.py", "{overview}");
    assert!(hot["changes"].as_u64() >= Some(9), "{overview}");
    assert_eq!(
        hot["people"][0][1], hot["changes"],
        "one person made them all"
    );
    assert_eq!(overview["card"]["spark"].as_array().map(Vec::len), Some(14));
    let r = stranger
        .json("dashboard/project", json!({ "project": p }))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // Filters.
    let t = team(&s.owner, json!({ "kinds": ["chat"] })).await;
    assert!(
        t["feed"]
            .as_array()
            .is_some_and(|f| !f.is_empty() && f.iter().all(|e| e["what"]["kind"] == "chat"))
    );
    let t = team(&s.owner, json!({ "person": editor })).await;
    assert!(
        t["feed"]
            .as_array()
            .is_some_and(|f| !f.is_empty() && f.iter().all(|e| e["user"] == editor)),
        "{t}"
    );
    let t = team(&s.owner, json!({ "project": p, "kinds": ["join"] })).await;
    assert_eq!(entries(&t, "join").len(), 3);

    // Isolation: the stranger sees only their project, even when asking for the other one.
    let t = team(&stranger, json!({})).await;
    assert_eq!(t["projects"].as_array().map(Vec::len), Some(1));
    assert!(
        t["feed"]
            .as_array()
            .is_some_and(|f| f.iter().all(|e| e["project"] == other)),
        "{t}"
    );
    let t = team(&stranger, json!({ "project": p })).await;
    assert_eq!(t["feed"], json!([]));
    let t = team(&s.owner, json!({ "project": other })).await;
    assert_eq!(t["feed"], json!([]));
    assert!(!t["people"].to_string().contains("stan"), "{t}");
    // Signed out: refused.
    let anon = s.server.client();
    assert_eq!(
        anon.json("dashboard/team", json!({ "filter": {} }))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

async fn mentions_stay_unread_until_read_on_any_device(backend: Backend) {
    let server = crate::common::TestServer::start(backend).await;
    let names = [
        crate::runs::unique("mona"),
        crate::runs::unique("ned"),
        crate::runs::unique("ola"),
    ];
    let team_ = server
        .team("Mentions", [&names[0], &names[1], &names[2]])
        .await;
    let p = team_.project;
    // Ned on a second device.
    let phone = server.client();
    phone
        .ok("login", &[("name", &names[1]), ("password", PASSWORD)])
        .await;

    say(&team_.owner, p, &format!("@{} please look", names[1])).await;
    // Naming yourself is not a mention.
    say(&team_.editor, p, &format!("I am @{}", names[1])).await;
    for api in [&team_.editor, &phone] {
        let t = team(api, json!({})).await;
        assert_eq!(t["unread"], 1, "{t}");
        assert_eq!(
            t["mentions"][0]["excerpt"],
            format!("@{} please look", names[1])
        );
        assert_eq!(t["mentions"][0]["read"], false);
    }
    assert_eq!(team(&team_.viewer, json!({})).await["unread"], 0);
    // An edit that adds a mention tells the newly named person once.
    let m = say(&team_.owner, p, "no one yet").await;
    for _ in 0..2 {
        team_
            .owner
            .json_ok(
                "chat/edit",
                json!({ "project": p, "id": m["id"], "body": format!("now @{}", names[2]) }),
            )
            .await;
    }
    assert_eq!(team(&team_.viewer, json!({})).await["unread"], 1);

    // Read on the phone: the laptop shows none unread.
    let read = phone
        .json_ok("dashboard/mentions_read", json!({ "message": null }))
        .await;
    assert_eq!(read, 1);
    let t = team(&team_.editor, json!({})).await;
    assert_eq!(t["unread"], 0);
    assert_eq!(t["mentions"][0]["read"], true);
    // One message at a time.
    let again = say(&team_.owner, p, &format!("@{} and again", names[1])).await;
    say(&team_.owner, p, &format!("@{} once more", names[1])).await;
    assert_eq!(team(&phone, json!({})).await["unread"], 2);
    team_
        .editor
        .json_ok("dashboard/mentions_read", json!({ "message": again["id"] }))
        .await;
    assert_eq!(team(&phone, json!({})).await["unread"], 1);
    // Removed from the project: its mentions no longer count.
    team_
        .owner
        .ok(
            "projects/remove-member",
            &[
                ("project", &p.to_string()),
                ("user", &team_.ids[1].to_string()),
            ],
        )
        .await;
    let t = team(&phone, json!({})).await;
    assert_eq!(t["unread"], 0);
    assert_eq!(t["mentions"], json!([]));
}

/// Reads server-sent events from the dashboard's stream.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn open(api: &Api) -> Self {
        let response = api.get("/api/dashboard/live").await;
        assert_eq!(response.status(), StatusCode::OK);
        let mut e = Self {
            response,
            buffer: String::new(),
        };
        assert_eq!(e.next("ready").await.0, "ready");
        e
    }

    /// The next event's name and data; `what` names it when it does not come.
    async fn next(&mut self, what: &str) -> (String, String) {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let (mut name, mut data) = ("message".to_owned(), String::new());
                    for line in block.lines() {
                        if let Some(n) = line.strip_prefix("event:") {
                            name = n.trim().to_owned();
                        } else if let Some(d) = line.strip_prefix("data:") {
                            data.push_str(d.trim());
                        }
                    }
                    // Keep-alive comments carry no data.
                    if !data.is_empty() {
                        return (name, data);
                    }
                    continue;
                }
                let chunk = self
                    .response
                    .chunk()
                    .await
                    .expect("stream")
                    .expect("stream open");
                self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no event in time: {what}"))
    }

    /// The next poke's project.
    async fn poke(&mut self, what: &str) -> i64 {
        let (name, data) = self.next(what).await;
        assert_eq!(name, "message", "{data}");
        let v: Value = serde_json::from_str(&data).expect("json");
        v["project"].as_i64().expect("project")
    }
}

async fn the_live_stream_follows_access(backend: Backend) {
    let server = crate::common::TestServer::start(backend).await;
    let names = [
        crate::runs::unique("lia"),
        crate::runs::unique("max"),
        crate::runs::unique("nia"),
    ];
    let t = server.team("Live", [&names[0], &names[1], &names[2]]).await;
    let mine = t.editor.create_project("Max's own").await;
    assert_eq!(
        server.client().get("/api/dashboard/live").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let mut events = Events::open(&t.editor).await;
    say(&t.owner, t.project, "hello").await;
    assert_eq!(events.poke("a chat message").await, t.project);
    // Removed: nothing more of that project, at once.
    t.owner
        .ok(
            "projects/remove-member",
            &[
                ("project", &t.project.to_string()),
                ("user", &t.ids[1].to_string()),
            ],
        )
        .await;
    assert_eq!(events.poke("the removal").await, t.project);
    say(&t.owner, t.project, "secret plans").await;
    say(&t.editor, mine, "my own").await;
    // The old project's chat never comes.
    assert_eq!(events.poke("my own project's chat").await, mine);
    // Invited again: followed again.
    t.owner.invite(t.project, &names[1], "viewer").await;
    assert_eq!(events.poke("the invitation").await, t.project);
    say(&t.owner, t.project, "welcome back").await;
    assert_eq!(
        events.poke("a chat message after joining again").await,
        t.project
    );
    // Signing out ends the stream.
    t.editor.ok("logout", &[]).await;
    let (name, _) = events.next("signing out").await;
    assert_eq!(name, "signed_out");
}

crate::db_tests!(
    feed_presence_runs_and_isolation,
    mentions_stay_unread_until_read_on_any_device,
    the_live_stream_follows_access
);
