//! The project audit log end to end on both databases: an entry for each action of the
//! project's people (runs, terminals, the assistant and server folders are checked in their
//! own suites), filters, CSV and JSON export, owners only; and files of an emptied trash kept
//! for the retention period, brought back by owners, swept after it.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    common::{Api, Backend, TestServer, tab::TabClient},
    files::{create, id, upload, zip_of},
};

async fn log(api: &Api, project: i64, filter: Value) -> Vec<Value> {
    api.json_ok(
        "audit/list",
        json!({ "project": project, "filter": filter, "before": null }),
    )
    .await["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn actions(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["action"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// The newest entry of `action` in the project's log (panics naming what is there if none).
pub(crate) async fn entry(api: &Api, project: i64, action: &str) -> Value {
    let found = log(api, project, json!({ "action": action })).await;
    found
        .first()
        .cloned()
        .unwrap_or_else(|| panic!("no {action} entry in the log"))
}

async fn every_action_is_recorded_and_filtered(backend: Backend) {
    let server = TestServer::start(backend).await;
    let team = server.team("Audited", ["ann", "bob", "cid"]).await;
    let (ann, bob, p) = (&team.owner, &team.editor, team.project);
    let pid = p.to_string();
    let [_, bob_id, cid_id] = team.ids;

    // Opening the project: a tab connects (reconnecting soon after is not another entry).
    for _ in 0..2 {
        let tab = TabClient::connect(&server.ws_url(&format!("/ws?project={p}")), &bob.cookie())
            .await
            .expect("bob's tab");
        drop(tab);
    }
    // Membership and invites.
    ann.ok(
        "projects/set-role",
        &[
            ("project", &pid),
            ("user", &cid_id.to_string()),
            ("role", "editor"),
        ],
    )
    .await;
    let link = ann
        .ok(
            "projects/invite-links/create",
            &[("project", &pid), ("role", "viewer"), ("hours", "24")],
        )
        .await;
    let dee = server.client();
    dee.signup("dee").await;
    dee.ok(
        "invites/accept",
        &[("token", link["token"].as_str().expect("token"))],
    )
    .await;
    let link2 = ann
        .ok(
            "projects/invite-links/create",
            &[("project", &pid), ("role", "viewer"), ("hours", "1")],
        )
        .await;
    ann.ok(
        "projects/invite-links/revoke",
        &[("project", &pid), ("invite", &link2["id"].to_string())],
    )
    .await;
    ann.ok(
        "projects/remove-member",
        &[("project", &pid), ("user", &cid_id.to_string())],
    )
    .await;
    ann.invite(p, "cid", "viewer").await;
    ann.ok(
        "projects/rename",
        &[("project", &pid), ("name", "Audited 2")],
    )
    .await;
    // Files.
    let src = create(bob, p, None, "src", "folder").await;
    let f = create(bob, p, None, "main.rs", "file").await;
    bob.json_ok(
        "files/rename",
        json!({ "project": p, "id": id(&f), "name": "lib.rs" }),
    )
    .await;
    bob.json_ok(
        "files/move",
        json!({ "project": p, "id": id(&f), "parent": id(&src) }),
    )
    .await;
    bob.json_ok("files/trash", json!({ "project": p, "id": id(&f) }))
        .await;
    bob.json_ok("files/restore", json!({ "project": p, "id": id(&f) }))
        .await;
    let doc = f["doc"].as_i64().expect("doc");
    bob.json_ok(
        "history/name",
        json!({ "project": p, "doc": doc, "name": "empty" }),
    )
    .await;
    let timeline = bob
        .json_ok(
            "history/timeline",
            json!({ "project": p, "doc": doc, "before": null }),
        )
        .await;
    bob.json_ok(
        "history/restore",
        json!({ "project": p, "doc": doc, "version": timeline["entries"][0]["id"], "lines": null }),
    )
    .await;
    bob.json_ok("files/trash", json!({ "project": p, "id": id(&f) }))
        .await;
    bob.json_ok("files/empty_trash", json!({ "project": p }))
        .await;
    let kept = bob.json_ok("files/purged", json!({ "project": p })).await;
    ann.json_ok(
        "files/restore_purged",
        json!({ "project": p, "id": kept[0]["id"] }),
    )
    .await;
    let zip = ann.get(&format!("/api/projects/{p}/export.zip")).await;
    assert_eq!(zip.status(), StatusCode::OK);
    let imported = upload(ann, "From zip", zip_of(&[("a.txt", b"a")])).await;
    assert!(imported.status().is_success() || imported.status().is_redirection());

    let all = log(ann, p, json!({})).await;
    let seen = actions(&all);
    for want in [
        "project_opened",
        "role_changed",
        "invite_created",
        "invite_used",
        "invite_revoked",
        "member_removed",
        "member_added",
        "project_renamed",
        "file_renamed",
        "file_moved",
        "file_deleted",
        "file_restored",
        "version_named",
        "version_restored",
        "trash_emptied",
        "purged_restored",
        "exported",
    ] {
        assert!(
            seen.iter().any(|s| s == want),
            "{want} missing from {seen:?}"
        );
    }
    assert_eq!(
        seen.iter().filter(|s| *s == "project_opened").count(),
        1,
        "a reconnect is not a new sign-in: {seen:?}"
    );
    // Newest first, with who and on what as they were then.
    let times: Vec<i64> = all.iter().map(|e| e["at"].as_i64().expect("at")).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    let renamed = entry(ann, p, "file_renamed").await;
    assert_eq!(renamed["actor_name"], "bob");
    assert_eq!(renamed["target"], "lib.rs");
    let moved = entry(ann, p, "file_moved").await;
    assert_eq!(moved["target"], "src/lib.rs");
    let removed = entry(ann, p, "member_removed").await;
    assert_eq!(
        (removed["actor_name"].as_str(), removed["target"].as_str()),
        (Some("ann"), Some("cid"))
    );
    assert_eq!(entry(ann, p, "invite_used").await["actor_name"], "dee");
    // The import made a project of its own, whose log has it.
    let projects = ann.ok("projects/list", &[]).await;
    let from_zip = projects
        .as_array()
        .and_then(|ps| ps.iter().find(|x| x["name"] == "From zip"))
        .and_then(|x| x["id"].as_i64())
        .expect("the imported project");
    assert_eq!(actions(&log(ann, from_zip, json!({})).await), ["imported"]);

    // Filters: by person, by action, by time.
    let bobs = log(ann, p, json!({ "actor": bob_id })).await;
    assert!(!bobs.is_empty() && bobs.iter().all(|e| e["actor_name"] == "bob"));
    let roles = log(ann, p, json!({ "action": "role_changed" })).await;
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0]["detail"], "now editor");
    let newest = times[0];
    assert!(log(ann, p, json!({ "from": newest + 1 })).await.is_empty());
    assert_eq!(
        log(ann, p, json!({ "to": times[times.len() - 1] }))
            .await
            .len(),
        0
    );

    // Export: CSV and JSON, the same entries oldest first, filtered the same way.
    let csv = ann
        .get(&format!(
            "/api/projects/{p}/audit?format=csv&actor={bob_id}"
        ))
        .await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap_or("")
            .starts_with("text/csv")
    );
    let csv = csv.text().await.expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "id,time,actor_id,actor,action,target,detail");
    assert_eq!(lines.len() - 1, bobs.len(), "{csv}");
    assert!(lines[1..].iter().all(|l| l.contains(",bob,")));
    let exported: Vec<Value> = ann
        .get(&format!("/api/projects/{p}/audit?format=json"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(exported.len(), all.len());
    assert_eq!(
        exported.first().map(|e| &e["id"]),
        all.last().map(|e| &e["id"])
    );

    // Owners only; nothing edits or deletes an entry.
    for api in [bob, &team.viewer] {
        let r = api
            .json(
                "audit/list",
                json!({ "project": p, "filter": {}, "before": null }),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.message());
        let r = api
            .get(&format!("/api/projects/{p}/audit?format=csv"))
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    let r = ann
        .get(&format!("/api/projects/{p}/audit?format=xml"))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    server.finish().await;
}

async fn emptied_trash_keeps_text_files_for_owners(backend: Backend) {
    let server = TestServer::start(backend).await;
    let team = server.team("Kept", ["ann", "bob", "cid"]).await;
    let (ann, bob, p) = (&team.owner, &team.editor, team.project);
    let dir = create(bob, p, None, "notes", "folder").await;
    let f = create(bob, p, Some(id(&dir)), "plan.md", "file").await;
    let doc = f["doc"].as_i64().expect("doc");
    let url = server.ws_url(&format!("/ws?project={p}"));
    let mut tab = TabClient::connect(&url, &bob.cookie()).await.expect("tab");
    tab.open(doc).await;
    tab.insert(doc, 0, "the plan\n").await;
    assert!(tab.wait_saved(doc, Duration::from_secs(10)).await);
    drop(tab);
    bob.json_ok("files/trash", json!({ "project": p, "id": id(&dir) }))
        .await;
    assert_eq!(
        bob.json_ok("files/empty_trash", json!({ "project": p }))
            .await,
        json!(2)
    );

    // Kept: listed for members (viewers too), its history readable, out of the tree.
    let kept = team
        .viewer
        .json_ok("files/purged", json!({ "project": p }))
        .await;
    let kept = kept.as_array().expect("a list");
    assert_eq!(kept.len(), 1, "the text file, not the folder: {kept:?}");
    assert_eq!(kept[0]["path"], "notes/plan.md");
    assert_eq!(kept[0]["purged_by"], "bob");
    assert_eq!(
        kept[0]["expires_at"].as_i64().unwrap_or(0) - kept[0]["purged_at"].as_i64().unwrap_or(0),
        30 * 86_400
    );
    let timeline = team
        .viewer
        .json_ok(
            "history/timeline",
            json!({ "project": p, "doc": doc, "before": null }),
        )
        .await;
    assert!(!timeline["entries"].as_array().expect("entries").is_empty());
    let files = bob.json_ok("files/list", json!({ "project": p })).await;
    assert_eq!(files.as_array().map(Vec::len), Some(0));

    // Owners only bring it back: at the root, with its text.
    for api in [bob, &team.viewer] {
        let r = api
            .json(
                "files/restore_purged",
                json!({ "project": p, "id": kept[0]["id"] }),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.message());
    }
    let back = ann
        .json_ok(
            "files/restore_purged",
            json!({ "project": p, "id": kept[0]["id"] }),
        )
        .await;
    assert_eq!(back["name"], "plan.md");
    assert_eq!(back["parent"], Value::Null);
    assert_eq!(back["doc"].as_i64(), Some(doc));
    let mut tab = TabClient::connect(&url, &ann.cookie()).await.expect("tab");
    tab.open(doc).await;
    tab.until("the text", |t| t.text(doc) == "the plan\n").await;
    drop(tab);
    let again = ann
        .json(
            "files/restore_purged",
            json!({ "project": p, "id": kept[0]["id"] }),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);

    // Past retention the sweep deletes the document for good.
    ann.json_ok("files/trash", json!({ "project": p, "id": back["id"] }))
        .await;
    ann.json_ok("files/empty_trash", json!({ "project": p }))
        .await;
    let db = server.db().await;
    use sea_orm::{ConnectionTrait, Statement};
    db.execute_raw(Statement::from_string(
        db.get_database_backend(),
        "UPDATE purged_files SET purged_at = purged_at - 31 * 86400".to_owned(),
    ))
    .await
    .expect("age the kept file");
    assert_eq!(
        server
            .state()
            .files
            .tree
            .sweep_purged()
            .await
            .expect("sweep"),
        1
    );
    let gone = ann.json_ok("files/purged", json!({ "project": p })).await;
    assert_eq!(gone, json!([]));
    let r = ann
        .json(
            "history/timeline",
            json!({ "project": p, "doc": doc, "before": null }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.message());
    server.finish().await;
}

async fn no_retention_deletes_at_once(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.files.trash_retention_days = 0).await;
    let team = server.team("Gone", ["ann", "bob", "cid"]).await;
    let (ann, p) = (&team.owner, team.project);
    let f = create(ann, p, None, "x.md", "file").await;
    ann.json_ok("files/trash", json!({ "project": p, "id": id(&f) }))
        .await;
    ann.json_ok("files/empty_trash", json!({ "project": p }))
        .await;
    assert_eq!(
        ann.json_ok("files/purged", json!({ "project": p })).await,
        json!([])
    );
    let r = ann
        .json(
            "history/timeline",
            json!({ "project": p, "doc": f["doc"], "before": null }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.message());
    server.finish().await;
}

crate::db_tests!(
    every_action_is_recorded_and_filtered,
    emptied_trash_keeps_text_files_for_owners,
    no_retention_deletes_at_once,
);
