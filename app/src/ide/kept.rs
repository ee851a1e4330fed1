//! The IDE page's data as this device last saw it (project, members, default file, tree), kept
//! in IndexedDB when the page loads and as its tree changes, so the offline shell can open the
//! project without it. Keyed by the person; the last person to load a project here is
//! remembered (`tandem.offline.user`), and a different person's arrival clears the copies.

use crate::{
    editor::FileDoc,
    files::FileEntry,
    types::{ProjectId, Workspace},
};

type Kept = (Workspace, Option<FileDoc>, Vec<FileEntry>);

#[cfg(feature = "browser")]
use crate::offline::local::USER_KEY;

/// Keeps the page's data now, whenever the tree changes (a moment after the last change), and
/// at once when the connection drops: what the page knew last is what opens offline (browser
/// only; the server render does nothing).
pub(super) fn follow(
    ws: &Workspace,
    file: Option<FileDoc>,
    files: crate::files::Files,
    link: leptos::prelude::RwSignal<crate::live::status::Link>,
) {
    #[cfg(feature = "browser")]
    {
        use leptos::prelude::*;
        let ws = ws.clone();
        let generation = StoredValue::new(0u64);
        Effect::new(move |first: Option<bool>| {
            let connected = link.get() == crate::live::status::Link::Connected;
            let entries = files.tree.with(|t| t.entries());
            let this = generation.get_value().wrapping_add(1);
            generation.set_value(this);
            let (ws, file) = (ws.clone(), file.clone());
            let write = move || {
                if generation.try_get_value() == Some(this) {
                    save(&ws, file.as_ref(), &entries);
                }
            };
            let dropped = first == Some(true) && !connected;
            if first.is_none() || dropped {
                write();
            } else {
                set_timeout(write, std::time::Duration::from_millis(300));
            }
            connected
        });
    }
    #[cfg(not(feature = "browser"))]
    let _ = (ws, file, files, link);
}

#[cfg(feature = "browser")]
fn save(ws: &Workspace, file: Option<&FileDoc>, entries: &[FileEntry]) {
    use crate::offline::{local, project_key};
    let Ok(json) = serde_json::to_string(&(ws, file, entries)) else {
        return;
    };
    let user = ws.me.id;
    let project = ws.project.id;
    let name = ws.project.name.clone();
    let storage = crate::browser::storage();
    let last = storage
        .as_ref()
        .and_then(|s| s.get_item(USER_KEY).ok().flatten());
    let same = last.as_deref() == Some(user.0.to_string().as_str());
    leptos::task::spawn_local(async move {
        if !same {
            // Someone else used this browser last without signing out: their copies go.
            if last.is_some() {
                local::clear_all().await;
            }
            if let Some(s) = storage {
                let _ = s.set_item(USER_KEY, &user.0.to_string());
            }
        }
        local::save_project(&project_key(user, project), user.0, project.0, &name, json);
    });
}

/// The kept data of `project` for the last person who loaded it here. `Send` as resources
/// need, though the browser's IndexedDB future is not (it never leaves the page's thread).
pub(super) async fn load(project: ProjectId) -> Option<Kept> {
    #[cfg(feature = "browser")]
    {
        send_wrapper::SendWrapper::new(load_here(project)).await
    }
    #[cfg(not(feature = "browser"))]
    {
        let _ = project;
        None
    }
}

#[cfg(feature = "browser")]
async fn load_here(project: ProjectId) -> Option<Kept> {
    {
        let user: i64 = crate::browser::storage()?
            .get_item(USER_KEY)
            .ok()
            .flatten()?
            .parse()
            .ok()?;
        let key = crate::offline::project_key(crate::types::UserId(user), project);
        let json = crate::offline::local::load_project(&key).await?;
        serde_json::from_str(&json).ok()
    }
}
