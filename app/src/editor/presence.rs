//! Who is in a document and where their cursor is: the awareness state each editor publishes,
//! and how a remote state becomes a coloured, named cursor. Cursors are yrs sticky indices, so
//! they stay on the same character while others type.

use serde::{Deserialize, Serialize};

use crate::types::UserId;
use yrs::{
    Assoc, IndexedSequence, ReadTxn, StickyIndex, TextRef,
    updates::{decoder::Decode, encoder::Encode},
};

/// Distinct cursor colours; `style/main.css` defines `.tandem-rc-N` for each index.
pub const PALETTE: [&str; 8] = [
    "#e5484d", "#0091ff", "#30a46c", "#f76b15", "#8e4ec6", "#12a594", "#d6409f", "#ad7f58",
];

/// A user's colour: fixed per user so everyone sees the same person in the same colour.
pub fn color_index(user_id: UserId) -> usize {
    (user_id.0.unsigned_abs() % PALETTE.len() as u64) as usize
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceUser {
    pub id: UserId,
    pub name: String,
}

/// A selection as two encoded sticky indices (yrs v1, the same bytes as Yjs's
/// `encodeRelativePosition`); anchor == head is a plain caret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorState {
    pub anchor: Vec<u8>,
    pub head: Vec<u8>,
}

/// The awareness state a Tandem editor publishes for itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceState {
    pub user: PresenceUser,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<CursorState>,
}

/// A remote cursor resolved to offsets in the current text, ready for the editor to draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteCursor {
    /// The awareness client id: one per tab, so one user in two tabs shows two cursors.
    pub id: u64,
    pub name: String,
    pub color: usize,
    pub anchor: u32,
    pub head: u32,
}

/// Anchors a selection to the characters around it. `Assoc::Before` keeps a caret left of text
/// another user inserts exactly at it, so remote typing never pushes the local cursor along.
pub fn encode_cursor<T: ReadTxn>(
    txn: &T,
    text: &TextRef,
    anchor: u32,
    head: u32,
) -> Option<CursorState> {
    let sticky = |i: u32| {
        text.sticky_index(txn, i, Assoc::Before)
            .map(|s| s.encode_v1())
    };
    Some(CursorState {
        anchor: sticky(anchor)?,
        head: sticky(head)?,
    })
}

/// Where a sticky index points now; `None` for garbage or a position in a foreign type.
pub fn resolve<T: ReadTxn>(txn: &T, encoded: &[u8]) -> Option<u32> {
    let sticky = StickyIndex::decode_v1(encoded).ok()?;
    sticky.get_offset(txn).map(|o| o.index)
}

/// Resolves one remote awareness state (raw JSON, as received) into a drawable cursor.
/// Anything malformed is skipped: a remote client must never break the local editor.
pub fn remote_cursor<T: ReadTxn>(txn: &T, client: u64, json: &str) -> Option<RemoteCursor> {
    let state: PresenceState = serde_json::from_str(json).ok()?;
    let cursor = state.cursor?;
    Some(RemoteCursor {
        id: client,
        name: state.user.name,
        color: color_index(state.user.id),
        anchor: resolve(txn, &cursor.anchor)?,
        head: resolve(txn, &cursor.head)?,
    })
}

/// The people in a document (one entry per user however many tabs they have), for avatars.
pub fn people<'a>(states: impl IntoIterator<Item = &'a str>) -> Vec<PresenceUser> {
    let mut users: Vec<PresenceUser> = states
        .into_iter()
        .filter_map(|json| serde_json::from_str::<PresenceState>(json).ok())
        .map(|s| s.user)
        .collect();
    users.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    users.dedup_by_key(|u| u.id);
    users
}

#[cfg(test)]
mod tests {
    use yrs::{Doc, OffsetKind, Options, Text, Transact};

    use super::*;

    #[test]
    fn cursors_stick_to_their_text_and_stay_left_of_remote_inserts() {
        let doc = Doc::with_options(Options {
            offset_kind: OffsetKind::Utf16,
            ..Options::default()
        });
        let text = doc.get_or_insert_text("content");
        text.insert(&mut doc.transact_mut(), 0, "hello world");
        let cursor = encode_cursor(&doc.transact(), &text, 6, 11).expect("encodes");
        text.insert(&mut doc.transact_mut(), 0, ">> ");
        // Someone types exactly at the anchor: the caret stays before their text.
        text.insert(&mut doc.transact_mut(), 9, "big ");
        let txn = doc.transact();
        assert_eq!(resolve(&txn, &cursor.anchor), Some(9));
        assert_eq!(resolve(&txn, &cursor.head), Some(18));
        assert_eq!(resolve(&txn, &[0xff, 0x01]), None);
    }

    #[test]
    fn remote_states_resolve_or_are_skipped() {
        let doc = Doc::new();
        let text = doc.get_or_insert_text("content");
        text.insert(&mut doc.transact_mut(), 0, "abc");
        let cursor = encode_cursor(&doc.transact(), &text, 1, 2).expect("encodes");
        let state = PresenceState {
            user: PresenceUser {
                id: UserId(3),
                name: "<b>bob</b>".into(),
            },
            cursor: Some(cursor),
        };
        let json = serde_json::to_string(&state).expect("serialises");
        let txn = doc.transact();
        let got = remote_cursor(&txn, 42, &json).expect("resolves");
        assert_eq!((got.anchor, got.head, got.color), (1, 2, 3));
        // The name is data; the editor sets it as text, never as HTML.
        assert_eq!(got.name, "<b>bob</b>");
        for bad in [
            "",
            "null",
            "{}",
            r#"{"user":{"id":1,"name":"x"}}"#,
            r#"{"user":1}"#,
        ] {
            assert_eq!(remote_cursor(&txn, 1, bad), None, "{bad}");
        }
    }

    #[test]
    fn people_are_listed_once_each() {
        let a = r#"{"user":{"id":2,"name":"bob"}}"#;
        let b = r#"{"user":{"id":1,"name":"alice"},"cursor":null}"#;
        let names: Vec<_> = people([a, b, a, "garbage"])
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["alice", "bob"]);
    }
}
