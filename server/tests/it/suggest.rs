//! Code actions as shared suggestions (issue 18), against the stand-in provider: a suggestion
//! reaches every tab of the project; two editors accepting together get one winner; a
//! suggestion whose lines changed is refused and marked stale; viewers can neither ask nor
//! decide; rejecting one still being written closes its upstream request; ids of another
//! project are unknown.

use std::sync::atomic::Ordering;

use app::{
    live::events::ServerEvent,
    suggestions::{SuggestionState, anchor},
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use yrs::Transact;

use crate::common::{
    Api, Backend, TestServer,
    ai::{FakeAi, SUGGESTED},
    soon,
    tab::TabClient,
};

const CODE: &str = "function add(a, b) {\n  return a - b;\n}\n";

fn with_ai(base: String, model: &'static str) -> impl FnOnce(&mut server::config::Config) {
    move |c| {
        c.chat.ai_base_url = Some(base);
        c.chat.ai_model = Some(model.into());
    }
}

/// The default file of a project: (file id, document id).
async fn default_file(api: &Api, project: i64) -> (i64, i64) {
    let f = api
        .ok("editor/default_file", &[("project", &project.to_string())])
        .await;
    (
        f["file"].as_i64().expect("file"),
        f["doc"].as_i64().expect("doc"),
    )
}

/// The whole lines of `needle` in the tab's copy, pinned: `(start, end)`.
fn pin(tab: &TabClient, doc: i64, needle: &str) -> (Vec<u8>, Vec<u8>) {
    let text = tab.text(doc);
    let at = text.find(needle).expect("text present") as u32;
    let (from, to) = anchor::whole_lines(&text, at, at + needle.len() as u32);
    let d = tab.doc(doc);
    let t = d.get_or_insert_text(app::editor::binding::CONTENT);
    anchor::pin(&d.transact(), &t, from, to).expect("pins")
}

fn ask_body(project: i64, file: i64, action: &str, range: &(Vec<u8>, Vec<u8>)) -> Value {
    json!({
        "project": project,
        "request": { "file": file, "action": action, "instruction": null,
                     "start": range.0, "end": range.1, "output": null },
    })
}

/// The last state a tab was told of suggestion `id`.
fn seen(tab: &TabClient, id: i64) -> Option<(SuggestionState, String)> {
    tab.events.iter().rev().find_map(|e| match e {
        ServerEvent::Suggestion { suggestion: s } if s.id.0 == id => {
            Some((s.state, s.replacement.clone()))
        }
        _ => None,
    })
}

async fn until_state(tab: &mut TabClient, id: i64, state: SuggestionState) {
    tab.until(&format!("suggestion {id} {state:?}"), |t| {
        seen(t, id).is_some_and(|(s, _)| s == state)
    })
    .await;
}

async fn suggestions_are_shared_accepted_once_and_refused_when_stale(backend: Backend) {
    let ai = FakeAi::start().await;
    let server = TestServer::start_with(backend, with_ai(ai.base_url.clone(), "echo")).await;
    let team = server.team("Suggest", ["sue", "sid", "val"]).await;
    let (file, doc) = default_file(&team.owner, team.project).await;
    let url = server.ws_url(&format!("/ws?project={}", team.project));
    let mut tabs = Vec::new();
    for who in [&team.owner, &team.editor, &team.viewer] {
        let mut tab = TabClient::connect(&url, &who.cookie()).await.expect("tab");
        tab.open(doc).await;
        tabs.push(tab);
    }
    let end = tabs[0].text(doc).encode_utf16().count() as u32;
    tabs[0].insert(doc, end, CODE).await;
    assert!(tabs[0].wait_saved(doc, crate::common::WAIT).await);
    let range = pin(&tabs[0], doc, "function add(a, b) {\n  return a - b;\n}");

    // The owner asks for docs: every tab, the viewer's too, sees it written and open.
    let asked = team
        .owner
        .json_ok(
            "suggestions/ask",
            ask_body(team.project, file, "doc", &range),
        )
        .await;
    let id = asked["id"].as_i64().expect("id");
    assert_eq!(asked["state"], "writing");
    assert_eq!(
        asked["first_line"].as_i64(),
        asked["last_line"].as_i64().map(|l| l - 2)
    );
    for tab in &mut tabs {
        until_state(tab, id, SuggestionState::Open).await;
        let (_, replacement) = seen(tab, id).expect("seen");
        assert_eq!(replacement, format!("{SUGGESTED}\n{}", CODE.trim_end()));
    }
    {
        let sent = ai.fake.requests.lock().expect("lock");
        let prompt = sent.last().expect("asked")["messages"].to_string();
        assert!(prompt.contains("Add documentation comments"), "{prompt}");
        assert!(prompt.contains("return a - b;"), "{prompt}");
    }
    let listed = team
        .viewer
        .json_ok("suggestions/list", json!({ "project": team.project }))
        .await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["author_name"], "sue");

    // A viewer neither asks nor decides, and nothing is sent for them.
    let before = ai.fake.requests.lock().expect("lock").len();
    let refused = team
        .viewer
        .json(
            "suggestions/ask",
            ask_body(team.project, file, "fix", &range),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = team
        .viewer
        .json(
            "suggestions/accept",
            json!({ "project": team.project, "id": id }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(ai.fake.requests.lock().expect("lock").len(), before);

    // Two editors accept at once: one claim wins, the other is told who won.
    let body = json!({ "project": team.project, "id": id });
    let (a, b) = tokio::join!(
        team.owner.json("suggestions/accept", body.clone()),
        team.editor.json("suggestions/accept", body.clone()),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{} {}",
        a.body,
        b.body
    );
    let lost = if a.status == StatusCode::OK { &b } else { &a };
    assert!(
        lost.body.to_string().contains("already accepted"),
        "{}",
        lost.body
    );
    for tab in &mut tabs {
        until_state(tab, id, SuggestionState::Accepted).await;
    }
    let again = team.owner.json("suggestions/accept", body.clone()).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // A second suggestion on the same lines; the editor then types inside them. Accepting it
    // is refused, and everyone sees it stale.
    let second = team
        .editor
        .json_ok(
            "suggestions/ask",
            ask_body(team.project, file, "fix", &range),
        )
        .await;
    let second = second["id"].as_i64().expect("id");
    until_state(&mut tabs[1], second, SuggestionState::Open).await;
    let inside = tabs[1].text(doc).find("a - b").expect("present") as u32;
    tabs[1].insert(doc, inside, "0 + ").await;
    assert!(tabs[1].wait_saved(doc, crate::common::WAIT).await);
    let stale = team
        .owner
        .json(
            "suggestions/accept",
            json!({ "project": team.project, "id": second }),
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(
        stale.body.to_string().contains("no longer applies"),
        "{}",
        stale.body
    );
    until_state(&mut tabs[0], second, SuggestionState::Stale).await;
    // It can be dismissed; then nothing is left undecided.
    team.editor
        .json_ok(
            "suggestions/reject",
            json!({ "project": team.project, "id": second }),
        )
        .await;
    until_state(&mut tabs[2], second, SuggestionState::Rejected).await;
    let listed = team
        .owner
        .json_ok("suggestions/list", json!({ "project": team.project }))
        .await;
    assert_eq!(listed, json!([]));

    // Edits next to the lines do not make a suggestion stale: it moves with them.
    let range = pin(&tabs[0], doc, "function add(a, b) {");
    let third = team
        .owner
        .json_ok(
            "suggestions/ask",
            ask_body(team.project, file, "doc", &range),
        )
        .await["id"]
        .as_i64()
        .expect("id");
    until_state(&mut tabs[0], third, SuggestionState::Open).await;
    tabs[0].insert(doc, 0, "// header\n").await;
    assert!(tabs[0].wait_saved(doc, crate::common::WAIT).await);
    team.editor
        .json_ok(
            "suggestions/accept",
            json!({ "project": team.project, "id": third }),
        )
        .await;

    // A Refactor… needs its instruction; another project's people cannot see or decide.
    let mut no_words = ask_body(team.project, file, "refactor", &range);
    no_words["request"]["instruction"] = json!("  ");
    let refused = team.owner.json("suggestions/ask", no_words).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let outsider = server.client();
    outsider.signup("otto").await;
    let theirs = outsider.create_project("Elsewhere").await;
    let unknown = outsider
        .json("suggestions/reject", json!({ "project": theirs, "id": id }))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let foreign = outsider
        .json("suggestions/list", json!({ "project": team.project }))
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
}

/// One owner of a fresh project on SQLite, with [`CODE`] saved in its default file and a tab
/// on it; the provider answers as `model`.
struct Alone {
    ai: crate::common::ai::RunningAi,
    server: TestServer,
    owner: Api,
    project: i64,
    file: i64,
    doc: i64,
    tab: TabClient,
}

async fn alone(model: &'static str, name: &str) -> Alone {
    let ai = FakeAi::start().await;
    let server = TestServer::start_with(Backend::Sqlite, with_ai(ai.base_url.clone(), model)).await;
    let owner = server.client();
    owner.signup(name).await;
    let project = owner.create_project(name).await;
    let (file, doc) = default_file(&owner, project).await;
    let url = server.ws_url(&format!("/ws?project={project}"));
    let mut tab = TabClient::connect(&url, &owner.cookie())
        .await
        .expect("tab");
    tab.open(doc).await;
    tab.insert(doc, 0, CODE).await;
    assert!(tab.wait_saved(doc, crate::common::WAIT).await);
    Alone {
        ai,
        server,
        owner,
        project,
        file,
        doc,
        tab,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejecting_a_suggestion_being_written_closes_the_upstream_request() {
    let mut t = alone("hang", "hana").await;
    let range = pin(&t.tab, t.doc, "  return a - b;");
    let id = t
        .owner
        .json_ok(
            "suggestions/ask",
            ask_body(t.project, t.file, "fix", &range),
        )
        .await["id"]
        .as_i64()
        .expect("id");
    soon("the provider was asked", || {
        !t.ai.fake.requests.lock().expect("lock").is_empty()
    })
    .await;
    t.owner
        .json_ok(
            "suggestions/reject",
            json!({ "project": t.project, "id": id }),
        )
        .await;
    soon("the upstream request was closed", || {
        t.ai.fake.hung_up.load(Ordering::SeqCst)
    })
    .await;
    until_state(&mut t.tab, id, SuggestionState::Rejected).await;
}

/// Fix with AI from a failed run: no editor selection, only line numbers from the output; the
/// server pins them in its own copy, and the run's output goes to the provider.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fix_from_run_output_is_pinned_by_the_server() {
    let mut t = alone("echo", "finn").await;
    let body = |lines: Value| {
        json!({ "project": t.project, "request": {
            "file": t.file, "action": "fix", "instruction": null, "start": [], "end": [],
            "output": "Traceback (most recent call last):\nAssertionError: 1 - 2 != 3", "lines": lines,
        }})
    };
    let asked = t
        .owner
        .json_ok("suggestions/ask", body(json!([2, 2])))
        .await;
    assert_eq!(asked["original"], "  return a - b;");
    assert_eq!(
        (asked["first_line"].as_i64(), asked["last_line"].as_i64()),
        (Some(2), Some(2))
    );
    let id = asked["id"].as_i64().expect("id");
    until_state(&mut t.tab, id, SuggestionState::Open).await;
    {
        let sent = t.ai.fake.requests.lock().expect("lock");
        let prompt = sent.last().expect("asked")["messages"].to_string();
        assert!(prompt.contains("AssertionError: 1 - 2 != 3"), "{prompt}");
    }
    // Pinned like any other: an edit above moves it along, and it can be accepted.
    t.tab.insert(t.doc, 0, "// top\n").await;
    assert!(t.tab.wait_saved(t.doc, crate::common::WAIT).await);
    let claimed = t
        .owner
        .json(
            "suggestions/accept",
            json!({ "project": t.project, "id": id }),
        )
        .await;
    assert_eq!(claimed.status, StatusCode::OK, "{}", claimed.body);
    // Lines past the end are clamped to the file; no lines and no anchors is refused.
    let past = t
        .owner
        .json_ok("suggestions/ask", body(json!([3, 99])))
        .await;
    let original = past["original"].as_str().unwrap_or_default();
    // "// top" moved the function down a line.
    assert!(original.starts_with("  return a - b;\n}"), "{past}");
    assert_eq!(past["first_line"].as_i64(), Some(3));
    let none = t.owner.json("suggestions/ask", body(Value::Null)).await;
    assert_eq!(
        none.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        none.body
    );
    t.server.finish().await;
}

/// Owners turn a project's completions or assistant off (on this project only), and see what
/// the project's AI use came to; others see the switches but not the use, and cannot change
/// them.
async fn owners_switch_ai_per_project_and_see_its_use(backend: Backend) {
    use app::live::events::{ClientEvent, CompletionError};
    let ai = FakeAi::start().await;
    let server = TestServer::start_with(backend, with_ai(ai.base_url.clone(), "echo")).await;
    let team = server.team("Switch", ["ora", "ed", "vi"]).await;
    let (file, doc) = default_file(&team.owner, team.project).await;
    let url = server.ws_url(&format!("/ws?project={}", team.project));
    let mut tab = TabClient::connect(&url, &team.editor.cookie())
        .await
        .expect("tab");
    tab.open(doc).await;
    tab.insert(doc, 0, CODE).await;
    assert!(tab.wait_saved(doc, crate::common::WAIT).await);
    let p = team.project;
    let chat = |id: &str| {
        json!({ "project": p, "request": {
            "client_id": id, "text": "/ai hi", "task": { "task": "ask", "text": "hi" },
            "context": { "file": null, "line": null, "selection": null },
        }})
    };
    let complete = |id: u64| ClientEvent::Complete {
        id,
        doc: app::types::DocId(doc),
        prefix: "const x = ".into(),
        suffix: "\n".into(),
        language: "javascript".into(),
        path: "main.js".into(),
    };
    let answer = |t: &TabClient, want: u64| {
        t.events.iter().find_map(|e| match e {
            ServerEvent::Completion { id, text } if *id == want => Some(Ok(text.clone())),
            ServerEvent::CompletionFailed { id, error, message } if *id == want => {
                Some(Err((*error, message.clone())))
            }
            _ => None,
        })
    };

    // All on: one of each kind of use.
    team.editor.json_ok("chat/ask", chat("c1")).await;
    tab.event(&complete(1)).await;
    tab.until("completion 1", |t| answer(t, 1).is_some()).await;
    assert!(matches!(answer(&tab, 1), Some(Ok(_))));
    let range = pin(&tab, doc, "  return a - b;");
    let s = team
        .editor
        .json_ok("suggestions/ask", ask_body(p, file, "fix", &range))
        .await;
    until_state(
        &mut tab,
        s["id"].as_i64().expect("id"),
        SuggestionState::Open,
    )
    .await;
    tab.until("the chat answer finished", |t| {
        t.events.iter().any(|e| {
            matches!(e, ServerEvent::Chat { message } if message.ai.as_ref()
                .is_some_and(|a| a.state == app::chat::AiState::Done))
        })
    })
    .await;

    // The owner sees the use per kind (read straight after: nothing waits for the writer).
    let overview = team
        .owner
        .json_ok("ai/overview", json!({ "project": p }))
        .await;
    assert_eq!(
        overview["switches"],
        json!({ "completions": true, "assistant": true })
    );
    assert_eq!(overview["provider"], true);
    let usage = overview["usage"].as_array().expect("owners see the use");
    let kind = |k: &str| {
        usage
            .iter()
            .find(|u| u["kind"] == k)
            .unwrap_or_else(|| panic!("no {k} use in {usage:?}"))
    };
    for k in ["chat", "completion", "suggestion"] {
        assert_eq!(kind(k)["requests"], 1, "{k}");
        assert!(
            kind(k)["completion_tokens"].as_i64() > Some(0),
            "{k}: {usage:?}"
        );
    }
    // Others see the switches, not the use, and cannot change them.
    let theirs = team
        .editor
        .json_ok("ai/overview", json!({ "project": p }))
        .await;
    assert_eq!(theirs["usage"], Value::Null);
    let refused = team
        .editor
        .json(
            "ai/switches",
            json!({ "project": p, "switches": { "completions": false, "assistant": false } }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // Off: completions are refused as off, the assistant and code actions as unavailable, and
    // nothing more reaches the provider.
    team.owner
        .json_ok(
            "ai/switches",
            json!({ "project": p, "switches": { "completions": false, "assistant": false } }),
        )
        .await;
    let (chats, fills) = (
        ai.fake.requests.lock().expect("lock").len(),
        ai.fake.fills.lock().expect("lock").len(),
    );
    tab.event(&complete(2)).await;
    tab.until("completion 2", |t| answer(t, 2).is_some()).await;
    let (kind_off, why) = answer(&tab, 2).expect("answered").expect_err("refused");
    assert_eq!(kind_off, CompletionError::Off);
    assert!(
        why.contains("owners turned inline completions off"),
        "{why}"
    );
    let off = team.editor.json("chat/ask", chat("c2")).await;
    assert_eq!(off.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        off.body.to_string().contains("turned the assistant off"),
        "{}",
        off.body
    );
    let off = team
        .editor
        .json("suggestions/ask", ask_body(p, file, "fix", &range))
        .await;
    assert_eq!(off.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ai.fake.requests.lock().expect("lock").len(), chats);
    assert_eq!(ai.fake.fills.lock().expect("lock").len(), fills);
    let overview = team
        .owner
        .json_ok("ai/overview", json!({ "project": p }))
        .await;
    assert_eq!(
        overview["switches"],
        json!({ "completions": false, "assistant": false })
    );

    // Another project of the same people is not affected.
    let other = team.owner.create_project("Other").await;
    team.owner
        .json_ok(
            "chat/ask",
            json!({ "project": other, "request": {
                "client_id": "o1", "text": "/ai hi", "task": { "task": "ask", "text": "hi" },
                "context": { "file": null, "line": null, "selection": null },
            }}),
        )
        .await;
}

db_tests!(
    suggestions_are_shared_accepted_once_and_refused_when_stale,
    owners_switch_ai_per_project_and_see_its_use,
);
