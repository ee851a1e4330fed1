//! The one way the server takes a `std::sync::Mutex`: critical sections are short and never
//! await, and what they guard stays consistent even if a holder panicked, so a poisoned lock is
//! taken as it is rather than turned into a panic for everyone after.

use std::sync::{Mutex, MutexGuard};

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
