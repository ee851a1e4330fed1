//! Verified presence (finding 9 of the security review): awareness states are written by the
//! clients, so a client could show its cursor under anyone's name. The server stamps the
//! connection's account into every state it relays (`user.id`, `user.name`), whatever the client
//! put there; other fields (cursor, colour) pass through as sent.

use app::types::UserId;
use bytes::Bytes;
use collab::protocol;
use yrs::sync::{Message, awareness::AwarenessUpdate};

/// The y-sync message tag of awareness updates.
const AWARENESS: u8 = 1;

/// `raw` with the account stamped into each awareness state, or `raw` itself when it is not
/// an awareness update. Malformed messages are left for the engine to refuse.
pub(crate) fn stamp(raw: Bytes, user: UserId, name: &str) -> Bytes {
    if raw.first() != Some(&AWARENESS) {
        return raw;
    }
    let Ok(Message::Awareness(update)) = protocol::decode(&raw) else {
        return raw;
    };
    let mut clients = update.clients;
    for entry in clients.values_mut() {
        // `null` is a client leaving: nothing to stamp.
        if &*entry.json == "null" {
            continue;
        }
        let mut state = match serde_json::from_str::<serde_json::Value>(&entry.json) {
            Ok(serde_json::Value::Object(state)) => state,
            _ => serde_json::Map::new(),
        };
        let mut who = match state.remove("user") {
            Some(serde_json::Value::Object(who)) => who,
            _ => serde_json::Map::new(),
        };
        who.insert("id".into(), serde_json::json!(user.0));
        who.insert("name".into(), serde_json::json!(name));
        state.insert("user".into(), serde_json::Value::Object(who));
        entry.json = serde_json::Value::Object(state).to_string().into();
    }
    protocol::awareness(AwarenessUpdate { clients })
}

#[cfg(test)]
mod tests {
    use std::{collections::HashMap, sync::Arc};

    use yrs::sync::awareness::AwarenessUpdateEntry;

    use super::*;

    fn states(raw: &Bytes) -> Vec<serde_json::Value> {
        match protocol::decode(raw) {
            Ok(Message::Awareness(u)) => u
                .clients
                .values()
                .map(|e| serde_json::from_str(&e.json).expect("json"))
                .collect(),
            other => panic!("not awareness: {other:?}"),
        }
    }

    fn update(json: &str) -> Bytes {
        protocol::awareness(AwarenessUpdate {
            clients: HashMap::from([(
                yrs::ClientID::new(9),
                AwarenessUpdateEntry {
                    clock: 3,
                    json: Arc::from(json),
                },
            )]),
        })
    }

    #[test]
    fn a_client_cannot_claim_another_account() {
        let forged = update(
            r#"{"user":{"id":1,"name":"the boss","color":"red"},"cursor":{"anchor":[1],"head":[2]}}"#,
        );
        let stamped = stamp(forged, UserId(42), "mallory");
        let s = &states(&stamped)[0];
        assert_eq!(s["user"]["id"], 42);
        assert_eq!(s["user"]["name"], "mallory");
        assert_eq!(s["user"]["color"], "red", "other fields pass through");
        assert_eq!(s["cursor"]["head"], serde_json::json!([2]));
        // Not an object at all: it becomes one naming the account.
        let s = &states(&stamp(update("17"), UserId(42), "mallory"))[0];
        assert_eq!(s["user"]["name"], "mallory");
        // Leaving stays leaving; other messages are untouched.
        let leave = update("null");
        assert_eq!(stamp(leave.clone(), UserId(42), "m"), leave);
        let sync = protocol::sync_step1(Default::default());
        assert_eq!(stamp(sync.clone(), UserId(42), "m"), sync);
    }
}
