//! Which address a request comes from, for the login and sign-up limits. The connecting peer,
//! unless it is one of the `--trusted-proxy` addresses: then the nearest address in
//! `X-Forwarded-For` that is not itself a trusted proxy. Never the header alone, which any
//! client can write.

use std::{net::IpAddr, net::SocketAddr, sync::Arc};

use app::auth::ssr::ClientIp;
use axum::{
    extract::{ConnectInfo, Request, State},
    http::HeaderMap,
    middleware::Next,
    response::Response,
};

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<Vec<IpAddr>>);

impl TrustedProxies {
    pub fn new(proxies: &[IpAddr]) -> Self {
        Self(Arc::new(proxies.to_vec()))
    }

    /// The client behind `peer`, reading `X-Forwarded-For` right to left past trusted hops.
    pub(crate) fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.0.contains(&peer) {
            return peer;
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                // Unreadable: stop at the last address we could trust.
                break;
            };
            client = ip;
            if !self.0.contains(&ip) {
                break;
            }
        }
        client
    }
}

pub async fn client_ip(
    State(proxies): State<TrustedProxies>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let Some(peer) = peer {
        let ip = proxies.client(peer, req.headers());
        req.extensions_mut().insert(ClientIp(ip));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy() {
        let proxies = TrustedProxies::new(&[ip("10.0.0.1"), ip("10.0.0.2")]);
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.9, 10.0.0.2"),
        );
        // Straight from a client: its own address, whatever it wrote.
        assert_eq!(proxies.client(ip("198.51.100.4"), &h), ip("198.51.100.4"));
        // Through the proxies: the first untrusted hop from the right, not the spoofable left.
        assert_eq!(proxies.client(ip("10.0.0.1"), &h), ip("203.0.113.9"));
        h.insert("x-forwarded-for", HeaderValue::from_static("garbage"));
        assert_eq!(proxies.client(ip("10.0.0.1"), &h), ip("10.0.0.1"));
        assert_eq!(
            proxies.client(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
    }
}
