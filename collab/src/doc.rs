//! One live yrs document with its awareness: apply updates, answer sync step 1, produce
//! snapshots. Pure state, no I/O.

use yrs::{
    Doc, OffsetKind, Options, ReadTxn, StateVector, Transact, Update, sync::Awareness,
    updates::decoder::Decode,
};

#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error("malformed update: {0}")]
    Decode(String),
    #[error("update could not be applied: {0}")]
    Apply(String),
    /// yrs panicked while integrating the update. The document is half-updated and must not be
    /// used again: its owner retires it, and it reloads from the store, where this update
    /// never went.
    #[error("update rejected")]
    Poisoned,
}

pub struct LiveDoc {
    awareness: Awareness,
}

impl LiveDoc {
    /// A document restored from its snapshot and the updates logged after it.
    pub fn restore<'a>(
        snapshot: Option<&[u8]>,
        updates: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Self, DocError> {
        // Monaco counts UTF-16 code units; the server's documents agree with the clients'.
        let doc = Doc::with_options(Options {
            offset_kind: OffsetKind::Utf16,
            ..Options::default()
        });
        let live = Self {
            awareness: Awareness::new(doc),
        };
        if let Some(snapshot) = snapshot {
            live.apply(snapshot)?;
        }
        for update in updates {
            live.apply(update)?;
        }
        Ok(live)
    }

    pub fn doc(&self) -> &Doc {
        self.awareness.doc()
    }

    pub fn awareness(&self) -> &Awareness {
        &self.awareness
    }

    pub fn awareness_mut(&mut self) -> &mut Awareness {
        &mut self.awareness
    }

    /// Applies a v1 update. Updates whose dependencies have not arrived yet are kept pending by
    /// yrs and integrate once they do, as in Yjs.
    pub fn apply(&self, update: &[u8]) -> Result<(), DocError> {
        let update = crate::protocol::guarded(|| Update::decode_v1(update))
            .map_err(|e| DocError::Decode(e.to_string()))?
            .map_err(|e| DocError::Decode(e.to_string()))?;
        // Found by `cargo fuzz`: an update that names one client twice decodes into blocks
        // with the same ids, and yrs integrates both: the item list turns into a cycle and
        // conflict resolution loops forever (a ~200-byte frame would hold a server thread).
        // Merging the update on its own, as merging a log does, keeps one block per id; for a
        // well-formed update it changes nothing.
        let update = crate::protocol::guarded(|| Update::merge_updates([update]))
            .map_err(|e| DocError::Decode(e.to_string()))?;
        let mut txn = self.doc().transact_mut();
        match crate::protocol::guarded(|| txn.apply_update(update)) {
            Ok(applied) => applied.map_err(|e| DocError::Apply(e.to_string())),
            Err(_) => {
                // Found by `cargo fuzz`: crafted updates overflow yrs's block arithmetic. The
                // transaction is half-applied and committing it (its `Drop`) may panic again,
                // which would abort the process; it is leaked with the retired document.
                #[allow(clippy::mem_forget)]
                std::mem::forget(txn);
                Err(DocError::Poisoned)
            }
        }
    }

    /// Whether `update` carries blocks this document does not have yet, integrated or waiting
    /// for their dependencies (both are stored). False for one that only deletes or repeats what
    /// is known, and for one that does not decode (`apply` reports that).
    pub fn extends(&self, update: &[u8]) -> bool {
        let sv = self.state_vector();
        let Ok(Ok(update)) = crate::protocol::guarded(|| Update::decode_v1(update)) else {
            return false;
        };
        update
            .insertions(true)
            .iter()
            .any(|(client, ranges)| ranges.iter().any(|r| r.end > sv.get(client)))
    }

    pub fn state_vector(&self) -> StateVector {
        self.doc().transact().state_vector()
    }

    /// What a peer with state vector `sv` is missing (sync step 2): integrated content and the
    /// delete set. yrs's `encode_state_as_update_v1` would also merge in updates still waiting
    /// for missing dependencies, and it panics (`merge_updates_v1(..).unwrap()`) when such an
    /// update, sent by a client, cannot be merged; every newcomer's handshake would then kill
    /// the document's owner. A peer receives pending data once it integrates.
    pub fn diff(&self, sv: &StateVector) -> Vec<u8> {
        self.doc().transact().encode_diff_v1(sv)
    }

    /// The whole document as one update: the compaction snapshot, with pending updates when
    /// they merge. One that cannot be merged is malformed client data: it is left out, and the
    /// compaction that stores this snapshot drops it from the log for good.
    pub fn snapshot(&self) -> Vec<u8> {
        let txn = self.doc().transact();
        let all = StateVector::default();
        crate::protocol::guarded(|| txn.encode_state_as_update_v1(&all)).unwrap_or_else(|_| {
            tracing::warn!("a pending update cannot be merged; the snapshot leaves it out");
            txn.encode_diff_v1(&all)
        })
    }
}

#[cfg(test)]
mod tests {
    use yrs::{GetString, Text};

    use super::*;

    fn text_update(doc: &Doc, pos: u32, s: &str) -> Vec<u8> {
        let text = doc.get_or_insert_text("content");
        let before = doc.transact().state_vector();
        text.insert(&mut doc.transact_mut(), pos, s);
        doc.transact().encode_state_as_update_v1(&before)
    }

    #[test]
    fn restores_snapshot_plus_log() {
        let client = Doc::new();
        let a = text_update(&client, 0, "hello");
        let b = text_update(&client, 5, " world");
        let live = LiveDoc::restore(None, [a.as_slice()]).expect("restore");
        live.apply(&b).expect("apply");
        let again = LiveDoc::restore(Some(&live.snapshot()), []).expect("restore");
        let text = again.doc().get_or_insert_text("content");
        assert_eq!(text.get_string(&again.doc().transact()), "hello world");
        assert!(live.apply(&[1, 2, 3]).is_err());
    }

    #[test]
    fn only_new_blocks_extend_a_document() {
        let client = Doc::new();
        let text = client.get_or_insert_text("content");
        let hello = text_update(&client, 0, "hello");
        let live = LiveDoc::restore(None, []).expect("restore");
        assert!(live.extends(&hello));
        live.apply(&hello).expect("apply");
        assert!(!live.extends(&hello), "already known");
        let before = client.transact().state_vector();
        text.remove_range(&mut client.transact_mut(), 0, 2);
        let delete = client.transact().encode_state_as_update_v1(&before);
        assert!(!live.extends(&delete), "a delete adds no block");
        let more = text_update(&client, 3, "!");
        let later = text_update(&client, 4, "?");
        assert!(
            live.extends(&later),
            "a block waiting for its dependency is stored too"
        );
        assert!(live.extends(&more));
        assert!(!live.extends(&[1, 2, 3]));
    }

    /// Found by `cargo fuzz`: yrs accepts this update as pending (its dependencies never
    /// arrive), then panics when asked to merge it into a full-state encoding.
    #[test]
    fn unmergeable_pending_updates_do_not_break_the_document() {
        let bad = [
            1u8, 1, 19, 1, 2, 0, 0, 0, 0, 0, 0, 0, 255, 1, 0, 0, 1, 255, 110,
        ];
        let live = LiveDoc::restore(None, []).expect("restore");
        let client = Doc::new();
        let good = text_update(&client, 0, "still here");
        live.apply(&good).expect("apply");
        assert!(live.apply(&bad).is_ok(), "yrs keeps it as pending");
        let snapshot = live.snapshot();
        let diff = live.diff(&StateVector::default());
        for bytes in [snapshot, diff] {
            let again = LiveDoc::restore(Some(&bytes), []).expect("restore");
            let text = again.doc().get_or_insert_text("content");
            assert_eq!(text.get_string(&again.doc().transact()), "still here");
        }
    }
}
