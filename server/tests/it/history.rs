//! Who wrote what: attribution of a file's text to the people who typed it, through
//! concurrent edits from browser tabs and a Yjs client, compaction and a restart.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Api, Backend, TestServer, tab::TabClient, yjs::YClient};

const DOC_FILE: &str = "editor/default_file";

async fn blame(api: &Api, project: i64, doc: i64) -> Value {
    api.json_ok("history/blame", json!({ "project": project, "doc": doc }))
        .await
}

/// Checks that every character of `text` is attributed to the author whose name starts with
/// that character (each person types only their own letter), and returns the via of each name.
fn check_letters(blame: &Value, text: &str) -> Vec<(String, String)> {
    let units: Vec<u16> = text.encode_utf16().collect();
    assert_eq!(
        blame["text_len"].as_u64(),
        Some(units.len() as u64),
        "{blame}"
    );
    let authors = blame["authors"].as_array().expect("authors");
    let mut covered = 0;
    for run in blame["runs"].as_array().expect("runs") {
        let (start, len) = (
            run["start"].as_u64().expect("start") as usize,
            run["len"].as_u64().expect("len") as usize,
        );
        assert_eq!(start, covered, "runs cover the text in order: {blame}");
        covered += len;
        let author = &authors[run["author"].as_u64().expect("author") as usize];
        let name = author["name"].as_str().expect("name");
        let letter = name.chars().next().expect("a name") as u16;
        assert!(
            units[start..start + len].iter().all(|&u| u == letter),
            "{:?} is attributed to {name}: {blame}",
            String::from_utf16_lossy(&units[start..start + len])
        );
        assert!(run["at"].as_i64().expect("at") > 0, "a time: {run}");
    }
    assert_eq!(covered, units.len());
    let mut vias: Vec<(String, String)> = authors
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap_or("").to_owned(),
                a["via"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    vias.sort();
    vias
}

async fn attribution_survives_concurrency_compaction_and_restart(backend: Backend) {
    // A compaction every few updates, so most of the text is attributed from stored spans.
    let mut server = TestServer::start_with(backend, |c| c.editor.compact_after_updates = 4).await;
    let team = server.team("Blame", ["ann", "bob", "cid"]).await;
    let dee = server.client();
    dee.signup("dee").await;
    team.owner.invite(team.project, "dee", "editor").await;
    let project = team.project;
    let file = team
        .owner
        .ok(DOC_FILE, &[("project", &project.to_string())])
        .await;
    let doc = file["doc"].as_i64().expect("doc");

    let url = server.ws_url(&format!("/ws?project={project}"));
    let mut ann = TabClient::connect(&url, &team.owner.cookie())
        .await
        .expect("ann");
    let mut bob = TabClient::connect(&url, &team.editor.cookie())
        .await
        .expect("bob");
    ann.open(doc).await;
    bob.open(doc).await;
    let mut dee_yjs = YClient::connect(&server.ws_url(&format!("/yjs/{doc}")), Some(&dee.cookie()))
        .await
        .expect("dee");
    dee_yjs.step().await;

    // Three people type at once, each only their own letter, each before seeing the others.
    for _ in 0..5 {
        ann.insert(doc, 0, "aa").await;
        bob.insert(doc, 0, "b").await;
        dee_yjs.insert(0, "dd").await;
    }
    let want_len = 5 * 5;
    ann.until("everyone's typing", |t| t.text(doc).len() == want_len)
        .await;
    bob.until("everyone's typing", |t| t.text(doc).len() == want_len)
        .await;
    dee_yjs
        .until("everyone's typing", |c| c.text().len() == want_len)
        .await;
    assert!(ann.wait_saved(doc, Duration::from_secs(10)).await);
    assert!(bob.wait_saved(doc, Duration::from_secs(10)).await);
    let text = ann.text(doc);
    assert_eq!(bob.text(doc), text);

    // A viewer may look; everyone sees the same attribution.
    let seen = blame(&team.viewer, project, doc).await;
    let vias = check_letters(&seen, &text);
    assert_eq!(
        vias,
        [
            ("ann".to_owned(), "browser".to_owned()),
            ("bob".to_owned(), "browser".to_owned()),
            ("dee".to_owned(), "yjs".to_owned()),
        ]
    );

    // Compaction folded most of the log: the attribution came from stored spans.
    let db = server.db().await;
    use sea_orm::{ConnectionTrait, Statement};
    let count = |sql: String| {
        let db = db.clone();
        async move {
            db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .expect("query")
                .and_then(|r| r.try_get_by_index::<i64>(0).ok())
                .expect("a count")
        }
    };
    let spans = count(format!(
        "SELECT COUNT(*) FROM document_authorship WHERE document_id = {doc}"
    ))
    .await;
    assert!(spans > 0, "compaction stored authorship");

    drop((ann, bob, dee_yjs));

    // After a restart (everything reloaded from the database) nothing changed.
    server.restart(|c| c.editor.compact_after_updates = 4).await;
    let viewer = team.viewer.on(&server.url(""));
    let again = blame(&viewer, project, doc).await;
    check_letters(&again, &text);
    assert_eq!(again, seen);

    // Not a document of this project: not found, whoever asks.
    let other = team.owner.on(&server.url("")).create_project("Other").await;
    let reply = team
        .owner
        .on(&server.url(""))
        .json("history/blame", json!({ "project": other, "doc": doc }))
        .await;
    assert_eq!(reply.status, 404, "{}", reply.message());
    // A stranger: forbidden.
    let stranger = Api::at(&server.url(""));
    stranger.signup("eve").await;
    let reply = stranger
        .json("history/blame", json!({ "project": project, "doc": doc }))
        .await;
    assert_eq!(reply.status, 403, "{}", reply.message());
    server.finish().await;
}

crate::db_tests!(attribution_survives_concurrency_compaction_and_restart);
