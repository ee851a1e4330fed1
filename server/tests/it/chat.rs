//! Project chat end to end against a real server: live delivery to every tab in server order,
//! idempotent retries, pagination, who may edit and delete, viewers chatting, strangers kept
//! out, limits, typing indicators, and the AI assistant streaming from a provider started in
//! the test (tokens, stop, timeout, provider errors, no provider).

use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use crate::common::{
    Api, Backend, TestServer,
    ai::{FakeAi, TOKENS},
    soon,
    tab::TabClient,
};
use app::live::events::{ClientEvent, ServerEvent};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Pumps a tab until `done` holds for its events, or fails after `within`.
async fn until(tab: &mut TabClient, within: Duration, done: impl Fn(&[ServerEvent]) -> bool) {
    let deadline = Instant::now() + within;
    while !done(&tab.events) {
        assert!(
            Instant::now() < deadline,
            "timed out; events: {:#?}",
            tab.events
        );
        tab.pump(Duration::from_millis(50)).await;
    }
}

fn chats(tab: &TabClient) -> Vec<(i64, String)> {
    tab.events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Chat { message } => Some((message.id.0, message.body.clone())),
            _ => None,
        })
        .collect()
}

/// The tab has heard that answer `id` finished (done, stopped or failed).
fn finished(events: &[ServerEvent], id: i64) -> bool {
    events.iter().any(
        |e| matches!(e, ServerEvent::Chat { message } if message.id.0 == id && !message.is_streaming()),
    )
}

/// The final state of an answer as a tab last heard it.
fn answer_state(tab: &TabClient, id: i64) -> Option<(String, String, Option<String>)> {
    tab.events.iter().rev().find_map(|e| match e {
        ServerEvent::Chat { message } if message.id.0 == id => {
            let ai = message.ai.as_ref()?;
            let state = serde_json::to_value(ai.state).ok()?.as_str()?.to_owned();
            Some((state, message.body.clone(), ai.error.clone()))
        }
        _ => None,
    })
}

async fn send(api: &Api, project: i64, client_id: &str, body: &str) -> crate::common::Reply {
    api.json(
        "chat/send",
        json!({ "project": project, "client_id": client_id, "body": body, "reply_to": null }),
    )
    .await
}

async fn history(api: &Api, project: i64, before: Option<i64>, after: Option<i64>) -> Value {
    api.json_ok(
        "chat/history",
        json!({ "project": project, "before": before, "after": after }),
    )
    .await
}

fn ids(page: &Value) -> Vec<i64> {
    page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["id"].as_i64().expect("id"))
        .collect()
}

struct Team {
    server: TestServer,
    owner: Api,
    editor: Api,
    viewer: Api,
    project: i64,
}

async fn team(backend: Backend, tweak: impl FnOnce(&mut server::config::Config)) -> Team {
    let server = TestServer::start_with(backend, tweak).await;
    let crate::common::Team {
        owner,
        editor,
        viewer,
        project,
        ..
    } = server.team("Chatty", ["olive", "eddie", "vera"]).await;
    Team {
        server,
        owner,
        editor,
        viewer,
        project,
    }
}

async fn tab(t: &Team, api: &Api) -> TabClient {
    let url = t.server.ws_url(&format!("/ws?project={}", t.project));
    let mut tab = TabClient::connect(&url, &api.cookie()).await.expect("tab");
    tab.pump(Duration::from_millis(100)).await;
    tab
}

async fn messages_reach_every_tab_in_order(backend: Backend) {
    let t = team(backend, |_| {}).await;
    let mut a = tab(&t, &t.owner).await;
    let mut b = tab(&t, &t.viewer).await;
    for (i, who) in [&t.owner, &t.editor, &t.viewer].iter().enumerate() {
        let r = send(who, t.project, &format!("m{i}"), &format!("**hello** {i}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(
            r.body["html"],
            format!("<p><strong>hello</strong> {i}</p>\n")
        );
    }
    for tab in [&mut a, &mut b] {
        until(tab, Duration::from_secs(5), |e| {
            e.iter()
                .filter(|e| matches!(e, ServerEvent::Chat { .. }))
                .count()
                >= 3
        })
        .await;
        let got = chats(tab);
        let bodies: Vec<&str> = got.iter().map(|(_, b)| b.as_str()).collect();
        assert_eq!(bodies, ["**hello** 0", "**hello** 1", "**hello** 2"]);
        assert!(
            got.windows(2).all(|w| w[0].0 < w[1].0),
            "ids follow the order"
        );
    }
    // The history agrees, oldest first, with authors.
    let page = history(&t.viewer, t.project, None, None).await;
    assert_eq!(page["more"], false);
    let authors: Vec<&str> = page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["author"]["name"].as_str().expect("name"))
        .collect();
    assert_eq!(authors, ["olive", "eddie", "vera"]);
    t.server.finish().await;
}

async fn a_retried_send_is_stored_once(backend: Backend) {
    let t = team(backend, |_| {}).await;
    let mut watcher = tab(&t, &t.editor).await;
    let first = send(&t.owner, t.project, "retry-1", "only once").await;
    let again = send(&t.owner, t.project, "retry-1", "only once").await;
    assert_eq!(first.body["id"], again.body["id"]);
    // Another author may use the same client id: it is theirs.
    let other = send(&t.editor, t.project, "retry-1", "mine").await;
    assert_ne!(other.body["id"], first.body["id"]);
    assert_eq!(
        ids(&history(&t.owner, t.project, None, None).await).len(),
        2
    );
    watcher.pump(Duration::from_millis(200)).await;
    assert_eq!(chats(&watcher).len(), 2, "the retry is not announced again");
    for bad in ["", "has space", "a:b", &"x".repeat(80)] {
        let r = send(&t.owner, t.project, bad, "x").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
    }
    t.server.finish().await;
}

async fn history_pages_by_cursor(backend: Backend) {
    let t = team(backend, |c| c.chat.chat_messages_per_minute = 1_000).await;
    let mut sent = Vec::new();
    for i in 0..120 {
        let r = send(&t.editor, t.project, &format!("p{i}"), &format!("n{i}")).await;
        sent.push(r.body["id"].as_i64().expect("id"));
    }
    let newest = history(&t.owner, t.project, None, None).await;
    assert_eq!(ids(&newest), sent[70..]);
    assert_eq!(newest["more"], true);
    let older = history(&t.owner, t.project, Some(sent[70]), None).await;
    assert_eq!(ids(&older), sent[20..70]);
    assert_eq!(older["more"], true);
    let oldest = history(&t.owner, t.project, Some(sent[20]), None).await;
    assert_eq!(ids(&oldest), sent[..20]);
    assert_eq!(oldest["more"], false);
    // Catching up after a reconnect: what came after a known id, oldest first.
    let after = history(&t.owner, t.project, None, Some(sent[110])).await;
    assert_eq!(ids(&after), sent[111..]);
    assert_eq!(after["more"], false);
    let many = history(&t.owner, t.project, None, Some(sent[0])).await;
    assert_eq!(ids(&many), sent[1..51]);
    assert_eq!(many["more"], true, "more than a page missed: reload");
    t.server.finish().await;
}

async fn edit_and_delete_permissions(backend: Backend) {
    let t = team(backend, |_| {}).await;
    let mut watcher = tab(&t, &t.viewer).await;
    let mine = send(&t.editor, t.project, "e1", "typo hree").await.body;
    let id = mine["id"].as_i64().expect("id");
    let project = t.project;
    async fn edit_as(who: &Api, project: i64, id: i64, body: &str) -> crate::common::Reply {
        who.json(
            "chat/edit",
            json!({ "project": project, "id": id, "body": body }),
        )
        .await
    }
    async fn delete_as(who: &Api, project: i64, id: i64) -> crate::common::Reply {
        who.json("chat/delete", json!({ "project": project, "id": id }))
            .await
    }
    // Only the author edits.
    assert_eq!(
        edit_as(&t.owner, project, id, "x").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        edit_as(&t.viewer, project, id, "x").await.status,
        StatusCode::FORBIDDEN
    );
    let edited = edit_as(&t.editor, project, id, "typo here").await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    assert_eq!(edited.body["body"], "typo here");
    assert!(edited.body["edited_at"].is_i64());
    until(&mut watcher, Duration::from_secs(5), |e| {
        e.iter()
            .any(|e| matches!(e, ServerEvent::Chat { message } if message.edited_at.is_some()))
    })
    .await;
    // A viewer may chat, and delete only their own messages.
    let v = send(&t.viewer, t.project, "v1", "viewers can chat").await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.body);
    assert_eq!(
        delete_as(&t.viewer, project, id).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        delete_as(&t.editor, project, v.body["id"].as_i64().expect("id"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let gone = delete_as(&t.viewer, project, v.body["id"].as_i64().expect("id")).await;
    assert_eq!(gone.status, StatusCode::OK);
    assert_eq!(
        (gone.body["deleted"].clone(), gone.body["body"].clone()),
        (json!(true), json!(""))
    );
    // Owners moderate: they may delete anyone's message.
    assert_eq!(
        delete_as(&t.owner, project, id).await.status,
        StatusCode::OK
    );
    assert_eq!(
        edit_as(&t.editor, project, id, "too late").await.status,
        StatusCode::CONFLICT
    );
    // Unknown ids and other projects' messages are not found.
    assert_eq!(
        delete_as(&t.owner, project, 999_999).await.status,
        StatusCode::NOT_FOUND
    );
    let other = t.owner.create_project("Other").await;
    let elsewhere = send(&t.owner, other, "o1", "elsewhere").await.body["id"]
        .as_i64()
        .expect("id");
    let cross = t
        .owner
        .json(
            "chat/delete",
            json!({ "project": t.project, "id": elsewhere }),
        )
        .await;
    assert_eq!(cross.status, StatusCode::NOT_FOUND);
    let page = history(&t.owner, t.project, None, None).await;
    let deleted: Vec<bool> = page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["deleted"].as_bool().expect("deleted"))
        .collect();
    assert_eq!(deleted, [true, true], "deleted messages stay as markers");
    t.server.finish().await;
}

async fn strangers_cannot_read_or_write(backend: Backend) {
    let t = team(backend, |_| {}).await;
    send(&t.owner, t.project, "s1", "secret plans").await;
    let stranger = t.server.client();
    stranger.signup("sam").await;
    let anonymous = t.server.client();
    let read = json!({ "project": t.project, "before": null, "after": null });
    assert_eq!(
        stranger.json("chat/history", read.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        anonymous.json("chat/history", read).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&stranger, t.project, "x1", "hi").await.status,
        StatusCode::FORBIDDEN
    );
    let missing = json!({ "project": 999_999, "before": null, "after": null });
    assert_eq!(
        stranger.json("chat/history", missing).await.status,
        StatusCode::NOT_FOUND
    );
    // Malformed requests are refused with a clear error, and nothing is stored.
    let junk = t
        .owner
        .json("chat/send", json!({ "project": t.project, "body": 7 }))
        .await;
    assert_eq!(
        junk.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        junk.body
    );
    assert_eq!(
        ids(&history(&t.owner, t.project, None, None).await).len(),
        1
    );
    t.server.finish().await;
}

async fn limits_have_clear_errors(backend: Backend) {
    let t = team(backend, |c| {
        c.chat.chat_max_message_bytes = 100;
        c.chat.chat_messages_per_minute = 3;
    })
    .await;
    let big = send(&t.owner, t.project, "big", &"x".repeat(101)).await;
    assert_eq!(big.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        big.message().contains("limited to 100 bytes"),
        "{}",
        big.body
    );
    let blank = send(&t.owner, t.project, "blank", " \n\t ").await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    for i in 0..3 {
        let r = send(&t.owner, t.project, &format!("r{i}"), "ok").await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let limited = send(&t.owner, t.project, "r3", "too fast").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        limited.body["RateLimited"]["retry_after_secs"]
            .as_u64()
            .is_some_and(|s| s >= 1)
    );
    // Per user: someone else can still talk, and a retry of a stored message is free.
    assert_eq!(
        send(&t.editor, t.project, "e", "me too").await.status,
        StatusCode::OK
    );
    assert_eq!(
        send(&t.owner, t.project, "r0", "ok").await.status,
        StatusCode::OK
    );
    t.server.finish().await;
}

async fn typing_is_relayed_and_throttled(backend: Backend) {
    let t = team(backend, |_| {}).await;
    let mut typist = tab(&t, &t.editor).await;
    let mut reader = tab(&t, &t.viewer).await;
    for _ in 0..5 {
        typist.event(&ClientEvent::Typing { active: true }).await;
    }
    typist.event(&ClientEvent::Typing { active: false }).await;
    reader.pump(Duration::from_millis(300)).await;
    let typing: Vec<(String, bool)> = reader
        .events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Typing { name, active, .. } => Some((name.clone(), *active)),
            _ => None,
        })
        .collect();
    assert_eq!(
        typing,
        [("eddie".to_owned(), true), ("eddie".to_owned(), false)]
    );
    t.server.finish().await;
}

async fn messages_render_inert(backend: Backend) {
    let t = team(backend, |_| {}).await;
    let r = send(
        &t.owner,
        t.project,
        "x1",
        "<script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3)) @eddie",
    )
    .await;
    let html = r.body["html"].as_str().expect("html");
    for bad in ["<script", "<img", "href=\"javascript", "onerror=alert(2)>"] {
        assert!(!html.contains(bad), "{bad} in {html}");
    }
    assert!(
        html.contains("<span class=\"mention\">@eddie</span>"),
        "{html}"
    );
    let eddie = r.body["mentions"][0].as_i64();
    assert!(eddie.is_some(), "{}", r.body);
    t.server.finish().await;
}

async fn ask(
    api: &Api,
    project: i64,
    client_id: &str,
    task: Value,
    context: Value,
) -> crate::common::Reply {
    api.json(
        "chat/ask",
        json!({ "project": project, "request": {
            "client_id": client_id, "text": "/ai question", "task": task, "context": context,
        }}),
    )
    .await
}

fn no_context() -> Value {
    json!({ "file": null, "line": null, "selection": null })
}

async fn with_model(backend: Backend, base: &str, model: &str, timeout: u64) -> Team {
    let (base, model) = (base.to_owned(), model.to_owned());
    team(backend, move |c| {
        c.chat.ai_base_url = Some(base);
        c.chat.ai_model = Some(model);
        c.chat.ai_api_key = Some("sk-test".into());
        c.chat.ai_timeout_secs = timeout;
    })
    .await
}

async fn ai_answers_stream_to_everyone(backend: Backend) {
    let ai = FakeAi::start().await;
    let t = with_model(backend, &ai.base_url, "echo", 10).await;
    let mut watcher = tab(&t, &t.viewer).await;
    // Put some text in a file for context.
    let file = t
        .owner
        .ok(
            "editor/default_file",
            &[("project", &t.project.to_string())],
        )
        .await;
    let (file_id, doc) = (
        file["file"].as_i64().expect("file"),
        file["doc"].as_i64().expect("doc"),
    );
    let mut writer = tab(&t, &t.owner).await;
    writer.open(doc).await;
    writer
        .insert(doc, 0, "fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n")
        .await;
    assert!(writer.wait_saved(doc, Duration::from_secs(5)).await);

    let reply = ask(
        &t.editor,
        t.project,
        "q1",
        json!({ "task": "review" }),
        json!({ "file": file_id, "line": 2, "selection": "a - b" }),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let asked = crate::audit::entry(&t.owner, t.project, "ai_request").await;
    assert_eq!(asked["actor_name"], "eddie");
    let answer = reply.body["answer"]["id"].as_i64().expect("answer id");
    assert_eq!(reply.body["question"]["body"], "/ai question");
    assert_eq!(reply.body["answer"]["ai"]["state"], "streaming");
    until(&mut watcher, Duration::from_secs(10), |e| {
        finished(e, answer)
    })
    .await;
    let deltas: String = watcher
        .events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::ChatDelta { id, text } if id.0 == answer => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(deltas, TOKENS.concat(), "every token reached the viewer");
    let (state, body, error) = answer_state(&watcher, answer).expect("final");
    assert_eq!(
        (state.as_str(), body.as_str(), error),
        ("done", TOKENS.concat().as_str(), None)
    );
    // The provider got the key, the model, the file around the cursor and the selection.
    let requests = ai.fake.requests.lock().expect("lock").clone();
    assert_eq!(
        ai.fake.auth.lock().expect("lock").as_deref(),
        Some("Bearer sk-test")
    );
    let prompt = requests[0].to_string();
    assert_eq!(requests[0]["stream"], true);
    assert!(prompt.contains("README.md"), "{prompt}");
    assert!(prompt.contains("a - b"), "{prompt}");
    assert!(prompt.contains("Review the selected code"), "{prompt}");
    // The stored answer survives a reload of the history.
    let page = history(&t.owner, t.project, None, None).await;
    let stored = page["messages"]
        .as_array()
        .expect("messages")
        .last()
        .cloned()
        .expect("answer");
    assert_eq!(stored["body"], TOKENS.concat());
    assert!(
        stored["html"]
            .as_str()
            .is_some_and(|h| h.contains("Hello from"))
    );
    // Regenerate replaces the answer with a fresh stream.
    let again = t
        .owner
        .json(
            "chat/regenerate",
            json!({ "project": t.project, "id": answer }),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    watcher.events.clear();
    until(&mut watcher, Duration::from_secs(10), |e| {
        finished(e, answer)
    })
    .await;
    assert_eq!(
        answer_state(&watcher, answer).map(|a| a.1),
        Some(TOKENS.concat())
    );
    // A viewer may not regenerate someone else's answer.
    let refused = t
        .viewer
        .json(
            "chat/regenerate",
            json!({ "project": t.project, "id": answer }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // A retried ask returns the same question and answer.
    let retry = ask(
        &t.editor,
        t.project,
        "q1",
        json!({ "task": "review" }),
        no_context(),
    )
    .await;
    assert_eq!(retry.body["answer"]["id"], answer);
    assert_eq!(
        ai.fake.requests.lock().expect("lock").len(),
        2,
        "no third upstream call"
    );
    t.server.finish().await;
}

async fn ai_stop_closes_the_upstream_request(backend: Backend) {
    let ai = FakeAi::start().await;
    let t = with_model(backend, &ai.base_url, "hang", 30).await;
    let mut watcher = tab(&t, &t.owner).await;
    // Nothing leaves the server for a viewer.
    let refused = ask(
        &t.viewer,
        t.project,
        "h0",
        json!({ "task": "ask", "text": "hi" }),
        no_context(),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(ai.fake.requests.lock().expect("lock").is_empty());
    let reply = ask(
        &t.owner,
        t.project,
        "h1",
        json!({ "task": "ask", "text": "hi" }),
        no_context(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let answer = reply.body["answer"]["id"].as_i64().expect("id");
    until(&mut watcher, Duration::from_secs(5), |e| {
        e.iter()
            .any(|e| matches!(e, ServerEvent::ChatDelta { id, .. } if id.0 == answer))
    })
    .await;
    // Mid-stream, the history shows the text so far.
    let page = history(&t.owner, t.project, None, None).await;
    assert_eq!(page["messages"][1]["body"], "Partial");
    // Editors may stop anyone's answer (the owner asked this one).
    let stop = t
        .editor
        .json("chat/stop", json!({ "project": t.project, "id": answer }))
        .await;
    assert_eq!(stop.status, StatusCode::OK, "{}", stop.body);
    until(&mut watcher, Duration::from_secs(5), |e| {
        finished(e, answer)
    })
    .await;
    let (state, body, _) = answer_state(&watcher, answer).expect("final");
    assert_eq!((state.as_str(), body.as_str()), ("stopped", "Partial"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ai.fake.hung_up.load(Ordering::SeqCst) {
        assert!(
            Instant::now() < deadline,
            "the upstream request stayed open"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t.server.finish().await;
}

async fn ai_failures_are_shown_in_the_chat(backend: Backend) {
    let ai = FakeAi::start().await;
    // A closed port: nothing listens there.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}/v1", l.local_addr().expect("addr"))
    };
    let cases = [
        (
            ai.base_url.as_str(),
            "silent",
            "did not answer within 1 seconds",
        ),
        (ai.base_url.as_str(), "unauthorized", "HTTP 401"),
        (ai.base_url.as_str(), "ratelimit", "rate-limiting"),
        // The provider's own words stay in the server log (finding 9: they may name hosts).
        (
            ai.base_url.as_str(),
            "broken",
            "The AI provider answered HTTP 500.",
        ),
        (closed.as_str(), "echo", "Could not reach the AI provider"),
        (ai.base_url.as_str(), "json", ""),
    ];
    for (base, model, want) in cases {
        let t = with_model(backend, base, model, 1).await;
        let mut watcher = tab(&t, &t.owner).await;
        let reply = ask(
            &t.owner,
            t.project,
            "f1",
            json!({ "task": "explain" }),
            no_context(),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{model}: {}", reply.body);
        let answer = reply.body["answer"]["id"].as_i64().expect("id");
        until(&mut watcher, Duration::from_secs(10), |e| {
            finished(e, answer)
        })
        .await;
        let (state, body, error) = answer_state(&watcher, answer).expect("final");
        if want.is_empty() {
            assert_eq!(
                (state.as_str(), body.as_str()),
                ("done", "One piece."),
                "{model}"
            );
        } else {
            assert_eq!(state, "failed", "{model}");
            let error = error.unwrap_or_default();
            assert!(error.contains(want), "{model}: {error}");
            assert!(
                !error.contains("127.0.0.1") && !error.contains("model crashed"),
                "provider details reached the members: {error}"
            );
        }
        t.server.finish().await;
    }
}

async fn without_a_provider_ai_explains_how(backend: Backend) {
    let t = team(backend, |c| c.chat.ai_requests_per_minute = 1).await;
    let r = ask(
        &t.owner,
        t.project,
        "n1",
        json!({ "task": "explain" }),
        no_context(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        r.body["Unavailable"]
            .as_str()
            .is_some_and(|m| m.contains("--ai-base-url")),
        "{}",
        r.body
    );
    // Nothing was posted, and chat still works.
    assert!(ids(&history(&t.owner, t.project, None, None).await).is_empty());
    assert_eq!(
        send(&t.owner, t.project, "n2", "still here").await.status,
        StatusCode::OK
    );
    t.server.finish().await;
}

async fn ai_requests_are_rate_limited(backend: Backend) {
    let ai = FakeAi::start().await;
    let base = ai.base_url.clone();
    let t = team(backend, move |c| {
        c.chat.ai_base_url = Some(base);
        c.chat.ai_model = Some("echo".into());
        c.chat.ai_requests_per_minute = 1;
    })
    .await;
    let first = ask(
        &t.owner,
        t.project,
        "a1",
        json!({ "task": "doc" }),
        no_context(),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK);
    let second = ask(
        &t.owner,
        t.project,
        "a2",
        json!({ "task": "doc" }),
        no_context(),
    )
    .await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS);
    let other = ask(
        &t.editor,
        t.project,
        "a3",
        json!({ "task": "doc" }),
        no_context(),
    )
    .await;
    assert_eq!(other.status, StatusCode::OK);
    // A file of another project is not context anyone may read.
    let elsewhere = t.owner.create_project("Private").await;
    let f = t
        .owner
        .ok(
            "editor/default_file",
            &[("project", &elsewhere.to_string())],
        )
        .await;
    // (Asked by an editor who still has allowance left: viewers may not ask at all.)
    let fresh = t.server.client();
    fresh.signup("fay").await;
    t.owner.invite(t.project, "fay", "editor").await;
    let sneaky = ask(
        &fresh,
        t.project,
        "a4",
        json!({ "task": "explain" }),
        json!({ "file": f["file"], "line": 1, "selection": null }),
    )
    .await;
    assert_eq!(sneaky.status, StatusCode::NOT_FOUND, "{}", sneaky.body);
    t.server.finish().await;
}

async fn ai_requests_are_limited_per_project_too(backend: Backend) {
    let ai = FakeAi::start().await;
    let base = ai.base_url.clone();
    let t = team(backend, move |c| {
        c.chat.ai_base_url = Some(base);
        c.chat.ai_model = Some("echo".into());
        c.chat.ai_requests_per_minute_per_project = 2;
    })
    .await;
    let doc = || json!({ "task": "doc" });
    for (who, id) in [(&t.owner, "p1"), (&t.editor, "p2")] {
        let r = ask(who, t.project, id, doc(), no_context()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    // A third request is within its asker's own allowance, but the project's is spent.
    let third = ask(&t.owner, t.project, "p3", doc(), no_context()).await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(third.error_kind(), "TooMany");
    assert!(
        third
            .message()
            .contains("at most 2 requests a minute in one project"),
        "{}",
        third.body
    );
    // Another project has its own.
    let elsewhere = t.owner.create_project("Elsewhere").await;
    let r = ask(&t.owner, elsewhere, "p4", doc(), no_context()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let metrics = t.server.metrics().await;
    assert!(
        metrics
            .contains(r#"tandem_limit_refusals_total{limit="ai-requests-per-minute-per-project"}"#),
        "{metrics}"
    );
    t.server.finish().await;
}

/// The id of the file at `path` in `project`.
async fn file_id(api: &Api, project: i64, name: &str) -> i64 {
    let list = api
        .json_ok("files/list", json!({ "project": project }))
        .await;
    list.as_array()
        .and_then(|l| l.iter().find(|f| f["name"] == name))
        .and_then(|f| f["id"].as_i64())
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

async fn imported(api: &Api, name: &str, files: &[(&str, &[u8])]) -> i64 {
    let res = crate::files::upload(api, name, crate::files::zip_of(files)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    res.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap_or_default()
        .trim_start_matches("/p/")
        .parse()
        .expect("the new project")
}

async fn the_assistant_looks_up_its_own_project_and_cites_it(backend: Backend) {
    let ai = FakeAi::start().await;
    let t = with_model(backend, &ai.base_url, "echo", 10).await;
    let helpers: Vec<(String, String)> = (1..=6)
        .map(|i| (format!("h{i}.js"), format!("sharedHelper({i});\n")))
        .collect();
    let mut ours: Vec<(&str, &[u8])> = vec![
        (
            "src/util.js",
            b"// helpers\nexport function parseConfig(text) {\n  return JSON.parse(text);\n}\n",
        ),
        ("src/app.js", b"const c = parseConfig(input);\n"),
        ("notes.md", b"# Notes A\nShip on Friday.\n"),
    ];
    ours.extend(helpers.iter().map(|(n, t)| (n.as_str(), t.as_bytes())));
    let p = imported(&t.owner, "Looked", &ours).await;
    // Someone else's project has the same names, and a secret.
    let theirs: [(&str, &[u8]); 2] = [
        ("notes.md", b"# Notes B\nTOP-SECRET-B\n"),
        (
            "lib.js",
            b"function parseConfig() { return 'TOP-SECRET-B'; }\n",
        ),
    ];
    imported(&t.viewer, "Theirs", &theirs).await;

    let app_js = file_id(&t.owner, p, "app.js").await;
    let util_js = file_id(&t.owner, p, "util.js").await;
    let reply = ask(
        &t.owner,
        p,
        "look1",
        json!({ "task": "ask", "text": "Where is `parseConfig` defined? What is in notes.md? And sharedHelper?" }),
        json!({ "file": app_js, "line": 1, "selection": "parseConfig(input)", "lines": [1, 1] }),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let ai_info = &reply.body["answer"]["ai"];
    let sources: Vec<(String, i64, i64, String)> = ai_info["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap_or_default().to_owned(),
                s["first"].as_i64().unwrap_or_default(),
                s["last"].as_i64().unwrap_or_default(),
                format!(
                    "{}{}",
                    s["why"]["kind"].as_str().unwrap_or_default(),
                    s["why"]["term"]
                        .as_str()
                        .map(|t| format!(":{t}"))
                        .unwrap_or_default()
                ),
            )
        })
        .collect();
    let has = |path: &str, why: &str| sources.iter().any(|s| s.0 == path && s.3 == why);
    assert!(has("src/app.js", "open"), "{sources:?}");
    assert!(has("src/app.js", "selection"), "{sources:?}");
    assert!(has("notes.md", "named"), "{sources:?}");
    // The definition, not only a use: lines from above line 2 of util.js through its end.
    let def = sources
        .iter()
        .find(|s| s.0 == "src/util.js")
        .expect("the definition's file");
    assert_eq!((def.1, def.3.as_str()), (1, "match:parseConfig"));
    assert!(def.2 >= 4, "{def:?}");
    // Links open files of this project only.
    let ids: Vec<i64> = ai_info["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .filter_map(|s| s["file"].as_i64())
        .collect();
    assert!(ids.contains(&util_js) && ids.contains(&app_js));
    // Six files mention sharedHelper; four are shown and the rest is said to be left out.
    let cut = ai_info["cut"].as_str().expect("a cut is said");
    assert!(
        cut.contains("2 more files that mention `sharedHelper`"),
        "{cut}"
    );

    soon("the provider got the question", || {
        !ai.fake.requests.lock().expect("lock").is_empty()
    })
    .await;
    let prompt = ai.fake.requests.lock().expect("lock")[0].to_string();
    assert!(
        prompt.contains("export function parseConfig(text)"),
        "{prompt}"
    );
    assert!(prompt.contains("# Notes A"), "{prompt}");
    assert!(
        prompt.contains("(searched for `parseConfig`, `sharedHelper`)"),
        "{prompt}"
    );
    assert!(
        !prompt.contains("TOP-SECRET-B"),
        "another project's text reached the prompt"
    );
    assert!(
        prompt.contains("more files that mention"),
        "the assistant is told: {prompt}"
    );

    // The links survive a reload of the history.
    let page = history(&t.owner, p, None, None).await;
    let stored = page["messages"]
        .as_array()
        .and_then(|m| m.last())
        .cloned()
        .expect("answer");
    assert_eq!(stored["ai"]["sources"], ai_info["sources"]);
    assert_eq!(stored["ai"]["cut"], ai_info["cut"]);

    // A code action is not a search: Explain shows the file and the selection only.
    let explain = ask(
        &t.owner,
        p,
        "look2",
        json!({ "task": "explain" }),
        json!({ "file": util_js, "line": 2, "selection": "parseConfig", "lines": [2, 2] }),
    )
    .await;
    let whys: Vec<&str> = explain.body["answer"]["ai"]["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .filter_map(|s| s["why"]["kind"].as_str())
        .collect();
    assert_eq!(whys, ["open", "selection"]);
    assert_eq!(explain.body["answer"]["ai"]["cut"], Value::Null);
    soon("both answers were asked for", || {
        ai.fake.requests.lock().expect("lock").len() >= 2
    })
    .await;
    t.server.finish().await;
}

db_tests!(
    messages_reach_every_tab_in_order,
    a_retried_send_is_stored_once,
    history_pages_by_cursor,
    edit_and_delete_permissions,
    strangers_cannot_read_or_write,
    limits_have_clear_errors,
    typing_is_relayed_and_throttled,
    messages_render_inert,
    ai_answers_stream_to_everyone,
    the_assistant_looks_up_its_own_project_and_cites_it,
    ai_stop_closes_the_upstream_request,
    ai_failures_are_shown_in_the_chat,
    without_a_provider_ai_explains_how,
    ai_requests_are_rate_limited,
    ai_requests_are_limited_per_project_too,
);
