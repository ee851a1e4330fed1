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
        }
        self.open = false;
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
            false
        }
    }

    /// We answered the server's step 1 with our diff: everything local is now sent.
    pub fn handshake_sent(&mut self, update: &[u8]) {
        if update != EMPTY_UPDATE && self.writable {
            self.sent += 1;
        }
        self.unsynced = false;
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
    fn viewers_are_read_only() {
        let mut s = DocSync::default();
        s.opened(false);
        s.handshake_sent(&[1, 2]);
        assert_eq!(s.save_state(), Save::ReadOnly);
    }
}
