//! Plain text in and out of a file's yrs document (the `Text` named `content`), and the
//! minimal edit that turns a document's text into new text (a change made on disk), so that
//! collaborators' concurrent edits and cursors outside the changed lines survive.

use similar::{ChangeTag, TextDiff};
use yrs::{
    Doc, GetString, OffsetKind, Options, ReadTxn, StateVector, Text, Transact, Update,
    updates::decoder::Decode,
};

pub use crate::editor::CONTENT;

/// A document replica for one server-made change. Each gets a fresh random client id (53
/// bits, as Yjs requires): two writers sharing an id could mint two different items with
/// the same id, which would make replicas diverge.
fn doc() -> Doc {
    Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        client_id: yrs::ClientID::new(rand::random::<u64>() >> 11),
        ..Options::default()
    })
}

fn load(state: &[u8]) -> Result<Doc, String> {
    let d = doc();
    let update = Update::decode_v1(state).map_err(|e| e.to_string())?;
    d.transact_mut()
        .apply_update(update)
        .map_err(|e| e.to_string())?;
    Ok(d)
}

/// A new document's first state holding `text`.
pub fn initial_state(text: &str) -> Vec<u8> {
    let d = doc();
    let content = d.get_or_insert_text(CONTENT);
    {
        let mut txn = d.transact_mut();
        if !text.is_empty() {
            content.insert(&mut txn, 0, text);
        }
    }
    d.transact()
        .encode_state_as_update_v1(&StateVector::default())
}

/// The text of a document state (an encoded v1 update).
pub fn text_of(state: &[u8]) -> Result<String, String> {
    text_of_parts(&[state])
}

/// The text of a stored document: its snapshot and the updates logged after it, in order.
pub fn text_of_parts(parts: &[&[u8]]) -> Result<String, String> {
    let d = doc();
    {
        let mut txn = d.transact_mut();
        for part in parts {
            let update = Update::decode_v1(part).map_err(|e| e.to_string())?;
            txn.apply_update(update).map_err(|e| e.to_string())?;
        }
    }
    let content = d.get_or_insert_text(CONTENT);
    Ok(content.get_string(&d.transact()))
}

/// The update that turns the text of `state` into `target` with the fewest changes (by
/// lines, then characters within changed lines), or `None` when they are already equal.
pub fn diff_update(state: &[u8], target: &str) -> Result<Option<Vec<u8>>, String> {
    let d = load(state)?;
    let content = d.get_or_insert_text(CONTENT);
    let current = content.get_string(&d.transact());
    if current == target {
        return Ok(None);
    }
    let before = d.transact().state_vector();
    {
        let mut txn = d.transact_mut();
        // Walk the diff keeping a UTF-16 offset into the text as it is being edited.
        let mut at: u32 = 0;
        let diff = TextDiff::configure()
            .timeout(std::time::Duration::from_millis(500))
            .diff_chars(current.as_str(), target);
        for op in diff.iter_all_changes() {
            let value = op.value();
            let len = value.encode_utf16().count() as u32;
            match op.tag() {
                ChangeTag::Equal => at += len,
                ChangeTag::Delete => content.remove_range(&mut txn, at, len),
                ChangeTag::Insert => {
                    content.insert(&mut txn, at, value);
                    at += len;
                }
            }
        }
    }
    let update = d.transact().encode_diff_v1(&before);
    Ok(Some(update))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(state: &[u8], update: &[u8]) -> Vec<u8> {
        let d = load(state).expect("state");
        d.transact_mut()
            .apply_update(Update::decode_v1(update).expect("update"))
            .expect("applies");
        d.transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    #[test]
    fn round_trips_text() {
        let s = initial_state("héllo 🌍\nworld\n");
        assert_eq!(text_of(&s).as_deref(), Ok("héllo 🌍\nworld\n"));
        assert_eq!(text_of(&initial_state("")).as_deref(), Ok(""));
        assert!(text_of(b"\xff\xff\xff").is_err());
    }

    #[test]
    fn diff_is_minimal_and_keeps_concurrent_edits() {
        let base = initial_state("fn main() {\n    println!(\"hi\");\n}\n");
        // Someone edits the first line in the browser while the file changes on disk.
        let browser = {
            let d = load(&base).expect("base");
            let t = d.get_or_insert_text(CONTENT);
            let before = d.transact().state_vector();
            t.insert(&mut d.transact_mut(), 3, "real_");
            d.transact().encode_diff_v1(&before)
        };
        let disk = diff_update(&base, "fn main() {\n    println!(\"hello 🌍\");\n}\n")
            .expect("diff")
            .expect("changed");
        // The disk change only touched the middle of line 2: a small update.
        assert!(disk.len() < 80, "update is {} bytes", disk.len());
        let merged = apply(&apply(&base, &browser), &disk);
        assert_eq!(
            text_of(&merged).as_deref(),
            Ok("fn real_main() {\n    println!(\"hello 🌍\");\n}\n")
        );
        assert_eq!(diff_update(&base, &text_of(&base).expect("text")), Ok(None));
    }
}
