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
    /// The build's `gzip -9` copy (`name.gz`), if it made one, with its own ETag.
    gzip: Option<(&'static [u8], OnceLock<HeaderValue>)>,
}

fn etag_of(bytes: &[u8], cell: &OnceLock<HeaderValue>, suffix: &str) -> HeaderValue {
    cell.get_or_init(|| {
        let digest = Sha256::digest(bytes);
        let tag: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        HeaderValue::from_str(&format!("\"{tag}{suffix}\""))
            .unwrap_or(HeaderValue::from_static("\"\""))
    })
    .clone()
}

impl Asset {
    /// The bytes to send, their ETag and whether they are the gzip copy.
    fn variant(&self, headers: &HeaderMap) -> (&'static [u8], HeaderValue, bool) {
        match &self.gzip {
            Some((gz, etag)) if accepts_gzip(headers) => (gz, etag_of(gz, etag, "-gz"), true),
            _ => (self.bytes, etag_of(self.bytes, &self.etag, ""), false),
        }
    }
}

/// Whether `Accept-Encoding` allows gzip (with a quality above 0).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut it = part.split(';');
            let coding = it.next().unwrap_or("").trim();
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && q > 0.0
        })
}

/// The embedded files by URL path (`/pkg/tandem.js`). Empty when the site comes from disk.
#[derive(Clone, Default)]
pub struct Site {
    assets: Arc<HashMap<String, Asset>>,
    /// The build's version as stamped into the service worker (`xtask/src/worker.rs`).
    build: Option<HeaderValue>,
}

impl Site {
    /// Indexes `dir` once, by path with a content type per file, so answering is a map lookup.
    pub fn embedded(dir: &'static Dir<'static>) -> Self {
        let mut assets = HashMap::new();
        let mut gzipped = Vec::new();
        let mut stack = vec![dir];
        while let Some(dir) = stack.pop() {
            stack.extend(dir.dirs());
            for file in dir.files() {
                let path = file.path().to_string_lossy().replace('\\', "/");
                if let Some(original) = path.strip_suffix(".gz") {
                    gzipped.push((format!("/{original}"), file.contents()));
                    continue;
                }
                assets.insert(
                    format!("/{path}"),
                    Asset {
                        bytes: file.contents(),
                        mime: mime_for(&path),
                        etag: OnceLock::new(),
                        gzip: None,
                    },
                );
            }
        }
        for (path, gz) in gzipped {
            if let Some(asset) = assets.get_mut(&path) {
                asset.gzip = Some((gz, OnceLock::new()));
            }
        }
        let build = assets
            .get("/sw.js")
            .and_then(|sw| stamped_version(sw.bytes))
            .and_then(|v| HeaderValue::from_str(v).ok());
        Self {
            assets: Arc::new(assets),
            build,
        }
    }

    /// The build's version, sent with every response as `x-tandem-build`: the service worker
    /// answers a page's requests for the app's files from its cache only when the page is of
    /// the worker's own build, so a page never runs two builds' files.
    pub fn build(&self) -> Option<&HeaderValue> {
        self.build.as_ref()
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
        let (bytes, etag, gzip) = asset.variant(headers);
        // Names are stable across releases (`/pkg/tandem.js`), so browsers revalidate; the
        // ETag turns that into a 304 until the binary changes.
        let cache = HeaderValue::from_static("no-cache");
        let vary = HeaderValue::from_static("accept-encoding");
        if headers
            .get(header::IF_NONE_MATCH)
            .is_some_and(|v| v == etag)
        {
            return Some(
                (
                    StatusCode::NOT_MODIFIED,
                    [
                        (header::ETAG, etag),
                        (header::CACHE_CONTROL, cache),
                        (header::VARY, vary),
                    ],
                )
                    .into_response(),
            );
        }
        let body = if method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(bytes)
        };
        let mut response = Response::new(body);
        let h = response.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.mime));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        if gzip {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        h.insert(header::VARY, vary);
        h.insert(header::ETAG, etag);
        h.insert(header::CACHE_CONTROL, cache);
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        Some(response)
    }
}

/// The version in the worker's `const BUILD = { version: "…", …` line; `None` for "dev" (a
/// build that did not stamp it) or a worker without the line.
fn stamped_version(sw: &[u8]) -> Option<&str> {
    const PREFIX: &str = "const BUILD = { version: \"";
    let text = std::str::from_utf8(sw).ok()?;
    let rest = &text[text.find(PREFIX)? + PREFIX.len()..];
    let version = &rest[..rest.find('"')?];
    (version != "dev" && version.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(version)
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
    fn reads_the_build_stamped_into_the_worker() {
        let stamped = br#"// comment
const BUILD = { version: "00ab12cd34ef5678", precache: ["/pkg/tandem.js"] };"#;
        assert_eq!(stamped_version(stamped), Some("00ab12cd34ef5678"));
        assert_eq!(
            stamped_version(br#"const BUILD = { version: "dev", precache: [] };"#),
            None
        );
        assert_eq!(stamped_version(b"self.addEventListener()"), None);
        assert_eq!(
            stamped_version(br#"const BUILD = { version: "a\"b" }"#),
            None
        );
    }

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
    fn sends_the_gzip_copy_to_browsers_that_accept_it() {
        static SITE: Dir<'static> =
            include_dir::include_dir!("$CARGO_MANIFEST_DIR/src/http/testdata");
        let site = Site::embedded(&SITE);
        let raw = include_bytes!("testdata/hello.js");
        let gz = include_bytes!("testdata/hello.js.gz");
        // The copy is not a file of its own.
        assert!(
            site.response(&Method::GET, "/hello.js.gz", &HeaderMap::new())
                .is_none()
        );
        let plain = site
            .response(&Method::GET, "/hello.js", &HeaderMap::new())
            .expect("embedded");
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(
            plain.headers()[header::CONTENT_LENGTH],
            raw.len().to_string()
        );
        let mut accepts = HeaderMap::new();
        accepts.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.8"),
        );
        let zipped = site
            .response(&Method::GET, "/hello.js", &accepts)
            .expect("embedded");
        assert_eq!(zipped.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(
            zipped.headers()[header::CONTENT_LENGTH],
            gz.len().to_string()
        );
        assert_eq!(zipped.headers()[header::VARY], "accept-encoding");
        assert_ne!(
            zipped.headers()[header::ETAG],
            plain.headers()[header::ETAG]
        );
        // Each copy revalidates against its own tag.
        accepts.insert(
            header::IF_NONE_MATCH,
            zipped.headers()[header::ETAG].clone(),
        );
        let again = site
            .response(&Method::GET, "/hello.js", &accepts)
            .expect("embedded");
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        // `gzip;q=0` refuses it.
        let mut refuses = HeaderMap::new();
        refuses.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0, identity"),
        );
        let r = site
            .response(&Method::GET, "/hello.js", &refuses)
            .expect("embedded");
        assert!(r.headers().get(header::CONTENT_ENCODING).is_none());
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
