//! Two engines (two nodes) sharing one store, linked by a real NATS server: the machine's
//! (`TANDEM_TEST_NATS_URL`, default `nats://127.0.0.1:4222`). Without one the tests say so and
//! pass, except under `CI`, where a missing broker is a broken setup and fails them.

mod common;

use std::{sync::Arc, time::Duration};

use collab::{
    bus::{NodeId, nats::NatsBus},
    engine::{Access, Engine, EngineConfig},
    store::{DocStore, MemoryStore},
    testing,
};
use common::{Client, DOC, text_of};

async fn nats_url() -> Option<String> {
    let url = std::env::var("TANDEM_TEST_NATS_URL")
        .unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
    let addr = url.trim_start_matches("nats://").to_owned();
    match tokio::net::TcpStream::connect(&addr).await {
        Ok(_) => Some(url),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("CI is set but NATS does not answer at {url}: {e}")
        }
        Err(e) => {
            eprintln!("skipped: NATS does not answer at {url}: {e}");
            None
        }
    }
}

/// Subjects of their own per test, so parallel tests (and runs) never hear each other.
fn prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("tandem-test-{test}-{}-{nanos}", std::process::id())
}

async fn node(
    store: &Arc<MemoryStore>,
    url: &str,
    prefix: &str,
    id: u64,
    config: EngineConfig,
) -> Engine {
    let bus = NatsBus::connect(url, prefix, NodeId(id))
        .await
        .expect("connect to NATS");
    Engine::new(store.clone(), Arc::new(bus), NodeId(id), config)
}

#[tokio::test]
async fn clients_on_two_nodes_converge_and_the_store_has_every_edit() {
    let Some(url) = nats_url().await else { return };
    let prefix = prefix("converge");
    let store = Arc::new(MemoryStore::default());
    let one = node(&store, &url, &prefix, 1, EngineConfig::default()).await;
    let two = node(&store, &url, &prefix, 2, EngineConfig::default()).await;
    let mut a = Client::join(&one, Access::ReadWrite).await;
    let mut b = Client::join(&two, Access::ReadWrite).await;
    a.insert(0, "hello").await;
    b.until_text("hello").await;
    b.insert(5, " world").await;
    a.until_text("hello world").await;
    for i in 0..20 {
        a.insert(0, "a").await;
        b.insert(b.text().len() as u32, "b").await;
        if i % 5 == 0 {
            a.pump().await;
            b.pump().await;
        }
    }
    // Acknowledged means in the shared store; both clients then converge on what it holds.
    a.until_saved().await;
    b.until_saved().await;
    let stored = store.load(DOC).await.expect("load");
    let text = text_of(stored.snapshot.as_deref(), &stored.updates);
    assert_eq!(text.matches('a').count(), 20, "{text}");
    assert_eq!(text.matches('b').count(), 20, "{text}");
    a.until_text(&text).await;
    b.until_text(&text).await;
}

#[tokio::test]
async fn an_edit_not_yet_committed_reaches_a_node_that_opens_the_document_later() {
    let Some(url) = nats_url().await else { return };
    let prefix = prefix("late");
    let store = Arc::new(MemoryStore::default());
    // Node one holds its edits for a minute before committing: the second node cannot find
    // them in the store, only by asking node one over the bus.
    let slow = EngineConfig {
        commit_delay: Duration::from_secs(60),
        ..EngineConfig::default()
    };
    let one = node(&store, &url, &prefix, 1, slow).await;
    let two = node(&store, &url, &prefix, 2, EngineConfig::default()).await;
    let mut a = Client::join(&one, Access::ReadWrite).await;
    a.insert(0, "early").await;
    let stored = store.load(DOC).await.expect("load");
    assert_eq!(text_of(stored.snapshot.as_deref(), &stored.updates), "");
    let mut b = Client::join(&two, Access::ReadWrite).await;
    b.until_text("early").await;
}

#[tokio::test]
async fn cursors_cross_nodes_including_those_set_before_the_node_opened_the_document() {
    let Some(url) = nats_url().await else { return };
    let prefix = prefix("cursors");
    let store = Arc::new(MemoryStore::default());
    let one = node(&store, &url, &prefix, 1, EngineConfig::default()).await;
    let two = node(&store, &url, &prefix, 2, EngineConfig::default()).await;
    let a = Client::join(&one, Access::ReadWrite).await;
    a.sub()
        .send(testing::cursor(4242, "ada"))
        .await
        .expect("send cursor");
    let mut b = Client::join(&two, Access::ReadWrite).await;
    b.until("ada's cursor", |c| !c.awareness_seen.is_empty())
        .await;
}
