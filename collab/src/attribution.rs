//! Who wrote which characters, from the update log: an update's author owns the Yjs item ids
//! it inserted (client, clock), and every character of a text is an item id. These are the
//! pure parts: ranges of ids per author from logged updates ([`spans_of`]), the ids under a
//! text ([`id_runs`]), and the two put together ([`attribute`]). The server stores the spans
//! when it folds the log away, so attribution outlives compaction.

use std::collections::HashMap;

use yrs::{
    Doc, OffsetKind, Options, Out, ReadTxn, Snapshot, Text, Transact, Update,
    types::text::{ChangeKind, Diff, YChange},
    updates::decoder::Decode,
};

use crate::{doc::DocError, protocol::guarded, store::Author};

/// Items `client`:[`start`, `end`) written by `author`, stored at `at_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub client: u64,
    pub start: u32,
    pub end: u32,
    pub author: Author,
    pub at_ms: i64,
}

/// A logged update with what the store knows of it.
pub struct LoggedUpdate<'a> {
    pub data: &'a [u8],
    pub author: Author,
    pub at_ms: i64,
}

/// The id ranges each update inserted, in log order, merged while one author goes on typing
/// (adjacent ids, the same author, stored within `merge_ms` of the span's start), so a burst
/// of keystrokes is one span. Ids an earlier update already inserted (a client re-sending what
/// another node logged) stay with their first author. Updates that do not decode are skipped:
/// they were refused when they arrived, or are another node's problem.
pub fn spans_of<'a>(
    updates: impl IntoIterator<Item = LoggedUpdate<'a>>,
    merge_ms: i64,
) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    // Per client: the span that may grow, and the end of the ids seen so far.
    let mut open: HashMap<u64, (usize, u32)> = HashMap::new();
    for logged in updates {
        let Ok(Ok(update)) = guarded(|| Update::decode_v1(logged.data)) else {
            continue;
        };
        for (client, ranges) in update.insertions(true).iter() {
            let client = client.get();
            for range in ranges.iter() {
                let seen = open.get(&client).map_or(0, |&(_, end)| end);
                let start = range.start.max(seen);
                if start >= range.end {
                    continue;
                }
                let grows = open.get(&client).and_then(|&(i, end)| {
                    let s = &out[i];
                    (end == start
                        && s.author == logged.author
                        && logged.at_ms - s.at_ms <= merge_ms)
                        .then_some(i)
                });
                let i = match grows {
                    Some(i) => {
                        out[i].end = range.end;
                        i
                    }
                    None => {
                        out.push(Span {
                            client,
                            start,
                            end: range.end,
                            author: logged.author,
                            at_ms: logged.at_ms,
                        });
                        out.len() - 1
                    }
                };
                open.insert(client, (i, range.end));
            }
        }
    }
    out
}

/// A stretch of a text's visible characters that are consecutive ids of one client:
/// characters `start`..`start + len` (UTF-16 code units) are items `client`:`clock`...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRun {
    pub start: u32,
    pub len: u32,
    pub client: u64,
    pub clock: u32,
}

/// The ids under the text `name` of a document state (a v1 update).
pub fn id_runs(state: &[u8], name: &str) -> Result<Vec<IdRun>, DocError> {
    let doc = Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        ..Options::default()
    });
    let text = doc.get_or_insert_text(name);
    let update = guarded(|| Update::decode_v1(state))
        .map_err(|e| DocError::Decode(e.to_string()))?
        .map_err(|e| DocError::Decode(e.to_string()))?;
    let mut txn = doc.transact_mut();
    guarded(|| txn.apply_update(update))
        .map_err(|_| DocError::Poisoned)?
        .map_err(|e| DocError::Apply(e.to_string()))?;
    // Against an empty snapshot every visible item is "added", and the diff reports each one as
    // its own chunk with its id; the current snapshot leaves deleted items out.
    let now = txn.snapshot();
    let chunks: Vec<Diff<YChange>> =
        text.diff_range(&mut txn, Some(&now), Some(&Snapshot::default()), |c| c);
    let mut runs = Vec::with_capacity(chunks.len());
    let mut at = 0u32;
    for chunk in chunks {
        let Out::Any(yrs::Any::String(s)) = &chunk.insert else {
            continue;
        };
        let len = u32::try_from(s.encode_utf16().count()).unwrap_or(u32::MAX);
        if let Some(YChange {
            kind: ChangeKind::Added,
            id,
        }) = chunk.ychange
        {
            runs.push(IdRun {
                start: at,
                len,
                client: id.client.get(),
                clock: id.clock,
            });
        }
        at = at.saturating_add(len);
    }
    Ok(runs)
}

/// A stretch of text and the span that wrote it (an index into the spans given), `None` where
/// no stored span covers it (text from before attribution).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub start: u32,
    pub len: u32,
    pub span: Option<usize>,
}

/// Puts the text's ids and the stored spans together. `spans` must be sorted by client and
/// start ([`sort`]); where two overlap (a range claimed twice), the first in that order wins.
pub fn attribute(runs: &[IdRun], spans: &[Span]) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::with_capacity(runs.len());
    let mut push = |start: u32, len: u32, span: Option<usize>| {
        if len == 0 {
            return;
        }
        match out.last_mut() {
            Some(last) if last.span == span && last.start + last.len == start => last.len += len,
            _ => out.push(Piece { start, len, span }),
        }
    };
    for run in runs {
        let (from, to) = (run.clock, run.clock.saturating_add(run.len));
        let mut i = spans.partition_point(|s| (s.client, s.end) <= (run.client, from));
        let mut clock = from;
        while clock < to {
            match spans.get(i) {
                Some(s) if s.client == run.client && s.start < to => {
                    if s.end <= clock {
                        i += 1;
                        continue;
                    }
                    if s.start > clock {
                        push(run.start + (clock - from), s.start - clock, None);
                        clock = s.start;
                    }
                    let end = s.end.min(to);
                    push(run.start + (clock - from), end - clock, Some(i));
                    clock = end;
                    i += 1;
                }
                _ => {
                    push(run.start + (clock - from), to - clock, None);
                    clock = to;
                }
            }
        }
    }
    out
}

/// Sorts spans for [`attribute`], earliest claim first among equal starts.
pub fn sort(spans: &mut [Span]) {
    spans.sort_by_key(|s| (s.client, s.start, s.at_ms));
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{GetString, TextRef};

    const NAME: &str = "content";

    fn client(id: u64) -> (Doc, TextRef) {
        let doc = Doc::with_options(Options {
            client_id: yrs::ClientID::new(id),
            offset_kind: OffsetKind::Utf16,
            ..Options::default()
        });
        let text = doc.get_or_insert_text(NAME);
        (doc, text)
    }

    fn edit(doc: &Doc, f: impl FnOnce(&mut yrs::TransactionMut<'_>)) -> Vec<u8> {
        let mut txn = doc.transact_mut();
        f(&mut txn);
        txn.encode_update_v1()
    }

    fn sync(from: &Doc, to: &Doc) {
        let sv = to.transact().state_vector();
        let update = from.transact().encode_state_as_update_v1(&sv);
        to.transact_mut()
            .apply_update(Update::decode_v1(&update).expect("decode"))
            .expect("apply");
    }

    fn author(user: i64) -> Author {
        Author {
            user: Some(user),
            via: 1,
        }
    }

    fn state(doc: &Doc) -> Vec<u8> {
        doc.transact()
            .encode_state_as_update_v1(&yrs::StateVector::default())
    }

    /// Who wrote each character, as a string of author numbers (`.` for nobody known).
    fn who(doc: &Doc, spans: &[Span]) -> String {
        let runs = id_runs(&state(doc), NAME).expect("runs");
        let mut s = String::new();
        for p in attribute(&runs, spans) {
            let c = p.span.map_or('.', |i| {
                char::from_digit(spans[i].author.user.unwrap_or(0) as u32, 10).unwrap_or('?')
            });
            s.extend(std::iter::repeat_n(c, p.len as usize));
        }
        s
    }

    #[test]
    fn interleaved_typing_is_attributed_character_by_character() {
        let (a, at) = client(11);
        let (b, bt) = client(22);
        let mut log: Vec<(Vec<u8>, Author, i64)> = Vec::new();
        for (i, ch) in ["h", "e", "l"].iter().enumerate() {
            let u = edit(&a, |t| at.insert(t, i as u32, ch));
            log.push((u, author(1), 1000 + i as i64));
        }
        sync(&a, &b);
        // B types in the middle, then A appends: "hXYel" + "lo"
        log.push((edit(&b, |t| bt.insert(t, 1, "XY")), author(2), 2000));
        sync(&b, &a);
        log.push((edit(&a, |t| at.insert(t, 5, "lo")), author(1), 3000));
        // A deletes B's "Y": deleted text has no author to show.
        log.push((edit(&a, |t| at.remove_range(t, 2, 1)), author(1), 3001));
        assert_eq!(at.get_string(&a.transact()), "hXello");
        let logged = log.iter().map(|(d, au, t)| LoggedUpdate {
            data: d,
            author: *au,
            at_ms: *t,
        });
        let mut spans = spans_of(logged, 60_000);
        // A's first three keystrokes and its later two are adjacent ids: merged within the
        // window, so A has one span, B one.
        assert_eq!(spans.len(), 2, "{spans:?}");
        sort(&mut spans);
        assert_eq!(who(&a, &spans), "121111");
        // Nothing stored: nobody known.
        assert_eq!(who(&a, &[]), "......");
    }

    #[test]
    fn spans_split_by_time_and_by_author_and_first_claim_wins() {
        let (a, at) = client(5);
        let u1 = edit(&a, |t| at.insert(t, 0, "ab"));
        let u2 = edit(&a, |t| at.insert(t, 2, "cd"));
        let all = state(&a);
        let logged = [
            LoggedUpdate {
                data: &u1,
                author: author(1),
                at_ms: 0,
            },
            // Long after: a span of its own.
            LoggedUpdate {
                data: &u2,
                author: author(1),
                at_ms: 120_000,
            },
            // The whole state re-sent by someone else claims nothing.
            LoggedUpdate {
                data: &all,
                author: author(3),
                at_ms: 130_000,
            },
            LoggedUpdate {
                data: b"garbage",
                author: author(4),
                at_ms: 140_000,
            },
        ];
        let spans = spans_of(logged, 60_000);
        assert_eq!(
            spans,
            vec![
                Span {
                    client: 5,
                    start: 0,
                    end: 2,
                    author: author(1),
                    at_ms: 0
                },
                Span {
                    client: 5,
                    start: 2,
                    end: 4,
                    author: author(1),
                    at_ms: 120_000
                },
            ]
        );
    }

    #[test]
    fn offsets_count_utf16_units_and_gaps_read_as_unknown() {
        let (a, at) = client(9);
        let u1 = edit(&a, |t| at.insert(t, 0, "é😀x"));
        let u2 = edit(&a, |t| at.insert(t, 4, "yz"));
        // Only the second update is known (the first was logged before attribution).
        let spans = spans_of(
            [LoggedUpdate {
                data: &u2,
                author: author(2),
                at_ms: 1,
            }],
            0,
        );
        let runs = id_runs(&state(&a), NAME).expect("runs");
        assert_eq!(runs.iter().map(|r| r.len).sum::<u32>(), 6);
        let pieces = attribute(&runs, &spans);
        assert_eq!(
            pieces,
            vec![
                Piece {
                    start: 0,
                    len: 4,
                    span: None
                },
                Piece {
                    start: 4,
                    len: 2,
                    span: Some(0)
                },
            ]
        );
        let _ = u1;
    }
}
