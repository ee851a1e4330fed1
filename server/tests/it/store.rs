//! The sea-orm update log on both backends: batches far larger than one SQL statement may bind
//! still commit in one transaction, in order, and load back whole.

use crate::common::{Backend, TestServer};
use bytes::Bytes;
use collab::{
    DocId,
    store::{Author, DocStore, Logged},
};
use server::editor::store::DbDocStore;

/// An update logged with no author (the server's).
fn logged(update: Bytes) -> Logged {
    Logged {
        update,
        author: Author::default(),
    }
}

/// A server with one account, one project and its default file's document, and the store.
async fn one_document(backend: Backend) -> (TestServer, DocId, DbDocStore) {
    let server = TestServer::start(backend).await;
    let owner = server.client();
    owner.signup("owner").await;
    let project = owner.create_project("Store").await;
    let file = owner
        .ok("editor/default_file", &[("project", &project.to_string())])
        .await;
    let doc = DocId(file["doc"].as_u64().expect("doc id"));
    let store = DbDocStore::new(server.db().await);
    (server, doc, store)
}

async fn huge_batches_commit_whole(backend: Backend) {
    let (server, doc, store) = one_document(backend).await;

    // 20,000 rows × 5 columns is 100,000 bound variables: over the limit of both databases for
    // one statement.
    let batch: Vec<Logged> = (0..20_000u32)
        .map(|i| logged(Bytes::from(i.to_le_bytes().to_vec())))
        .collect();
    assert_eq!(store.append(doc, &batch).await.expect("commits"), 20_000);
    assert_eq!(
        store.append(doc, &batch[..3]).await.expect("commits"),
        20_003
    );
    let stored = store.load(doc).await.expect("loads");
    assert_eq!(stored.last_seq, 20_003);
    assert_eq!(stored.updates.len(), 20_003);
    assert_eq!(stored.updates[19_999], batch[19_999].update, "in order");
    assert_eq!(stored.updates[20_002], batch[2].update);
    server.finish().await;
}

/// A folded log loads as its snapshot plus what was logged after it, a second fold replaces the
/// first, and the stored bytes count the snapshot and the log still held.
async fn folded_logs_load_whole(backend: Backend) {
    let (server, doc, store) = one_document(backend).await;
    let update = |i: u8| Bytes::from(vec![i; 10]);
    let logged_update = |i: u8| logged(update(i));
    let before = store.load(doc).await.expect("loads");
    let first = (1..=3).map(logged_update).collect::<Vec<_>>();
    assert_eq!(
        store.append(doc, &first).await.expect("commits"),
        before.last_seq + 3
    );
    let folded = before.last_seq + 2;
    store
        .compact(doc, vec![7; 100], folded)
        .await
        .expect("folds");
    assert_eq!(
        store
            .append(doc, &[logged_update(4), logged_update(5)])
            .await
            .expect("commits"),
        folded + 3
    );
    let stored = store.load(doc).await.expect("loads");
    assert_eq!(stored.snapshot.as_deref(), Some(&[7u8; 100][..]));
    assert_eq!(stored.updates, [update(3), update(4), update(5)]);
    assert_eq!(stored.last_seq, folded + 3);
    let db = server.db().await;
    let bytes = |db| async move {
        server::files::quota::stored_bytes(&db, &[app::types::DocId(doc.0 as i64)])
            .await
            .expect("sums")
    };
    assert_eq!(bytes(db.clone()).await, 100 + 3 * 10);

    store
        .compact(doc, vec![8; 50], folded + 2)
        .await
        .expect("folds again");
    let stored = store.load(doc).await.expect("loads");
    assert_eq!(stored.snapshot.as_deref(), Some(&[8u8; 50][..]));
    assert_eq!(stored.updates, [update(5)]);
    assert_eq!(bytes(db).await, 50 + 10);
    server.finish().await;
}

/// Shared by several nodes, a compaction whose snapshot lacks an update another node logged
/// below the folded sequence number still keeps it: the store merges its log into the snapshot.
async fn a_shared_store_folds_what_another_node_logged(backend: Backend) {
    use yrs::{GetString, Text, Transact, updates::decoder::Decode};
    let (server, doc, store) = one_document(backend).await;
    let store = store.shared(true);
    // Two nodes' documents: each has one edit the other has not seen.
    let edit = |text: &str| {
        let d = yrs::Doc::new();
        let t = d.get_or_insert_text("content");
        let mut txn = d.transact_mut();
        t.insert(&mut txn, 0, text);
        txn.encode_update_v1()
    };
    let mine = edit("mine ");
    let theirs = edit("theirs ");
    store
        .append(doc, &[logged(Bytes::from(theirs))])
        .await
        .expect("the other node commits");
    let through = store
        .append(doc, &[logged(Bytes::from(mine.clone()))])
        .await
        .expect("this node commits");
    // This node's snapshot holds only its own edit.
    store.compact(doc, mine, through).await.expect("folds");
    let stored = store.load(doc).await.expect("loads");
    assert!(stored.updates.is_empty(), "the log is folded");
    let d = yrs::Doc::new();
    let t = d.get_or_insert_text("content");
    let mut txn = d.transact_mut();
    let snapshot = stored.snapshot.expect("a snapshot");
    txn.apply_update(yrs::Update::decode_v1(&snapshot).expect("decodes"))
        .expect("applies");
    let text = t.get_string(&txn);
    assert!(
        text.contains("mine") && text.contains("theirs"),
        "both nodes' edits survive compaction: {text:?}"
    );
    drop(txn);
    server.finish().await;
}

db_tests!(
    huge_batches_commit_whole,
    folded_logs_load_whole,
    a_shared_store_folds_what_another_node_logged
);
