//! A file's timeline, the pure parts: the log cut into bursts of editing ([`bursts`]), the
//! text replayed through the log ([`Replay`]), and texts stored as line deltas against an
//! earlier version ([`delta`], [`apply_delta`]) or partly reverted ([`revert_lines`]).

use similar::{DiffOp, TextDiff};
use yrs::{
    Doc, GetString, OffsetKind, Options, TextRef, Transact, Update, updates::decoder::Decode,
};

use crate::{doc::DocError, protocol::guarded, store::Author};

/// A pause this long ends a burst.
pub const BURST_GAP_MS: i64 = 5 * 60_000;
/// Someone new starting after a pause this long starts a new burst (shorter, they are typing
/// together: one burst, both names).
pub const SWITCH_GAP_MS: i64 = 60_000;
/// A burst longer than this is cut, so a day of typing has points to go back to.
pub const BURST_MAX_MS: i64 = 30 * 60_000;

/// A logged update as the timeline sees it.
#[derive(Debug, Clone, Copy)]
pub struct Edit {
    pub seq: i64,
    pub author: Author,
    pub at_ms: i64,
}

/// Consecutive updates that make one entry of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Burst {
    pub first_seq: i64,
    pub last_seq: i64,
    pub started_ms: i64,
    pub at_ms: i64,
    /// Accounts in order of their first edit in the burst.
    pub authors: Vec<i64>,
    /// Bit `1 << via` for each way the edits came.
    pub vias: u32,
}

impl Burst {
    /// `next` goes on where this one stopped (the same rule [`bursts`] cuts by).
    pub fn continued_by(&self, next: &Burst, solo_via: u8) -> bool {
        let solo = |b: &Burst| b.vias & (1 << u32::from(solo_via.min(31))) != 0;
        let gap = next.started_ms - self.at_ms;
        let newcomer = next.authors.iter().any(|u| !self.authors.contains(u));
        let apart =
            solo(self) || solo(next) || gap >= BURST_GAP_MS || (newcomer && gap >= SWITCH_GAP_MS);
        !apart && next.at_ms - self.started_ms < BURST_MAX_MS
    }

    /// This burst with `next` appended.
    pub fn absorb(&mut self, next: Burst) {
        self.last_seq = next.last_seq;
        self.at_ms = self.at_ms.max(next.at_ms);
        self.vias |= next.vias;
        for u in next.authors {
            if !self.authors.contains(&u) {
                self.authors.push(u);
            }
        }
    }
}

/// Cuts the log into bursts. Updates that came by `solo_via` (a restore) are a burst of their
/// own, so the timeline shows the restore as one entry.
pub fn bursts(edits: impl IntoIterator<Item = Edit>, solo_via: u8) -> Vec<Burst> {
    let mut out: Vec<Burst> = Vec::new();
    let mut solo = false;
    for e in edits {
        let is_solo = e.author.via == solo_via;
        let joins = out.last().is_some_and(|b| {
            let gap = e.at_ms - b.at_ms;
            let newcomer = e.author.user.is_some_and(|u| !b.authors.contains(&u));
            is_solo == solo
                && gap < BURST_GAP_MS
                && !(newcomer && gap >= SWITCH_GAP_MS)
                && e.at_ms - b.started_ms < BURST_MAX_MS
        });
        if !joins {
            out.push(Burst {
                first_seq: e.seq,
                last_seq: e.seq,
                started_ms: e.at_ms,
                at_ms: e.at_ms,
                authors: Vec::new(),
                vias: 0,
            });
        }
        solo = is_solo;
        let Some(b) = out.last_mut() else { continue };
        b.last_seq = e.seq;
        b.at_ms = b.at_ms.max(e.at_ms);
        b.vias |= 1 << u32::from(e.author.via.min(31));
        if let Some(u) = e.author.user
            && !b.authors.contains(&u)
        {
            b.authors.push(u);
        }
    }
    out
}

/// A document's text, replayed update by update.
pub struct Replay {
    doc: Doc,
    text: TextRef,
}

impl Replay {
    /// An empty document whose text is the shared type `name`.
    pub fn new(name: &str) -> Self {
        let doc = Doc::with_options(Options {
            offset_kind: OffsetKind::Utf16,
            ..Options::default()
        });
        let text = doc.get_or_insert_text(name);
        Self { doc, text }
    }

    /// Applies one update (a snapshot is one too). A malformed one is an error and changes
    /// nothing the caller relies on: it stops replaying.
    pub fn apply(&mut self, update: &[u8]) -> Result<(), DocError> {
        let update = guarded(|| Update::decode_v1(update))
            .map_err(|e| DocError::Decode(e.to_string()))?
            .map_err(|e| DocError::Decode(e.to_string()))?;
        guarded(|| self.doc.transact_mut().apply_update(update))
            .map_err(|_| DocError::Poisoned)?
            .map_err(|e| DocError::Apply(e.to_string()))
    }

    pub fn text(&self) -> String {
        self.text.get_string(&self.doc.transact())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a stored version does not decode: {0}")]
pub struct DeltaError(&'static str);

impl DeltaError {
    pub const NOT_UTF8: DeltaError = DeltaError("not UTF-8");
}

const KEEP: u8 = 0;
const DROP: u8 = 1;
const ADD: u8 = 2;

/// How long a diff may search before settling for a bigger (still correct) delta.
const DIFF_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(300);

fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

fn put(out: &mut Vec<u8>, tag: u8, n: usize) {
    out.push(tag);
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

/// `new` as line operations against `old`: keep n lines, drop n lines, add text.
pub fn delta(old: &str, new: &str) -> Vec<u8> {
    let diff = TextDiff::configure()
        .timeout(DIFF_TIMEOUT)
        .diff_lines(old, new);
    let new_lines = lines(new);
    let mut out = Vec::new();
    let add = |out: &mut Vec<u8>, from: usize, n: usize| {
        let text: String = new_lines[from..from + n].concat();
        put(out, ADD, text.len());
        out.extend_from_slice(text.as_bytes());
    };
    for op in diff.ops() {
        match *op {
            DiffOp::Equal { len, .. } => put(&mut out, KEEP, len),
            DiffOp::Delete { old_len, .. } => put(&mut out, DROP, old_len),
            DiffOp::Insert {
                new_index, new_len, ..
            } => add(&mut out, new_index, new_len),
            DiffOp::Replace {
                old_len,
                new_index,
                new_len,
                ..
            } => {
                put(&mut out, DROP, old_len);
                add(&mut out, new_index, new_len);
            }
        }
    }
    out
}

/// The text a [`delta`] made from `old` describes.
pub fn apply_delta(old: &str, delta: &[u8]) -> Result<String, DeltaError> {
    let old = lines(old);
    let mut at = 0usize;
    let mut out = String::new();
    let mut rest = delta;
    while let Some((&tag, tail)) = rest.split_first() {
        let (n, tail) = tail
            .split_first_chunk::<4>()
            .ok_or(DeltaError("cut short"))?;
        let n = u32::from_le_bytes(*n) as usize;
        rest = tail;
        match tag {
            KEEP | DROP => {
                let taken = old.get(at..at + n).ok_or(DeltaError("past the end"))?;
                if tag == KEEP {
                    out.extend(taken.iter().copied());
                }
                at += n;
            }
            ADD => {
                let (text, tail) = rest.split_at_checked(n).ok_or(DeltaError("cut short"))?;
                out.push_str(std::str::from_utf8(text).map_err(|_| DeltaError::NOT_UTF8)?);
                rest = tail;
            }
            _ => return Err(DeltaError("unknown operation")),
        }
    }
    if at != old.len() {
        return Err(DeltaError("does not cover the text"));
    }
    Ok(out)
}

/// `current` with the changes made since `version` that touch lines `from..=to` of `version`
/// (1-based) undone, each stretch of changed lines whole (as a diff view shows them): what
/// "restore the selected lines" means. Changes elsewhere stay.
pub fn revert_lines(current: &str, version: &str, from: u32, to: u32) -> String {
    let (from, to) = (from.max(1) as usize - 1, to.max(1) as usize - 1);
    let old = lines(version);
    let new = lines(current);
    let diff = TextDiff::configure()
        .timeout(DIFF_TIMEOUT)
        .diff_lines(version, current);
    let touches = |start: usize, len: usize| {
        if len == 0 {
            // Lines added in between: inside when both neighbours are selected.
            from < start && start <= to
        } else {
            start <= to && start + len > from
        }
    };
    let mut out = String::with_capacity(current.len());
    for op in diff.ops() {
        let (o, n) = (op.old_range(), op.new_range());
        if matches!(op, DiffOp::Equal { .. }) || !touches(o.start, o.len()) {
            out.extend(new[n].iter().copied());
        } else {
            out.extend(old[o].iter().copied());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use yrs::{ReadTxn, Text};

    use super::*;

    fn edit(seq: i64, user: i64, via: u8, at_ms: i64) -> Edit {
        Edit {
            seq,
            author: Author {
                user: Some(user),
                via,
            },
            at_ms,
        }
    }

    #[test]
    fn a_pause_a_newcomer_a_long_session_and_a_restore_cut_bursts() {
        let min = 60_000;
        let b = bursts(
            [
                edit(1, 1, 1, 0),
                edit(2, 2, 1, 30_000), // joins: typing together
                edit(3, 1, 1, 60_000),
                edit(4, 1, 1, 60_000 + 6 * min), // a pause
                edit(5, 3, 1, 60_000 + 8 * min), // someone new after a pause
                edit(6, 3, 5, 60_000 + 8 * min), // a restore
                edit(7, 3, 1, 60_000 + 8 * min),
            ],
            5,
        );
        let cut: Vec<(i64, i64, Vec<i64>)> = b
            .iter()
            .map(|b| (b.first_seq, b.last_seq, b.authors.clone()))
            .collect();
        assert_eq!(
            cut,
            vec![
                (1, 3, vec![1, 2]),
                (4, 4, vec![1]),
                (5, 5, vec![3]),
                (6, 6, vec![3]),
                (7, 7, vec![3]),
            ]
        );
        assert_eq!(b[3].vias, 1 << 5);
        let long: Vec<Edit> = (0..70).map(|i| edit(i, 1, 1, i * min)).collect();
        assert_eq!(bursts(long, 5).len(), 3, "30-minute pieces");
    }

    #[test]
    fn a_burst_goes_on_across_logs_by_the_same_rule() {
        let min = 60_000;
        let first = bursts([edit(1, 1, 1, 0), edit(2, 1, 1, min)], 5);
        let next = bursts([edit(3, 1, 1, 2 * min)], 5);
        assert!(first[0].continued_by(&next[0], 5));
        let mut whole = first[0].clone();
        whole.absorb(next[0].clone());
        assert_eq!(
            whole,
            bursts(
                [edit(1, 1, 1, 0), edit(2, 1, 1, min), edit(3, 1, 1, 2 * min)],
                5
            )[0]
        );
        let late = bursts([edit(3, 1, 1, 10 * min)], 5);
        assert!(!first[0].continued_by(&late[0], 5), "after a pause");
        let restore = bursts([edit(3, 1, 5, 2 * min)], 5);
        assert!(
            !first[0].continued_by(&restore[0], 5),
            "a restore stands alone"
        );
    }

    #[test]
    fn deltas_round_trip_and_refuse_garbage() {
        let cases = [
            ("", "hello\n"),
            ("a\nb\nc\n", "a\nB\nc\nd"),
            ("one\ntwo\nthree", ""),
            ("x\ny\n", "x\ny\n"),
            ("é\n日本\n", "日本\né\n"),
        ];
        for (old, new) in cases {
            let d = delta(old, new);
            assert_eq!(
                apply_delta(old, &d).as_deref(),
                Ok(new),
                "{old:?} -> {new:?}"
            );
        }
        let d = delta("a\nb\n", "a\nc\n");
        assert!(apply_delta("a\n", &d).is_err(), "against another text");
        assert!(apply_delta("a\nb\n", &d[..d.len() - 1]).is_err());
        assert!(apply_delta("a\nb\n", &[9, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn reverting_selected_lines_keeps_the_other_changes() {
        let version = "a\nb\nc\nd\ne\n";
        let current = "a\nB\nc\nd\nE\nf\n";
        assert_eq!(revert_lines(current, version, 2, 2), "a\nb\nc\nd\nE\nf\n");
        // A change is undone whole: `e` became `E` and `f` in one stretch.
        assert_eq!(revert_lines(current, version, 5, 5), "a\nB\nc\nd\ne\n");
        assert_eq!(revert_lines(current, version, 1, 5), version);
        // A line added between two selected lines goes; one deleted among them comes back.
        let current = "a\nx\nb\nd\n";
        assert_eq!(revert_lines(current, "a\nb\nc\nd\n", 1, 4), "a\nb\nc\nd\n");
        assert_eq!(
            revert_lines(current, "a\nb\nc\nd\n", 3, 3),
            "a\nx\nb\nc\nd\n"
        );
    }

    #[test]
    fn replay_reads_the_text_after_each_update() {
        let doc = Doc::new();
        let text = doc.get_or_insert_text("content");
        let sv = doc.transact().state_vector();
        text.insert(&mut doc.transact_mut(), 0, "hi");
        let u1 = doc.transact().encode_diff_v1(&sv);
        let sv = doc.transact().state_vector();
        text.insert(&mut doc.transact_mut(), 2, " there");
        let u2 = doc.transact().encode_diff_v1(&sv);
        let mut r = Replay::new("content");
        r.apply(&u1).expect("applies");
        assert_eq!(r.text(), "hi");
        r.apply(&u2).expect("applies");
        assert_eq!(r.text(), "hi there");
        assert!(r.apply(&[1, 2, 3]).is_err());
        assert_eq!(r.text(), "hi there");
    }
}
