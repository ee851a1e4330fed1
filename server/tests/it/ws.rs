//! `/ws`, the browser tab's socket: refusal before upgrade, a project's default file, live
//! editing with durability acknowledgements, viewers, documents of other projects, malformed
//! frames, and Yjs links minted in the UI.

use std::time::Duration;

use crate::common::{Api, Backend, TestServer, tab::TabClient, yjs::YClient};
use app::live::events::{ClientEvent, ServerEvent};
use collab::{Channel, DocId};
use reqwest::StatusCode;

const QUIET: Duration = Duration::from_millis(200);

async fn default_doc(api: &Api, project: i64) -> Option<i64> {
    let f = api
        .ok("editor/default_file", &[("project", &project.to_string())])
        .await;
    f["doc"].as_i64()
}

async fn refused_before_upgrade(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.client();
    owner.signup("olga").await;
    let project = owner.create_project("Tabs").await;
    let stranger = server.client();
    stranger.signup("stan").await;
    let cases = [
        (format!("/ws?project={project}"), String::new(), "401"),
        (format!("/ws?project={project}"), stranger.cookie(), "403"),
        ("/ws?project=999999".to_owned(), owner.cookie(), "404"),
        ("/ws".to_owned(), owner.cookie(), "400"),
    ];
    for (path, cookie, status) in cases {
        let err = TabClient::connect(&server.ws_url(&path), &cookie)
            .await
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains(status)),
            "{path}: {err:?}"
        );
    }
    server.finish().await;
}

async fn default_file_is_a_real_document(backend: Backend) {
    let server = TestServer::start(backend).await;
    let crate::common::Team {
        owner,
        viewer,
        project,
        ..
    } = server.team("Files", ["fay", "eve", "vin"]).await;
    let pid = project.to_string();

    // A viewer cannot create the first file.
    let none = viewer.ok("editor/default_file", &[("project", &pid)]).await;
    assert!(none.is_null(), "{none}");
    // An editor's first visit creates README.md, once.
    let first = owner.ok("editor/default_file", &[("project", &pid)]).await;
    assert_eq!(first["name"], "README.md");
    let again = owner.ok("editor/default_file", &[("project", &pid)]).await;
    assert_eq!(first, again);
    assert_eq!(
        viewer.ok("editor/default_file", &[("project", &pid)]).await,
        first
    );
    // Strangers get nothing.
    let stranger = server.client();
    stranger.signup("sly").await;
    let reply = stranger
        .call("editor/default_file", &[("project", &pid)])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    server.finish().await;
}

async fn tabs_edit_live_with_acknowledgements(backend: Backend) {
    let server = TestServer::start(backend).await;
    let crate::common::Team {
        owner,
        editor,
        viewer,
        project,
        ..
    } = server.team("Live", ["ada", "ben", "cyd"]).await;
    let doc = default_doc(&owner, project).await.expect("default file");
    let url = server.ws_url(&format!("/ws?project={project}"));

    let mut a = TabClient::connect(&url, &owner.cookie()).await.expect("a");
    let mut b = TabClient::connect(&url, &editor.cookie()).await.expect("b");
    let mut v = TabClient::connect(&url, &viewer.cookie()).await.expect("v");
    for t in [&mut a, &mut b, &mut v] {
        t.open(doc).await;
    }
    assert_eq!(a.opened(doc), Some(true));
    assert_eq!(v.opened(doc), Some(false), "viewers are read-only");

    a.insert(doc, 0, "hello").await;
    a.insert(doc, 5, " world").await;
    assert!(
        a.wait_saved(doc, Duration::from_secs(5)).await,
        "both updates acknowledged as committed"
    );
    assert_eq!(a.saved[&doc], 2);
    b.until("a's edits", |t| t.text(doc) == "hello world").await;
    b.insert(doc, 0, "> ").await;
    assert!(b.wait_saved(doc, Duration::from_secs(5)).await);
    for t in [&mut a, &mut v] {
        t.until("b's edit", |t| t.text(doc) == "> hello world")
            .await;
    }
    assert_eq!(a.text(doc), "> hello world");
    assert_eq!(b.text(doc), a.text(doc));
    assert_eq!(v.text(doc), a.text(doc), "viewers receive edits");

    v.insert(doc, 0, "vandalism").await;
    v.until("the refusal", |t| t.denied).await;
    // Nothing may reach the writer: a bounded quiet period is the test.
    a.pump(QUIET).await;
    assert!(v.denied, "the viewer is told its write was refused");
    assert!(v.closed.is_none(), "a refused write does not close the tab");
    assert!(!a.text(doc).contains("vandalism"));
    assert_eq!(
        v.saved.get(&doc).copied().unwrap_or(0),
        0,
        "nothing acknowledged"
    );

    // A fresh tab reads what was committed.
    let mut late = TabClient::connect(&url, &editor.cookie())
        .await
        .expect("late");
    late.open(doc).await;
    assert_eq!(late.text(doc), "> hello world");
    server.finish().await;
}

async fn other_projects_and_bad_frames(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.client();
    owner.signup("gus").await;
    let mine = owner.create_project("Mine").await;
    let doc = default_doc(&owner, mine).await.expect("doc");
    let other_owner = server.client();
    other_owner.signup("hal").await;
    let theirs = other_owner.create_project("Theirs").await;
    let their_doc = default_doc(&other_owner, theirs).await.expect("doc");
    let url = server.ws_url(&format!("/ws?project={mine}"));

    // Another project's document, and an unknown one: refused, the tab stays up.
    let mut t = TabClient::connect(&url, &owner.cookie()).await.expect("t");
    t.open(their_doc).await;
    t.open(987_654).await;
    let errors: Vec<_> = t
        .events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::DocError { doc, message } => Some((*doc, message.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 2, "{:?}", t.events);
    assert_eq!(errors[0].0.0, their_doc);
    assert!(errors[1].1.contains("not found"), "{errors:?}");
    assert!(t.closed.is_none());
    t.open(doc).await;
    assert_eq!(t.opened(doc), Some(true));
    t.insert(doc, 0, "still fine").await;
    assert!(t.wait_saved(doc, Duration::from_secs(5)).await);

    // Each kind of malformed input closes only its own socket, with a reason.
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (vec![], 1007, "empty frame"),
        (vec![9, 1, 2], 1007, "unknown channel"),
        (vec![0, b'{'], 1007, "bad project event"),
        (
            [&[0u8][..], br#"{"type":"drop_tables"}"#].concat(),
            1007,
            "bad project event",
        ),
        (vec![1, 0xff], 1007, "varint"),
        (vec![1, 42, 0, 0], 1008, "not open"),
    ];
    for (bytes, code, reason) in cases {
        let mut bad = TabClient::connect(&url, &owner.cookie())
            .await
            .expect("bad");
        bad.send_raw(bytes.clone()).await;
        bad.until("the close", |t| t.closed.is_some()).await;
        let (got_code, got_reason) = bad.closed.clone().expect("closed");
        assert_eq!(got_code, code, "{bytes:?}: {got_reason}");
        assert!(got_reason.contains(reason), "{bytes:?}: {got_reason}");
    }
    // A malformed y-sync message on an open document.
    let mut bad = TabClient::connect(&url, &owner.cookie())
        .await
        .expect("bad");
    bad.open(doc).await;
    bad.send_frame(Channel::Doc(DocId(doc as u64)), vec![0u8, 9, 9])
        .await;
    bad.until("the close", |t| t.closed.is_some()).await;
    assert_eq!(bad.closed.as_ref().map(|c| c.0), Some(1007));
    // Text frames are refused. That the other socket stays open is a "nothing happens": a
    // bounded quiet period is the test.
    t.pump(QUIET).await;
    assert!(t.closed.is_none(), "other sockets are unaffected");
    t.event(&ClientEvent::Close {
        doc: app::types::DocId(doc),
    })
    .await;
    // Closing a document keeps the socket: again a bounded quiet period.
    t.pump(QUIET).await;
    assert!(t.closed.is_none());
    assert_eq!(t.text(doc), "still fine");
    server.finish().await;
}

async fn ui_minted_yjs_links_open_one_document(backend: Backend) {
    let server = TestServer::start(backend).await;
    let crate::common::Team {
        owner,
        viewer,
        project,
        ..
    } = server.team("Links", ["ivy", "eli", "jon"]).await;
    let doc = default_doc(&owner, project).await.expect("doc");
    let other = owner.create_project("Other").await;
    let other_doc = default_doc(&owner, other).await.expect("doc");
    let pid = project.to_string();

    // A document of another project is not minted under this one.
    let reply = owner
        .call(
            "editor/yjs_token",
            &[("project", &pid), ("doc", &other_doc.to_string())],
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);

    let token = owner
        .ok(
            "editor/yjs_token",
            &[("project", &pid), ("doc", &doc.to_string())],
        )
        .await;
    let token = token.as_str().expect("token string");
    let mut y = YClient::connect(&server.ws_url(&format!("/yjs/{doc}?token={token}")), None)
        .await
        .expect("token opens the document");
    y.insert(0, "from a script").await;
    // The token is for this document only.
    let err = YClient::connect(
        &server.ws_url(&format!("/yjs/{other_doc}?token={token}")),
        None,
    )
    .await
    .err()
    .map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.contains("403")));

    // A viewer's token gives a viewer's access.
    let vtoken = viewer
        .ok(
            "editor/yjs_token",
            &[("project", &pid), ("doc", &doc.to_string())],
        )
        .await;
    let mut v = YClient::connect(
        &server.ws_url(&format!(
            "/yjs/{doc}?token={}",
            vtoken.as_str().expect("token")
        )),
        None,
    )
    .await
    .expect("viewer token");
    v.until("the script's edit", |c| c.text() == "from a script")
        .await;
    assert!(!y.denied, "the script's token may write");
    v.insert(0, "no").await;
    v.until("the refusal", |c| c.denied).await;
    server.finish().await;
}

db_tests!(
    refused_before_upgrade,
    default_file_is_a_real_document,
    tabs_edit_live_with_acknowledgements,
    other_projects_and_bad_frames,
    ui_minted_yjs_links_open_one_document
);
