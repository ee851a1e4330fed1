//! What the request log may say about a URI. Document tokens (`?token=`) and invite tokens
//! (`/invite/{token}`) are bearer secrets: anyone who reads the log could use them, so the log
//! shows where they were and never what they were.

use axum::http::Uri;

const HIDDEN: &str = "[redacted]";

/// Query parameters whose values are credentials.
fn is_secret(key: &str) -> bool {
    matches!(key, "token" | "invite")
}

/// The URI with every credential replaced by `[redacted]`.
pub fn redacted(uri: &Uri) -> String {
    let path = uri.path();
    let mut out = match path.strip_prefix("/invite/") {
        Some(rest) if !rest.is_empty() => format!("/invite/{HIDDEN}"),
        _ => path.to_owned(),
    };
    if let Some(query) = uri.query() {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((key, _)) if is_secret(key) => {
                    out.push_str(key);
                    out.push('=');
                    out.push_str(HIDDEN);
                }
                _ => out.push_str(pair),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(raw: &str) -> String {
        redacted(&raw.parse().expect("uri"))
    }

    #[test]
    fn credentials_never_reach_the_log() {
        assert_eq!(
            of("/yjs/notes?project=3&token=abc.def"),
            "/yjs/notes?project=3&token=[redacted]"
        );
        assert_eq!(of("/yjs/7?token=x"), "/yjs/7?token=[redacted]");
        assert_eq!(of("/invite/s3cr3t-token"), "/invite/[redacted]");
        assert_eq!(of("/ws?project=4"), "/ws?project=4");
        assert_eq!(of("/p/4"), "/p/4");
        assert_eq!(of("/invite/"), "/invite/");
    }
}
