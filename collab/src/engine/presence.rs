//! Pacing for awareness (cursors, selections, names). A change goes out at once when the
//! document has been quiet for a tick; changes within the tick after it are gathered and sent
//! as one update when it ends. A join storm on a busy document then costs each subscriber one
//! message per tick instead of one per joining client (n² messages for n joins), and a cursor
//! moved alone is not delayed at all.

use std::collections::HashSet;

use bytes::Bytes;
use tokio::time::{Duration, Instant};
use yrs::{
    ClientID,
    sync::{Awareness, AwarenessUpdate},
};

use crate::protocol;

/// One frame at 60 Hz: what a person sees as immediate.
pub(super) const TICK: Duration = Duration::from_millis(16);

#[derive(Default)]
pub(super) struct Pace {
    /// Clients whose state changed since the last send.
    dirty: HashSet<ClientID>,
    flush_at: Option<Instant>,
    sent_at: Option<Instant>,
}

impl Pace {
    /// True when the change can go out now (the caller sends it and this counts as the tick's
    /// send); otherwise its clients wait for [`Self::flush_at`].
    pub(super) fn now_or_later(&mut self, clients: impl IntoIterator<Item = ClientID>) -> bool {
        let now = Instant::now();
        if self.flush_at.is_none() && self.sent_at.is_none_or(|t| now >= t + TICK) {
            self.sent_at = Some(now);
            return true;
        }
        self.dirty.extend(clients);
        let next = self.sent_at.map_or(now, |t| t + TICK);
        self.flush_at.get_or_insert(next);
        false
    }

    pub(super) fn flush_at(&self) -> Option<Instant> {
        self.flush_at
    }

    /// The clients gathered for this tick's send, which counts as sent now.
    pub(super) fn take(&mut self) -> Vec<ClientID> {
        self.flush_at = None;
        self.sent_at = Some(Instant::now());
        self.dirty.drain().collect()
    }
}

/// One awareness message with the current state of `clients` ("null" for those that left);
/// `None` when none of them is known.
pub(super) fn states_of(awareness: &Awareness, clients: &[ClientID]) -> Option<Bytes> {
    let mut update = AwarenessUpdate {
        clients: Default::default(),
    };
    for id in clients {
        if let Ok(one) = awareness.update_with_clients([*id]) {
            update.clients.extend(one.clients);
        }
    }
    (!update.clients.is_empty()).then(|| protocol::awareness(update))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_first_change_goes_at_once_and_the_rest_once_per_tick() {
        let mut pace = Pace::default();
        let id = ClientID::new;
        assert!(pace.now_or_later([id(1)]));
        assert!(pace.flush_at().is_none());
        // Within the tick: gathered.
        assert!(!pace.now_or_later([id(2)]));
        assert!(!pace.now_or_later([id(3), id(2)]));
        let at = pace.flush_at().expect("a flush is due");
        tokio::time::sleep_until(at).await;
        let mut due = pace.take();
        due.sort();
        assert_eq!(due, vec![id(2), id(3)]);
        // Right after a flush the next change waits for the next tick...
        assert!(!pace.now_or_later([id(4)]));
        tokio::time::sleep_until(pace.flush_at().expect("due")).await;
        assert_eq!(pace.take(), vec![id(4)]);
        // ...and after a quiet tick goes at once again.
        tokio::time::sleep(TICK).await;
        assert!(pace.now_or_later([id(5)]));
    }
}
