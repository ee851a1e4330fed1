//! The team dashboard's costs.
//!
//! 1. First load with 50 projects and 100,000 activity entries: a release server on a fresh
//!    SQLite file, one person a member of 50 projects holding 85,000 edit bursts and 15,000
//!    chat messages over the last 20 days (plus the projects' joins). Median, p90 and max of
//!    the server function (`dashboard/team`: feed page, sparklines, presence, runs, mentions)
//!    and of the whole server-rendered page (`GET /`), sequential requests.
//! 2. The feed on the edit path: `DbDocStore::append` of 1-update batches (a person typing)
//!    without counting (before) and with the edit tally (after), CPU per update; and the
//!    tally's own cost per update.
//!
//! cargo bench -p server --bench dashboard -- [REQUESTS] [RUNS]

use std::time::{Duration, Instant};

use bytes::Bytes;
use collab::store::{Author, DocStore, Logged};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use server::{
    config::Config,
    db::entities::{chat_message, document, edit_activity},
    editor::{edits::EditTally, store::DbDocStore},
};

const PASSWORD: &str = "correct horse battery staple";
const PROJECTS: usize = 50;
const EDITS: usize = 85_000;
const CHATS: usize = 15_000;
const DAY_MS: i64 = 86_400_000;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    format!(
        "median {:.2} ms  p90 {:.2} ms  max {:.2} ms",
        ms(at(0.5)),
        ms(at(0.9)),
        ms(samples[samples.len() - 1])
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// CPU time of this process (every thread: the runtime's and SQLite's), for the per-update
/// cost.
fn cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let requests: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(30);
    let runs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    first_load(requests).await?;
    edit_path(runs).await?;
    Ok(())
}

async fn first_load(requests: usize) -> Result<(), Box<dyn std::error::Error>> {
    let data = std::env::temp_dir().join(format!("tandem_bench_dash_{}", std::process::id()));
    let mut config = Config::for_data_dir(&data);
    config.bind = "127.0.0.1:0".parse()?;
    config.log_filter = "warn".into();
    config.auth.max_projects_per_user = 100;
    let running = server::start(config).await?;
    let client = reqwest::Client::builder().cookie_store(true).build()?;
    let me: serde_json::Value = client
        .post(running.url("/api/signup"))
        .form(&[("name", "bench"), ("password", PASSWORD)])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let me = me["id"].as_i64().ok_or("no user id")?;
    let mut projects = Vec::new();
    for i in 0..PROJECTS {
        let p: serde_json::Value = client
            .post(running.url("/api/projects/create"))
            .form(&[("name", format!("Project {i:02}"))])
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        projects.push(p["id"].as_i64().ok_or("no project id")?);
    }
    let db = &running.state.db;
    let now = server::db::now_ms();
    let seed = Instant::now();
    for chunk in (0..EDITS).collect::<Vec<_>>().chunks(1000) {
        let rows = chunk.iter().map(|&i| {
            let at = now - (i as i64 * 20 * DAY_MS / EDITS as i64);
            edit_activity::ActiveModel {
                project_id: Set(projects[i % PROJECTS]),
                user_id: Set(me),
                file_id: Set(i as i64 % 40 + 1),
                updates: Set(30),
                first_at: Set(at - 60_000),
                at: Set(at),
                ..Default::default()
            }
        });
        edit_activity::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    for chunk in (0..CHATS).collect::<Vec<_>>().chunks(1000) {
        let rows = chunk.iter().map(|&i| {
            let at = now / 1000 - (i as i64 * 20 * 86_400 / CHATS as i64);
            chat_message::ActiveModel {
                project_id: Set(projects[i % PROJECTS]),
                author_id: Set(me),
                client_id: Set(format!("seed-{i}")),
                kind: Set("user".into()),
                body: Set(format!("message {i} about the **build**")),
                created_at: Set(at),
                ..Default::default()
            }
        });
        chat_message::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    println!(
        "seeded {PROJECTS} projects, {EDITS} edit bursts and {CHATS} chat messages in {:.1} s",
        seed.elapsed().as_secs_f64()
    );
    let url = running.url("/api/dashboard/team");
    let body = serde_json::json!({ "filter": {} });
    let mut fns = Vec::new();
    for i in 0..requests + 5 {
        let t = Instant::now();
        let res = client
            .post(&url)
            .json(&body)
            .send()
            .await?
            .error_for_status()?;
        let v: serde_json::Value = res.json().await?;
        if i >= 5 {
            fns.push(t.elapsed());
        } else {
            assert_eq!(v["projects"].as_array().map(Vec::len), Some(PROJECTS));
            assert_eq!(v["feed"].as_array().map(Vec::len), Some(40));
        }
    }
    let mut pages = Vec::new();
    for i in 0..requests + 5 {
        let t = Instant::now();
        let res = client
            .get(running.url("/"))
            .send()
            .await?
            .error_for_status()?;
        let html = res.text().await?;
        if i >= 5 {
            pages.push(t.elapsed());
        } else {
            assert!(html.contains("Project 49"), "the page lists the projects");
        }
    }
    println!(
        "dashboard/team (server fn, {requests} requests): {}",
        summary(fns)
    );
    println!(
        "GET / (whole page, server-rendered):       {}",
        summary(pages)
    );
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}

async fn edit_path(runs: usize) -> Result<(), Box<dyn std::error::Error>> {
    const UPDATES: usize = 4_000;
    let data = std::env::temp_dir().join(format!("tandem_bench_edit_{}", std::process::id()));
    std::fs::create_dir_all(&data)?;
    let url = format!("sqlite://{}?mode=rwc", data.join("bench.db").display());
    let db = server::db::open(&url).await?;
    let user = server::db::entities::user::ActiveModel {
        name: Set("typist".into()),
        name_key: Set("typist".into()),
        password_hash: Set(String::new()),
        created_at: Set(0),
        is_admin: Set(false),
        ..Default::default()
    }
    .insert(&db)
    .await?;
    let project = server::db::entities::project::ActiveModel {
        name: Set("p".into()),
        created_by: Set(user.id),
        created_at: Set(0),
        updated_at: Set(0),
        ..Default::default()
    }
    .insert(&db)
    .await?;
    let update = Logged {
        update: Bytes::from_static(&[1, 1, 1, 0, 4, 1, 1, 120, 0]),
        author: Author {
            user: Some(user.id),
            via: 0,
        },
    };
    println!("the edit path: {UPDATES} one-update commits per run, median of {runs}");
    let mut results = Vec::new();
    for counting in [false, true] {
        let mut per_update = Vec::new();
        for _ in 0..runs {
            let doc = document::ActiveModel {
                project_id: Set(project.id),
                name: Set(None),
                created_by: Set(user.id),
                created_at: Set(0),
                last_seq: Set(0),
                ..Default::default()
            }
            .insert(&db)
            .await?;
            let store = if counting {
                DbDocStore::new(db.clone()).counting(EditTally::default())
            } else {
                DbDocStore::new(db.clone())
            };
            let id = collab::DocId(u64::try_from(doc.id)?);
            let before = cpu();
            for _ in 0..UPDATES {
                store.append(id, std::slice::from_ref(&update)).await?;
            }
            per_update.push((cpu() - before).as_secs_f64() * 1e6 / UPDATES as f64);
        }
        let m = median(per_update);
        println!(
            "append, {}: {m:.1} µs CPU per update",
            if counting {
                "with the edit tally (after)"
            } else {
                "without counting (before)"
            }
        );
        results.push(m);
    }
    println!("ratio after/before: {:.3}", results[1] / results[0]);
    // The tally alone.
    let tally = EditTally::default();
    let batch = vec![update; 8];
    let mut per = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        for i in 0..250_000i64 {
            tally.note(i % 64, &batch, i);
            if i % 50_000 == 0 {
                tally.take();
            }
        }
        per.push(t.elapsed().as_secs_f64() * 1e9 / (250_000.0 * 8.0));
    }
    println!(
        "the tally alone: {:.1} ns per update (8-update batches)",
        median(per)
    );
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}
