//! The browser half of live editing (built with `hydrate` only): the tab's websocket, one
//! session per open document, and the bindings to the Monaco shim.

mod connection;
mod monaco;
mod session;

pub(crate) use connection::Connection;
pub(crate) use monaco::{code_of_button, copy_text, decorate_code};
pub(crate) use session::DocSession;
