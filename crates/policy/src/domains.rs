//! Domain and URL lists with squidGuard's semantics.
//!
//! - A listed domain blocks itself and every subdomain, by label boundary: `example.com`
//!   blocks `example.com` and `a.b.example.com`, never `badexample.com`.
//! - Hosts and list entries are normalized the same way: lowercase; user-info and port
//!   dropped; a trailing dot dropped; internationalized names converted to punycode
//!   (`bücher.de` → `xn--bcher-kva.de`); a literal leading `www.` label removed — only that
//!   label, so `wikipedia.org` stays `wikipedia.org` (stripping the *characters* `w` and `.`
//!   from the left, as `str.lstrip("www.")` does, would turn it into `ikipedia.org`).
//! - URL lists (UT1's `urls` files) hold `host/path` prefixes: a URL matches when its host
//!   matches the entry's host as above and its path starts with the entry's path at a `/`
//!   boundary (`example.com/forum` matches `/forum` and `/forum/x`, not `/forums`).

use std::borrow::Cow;
use std::hash::BuildHasher;

use hashbrown::hash_table::{Entry, HashTable};
use hashbrown::DefaultHashBuilder;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// A host as lists compare it, or `None` when `input` has no usable host.
///
/// `input` may be a URL (`https://user@Www.Example.COM:8080/x`), a bare host
/// (`example.com`), or a host with a path (`example.com/a`).
pub fn normalize_host(input: &str) -> Option<String> {
    normalize_host_cow(input).map(Cow::into_owned)
}

/// [`normalize_host`], borrowing the host from `input` when it needs no change (loading a
/// million-domain list then allocates nothing per entry).
fn normalize_host_cow(input: &str) -> Option<Cow<'_, str>> {
    let input = input.trim();
    if input.is_empty() {
        return None;
    }
    if let Some(host) = plain_host(input) {
        return Some(host);
    }
    let with_scheme;
    let parsed = if input.contains("://") {
        url::Url::parse(input).ok()?
    } else {
        with_scheme = format!("http://{input}");
        url::Url::parse(&with_scheme).ok()?
    };
    let host = match parsed.host()? {
        url::Host::Domain(d) => d.to_string(),
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => format!("[{ip}]"),
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
    (!host.is_empty()).then_some(Cow::Owned(host))
}

/// The fast path of [`normalize_host`] for the common case: an ASCII host of letters, digits,
/// `-` and `.` (optionally after `http://` or `https://`, before a `/`, `?` or `#`), with
/// no user-info, port, percent-escape or punycode-worthy character. `None` sends everything
/// else to the URL parser.
fn plain_host(input: &str) -> Option<Cow<'_, str>> {
    let rest = input
        .strip_prefix("https://")
        .or_else(|| input.strip_prefix("http://"))
        .unwrap_or(input);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..end];
    let plain = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !host.starts_with('.')
        && !host.contains("..")
        // Dotted numbers may be IPv4 in shorthand forms the URL parser normalizes.
        && !host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    // Another scheme (`ftp://`) leaves `ftp:` as the host, which is not plain.
    if !plain {
        return None;
    }
    let host = host.trim_end_matches('.');
    let host = match host.get(..4) {
        Some(www) if www.eq_ignore_ascii_case("www.") => &host[4..],
        _ => host,
    };
    if host.is_empty() {
        None
    } else if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Some(Cow::Owned(host.to_ascii_lowercase()))
    } else {
        Some(Cow::Borrowed(host))
    }
}

/// The path of a URL or `host/path` entry, without query or fragment ("/" when none).
fn normalize_path(input: &str) -> String {
    let input = input.trim();
    let parsed = if input.contains("://") {
        url::Url::parse(input).ok()
    } else {
        url::Url::parse(&format!("http://{input}")).ok()
    };
    parsed.map_or_else(|| "/".to_string(), |u| u.path().to_string())
}

/// The host itself and each parent domain, longest first: `a.b.c` → `a.b.c`, `b.c`, `c`.
pub fn suffixes(host: &str) -> impl Iterator<Item = &str> {
    std::iter::once(host).chain(host.match_indices('.').map(move |(i, _)| &host[i + 1..]))
}

/// Domains (with their subdomains) and URL prefixes, each with a category.
#[derive(Debug, Default, Clone)]
pub struct DomainList {
    domains: HostTable,
    /// host → [(path prefix, category)].
    urls: HashMap<String, Vec<(String, u32)>>,
    allowed: HashSet<String>,
}

/// Hosts with a category each, kept in one string: a million-domain list costs a few
/// allocations instead of one per domain (loading one took half a second, mostly in `malloc`
/// and `free`).
#[derive(Debug, Default, Clone)]
struct HostTable {
    text: String,
    /// Where each host ends in `text` (it starts where the previous one ends), and its
    /// category.
    entries: Vec<(usize, u32)>,
    /// Indices into `entries`, by the hash of the host.
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl HostTable {
    fn hash(&self, host: &str) -> u64 {
        self.hasher.hash_one(host)
    }

    fn host<'a>(text: &'a str, entries: &[(usize, u32)], i: u32) -> &'a str {
        let i = i as usize;
        let start = if i == 0 { 0 } else { entries[i - 1].0 };
        &text[start..entries[i].0]
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn reserve(&mut self, n: usize) {
        let (text, entries, hasher) = (&self.text, &self.entries, &self.hasher);
        self.index
            .reserve(n, |&i| hasher.hash_one(HostTable::host(text, entries, i)));
        self.entries.reserve(n);
    }

    fn get(&self, host: &str) -> Option<u32> {
        let (text, entries) = (&self.text, &self.entries);
        self.index
            .find(self.hash(host), |&i| {
                HostTable::host(text, entries, i) == host
            })
            .map(|&i| entries[i as usize].1)
    }

    /// Adds `host` unless it is there (the first category given for a host stays).
    fn insert_if_absent(&mut self, host: &str, category: u32) {
        let hash = self.hash(host);
        let (text, entries, hasher) = (&mut self.text, &mut self.entries, &self.hasher);
        match self.index.entry(
            hash,
            |&i| HostTable::host(text, entries, i) == host,
            |&i| hasher.hash_one(HostTable::host(text, entries, i)),
        ) {
            Entry::Occupied(_) => {}
            Entry::Vacant(slot) => {
                text.push_str(host);
                entries.push((text.len(), category));
                slot.insert((entries.len() - 1) as u32);
            }
        }
    }
}

/// Why a URL matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainHit {
    pub category: u32,
    /// The list entry that matched (`example.com`, or `example.com/path` for URL lists).
    pub entry: String,
}

impl DomainList {
    pub fn new() -> DomainList {
        DomainList::default()
    }

    /// Room for `n` more domain entries (loading a big list rehashes once instead of ~20
    /// times).
    pub fn reserve(&mut self, n: usize) {
        self.domains.reserve(n);
    }

    /// Adds a domain entry; returns false (and adds nothing) when it has no usable host.
    pub fn add_domain(&mut self, entry: &str, category: u32) -> bool {
        match normalize_host_cow(entry) {
            Some(host) => {
                self.domains.insert_if_absent(&host, category);
                true
            }
            None => false,
        }
    }

    /// Adds a URL-prefix entry (`host/path`).
    pub fn add_url(&mut self, entry: &str, category: u32) -> bool {
        let Some(host) = normalize_host(entry) else {
            return false;
        };
        let path = normalize_path(entry);
        if path == "/" {
            // A bare host in a URL list blocks the whole host.
            self.domains.insert_if_absent(&host, category);
        } else {
            self.urls.entry(host).or_default().push((path, category));
        }
        true
    }

    /// Adds an allow-listed domain: it and its subdomains never match.
    pub fn allow_domain(&mut self, entry: &str) -> bool {
        match normalize_host(entry) {
            Some(host) => {
                self.allowed.insert(host);
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.domains.len() + self.urls.values().map(Vec::len).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry that blocks `url` (a URL or a bare host), if any. The most specific entry
    /// wins: a URL prefix before its host, a subdomain before its parent.
    pub fn check(&self, url: &str) -> Option<DomainHit> {
        if self.is_empty() {
            return None;
        }
        let host = normalize_host(url)?;
        self.check_host_path(&host, || normalize_path(url))
    }

    /// [`DomainList::check`] for a URL whose host is already normalized.
    pub fn check_with_host(&self, url: &str, host: &str) -> Option<DomainHit> {
        if self.is_empty() {
            return None;
        }
        self.check_host_path(host, || normalize_path(url))
    }

    /// [`DomainList::check`] for an already normalized host.
    pub fn check_host(&self, host: &str) -> Option<DomainHit> {
        self.check_host_path(host, || "/".to_string())
    }

    fn check_host_path(&self, host: &str, path: impl Fn() -> String) -> Option<DomainHit> {
        if suffixes(host).any(|s| self.allowed.contains(s)) {
            return None;
        }
        if !self.urls.is_empty() {
            let path = path();
            for suffix in suffixes(host) {
                if let Some(prefixes) = self.urls.get(suffix) {
                    for (prefix, category) in prefixes {
                        if path_has_prefix(&path, prefix) {
                            return Some(DomainHit {
                                category: *category,
                                entry: format!("{suffix}{prefix}"),
                            });
                        }
                    }
                }
            }
        }
        suffixes(host).find_map(|suffix| {
            self.domains.get(suffix).map(|category| DomainHit {
                category,
                entry: suffix.to_string(),
            })
        })
    }
}

/// `path` is `prefix` or lies below it (`/a` covers `/a`, `/a/`, `/a/b`, not `/ab`).
fn path_has_prefix(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || prefix.is_empty(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_normalized() {
        assert_eq!(
            normalize_host("https://user:pw@WWW.Example.COM:8080/x?q").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            normalize_host("example.com.").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            normalize_host("www.wikipedia.org").as_deref(),
            Some("wikipedia.org")
        );
        assert_eq!(
            normalize_host("wikipedia.org").as_deref(),
            Some("wikipedia.org")
        );
        assert_eq!(
            normalize_host("www2.example.com").as_deref(),
            Some("www2.example.com")
        );
        assert_eq!(
            normalize_host("wwwexample.com").as_deref(),
            Some("wwwexample.com")
        );
        assert_eq!(
            normalize_host("http://bücher.de/").as_deref(),
            Some("xn--bcher-kva.de")
        );
        assert_eq!(
            normalize_host("例子.测试").as_deref(),
            Some("xn--fsqu00a.xn--0zwm56d")
        );
        assert_eq!(
            normalize_host("http://127.0.0.1:80/").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(normalize_host(""), None);
        assert_eq!(normalize_host("http://"), None);
    }

    #[test]
    fn subdomains_by_label_not_siblings() {
        let mut list = DomainList::new();
        list.add_domain("example.com", 1);
        list.add_domain("www.wikipedia.org", 2);
        assert_eq!(
            list.check("http://a.b.example.com/x").map(|h| h.entry),
            Some("example.com".into())
        );
        assert_eq!(list.check("example.com").map(|h| h.category), Some(1));
        assert_eq!(list.check("https://badexample.com/"), None);
        assert_eq!(list.check("https://example.com.evil.org/"), None);
        assert_eq!(
            list.check("https://en.wikipedia.org/wiki/X")
                .map(|h| h.category),
            Some(2)
        );
        assert_eq!(list.check("https://ikipedia.org/"), None);
        assert_eq!(
            list.check("https://EXAMPLE.com:443/"),
            Some(DomainHit {
                category: 1,
                entry: "example.com".into()
            })
        );
        assert_eq!(list.check("not a url at all"), None);
    }

    #[test]
    fn idn_entries_and_urls_meet_in_punycode() {
        let mut list = DomainList::new();
        list.add_domain("bücher.de", 3);
        assert!(list.check("https://shop.xn--bcher-kva.de/").is_some());
        assert!(list.check("https://shop.BÜCHER.de/").is_some());
    }

    #[test]
    fn url_prefixes_at_segment_boundaries() {
        let mut list = DomainList::new();
        list.add_url("example.com/forum", 4);
        assert!(list.check("http://example.com/forum").is_some());
        assert!(list
            .check("http://www.example.com/forum/thread?id=1")
            .is_some());
        assert!(list.check("http://sub.example.com/forum/").is_some());
        assert!(list.check("http://example.com/forums").is_none());
        assert!(list.check("http://example.com/").is_none());
    }

    #[test]
    fn allow_list_overrides() {
        let mut list = DomainList::new();
        list.add_domain("example.com", 1);
        list.allow_domain("good.example.com");
        assert!(list.check("http://x.good.example.com/").is_none());
        assert!(list.check("http://bad.example.com/").is_some());
    }
}
