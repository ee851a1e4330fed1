//! The project channel on the server: the hub that fans a project's events out to its tabs
//! (tree, presence, chat, typing) and the `/ws` endpoint each tab connects to. Features publish
//! through [`Hub`]; documents on the same socket go through the editor's engine.

pub mod ask;
pub mod completions;
pub mod hub;
pub mod nodes;
pub mod requests;
pub mod terminals;
pub mod ws;

pub use completions::{CompletionAsk, CompletionHandle, CompletionPort};
pub use hub::{Hub, TabId, View, frame};
pub use terminals::{TerminalHandle, TerminalPort};
