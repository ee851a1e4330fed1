//! What the status bar says about a document, derived from facts rather than hopes: how many
//! updates were sent and how many the server has acknowledged as committed. (The socket's
//! state is [`crate::live::status::Link`].)

/// Whether the open document's edits are on the server's disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Save {
    /// No document open (yet).
    None,
    /// The user may not edit this document.
    ReadOnly,
    Saved,
    /// Sent, waiting for the server to commit.
    Saving,
    /// Edits made while disconnected; kept in this tab and merged on reconnect.
    Unsaved,
}

impl Save {
    pub fn label(self) -> &'static str {
        match self {
            Save::None => "",
            Save::ReadOnly => "Read-only",
            Save::Saved => "Saved",
            Save::Saving => "Saving…",
            Save::Unsaved => "Unsaved changes",
        }
    }
}

/// The connection as the status bar words it, with the edits waiting for it: "Offline — 12
/// edits waiting". Connected, the save state says the rest.
pub fn link_text(link: crate::live::status::Link, waiting: u64) -> String {
    let base = link.label();
    if waiting == 0 || link == crate::live::status::Link::Connected {
        return base.to_owned();
    }
    let s = if waiting == 1 { "" } else { "s" };
    format!("{} — {waiting} edit{s} waiting", base.trim_end_matches('…'))
}

/// The durability bookkeeping of one open document on one connection. The server numbers the
/// non-empty updates each subscription sends and acknowledges "the first n are committed";
/// the client counts the same way, so `acked >= sent` means everything typed is on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocSync {
    /// Opened at least once: from then on there is always a truthful save state to show.
    seen: bool,
    open: bool,
    writable: bool,
    sent: u64,
    acked: u64,
    /// Local edits the server may not have: made while closed, or sent but never acknowledged
    /// before the connection dropped. Cleared when the reconnect handshake has sent our diff.
    unsynced: bool,
    /// How many such edits (what the status bar counts as "edits waiting").
    waiting: u64,
}

/// The empty v1 update (no structs, no deletes): what a handshake step 2 is when there is
/// nothing to send. The server does not count it, so neither do we.
pub const EMPTY_UPDATE: [u8; 2] = [0, 0];

impl DocSync {
    /// The server accepted the subscription; numbering restarts with it.
    pub fn opened(&mut self, writable: bool) {
        self.seen = true;
        self.open = true;
        self.writable = writable;
        self.sent = 0;
        self.acked = 0;
    }

    /// The subscription or the socket is gone.
    pub fn closed(&mut self) {
        if self.open && self.acked < self.sent {
            self.unsynced = true;
            self.waiting += self.sent - self.acked;
        }
        self.open = false;
    }

    /// The document was shown from this device's local copy before the server answered:
    /// `waiting` edits in it were never acknowledged (made offline, perhaps in an earlier
    /// visit); they go out with the handshake like any other offline edit.
    pub fn restored(&mut self, writable: bool, waiting: u64) {
        if !self.open {
            self.seen = true;
            self.writable = writable;
        }
        if waiting > 0 {
            self.unsynced = true;
            self.waiting += waiting;
        }
    }

    /// Local edits the server has not acknowledged: waiting to be sent, or sent and not yet
    /// committed.
    pub fn pending(&self) -> u64 {
        // Once closed, the unacknowledged sent edits are counted in `waiting`.
        let in_flight = if self.open {
            self.sent.saturating_sub(self.acked)
        } else {
            0
        };
        self.waiting + in_flight
    }

    /// Local edits waiting for a connection (not sent yet).
    pub fn waiting(&self) -> u64 {
        if self.unsynced { self.waiting } else { 0 }
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// A local update was made; returns whether to send it now. While closed it stays in the
    /// document and goes out with the reconnect handshake.
    pub fn local_update(&mut self) -> bool {
        if self.open && self.writable {
            self.sent += 1;
            true
        } else {
            self.unsynced = true;
            self.waiting += 1;
            false
        }
    }

    /// We answered the server's step 1 with our diff: everything local is now sent.
    pub fn handshake_sent(&mut self, update: &[u8]) {
        if update != EMPTY_UPDATE && self.writable {
            self.sent += 1;
        }
        self.unsynced = false;
        self.waiting = 0;
    }

    pub fn saved(&mut self, n: u64) {
        self.acked = self.acked.max(n);
    }

    pub fn save_state(&self) -> Save {
        if !self.seen {
            Save::None
        } else if !self.writable {
            Save::ReadOnly
        } else if self.unsynced {
            Save::Unsaved
        } else if self.acked < self.sent {
            Save::Saving
        } else {
            // Everything sent is acknowledged, whether or not we are connected right now.
            Save::Saved
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_only_after_every_sent_update_is_acknowledged() {
        let mut s = DocSync::default();
        assert_eq!(s.save_state(), Save::None);
        s.opened(true);
        s.handshake_sent(&EMPTY_UPDATE);
        assert_eq!(s.save_state(), Save::Saved);
        assert!(s.local_update());
        assert!(s.local_update());
        assert_eq!(s.save_state(), Save::Saving);
        s.saved(1);
        assert_eq!(s.save_state(), Save::Saving);
        s.saved(2);
        assert_eq!(s.save_state(), Save::Saved);
    }

    #[test]
    fn edits_across_a_disconnect_stay_unsaved_until_the_handshake() {
        let mut s = DocSync::default();
        s.opened(true);
        assert!(s.local_update());
        s.closed(); // dropped before the ack
        assert_eq!(s.save_state(), Save::Unsaved);
        assert!(!s.local_update(), "offline edits wait for the handshake");
        s.opened(true);
        assert_eq!(s.save_state(), Save::Unsaved);
        s.handshake_sent(&[1, 2, 3]);
        assert_eq!(s.save_state(), Save::Saving);
        s.saved(1);
        assert_eq!(s.save_state(), Save::Saved);
        // Losing the connection with nothing pending is still "Saved": it is all on disk.
        s.closed();
        assert_eq!(s.save_state(), Save::Saved);
    }

    #[test]
    fn counts_the_edits_waiting_for_a_connection() {
        let mut s = DocSync::default();
        s.opened(true);
        assert!(s.local_update());
        assert!(s.local_update());
        s.saved(1);
        s.closed(); // one sent edit never acknowledged
        assert!(!s.local_update());
        assert!(!s.local_update());
        assert_eq!((s.waiting(), s.pending()), (3, 3));
        s.opened(true);
        s.handshake_sent(&[1, 2, 3]);
        assert_eq!(
            (s.waiting(), s.pending()),
            (0, 1),
            "the diff is sent, not yet committed"
        );
        s.saved(1);
        assert_eq!(s.pending(), 0);
    }

    #[test]
    fn a_local_copy_with_unsent_edits_shows_them_waiting_until_the_handshake() {
        let mut s = DocSync::default();
        s.restored(true, 12);
        assert_eq!(s.save_state(), Save::Unsaved);
        assert_eq!(s.waiting(), 12);
        assert!(!s.local_update());
        assert_eq!(s.waiting(), 13);
        s.opened(true);
        s.handshake_sent(&[1, 2]);
        assert_eq!(s.waiting(), 0);
        s.saved(1);
        assert_eq!(s.save_state(), Save::Saved);
        // A clean copy of a document one may not edit is read-only, nothing waiting.
        let mut v = DocSync::default();
        v.restored(false, 0);
        assert_eq!((v.save_state(), v.waiting()), (Save::ReadOnly, 0));
    }

    #[test]
    fn the_link_says_how_many_edits_wait_for_it() {
        use crate::live::status::Link;
        assert_eq!(link_text(Link::Offline, 12), "Offline — 12 edits waiting");
        assert_eq!(
            link_text(Link::Reconnecting { attempt: 2 }, 1),
            "Reconnecting — 1 edit waiting"
        );
        assert_eq!(link_text(Link::Offline, 0), "Offline");
        assert_eq!(link_text(Link::Connected, 3), "Connected");
    }

    #[test]
    fn viewers_are_read_only() {
        let mut s = DocSync::default();
        s.opened(false);
        s.handshake_sent(&[1, 2]);
        assert_eq!(s.save_state(), Save::ReadOnly);
    }
}
