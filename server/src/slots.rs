//! A fixed number of slots for expensive work (password hashes, zip imports and exports): a
//! request waits a bounded time for one, then is refused as busy instead of queueing without
//! end. A leaf module, like `rate` and `limits`.

use std::{sync::Arc, time::Duration};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ServerError;

#[derive(Clone, Debug)]
pub struct Slots {
    free: Arc<Semaphore>,
    /// The flag that sets the count, for `/metrics` and the refusal.
    limit: &'static str,
    wait: Duration,
    /// What a refused request is told.
    busy: &'static str,
}

impl Slots {
    pub fn new(count: usize, limit: &'static str, wait: Duration, busy: &'static str) -> Self {
        Self {
            free: Arc::new(Semaphore::new(count.max(1))),
            limit,
            wait,
            busy,
        }
    }

    /// A slot, held until the permit is dropped; `Busy` (503) after the wait.
    pub async fn take(&self) -> Result<OwnedSemaphorePermit, ServerError> {
        match tokio::time::timeout(self.wait, self.free.clone().acquire_owned()).await {
            Ok(Ok(slot)) => Ok(slot),
            _ => {
                crate::limits::refused(self.limit);
                Err(ServerError::Busy(self.busy.to_owned()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_full_set_refuses_after_the_wait() {
        let slots = Slots::new(1, "test", Duration::from_secs(2), "busy now");
        let held = slots.take().await.expect("a free slot");
        let refused = slots.take().await.expect_err("none free");
        assert_eq!(refused.to_string(), "busy now");
        drop(held);
        assert!(slots.take().await.is_ok(), "free again");
    }
}
