//! The project channel: one websocket per tab (`/ws?project=ID`) that carries the project's
//! events (tree, presence, chat, typing, saved acknowledgements) and the frames of every open
//! document. Features publish on it and subscribe to it through [`Live`]; none of them owns it.

use leptos::prelude::*;

#[cfg(feature = "browser")]
pub(crate) mod connection;
pub mod events;
pub mod status;
pub mod stream;

use crate::types::ProjectId;
use status::Link;

/// The tab's live connection for one project: the link state for the page, project events
/// for whoever handles them, and (in the browser) the websocket with its open documents,
/// started lazily and stopped with the page.
#[derive(Clone, Copy)]
pub struct Live {
    pub link: RwSignal<Link>,
    #[cfg(feature = "browser")]
    conn: StoredValue<Option<std::rc::Rc<connection::Connection>>, LocalStorage>,
    #[cfg_attr(not(feature = "browser"), allow(dead_code))]
    project: ProjectId,
    #[cfg_attr(not(feature = "browser"), allow(dead_code))]
    on_event: Callback<events::ServerEvent>,
}

impl Live {
    /// `on_event` receives the project channel's events that are not about one document;
    /// after every (re)connect it also gets a `Resync`, since events may have been missed.
    pub fn new(
        project: ProjectId,
        link: RwSignal<Link>,
        on_event: Callback<events::ServerEvent>,
    ) -> Self {
        let live = Self {
            link,
            #[cfg(feature = "browser")]
            conn: StoredValue::new_local(None),
            project,
            on_event,
        };
        #[cfg(feature = "browser")]
        {
            Effect::new(move |_| {
                live.connection();
            });
            on_cleanup(move || {
                live.conn.try_update_value(|c| {
                    if let Some(conn) = c.take() {
                        conn.stop();
                    }
                });
            });
        }
        live
    }

    #[cfg(feature = "browser")]
    pub(crate) fn connection(&self) -> Option<std::rc::Rc<connection::Connection>> {
        let existing = self.conn.try_with_value(|c| c.clone())?;
        if existing.is_some() {
            return existing;
        }
        let conn = connection::Connection::start(self.project, self.link, self.on_event);
        self.conn.set_value(Some(conn.clone()));
        Some(conn)
    }

    /// Sends a project event (chat typing); false while disconnected.
    #[cfg(feature = "browser")]
    pub fn send(&self, event: &events::ClientEvent) -> bool {
        self.connection().is_some_and(|c| c.send_event(event))
    }

    /// Unsubscribes from a document and disposes of its session (the page may be gone
    /// already, in which case the connection did both when it stopped).
    #[cfg(feature = "browser")]
    pub(crate) fn detach(&self, doc: crate::types::DocId) {
        if let Some(conn) = self.conn.try_with_value(|c| c.clone()).flatten() {
            conn.close_doc(doc);
        }
    }
}
