//! A subscriber's outbound queue, bounded by bytes rather than by a count of messages.
//!
//! A reader that falls behind a burst (a large paste, a scripted writer, a throttled background
//! tab) is not disconnected while its backlog fits the budget. Past the budget, the document
//! updates waiting for it are merged into one update (yrs merges updates losslessly), so it
//! catches up in one message however many it missed; only a merged backlog past the hard limit
//! ends the subscription (the client reconnects and resyncs). The next merge waits until the
//! backlog has doubled, so a reader that stays behind costs the owner amortised linear work.
//!
//! One lock around a `VecDeque` and a waker: the owner pushes, the connection's task pops. An
//! empty outbox allocates nothing, which matters for thousands of idle connections.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Poll, Waker},
};

use bytes::Bytes;

use super::Outbound;
use crate::protocol;

/// What one queued item is counted as besides its bytes (the enum, the `Bytes` handle, the
/// deque slot), so a flood of tiny messages is bounded too.
const ITEM_COST: usize = 64;

#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Queued bytes past which the waiting document updates are merged.
    pub soft: usize,
    /// Queued bytes (after merging) past which the subscriber is dropped.
    pub hard: usize,
}

/// The outcome of offering a message.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Push {
    Queued,
    /// The backlog was merged to make room (counted in the engine's statistics).
    Merged,
    /// Past the hard limit even after merging: drop the subscriber, it resyncs.
    Full,
    /// The receiving side is gone (the connection closed): forget the subscriber quietly.
    Gone,
}

struct Queue {
    items: VecDeque<Outbound>,
    bytes: usize,
    merge_at: usize,
    waker: Option<Waker>,
    sender_gone: bool,
    receiver_gone: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    budget: Budget,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Nothing panics while holding the lock; a poisoned one still holds a valid queue.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The owner's end.
pub(super) struct Sender(Arc<Shared>);

/// The connection's end.
pub(super) struct Receiver(Arc<Shared>);

pub(super) fn outbox(budget: Budget) -> (Sender, Receiver) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            items: VecDeque::new(),
            bytes: 0,
            merge_at: budget.soft,
            waker: None,
            sender_gone: false,
            receiver_gone: false,
        }),
        budget,
    });
    (Sender(shared.clone()), Receiver(shared))
}

fn cost(item: &Outbound) -> usize {
    ITEM_COST
        + match item {
            Outbound::Message(b) => b.len(),
            Outbound::Saved(_) => 0,
            Outbound::Close(r) => r.len(),
        }
}

impl Sender {
    /// Queues `item` for the connection, merging the waiting updates when the budget is spent.
    pub(super) fn push(&self, item: Outbound) -> Push {
        let budget = self.0.budget;
        let mut q = self.0.lock();
        if q.receiver_gone {
            return Push::Gone;
        }
        // A close always fits: it is the last thing the connection hears.
        let over = q.bytes + cost(&item) > q.merge_at && !matches!(item, Outbound::Close(_));
        q.bytes += cost(&item);
        q.items.push_back(item);
        let mut outcome = Push::Queued;
        if over {
            // The new message joins the merge when it is an update itself.
            match merge(&mut q) {
                Merge::Done => outcome = Push::Merged,
                Merge::Nothing => {}
                Merge::Refused => return Push::Full,
            }
            if q.bytes > budget.hard {
                return Push::Full;
            }
            q.merge_at = budget.soft.max(2 * q.bytes);
        }
        wake(&mut q);
        outcome
    }

    /// Bytes waiting for the connection (for tests and statistics).
    #[cfg(test)]
    fn queued(&self) -> usize {
        self.0.lock().bytes
    }
}

fn wake(q: &mut Queue) {
    if let Some(w) = q.waker.take() {
        w.wake();
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let mut q = self.0.lock();
        q.sender_gone = true;
        wake(&mut q);
    }
}

impl Receiver {
    pub(super) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<Outbound>> {
        let mut q = self.0.lock();
        if let Some(item) = q.items.pop_front() {
            q.bytes -= cost(&item);
            if q.items.is_empty() {
                // Caught up: the next burst starts from the plain budget, and the deque gives
                // back what a burst made it allocate.
                q.merge_at = self.0.budget.soft;
                q.items = VecDeque::new();
            }
            return Poll::Ready(Some(item));
        }
        if q.sender_gone {
            return Poll::Ready(None);
        }
        if !q.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            q.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    pub(super) fn try_recv(&self) -> Option<Outbound> {
        let mut q = self.0.lock();
        let item = q.items.pop_front()?;
        q.bytes -= cost(&item);
        Some(item)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let mut q = self.0.lock();
        q.receiver_gone = true;
        q.items = VecDeque::new();
        q.bytes = 0;
    }
}

enum Merge {
    Done,
    /// Fewer than two updates wait: nothing to merge.
    Nothing,
    /// yrs could not merge them (it never should: each was applied before it was queued).
    Refused,
}

/// Merges every queued document update (sync step 2 or update) into one update message, in
/// the place of the first; other messages keep their order.
fn merge(q: &mut Queue) -> Merge {
    let mut first = None;
    let mut payloads: Vec<Bytes> = Vec::new();
    for (i, item) in q.items.iter().enumerate() {
        if let Outbound::Message(m) = item
            && let Some(p) = protocol::update_payload(m)
        {
            first.get_or_insert(i);
            payloads.push(m.slice_ref(p));
        }
    }
    let Some(first) = first.filter(|_| payloads.len() >= 2) else {
        return Merge::Nothing;
    };
    // Every queued update was applied to the document before it was queued, so yrs accepts
    // them; guarded anyway, since a panic here would take the whole document down.
    let merged = match protocol::guarded(|| yrs::merge_updates_v1(&payloads)) {
        Ok(Ok(merged)) => protocol::update(merged),
        _ => return Merge::Refused,
    };
    let mut kept = VecDeque::with_capacity(q.items.len() - payloads.len() + 1);
    for (i, item) in q.items.drain(..).enumerate() {
        if i == first {
            kept.push_back(Outbound::Message(merged.clone()));
        }
        let is_update =
            matches!(&item, Outbound::Message(m) if protocol::update_payload(m).is_some());
        if !is_update {
            kept.push_back(item);
        }
    }
    q.bytes = kept.iter().map(cost).sum();
    q.items = kept;
    Merge::Done
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;
    use yrs::{
        Doc, GetString, ReadTxn, StateVector, Text, Transact, Update, updates::decoder::Decode,
    };

    fn typed(n: usize) -> (Doc, Vec<Bytes>) {
        let doc = Doc::new();
        let text = doc.get_or_insert_text("content");
        let mut updates = Vec::new();
        for i in 0..n {
            let before = doc.transact().state_vector();
            text.insert(&mut doc.transact_mut(), i as u32, "x");
            updates.push(protocol::update(
                doc.transact().encode_state_as_update_v1(&before),
            ));
        }
        (doc, updates)
    }

    fn drain(rx: &Receiver) -> Vec<Outbound> {
        let mut cx = Context::from_waker(Waker::noop());
        let mut out = Vec::new();
        while let Poll::Ready(Some(item)) = rx.poll_recv(&mut cx) {
            out.push(item);
        }
        out
    }

    fn apply_all(items: &[Outbound]) -> String {
        let doc = Doc::new();
        let text = doc.get_or_insert_text("content");
        for item in items {
            if let Outbound::Message(m) = item
                && let Some(p) = protocol::update_payload(m)
            {
                let u = Update::decode_v1(p).expect("decodes");
                doc.transact_mut().apply_update(u).expect("applies");
            }
        }
        text.get_string(&doc.transact())
    }

    #[test]
    fn a_burst_past_the_budget_arrives_merged_and_whole() {
        let (doc, updates) = typed(5000);
        let (tx, rx) = outbox(Budget {
            soft: 16 * 1024,
            hard: 1 << 20,
        });
        let mut merged = 0;
        for (i, u) in updates.into_iter().enumerate() {
            match tx.push(Outbound::Message(u)) {
                Push::Queued => {}
                Push::Merged => merged += 1,
                other => panic!("update {i}: {other:?}"),
            }
            if i == 10 {
                tx.push(Outbound::Saved(3));
            }
            // Bounded by twice the merged backlog (the doubling rule), never by the burst.
            assert!(tx.queued() <= 160 * 1024, "backlog {}", tx.queued());
        }
        assert!(merged > 0);
        let items = drain(&rx);
        // The ack survives the merge, and everything typed arrives.
        assert!(items.contains(&Outbound::Saved(3)));
        assert!(items.len() < 1000, "{} messages", items.len());
        let want = doc
            .get_or_insert_text("content")
            .get_string(&doc.transact());
        assert_eq!(apply_all(&items), want);
        // Caught up: the budget starts over, and the doc still encodes the same state.
        assert_eq!(tx.queued(), 0);
        let _ = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
    }

    #[test]
    fn past_the_hard_limit_the_subscriber_is_dropped() {
        let (_, updates) = typed(200);
        let (tx, _rx) = outbox(Budget {
            soft: 256,
            hard: 2048,
        });
        // Awareness-like messages cannot be merged: the hard limit ends it.
        let mut outcome = Push::Queued;
        for _ in 0..100 {
            outcome = tx.push(Outbound::Message(Bytes::from(vec![1u8; 100])));
            if outcome == Push::Full {
                break;
            }
        }
        assert_eq!(outcome, Push::Full);
        // Updates alone merge and keep fitting.
        let (tx, _rx) = outbox(Budget {
            soft: 256,
            hard: 4096,
        });
        for u in updates {
            assert_ne!(tx.push(Outbound::Message(u)), Push::Full);
        }
    }

    #[test]
    fn a_gone_receiver_is_reported_and_a_gone_sender_ends_the_stream() {
        let (tx, rx) = outbox(Budget {
            soft: 1024,
            hard: 4096,
        });
        tx.push(Outbound::Saved(1));
        drop(tx);
        assert_eq!(drain(&rx), vec![Outbound::Saved(1)]);
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));
        let (tx, rx) = outbox(Budget {
            soft: 1024,
            hard: 4096,
        });
        drop(rx);
        assert_eq!(tx.push(Outbound::Saved(1)), Push::Gone);
    }
}
