//! "Offline copies on this device": what this browser keeps for working offline (documents per
//! project, their size, edits not yet on the server) against its bounds, and a button that
//! clears it. Read in the browser only (the server cannot see it).

use leptos::prelude::*;

use crate::offline::{budget::Usage, format_bytes};

#[component]
pub(super) fn LocalCopies() -> impl IntoView {
    // None until the browser has read the store.
    let usage: RwSignal<Option<Usage>> = RwSignal::new(None);
    let names: RwSignal<Vec<(i64, String)>> = RwSignal::new(Vec::new());
    let cleared = RwSignal::new(false);
    #[cfg(feature = "browser")]
    let read = move || {
        leptos::task::spawn_local(async move {
            let copies = crate::offline::local::list().await;
            let _ = names.try_set(crate::offline::local::project_names().await);
            let _ = usage.try_set(Some(crate::offline::budget::usage(&copies)));
        });
    };
    #[cfg(feature = "browser")]
    Effect::new(move |_| read());
    let clear = move |_| {
        #[cfg(feature = "browser")]
        {
            let pending = usage.with_untracked(|u| u.as_ref().map_or(0, |u| u.pending_edits));
            if pending > 0 {
                let ask = format!(
                    "{pending} edit{} on this device have not reached the server yet. Delete them anyway?",
                    if pending == 1 { "" } else { "s" }
                );
                let sure = web_sys::window()
                    .and_then(|w| w.confirm_with_message(&ask).ok())
                    .unwrap_or(false);
                if !sure {
                    return;
                }
            }
            leptos::task::spawn_local(async move {
                crate::offline::local::forget_user().await;
                let _ = cleared.try_set(true);
                read();
            });
        }
    };
    let limits = {
        #[cfg(feature = "browser")]
        {
            crate::offline::local::limits()
        }
        #[cfg(not(feature = "browser"))]
        {
            crate::offline::budget::Limits::default()
        }
    };
    view! {
        <section class="card" data-test="local-copies">
            <h2>"Offline copies on this device"</h2>
            <p class="muted">{format!(
                "Every file you open is kept in this browser so it opens, and can be edited, without a connection; edits made offline are sent when the connection is back. Up to {} in all and {} per project; the least recently used files make room first, never one with edits that have not reached the server. Logging out deletes them.",
                format_bytes(limits.total), format_bytes(limits.per_project)
            )}</p>
            {move || match usage.get() {
                None => view! { <p class="muted">"Reading…"</p> }.into_any(),
                Some(u) => view! {
                    <p data-test="local-usage" data-bytes=u.bytes.to_string() data-copies=u.copies.to_string()>
                        {format!("{} in {} file{}", format_bytes(u.bytes), u.copies, if u.copies == 1 { "" } else { "s" })}
                        {(u.pending_edits > 0).then(|| format!(", {} edit{} not yet on the server", u.pending_edits, if u.pending_edits == 1 { "" } else { "s" }))}
                    </p>
                    <ul class="plain-list" data-test="local-projects">
                        {u.projects.iter().map(|(project, bytes, copies)| view! {
                            <li data-project=project.to_string()>
                                <a href=format!("/p/{project}")>{
                                    let p = *project;
                                    names.with(|n| n.iter().find(|(id, _)| *id == p).map(|(_, name)| name.clone()))
                                        .unwrap_or_else(|| format!("Project {p}"))
                                }</a>
                                <span class="muted">{format!(" · {} in {} file{}", format_bytes(*bytes), copies, if *copies == 1 { "" } else { "s" })}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
            <button type="button" data-test="clear-local" on:click=clear>"Delete this device's copies"</button>
            {move || cleared.get().then(|| view! { <p class="muted" role="status">"Deleted."</p> })}
        </section>
    }
}
