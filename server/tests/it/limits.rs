//! Finding 6 of the security review, the per-user caps: projects one account owns, websockets
//! it holds open, and the awareness state a client may publish. Each refusal names its limit
//! and is counted in `/metrics`.

use std::{collections::HashMap, sync::Arc};

use reqwest::StatusCode;
use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};

use crate::common::{Backend, TestServer, WAIT, tab::TabClient, yjs::YClient};

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

db_tests!(projects_per_user, sockets_per_user, awareness_state_size);
