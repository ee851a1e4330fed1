//! Runs end to end: the lifecycle with live output on the project channel, roles (a viewer's
//! run, stop and stdin refused), the replay for a member who arrives mid-run, the history,
//! the working folder in step with the tree, and the sandbox under attack: fork bomb, endless
//! loop, memory hog, a flood of output, the network, the server's files and environment,
//! `kill -9 -1`, symlinks out, a process that ignores SIGTERM and one left behind. Every
//! attack ends with the reason shown to members while the server keeps answering.
//!
//! Where bubblewrap cannot make a sandbox (no user namespaces), the suite says so and passes
//! only outside CI: under `CI=true` that is a broken setup and fails.

use std::time::{Duration, Instant};

use crate::common::{Api, Backend, TestServer, tab::TabClient};
use crate::files::{upload, zip_of};
use app::{
    live::events::ServerEvent,
    types::runs::{RunInfo, RunRecord, StopReason},
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Whether this machine can run sandboxes; false (outside CI) skips the test.
async fn sandbox_or_skip(server: &TestServer) -> bool {
    match server.state().runs.describe() {
        Ok(_) => true,
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but runs cannot be sandboxed here: {why}"
            );
            eprintln!("runs disabled here ({why}): sandbox tests skipped");
            false
        }
    }
}

pub(crate) struct Setup {
    pub(crate) server: TestServer,
    pub(crate) owner: Api,
    pub(crate) editor: Api,
    pub(crate) viewer: Api,
    pub(crate) project: i64,
}

pub(crate) fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}{}", N.fetch_add(1, Ordering::Relaxed))
}

/// A project holding `files`, owned by one user with an editor and a viewer.
pub(crate) async fn setup(
    backend: Backend,
    files: &[(&str, &[u8])],
    tweak: impl FnOnce(&mut server::config::Config),
) -> Option<Setup> {
    let server = TestServer::start_with(backend, tweak).await;
    if !sandbox_or_skip(&server).await {
        return None;
    }
    let (owner, editor, viewer) = (server.client(), server.client(), server.client());
    let names = [unique("rhea"), unique("eddy"), unique("vic")];
    owner.signup(&names[0]).await;
    editor.signup(&names[1]).await;
    viewer.signup(&names[2]).await;
    let res = upload(&owner, "Runner", zip_of(files)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let project: i64 = res.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap_or_default()
        .trim_start_matches("/p/")
        .parse()
        .expect("the import leads to the project");
    owner.invite(project, &names[1], "editor").await;
    owner.invite(project, &names[2], "viewer").await;
    Some(Setup {
        server,
        owner,
        editor,
        viewer,
        project,
    })
}

async fn entry(api: &Api, project: i64, name: &str) -> Value {
    let list = api
        .json_ok("files/list", json!({ "project": project }))
        .await;
    list.as_array()
        .and_then(|l| l.iter().find(|e| e["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no file {name} in {list}"))
}

pub(crate) async fn file_id(api: &Api, project: i64, name: &str) -> i64 {
    entry(api, project, name).await["id"].as_i64().expect("id")
}

pub(crate) async fn doc_id(api: &Api, project: i64, name: &str) -> i64 {
    let e = entry(api, project, name).await;
    e["doc"]
        .as_i64()
        .unwrap_or_else(|| panic!("no document: {e}"))
}

pub(crate) async fn start(api: &Api, project: i64, target: Value) -> crate::common::Reply {
    api.json(
        "runs/start",
        json!({ "project": project, "target": target, "restart": false }),
    )
    .await
}

pub(crate) async fn start_ok(api: &Api, project: i64, target: Value) -> RunInfo {
    let r = start(api, project, target).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    serde_json::from_value(r.body).expect("run info")
}

pub(crate) fn detect(file: i64) -> Value {
    json!({ "kind": "detect", "file": file })
}

fn config(name: &str) -> Value {
    json!({ "kind": "config", "name": name })
}

async fn record(api: &Api, project: i64, run: &RunInfo) -> RunRecord {
    let v = api
        .json_ok("runs/record", json!({ "project": project, "run": run.id }))
        .await;
    serde_json::from_value(v).expect("record")
}

/// Polls the run until it has ended; fails after `within`.
async fn ended(api: &Api, project: i64, run: &RunInfo, within: Duration) -> RunRecord {
    let deadline = Instant::now() + within;
    loop {
        let r = record(api, project, run).await;
        if !r.run.running() {
            return r;
        }
        assert!(Instant::now() < deadline, "run still going: {r:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The server answers `/healthz` at once while an attack runs.
pub(crate) async fn responsive(s: &Setup) {
    let t = Instant::now();
    let res = s.owner.get("/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "healthz took {:?}",
        t.elapsed()
    );
}

pub(crate) async fn tab(s: &Setup, api: &Api) -> TabClient {
    let url = s.server.ws_url(&format!("/ws?project={}", s.project));
    TabClient::connect(&url, &api.cookie()).await.expect("tab")
}

pub(crate) fn output_of(tab: &TabClient, run: i64) -> String {
    tab.events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::RunOutput { run: r, chunks, .. } if r.0 == run => {
                Some(chunks.iter().map(|c| c.text.clone()).collect::<String>())
            }
            _ => None,
        })
        .collect()
}

pub(crate) fn run_ended(tab: &TabClient, run: i64) -> Option<RunInfo> {
    tab.events.iter().rev().find_map(|e| match e {
        ServerEvent::Run { run: r } if r.id.0 == run && !r.running() => Some(r.clone()),
        _ => None,
    })
}

async fn lifecycle_roles_replay_and_history(backend: Backend) {
    let slow =
        b"import time\nfor i in range(6):\n    print('line', i, flush=True)\n    time.sleep(0.3)\n";
    let Some(s) = setup(backend, &[("slow.py", slow)], |_| {}).await else {
        return;
    };
    let file = file_id(&s.owner, s.project, "slow.py").await;
    let configs = s
        .viewer
        .json_ok(
            "runs/configs",
            json!({ "project": s.project, "file": file }),
        )
        .await;
    assert_eq!(configs["configs"][0]["name"], "slow.py");
    assert_eq!(configs["configs"][0]["source"], "detected");
    assert!(
        configs["configs"][0]["command"]
            .as_str()
            .unwrap_or_default()
            .contains("python3 'slow.py'")
    );

    let mut watcher = tab(&s, &s.viewer).await;
    // A viewer watches and never steers.
    let r = start(&s.viewer, s.project, detect(file)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let run = start_ok(&s.editor, s.project, detect(file)).await;
    assert!(run.running());
    let again = start(&s.owner, s.project, detect(file)).await;
    assert_eq!(
        again.status,
        StatusCode::CONFLICT,
        "one run per configuration"
    );
    for (endpoint, body) in [
        ("runs/stop", json!({ "project": s.project, "run": run.id })),
        (
            "runs/stdin",
            json!({ "project": s.project, "run": run.id, "line": "x" }),
        ),
    ] {
        assert_eq!(
            s.viewer.json(endpoint, body).await.status,
            StatusCode::FORBIDDEN
        );
    }
    // The watcher sees lines arrive while it runs.
    watcher
        .until("the first lines", |t| {
            output_of(t, run.id.0).contains("line 1")
        })
        .await;
    assert!(
        run_ended(&watcher, run.id.0).is_none(),
        "lines arrive before the end"
    );
    // A member arriving mid-run gets what came so far.
    let now = s
        .viewer
        .json_ok("runs/now", json!({ "project": s.project }))
        .await;
    let replay = &now[0];
    assert_eq!(replay["run"]["id"], run.id.0);
    let text: String = replay["chunks"]
        .as_array()
        .expect("chunks")
        .iter()
        .map(|c| c["text"].as_str().unwrap_or_default())
        .collect();
    assert!(text.contains("line 0"), "{replay}");
    assert_eq!(replay["end"].as_u64(), Some(text.len() as u64));

    watcher
        .until("the end of the run", |t| run_ended(t, run.id.0).is_some())
        .await;
    let end = run_ended(&watcher, run.id.0).expect("ended");
    assert_eq!(end.exit_code, Some(0));
    assert_eq!(end.reason, None);
    assert_eq!(
        output_of(&watcher, run.id.0),
        (0..6).map(|i| format!("line {i}\n")).collect::<String>()
    );
    let history = s
        .viewer
        .json_ok("runs/history", json!({ "project": s.project }))
        .await;
    assert_eq!(history[0]["id"], run.id.0);
    assert_eq!(history[0]["exit_code"], 0);
    let rec = record(&s.viewer, s.project, &run).await;
    assert!(rec.tail.ends_with("line 5\n"), "{}", rec.tail);
    assert!(
        s.server
            .metrics()
            .await
            .contains("tandem_runs_finished_total{outcome=\"success\"}")
    );
    // A stranger sees nothing of it.
    let stranger = s.server.client();
    stranger.signup(&unique("stranger")).await;
    let r = stranger
        .json("runs/history", json!({ "project": s.project }))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    s.server.finish().await;
}

async fn stdin_stop_and_restart(backend: Backend) {
    let echo = b"import sys\nfor line in sys.stdin:\n    print('got', line.strip(), flush=True)\n";
    let Some(s) = setup(backend, &[("echo.py", echo)], |_| {}).await else {
        return;
    };
    let file = file_id(&s.owner, s.project, "echo.py").await;
    let mut watcher = tab(&s, &s.viewer).await;
    let run = start_ok(&s.editor, s.project, detect(file)).await;
    let r = s
        .owner
        .json(
            "runs/stdin",
            json!({ "project": s.project, "run": run.id, "line": "hello" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    watcher
        .until("the program's answer", |t| {
            output_of(t, run.id.0).contains("got hello")
        })
        .await;
    assert!(
        output_of(&watcher, run.id.0).starts_with("hello\n"),
        "the input is echoed"
    );
    // Restart stops the running one and starts anew.
    let r = s
        .owner
        .json(
            "runs/start",
            json!({ "project": s.project, "target": detect(file), "restart": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let second: RunInfo = serde_json::from_value(r.body).expect("run");
    let first = ended(&s.owner, s.project, &run, Duration::from_secs(10)).await;
    assert!(
        matches!(first.run.reason, Some(StopReason::StoppedBy { .. })),
        "{first:?}"
    );
    let r = s
        .editor
        .json(
            "runs/stop",
            json!({ "project": s.project, "run": second.id }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let rec = ended(&s.owner, s.project, &second, Duration::from_secs(10)).await;
    assert!(
        rec.run.outcome().starts_with("stopped by "),
        "{}",
        rec.run.outcome()
    );
    assert!(matches!(rec.run.reason, Some(StopReason::StoppedBy { .. })));
    // Both are in the project's audit log, with who.
    let started = crate::audit::entry(&s.owner, s.project, "run_started").await;
    assert!(
        started["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&format!("run {}", second.id)))
    );
    let stopped = crate::audit::entry(&s.owner, s.project, "run_stopped").await;
    assert_eq!(stopped["target"], format!("run {}", second.id));
    assert_ne!(
        stopped["actor_name"], started["actor_name"],
        "the editor stopped it"
    );
    // Unknown runs are a clear 404.
    let r = s
        .owner
        .json("runs/stop", json!({ "project": s.project, "run": 999_999 }))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    s.server.finish().await;
}

async fn edits_reach_the_run_and_its_files_reach_the_tree(backend: Backend) {
    let toml = b"[[run]]\nname = \"show\"\ncommand = \"cat notes.txt; mkdir -p out target; echo made > out/report.txt; echo cache > target/x\"\n";
    let Some(s) = setup(
        backend,
        &[("tandem.toml", toml), ("notes.txt", b"first\n")],
        |_| {},
    )
    .await
    else {
        return;
    };
    // An edit not yet written anywhere: the run must see it.
    let doc = doc_id(&s.owner, s.project, "notes.txt").await;
    let mut editor_tab = tab(&s, &s.editor).await;
    editor_tab.open(doc).await;
    editor_tab
        .until("the document", |t| t.opened(doc).is_some())
        .await;
    editor_tab.insert(doc, 0, "edited ").await;
    assert!(editor_tab.wait_saved(doc, Duration::from_secs(5)).await);
    let run = start_ok(&s.editor, s.project, config("show")).await;
    let rec = ended(&s.owner, s.project, &run, Duration::from_secs(20)).await;
    assert_eq!(rec.run.exit_code, Some(0), "{rec:?}");
    assert!(rec.tail.contains("edited first"), "{}", rec.tail);
    // The report comes into the tree; the build cache does not.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list = s
            .owner
            .json_ok("files/list", json!({ "project": s.project }))
            .await;
        let names: Vec<&str> = list
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|e| e["name"].as_str())
            .collect();
        assert!(!names.contains(&"target"), "{names:?}");
        if names.contains(&"report.txt") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "report.txt never reached the tree: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.server.finish().await;
}

/// Runs `script` (a `.sh` file) and returns how it ended.
async fn attack(s: &Setup, name: &str, within: Duration) -> RunRecord {
    let file = file_id(&s.owner, s.project, name).await;
    let run = start_ok(&s.editor, s.project, detect(file)).await;
    responsive(s).await;
    ended(&s.owner, s.project, &run, within).await
}

async fn attack_fork_bomb_loop_and_memory(backend: Backend) {
    let Some(s) = setup(
        backend,
        &[
            // The shell stays on after starting the bomb: were it to exit first, the run
            // would end with "exit 0" and its leftovers killed, before the limit is reached.
            ("bomb.sh", b"bomb() { bomb | bomb & }; bomb; sleep 30\n"),
            ("spin.sh", b"while :; do :; done\n"),
            (
                "hog.py",
                b"x = []\nwhile True:\n    x.append(b'x' * (16 << 20))\n",
            ),
        ],
        |c| {
            c.runs.run_time_limit = 3;
            c.runs.run_memory_mib = 64;
            c.runs.run_max_processes = 32;
        },
    )
    .await
    else {
        return;
    };
    let bomb = attack(&s, "bomb.sh", Duration::from_secs(15)).await;
    assert!(
        matches!(
            bomb.run.reason,
            Some(StopReason::ProcessLimit { max: 32 } | StopReason::TimeLimit { .. })
        ),
        "{bomb:?}"
    );
    let spin = attack(&s, "spin.sh", Duration::from_secs(15)).await;
    assert_eq!(
        spin.run.reason,
        Some(StopReason::TimeLimit { secs: 3 }),
        "{spin:?}"
    );
    let took = spin.run.ended_at.unwrap_or_default() - spin.run.started_at;
    assert!((2_900..8_000).contains(&took), "stopped after {took} ms");
    let hog = attack(&s, "hog.py", Duration::from_secs(15)).await;
    assert_eq!(
        hog.run.reason,
        Some(StopReason::MemoryLimit { mib: 64 }),
        "{hog:?}"
    );
    let text = hog.run.outcome();
    assert!(text.starts_with("memory limit 64 MiB"), "{text}");
    s.server.finish().await;
}

async fn attack_flood_of_output(backend: Backend) {
    let Some(s) = setup(
        backend,
        &[("flood.sh", b"yes | head -c 1000000000\n")],
        |c| {
            c.runs.run_output_mib = 4;
            c.runs.run_output_kib_per_sec = 1 << 20;
        },
    )
    .await
    else {
        return;
    };
    let mut watcher = tab(&s, &s.viewer).await;
    let rec = attack(&s, "flood.sh", Duration::from_secs(20)).await;
    assert_eq!(
        rec.run.reason,
        Some(StopReason::OutputLimit { mib: 4 }),
        "{rec:?}"
    );
    watcher
        .until("the end", |t| run_ended(t, rec.run.id.0).is_some())
        .await;
    // Coalesced: a handful of events per MiB, not one per write.
    let events = watcher
        .events
        .iter()
        .filter(|e| matches!(e, ServerEvent::RunOutput { .. }))
        .count();
    let bytes = output_of(&watcher, rec.run.id.0).len();
    assert!(bytes >= 4 << 20, "{bytes}");
    assert!(events < 2_000, "{events} events for {bytes} bytes");
    s.server.finish().await;
}

async fn attack_network_files_environment_and_kill(backend: Backend) {
    let Some(s) = setup(backend, &[("probe.sh", b"true\n")], |_| {}).await else {
        return;
    };
    let data = s.server.data_dir.canonicalize().expect("data dir");
    let own = s.server.url("").trim_start_matches("http://").to_owned();
    let (_, own_port) = own.rsplit_once(':').expect("port");
    let script = format!(
        "python3 -c \"import socket; socket.create_connection(('127.0.0.1', 5432), 2)\" 2>/dev/null && echo DB-REACHED\n\
         python3 -c \"import socket; socket.create_connection(('127.0.0.1', {own_port}), 2)\" 2>/dev/null && echo SERVER-REACHED\n\
         echo x > /etc/tandem-test 2>/dev/null && echo ETC-WRITTEN\n\
         echo x > /root/tandem-test 2>/dev/null && echo ROOT-WRITTEN\n\
         echo x > {data}/owned 2>/dev/null && echo DATA-WRITTEN\n\
         cat {data}/tandem.db >/dev/null 2>&1 && echo DB-READ\n\
         ls {data} >/dev/null 2>&1 && echo DATA-LISTED\n\
         ln -s {data} leak; ls leak/ >/dev/null 2>&1 && echo LINK-FOLLOWED\n\
         env | grep -q -e CARGO_MANIFEST_DIR -e TANDEM_ && echo ENV-LEAKED\n\
         cat /proc/1/environ 2>/dev/null | tr '\\0' '\\n' | grep -q CARGO_MANIFEST_DIR && echo PROC-ENV-LEAKED\n\
         echo HOME=$HOME; id -u; echo done\n\
         sleep 300 & kill -9 -1; wait $!; echo \"background: $?\"\n",
        data = data.display()
    );
    let name = "escape.sh";
    s.owner
        .json_ok(
            "files/create",
            json!({ "project": s.project, "parent": null, "name": name, "kind": "file" }),
        )
        .await;
    let doc = doc_id(&s.owner, s.project, name).await;
    let mut t = tab(&s, &s.owner).await;
    t.open(doc).await;
    t.until("the document", |t| t.opened(doc).is_some()).await;
    t.insert(doc, 0, &script).await;
    assert!(t.wait_saved(doc, Duration::from_secs(5)).await);
    // A process of the server's user outside the sandbox, which `kill -9 -1` must not reach.
    let mut outside = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .expect("sleep");
    let rec = attack(&s, name, Duration::from_secs(30)).await;
    let survived = outside.try_wait().expect("try_wait").is_none();
    let _ = outside.kill();
    let _ = outside.wait();
    assert!(survived, "kill -9 -1 in a run reached a process outside it");
    for leak in [
        "DB-REACHED",
        "SERVER-REACHED",
        "ETC-WRITTEN",
        "ROOT-WRITTEN",
        "DATA-WRITTEN",
        "DB-READ",
        "DATA-LISTED",
        "LINK-FOLLOWED",
        "ENV-LEAKED",
        "PROC-ENV-LEAKED",
    ] {
        assert!(!rec.tail.contains(leak), "{leak}: {}", rec.tail);
    }
    // stdout and stderr are two pipes: the shell's "Killed" (stderr) may land before "done".
    assert!(
        rec.tail.contains("HOME=/tmp\n1000\n") && rec.tail.contains("done\n"),
        "{}",
        rec.tail
    );
    // `kill -9 -1` reaches everything in the sandbox but the caller (the run's own shell
    // included, so the run may end before the script reports), and nothing outside it.
    assert!(rec.run.ended_at.is_some());
    assert!(!data.join("owned").exists());
    responsive(&s).await;
    s.server.finish().await;
}

/// Pids on this machine whose command line contains `marker`.
pub(crate) fn processes_with(marker: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .chars()
                        .all(|c| c.is_ascii_digit())
                })
                .filter(|e| {
                    std::fs::read(e.path().join("cmdline"))
                        .map(|c| {
                            String::from_utf8_lossy(&c)
                                .replace('\0', " ")
                                .contains(marker)
                        })
                        .unwrap_or(false)
                })
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn attack_ignores_sigterm_and_leaves_a_child_behind(backend: Backend) {
    let Some(s) = setup(
        backend,
        &[
            (
                "stubborn.sh",
                b"trap '' TERM\nsleep 987651 &\necho ready\nwhile :; do sleep 1; done\n",
            ),
            ("leaver.sh", b"sleep 987652 &\necho bye\n"),
        ],
        |c| c.runs.run_stop_grace_secs = 1,
    )
    .await
    else {
        return;
    };
    let leaver = attack(&s, "leaver.sh", Duration::from_secs(15)).await;
    assert_eq!(leaver.run.exit_code, Some(0), "{leaver:?}");
    assert!(
        processes_with("987652").is_empty(),
        "the background sleep outlived its run"
    );

    let file = file_id(&s.owner, s.project, "stubborn.sh").await;
    let mut watcher = tab(&s, &s.viewer).await;
    let run = start_ok(&s.editor, s.project, detect(file)).await;
    watcher
        .until("ready", |t| output_of(t, run.id.0).contains("ready"))
        .await;
    let stop = Instant::now();
    let r = s
        .owner
        .json("runs/stop", json!({ "project": s.project, "run": run.id }))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    watcher
        .until("the end", |t| run_ended(t, run.id.0).is_some())
        .await;
    let end = run_ended(&watcher, run.id.0).expect("ended");
    assert!(
        matches!(end.reason, Some(StopReason::StoppedBy { .. })),
        "{end:?}"
    );
    assert!(
        stop.elapsed() >= Duration::from_millis(900),
        "SIGKILL came before the grace period"
    );
    assert!(
        processes_with("987651").is_empty(),
        "the sandbox's processes outlived Stop"
    );
    s.server.finish().await;
}

/// A busy run's CPU and memory arrive every second on the project channel, and a tab that
/// opens later gets them with the replay; the samples stop when it ends.
async fn usage_is_sampled_while_it_runs(backend: Backend) {
    // Busy for a while, holding about 40 MB.
    let busy = b"import time\nblock = b'x' * (40 * 1024 * 1024)\nend = time.time() + 30\nwhile time.time() < end:\n    pass\n";
    let Some(s) = setup(backend, &[("busy.py", busy)], |_| {}).await else {
        return;
    };
    let file = file_id(&s.owner, s.project, "busy.py").await;
    let mut watcher = tab(&s, &s.viewer).await;
    let run = start_ok(&s.editor, s.project, detect(file)).await;
    let samples = |t: &TabClient| -> Vec<app::types::runs::RunSample> {
        t.events
            .iter()
            .filter_map(|e| match e {
                ServerEvent::RunStats { run: r, sample } if *r == run.id => Some(*sample),
                _ => None,
            })
            .collect()
    };
    watcher
        .until("a sample of a busy run holding its memory", |t| {
            samples(t)
                .iter()
                .any(|x| x.cpu >= 300 && x.memory >= 30 << 20)
        })
        .await;
    let got = samples(&watcher);
    assert!(
        got.windows(2).all(|w| w[0].at <= w[1].at),
        "in order: {got:?}"
    );
    // A tab opening now gets what was sampled so far with the replay.
    let now: Vec<app::types::runs::RunReplay> = serde_json::from_value(
        s.viewer
            .json_ok("runs/now", json!({ "project": s.project }))
            .await,
    )
    .expect("replays");
    let replay = now.iter().find(|r| r.run.id == run.id).expect("running");
    assert!(replay.samples.len() >= got.len().min(2), "{replay:?}");
    // Stopped: the samples end with it.
    s.owner
        .json_ok("runs/stop", json!({ "project": s.project, "run": run.id }))
        .await;
    ended(&s.owner, s.project, &run, Duration::from_secs(10)).await;
    let at_end = samples(&watcher).len();
    watcher.pump(Duration::from_millis(1500)).await; // quiet is the assertion
    assert!(
        samples(&watcher).len() <= at_end + 1,
        "no samples after the end"
    );
    s.server.finish().await;
}

db_tests!(
    usage_is_sampled_while_it_runs,
    lifecycle_roles_replay_and_history,
    stdin_stop_and_restart,
    edits_reach_the_run_and_its_files_reach_the_tree,
    attack_fork_bomb_loop_and_memory,
    attack_flood_of_output,
    attack_network_files_environment_and_kill,
    attack_ignores_sigterm_and_leaves_a_child_behind,
);
