//! Disk-backed projects: a directory imported as a project (honouring .gitignore and the ignore
//! list, skipping symlinks), browser edits written back atomically, changes on disk applied
//! live as minimal edits, tree operations replayed on disk, and every path-traversal or
//! symlink-escape attempt refused.

use std::{path::Path, time::Duration};

use crate::common::{Backend, TestServer, tab::TabClient};
use serde_json::{Value, json};
use server::files::disk::{Root, relative};
use yrs::{Assoc, IndexedSequence, Transact};

/// Polls `check` for up to 10 s.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

fn tree_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::create_dir_all(root.join("build")).expect("mkdir");
    std::fs::create_dir_all(root.join("node_modules/x")).expect("mkdir");
    std::fs::write(root.join("src/main.rs"), "fn main() {\n    run();\n}\n").expect("write");
    std::fs::write(root.join(".gitignore"), "build/\n*.log\n").expect("write");
    std::fs::write(root.join("build/out.txt"), "ignored").expect("write");
    std::fs::write(root.join("debug.log"), "ignored").expect("write");
    std::fs::write(root.join("node_modules/x/index.js"), "ignored").expect("write");
    std::fs::write(root.join("logo.bin"), [0u8, 159, 146, 150]).expect("write");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc", root.join("escape")).expect("symlink");
        std::os::unix::fs::symlink("src/main.rs", root.join("inner-link")).expect("symlink");
    }
    dir
}

async fn paths(api: &crate::common::Api, project: i64) -> Vec<(String, Value)> {
    let entries = api
        .json_ok("files/list", json!({ "project": project }))
        .await
        .as_array()
        .cloned()
        .unwrap_or_default();
    let name_of = |id: i64| {
        entries
            .iter()
            .find(|e| e["id"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    };
    entries
        .iter()
        .filter(|e| e["deleted_at"].is_null())
        .map(|e| {
            let mut parts = vec![e["name"].as_str().unwrap_or_default().to_owned()];
            let mut parent = e["parent"].as_i64();
            while let Some(p) = parent {
                let row = name_of(p);
                parts.push(row["name"].as_str().unwrap_or_default().to_owned());
                parent = row["parent"].as_i64();
            }
            parts.reverse();
            (parts.join("/"), e.clone())
        })
        .collect()
}

fn no_temp_files(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .all(|e| !e.file_name().to_string_lossy().ends_with(".tmp"))
        })
        .unwrap_or(true)
}

/// Binds `root` as a project owned by `owner`, ignoring `node_modules`, flushing after 50 ms.
async fn bind(server: &TestServer, root: &Path, owner: i64) -> i64 {
    let files = server.state().files.clone();
    files
        .disks()
        .bind(
            &files,
            root,
            app::types::UserId(owner),
            vec!["node_modules".into()],
            Duration::from_millis(50),
        )
        .await
        .expect("binds")
        .0
}

/// Creates a top-level folder through the tree and waits until the mirror has made it on disk.
async fn new_folder_reaches_disk(
    owner: &crate::common::Api,
    project: i64,
    root: &Path,
    name: &str,
) {
    owner
        .json_ok(
            "files/create",
            json!({ "project": project, "parent": null, "name": name, "kind": "folder" }),
        )
        .await;
    eventually("a new folder on disk", async || root.join(name).is_dir()).await;
}

async fn directory_round_trip(backend: Backend) {
    let dir = tree_dir();
    let root = dir.path().to_owned();
    let server = TestServer::start(backend).await;
    let owner = server.client();
    let uid = owner.signup("dee").await;
    let project = bind(&server, &root, uid).await;

    // Imported: text, binary, folders; not ignored paths, not symlinks.
    let listed = paths(&owner, project).await;
    let mut names: Vec<&str> = listed.iter().map(|(p, _)| p.as_str()).collect();
    names.sort();
    assert_eq!(names, [".gitignore", "logo.bin", "src", "src/main.rs"]);
    let main = &listed
        .iter()
        .find(|(p, _)| p == "src/main.rs")
        .expect("main")
        .1;
    let doc = main["doc"].as_i64().expect("a text file");
    let logo = &listed
        .iter()
        .find(|(p, _)| p == "logo.bin")
        .expect("logo")
        .1;
    assert_eq!(logo["kind"], "blob");

    // A browser edit lands in the file, atomically.
    let url = server.ws_url(&format!("/ws?project={project}"));
    let mut tab = TabClient::connect(&url, &owner.cookie())
        .await
        .expect("connects");
    tab.open(doc).await;
    assert_eq!(tab.text(doc), "fn main() {\n    run();\n}\n");
    tab.insert(doc, 0, "// hi\n").await;
    assert!(tab.wait_saved(doc, Duration::from_secs(5)).await);
    let file = root.join("src/main.rs");
    eventually("the edit on disk", async || {
        std::fs::read_to_string(&file).is_ok_and(|t| t == "// hi\nfn main() {\n    run();\n}\n")
    })
    .await;
    assert!(
        no_temp_files(&root.join("src")),
        "no temporary files left behind"
    );

    // A change on disk reaches the connected tab as a minimal edit: a position pinned before
    // `fn main` (another user's cursor, say) is still before `fn main` afterwards.
    let pinned = {
        let d = tab.doc(doc);
        let text = d.get_or_insert_text("content");
        let txn = d.transact();
        text.sticky_index(&txn, 6, Assoc::After).expect("sticky")
    };
    std::fs::write(&file, "// hi\nfn main() {\n    run_fast();\n}\n").expect("external write");
    eventually("the disk change in the tab", async || {
        tab.pump(Duration::from_millis(50)).await;
        tab.text(doc) == "// hi\nfn main() {\n    run_fast();\n}\n"
    })
    .await;
    let d = tab.doc(doc);
    let at = pinned.get_offset(&d.transact()).expect("resolves").index;
    assert_eq!(at, 6, "the cursor survived the change on disk");

    // Tree operations in the browser are replayed on disk.
    let id = main["id"].as_i64().expect("id");
    owner
        .json_ok(
            "files/rename",
            json!({ "project": project, "id": id, "name": "app.rs" }),
        )
        .await;
    eventually("the rename on disk", async || {
        root.join("src/app.rs").exists() && !file.exists()
    })
    .await;
    owner
        .json_ok("files/trash", json!({ "project": project, "id": id }))
        .await;
    eventually("the delete on disk", async || {
        !root.join("src/app.rs").exists()
    })
    .await;
    owner
        .json_ok("files/restore", json!({ "project": project, "id": id }))
        .await;
    eventually("the restore on disk", async || {
        std::fs::read_to_string(root.join("src/app.rs"))
            .is_ok_and(|t| t == "// hi\nfn main() {\n    run_fast();\n}\n")
    })
    .await;
    new_folder_reaches_disk(&owner, project, &root, "docs").await;

    // Files created and deleted by other tools appear and disappear in the tree.
    std::fs::write(root.join("docs/notes.md"), "# Notes\n").expect("write");
    eventually("a file made on disk in the tree", async || {
        paths(&owner, project)
            .await
            .iter()
            .any(|(p, _)| p == "docs/notes.md")
    })
    .await;
    let notes_doc = paths(&owner, project)
        .await
        .into_iter()
        .find(|(p, _)| p == "docs/notes.md")
        .and_then(|(_, e)| e["doc"].as_i64());
    // Renamed and moved by another tool: the same entry and document, at the new place.
    std::fs::rename(root.join("docs/notes.md"), root.join("src/NOTES.md")).expect("mv");
    eventually("a rename on disk is a rename in the tree", async || {
        paths(&owner, project)
            .await
            .iter()
            .any(|(p, e)| p == "src/NOTES.md" && e["doc"].as_i64() == notes_doc)
    })
    .await;
    assert!(
        !paths(&owner, project)
            .await
            .iter()
            .any(|(p, _)| p == "docs/notes.md"),
        "not also kept at the old path"
    );
    std::fs::write(root.join("docs/ignored.log"), "x").expect("write");
    std::fs::remove_file(root.join("src/NOTES.md")).expect("rm");
    eventually("a file removed on disk leaves the tree", async || {
        !paths(&owner, project)
            .await
            .iter()
            .any(|(p, _)| p == "src/NOTES.md")
    })
    .await;
    assert!(
        !paths(&owner, project)
            .await
            .iter()
            .any(|(p, _)| p.ends_with(".log")),
        "gitignored files never enter the tree"
    );
    server.finish().await;
}

#[test]
fn traversal_and_symlink_escapes_are_refused() {
    let dir = tree_dir();
    let outside = tempfile::tempdir().expect("temp dir");
    std::fs::write(outside.path().join("secret"), "s3cret").expect("write");
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).expect("symlink");
    let root = Root::open(dir.path()).expect("opens");
    let attacks = [
        "../secret",
        "src/../../secret",
        "/etc/passwd",
        "//etc/passwd",
        "..",
        "src/..",
        "./src/main.rs",
        "",
        "src\0main.rs",
        "..\\secret",
        "escape/passwd",
        "out/secret",
        "inner-link",
    ];
    for attack in attacks {
        assert!(
            root.read(attack).is_err(),
            "read {attack:?} must be refused"
        );
        assert!(
            root.write(attack, b"pwned").is_err(),
            "write {attack:?} must be refused"
        );
    }
    assert_eq!(
        std::fs::read_to_string(outside.path().join("secret")).expect("read"),
        "s3cret",
        "nothing outside was touched"
    );
    assert!(relative("src/main.rs").is_ok());
    assert_eq!(
        root.read("src/main.rs").expect("inside is fine"),
        b"fn main() {\n    run();\n}\n"
    );
}

/// Finding 2: `--admin root` let whoever signed up as `root` first open `/etc`. Admin is now a
/// property of an account, set by the operator (`tandem user admin NAME`); no name is special.
async fn admins_open_server_folders(backend: Backend) {
    let dir = tree_dir();
    let server = TestServer::start(backend).await;
    let (admin, member) = (server.client(), server.client());
    let ada = admin.signup("ada").await;
    member.signup("mel").await;
    let path = dir.path().to_string_lossy().into_owned();
    assert_eq!(
        admin.ok("files/can_open_dirs", &[]).await,
        json!(false),
        "nobody is an admin by signing up"
    );
    let refused = admin.call("files/open_dir", &[("path", &path)]).await;
    assert_eq!(refused.status, reqwest::StatusCode::FORBIDDEN);
    server
        .state()
        .accounts
        .set_admin(app::types::UserId(ada), true)
        .await
        .expect("made admin");
    assert_eq!(admin.ok("files/can_open_dirs", &[]).await, json!(true));
    assert_eq!(member.ok("files/can_open_dirs", &[]).await, json!(false));
    let refused = member.call("files/open_dir", &[("path", &path)]).await;
    assert_eq!(refused.status, reqwest::StatusCode::FORBIDDEN);
    let relative = admin.call("files/open_dir", &[("path", "some/dir")]).await;
    assert_eq!(relative.status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let missing = admin
        .call("files/open_dir", &[("path", "/no/such/dir")])
        .await;
    assert_eq!(missing.status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let project = admin.ok("files/open_dir", &[("path", &path)]).await;
    let project = project.as_i64().expect("a project id");
    let opened = crate::audit::entry(&admin, project, "folder_opened").await;
    assert_eq!(
        (opened["actor_name"].as_str(), opened["target"].as_str()),
        (Some("ada"), Some(path.as_str()))
    );
    assert!(
        paths(&admin, project)
            .await
            .iter()
            .any(|(p, _)| p == "src/main.rs"),
        "the folder's files are in the project"
    );
    // The same folder is the same project.
    let again = admin.ok("files/open_dir", &[("path", &path)]).await;
    assert_eq!(again.as_i64(), Some(project));
    server.finish().await;
}

/// Finding 3 of the security review: an editor created `.git/config` through the tree and the
/// repository's config on disk became an empty file. Now the tree refuses the names the disk
/// must never receive, and nothing reaches `.git`.
async fn git_and_ignored_names_never_reach_the_disk(backend: Backend) {
    let dir = tree_dir();
    let root = dir.path().to_owned();
    let config = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n";
    std::fs::create_dir_all(root.join(".git")).expect("mkdir");
    std::fs::write(root.join(".git/config"), config).expect("write");
    let server = TestServer::start(backend).await;
    let owner = server.client();
    let uid = owner.signup("dee").await;
    let project = bind(&server, &root, uid).await;
    for name in [".git", ".GIT", "node_modules"] {
        let reply = owner
            .json(
                "files/create",
                json!({ "project": project, "parent": null, "name": name, "kind": "folder" }),
            )
            .await;
        assert_eq!(reply.error_kind(), "Invalid", "{name}: {:?}", reply.body);
        assert!(reply.message().contains("kept out"), "{}", reply.message());
    }
    let listed = paths(&owner, project).await;
    let src = listed
        .iter()
        .find(|(p, _)| p == "src")
        .and_then(|(_, e)| e["id"].as_i64())
        .expect("src");
    let reply = owner
        .json(
            "files/rename",
            json!({ "project": project, "id": src, "name": ".git" }),
        )
        .await;
    assert_eq!(reply.error_kind(), "Invalid", "{:?}", reply.body);

    // Paths the project's .gitignore keeps out (`build/`, `*.log`) are refused by path.
    for (name, kind) in [("build", "folder"), ("trace.log", "file")] {
        let reply = owner
            .json(
                "files/create",
                json!({ "project": project, "parent": null, "name": name, "kind": kind }),
            )
            .await;
        assert_eq!(reply.error_kind(), "Invalid", "{name}: {:?}", reply.body);
        assert!(
            reply
                .message()
                .contains("ignored by this project's .gitignore"),
            "{}",
            reply.message()
        );
    }
    let reply = owner
        .json(
            "files/rename",
            json!({ "project": project, "id": src, "name": "build" }),
        )
        .await;
    assert_eq!(reply.error_kind(), "Invalid", "{:?}", reply.body);
    let reply = owner
        .json(
            "files/create",
            json!({ "project": project, "parent": src, "name": "lib.rs", "kind": "file" }),
        )
        .await;
    assert_eq!(reply.status, reqwest::StatusCode::OK, "{:?}", reply.body);

    // What the tree still allows reaches the disk, so the refusals above were not a stall.
    new_folder_reaches_disk(&owner, project, &root, "docs").await;
    assert_eq!(
        std::fs::read_to_string(root.join(".git/config")).expect("config"),
        config
    );
    assert!(!root.join("node_modules/.git").exists());
    assert!(!root.join("trace.log").exists());
    assert_eq!(
        std::fs::read_to_string(root.join("build/out.txt")).expect("out"),
        "ignored",
        "the ignored folder on disk is untouched"
    );
    server.finish().await;
}

db_tests!(
    directory_round_trip,
    admins_open_server_folders,
    git_and_ignored_names_never_reach_the_disk
);
