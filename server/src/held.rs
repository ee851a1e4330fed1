//! A wait that outlives the `select!` it is raced in. A socket's loop races its output against
//! slower signals (the access watch, the project's events) once for every frame it sends. A
//! wait made afresh each time and dropped when the output wins registers with its source and
//! unregisters again every time; for a `broadcast` queue that every socket shares, that is two
//! locks on its tail per delivered message, and even a kept `Recv` takes that lock each time it
//! is polled. Held here, the wait keeps its place, and it is polled only after its source woke
//! it: a poll while nothing happened costs two atomic operations. When the wait ends, its
//! state moves into the next wait (in the same allocation).

use std::{
    future::{Future, poll_fn},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};

use futures_util::task::AtomicWaker;
use tokio_util::sync::ReusableBoxFuture;

/// A future producing `(state, output)`; the state goes into the next wait.
pub(crate) struct Held<S, O> {
    wait: ReusableBoxFuture<'static, (S, O)>,
    signal: Arc<Signal>,
    /// Handed to the wait: wakes the signal rather than the task directly.
    waker: Waker,
}

/// Whether the wait's source woke it since it was last polled, and the task to tell.
struct Signal {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl<S: 'static, O: 'static> Held<S, O> {
    pub(crate) fn new(first: impl Future<Output = (S, O)> + Send + 'static) -> Self {
        let signal = Arc::new(Signal {
            // A new wait has never been polled: it must be once.
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        Self {
            wait: ReusableBoxFuture::new(first),
            waker: Waker::from(signal.clone()),
            signal,
        }
    }

    /// The held wait's output, once it ends; `again` then starts the next wait from its state.
    /// Cancel-safe: until it ends, the wait stays here.
    pub(crate) async fn next<F>(&mut self, again: impl FnOnce(S) -> F) -> O
    where
        F: Future<Output = (S, O)> + Send + 'static,
    {
        let (state, output) = poll_fn(|cx| {
            // Registered before the flag is read, so a wake in between is not lost.
            self.signal.task.register(cx.waker());
            if !self.signal.woken.swap(false, Ordering::AcqRel) {
                return Poll::Pending;
            }
            self.wait.poll(&mut Context::from_waker(&self.waker))
        })
        .await;
        self.wait.set(again(state));
        self.signal.woken.store(true, Ordering::Release);
        output
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::broadcast;

    async fn recv(mut rx: broadcast::Receiver<u32>) -> (broadcast::Receiver<u32>, Option<u32>) {
        let got = rx.recv().await.ok();
        (rx, got)
    }

    #[tokio::test]
    async fn a_wait_that_loses_races_goes_on_and_misses_nothing() {
        let (tx, rx) = broadcast::channel(8);
        let mut held = Held::new(recv(rx));
        // Lost races: the other branch is ready every time.
        for _ in 0..3 {
            tokio::select! {
                biased;
                () = std::future::ready(()) => {}
                _ = held.next(recv) => panic!("nothing was sent"),
            }
        }
        for n in 1..=3 {
            tx.send(n).expect("a receiver");
        }
        for n in 1..=3 {
            assert_eq!(held.next(recv).await, Some(n));
        }
        drop(tx);
        assert_eq!(held.next(recv).await, None);
    }

    #[tokio::test]
    async fn a_send_while_the_task_waits_elsewhere_wakes_it() {
        let (tx, rx) = broadcast::channel(8);
        let mut held = Held::new(recv(rx));
        let (other_tx, mut other_rx) = tokio::sync::mpsc::channel::<()>(1);
        let sender = tokio::spawn(async move {
            tokio::task::yield_now().await;
            tx.send(7).expect("a receiver");
            // Keeps the other branch pending until after the send.
            drop(other_tx);
        });
        let got = tokio::select! {
            got = held.next(recv) => got,
            _ = other_rx.recv() => {
                // The channel closing may win the race; the send is then still held.
                held.next(recv).await
            }
        };
        assert_eq!(got, Some(7));
        sender.await.expect("sender");
    }
}
