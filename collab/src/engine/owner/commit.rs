//! Group commit: the owner hands each batch of updates to a writer task, acknowledges the
//! authors once it is durable (or keeps it and retries with backoff), and folds the log into
//! a snapshot in the background once enough has been logged.

use std::{collections::HashMap, sync::atomic::Ordering, time::Duration};

use tokio::time::Instant;

use super::{Batch, Committed, MAX_RETRY, Owner};
use crate::engine::{ConnId, Outbound, outbox::Push};

impl Owner {
    /// Hands the pending batch to a writer task; the owner keeps applying updates meanwhile,
    /// and whatever arrives during the write forms the next batch (group commit).
    pub(super) fn flush(&mut self) {
        self.commit_at = None;
        if self.writing || self.pending.updates.is_empty() {
            return;
        }
        self.writing = true;
        let batch = std::mem::replace(&mut self.pending, Batch::empty());
        let store = self.shared.store.clone();
        let done = self.done_tx.clone();
        let doc = self.doc;
        let stats = self.shared.stats.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let result = store.append(doc, &batch.updates).await;
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            stats.commit_micros.fetch_add(micros, Ordering::Relaxed);
            stats.commit_micros_max.fetch_max(micros, Ordering::Relaxed);
            let _ = done.send(Box::new(Committed { batch, result })).await;
        });
    }

    pub(super) fn committed(&mut self, done: Committed) {
        self.writing = false;
        let Committed { mut batch, result } = done;
        match result {
            Ok(last_seq) => {
                self.last_seq = last_seq;
                self.retry = Duration::from_millis(50);
                self.shared.stats.commits.fetch_add(1, Ordering::Relaxed);
                let mut acks: HashMap<ConnId, u64> = HashMap::new();
                for (conn, n) in &batch.marks {
                    let e = acks.entry(*conn).or_default();
                    *e = (*e).max(*n);
                }
                let mut lost = Vec::new();
                for (conn, n) in acks {
                    if let Some(sub) = self.subs.get(&conn) {
                        match self.offer(sub, Outbound::Saved(n)) {
                            Push::Queued | Push::Merged => {}
                            push => lost.push((conn, push)),
                        }
                    }
                }
                self.drop_slow(lost);
                for waiter in batch.waiters {
                    let _ = waiter.send(());
                }
                // Those who asked while this batch was being written, with nothing after it.
                if self.pending.updates.is_empty() {
                    for waiter in self.pending.waiters.drain(..) {
                        let _ = waiter.send(());
                    }
                }
                self.logged_since_snapshot += batch.updates.len() as u64;
                if self.logged_since_snapshot >= self.shared.config.compact_after {
                    self.compact(last_seq);
                }
                if !self.pending.updates.is_empty() && self.commit_at.is_none() {
                    self.commit_at = Some(Instant::now());
                }
            }
            Err(e) => {
                // Keep the updates (unacknowledged) ahead of newer ones and retry with backoff.
                self.shared
                    .stats
                    .commit_failures
                    .fetch_add(1, Ordering::Relaxed);
                tracing::error!(doc = self.doc.0, error = %e, retry_in = ?self.retry, "commit failed");
                batch.updates.append(&mut self.pending.updates);
                batch.marks.append(&mut self.pending.marks);
                batch.waiters.append(&mut self.pending.waiters);
                self.pending = batch;
                self.commit_at = Some(Instant::now() + self.retry);
                self.retry = (self.retry * 2).min(MAX_RETRY);
            }
        }
        if self.subs.is_empty() && self.idle_at.is_none() {
            self.idle_at = Some(Instant::now() + self.shared.config.idle_unload);
        }
    }

    /// Folds the log into a snapshot in the background. One compaction at a time per
    /// document: each holds a full snapshot, and a slow store must not let them pile up.
    pub(super) fn compact(&mut self, through: u64) {
        if self.compacting.swap(true, Ordering::AcqRel) {
            return;
        }
        self.logged_since_snapshot = 0;
        let snapshot = self.live.snapshot();
        // The log up to here becomes this snapshot (updates still queued are counted already
        // and will be logged after it: a slight overcount, never an undercount).
        let queued: u64 = self.pending.updates.iter().map(|u| u.len() as u64).sum();
        self.stored_bytes = snapshot.len() as u64 + queued;
        let store = self.shared.store.clone();
        let stats = self.shared.stats.clone();
        let compacting = self.compacting.clone();
        let doc = self.doc;
        tokio::spawn(async move {
            match store.compact(doc, snapshot, through).await {
                Ok(()) => {
                    stats.compactions.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::warn!(doc = doc.0, error = %e, "compaction failed; the log stays as it is")
                }
            }
            compacting.store(false, Ordering::Release);
        });
    }
}
