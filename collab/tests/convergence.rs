//! Randomized convergence: several clients make random concurrent edits, pump their queues in a
//! random order, go offline (editing on) and come back; in the end every client and a fresh
//! load from the store hold the same text. proptest prints (and saves) a failing case so it can
//! be replayed.
#![cfg(feature = "server")]

mod common;

use std::{sync::Arc, time::Duration};

use collab::{
    bus::{InProcessBus, NodeId},
    engine::{Access, Engine, EngineConfig},
    store::{DocStore, MemoryStore},
};
use common::{Client, DOC, WAIT, converge, text_of};
use proptest::prelude::*;

const CLIENTS: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    Insert {
        client: usize,
        pos: u32,
        text: String,
    },
    Delete {
        client: usize,
        pos: u32,
        len: u32,
    },
    Pump {
        client: usize,
    },
    Offline {
        client: usize,
    },
    Online {
        client: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let client = 0..CLIENTS;
    prop_oneof![
        4 => (client.clone(), any::<u32>(), "[a-z\u{e9}\u{1F600} \n]{1,6}").prop_map(|(client, pos, text)| Op::Insert { client, pos, text }),
        2 => (client.clone(), any::<u32>(), 1u32..5).prop_map(|(client, pos, len)| Op::Delete { client, pos, len }),
        3 => client.clone().prop_map(|client| Op::Pump { client }),
        1 => client.clone().prop_map(|client| Op::Offline { client }),
        1 => client.prop_map(|client| Op::Online { client }),
    ]
}

/// Length in the unit yrs's default (byte-offset) text API uses for these clients' documents.
fn len(c: &Client) -> u32 {
    c.text().len() as u32
}

/// A char boundary at or below `pos`, so byte offsets never split a character.
fn boundary(c: &Client, pos: u32) -> u32 {
    let text = c.text();
    let mut p = (pos as usize).min(text.len());
    while !text.is_char_boundary(p) {
        p -= 1;
    }
    p as u32
}

async fn run(ops: Vec<Op>) {
    let store = Arc::new(MemoryStore::default());
    let config = EngineConfig {
        idle_unload: Duration::from_secs(5),
        ..EngineConfig::default()
    };
    let engine = Engine::new(
        store.clone(),
        Arc::new(InProcessBus::default()),
        NodeId(1),
        config.clone(),
    );
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(Client::join(&engine, Access::ReadWrite).await);
    }
    for op in ops {
        match op {
            Op::Insert { client, pos, text } => {
                let c = &mut clients[client];
                let at = boundary(c, pos % (len(c) + 1));
                c.insert(at, &text).await;
            }
            Op::Delete {
                client,
                pos,
                len: n,
            } => {
                let c = &mut clients[client];
                let total = len(c);
                if total > 0 {
                    let at = boundary(c, pos % total);
                    let end = boundary(c, (at + n).min(total));
                    let end = if end <= at {
                        c.text()[at as usize..]
                            .chars()
                            .next()
                            .map_or(at, |ch| at + ch.len_utf8() as u32)
                    } else {
                        end
                    };
                    if end > at {
                        c.delete(at, end - at).await;
                    }
                }
            }
            Op::Pump { client } => clients[client].pump().await,
            Op::Offline { client } => clients[client].go_offline(),
            Op::Online { client } => {
                if !clients[client].is_online() {
                    clients[client].reconnect(&engine, Access::ReadWrite).await;
                }
            }
        }
    }
    for c in &mut clients {
        if !c.is_online() {
            c.reconnect(&engine, Access::ReadWrite).await;
        }
    }
    // Every edit acknowledged and every client holding the engine's text (a divergence
    // times out here, naming the text it waited for).
    let mut all: Vec<&mut Client> = clients.iter_mut().collect();
    let text = converge(&engine, &mut all).await;
    // The store catches up with the engine: an edit whose author went offline before its
    // acknowledgement is committed after the commit delay, with nobody left waiting for it
    // (so `converge` cannot wait for it either). Then a fresh node loads the same text.
    drop(clients);
    let caught_up = async {
        loop {
            let stored = store.load(DOC).await.expect("load");
            if text_of(stored.snapshot.as_deref(), &stored.updates) == text {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    if tokio::time::timeout(WAIT, caught_up).await.is_err() {
        panic!("timed out waiting for the store to hold {text:?}");
    }
    let fresh = Engine::new(store, Arc::new(InProcessBus::default()), NodeId(2), config);
    let reloaded = Client::join(&fresh, Access::ReadOnly).await;
    assert_eq!(reloaded.text(), text, "reload from the store differs");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn clients_and_store_converge(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
        rt.block_on(run(ops));
    }
}
