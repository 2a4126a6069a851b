//! Cookies, the CSRF double-submit check, CSP nonces, the salted IP hash and response headers.
//!
//! Two cookies, both `HttpOnly; SameSite=Strict; Path=/`:
//! * `assay_voter`: a random anonymous voter id (one year), for the daily vote cap;
//! * `assay_csrf`: a random token. Pages carry the same token in a `<meta>` tag, and every
//!   POST must send it back in the `X-CSRF-Token` header: another site can make a browser send
//!   the cookie (not with SameSite=Strict, but older browsers) yet cannot read the page to learn
//!   the header value.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, HeaderValue, Request};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const VOTER_COOKIE: &str = "assay_voter";
pub const CSRF_COOKIE: &str = "assay_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// 32 random bytes as 64 hex digits.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// 16 random bytes as 32 hex digits (battle ids).
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A nonce for the Content-Security-Policy of one page.
pub fn nonce() -> String {
    let mut bytes = [0u8; 18];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The value of cookie `name`, if the request has it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
}

/// A token we issued: hex of the expected length (anything else is ignored and replaced).
pub fn well_formed(token: &str, len: usize) -> bool {
    token.len() == len && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The voter id and CSRF token of a page request, and the cookies to set for those that were
/// missing or malformed.
pub struct Session {
    pub voter: String,
    pub csrf: String,
    pub set_cookies: Vec<HeaderValue>,
}

pub fn session(headers: &HeaderMap, secure: bool) -> Session {
    let mut set_cookies = Vec::new();
    let mut get = |name: &str, max_age: u64| match cookie(headers, name) {
        Some(v) if well_formed(&v, 64) => v,
        _ => {
            let v = random_token();
            set_cookies.push(set_cookie(name, &v, max_age, secure));
            v
        }
    };
    let voter = get(VOTER_COOKIE, 365 * 24 * 3600);
    let csrf = get(CSRF_COOKIE, 365 * 24 * 3600);
    Session {
        voter,
        csrf,
        set_cookies,
    }
}

fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("cookie header is ASCII")
}

/// Why a state-changing request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum CsrfError {
    MissingCookie,
    MissingHeader,
    Mismatch,
}

/// The double-submit check: the `X-CSRF-Token` header equals the `assay_csrf` cookie. Returns
/// the voter id (cookie) on success.
pub fn check_csrf(headers: &HeaderMap) -> Result<(), CsrfError> {
    let cookie = cookie(headers, CSRF_COOKIE)
        .filter(|c| well_formed(c, 64))
        .ok_or(CsrfError::MissingCookie)?;
    let sent = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(CsrfError::MissingHeader)?;
    if constant_time_eq(cookie.as_bytes(), sent.as_bytes()) {
        Ok(())
    } else {
        Err(CsrfError::Mismatch)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The client's IP address: the connection's peer (the `X-Forwarded-For` header only when
/// the server is told it sits behind a proxy). Of that header the last address counts: it is
/// the one our proxy appended; those before it are whatever the client sent.
pub fn client_ip<B>(request: &Request<B>, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for {
        if let Some(ip) = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            return ip.to_string();
        }
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string())
}

/// What the per-address vote cap counts by: an IPv4 address, or the /64 network of an IPv6
/// one (one subscriber commonly gets a whole /64, so single IPv6 addresses cost nothing).
pub fn network_of(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_string(),
    }
}

/// SHA-256 of `salt:ip`, hex: lets votes from one address be grouped without storing it.
pub fn ip_hash(salt: &str, ip: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(b":");
    h.update(ip.as_bytes());
    hex::encode(h.finalize())
}

/// The policy of a page whose only inline script and style carry `nonce`; everything else,
/// including images from answers and any other origin, is refused.
pub fn page_csp(nonce: &str, with_script: bool) -> String {
    let script = if with_script {
        format!("'nonce-{nonce}'")
    } else {
        "'none'".to_string()
    };
    format!(
        "default-src 'none'; script-src {script}; style-src 'nonce-{nonce}'; \
         connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; \
         frame-ancestors 'none'"
    )
}

/// The policy of everything that is not a page (JSON, event streams, errors).
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Headers every response gets; pages set their own Content-Security-Policy (with a nonce).
pub async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(API_CSP));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn cookies_are_read() {
        let h = headers(&[("cookie", "a=1; assay_voter=abc ; b=2"), ("cookie", "c=3")]);
        assert_eq!(cookie(&h, VOTER_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "c").as_deref(), Some("3"));
        assert_eq!(cookie(&h, "d"), None);
    }

    #[test]
    fn session_reuses_good_cookies_and_replaces_bad_ones() {
        let token = random_token();
        let h = headers(&[(
            "cookie",
            &format!("{VOTER_COOKIE}={token}; {CSRF_COOKIE}=short"),
        )]);
        let s = session(&h, false);
        assert_eq!(s.voter, token);
        assert!(well_formed(&s.csrf, 64));
        assert_eq!(s.set_cookies.len(), 1);
        let set = s.set_cookies[0].to_str().unwrap();
        assert!(set.starts_with("assay_csrf="), "{set}");
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
        assert!(!set.contains("Secure"));
        assert!(session(&HeaderMap::new(), true).set_cookies[0]
            .to_str()
            .unwrap()
            .ends_with("; Secure"));
    }

    #[test]
    fn csrf_double_submit() {
        let t = random_token();
        let cookie = format!("{CSRF_COOKIE}={t}");
        assert_eq!(
            check_csrf(&headers(&[("cookie", &cookie), (CSRF_HEADER, &t)])),
            Ok(())
        );
        assert_eq!(
            check_csrf(&headers(&[("cookie", &cookie)])),
            Err(CsrfError::MissingHeader)
        );
        assert_eq!(
            check_csrf(&headers(&[(CSRF_HEADER, &t)])),
            Err(CsrfError::MissingCookie)
        );
        assert_eq!(
            check_csrf(&headers(&[
                ("cookie", &cookie),
                (CSRF_HEADER, &random_token())
            ])),
            Err(CsrfError::Mismatch)
        );
    }

    #[test]
    fn forwarded_for_counts_the_address_our_proxy_added() {
        let request = |values: &[&str]| {
            let mut r = Request::builder().uri("/");
            for v in values {
                r = r.header("x-forwarded-for", *v);
            }
            r.body(()).unwrap()
        };
        // A client can send any X-Forwarded-For; the proxy appends the address it saw.
        let forged = request(&["6.6.6.6, 203.0.113.7"]);
        assert_eq!(client_ip(&forged, true), "203.0.113.7");
        assert_eq!(
            client_ip(&request(&["1.1.1.1", "203.0.113.8"]), true),
            "203.0.113.8"
        );
        assert_eq!(client_ip(&forged, false), "unknown");
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        assert_eq!(network_of("203.0.113.7"), "203.0.113.7");
        assert_eq!(network_of("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(network_of("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            network_of("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            network_of("2001:db8:1:2::9")
        );
        assert_ne!(network_of("2001:db8:1:3::1"), network_of("2001:db8:1:2::1"));
        assert_eq!(network_of("unknown"), "unknown");
    }

    #[test]
    fn ip_hash_is_salted() {
        assert_eq!(ip_hash("s", "1.2.3.4"), ip_hash("s", "1.2.3.4"));
        assert_ne!(ip_hash("s", "1.2.3.4"), ip_hash("t", "1.2.3.4"));
        assert_eq!(ip_hash("s", "1.2.3.4").len(), 64);
        assert!(!ip_hash("s", "1.2.3.4").contains("1.2.3.4"));
    }
}
