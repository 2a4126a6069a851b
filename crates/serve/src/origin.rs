//! Who may call a server that listens on a private address: a web page the user happens to
//! visit must not be able to use it. Browsers send a cross-site `text/plain` POST without
//! asking first, and DNS rebinding makes `attacker.example` resolve to 127.0.0.1, so that the
//! page's requests reach the server as "same-origin" ones. Three checks stop both:
//!
//! - the `Host` must name this server: `localhost`, a loopback address, the address it is
//!   bound to (any IP address when bound to all of them) with its port, or a name from the
//!   allow-list (a rebinding page can only send its own name);
//! - an `Origin`, when a browser sends one, must name this server the same way;
//! - a POST must be `Content-Type: application/json`, which no page can send to another
//!   origin without a CORS preflight, which these servers never grant.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::ApiError;

/// The names under which a server may be addressed (see the module docs).
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    bound: SocketAddr,
    /// Lowercase `name` (any port) or `name:port`; `*` allows every host.
    extra: Vec<String>,
}

impl AllowedHosts {
    /// The names of a server bound to `bound`, plus `extra` (`name`, `name:port` or `*`).
    pub fn new(bound: SocketAddr, extra: &[String]) -> Self {
        AllowedHosts {
            bound,
            extra: extra
                .iter()
                .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        }
    }

    /// Whether `authority` (`host[:port]` as in a `Host` header) names this server; `default_port`
    /// is the port an authority without one means.
    pub fn allows(&self, authority: &str, default_port: u16) -> bool {
        if self.extra.iter().any(|h| h == "*") {
            return true;
        }
        let Some((host, port)) = split_authority(authority) else {
            return false;
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let port = port.unwrap_or(default_port);
        if self
            .extra
            .iter()
            .any(|h| *h == host || *h == format!("{host}:{port}"))
        {
            return true;
        }
        if port != self.bound.port() {
            return false;
        }
        if host == "localhost" {
            return true;
        }
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        match literal.parse::<IpAddr>() {
            // An address cannot be rebound: a page that uses one is already on this host.
            Ok(ip) => ip.is_loopback() || ip == self.bound.ip() || self.bound.ip().is_unspecified(),
            Err(_) => false,
        }
    }
}

/// `host` and `port` of an authority (`name`, `name:port`, `[v6]`, `[v6]:port`); `None` if
/// it is not one.
fn split_authority(authority: &str) -> Option<(&str, Option<u16>)> {
    if authority.is_empty() || authority.contains(['/', '@', ' ']) {
        return None;
    }
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let rest = &authority[end + 1..];
        let port = match rest.strip_prefix(':') {
            Some(p) => Some(p),
            None if rest.is_empty() => None,
            None => return None,
        };
        (&authority[..=end], port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    (!host.is_empty()).then_some((host, port))
}

/// `router` refusing requests addressed to another host (403), requests from another
/// origin (403) and POSTs that are not JSON (415); see the module docs. One line puts it in
/// front of any server: `let router = assay_serve::same_origin_only(router, hosts);`.
pub fn same_origin_only(router: Router, hosts: AllowedHosts) -> Router {
    router.layer(axum::middleware::from_fn_with_state(
        Arc::new(hosts),
        check_origin,
    ))
}

async fn check_origin(
    State(hosts): State<Arc<AllowedHosts>>,
    request: Request,
    next: Next,
) -> Response {
    if let Err(e) = check(&hosts, request.method(), request.uri(), request.headers()) {
        return e.into_response();
    }
    next.run(request).await
}

fn check(
    hosts: &AllowedHosts,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let forbidden = |message: String| ApiError::new(StatusCode::FORBIDDEN, "forbidden", message);
    // An absolute-form request line names its host there; otherwise the Host header does.
    let host = match uri.authority() {
        Some(authority) => Some(authority.as_str()),
        None => headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    };
    let Some(host) = host else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "the request has no Host header",
        ));
    };
    if !hosts.allows(host, 80) {
        return Err(forbidden(format!(
            "this server does not answer to the host {host:?}; start it with --allowed-hosts to add it"
        )));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let allowed = match origin.split_once("://") {
            Some(("http", authority)) => hosts.allows(authority, 80),
            Some(("https", authority)) => hosts.allows(authority, 443),
            _ => false,
        };
        if !allowed {
            return Err(forbidden(format!(
                "requests from the origin {origin:?} are not accepted"
            )));
        }
    }
    if *method == Method::POST {
        require_json(headers)?;
    }
    Ok(())
}

/// 415 unless the request says its body is JSON. A browser sends `text/plain`, form and
/// multipart bodies to any origin without a preflight; JSON it does not.
pub fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if media_type.eq_ignore_ascii_case("application/json") {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "invalid_request_error",
        format!(
            "the request body must be sent as Content-Type: application/json (got {:?})",
            content_type
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(bound: &str, extra: &[&str]) -> AllowedHosts {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        AllowedHosts::new(bound.parse().unwrap(), &extra)
    }

    #[test]
    fn loopback_names_and_the_bound_address_with_its_port() {
        let h = hosts("127.0.0.1:8080", &[]);
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST:8080",
            "[::1]:8080",
            "localhost.:8080",
        ] {
            assert!(h.allows(ok, 80), "{ok}");
        }
        for bad in [
            "attacker.example:8080",
            "127.0.0.1:8081",
            "localhost",
            "10.0.0.5:8080",
            "127.0.0.1.nip.io:8080",
            "user@127.0.0.1:8080",
            "",
            "[::1",
            "127.0.0.1:port",
        ] {
            assert!(!h.allows(bad, 80), "{bad}");
        }
        // A server on port 80 is named without a port.
        assert!(hosts("127.0.0.1:80", &[]).allows("localhost", 80));
    }

    #[test]
    fn all_interfaces_take_any_address_but_no_name() {
        let h = hosts("0.0.0.0:9000", &[]);
        assert!(h.allows("192.168.1.20:9000", 80));
        assert!(h.allows("[fe80::1]:9000", 80));
        assert!(!h.allows("myhost.lan:9000", 80));
        let named = hosts("0.0.0.0:9000", &["myhost.lan", "proxy.example:443"]);
        assert!(named.allows("myhost.lan:9000", 80));
        assert!(
            named.allows("myhost.lan:1234", 80),
            "a name alone allows every port"
        );
        assert!(named.allows("proxy.example", 443));
        assert!(!named.allows("proxy.example:8443", 443));
        assert!(hosts("127.0.0.1:1", &["*"]).allows("anything:5", 80));
    }

    #[test]
    fn origins_content_types_and_hosts_together() {
        let h = hosts("127.0.0.1:8080", &[]);
        let request = |pairs: &[(&str, &str)]| {
            let mut headers = HeaderMap::new();
            for (k, v) in pairs {
                headers.insert(
                    axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            check(
                &h,
                &Method::POST,
                &"/v1/chat/completions".parse().unwrap(),
                &headers,
            )
            .map_err(|e| e.status().as_u16())
        };
        let json = ("content-type", "application/json; charset=utf-8");
        assert_eq!(request(&[("host", "127.0.0.1:8080"), json]), Ok(()));
        assert_eq!(
            request(&[
                ("host", "localhost:8080"),
                ("origin", "http://localhost:8080"),
                json
            ]),
            Ok(())
        );
        assert_eq!(
            request(&[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://attacker.example"),
                json
            ]),
            Err(403)
        );
        assert_eq!(
            request(&[("host", "127.0.0.1:8080"), ("origin", "null"), json]),
            Err(403)
        );
        assert_eq!(
            request(&[("host", "attacker.example:8080"), json]),
            Err(403)
        );
        assert_eq!(
            request(&[("host", "127.0.0.1:8080"), ("content-type", "text/plain")]),
            Err(415)
        );
        assert_eq!(request(&[("host", "127.0.0.1:8080")]), Err(415));
        assert_eq!(request(&[json]), Err(400));
    }
}
