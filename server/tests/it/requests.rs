//! Finding 5 of the security review: a POST with `Origin: http://evil.example` got 200 and a
//! websocket upgrade with it got 101, and server functions took `text/plain` bodies. Now
//! cross-site changes and upgrades are refused, wrong body types too, and pages carry a strict
//! Content-Security-Policy whose nonce is the one on their inline scripts.

use reqwest::StatusCode;

use crate::common::{Backend, PASSWORD, TestServer, tab::TabClient};

async fn cross_site_requests_are_refused(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        c.auth.allowed_origins = vec!["https://tandem.example.com".into()];
    })
    .await;
    let owner = server.client();
    owner.signup("oona").await;
    let project = owner.create_project("Origins").await;
    let host = server.url("").trim_start_matches("http://").to_owned();
    let login = |headers: Vec<(&'static str, String)>| {
        let http = owner.http.clone();
        let url = server.url("/api/login");
        async move {
            let mut req = http
                .post(url)
                .form(&[("name", "oona"), ("password", PASSWORD)]);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            req.send().await.expect("request").status()
        }
    };
    // Forged from another site: refused before anything runs (login CSRF included).
    for headers in [
        vec![("origin", "http://evil.example".to_owned())],
        vec![
            ("origin", "http://evil.example".to_owned()),
            ("sec-fetch-site", "cross-site".to_owned()),
        ],
        vec![
            ("origin", "http://sibling.example".to_owned()),
            ("sec-fetch-site", "same-site".to_owned()),
        ],
        vec![("origin", "null".to_owned())],
    ] {
        assert_eq!(
            login(headers.clone()).await,
            StatusCode::FORBIDDEN,
            "{headers:?}"
        );
    }
    // The site's own pages, the listed proxy origin, and non-browser clients pass.
    for headers in [
        vec![("origin", format!("http://{host}"))],
        vec![
            ("origin", format!("http://{host}")),
            ("sec-fetch-site", "same-origin".to_owned()),
        ],
        vec![
            ("origin", "https://tandem.example.com".to_owned()),
            ("sec-fetch-site", "cross-site".to_owned()),
        ],
        vec![],
    ] {
        assert_eq!(login(headers.clone()).await, StatusCode::OK, "{headers:?}");
    }

    // A text/plain body (what a cross-site form can send without a preflight) is refused.
    let plain = owner
        .http
        .post(server.url("/api/projects/create"))
        .header("content-type", "text/plain")
        .body("name=Sneaky")
        .send()
        .await
        .expect("request");
    assert_eq!(plain.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        owner
            .ok("projects/list", &[])
            .await
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // Websocket upgrades from another site are refused too.
    let url = server.ws_url(&format!("/ws?project={project}"));
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            url.as_str(),
        )
        .expect("request");
    request
        .headers_mut()
        .insert("cookie", owner.cookie().parse().expect("cookie"));
    request
        .headers_mut()
        .insert("origin", "http://evil.example".parse().expect("origin"));
    let refused = tokio_tungstenite::connect_async(request)
        .await
        .err()
        .map(|e| e.to_string());
    assert!(refused.is_some_and(|e| e.contains("403")));
    TabClient::connect(&url, &owner.cookie())
        .await
        .expect("a same-site upgrade still works");
    server.finish().await;
}

async fn pages_carry_a_strict_policy(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.auth.secure_cookies = true).await;
    let visitor = server.client();
    let page = visitor.get("/login").await;
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["referrer-policy"], "same-origin");
    assert!(
        page.headers()["strict-transport-security"]
            .to_str()
            .is_ok_and(|v| v.starts_with("max-age="))
    );
    let html = page.text().await.expect("body");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the policy names a nonce");
    assert!(nonce.len() >= 16, "{csp}");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"));
    assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
    // Every inline script of the page carries the nonce (otherwise hydration would not run).
    let inline_scripts = html.matches("<script").count();
    assert!(inline_scripts > 0);
    assert_eq!(
        html.matches(&format!("nonce=\"{nonce}\"")).count(),
        inline_scripts,
        "{html}"
    );
    // Another render, another nonce.
    let again = visitor.get("/login").await;
    assert_ne!(
        again.headers()["content-security-policy"].to_str().ok(),
        Some(csp.as_str())
    );
    // Server-function answers are data.
    let api = visitor
        .http
        .post(server.url("/api/me"))
        .send()
        .await
        .expect("me");
    assert_eq!(
        api.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
    server.finish().await;
}

db_tests!(cross_site_requests_are_refused, pages_carry_a_strict_policy);
