//! One Yjs sync client for every test suite and the bench, sans IO: it holds a yrs document
//! and turns y-sync messages in into the messages to send back, the way y-websocket's
//! provider does. Each transport (an engine subscription, a `/yjs` websocket, a tab's `/ws`
//! frames) only moves the bytes, so the protocol is written once.
//!
//! Behind the `test-util` feature: nothing in production depends on it.

use bytes::Bytes;
use yrs::{
    Doc, GetString, ReadTxn, StateVector, Text, Transact, Update,
    sync::{Message, SyncMessage},
    updates::decoder::Decode,
};

use crate::protocol::{self, ProtocolError};

/// The shared text every Tandem document keeps its content in.
pub const CONTENT: &str = "content";

/// An awareness message announcing awareness client `id` as `name` with no cursor yet, as an
/// editor tab does when it opens a document.
pub fn cursor(id: u64, name: &str) -> Bytes {
    use std::{collections::HashMap, sync::Arc};
    use yrs::sync::{AwarenessUpdate, awareness::AwarenessUpdateEntry};
    let entry = AwarenessUpdateEntry {
        clock: 1,
        json: Arc::from(format!(
            r##"{{"user":{{"name":"{name}","color":"#2f6fed"}},"cursor":null}}"##
        )),
    };
    protocol::awareness(AwarenessUpdate {
        clients: HashMap::from([(yrs::ClientID::new(id), entry)]),
    })
}

/// What one incoming message did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// To send back (the answer to the server's step 1).
    pub reply: Option<Bytes>,
    /// The reply carries changes the server lacked (edits made while offline): the server
    /// acknowledges them like any other update.
    pub reply_has_changes: bool,
    /// The document changed.
    pub applied: bool,
    /// It was the server's step 2: this client now has everything the server had.
    pub synced: bool,
    /// The server refused a write (y-protocols' permission-denied message).
    pub denied: bool,
    /// An awareness update (someone's cursor), kept as it came.
    pub awareness: Option<Bytes>,
}

/// Why an incoming message could not be used: the server sent something invalid.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error("bad update: {0}")]
    Update(String),
}

/// A yrs document kept in sync over y-sync messages.
#[derive(Default)]
pub struct SyncClient {
    pub doc: Doc,
    /// Updates this client made (and so sent), for matching `Saved` acknowledgements.
    pub sent: u64,
    /// Whether the server refused a write.
    pub denied: bool,
}

impl SyncClient {
    pub fn new() -> Self {
        Self::default()
    }

    /// The opening message (sync step 1 with our state vector): sent on every (re)connect, so
    /// both sides end up with everything either has.
    pub fn hello(&self) -> Bytes {
        protocol::sync_step1(self.doc.transact().state_vector())
    }

    pub fn state_vector(&self) -> StateVector {
        self.doc.transact().state_vector()
    }

    pub fn text(&self) -> String {
        let t = self.doc.get_or_insert_text(CONTENT);
        t.get_string(&self.doc.transact())
    }

    /// The text's length (in yrs's units), without building the string: cheap enough to check
    /// after every message of a long burst.
    pub fn len(&self) -> u32 {
        let t = self.doc.get_or_insert_text(CONTENT);
        t.len(&self.doc.transact())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Inserts locally; returns the update message to send.
    pub fn insert(&mut self, pos: u32, s: &str) -> Bytes {
        self.edit(|doc, t| t.insert(&mut doc.transact_mut(), pos, s))
    }

    /// Appends at the end (a writer at the bottom of the file); returns the update to send.
    pub fn append(&mut self, s: &str) -> Bytes {
        self.edit(|doc, t| {
            let len = t.len(&doc.transact());
            t.insert(&mut doc.transact_mut(), len, s);
        })
    }

    /// Deletes locally; returns the update message to send.
    pub fn delete(&mut self, pos: u32, len: u32) -> Bytes {
        self.edit(|doc, t| t.remove_range(&mut doc.transact_mut(), pos, len))
    }

    fn edit(&mut self, change: impl FnOnce(&Doc, &yrs::TextRef)) -> Bytes {
        let t = self.doc.get_or_insert_text(CONTENT);
        let before = self.doc.transact().state_vector();
        change(&self.doc, &t);
        let update = self.doc.transact().encode_state_as_update_v1(&before);
        self.sent += 1;
        protocol::update(update)
    }

    fn apply(&mut self, update: &[u8]) -> Result<(), SyncError> {
        let update = Update::decode_v1(update).map_err(|e| SyncError::Update(e.to_string()))?;
        self.doc
            .transact_mut()
            .apply_update(update)
            .map_err(|e| SyncError::Update(e.to_string()))
    }

    /// Handles one message from the server.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Received, SyncError> {
        let mut out = Received::default();
        match protocol::decode(bytes)? {
            Message::Sync(SyncMessage::SyncStep1(sv)) => {
                let diff = self.doc.transact().encode_state_as_update_v1(&sv);
                // An empty v1 update is two zero varints: no structs, no deletions.
                out.reply_has_changes = diff != [0, 0];
                out.reply = Some(protocol::sync_step2(diff));
            }
            Message::Sync(SyncMessage::SyncStep2(u)) => {
                self.apply(&u)?;
                out.applied = true;
                out.synced = true;
            }
            Message::Sync(SyncMessage::Update(u)) => {
                self.apply(&u)?;
                out.applied = true;
            }
            Message::Auth(Some(_)) => {
                self.denied = true;
                out.denied = true;
            }
            Message::Awareness(_) => out.awareness = Some(Bytes::copy_from_slice(bytes)),
            _ => {}
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two clients syncing through each other (one playing the server) converge.
    #[test]
    fn two_clients_converge_through_the_handshake() {
        let mut a = SyncClient::new();
        let mut b = SyncClient::new();
        let _ = a.insert(0, "hello");
        let _ = b.insert(0, "world ");
        // a's step 1 to b: b answers with what a lacks; and the other way round.
        let to_a = b
            .receive(&a.hello())
            .expect("step 1")
            .reply
            .expect("step 2");
        let got = a.receive(&to_a).expect("step 2");
        assert!(got.applied && got.synced);
        let to_b = a
            .receive(&b.hello())
            .expect("step 1")
            .reply
            .expect("step 2");
        assert!(b.receive(&to_b).expect("step 2").applied);
        assert_eq!(a.text(), b.text());
        assert_eq!(a.text().len(), "hello".len() + "world ".len());
        assert!(
            a.receive(&protocol::permission_denied("read-only"))
                .expect("auth")
                .denied
        );
        assert!(
            a.receive(&[0xff, 0xff]).is_err(),
            "garbage is an error, not a panic"
        );
    }
}
