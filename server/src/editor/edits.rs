//! Who edited which document, counted as the store commits each batch, for the team
//! dashboard's feed (`dashboard::feed` folds the counts into rows every few seconds). Counting
//! is a map update per batch and author, so the feed costs the edit path no database work.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use collab::store::Logged;

/// Distinct (document, person) pairs counted between two flushes; past it, further pairs wait
/// for the next flush's room (their edits still count once there is room again: only the
/// feed's count for that interval is lower).
pub const MAX_PAIRS: usize = 100_000;

/// Edits of one person in one document since the last flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub updates: u64,
    /// Unix milliseconds of the first and the latest counted commit.
    pub first: i64,
    pub last: i64,
}

/// The counts of one node; cheap to clone (shared).
#[derive(Clone, Default)]
pub struct EditTally(Arc<Mutex<HashMap<(i64, i64), Count>>>);

impl EditTally {
    /// Counts a committed batch of `doc` at `at`; updates without a person (the server's own,
    /// a disk change) are not anyone's activity.
    pub fn note(&self, doc: i64, updates: &[Logged], at: i64) {
        let mut counts = crate::lock::lock(&self.0);
        // A batch is mostly one author typing: count runs, one map update each.
        let mut i = 0;
        while i < updates.len() {
            let author = updates[i].author.user;
            let run = updates[i..]
                .iter()
                .take_while(|u| u.author.user == author)
                .count();
            i += run;
            let Some(user) = author else { continue };
            let room = counts.len() < MAX_PAIRS;
            match counts.get_mut(&(doc, user)) {
                Some(c) => {
                    c.updates += run as u64;
                    c.last = at;
                }
                None if room => {
                    counts.insert(
                        (doc, user),
                        Count {
                            updates: run as u64,
                            first: at,
                            last: at,
                        },
                    );
                }
                None => {}
            }
        }
    }

    /// Everything counted since the last call.
    pub fn take(&self) -> HashMap<(i64, i64), Count> {
        std::mem::take(&mut *crate::lock::lock(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use collab::store::Author;

    fn by(user: Option<i64>) -> Logged {
        Logged {
            update: Bytes::from_static(b"x"),
            author: Author { user, via: 0 },
        }
    }

    #[test]
    fn batches_count_per_document_and_person() {
        let t = EditTally::default();
        t.note(
            1,
            &[by(Some(7)), by(Some(7)), by(Some(8)), by(None), by(Some(7))],
            100,
        );
        t.note(1, &[by(Some(7))], 200);
        t.note(2, &[by(Some(8))], 300);
        let counts = t.take();
        assert_eq!(
            counts[&(1, 7)],
            Count {
                updates: 4,
                first: 100,
                last: 200
            }
        );
        assert_eq!(counts[&(1, 8)].updates, 1);
        assert_eq!(counts[&(2, 8)].first, 300);
        assert_eq!(counts.len(), 3, "the server's own updates count for no one");
        assert!(t.take().is_empty(), "taking empties it");
    }

    #[test]
    fn the_number_of_pairs_is_bounded() {
        let t = EditTally::default();
        for doc in 0..(MAX_PAIRS as i64 + 10) {
            t.note(doc, &[by(Some(1))], 1);
        }
        // Known pairs still count when the map is full.
        t.note(0, &[by(Some(1))], 2);
        let counts = t.take();
        assert_eq!(counts.len(), MAX_PAIRS);
        assert_eq!(counts[&(0, 1)].updates, 2);
    }
}
