//! Inline completions (issue 18) over the tab socket, against the stand-in provider: requests
//! are debounced on the server and a superseded one is dropped upstream; a viewer is refused
//! without anything leaving the server; the allowances per person and per project and the cap
//! on requests in flight hold; both provider endpoints (chat and fill-in-the-middle) work.

use std::sync::atomic::Ordering;

use app::{
    live::events::{ClientEvent, CompletionError, ServerEvent},
    types::DocId,
};
use server::{chat::ai::fill::Endpoint, config::Config};

use crate::common::{
    Api, Backend, TestServer,
    ai::{FILL, FakeAi},
    soon,
    tab::TabClient,
};

async fn default_doc(api: &Api, project: i64) -> i64 {
    let f = api
        .ok("editor/default_file", &[("project", &project.to_string())])
        .await;
    f["doc"].as_i64().expect("default file")
}

fn ask(id: u64, doc: i64, prefix: &str) -> ClientEvent {
    ClientEvent::Complete {
        id,
        doc: DocId(doc),
        prefix: prefix.to_owned(),
        suffix: "\n".to_owned(),
        language: "javascript".to_owned(),
        path: "main.js".to_owned(),
    }
}

/// A new person's own project, open in a tab of theirs: the tab and the default document.
async fn own_tab(server: &TestServer, name: &str, project: &str) -> (TabClient, i64) {
    let owner = server.client();
    owner.signup(name).await;
    let project = owner.create_project(project).await;
    let doc = default_doc(&owner, project).await;
    let url = server.ws_url(&format!("/ws?project={project}"));
    let mut tab = TabClient::connect(&url, &owner.cookie())
        .await
        .expect("tab");
    tab.open(doc).await;
    (tab, doc)
}

/// The answer to completion `id`, once it arrived.
fn answer(t: &TabClient, id: u64) -> Option<Result<String, CompletionError>> {
    t.events.iter().find_map(|e| match e {
        ServerEvent::Completion { id: i, text } if *i == id => Some(Ok(text.clone())),
        ServerEvent::CompletionFailed { id: i, error, .. } if *i == id => Some(Err(*error)),
        _ => None,
    })
}

async fn answered(t: &mut TabClient, id: u64) -> Result<String, CompletionError> {
    t.until(&format!("the answer to completion {id}"), |t| {
        answer(t, id).is_some()
    })
    .await;
    answer(t, id).expect("answered")
}

fn with_ai(base: String, tweak: impl FnOnce(&mut Config)) -> impl FnOnce(&mut Config) {
    move |c: &mut Config| {
        c.chat.ai_base_url = Some(base);
        c.chat.ai_model = Some("echo".into());
        // Long enough that a request sent right after another always lands inside it.
        c.assist.ai_completion_debounce_ms = 300;
        tweak(c);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_are_debounced_superseded_and_for_editors_only() {
    let ai = FakeAi::start().await;
    let server =
        TestServer::start_with(Backend::Sqlite, with_ai(ai.base_url.clone(), |_| {})).await;
    let team = server.team("Ghost", ["gia", "hal", "ivo"]).await;
    let doc = default_doc(&team.owner, team.project).await;
    let url = server.ws_url(&format!("/ws?project={}", team.project));
    let mut editor = TabClient::connect(&url, &team.editor.cookie())
        .await
        .expect("editor");
    editor.open(doc).await;

    // Three requests in a burst: only the last reaches the provider, and only it is answered.
    for (id, prefix) in [(1, "con"), (2, "cons"), (3, "const x = ")] {
        editor.event(&ask(id, doc, prefix)).await;
    }
    assert_eq!(answered(&mut editor, 3).await, Ok(FILL.to_owned()));
    assert_eq!(answer(&editor, 1), None);
    assert_eq!(answer(&editor, 2), None);
    {
        let fills = ai.fake.fills.lock().expect("lock");
        assert_eq!(fills.len(), 1, "{fills:?}");
        let sent = fills[0]["messages"][1]["content"].to_string();
        assert!(sent.contains("const x = <CURSOR>"), "{sent}");
        assert!(sent.contains("main.js"), "{sent}");
    }

    // One that reached the provider and is superseded is dropped there (its connection
    // closes), and the newer one is answered.
    editor.event(&ask(4, doc, "HANG")).await;
    soon("request 4 reached the provider", || {
        ai.fake.fills.lock().expect("lock").len() >= 2
    })
    .await;
    editor.event(&ask(5, doc, "let y = ")).await;
    assert_eq!(answered(&mut editor, 5).await, Ok(FILL.to_owned()));
    soon("the superseded request was closed upstream", || {
        ai.fake.fill_hang_ups.load(Ordering::SeqCst) >= 1
    })
    .await;
    assert_eq!(answer(&editor, 4), None);
    // Cancelling works the same way.
    editor.event(&ask(6, doc, "HANG again")).await;
    soon("request 6 reached the provider", || {
        ai.fake.fills.lock().expect("lock").len() >= 4
    })
    .await;
    editor.event(&ClientEvent::CancelCompletion { id: 6 }).await;
    soon("the cancelled request was closed upstream", || {
        ai.fake.fill_hang_ups.load(Ordering::SeqCst) >= 2
    })
    .await;

    // A viewer is refused, and nothing leaves the server for them.
    let before = ai.fake.fills.lock().expect("lock").len();
    let mut viewer = TabClient::connect(&url, &team.viewer.cookie())
        .await
        .expect("viewer");
    viewer.open(doc).await;
    viewer.event(&ask(1, doc, "const z = ")).await;
    assert_eq!(
        answered(&mut viewer, 1).await,
        Err(CompletionError::NotAllowed)
    );
    // Nor for a document the tab has not opened.
    editor.event(&ask(7, doc + 1000, "x")).await;
    assert_eq!(
        answered(&mut editor, 7).await,
        Err(CompletionError::NotAllowed)
    );
    assert_eq!(ai.fake.fills.lock().expect("lock").len(), before);
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowances_and_the_cap_on_requests_in_flight() {
    let ai = FakeAi::start().await;
    let server = TestServer::start_with(
        Backend::Sqlite,
        with_ai(ai.base_url.clone(), |c| {
            c.assist.ai_completion_debounce_ms = 0;
            c.assist.ai_completions_per_minute = 2;
            c.assist.ai_completions_per_minute_per_project = 3;
            c.chat.ai_max_concurrent = 1;
        }),
    )
    .await;
    let team = server.team("Limits", ["jo", "kai", "lu"]).await;
    let doc = default_doc(&team.owner, team.project).await;
    let url = server.ws_url(&format!("/ws?project={}", team.project));
    let mut owner = TabClient::connect(&url, &team.owner.cookie())
        .await
        .expect("owner");
    let mut editor = TabClient::connect(&url, &team.editor.cookie())
        .await
        .expect("editor");
    owner.open(doc).await;
    editor.open(doc).await;

    // The one place for requests in flight is taken by a held request: the next is refused
    // as busy at once (a late completion is of no use), not queued.
    owner.event(&ask(1, doc, "HANG")).await;
    soon("the held request reached the provider", || {
        !ai.fake.fills.lock().expect("lock").is_empty()
    })
    .await;
    editor.event(&ask(1, doc, "a")).await;
    assert_eq!(answered(&mut editor, 1).await, Err(CompletionError::Busy));
    owner.event(&ClientEvent::CancelCompletion { id: 1 }).await;
    soon("the held request ended", || {
        ai.fake.fill_hang_ups.load(Ordering::SeqCst) >= 1
    })
    .await;

    // The editor's own allowance: two a minute (the busy one above counted too).
    editor.event(&ask(2, doc, "b")).await;
    assert_eq!(answered(&mut editor, 2).await, Ok(FILL.to_owned()));
    editor.event(&ask(3, doc, "c")).await;
    assert_eq!(
        answered(&mut editor, 3).await,
        Err(CompletionError::Limited)
    );
    // The project's: three a minute, whoever asks (the owner's held one, the editor's two).
    owner.event(&ask(4, doc, "d")).await;
    assert_eq!(answered(&mut owner, 4).await, Err(CompletionError::Limited));
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("ai-completions-per-minute-per-project"),
        "{metrics}"
    );
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fill_in_the_middle_and_a_server_without_completions() {
    let ai = FakeAi::start().await;
    let server = TestServer::start_with(
        Backend::Sqlite,
        with_ai(ai.base_url.clone(), |c| {
            c.assist.ai_completion_debounce_ms = 0;
            c.chat.ai_completion_endpoint = Endpoint::Fim;
            c.chat.ai_completion_model = Some("coder".into());
        }),
    )
    .await;
    let (mut tab, doc) = own_tab(&server, "mo", "Fim").await;
    tab.event(&ask(1, doc, "const x = ")).await;
    assert_eq!(answered(&mut tab, 1).await, Ok(FILL.to_owned()));
    {
        let fills = ai.fake.fills.lock().expect("lock");
        assert_eq!(fills[0]["model"], "coder");
        assert_eq!(fills[0]["prompt"], "const x = ");
        assert_eq!(fills[0]["suffix"], "\n");
    }
    server.finish().await;

    // Without a provider (or with completions turned off) the tab is told so at once.
    let server = TestServer::start_with(Backend::Sqlite, |c| c.assist.ai_completions = true).await;
    let (mut tab, doc) = own_tab(&server, "ned", "Off").await;
    tab.event(&ask(1, doc, "x")).await;
    assert_eq!(answered(&mut tab, 1).await, Err(CompletionError::Off));
    server.finish().await;
}
