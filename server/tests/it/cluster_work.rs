//! Terminals and runs across nodes: a terminal or a run lives in the process that started it,
//! and members on any other node list it, type into it, size it, grant and close it, feed a
//! run's stdin and stop it, through the owner. When the owner is killed (`kill -9`), the other
//! nodes show its terminals and runs as ended once its lease runs out. Same PostgreSQL and
//! NATS as `cluster`, and skipped (outside CI) the same way.

use std::time::Duration;

use app::{live::events::ClientEvent, types::runs::StopReason};
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    cluster::two_nodes,
    common::{Api, tab::TabClient},
    files::{upload, zip_of},
    runs::{detect, file_id, output_of, run_ended, start_ok},
    terminals::{keys, latest, open, output},
};

/// Node one's lease (15 s) runs out and a sweep (every 5 s) notices, with room for a slow
/// machine.
const AFTER_KILL: Duration = Duration::from_secs(40);

/// Echoes stdin, line by line, until it is stopped.
const ECHO: &[u8] = b"import sys\nprint('ready', flush=True)\nfor line in sys.stdin:\n    \
                      print('got', line.strip(), flush=True)\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminals_and_runs_of_one_node_are_steered_from_another_and_end_with_it() {
    let Some((db, mut one, two)) = two_nodes().await else {
        return;
    };
    let owner = Api::at(&one.base);
    owner.signup("tess").await;
    let res = upload(&owner, "Steer", zip_of(&[("echo.py", ECHO)])).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let project: i64 = res.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap_or_default()
        .trim_start_matches("/p/")
        .parse()
        .expect("the import leads to the project");
    let via_two = owner.on(&two.base);
    let mut tab = TabClient::connect(&two.ws(&format!("/ws?project={project}")), &owner.cookie())
        .await
        .expect("a tab on node two");

    // A terminal opened through node one.
    let r = open(&owner, project).await;
    if r.status == StatusCode::SERVICE_UNAVAILABLE {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but node one cannot open a terminal: {}",
            r.body
        );
        eprintln!("skipped: no sandbox here ({})", r.body);
        return;
    }
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let term: app::types::terminals::TermInfo = serde_json::from_value(r.body).expect("info");
    // Listed through node two, and announced to its tab.
    let now = via_two
        .json_ok("terminals/now", json!({ "project": project }))
        .await;
    assert_eq!(now[0]["term"]["id"], term.id.0, "{now}");
    tab.until("the terminal on node two's tab", |t| {
        latest(t, term.id).is_some()
    })
    .await;

    // Typed into and sized from node two's tab; the output comes back to it.
    keys(&mut tab, term.id, "echo across-$((40 + 2))\r").await;
    tab.until("the command's output on node two", |t| {
        output(t, term.id).contains("across-42")
    })
    .await;
    tab.event(&ClientEvent::TermAttach {
        term: term.id,
        cols: 61,
        rows: 19,
    })
    .await;
    tab.until("the size node two's view asked for", |t| {
        latest(t, term.id).is_some_and(|i| (i.cols, i.rows) == (61, 19))
    })
    .await;
    // The owner's rules hold on the way: a made-up terminal of node one is refused.
    let bogus = json!({ "project": project, "term": term.id.0 + 1000 });
    assert_eq!(
        via_two.json("terminals/close", bogus).await.status,
        StatusCode::NOT_FOUND
    );
    // Closed through node two.
    via_two
        .json_ok(
            "terminals/close",
            json!({ "project": project, "term": term.id }),
        )
        .await;
    tab.until("the terminal closed", |t| {
        latest(t, term.id).is_some_and(|i| i.ended.is_some())
    })
    .await;
    let now = via_two
        .json_ok("terminals/now", json!({ "project": project }))
        .await;
    assert_eq!(now, json!([]), "a closed terminal is not listed");

    // A run started through node one: listed, fed and stopped through node two.
    let file = file_id(&owner, project, "echo.py").await;
    let run = start_ok(&owner, project, detect(file)).await;
    tab.until("the run's first line on node two", |t| {
        output_of(t, run.id.0).contains("ready")
    })
    .await;
    let now = via_two
        .json_ok("runs/now", json!({ "project": project }))
        .await;
    assert_eq!(now[0]["run"]["id"], run.id.0, "{now}");
    let replayed: String = now[0]["chunks"]
        .as_array()
        .expect("chunks")
        .iter()
        .map(|c| c["text"].as_str().unwrap_or_default())
        .collect();
    assert!(
        replayed.contains("ready"),
        "node one's output so far: {now}"
    );
    // One run per configuration counts across nodes.
    let again = crate::runs::start(&via_two, project, detect(file)).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    via_two
        .json_ok(
            "runs/stdin",
            json!({ "project": project, "run": run.id, "line": "from two" }),
        )
        .await;
    tab.until("the run's answer to node two's line", |t| {
        output_of(t, run.id.0).contains("got from two")
    })
    .await;
    via_two
        .json_ok("runs/stop", json!({ "project": project, "run": run.id }))
        .await;
    tab.until("the run stopped", |t| run_ended(t, run.id.0).is_some())
        .await;
    assert!(
        matches!(
            run_ended(&tab, run.id.0).and_then(|r| r.reason),
            Some(StopReason::StoppedBy { .. })
        ),
        "{:?}",
        run_ended(&tab, run.id.0)
    );

    // Node one dies with a terminal and a run going: node two shows both ended.
    let term =
        serde_json::from_value::<app::types::terminals::TermInfo>(open(&owner, project).await.body)
            .expect("a second terminal");
    let run = start_ok(&owner, project, detect(file)).await;
    tab.until("the second run going", |t| {
        output_of(t, run.id.0).contains("ready")
    })
    .await;
    one.kill();
    tab.until_within("node one's terminal and run ended", AFTER_KILL, |t| {
        latest(t, term.id).is_some_and(|i| i.ended.is_some()) && run_ended(t, run.id.0).is_some()
    })
    .await;
    assert_eq!(
        run_ended(&tab, run.id.0).and_then(|r| r.reason),
        Some(StopReason::ServerStopped)
    );
    for what in ["terminals/now", "runs/now"] {
        let now = via_two.json_ok(what, json!({ "project": project })).await;
        assert_eq!(now, json!([]), "{what} after node one died");
    }
    // And the project goes on: node two starts the same run again.
    let again = start_ok(&via_two, project, detect(file)).await;
    tab.until("the run going on node two", |t| {
        output_of(t, again.id.0).contains("ready")
    })
    .await;
    drop((tab, one, two));
    db.drop().await;
}
