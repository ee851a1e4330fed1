//! Shared terminals end to end: a shell in the sandbox on a pty, its output live for every
//! member with a replay, typing only for the opener and whom they grant it (viewers never,
//! refused by the server), one size for everyone (the smallest view), files written in it
//! reaching the tree, losing edit access cutting typing off at once, Ctrl+C, the shell's exit
//! killing what it left behind, the idle close and the per-project limit.

use std::time::Duration;

use crate::{
    common::{Api, Backend, tab::TabClient},
    runs::{Setup, processes_with, responsive, setup, tab},
};
use app::{
    live::events::{ClientEvent, ServerEvent},
    types::{TermId, terminals::TermInfo},
};
use reqwest::StatusCode;
use serde_json::json;

pub(crate) async fn open(api: &Api, project: i64) -> crate::common::Reply {
    api.json(
        "terminals/open",
        json!({ "project": project, "cols": 80, "rows": 24 }),
    )
    .await
}

pub(crate) async fn open_ok(api: &Api, project: i64) -> TermInfo {
    let r = open(api, project).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    serde_json::from_value(r.body).expect("terminal info")
}

async fn user_id(api: &Api) -> i64 {
    api.ok("me", &[]).await["id"].as_i64().expect("id")
}

pub(crate) fn output(tab: &TabClient, term: TermId) -> String {
    tab.events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::TermOutput { term: t, data, .. } if *t == term => Some(data.as_str()),
            _ => None,
        })
        .collect()
}

pub(crate) fn latest(tab: &TabClient, term: TermId) -> Option<TermInfo> {
    tab.events.iter().rev().find_map(|e| match e {
        ServerEvent::Terminal { term: t } if t.id == term => Some(t.clone()),
        _ => None,
    })
}

fn refusals(tab: &TabClient, term: TermId) -> Vec<String> {
    tab.events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::TermRefused { term: t, message } if *t == term => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// Polls `cond` (something outside the sockets: processes) until it holds.
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + crate::common::WAIT;
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) async fn keys(tab: &mut TabClient, term: TermId, data: &str) {
    tab.event(&ClientEvent::TermInput {
        term,
        data: data.to_owned(),
    })
    .await;
}

async fn grant(s: &Setup, by: &Api, term: TermId, user: i64, on: bool) -> crate::common::Reply {
    by.json(
        "terminals/grant",
        json!({ "project": s.project, "term": term, "user": user, "on": on }),
    )
    .await
}

async fn shared_typing_size_and_revocation(backend: Backend) {
    let Some(s) = setup(backend, &[("hello.txt", b"hello")], |_| {}).await else {
        return;
    };
    let (owner_id, editor_id, viewer_id) = (
        user_id(&s.owner).await,
        user_id(&s.editor).await,
        user_id(&s.viewer).await,
    );
    let mut eddy = tab(&s, &s.editor).await;
    let mut rhea = tab(&s, &s.owner).await;
    let mut vic = tab(&s, &s.viewer).await;
    // Viewers watch and never open one.
    assert_eq!(
        open(&s.viewer, s.project).await.status,
        StatusCode::FORBIDDEN
    );
    let t = open_ok(&s.editor, s.project).await;
    assert_eq!(t.typists.len(), 1);
    vic.until("the terminal appears", |v| latest(v, t.id).is_some())
        .await;

    keys(&mut eddy, t.id, "ls\r").await;
    vic.until("ls reaches the viewer", |v| {
        output(v, t.id).contains("hello.txt")
    })
    .await;

    // Neither a viewer nor an editor who was not granted typing gets a key in.
    keys(&mut vic, t.id, "echo viewer-typed\r").await;
    vic.until("the viewer is refused", |v| !refusals(v, t.id).is_empty())
        .await;
    assert!(
        refusals(&vic, t.id)[0].contains("Viewers"),
        "{:?}",
        refusals(&vic, t.id)
    );
    keys(&mut rhea, t.id, "echo owner-typed\r").await;
    rhea.until("the owner is refused", |r| !refusals(r, t.id).is_empty())
        .await;
    // The opener grants typing; viewers cannot be granted it.
    let r = grant(&s, &s.editor, t.id, viewer_id, true).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = grant(&s, &s.viewer, t.id, owner_id, true).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = grant(&s, &s.editor, t.id, owner_id, true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    rhea.until("the grant is announced", |r| {
        latest(r, t.id).is_some_and(|i| i.typists.len() == 2)
    })
    .await;
    keys(&mut rhea, t.id, "echo granted-$((6*7))\r").await;
    vic.until("the granted owner's command runs", |v| {
        output(v, t.id).contains("granted-42")
    })
    .await;
    assert!(!output(&vic, t.id).contains("viewer-typed"));
    assert!(!output(&vic, t.id).contains("owner-typed"));

    // One size for everyone: the smallest view.
    eddy.event(&ClientEvent::TermAttach {
        term: t.id,
        cols: 100,
        rows: 30,
    })
    .await;
    rhea.event(&ClientEvent::TermAttach {
        term: t.id,
        cols: 90,
        rows: 40,
    })
    .await;
    vic.until("the shared size", |v| {
        latest(v, t.id).is_some_and(|i| (i.cols, i.rows) == (90, 30))
    })
    .await;
    keys(&mut eddy, t.id, "stty size\r").await;
    vic.until("the shell sees it", |v| output(v, t.id).contains("30 90"))
        .await;
    // A file written in the terminal appears in the tree.
    keys(&mut eddy, t.id, "echo made > made-here.txt\r").await;
    let deadline = std::time::Instant::now() + crate::common::WAIT;
    loop {
        let list = s
            .viewer
            .json_ok("files/list", json!({ "project": s.project }))
            .await;
        if list
            .as_array()
            .is_some_and(|l| l.iter().any(|e| e["name"] == "made-here.txt"))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "made-here.txt never reached the tree"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A member opening the project now gets the scrollback.
    let now = s
        .viewer
        .json_ok("terminals/now", json!({ "project": s.project }))
        .await;
    assert_eq!(now[0]["term"]["id"], t.id.0);
    let data = now[0]["data"].as_str().unwrap_or_default();
    assert!(
        data.contains("hello.txt") && data.contains("granted-42"),
        "{data}"
    );
    assert!(
        now[0]["end"]
            .as_u64()
            .is_some_and(|e| e >= data.len() as u64)
    );

    // The owner's own terminal, with the editor granted typing.
    let t2 = open_ok(&s.owner, s.project).await;
    assert_eq!(
        grant(&s, &s.owner, t2.id, editor_id, true).await.status,
        StatusCode::OK
    );
    // Only its opener or an owner closes a terminal.
    let r = s
        .editor
        .json(
            "terminals/close",
            json!({ "project": s.project, "term": t2.id }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Demoted to viewer: the editor's typing goes at once, and their own terminal closes.
    s.owner
        .ok(
            "projects/set-role",
            &[
                ("project", &s.project.to_string()),
                ("user", &editor_id.to_string()),
                ("role", "viewer"),
            ],
        )
        .await;
    vic.until("typing is taken back", |v| {
        latest(v, t2.id).is_some_and(|i| !i.typists.iter().any(|x| x.user.0 == editor_id))
    })
    .await;
    vic.until("the demoted opener's terminal closes", |v| {
        latest(v, t.id).is_some_and(|i| i.ended.is_some())
    })
    .await;
    let why = latest(&vic, t.id).and_then(|i| i.ended).unwrap_or_default();
    assert!(why.contains("can no longer edit"), "{why}");
    let before = refusals(&eddy, t2.id).len();
    keys(&mut eddy, t2.id, "echo demoted-typed\r").await;
    eddy.until("the demoted editor is refused", |e| {
        refusals(e, t2.id).len() > before
    })
    .await;

    // Removed: the socket closes and the terminal's output stops reaching them.
    s.owner
        .ok(
            "projects/remove-member",
            &[
                ("project", &s.project.to_string()),
                ("user", &editor_id.to_string()),
            ],
        )
        .await;
    eddy.until("the removed member's socket closes", |e| e.closed.is_some())
        .await;
    assert_eq!(eddy.closed.as_ref().map(|c| c.0), Some(4403));
    let r = s
        .editor
        .json("terminals/now", json!({ "project": s.project }))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = s
        .owner
        .json(
            "terminals/close",
            json!({ "project": s.project, "term": t2.id }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    vic.until("closed for everyone", |v| {
        latest(v, t2.id).is_some_and(|i| i.ended.is_some())
    })
    .await;
    // Opening and closing are in the audit log.
    let closed = crate::audit::entry(&s.owner, s.project, "terminal_closed").await;
    assert_eq!(closed["target"], format!("terminal {}", t2.id));
    let opened = crate::audit::entry(&s.owner, s.project, "terminal_opened").await;
    assert_eq!(opened["target"], format!("terminal {}", t2.id));
    assert!(
        latest(&vic, t2.id)
            .and_then(|i| i.ended)
            .is_some_and(|w| w.starts_with("closed by ")),
    );
    assert!(!output(&vic, t2.id).contains("demoted-typed"));
    assert!(
        s.server
            .metrics()
            .await
            .contains("tandem_terminals_opened_total")
    );
    s.server.finish().await;
}

async fn ctrl_c_exit_leftovers_idle_and_limit(backend: Backend) {
    let Some(s) = setup(backend, &[("a.txt", b"a")], |c| {
        c.runs.terminal_idle_secs = 3;
        c.runs.terminals_per_project = 1;
    })
    .await
    else {
        return;
    };
    let mut eddy = tab(&s, &s.editor).await;
    let t = open_ok(&s.editor, s.project).await;
    let r = open(&s.owner, s.project).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    // The pty is the shell's controlling terminal: Ctrl+C interrupts the foreground job.
    keys(&mut eddy, t.id, "sleep 987654\r").await;
    eventually("sleep runs", || !processes_with("sleep 987654").is_empty()).await;
    keys(&mut eddy, t.id, "\u{3}").await;
    eventually("Ctrl+C ends it", || {
        processes_with("sleep 987654").is_empty()
    })
    .await;
    keys(&mut eddy, t.id, "echo after-$((1+1))\r").await;
    eddy.until("the shell answers again", |e| {
        output(e, t.id).contains("after-2")
    })
    .await;
    // Exiting the shell ends the terminal and whatever it left running in the background.
    keys(&mut eddy, t.id, "sleep 987655 &\r").await;
    eventually("the background job runs", || {
        !processes_with("sleep 987655").is_empty()
    })
    .await;
    keys(&mut eddy, t.id, "exit\r").await;
    eddy.until("the terminal ends", |e| {
        latest(e, t.id).is_some_and(|i| i.ended.is_some())
    })
    .await;
    assert_eq!(
        latest(&eddy, t.id).and_then(|i| i.ended).as_deref(),
        Some("exit 0")
    );
    assert!(
        processes_with("sleep 987655").is_empty(),
        "the background job outlived its terminal"
    );
    let r = s
        .editor
        .json(
            "terminals/close",
            json!({ "project": s.project, "term": t.id }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Nobody types, nothing prints: it closes on its own.
    let idle = open_ok(&s.editor, s.project).await;
    eddy.until("the idle terminal closes", |e| {
        latest(e, idle.id).is_some_and(|i| i.ended.is_some())
    })
    .await;
    let why = latest(&eddy, idle.id)
        .and_then(|i| i.ended)
        .unwrap_or_default();
    assert!(why.contains("without input or output"), "{why}");
    responsive(&s).await;
    s.server.finish().await;
}

db_tests!(
    shared_typing_size_and_revocation,
    ctrl_c_exit_leftovers_idle_and_limit,
);
