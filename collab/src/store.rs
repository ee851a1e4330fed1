//! The durable update log behind a trait: the server implements it over sea-orm; tests use
//! [`MemoryStore`]. Loading a document is its snapshot plus the updates logged after it.

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;
use bytes::Bytes;

use crate::DocId;

#[derive(Debug, Clone, thiserror::Error)]
#[error("document store: {0}")]
pub struct StoreError(pub String);

/// Who made an update, as the store records it: an account (`None`: the server itself) and how
/// the update came (a code the server defines: browser, Yjs client, disk, restore, …). The
/// engine carries it from the subscription (or the server's write) to the store unread.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Author {
    pub user: Option<i64>,
    pub via: u8,
}

/// One update to log, with its author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub update: Bytes,
    pub author: Author,
}

impl Logged {
    pub fn len(&self) -> usize {
        self.update.len()
    }

    pub fn is_empty(&self) -> bool {
        self.update.is_empty()
    }
}

#[derive(Debug, Default, Clone)]
pub struct Stored {
    pub snapshot: Option<Vec<u8>>,
    pub updates: Vec<Bytes>,
    /// Sequence number of the last logged update (0 when the log is empty).
    pub last_seq: u64,
}

#[async_trait]
pub trait DocStore: Send + Sync + 'static {
    async fn load(&self, doc: DocId) -> Result<Stored, StoreError>;
    /// Appends `updates` in one transaction and returns the sequence number of the last one.
    /// Returning `Ok` means durable: the caller acknowledges these updates to their authors.
    async fn append(&self, doc: DocId, updates: &[Logged]) -> Result<u64, StoreError>;
    /// Stores `snapshot` and drops the logged updates with sequence numbers up to `through`,
    /// in one transaction.
    async fn compact(&self, doc: DocId, snapshot: Vec<u8>, through: u64) -> Result<(), StoreError>;
}

/// One document in [`MemoryStore`]: snapshot, log of (seq, update), last seq.
type MemoryDoc = (Option<Vec<u8>>, Vec<(u64, Logged)>, u64);

/// An in-memory store for tests and benchmarks; it can be told to fail, to exercise retries.
#[derive(Default)]
pub struct MemoryStore {
    docs: Mutex<HashMap<DocId, MemoryDoc>>,
    fail_appends: Mutex<u32>,
    appends: Mutex<u64>,
}

impl MemoryStore {
    pub fn fail_next_appends(&self, n: u32) {
        *self.fail_appends.lock().unwrap_or_else(|p| p.into_inner()) = n;
    }

    /// How many append transactions ran (group commit makes this far less than updates).
    pub fn append_count(&self) -> u64 {
        *self.appends.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The authors of the logged updates of `doc`, oldest first.
    pub fn authors(&self, doc: DocId) -> Vec<Author> {
        self.docs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&doc)
            .map_or_else(Vec::new, |d| d.1.iter().map(|(_, u)| u.author).collect())
    }

    pub fn log_len(&self, doc: DocId) -> usize {
        self.docs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&doc)
            .map_or(0, |d| d.1.len())
    }
}

#[async_trait]
impl DocStore for MemoryStore {
    async fn load(&self, doc: DocId) -> Result<Stored, StoreError> {
        let docs = self.docs.lock().unwrap_or_else(|p| p.into_inner());
        Ok(docs
            .get(&doc)
            .map_or_else(Stored::default, |(snapshot, log, last)| Stored {
                snapshot: snapshot.clone(),
                updates: log.iter().map(|(_, u)| u.update.clone()).collect(),
                last_seq: *last,
            }))
    }

    async fn append(&self, doc: DocId, updates: &[Logged]) -> Result<u64, StoreError> {
        {
            let mut fail = self.fail_appends.lock().unwrap_or_else(|p| p.into_inner());
            if *fail > 0 {
                *fail -= 1;
                return Err(StoreError("injected failure".into()));
            }
        }
        *self.appends.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        let mut docs = self.docs.lock().unwrap_or_else(|p| p.into_inner());
        let entry = docs.entry(doc).or_default();
        for u in updates {
            entry.2 += 1;
            entry.1.push((entry.2, u.clone()));
        }
        Ok(entry.2)
    }

    async fn compact(&self, doc: DocId, snapshot: Vec<u8>, through: u64) -> Result<(), StoreError> {
        let mut docs = self.docs.lock().unwrap_or_else(|p| p.into_inner());
        let entry = docs.entry(doc).or_default();
        entry.0 = Some(snapshot);
        entry.1.retain(|(seq, _)| *seq > through);
        Ok(())
    }
}
