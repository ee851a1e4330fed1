//! Finding 6 of the security review, the caps: projects one account owns, websockets it holds
//! open, the awareness state a client may publish, files and bytes per project, named
//! documents per project and the size of one document; and an import's scratch files. Each
//! refusal names its limit and is counted in `/metrics`.

use std::{collections::HashMap, sync::Arc};

use reqwest::StatusCode;
use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};

use serde_json::json;

use crate::{
    common::{Backend, TestServer, WAIT, tab::TabClient, yjs::YClient},
    files::{create, id, upload, zip_of},
};

async fn projects_per_user(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.auth.max_projects_per_user = 2).await;
    let owner = server.client();
    owner.signup("pia").await;
    owner.create_project("One").await;
    owner.create_project("Two").await;
    let third = owner.call("projects/create", &[("name", "Three")]).await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(third.error_kind(), "TooMany");
    assert!(
        third.message().contains("the most this server allows"),
        "{}",
        third.message()
    );
    // Someone else still may.
    let other = server.client();
    other.signup("pat").await;
    other.create_project("Theirs").await;
    server.finish().await;
}

async fn sockets_per_user(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.editor.max_sockets_per_user = 2).await;
    let owner = server.client();
    owner.signup("sol").await;
    let project = owner.create_project("Sockets").await;
    let url = server.ws_url(&format!("/ws?project={project}"));
    let first = TabClient::connect(&url, &owner.cookie())
        .await
        .expect("one");
    let _second = YClient::connect(
        &server.ws_url(&format!("/yjs/scratch?project={project}")),
        Some(&owner.cookie()),
    )
    .await
    .expect("two");
    let third = TabClient::connect(&url, &owner.cookie())
        .await
        .err()
        .map(|e| e.to_string());
    assert!(third.is_some_and(|e| e.contains("429")));
    // Closing one gives its slot back (the server notices the close; wait for it).
    drop(first);
    let reopened = async {
        loop {
            if TabClient::connect(&url, &owner.cookie()).await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(WAIT, reopened)
        .await
        .expect("a slot frees when a socket closes");
    let metrics = server.metrics().await;
    assert!(metrics.contains(r#"tandem_limit_refusals_total{limit="max-sockets-per-user"}"#));
    server.finish().await;
}

async fn awareness_state_size(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.editor.max_awareness_bytes = 1024).await;
    let owner = server.client();
    owner.signup("ava").await;
    let project = owner.create_project("Cursors").await;
    let url = server.ws_url(&format!("/yjs/scratch?project={project}"));
    let mut y = YClient::connect(&url, Some(&owner.cookie()))
        .await
        .expect("socket");
    let state = |bytes: usize| {
        // The padding is not in `user`: the server overwrites that with the account.
        let json = format!(
            r#"{{"user":{{"name":"ava"}},"pad":"{}"}}"#,
            "a".repeat(bytes)
        );
        let update = AwarenessUpdate {
            clients: HashMap::from([(
                yrs::ClientID::new(7),
                AwarenessUpdateEntry {
                    clock: 1,
                    json: Arc::from(json.as_str()),
                },
            )]),
        };
        collab::protocol::awareness(update).to_vec()
    };
    // A normal cursor passes; one over the limit closes the connection, saying why.
    y.send_raw(state(100)).await;
    y.send_raw(state(4096)).await;
    y.until("the close", |c| c.closed.is_some()).await;
    let (code, reason) = y.closed.clone().expect("closed");
    assert_eq!(code, 1007, "{reason}");
    assert!(
        reason.contains("awareness state over the limit of 1024 bytes"),
        "{reason}"
    );
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("tandem_collab_refused_awareness_total 1"),
        "{metrics}"
    );
    server.finish().await;
}

async fn files_and_bytes_per_project(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        c.files.max_files_per_project = 4;
        c.files.max_project_bytes = 64 << 10;
    })
    .await;
    let owner = server.client();
    owner.signup("quinn").await;
    let p = owner.create_project("Quota").await;
    let src = create(&owner, p, None, "src", "folder").await;
    create(&owner, p, Some(id(&src)), "a.rs", "file").await;
    create(&owner, p, None, "b.rs", "file").await;
    // A copy of `src` would make five.
    let dup = owner
        .json("files/duplicate", json!({ "project": p, "id": id(&src) }))
        .await;
    assert_eq!(dup.status, StatusCode::TOO_MANY_REQUESTS, "{}", dup.body);
    assert!(
        dup.message().contains("at most 4 files and folders"),
        "{}",
        dup.body
    );
    let c = create(&owner, p, None, "c.rs", "file").await;
    let new_file = json!({ "project": p, "parent": null, "name": "d.rs", "kind": "file" });
    let fifth = owner.json("files/create", new_file.clone()).await;
    assert_eq!(fifth.status, StatusCode::TOO_MANY_REQUESTS);
    // The trash counts until it is emptied.
    owner
        .json_ok("files/trash", json!({ "project": p, "id": id(&c) }))
        .await;
    let still = owner.json("files/create", new_file.clone()).await;
    assert_eq!(still.status, StatusCode::TOO_MANY_REQUESTS);
    owner
        .json_ok("files/empty_trash", json!({ "project": p }))
        .await;
    owner.json_ok("files/create", new_file).await;

    // Bytes: an import larger than a project may hold creates nothing.
    let before = owner.ok("projects/list", &[]).await;
    let big = vec![b'x'; 100 << 10];
    let res = upload(&owner, "Big", zip_of(&[("big.txt", &big)])).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let page = res.text().await.expect("page");
    assert!(page.contains("at most 64 KB"), "{page}");
    assert_eq!(owner.ok("projects/list", &[]).await, before);
    // One that fits is imported; its spooled upload and files are gone afterwards.
    let res = upload(&owner, "Small", zip_of(&[("small.txt", b"fits")])).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let scratch = server.data_dir.join("tmp");
    let left = std::fs::read_dir(&scratch).map_or(0, |d| d.count());
    assert_eq!(left, 0, "scratch files left in {}", scratch.display());

    let metrics = server.metrics().await;
    for limit in ["max-files-per-project", "max-project-bytes"] {
        assert!(
            metrics.contains(&format!(
                r#"tandem_limit_refusals_total{{limit="{limit}"}}"#
            )),
            "{limit}: {metrics}"
        );
    }
    server.finish().await;
}

async fn named_documents_per_project(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.editor.max_named_docs_per_project = 1).await;
    let owner = server.client();
    owner.signup("nia").await;
    let project = owner.create_project("Named").await;
    let url = |name: &str| server.ws_url(&format!("/yjs/{name}?project={project}"));
    let _first = YClient::connect(&url("notes"), Some(&owner.cookie()))
        .await
        .expect("the first named document");
    let second = YClient::connect(&url("more-notes"), Some(&owner.cookie()))
        .await
        .err()
        .map(|e| e.to_string());
    assert!(second.is_some_and(|e| e.contains("429")));
    // The existing one still opens.
    YClient::connect(&url("notes"), Some(&owner.cookie()))
        .await
        .expect("an existing named document");
    let metrics = server.metrics().await;
    assert!(metrics.contains(r#"tandem_limit_refusals_total{limit="max-named-docs-per-project"}"#));
    server.finish().await;
}

async fn document_size(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.editor.max_doc_bytes = 4096).await;
    let owner = server.client();
    owner.signup("dora").await;
    let project = owner.create_project("Sizes").await;
    let url = server.ws_url(&format!("/yjs/big?project={project}"));
    let cookie = owner.cookie();
    let connect = || YClient::connect(&url, Some(&cookie));
    let mut writer = connect().await.expect("writer");
    let mut reader = connect().await.expect("reader");
    writer.insert(0, &"a".repeat(3000)).await;
    reader
        .until("the first edit", |c| c.text().len() == 3000)
        .await;
    // Past the limit: refused with a message, neither stored nor sent to the others.
    writer.insert(3000, &"b".repeat(2000)).await;
    writer.until("the refusal", |c| c.denied).await;
    assert!(writer.closed.is_none(), "refused, not disconnected");
    let late = connect().await.expect("a late reader");
    assert_eq!(late.text(), "a".repeat(3000));
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("tandem_collab_refused_growth_total 1"),
        "{metrics}"
    );
    drop(reader);
    server.finish().await;
}

db_tests!(
    projects_per_user,
    sockets_per_user,
    awareness_state_size,
    files_and_bytes_per_project,
    named_documents_per_project,
    document_size,
);
