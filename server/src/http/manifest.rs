//! `GET /manifest.webmanifest`: the web app manifest that makes Tandem installable. The fixed
//! part (names, icons, colours, standalone display) is the same for everyone; a signed-in
//! person's copy adds shortcuts to their most recently changed projects, so the installed app's
//! icon menu opens them directly. Never cached by the service worker (it depends on who asks).

use axum::{
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use tower_sessions::Session;

use crate::auth::Membership;

/// Shortcuts the manifest lists at most (Chromium shows up to 4 on Android, 10 on desktop).
pub const MAX_SHORTCUTS: usize = 4;

/// The manifest for `projects`, (id, name) most recent first.
pub fn manifest(projects: &[(i64, String)]) -> Value {
    let shortcuts: Vec<Value> = projects
        .iter()
        .take(MAX_SHORTCUTS)
        .map(|(id, name)| {
            json!({
                "name": name,
                "short_name": short(name),
                "url": format!("/p/{id}"),
                "icons": [{ "src": "/icons/icon-192.png", "sizes": "192x192", "type": "image/png" }],
            })
        })
        .collect();
    json!({
        "id": "/",
        "name": "Tandem",
        "short_name": "Tandem",
        "description": "Edit code together, live: a shared editor, chat with an assistant, and runs everyone sees. Keeps working offline.",
        "start_url": "/?source=pwa",
        "scope": "/",
        "display": "standalone",
        "display_override": ["window-controls-overlay", "standalone"],
        "orientation": "any",
        "theme_color": "#2f6fed",
        "background_color": "#f7f8fa",
        "categories": ["developer", "productivity"],
        "icons": [
            { "src": "/icons/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any" },
            { "src": "/icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any" },
            { "src": "/icons/maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable" },
            { "src": "/favicon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any" },
        ],
        "shortcuts": shortcuts,
    })
}

/// Launcher labels are short; a long project name is cut at a character boundary.
fn short(name: &str) -> String {
    const MAX: usize = 12;
    if name.chars().count() <= MAX {
        return name.to_owned();
    }
    let cut: String = name.chars().take(MAX - 1).collect();
    format!("{}…", cut.trim_end())
}

pub async fn handler(State(membership): State<Membership>, session: Session) -> Response {
    let mut recent = Vec::new();
    // A visitor (or an expired session) gets the manifest without shortcuts.
    if let Ok(Some(user)) = app::auth::ssr::user_id_in(&session).await {
        match membership.projects.list_for(user).await {
            Ok(list) => recent = list.into_iter().map(|p| (p.id.0, p.name)).collect(),
            Err(e) => tracing::warn!("manifest shortcuts: {e}"),
        }
    }
    let mut res = axum::Json(manifest(&recent)).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/manifest+json"),
    );
    // Per person: shared caches must not keep it; the browser revalidates.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_recent_projects_as_shortcuts_and_shortens_names() {
        let projects: Vec<(i64, String)> = (1..=6)
            .map(|i| (i, format!("Project number {i}")))
            .collect();
        let m = manifest(&projects);
        let shortcuts = m["shortcuts"].as_array().expect("shortcuts");
        assert_eq!(shortcuts.len(), MAX_SHORTCUTS);
        assert_eq!(shortcuts[0]["url"], "/p/1");
        assert_eq!(shortcuts[0]["name"], "Project number 1");
        assert_eq!(shortcuts[0]["short_name"], "Project num…");
        assert_eq!(m["display"], "standalone");
        let icons = m["icons"].as_array().expect("icons");
        for size in ["192x192", "512x512"] {
            assert!(
                icons
                    .iter()
                    .any(|i| i["sizes"] == size && i["purpose"] == "any")
            );
        }
        assert!(icons.iter().any(|i| i["purpose"] == "maskable"));
        assert_eq!(short("été à Paris, vite"), "été à Paris…");
        assert!(
            manifest(&[])["shortcuts"]
                .as_array()
                .is_some_and(Vec::is_empty)
        );
    }
}
