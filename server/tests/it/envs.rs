//! Project environments end to end: who may change what (owners: environments and secrets;
//! editors: plain variables; viewers: nothing), secrets sealed in the database (their
//! plaintext is nowhere in it) and never returned by any server function, present in the
//! environment of a run and a terminal started in the environment and masked as •••• in
//! their output (also when a program writes a secret in two pieces), every change in the
//! audit log, unknown ids and other projects' environments refused, and a server whose key
//! changed refusing to start a run rather than running it without its secrets.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    common::{Api, Backend},
    runs::{file_id, output_of, run_ended, setup, tab},
    terminals::{keys, output},
};
use app::types::{TermId, runs::RunInfo, terminals::TermInfo};

/// A secret value that appears nowhere else (the database scan looks for it).
const SECRET: &str = "tk-9f8e7d6c5b4a3928";

const SHOW: &[u8] = b"import os, sys, time
print('token is', os.environ['API_TOKEN'], flush=True)
print('mode', os.environ['MODE'], os.environ['TANDEM_ENVIRONMENT'], flush=True)
t = os.environ['API_TOKEN']
sys.stdout.write('split ' + t[:6]); sys.stdout.flush()
time.sleep(0.05)
sys.stdout.write(t[6:] + ' end\\n'); sys.stdout.flush()
";

async fn envs(api: &Api, project: i64) -> Value {
    api.json_ok("envs/list", json!({ "project": project }))
        .await
}

async fn set(
    api: &Api,
    project: i64,
    env: i64,
    name: &str,
    value: &str,
    secret: bool,
) -> crate::common::Reply {
    api.json(
        "envs/set",
        json!({ "project": project, "env": env, "name": name, "value": value, "secret": secret }),
    )
    .await
}

fn var<'a>(list: &'a Value, env: &str, name: &str) -> &'a Value {
    list["list"]
        .as_array()
        .and_then(|l| l.iter().find(|e| e["name"] == env))
        .and_then(|e| e["vars"].as_array())
        .and_then(|vars| vars.iter().find(|v| v["name"] == name))
        .unwrap_or_else(|| panic!("no {name} in {env}: {list}"))
}

async fn start_in(api: &Api, project: i64, file: i64, env: Option<&str>) -> crate::common::Reply {
    api.json(
        "runs/start",
        json!({ "project": project, "target": { "kind": "detect", "file": file },
                "restart": false, "environment": env }),
    )
    .await
}

async fn secrets_are_sealed_never_returned_and_masked(backend: Backend) {
    let Some(mut s) = setup(backend, &[("show.py", SHOW)], |_| {}).await else {
        return;
    };
    let p = s.project;

    // Who may do what.
    assert_eq!(envs(&s.viewer, p).await["list"], json!([]));
    for api in [&s.viewer, &s.editor] {
        let r = api
            .json("envs/create", json!({ "project": p, "name": "staging" }))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
    let bad = s
        .owner
        .json("envs/create", json!({ "project": p, "name": "a b" }))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let env = s
        .owner
        .json_ok("envs/create", json!({ "project": p, "name": "staging" }))
        .await
        .as_i64()
        .expect("an id");
    let again = s
        .owner
        .json("envs/create", json!({ "project": p, "name": "staging" }))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);

    assert_eq!(
        set(&s.editor, p, env, "MODE", "fast", false).await.status,
        StatusCode::OK
    );
    let r = set(&s.editor, p, env, "API_TOKEN", SECRET, true).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "editors do not set secrets: {}",
        r.body
    );
    let r = set(&s.viewer, p, env, "MODE", "slow", false).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = set(&s.owner, p, env, "API_TOKEN", "abc", true).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "too short to mask: {}",
        r.body
    );
    let r = set(&s.owner, p, env, "PATH", "/evil", false).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        set(&s.owner, p, env, "API_TOKEN", SECRET, true)
            .await
            .status,
        StatusCode::OK
    );
    // An editor cannot turn the secret into a plain variable (and so read it) or remove it.
    for (endpoint, body) in [
        (
            "envs/set",
            json!({ "project": p, "env": env, "name": "API_TOKEN", "value": "x", "secret": false }),
        ),
        (
            "envs/remove",
            json!({ "project": p, "env": env, "name": "API_TOKEN" }),
        ),
    ] {
        let r = s.editor.json(endpoint, body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{endpoint}: {}", r.body);
    }

    // Every member sees the variable's value and who set the secret, never the secret.
    for api in [&s.owner, &s.editor, &s.viewer] {
        let list = envs(api, p).await;
        assert!(!list.to_string().contains(SECRET), "{list}");
        assert_eq!(var(&list, "staging", "MODE")["value"], "fast");
        let secret = var(&list, "staging", "API_TOKEN");
        assert_eq!(secret["secret"], true);
        assert_eq!(secret["value"], Value::Null);
        assert!(secret["set_at"].as_i64().unwrap_or(0) > 0);
    }
    let configs = s
        .editor
        .json_ok("runs/configs", json!({ "project": p, "file": null }))
        .await;
    assert_eq!(configs["environments"], json!(["staging"]));

    // Sealed at rest: the plaintext is in no row (and, on SQLite, nowhere in the files).
    let db = s.server.db().await;
    use sea_orm::{ConnectionTrait, Statement};
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT value FROM environment_vars WHERE secret = TRUE".to_owned(),
        ))
        .await
        .expect("query");
    assert_eq!(rows.len(), 1);
    let sealed: Vec<u8> = rows[0].try_get_by_index(0).expect("bytes");
    assert!(!sealed.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));
    if backend == Backend::Sqlite {
        for name in ["tandem.db", "tandem.db-wal"] {
            if let Ok(bytes) = std::fs::read(s.server.data_dir.join(name)) {
                assert!(
                    !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                    "the secret's plaintext is in {name}"
                );
            }
        }
    }

    // A run in the environment gets both; its output shows the secret as ••••.
    let file = file_id(&s.owner, p, "show.py").await;
    let mut watcher = tab(&s, &s.viewer).await;
    let missing = start_in(&s.editor, p, file, Some("nope")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);
    let r = start_in(&s.editor, p, file, Some("staging")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let run: RunInfo = serde_json::from_value(r.body).expect("run");
    assert_eq!(run.environment.as_deref(), Some("staging"));
    watcher
        .until("the run's end", |t| run_ended(t, run.id.0).is_some())
        .await;
    let ended = run_ended(&watcher, run.id.0).expect("ended");
    assert_eq!(
        ended.exit_code,
        Some(0),
        "{}",
        output_of(&watcher, run.id.0)
    );
    let out = output_of(&watcher, run.id.0);
    assert!(
        !out.contains(SECRET) && !out.contains(&SECRET[6..]),
        "{out}"
    );
    assert!(out.contains("token is ••••\n"), "{out}");
    assert!(out.contains("mode fast staging\n"), "{out}");
    assert!(
        out.contains("split •••• end\n"),
        "a secret in two writes: {out}"
    );
    let record = s
        .viewer
        .json_ok("runs/record", json!({ "project": p, "run": run.id }))
        .await;
    assert!(!record.to_string().contains(SECRET), "{record}");
    assert_eq!(record["run"]["environment"], "staging");
    // Without an environment the run gets neither.
    let r = start_in(&s.editor, p, file, None).await;
    let plain: RunInfo = serde_json::from_value(r.body).expect("run");
    watcher
        .until("the plain run's end", |t| {
            run_ended(t, plain.id.0).is_some()
        })
        .await;
    assert_ne!(
        run_ended(&watcher, plain.id.0).and_then(|r| r.exit_code),
        Some(0)
    );
    assert!(output_of(&watcher, plain.id.0).contains("KeyError"));

    // A terminal in the environment: the secret is in its shell, masked on every screen.
    let r = s
        .editor
        .json(
            "terminals/open",
            json!({ "project": p, "cols": 80, "rows": 24, "environment": "staging" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let term: TermInfo = serde_json::from_value(r.body).expect("terminal");
    assert_eq!(term.environment.as_deref(), Some("staging"));
    let mut typist = tab(&s, &s.editor).await;
    keys(
        &mut typist,
        term.id,
        "echo \"[$API_TOKEN]\" \"<$TANDEM_ENVIRONMENT>\"\r",
    )
    .await;
    let shown = |t: &crate::common::tab::TabClient, id: TermId| output(t, id);
    watcher
        .until("the echo", |t| shown(t, term.id).contains("<staging>"))
        .await;
    let screen = shown(&watcher, term.id);
    assert!(screen.contains("[••••]"), "{screen}");
    assert!(!screen.contains(SECRET), "{screen}");

    // Every change is in the audit log, without the value.
    let log = s
        .owner
        .json_ok(
            "audit/list",
            json!({ "project": p, "filter": { "action": "env_changed" }, "before": null }),
        )
        .await;
    let details: Vec<String> = log["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["target"].as_str().unwrap_or(""),
                e["detail"].as_str().unwrap_or("")
            )
        })
        .collect();
    for want in [
        "staging: created",
        "staging: added the variable MODE",
        "staging: set the secret API_TOKEN",
    ] {
        assert!(details.iter().any(|d| d == want), "{want} in {details:?}");
    }
    assert!(!log.to_string().contains(SECRET));

    // Another project's owner reaches none of it by id.
    let other = s.server.client();
    other.signup(&crate::runs::unique("oona")).await;
    let theirs = other.create_project("Theirs").await;
    for (endpoint, body) in [
        (
            "envs/set",
            json!({ "project": theirs, "env": env, "name": "X", "value": "y", "secret": false }),
        ),
        (
            "envs/remove",
            json!({ "project": theirs, "env": env, "name": "MODE" }),
        ),
        ("envs/delete", json!({ "project": theirs, "env": env })),
    ] {
        let r = other.json(endpoint, body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{endpoint}: {}", r.body);
    }
    let r = other.json("envs/list", json!({ "project": p })).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // A server whose key changed does not run without the secrets: it says why.
    drop((watcher, typist));
    let other_key = "ff".repeat(32);
    s.server.restart(|c| c.secrets_key = Some(other_key)).await;
    let editor = s.editor.on(&s.server.url(""));
    let r = start_in(&editor, p, file, Some("staging")).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(r.body.to_string().contains("API_TOKEN"), "{}", r.body);

    // The owner removes the secret, then the environment with what is left.
    let owner = s.owner.on(&s.server.url(""));
    owner
        .json_ok(
            "envs/remove",
            json!({ "project": p, "env": env, "name": "API_TOKEN" }),
        )
        .await;
    owner
        .json_ok("envs/delete", json!({ "project": p, "env": env }))
        .await;
    assert_eq!(envs(&owner, p).await["list"], json!([]));
    let gone = owner
        .json("envs/delete", json!({ "project": p, "env": env }))
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    s.server.finish().await;
}

/// The settings page's AI and environments sections render their data on every server render.
/// Their resources were once made inside the page's `Suspend`, and now and then (about one
/// render in 150 under load) one lost its owner while it loaded, rendered "internal error"
/// and left the browser's copy unable to hydrate. Many renders at once, so a regression shows.
async fn the_settings_page_renders_its_sections_every_time(backend: Backend) {
    let Some(s) = setup(backend, &[("show.py", SHOW)], |_| {}).await else {
        return;
    };
    let p = s.project;
    s.owner
        .json_ok("envs/create", json!({ "project": p, "name": "staging" }))
        .await;
    let path = format!("/p/{p}/settings");
    for _ in 0..25 {
        let pages = futures_util::future::join_all((0..6).map(|_| async {
            let r = s.owner.get(&path).await;
            (r.status(), r.text().await.unwrap_or_default())
        }))
        .await;
        for (status, html) in pages {
            assert_eq!(status, StatusCode::OK);
            assert!(
                html.contains(r#"data-env="staging""#),
                "no environment: {html}"
            );
            assert!(
                html.contains(r#"data-test="ai-switches""#),
                "no AI section: {html}"
            );
            assert!(
                !html.contains(r#"<p class="form-error">"#),
                "a section failed: {html}"
            );
        }
    }
    s.server.finish().await;
}

crate::db_tests!(
    secrets_are_sealed_never_returned_and_masked,
    the_settings_page_renders_its_sections_every_time
);
