//! The pure half of the Monaco ↔ `yrs::Text` binding: Monaco content changes become text edits
//! in one transaction, text deltas become Monaco edits, and carriage returns are normalised.
//! Offsets are UTF-16 code units on both sides (the documents use `OffsetKind::Utf16`).

use serde::{Deserialize, Serialize};
use yrs::{Any, Out, Text, TextRef, TransactionMut, types::Delta};

/// Name of the shared text in every file document (the server and Yjs clients agree on it).
pub const CONTENT: &str = "content";

/// One replacement: `len` UTF-16 units at `offset` become `text`. Serialised as a
/// `[offset, len, text]` triple, the shape the JS shim sends and receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change(pub u32, pub u32, pub String);

impl Change {
    pub fn offset(&self) -> u32 {
        self.0
    }
}

/// Applies one Monaco `onDidChangeModelContent` event. Its changes all refer to the model as it
/// was before the event (several cursors type at once), so they are applied from the highest
/// offset down: an edit never shifts the offsets of the ones still to come.
pub fn apply_changes(txn: &mut TransactionMut<'_>, text: &TextRef, mut changes: Vec<Change>) {
    changes.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    for Change(offset, len, insert) in changes {
        if len > 0 {
            text.remove_range(txn, offset, len);
        }
        if !insert.is_empty() {
            text.insert(txn, offset, &insert);
        }
    }
}

/// Turns a text delta (positions in the text as it was before the transaction) into Monaco
/// edits with ranges in the same old coordinates, as `ITextModel.applyEdits` expects. A delete
/// next to an insert becomes one replacement so ranges never touch.
pub fn delta_to_changes(delta: &[Delta]) -> Vec<Change> {
    let mut out: Vec<Change> = Vec::new();
    let mut pos: u32 = 0;
    let push = |out: &mut Vec<Change>, at: u32, len: u32, text: &str| match out.last_mut() {
        Some(last) if last.0 + last.1 == at => {
            last.1 += len;
            last.2.push_str(text);
        }
        _ => out.push(Change(at, len, text.to_owned())),
    };
    for d in delta {
        match d {
            Delta::Retain(n, _) => pos += n,
            Delta::Deleted(n) => {
                push(&mut out, pos, *n, "");
                pos += n;
            }
            Delta::Inserted(value, _) => push(&mut out, pos, 0, &inserted_text(value)),
        }
    }
    out
}

/// Text inserts are strings; anything else a foreign client embeds counts as one character
/// in yrs, so it shows as one placeholder and offsets stay aligned.
fn inserted_text(value: &Out) -> String {
    match value {
        Out::Any(Any::String(s)) => s.to_string(),
        _ => "\u{FFFC}".to_owned(),
    }
}

/// The edits that make `text` use `\n` line endings only (`\r\n` → `\n`, a lone `\r` → `\n`),
/// highest offset first. Monaco's model uses LF; a document that came in with CR from another
/// client is normalised once, by whichever editor sees it, so offsets agree everywhere.
pub fn crlf_fixes(text: &str) -> Vec<Change> {
    let mut fixes = Vec::new();
    let mut offset: u32 = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                fixes.push(Change(offset, 1, String::new()));
            } else {
                fixes.push(Change(offset, 1, "\n".to_owned()));
            }
        }
        offset += c.len_utf16() as u32;
    }
    fixes.reverse();
    fixes
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use yrs::{
        Doc, GetString, Observable, OffsetKind, Options, ReadTxn, Transact,
        updates::decoder::Decode,
    };

    use super::*;

    fn doc() -> (Doc, TextRef) {
        let doc = Doc::with_options(Options {
            offset_kind: OffsetKind::Utf16,
            ..Options::default()
        });
        let text = doc.get_or_insert_text(CONTENT);
        (doc, text)
    }

    fn c(offset: u32, len: u32, text: &str) -> Change {
        Change(offset, len, text.to_owned())
    }

    /// Monaco's semantics for one event: every change refers to the original string.
    fn monaco_apply(s: &str, changes: &[Change]) -> String {
        let units: Vec<u16> = s.encode_utf16().collect();
        let mut sorted = changes.to_vec();
        sorted.sort_by_key(|c| std::cmp::Reverse(c.0));
        let mut units = units;
        for Change(o, l, t) in sorted {
            let (o, l) = (o as usize, l as usize);
            units.splice(o..o + l, t.encode_utf16());
        }
        String::from_utf16(&units).expect("valid utf-16")
    }

    #[test]
    fn multi_cursor_changes_apply_from_the_end() {
        let (doc, text) = doc();
        text.insert(&mut doc.transact_mut(), 0, "one two three");
        // Three cursors replace each word at once; offsets refer to the original text.
        let changes = vec![c(0, 3, "1"), c(4, 3, "2"), c(8, 5, "3")];
        apply_changes(&mut doc.transact_mut(), &text, changes.clone());
        assert_eq!(text.get_string(&doc.transact()), "1 2 3");
        assert_eq!(monaco_apply("one two three", &changes), "1 2 3");
    }

    #[test]
    fn offsets_are_utf16_units() {
        let (doc, text) = doc();
        // "😀" is two UTF-16 units, "é" one: Monaco's offsets after them must land right.
        text.insert(&mut doc.transact_mut(), 0, "😀é!");
        apply_changes(&mut doc.transact_mut(), &text, vec![c(3, 1, "?")]);
        assert_eq!(text.get_string(&doc.transact()), "😀é?");
    }

    /// Records every delta of a remote transaction and replays it through Monaco's semantics:
    /// the editor must end with exactly the document's text.
    #[test]
    fn remote_deltas_replay_onto_the_editor() {
        let (local, text) = doc();
        let (remote, rtext) = doc();
        let seen: Arc<Mutex<Vec<Vec<Change>>>> = Arc::default();
        let sink = seen.clone();
        text.observe("test", move |txn, e| {
            let changes = delta_to_changes(e.delta(txn));
            sink.lock().expect("lock").push(changes);
        });
        let mut editor = String::new();
        let edits: &[&dyn Fn(&mut TransactionMut<'_>)] = &[
            &|t| rtext.insert(t, 0, "hello world"),
            &|t| rtext.remove_range(t, 0, 5),
            &|t| {
                rtext.insert(t, 0, "bye");
                rtext.insert(t, 9, "!");
            },
            &|t| {
                rtext.remove_range(t, 3, 1);
                rtext.insert(t, 3, "—");
            },
            &|t| rtext.insert(t, 0, "😀"),
        ];
        for edit in edits {
            let before = remote.transact().state_vector();
            edit(&mut remote.transact_mut());
            let update = remote.transact().encode_state_as_update_v1(&before);
            let update = yrs::Update::decode_v1(&update).expect("decodes");
            local.transact_mut().apply_update(update).expect("applies");
            for changes in seen.lock().expect("lock").drain(..) {
                editor = monaco_apply(&editor, &changes);
            }
            assert_eq!(editor, text.get_string(&local.transact()));
        }
        assert_eq!(editor, "😀bye—world!");
    }

    #[test]
    fn adjacent_delete_and_insert_merge_into_one_edit() {
        let delta = vec![
            Delta::Retain(2, None),
            Delta::Deleted(3),
            Delta::Inserted(Out::Any(Any::from("xy")), None),
            Delta::Retain(4, None),
            Delta::Inserted(Out::Any(Any::from("z")), None),
        ];
        assert_eq!(delta_to_changes(&delta), vec![c(2, 3, "xy"), c(9, 0, "z")]);
    }

    #[test]
    fn carriage_returns_are_normalised() {
        assert_eq!(crlf_fixes("plain\ntext"), vec![]);
        let s = "a\r\nb\rc😀\r\n";
        let fixes = crlf_fixes(s);
        assert_eq!(monaco_apply(s, &fixes), "a\nb\nc😀\n");
        // Highest offset first, so applying them one by one is also correct.
        let (doc, text) = doc();
        text.insert(&mut doc.transact_mut(), 0, s);
        apply_changes(&mut doc.transact_mut(), &text, fixes);
        assert_eq!(text.get_string(&doc.transact()), "a\nb\nc😀\n");
    }
}
