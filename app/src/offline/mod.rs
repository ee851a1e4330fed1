//! Local copies for working offline: every document a person opens and the projects they open
//! are kept in the browser's IndexedDB (`store.js`), so a reload or the installed app opens
//! them without the server, with the edits made meanwhile; the reconnect handshake merges them.
//! `budget` bounds what is kept; `local` (browser only) reads and writes it. Uses no feature, so
//! editor, chat, account and the IDE page may all use it.

pub mod budget;
#[cfg(feature = "browser")]
pub mod local;

/// The key of one person's copy of a document (`"<user>/<doc>"`).
pub fn doc_key(user: crate::types::UserId, doc: crate::types::DocId) -> String {
    format!("{}/{}", user.0, doc.0)
}

/// The key of one person's copy of a project's tree and members.
pub fn project_key(user: crate::types::UserId, project: crate::types::ProjectId) -> String {
    format!("{}/{}", user.0, project.0)
}

/// "1.2 MB", "340 kB", "12 B".
pub fn format_bytes(n: u64) -> String {
    const K: f64 = 1000.0;
    let f = n as f64;
    if f >= K * K {
        format!("{:.1} MB", f / (K * K))
    } else if f >= K {
        format!("{:.0} kB", f / K)
    } else {
        format!("{n} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{DocId, ProjectId, UserId};

    #[test]
    fn keys_name_the_person_and_bytes_read_well() {
        assert_eq!(doc_key(UserId(3), DocId(14)), "3/14");
        assert_eq!(project_key(UserId(3), ProjectId(2)), "3/2");
        assert_eq!(format_bytes(12), "12 B");
        assert_eq!(format_bytes(340_400), "340 kB");
        assert_eq!(format_bytes(1_250_000), "1.2 MB");
    }
}
