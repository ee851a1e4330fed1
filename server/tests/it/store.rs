//! The sea-orm update log on both backends: batches far larger than one SQL statement may bind
//! still commit in one transaction, in order, and load back whole.

use crate::common::{Backend, TestServer};
use bytes::Bytes;
use collab::{DocId, store::DocStore};
use server::editor::store::DbDocStore;

async fn huge_batches_commit_whole(backend: Backend) {
    let server = TestServer::start(backend).await;
    let owner = server.client();
    owner.signup("bulk").await;
    let project = owner.create_project("Bulk").await;
    let file = owner
        .ok("editor/default_file", &[("project", &project.to_string())])
        .await;
    let doc = DocId(file["doc"].as_u64().expect("doc id"));
    let store = DbDocStore::new(server.db().await);

    // 20,000 rows × 3 columns is 60,000 bound variables: over SQLite's limit for one statement.
    let batch: Vec<Bytes> = (0..20_000u32)
        .map(|i| Bytes::from(i.to_le_bytes().to_vec()))
        .collect();
    assert_eq!(store.append(doc, &batch).await.expect("commits"), 20_000);
    assert_eq!(
        store.append(doc, &batch[..3]).await.expect("commits"),
        20_003
    );
    let stored = store.load(doc).await.expect("loads");
    assert_eq!(stored.last_seq, 20_003);
    assert_eq!(stored.updates.len(), 20_003);
    assert_eq!(stored.updates[19_999], batch[19_999], "in order");
    assert_eq!(stored.updates[20_002], batch[2]);
    server.finish().await;
}

db_tests!(huge_batches_commit_whole);
