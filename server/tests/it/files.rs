//! The project tree end to end on both databases: every operation with its permission check,
//! name validation, cycle refusal, the trash, duplicates with their text, live tree events
//! and viewer presence on `/ws`, search over live text, and zip export/import with zip-slip
//! and zip-bomb refusals.

use std::{io::Write, time::Duration};

use crate::common::{Api, Backend, TestServer, tab::TabClient};
use app::live::events::ServerEvent;
use reqwest::StatusCode;
use serde_json::{Value, json};

pub(crate) async fn create(
    api: &Api,
    project: i64,
    parent: Option<i64>,
    name: &str,
    kind: &str,
) -> Value {
    api.json_ok(
        "files/create",
        json!({ "project": project, "parent": parent, "name": name, "kind": kind }),
    )
    .await
}

pub(crate) fn id(v: &Value) -> i64 {
    v["id"].as_i64().expect("entry id")
}

async fn list(api: &Api, project: i64) -> Vec<Value> {
    api.json_ok("files/list", json!({ "project": project }))
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The owner and a viewer of a fresh project.
async fn team(server: &TestServer) -> (Api, Api, i64) {
    let t = server.team("Tree", ["olga", "eda", "vic"]).await;
    (t.owner, t.viewer, t.project)
}

async fn operations_and_permissions(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (owner, viewer, p) = team(&server).await;
    let src = create(&owner, p, None, "src", "folder").await;
    let main = create(&owner, p, Some(id(&src)), "main.rs", "file").await;
    assert!(main["doc"].as_i64().is_some(), "a text file has a document");
    assert_eq!(main["parent"].as_i64(), Some(id(&src)));

    // Viewers read the tree but change nothing.
    assert_eq!(list(&viewer, p).await.len(), 2);
    let attempts = [
        (
            "files/create",
            json!({ "project": p, "parent": null, "name": "x.rs", "kind": "file" }),
        ),
        (
            "files/rename",
            json!({ "project": p, "id": id(&main), "name": "y.rs" }),
        ),
        (
            "files/move",
            json!({ "project": p, "id": id(&main), "parent": null }),
        ),
        ("files/trash", json!({ "project": p, "id": id(&main) })),
        ("files/restore", json!({ "project": p, "id": id(&main) })),
        ("files/duplicate", json!({ "project": p, "id": id(&main) })),
        ("files/empty_trash", json!({ "project": p })),
    ];
    for (endpoint, body) in attempts {
        let r = viewer.json(endpoint, body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{endpoint}: {}", r.body);
    }
    // Strangers cannot even list; unknown ids are 404, other projects' ids too.
    let stranger = server.client();
    stranger.signup("sam").await;
    let r = stranger.json("files/list", json!({ "project": p })).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = owner
        .json(
            "files/rename",
            json!({ "project": p, "id": 999_999, "name": "a" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let other = stranger.create_project("Other").await;
    let theirs = create(&stranger, other, None, "theirs.txt", "file").await;
    let r = owner
        .json("files/trash", json!({ "project": p, "id": id(&theirs) }))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another project's file");

    // Rename, with case-insensitive clash detection; a case-only rename of itself is fine.
    let lib = create(&owner, p, Some(id(&src)), "lib.rs", "file").await;
    let r = owner
        .json(
            "files/rename",
            json!({ "project": p, "id": id(&lib), "name": "MAIN.rs" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.message().contains("already exists"), "{}", r.message());
    let renamed = owner
        .json_ok(
            "files/rename",
            json!({ "project": p, "id": id(&main), "name": "Main.rs" }),
        )
        .await;
    assert_eq!(renamed["name"], "Main.rs");
    assert_eq!(renamed["doc"], main["doc"], "renames never touch content");

    // Moves: to the root, and never into itself or its own subfolder.
    let inner = create(&owner, p, Some(id(&src)), "inner", "folder").await;
    let r = owner
        .json(
            "files/move",
            json!({ "project": p, "id": id(&src), "parent": id(&inner) }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = owner
        .json(
            "files/move",
            json!({ "project": p, "id": id(&src), "parent": id(&src) }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = owner
        .json(
            "files/move",
            json!({ "project": p, "id": id(&src), "parent": id(&lib) }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "into a file");
    let moved = owner
        .json_ok(
            "files/move",
            json!({ "project": p, "id": id(&lib), "parent": null }),
        )
        .await;
    assert_eq!(moved["parent"], Value::Null);

    // Name validation reaches the user as a field error.
    for bad in [
        "",
        ".",
        "..",
        "a/b",
        "a\\b",
        "CON",
        "x\u{0}y",
        " pad",
        &"n".repeat(256),
    ] {
        let r = owner
            .json(
                "files/create",
                json!({ "project": p, "parent": null, "name": bad, "kind": "file" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
    }
    server.finish().await;
}

async fn trash_restore_and_duplicate(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (owner, _viewer, p) = team(&server).await;
    let dir = create(&owner, p, None, "docs", "folder").await;
    let a = create(&owner, p, Some(id(&dir)), "a.md", "file").await;

    // Put text in a.md, then duplicate the folder: the copy has the text.
    let mut tab = TabClient::connect(&server.ws_url(&format!("/ws?project={p}")), &owner.cookie())
        .await
        .expect("connects");
    let doc = a["doc"].as_i64().expect("doc");
    tab.open(doc).await;
    tab.insert(doc, 0, "# Hello").await;
    assert!(tab.wait_saved(doc, Duration::from_secs(5)).await);
    let copy = owner
        .json_ok("files/duplicate", json!({ "project": p, "id": id(&dir) }))
        .await;
    assert_eq!(copy["name"], "docs copy");
    let all = list(&owner, p).await;
    let copied = all
        .iter()
        .find(|e| e["parent"].as_i64() == Some(id(&copy)))
        .expect("the copy has a.md");
    assert_ne!(copied["doc"], a["doc"], "its own document");
    let raw = owner
        .get(&format!("/api/projects/{p}/files/{}/raw", id(copied)))
        .await;
    assert_eq!(raw.status(), StatusCode::OK);
    assert_eq!(raw.text().await.expect("body"), "# Hello");
    let again = owner
        .json_ok("files/duplicate", json!({ "project": p, "id": id(&dir) }))
        .await;
    assert_eq!(again["name"], "docs copy 2");

    // Trash the folder: its file goes with it, and the name is free again.
    owner
        .json_ok("files/trash", json!({ "project": p, "id": id(&dir) }))
        .await;
    let r = owner
        .json(
            "files/rename",
            json!({ "project": p, "id": id(&a), "name": "b.md" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "inside a trashed folder");
    let newer = create(&owner, p, None, "docs", "folder").await;
    // Restoring next to a newer "docs" renames the restored one.
    let restored = owner
        .json_ok("files/restore", json!({ "project": p, "id": id(&dir) }))
        .await;
    assert_eq!(restored["name"], "docs (2)");
    assert_eq!(restored["deleted_at"], Value::Null);
    let r = owner
        .json("files/restore", json!({ "project": p, "id": id(&dir) }))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "not in the trash");

    // Empty the trash: gone for good, documents included.
    owner
        .json_ok("files/trash", json!({ "project": p, "id": id(&newer) }))
        .await;
    owner
        .json_ok("files/trash", json!({ "project": p, "id": id(&restored) }))
        .await;
    let n = owner
        .json_ok("files/empty_trash", json!({ "project": p }))
        .await;
    assert_eq!(n.as_u64(), Some(3), "two folders and a.md");
    let left: Vec<String> = list(&owner, p)
        .await
        .iter()
        .map(|e| e["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        !left.iter().any(|n| n == "docs" || n == "docs (2)"),
        "{left:?}"
    );
    tab.until("the purge event", |t| {
        t.events
            .iter()
            .any(|e| matches!(e, ServerEvent::Purged { ids } if ids.len() == 3))
    })
    .await;
    server.finish().await;
}

async fn tree_events_and_presence_are_live(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (owner, viewer, p) = team(&server).await;
    let url = server.ws_url(&format!("/ws?project={p}"));
    let mut watcher = TabClient::connect(&url, &viewer.cookie())
        .await
        .expect("connects");
    watcher
        .until("the greeting", |t| {
            t.events
                .iter()
                .any(|e| matches!(e, ServerEvent::Viewers { .. }))
        })
        .await;
    let f = create(&owner, p, None, "live.rs", "file").await;
    owner
        .json_ok(
            "files/rename",
            json!({ "project": p, "id": id(&f), "name": "alive.rs" }),
        )
        .await;
    let tree_events = |t: &TabClient| {
        t.events
            .iter()
            .filter(|e| matches!(e, ServerEvent::Tree { .. }))
            .count()
    };
    watcher
        .until("both tree events", |t| tree_events(t) == 2)
        .await;
    let names: Vec<String> = watcher
        .events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Tree { entries } => Some(entries[0].name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["live.rs", "alive.rs"]);

    // The owner opens the file: the viewer sees who has it open.
    let mut editor = TabClient::connect(&url, &owner.cookie())
        .await
        .expect("connects");
    let doc = f["doc"].as_i64().expect("doc");
    editor.open(doc).await;
    let last_viewers = |t: &TabClient| {
        t.events.iter().rev().find_map(|e| match e {
            ServerEvent::Viewers { viewers } => Some(viewers.clone()),
            _ => None,
        })
    };
    watcher
        .until("the editor in the viewer list", |t| {
            last_viewers(t).is_some_and(|v| !v.is_empty())
        })
        .await;
    let seen = last_viewers(&watcher).expect("a viewers event");
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].name.as_str(), seen[0].docs.as_slice()),
        ("olga", &[app::types::DocId(doc)][..])
    );
    drop(editor);
    watcher
        .until("the editor gone from the viewer list", |t| {
            last_viewers(t).is_some_and(|v| v.is_empty())
        })
        .await;
    server.finish().await;
}

async fn search_finds_live_text(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (owner, viewer, p) = team(&server).await;
    let f = create(&owner, p, None, "notes.txt", "file").await;
    let doc = f["doc"].as_i64().expect("doc");
    let mut tab = TabClient::connect(&server.ws_url(&format!("/ws?project={p}")), &owner.cookie())
        .await
        .expect("connects");
    tab.open(doc).await;
    tab.insert(doc, 0, "alpha\nBeta gamma\nbeta\n").await;
    assert!(tab.wait_saved(doc, Duration::from_secs(5)).await);
    let search = |text: &str, regex: bool, case: bool| json!({ "project": p, "query": { "text": text, "regex": regex, "case_sensitive": case } });
    let r = viewer
        .json_ok("files/search", search("beta", false, false))
        .await;
    assert_eq!(r["files"][0]["path"], "notes.txt");
    let lines: Vec<i64> = r["files"][0]["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["line"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(lines, [2, 3]);
    let r = viewer
        .json_ok("files/search", search("beta", false, true))
        .await;
    assert_eq!(r["files"][0]["hits"].as_array().map(Vec::len), Some(1));
    let r = viewer
        .json_ok("files/search", search("^b.t", true, false))
        .await;
    assert_eq!(r["files"][0]["hits"].as_array().map(Vec::len), Some(2));
    // The text changes: the next search sees it.
    tab.insert(doc, 0, "beta first\n").await;
    assert!(tab.wait_saved(doc, Duration::from_secs(5)).await);
    let r = viewer
        .json_ok("files/search", search("beta", false, true))
        .await;
    assert_eq!(r["files"][0]["hits"][0]["line"], 1);
    let r = viewer.json("files/search", search("(", true, false)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    server.finish().await;
}

pub(crate) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .expect("start");
        w.write_all(bytes).expect("write");
    }
    w.finish().expect("finish").into_inner()
}

pub(crate) async fn upload(api: &Api, name: &str, zip: Vec<u8>) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("name", name.to_owned())
        .part(
            "file",
            reqwest::multipart::Part::bytes(zip).file_name("upload.zip"),
        );
    api.http
        .post(format!("{}/api/projects/import", api.base))
        .multipart(form)
        .send()
        .await
        .expect("request")
}

async fn zip_round_trip_and_refusals(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        c.files.import_max_unpacked_bytes = 1 << 20;
        c.files.import_max_files = 50;
    })
    .await;
    let owner = server.client();
    owner.signup("zed").await;
    let png = [0x89u8, b'P', b'N', b'G', 0, 0, 1];
    let zip = zip_of(&[
        ("src/main.rs", b"fn main() {}\n"),
        ("src/util/fmt.rs", b"// fmt\n"),
        ("README.md", "# Zïp\n".as_bytes()),
        ("img/logo.png", &png),
    ]);
    let res = upload(&owner, "Zipped", zip).await;
    // The form posts without JavaScript: success redirects to the new project.
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    let p: i64 = location
        .trim_start_matches("/p/")
        .parse()
        .expect("redirected to the project");
    let entries = list(&owner, p).await;
    assert_eq!(entries.len(), 7, "4 files and 3 folders");
    let logo = entries
        .iter()
        .find(|e| e["name"] == "logo.png")
        .expect("logo");
    assert_eq!(logo["kind"], "blob");
    assert_eq!(logo["size"], 7);

    // Export and read it back: same paths, same bytes.
    let res = owner.get(&format!("/api/projects/{p}/export.zip")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()[reqwest::header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap_or_default()
            .contains("Zipped.zip")
    );
    let bytes = res.bytes().await.expect("zip");
    let mut back = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a zip");
    let mut read = |name: &str| {
        let mut f = back.by_name(name).expect(name);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut out).expect("read");
        out
    };
    assert_eq!(read("src/main.rs"), b"fn main() {}\n");
    assert_eq!(read("README.md"), "# Zïp\n".as_bytes());
    assert_eq!(read("img/logo.png"), png);
    // A folder alone.
    let src = entries.iter().find(|e| e["name"] == "src").expect("src");
    let res = owner
        .get(&format!("/api/projects/{p}/export.zip?folder={}", id(src)))
        .await;
    let bytes = res.bytes().await.expect("zip");
    let folder = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a zip");
    assert!(folder.file_names().all(|n| n.starts_with("src/")));
    let stranger = server.client();
    stranger.signup("nosy").await;
    let res = stranger.get(&format!("/api/projects/{p}/export.zip")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Refusals, each with a clear message and no project created.
    let before = owner
        .ok("projects/list", &[])
        .await
        .as_array()
        .map(Vec::len);
    let mut bomb = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    bomb.start_file(
        "zeros.txt",
        zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated),
    )
    .expect("start");
    bomb.write_all(&vec![0u8; 16 << 20]).expect("write");
    let bomb = bomb.finish().expect("finish").into_inner();
    let many: Vec<(String, Vec<u8>)> = (0..51).map(|i| (format!("f{i}.txt"), vec![b'x'])).collect();
    let many = zip_of(
        &many
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect::<Vec<_>>(),
    );
    let cases: [(&str, Vec<u8>, &str); 5] = [
        (
            "slip",
            zip_of(&[("../../etc/cron.d/x", b"boom")]),
            "outside the project",
        ),
        (
            "absolute",
            zip_of(&[("/etc/passwd", b"x")]),
            "absolute path",
        ),
        ("bomb", bomb, "unpacks to more"),
        ("many", many, "more than 50 files"),
        ("junk", b"PK not really".to_vec(), "not a readable zip"),
    ];
    for (name, zip, message) in cases {
        let res = upload(&owner, name, zip).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        let page = res.text().await.expect("page");
        assert!(page.contains(message), "{name}: {page}");
    }
    let after = owner
        .ok("projects/list", &[])
        .await
        .as_array()
        .map(Vec::len);
    assert_eq!(before, after, "refused imports create nothing");
    server.finish().await;
}

db_tests!(
    operations_and_permissions,
    trash_restore_and_duplicate,
    tree_events_and_presence_are_live,
    search_finds_live_text,
    zip_round_trip_and_refusals,
);
