//! Tandem's sync engine. The wire formats (the `/ws` frame envelope and the y-sync messages)
//! build everywhere, including the browser; the live-document engine (feature `server`) runs
//! one owner task per open document behind transport-free subscriptions.

pub mod protocol;
pub mod wire;

#[cfg(feature = "server")]
pub mod attribution;
#[cfg(feature = "server")]
pub mod bus;
#[cfg(feature = "server")]
pub mod doc;
#[cfg(feature = "server")]
pub mod engine;
#[cfg(feature = "server")]
pub mod store;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
#[cfg(feature = "server")]
pub mod versions;

pub use wire::{Channel, DocId, Frame, WireError};
