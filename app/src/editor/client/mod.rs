//! The browser half of live editing (built with `browser` only): one session per open
//! document, attached to the tab's connection, and the bindings to the Monaco shim.

mod monaco;
mod session;

use std::rc::Rc;

pub(crate) use monaco::{code_of_button, copy_text, decorate_code};
pub(crate) use session::{DocSession, Tab};

/// The server's answer to completion request `id`, for Monaco (empty: nothing to show).
pub(crate) fn completion_arrived(id: u64, text: &str) {
    // Monaco's request numbers count up from 1 in this page: exact in an f64.
    monaco::completion_arrived(id as f64, text);
}

use crate::live::connection::DocChannel;

/// The session as the connection sees it. A wrapper because the session's handlers take
/// `self: &Rc<Self>` (they start timers holding it), which a trait object cannot call.
struct Attached(Rc<DocSession>);

pub(crate) fn channel(session: &Rc<DocSession>) -> Rc<dyn DocChannel> {
    Rc::new(Attached(session.clone()))
}

impl DocChannel for Attached {
    fn on_message(&self, payload: &[u8]) {
        self.0.on_message(payload);
    }
    fn opened(&self, writable: bool) {
        self.0.opened(writable);
    }
    fn saved(&self, n: u64) {
        self.0.saved(n);
    }
    fn failed(&self, message: String) {
        self.0.failed(message);
    }
    fn disconnected(&self) {
        self.0.disconnected();
    }
    fn revoked(&self, why: &str) {
        self.0.revoked(why);
    }
    fn has_unsaved(&self) -> bool {
        self.0.has_unsaved()
    }
    fn dispose(&self) {
        self.0.dispose();
    }
}
