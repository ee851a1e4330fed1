//! The site's static files (wasm, JS, CSS, Monaco, icons): embedded in a release binary built
//! with `--features embed-site` (what `cargo xtask run` builds), so `tandem` runs from any
//! folder as one file; otherwise, or with `--site-root`, read from a folder by Leptos's handler.

use std::{
    collections::HashMap,
    sync::{Arc, OnceLock},
};

use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use include_dir::Dir;
use sha2::{Digest, Sha256};

struct Asset {
    bytes: &'static [u8],
    mime: &'static str,
    /// Hashed when first asked for: hashing all of them at start-up would make the whole site
    /// (17 MB, mostly Monaco files a browser never loads) resident in every server process.
    etag: OnceLock<HeaderValue>,
}

impl Asset {
    fn etag(&self) -> &HeaderValue {
        self.etag.get_or_init(|| {
            let digest = Sha256::digest(self.bytes);
            let tag: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
            HeaderValue::from_str(&format!("\"{tag}\"")).unwrap_or(HeaderValue::from_static("\"\""))
        })
    }
}

/// The embedded files by URL path (`/pkg/tandem.js`). Empty when the site comes from disk.
#[derive(Clone, Default)]
pub struct Site {
    assets: Arc<HashMap<String, Asset>>,
}

impl Site {
    /// Indexes `dir` once, by path with a content type per file, so answering is a map lookup.
    pub fn embedded(dir: &'static Dir<'static>) -> Self {
        let mut assets = HashMap::new();
        let mut stack = vec![dir];
        while let Some(dir) = stack.pop() {
            stack.extend(dir.dirs());
            for file in dir.files() {
                let path = file.path().to_string_lossy().replace('\\', "/");
                assets.insert(
                    format!("/{path}"),
                    Asset {
                        bytes: file.contents(),
                        mime: mime_for(&path),
                        etag: OnceLock::new(),
                    },
                );
            }
        }
        Self {
            assets: Arc::new(assets),
        }
    }

    pub fn is_embedded(&self) -> bool {
        !self.assets.is_empty()
    }

    /// The embedded file at `path`, for GET and HEAD; `None` sends the request on to the app.
    pub fn response(&self, method: &Method, path: &str, headers: &HeaderMap) -> Option<Response> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let asset = self.assets.get(path)?;
        // Names are stable across releases (`/pkg/tandem.js`), so browsers revalidate; the
        // ETag turns that into a 304 until the binary changes.
        let cache = HeaderValue::from_static("no-cache");
        if headers
            .get(header::IF_NONE_MATCH)
            .is_some_and(|v| v == asset.etag())
        {
            return Some(
                (
                    StatusCode::NOT_MODIFIED,
                    [
                        (header::ETAG, asset.etag().clone()),
                        (header::CACHE_CONTROL, cache),
                    ],
                )
                    .into_response(),
            );
        }
        let body = if method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(asset.bytes)
        };
        let mut response = Response::new(body);
        let h = response.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.mime));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(asset.bytes.len()));
        h.insert(header::ETAG, asset.etag().clone());
        h.insert(header::CACHE_CONTROL, cache);
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        Some(response)
    }
}

/// Content types for the kinds of file the site holds; anything else is served as bytes.
fn mime_for(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "ttf" => "font/ttf",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static FIXTURE: Dir<'static> = include_dir::include_dir!("$CARGO_MANIFEST_DIR/src/http");

    #[test]
    fn serves_embedded_files_with_type_etag_and_304() {
        let site = Site::embedded(&FIXTURE);
        assert!(site.is_embedded());
        let ok = site
            .response(&Method::GET, "/site.rs", &HeaderMap::new())
            .expect("embedded");
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(
            ok.headers()[header::CONTENT_TYPE],
            "application/octet-stream"
        );
        let etag = ok.headers()[header::ETAG].clone();
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, etag);
        let cached = site
            .response(&Method::GET, "/site.rs", &again)
            .expect("embedded");
        assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
        assert!(
            site.response(&Method::POST, "/site.rs", &HeaderMap::new())
                .is_none()
        );
        assert!(
            site.response(&Method::GET, "/nope.js", &HeaderMap::new())
                .is_none()
        );
        assert!(
            site.response(&Method::GET, "site.rs", &HeaderMap::new())
                .is_none()
        );
    }

    #[test]
    fn knows_the_site_types() {
        assert_eq!(mime_for("pkg/tandem_bg.wasm"), "application/wasm");
        assert_eq!(
            mime_for("monaco/vs/loader.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(mime_for("favicon.svg"), "image/svg+xml");
    }
}
