//! Tandem's sync engine. This first slice owns the `/ws` frame envelope, which names the channel
//! (a document or the project channel) that each binary frame belongs to.

pub mod wire;

pub use wire::{Channel, DocId, Frame, WireError};
