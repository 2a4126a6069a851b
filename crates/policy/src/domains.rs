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
use std::path::Path;
use std::sync::OnceLock;

use foldhash::fast::FixedState;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

mod cache;

pub use crate::kept::IndexCache;

/// A host as lists compare it, or `None` when `input` has no usable host.
///
/// `input` may be a URL (`https://user@Www.Example.COM:8080/x`), a bare host
/// (`example.com`), or a host with a path (`example.com/a`).
pub fn normalize_host(input: &str) -> Option<String> {
    normalize_host_cow(input).map(Cow::into_owned)
}

/// [`normalize_host`], borrowing the host from `input` when it needs no change (loading a
/// million-domain list then allocates nothing per entry, nor a screen per document).
pub fn normalize_host_cow(input: &str) -> Option<Cow<'_, str>> {
    let input = crate::pack::trim_entry(input);
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

/// What a byte is to [`plain_host`]: one table load a byte instead of a chain of ranges.
#[derive(Clone, Copy)]
enum HostByte {
    /// A small letter, digit or `-`.
    Label,
    Dot,
    Capital,
    /// `/`, `?` or `#`: the host ends before it.
    End,
    Other,
}

const HOST_BYTES: [HostByte; 256] = {
    let mut table = [HostByte::Other; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            b'a'..=b'z' | b'0'..=b'9' | b'-' => HostByte::Label,
            b'.' => HostByte::Dot,
            b'A'..=b'Z' => HostByte::Capital,
            b'/' | b'?' | b'#' => HostByte::End,
            _ => HostByte::Other,
        };
        b += 1;
    }
    table
};

/// The fast path of [`normalize_host`] for the common case: an ASCII host of letters, digits,
/// `-` and `.` (optionally after `http://` or `https://`, before a `/`, `?` or `#`), with
/// no user-info, port, percent-escape or punycode-worthy character. `None` sends everything
/// else to the URL parser.
fn plain_host(input: &str) -> Option<Cow<'_, str>> {
    let rest = input
        .strip_prefix("https://")
        .or_else(|| input.strip_prefix("http://"))
        .unwrap_or(input);
    let (end, capitals) = scan_plain(rest.as_bytes())?;
    plain_host_of(&rest[..end], capitals)
}

/// One pass over a plain host at the start of `bytes`: where it ends (at `/`, `?` or `#`),
/// and whether it has capitals; `None` at a leading dot, two dots in a row or a byte no
/// plain host has.
fn scan_plain(bytes: &[u8]) -> Option<(usize, bool)> {
    let (mut capitals, mut after_dot) = (false, true);
    for (i, &b) in bytes.iter().enumerate() {
        match HOST_BYTES[b as usize] {
            HostByte::Label => after_dot = false,
            HostByte::Dot if after_dot => return None,
            HostByte::Dot => after_dot = true,
            HostByte::Capital => (capitals, after_dot) = (true, false),
            HostByte::End => return Some((i, capitals)),
            // Another scheme (`ftp://`) leaves `ftp:` as the host, which is not plain.
            _ => return None,
        }
    }
    Some((bytes.len(), capitals))
}

/// The normalized form of a host [`scan_plain`] took, or `None` when the URL parser must
/// decide.
fn plain_host_of(host: &str, capitals: bool) -> Option<Cow<'_, str>> {
    let host = plain_host_lowercase(host)?;
    Some(if capitals {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    })
}

/// [`plain_host_of`] but for the capitals, which it leaves. A `&str` is returned in
/// registers: a `Cow` goes through memory, and reading it back in the caller stalled a
/// million-host list's load (a store the load could not be forwarded from).
#[inline]
fn plain_host_lowercase(host: &str) -> Option<&str> {
    let host = host.trim_end_matches('.');
    // A last label that is a number (`4`, `0x1F`) makes the URL parser read the host as IPv4,
    // in shorthand forms it normalizes (or refuses). One that ends with a letter past `f`,
    // but `x`, is none (most top-level domains): a million-host list skips the label's scan.
    let number_ends = |b: u8| !matches!(b.to_ascii_lowercase(), b'g'..=b'w' | b'y' | b'z');
    if host.bytes().last().is_none_or(number_ends) {
        let last = host
            .bytes()
            .rposition(|b| b == b'.')
            .map_or(host, |dot| &host[dot + 1..]);
        let hex = last
            .strip_prefix("0x")
            .or_else(|| last.strip_prefix("0X"))
            .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
        if last.is_empty() || hex || last.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    // Capitals folded by a bit: of the bytes a plain host has (letters, digits, `-` and `.`),
    // only `www.` in any case gives `www.` (a third of the instructions of comparing them).
    let host = match host.as_bytes().first_chunk::<4>() {
        Some(&head) if u32::from_le_bytes(head) | 0x2020_2020 == u32::from_le_bytes(*b"www.") => {
            &host[4..]
        }
        _ => host,
    };
    (!host.is_empty()).then_some(host)
}

/// What a byte is to [`plain_line`], as bits that can be or-ed together.
const LINE_DOT: u8 = 1;
const LINE_CAPITAL: u8 = 2;
const LINE_OTHER: u8 = 4;

const LINE_BYTES: [u8; 256] = {
    let mut table = [LINE_OTHER; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match HOST_BYTES[b] {
            HostByte::Label => 0,
            HostByte::Dot => LINE_DOT,
            HostByte::Capital => LINE_CAPITAL,
            _ => LINE_OTHER,
        };
        b += 1;
    }
    table
};

/// Whether a list file's line (without its newline) is a plain host as [`scan_plain`] takes
/// one, and if so whether it has capitals. No branch a byte: a million-entry list's lines
/// read byte by byte through [`scan_plain`]'s `match` took half of its load.
fn plain_line(line: &[u8]) -> Option<bool> {
    // A leading dot counts as a dot after a dot.
    let (mut seen, mut dot_after_dot, mut previous) = (0, 0, LINE_DOT);
    for &b in line {
        let class = LINE_BYTES[b as usize];
        dot_after_dot |= previous & class;
        previous = class & LINE_DOT;
        seen |= class;
    }
    (!line.is_empty() && seen & LINE_OTHER == 0 && dot_after_dot == 0)
        .then_some(seen & LINE_CAPITAL != 0)
}

/// Whether every line of a list file's text is empty or a plain host without capitals, as
/// [`plain_line`] would find line by line (a list as lists are usually written). In one pass
/// over the text, which the compiler turns into vector instructions: checked line by line,
/// byte by byte, it was most of the lines' pass in a million-host list's load.
fn all_plain_lowercase(text: &[u8]) -> bool {
    const BLOCK: usize = 4096;
    let bad_pair = |a: u8, b: u8| {
        let other = !matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'\n');
        let dot_after = b == b'.' && (a == b'.' || a == b'\n');
        u8::from(other) | u8::from(dot_after)
    };
    // The first line starts after a newline, as the others do.
    let Some(&first) = text.first() else {
        return true;
    };
    // In blocks, to stop early in a list that is not plain; a block's pairs start with the
    // last byte of the block before.
    bad_pair(b'\n', first) == 0
        && (0..text.len()).step_by(BLOCK).all(|start| {
            let block = &text[start.saturating_sub(1)..(start + BLOCK).min(text.len())];
            let bad = block[1..]
                .iter()
                .zip(block)
                .fold(0u8, |bad, (&b, &a)| bad | bad_pair(a, b));
            bad == 0
        })
}

/// The hosts of a list file's text, one entry a line (blank lines and `#` comments skipped,
/// entries with no usable host left out), each as [`normalize_host_cow`] gives it. A line
/// that is a plain host takes the fast path; any other goes the general way.
fn list_hosts(text: &str) -> impl Iterator<Item = Cow<'_, str>> {
    let all_plain = all_plain_lowercase(text.as_bytes());
    let mut rest = text;
    std::iter::from_fn(move || {
        while !rest.is_empty() {
            let end = crate::vector::line_end(rest.as_bytes()).unwrap_or(rest.len());
            let line = &rest[..end];
            rest = rest.get(end + 1..).unwrap_or("");
            let plain = if all_plain {
                // An empty line is no host on this way too.
                Some(false)
            } else {
                plain_line(line.as_bytes())
            };
            let host = match plain {
                // Not `plain_host_of(line, false)`: through it a million-host list loaded in
                // 47–50 ms instead of 41 (see `plain_host_lowercase`).
                Some(false) => plain_host_lowercase(line)
                    .map(Cow::Borrowed)
                    .or_else(|| normalize_host_cow(line)),
                Some(true) => plain_host_of(line, true).or_else(|| normalize_host_cow(line)),
                None => {
                    let line = crate::pack::trim_entry(line);
                    if line.starts_with('#') {
                        continue;
                    }
                    normalize_host_cow(line)
                }
            };
            if host.is_some() {
                return host;
            }
        }
        None
    })
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
    // Bytes, not `match_indices`: a screen looks up every suffix of every document's host.
    let dots = host.bytes().enumerate().filter(|&(_, b)| b == b'.');
    std::iter::once(host).chain(dots.map(move |(i, _)| &host[i + 1..]))
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
#[derive(Debug, Clone)]
struct HostTable {
    /// The hosts' bytes. A list file's text is kept whole (the first one without a copy),
    /// and its hosts are slices of it; a host that normalizing changed is appended.
    text: String,
    /// Where each host is in `text`, start and end. Four bytes each, not eight: the hosts
    /// of a million-domain list are read into memory that is new to the process, and every
    /// page of it costs a fault. A host added twice is here twice; the first one is found.
    spans: Vec<(u32, u32)>,
    /// The category of each run of entries of one category, as (first entry, category):
    /// a list file is one run.
    categories: Vec<(u32, u32)>,
    /// The entries by hash, built at the first lookup after an add: a million hosts are
    /// added at once, and inserting them one by one into a hash table cost a fifth of the
    /// load (and its memory, a tenth more in page faults).
    index: OnceLock<HostIndex>,
    /// The seed of the hosts' hashes: random, so that no list can be written to put its
    /// hosts in one group, and kept, so that an index read back from a file (see
    /// [`cache`]) finds the hosts it was built with.
    seed: u64,
}

impl Default for HostTable {
    fn default() -> HostTable {
        HostTable {
            text: String::new(),
            spans: Vec::new(),
            categories: Vec::new(),
            index: OnceLock::new(),
            seed: std::hash::RandomState::new().hash_one(0u8),
        }
    }
}

/// The hosts of a list would need more than 4 GiB of text: offsets into it are 32 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListsTooLarge;

/// The entries of a [`HostTable`] grouped by the top bits of their hash (a counting sort,
/// which keeps the order of entries within a group): a lookup reads its group's bounds and
/// the few entries in it. A group holds about four hosts: the groups' starts of a million
/// hosts are then a megabyte, which the load's counting and a lookup find in the cache
/// more often than four (the four entries are 32 bytes, mostly one cache line).
#[derive(Debug, Clone)]
struct HostIndex {
    /// Where each group starts in `entries`, and where the last one ends.
    starts: Vec<u32>,
    /// The low 32 bits of the host's hash, and its place in [`HostTable::spans`]: one a
    /// distinct host.
    entries: Vec<(u32, u32)>,
    /// 64 minus log2 of the number of groups.
    shift: u32,
    /// A Bloom filter of the hashes: a word for two groups (8 to 16 bits a host, a megabyte
    /// for a million), and three bits of it a host. Most hosts a screen looks up are not
    /// listed, and for them this one read stands for the two or three cache misses of
    /// reading a group. Its words follow the groups, so that it is written in their order
    /// once they are built: set host by host at random, it cost 6 ms of a million hosts' load
    /// (about 80).
    bloom: Vec<u64>,
}

impl HostTable {
    fn hash(&self, host: &[u8]) -> u64 {
        FixedState::with_seed(self.seed).hash_one(host)
    }

    fn host(&self, i: u32) -> &[u8] {
        let (start, end) = self.spans[i as usize];
        &self.text.as_bytes()[start as usize..end as usize]
    }

    fn category(&self, i: u32) -> u32 {
        // The run that holds entry `i`: the last one that starts at or before it (the first
        // run starts at entry 0).
        let run = self.categories.partition_point(|&(first, _)| first <= i);
        self.categories[run.saturating_sub(1)].1
    }

    /// Distinct hosts.
    fn len(&self) -> usize {
        self.index().entries.len()
    }

    /// Appends a list file's `text`; the first one becomes the table's text without a copy.
    fn append_text(&mut self, text: String) {
        if self.text.is_empty() {
            self.text = text;
        } else {
            self.text.push_str(&text);
        }
    }

    fn index(&self) -> &HostIndex {
        self.index.get_or_init(|| self.build_index())
    }

    fn build_index(&self) -> HostIndex {
        let n = self.spans.len();
        let groups = (n / 4).next_power_of_two().max(2);
        let shift = 64 - groups.trailing_zeros();
        let mut bloom = vec![0u64; groups / 2];
        // Each group's size, then (summed) where it starts.
        let mut starts = vec![0u32; groups + 1];
        let hashes: Vec<u64> = (0..n as u32)
            .map(|i| {
                let hash = self.hash(self.host(i));
                starts[(hash >> shift) as usize] += 1;
                hash
            })
            .collect();
        let mut sum = 0;
        for start in &mut starts[..groups] {
            (*start, sum) = (sum, sum + *start);
        }
        // Each entry into the next free place of its group; a group's start moves to its
        // end on the way.
        let mut entries = vec![(0u32, 0u32); n];
        for (i, &hash) in hashes.iter().enumerate() {
            let slot = &mut starts[(hash >> shift) as usize];
            entries[*slot as usize] = (hash as u32, i as u32);
            *slot += 1;
        }
        // Only the first entry of a host stays in the index (its category is the one found),
        // so that a list that repeats a host many times has no group that long. Within a
        // group, each entry is compared with the distinct ones before it.
        let (mut kept, mut read) = (0, 0);
        for (g, start) in starts[..groups].iter_mut().enumerate() {
            let end = *start as usize;
            let group = kept;
            *start = group as u32;
            while read < end {
                let (low, i) = entries[read];
                read += 1;
                let seen = entries[group..kept]
                    .iter()
                    .any(|&(l, j)| l == low && self.host(j) == self.host(i));
                if !seen {
                    entries[kept] = (low, i);
                    kept += 1;
                    let (word, bits) = bloom_bits(g, u64::from(low));
                    bloom[word] |= bits;
                }
            }
        }
        starts[groups] = kept as u32;
        entries.truncate(kept);
        HostIndex {
            starts,
            entries,
            shift,
            bloom,
        }
    }

    fn get(&self, host: &str) -> Option<u32> {
        let hash = self.hash(host.as_bytes());
        let index = self.index();
        if !index.may_hold(hash) {
            return None;
        }
        index
            .group((hash >> index.shift) as usize)
            .iter()
            .find(|&&(low, i)| low == hash as u32 && self.host(i) == host.as_bytes())
            .map(|&(_, i)| self.category(i))
    }

    /// Adds the hosts of a list file's `text` (as [`list_hosts`] reads them), keeping the
    /// text; a host already there keeps its first category. Answers how many were added.
    fn extend_text(&mut self, text: String, category: u32) -> Result<usize, ListsTooLarge> {
        let base = self.text.len();
        let first = self.spans.len();
        if base + text.len() > u32::MAX as usize {
            return Err(ListsTooLarge);
        }
        // A span a line at most: a big list loads without growing (copying) them on the way.
        self.spans
            .reserve(memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1);
        // Hosts that normalizing changed, kept after the text; their entries' spans are
        // relative to `changed` until then.
        let (mut changed, mut changed_entries) = (String::new(), Vec::new());
        let text_range = text.as_bytes().as_ptr_range();
        for host in list_hosts(&text) {
            let at = host.as_ptr();
            let start = match host {
                Cow::Borrowed(_) if text_range.contains(&at) => {
                    base + (at as usize - text_range.start as usize)
                }
                _ => {
                    changed_entries.push(self.spans.len());
                    changed.push_str(&host);
                    changed.len() - host.len()
                }
            };
            self.spans.push((start as u32, (start + host.len()) as u32));
        }
        let changed_base = base + text.len();
        if changed_base + changed.len() > u32::MAX as usize {
            self.spans.truncate(first);
            return Err(ListsTooLarge);
        }
        self.append_text(text);
        self.text.push_str(&changed);
        for &e in &changed_entries {
            let (start, end) = &mut self.spans[e];
            (*start, *end) = (*start + changed_base as u32, *end + changed_base as u32);
        }
        self.added(first, category);
        Ok(self.spans.len() - first)
    }

    /// Adds `host`; when it is there already, it keeps its first category.
    fn insert(&mut self, host: &str, category: u32) -> Result<(), ListsTooLarge> {
        let start = self.text.len();
        if start + host.len() > u32::MAX as usize {
            return Err(ListsTooLarge);
        }
        self.text.push_str(host);
        let first = self.spans.len();
        self.spans.push((start as u32, self.text.len() as u32));
        self.added(first, category);
        Ok(())
    }

    /// Notes the category of the entries from `first` on, and that the index must be built
    /// again.
    fn added(&mut self, first: usize, category: u32) {
        if first < self.spans.len() && self.categories.last().map(|&(_, c)| c) != Some(category) {
            self.categories.push((first as u32, category));
        }
        self.index = OnceLock::new();
    }
}

/// The word of a [`HostIndex`]'s Bloom filter for a host of group `group`, and the word's
/// three bits for the host's hash (from its low bits, which the group's do not overlap).
fn bloom_bits(group: usize, hash: u64) -> (usize, u64) {
    let word = group / 2;
    let bits = (1 << (hash & 63)) | (1 << ((hash >> 6) & 63)) | (1 << ((hash >> 12) & 63));
    (word, bits)
}

impl HostIndex {
    fn group(&self, g: usize) -> &[(u32, u32)] {
        &self.entries[self.starts[g] as usize..self.starts[g + 1] as usize]
    }

    /// Whether a host of this hash may be in the index (never `false` for one that is).
    fn may_hold(&self, hash: u64) -> bool {
        let (word, bits) = bloom_bits((hash >> self.shift) as usize, hash);
        self.bloom[word] & bits == bits
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

    /// Adds a domain entry; returns false (and adds nothing) when it has no usable host, or
    /// when the lists hold 4 GiB of hosts already.
    pub fn add_domain(&mut self, entry: &str, category: u32) -> bool {
        normalize_host_cow(entry).is_some_and(|host| self.domains.insert(&host, category).is_ok())
    }

    /// Builds what lookups need now rather than at the first one (which would count as
    /// screening time).
    pub(crate) fn prepare(&self) {
        self.domains.index();
    }

    /// Adds the domain entries of a list file's text, one a line (blank lines and `#`
    /// comments skipped), each as [`DomainList::add_domain`] would (entries with no usable host
    /// are skipped), faster for a long list; answers how many were usable. The text is kept:
    /// its hosts are not copied.
    pub fn add_domain_lines(
        &mut self,
        text: String,
        category: u32,
    ) -> Result<usize, ListsTooLarge> {
        self.domains.extend_text(text, category)
    }

    /// Adds list files' texts as [`DomainList::add_domain_lines`] would, one after another,
    /// and builds the index; both are read from a file in `dir` when an earlier run wrote
    /// one for the same lists, and written there otherwise (see [`IndexCache`]). For a big
    /// list: a million hosts are read back in a quarter of the time they take to index.
    pub fn add_domain_lines_cached(
        &mut self,
        texts: Vec<(String, u32)>,
        dir: &Path,
    ) -> Result<IndexCache, ListsTooLarge> {
        let table = &mut self.domains;
        let text_len = table.text.len() + texts.iter().map(|(t, _)| t.len()).sum::<usize>();
        if text_len > u32::MAX as usize {
            return Err(ListsTooLarge);
        }
        let key = cache::key(table, &texts);
        let path = cache::path(dir, key);
        let allowed: Vec<u32> = table
            .categories
            .iter()
            .map(|&(_, c)| c)
            .chain(texts.iter().map(|&(_, c)| c))
            .collect();
        if let Some(parts) = cache::read(&path, key, texts.len(), text_len, &allowed) {
            for ((text, _), tail) in texts.into_iter().zip(&parts.tails) {
                table.append_text(text);
                table.text.push_str(tail);
            }
            table.spans = parts.spans;
            table.categories = parts.categories;
            table.index = OnceLock::from(parts.index);
            table.seed = parts.seed;
            crate::kept::touch(&path);
            return Ok(IndexCache::Read(path));
        }
        // Each list's hosts that normalizing changed follow its text: where they are.
        let mut tails = Vec::with_capacity(texts.len());
        for (text, category) in texts {
            let end_of_text = table.text.len() + text.len();
            table.extend_text(text, category)?;
            tails.push(end_of_text..table.text.len());
        }
        Ok(match cache::write(&path, key, table, &tails) {
            Ok(()) => IndexCache::Written(path),
            Err(e) => IndexCache::NotWritten(path, e),
        })
    }

    /// Adds a URL-prefix entry (`host/path`).
    pub fn add_url(&mut self, entry: &str, category: u32) -> bool {
        let Some(host) = normalize_host(entry) else {
            return false;
        };
        let path = normalize_path(entry);
        if path == "/" {
            // A bare host in a URL list blocks the whole host.
            return self.domains.insert(&host, category).is_ok();
        }
        self.urls.entry(host).or_default().push((path, category));
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
        self.check_with_verdict(url, &host, self.host_verdict(&host))
    }

    /// [`DomainList::check`] for an already normalized host.
    pub fn check_host(&self, host: &str) -> Option<DomainHit> {
        self.check_host_path(host, "/", self.host_verdict(host))
    }

    /// What the lists say of a normalized `host` whatever a URL's path. A caller that sees one
    /// host in many documents keeps it and checks each URL with
    /// [`DomainList::check_with_verdict`]: looking the host's suffixes up in a million-host
    /// table took a tenth of a screen of short posts.
    pub fn host_verdict(&self, host: &str) -> HostVerdict {
        // Most lists allow nothing: then the host's suffixes are walked once, not twice.
        if !self.allowed.is_empty() && suffixes(host).any(|s| self.allowed.contains(s)) {
            return HostVerdict {
                allowed: true,
                listed: None,
            };
        }
        let listed = suffixes(host).find_map(|suffix| {
            let category = self.domains.get(suffix)?;
            Some((category, host.len() - suffix.len()))
        });
        HostVerdict {
            allowed: false,
            listed,
        }
    }

    /// [`DomainList::check`] for a URL whose host is already normalized, with the host's
    /// `verdict` from [`DomainList::host_verdict`] on the same list and host.
    pub fn check_with_verdict(
        &self,
        url: &str,
        host: &str,
        verdict: HostVerdict,
    ) -> Option<DomainHit> {
        if self.urls.is_empty() {
            return verdict.hit(host);
        }
        self.check_host_path(host, &normalize_path(url), verdict)
    }

    fn check_host_path(&self, host: &str, path: &str, verdict: HostVerdict) -> Option<DomainHit> {
        if verdict.allowed {
            return None;
        }
        for suffix in suffixes(host) {
            if let Some(prefixes) = self.urls.get(suffix) {
                for (prefix, category) in prefixes {
                    if path_has_prefix(path, prefix) {
                        return Some(DomainHit {
                            category: *category,
                            entry: format!("{suffix}{prefix}"),
                        });
                    }
                }
            }
        }
        verdict.hit(host)
    }
}

/// What a [`DomainList`] says of a host, whatever the path of a URL on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostVerdict {
    /// A suffix of the host is allowed: no entry blocks it.
    allowed: bool,
    /// The category of the most specific domain entry that lists the host, and where that
    /// entry (a suffix of the host) starts in it.
    listed: Option<(u32, usize)>,
}

impl HostVerdict {
    /// The domain entry's hit on `host`, the host of the verdict (none when it is allowed).
    fn hit(self, host: &str) -> Option<DomainHit> {
        let (category, start) = self.listed?;
        Some(DomainHit {
            category,
            entry: host.get(start..)?.to_string(),
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
    fn many_domains_at_once_are_added_as_one_by_one() {
        // Repeated hosts (the first category stays), unusable entries, subdomains, and enough
        // hosts for the grouping to matter; then a second list on top.
        let mut entries: Vec<String> = (0..5000).map(|i| format!("host{i}.example.com")).collect();
        entries.extend(
            [
                "Host7.Example.COM",
                "",
                "http://",
                "www.host8.example.com",
                "a.b.c",
            ]
            .map(String::from),
        );
        entries.extend(
            (0..5000)
                .rev()
                .step_by(7)
                .map(|i| format!("host{i}.example.com")),
        );
        let (mut one, mut many) = (DomainList::new(), DomainList::new());
        for (k, e) in entries.iter().enumerate() {
            one.add_domain(e, (k % 3) as u32);
        }
        // The same categories per entry: three passes, one per category, would not keep the
        // list's order; add per run of one category instead.
        let mut k = 0;
        while k < entries.len() {
            assert_eq!(
                many.add_domain_lines(entries[k].clone(), (k % 3) as u32),
                Ok(usize::from(normalize_host(&entries[k]).is_some()))
            );
            k += 1;
        }
        let mut bulk = DomainList::new();
        assert_eq!(
            bulk.add_domain_lines(entries.join("\n"), 1),
            Ok(entries.len() - 2)
        );
        let mut single = DomainList::new();
        for e in &entries {
            single.add_domain(e, 1);
        }
        for probe in [
            "host7.example.com",
            "x.host8.example.com",
            "host4999.example.com",
            "c",
            "b.c",
            "nohost.com",
            "host5000.example.com",
        ] {
            assert_eq!(many.check(probe), one.check(probe), "{probe}");
            assert_eq!(bulk.check(probe), single.check(probe), "{probe}");
        }
        // Every host with its first category (categories changing at every host).
        for e in &entries {
            assert_eq!(many.check(e), one.check(e), "{e}");
        }
        // 5,000 hosts and `a.b.c`; `Host7…` and `www.host8…` are hosts already there.
        assert_eq!(single.len(), 5001);
        assert_eq!(bulk.len(), single.len());
        assert_eq!(many.len(), one.len());
        assert_eq!(
            one.check("host7.example.com").map(|h| h.category),
            Some(7 % 3)
        );
        // A second list on top keeps the first list's categories.
        assert_eq!(
            bulk.add_domain_lines("host1.example.com\nnew.example.org\n".into(), 2),
            Ok(2)
        );
        assert_eq!(bulk.check("host1.example.com").map(|h| h.category), Some(1));
        assert_eq!(bulk.check("new.example.org").map(|h| h.category), Some(2));
        assert_eq!(bulk.len(), single.len() + 1);
    }

    #[test]
    fn a_host_listed_many_times_is_indexed_once_with_its_first_category() {
        let mut list = DomainList::new();
        assert_eq!(
            list.add_domain_lines("same.example.com\n".repeat(20_000), 1),
            Ok(20_000)
        );
        assert_eq!(
            list.add_domain_lines("other.example.com\nsame.example.com\n".into(), 2),
            Ok(2)
        );
        list.add_domain("Same.Example.com", 3);
        assert_eq!(list.len(), 2);
        // One index entry a distinct host: the repeats would make one group as long as the
        // list, read by every lookup that lands in it.
        assert_eq!(list.domains.index().entries.len(), 2);
        assert_eq!(
            list.check("a.same.example.com").map(|h| h.category),
            Some(1)
        );
        assert_eq!(list.check("other.example.com").map(|h| h.category), Some(2));
    }

    #[test]
    fn a_list_file_gives_the_hosts_its_lines_give_one_by_one() {
        // Plain lines, and each kind of line the one-pass reader leaves to the general way.
        let lines = [
            "example.com",
            "Example.ORG",
            "www.example.net",
            "example.info.",
            "# a comment",
            "",
            "   ",
            "\u{feff}bom.example.com",
            "crlf.example.com\r",
            "  spaced.example.com\t",
            "https://User@WWW.Scheme.Example.com:8080/x",
            "path.example.com/a/b",
            "frag.example.com#x",
            "1.2.3.4",
            "10.1",
            "a.0x1F",
            "bücher.de",
            "a..b.com",
            ".lead.com",
            "http://",
            "www.",
            "last.example.com",
        ];
        for ending in ["", "\n"] {
            let text = lines.join("\n") + ending;
            let one_by_one: Vec<String> = lines
                .iter()
                .map(|line| crate::pack::trim_entry(line))
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .filter_map(normalize_host)
                .collect();
            let read: Vec<String> = list_hosts(&text).map(Cow::into_owned).collect();
            assert_eq!(read, one_by_one, "{ending:?}");
            assert!(read.contains(&"crlf.example.com".to_string()));
            assert!(read.contains(&"xn--bcher-kva.de".to_string()));
        }
    }

    /// What the URL parser makes of an entry (a URL, or a host with or without a path), with
    /// none of the fast paths.
    fn by_url_parser(entry: &str) -> Option<String> {
        let with_scheme = if entry.contains("://") {
            entry.to_string()
        } else {
            format!("http://{entry}")
        };
        let parsed = url::Url::parse(&with_scheme).ok()?;
        let host = parsed
            .host_str()?
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let host = host.strip_prefix("www.").unwrap_or(&host);
        (!host.is_empty()).then(|| host.to_string())
    }

    #[test]
    fn random_plain_lists_give_the_hosts_the_url_parser_gives() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(16);
        let labels = [
            "www", "WWW", "a", "example", "0x1f", "0x", "12", "1f", "x", "g", "-", "xn--p1ai",
        ];
        let mut lists = 0;
        for _ in 0..3000 {
            let lines: Vec<String> = (0..rng.gen_range(1..6))
                .map(|_| {
                    let mut line = (0..rng.gen_range(0..4))
                        .map(|_| labels[rng.gen_range(0..labels.len())])
                        .collect::<Vec<_>>()
                        .join(".");
                    if rng.gen_bool(0.2) {
                        line.push_str(&".".repeat(rng.gen_range(1..3)));
                    }
                    line
                })
                .collect();
            let text = lines.join("\n") + ["", "\n"][rng.gen_range(0..2)];
            let parsed: Vec<String> = lines
                .iter()
                .filter(|line| !line.is_empty())
                .filter_map(|line| by_url_parser(line))
                .collect();
            let read: Vec<String> = list_hosts(&text).map(Cow::into_owned).collect();
            assert_eq!(read, parsed, "{text:?}");
            lists += usize::from(all_plain_lowercase(text.as_bytes()));
        }
        // Most take the whole-text check's way; the others, with capitals or `..`, the general one.
        assert!(lists > 1000, "only {lists} plain lists");
    }

    #[test]
    fn a_plain_list_gives_the_hosts_its_lines_give_one_by_one() {
        // Lines the whole-text check lets through, each of which plain_host_of may still
        // leave to the URL parser.
        let lines = [
            "example.com",
            "",
            "www.example.net",
            "example.info.",
            "1.2.3.4",
            "10.1",
            "a.0x1f",
            "a.0x",
            "a.12z",
            "a.12f",
            "www.",
            "xn--bcher-kva.de",
            "last.example.com",
        ];
        for ending in ["", "\n", "\n\n"] {
            let text = lines.join("\n") + ending;
            assert!(all_plain_lowercase(text.as_bytes()), "{text:?}");
            let read: Vec<String> = list_hosts(&text).map(Cow::into_owned).collect();
            let one_by_one: Vec<String> = lines.iter().filter_map(|l| normalize_host(l)).collect();
            assert_eq!(read, one_by_one);
        }
    }

    #[test]
    fn the_whole_text_check_agrees_with_the_line_by_line_one() {
        // Every line empty or a plain host without capitals, as plain_line finds line by line.
        let by_lines = |text: &[u8]| {
            text.split(|&b| b == b'\n')
                .all(|line| line.is_empty() || plain_line(line) == Some(false))
        };
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(14);
        for round in 0..3000 {
            // Mostly plain bytes, so that many texts are plain; the others stop the check.
            let alphabet: &[u8] = if round % 2 == 0 {
                b"ab0-..\n"
            } else {
                b"ab0-..\nA \r"
            };
            let len = rng.gen_range(0..9000);
            let mut text: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect();
            if round % 3 == 0 {
                // Runs of plain hosts, with what may break them at a block's edges.
                text = b"host.example.com\n".repeat(len / 17 + 1);
                let at = [0, 4095, 4096, 8191, 8192][round % 5].min(text.len() - 1);
                text[at] = alphabet[rng.gen_range(0..alphabet.len())];
            }
            assert_eq!(all_plain_lowercase(&text), by_lines(&text), "round {round}");
        }
        // A dot after a dot, or at a line's start, across a block's edge.
        for (at, pair) in [(4095, b".."), (4095, b"\n."), (8191, b"..")] {
            let mut text = b"abc\n".repeat(3000);
            text[at..at + 2].copy_from_slice(pair);
            assert!(!all_plain_lowercase(&text));
            assert!(!by_lines(&text));
        }
    }

    #[test]
    fn the_plain_host_fast_path_agrees_with_the_url_parser() {
        // Every input the fast path takes gives the host the URL parser gives.
        for input in [
            "example.com",
            "Example.COM",
            "WWW.Example.com/x?y#z",
            "https://news.bbc.co.uk/a",
            "http://a-b.c-d.org?q",
            "www.wikipedia.org",
            "wikipedia.org.",
            "abc1234.co.uk",
            "xn--bcher-kva.de#f",
            "1.2.3.4",
            "1.2.3",
            ".example.com",
            "a..b.com",
            "",
            "/path",
            "ftp://example.com",
            "user@example.com",
            "example.com:8080",
            "example.com..",
            "a.com/x..y",
            "1-2.3",
            "a.0x1F",
            "a.0x1g",
            // The last byte alone says the label is no number; or the label is read.
            "a.0x",
            "a.0X.",
            "a.0xx",
            "a.12z",
            "A.12Z",
            "a.12f",
            "12.34/a",
            "https://WWW.",
        ] {
            let fast = plain_host(input).map(Cow::into_owned);
            if fast.is_some() {
                assert_eq!(fast, by_url_parser(input), "{input}");
            }
            let expect_plain = !matches!(
                input,
                "1.2.3.4"
                    | "1.2.3"
                    | ".example.com"
                    | "a..b.com"
                    | ""
                    | "/path"
                    | "ftp://example.com"
                    | "user@example.com"
                    | "example.com:8080"
                    | "example.com.."
                    | "12.34/a"
                    | "1-2.3"
                    | "a.0x1F"
                    | "a.0x"
                    | "a.0X."
            );
            assert_eq!(fast.is_some(), expect_plain, "{input}");
        }
    }

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

    #[test]
    fn a_host_verdict_kept_for_many_urls_checks_each_path() {
        let mut list = DomainList::new();
        list.add_domain("example.com", 1);
        list.add_domain("deep.sub.example.com", 2);
        list.add_url("sub.example.com/forum", 3);
        list.add_url("other.org/forum", 4);
        list.allow_domain("good.example.com");
        let hosts = [
            "example.com",
            "sub.example.com",
            "deep.sub.example.com",
            "x.good.example.com",
            "www.other.org",
            "unlisted.net",
        ];
        let paths = ["/", "/forum", "/forum/1", "/forums", "/a"];
        let mut hits = 0;
        for host in hosts {
            let verdict = list.host_verdict(host);
            for path in paths {
                let url = format!("https://{host}{path}");
                let usual = list.check(&url);
                assert_eq!(list.check_with_verdict(&url, host, verdict), usual, "{url}");
                hits += usize::from(usual.is_some());
            }
        }
        // example.com and deep.sub… on every path, sub.example.com on every path (by its
        // parent) with /forum and /forum/1 its URL entry's, www.other.org on two.
        assert_eq!(hits, 5 + 5 + 5 + 2);
        let forum = list.check_with_verdict(
            "https://sub.example.com/forum/1",
            "sub.example.com",
            list.host_verdict("sub.example.com"),
        );
        assert_eq!(forum.map(|h| h.entry), Some("sub.example.com/forum".into()));
        let deep = list
            .host_verdict("deep.sub.example.com")
            .hit("deep.sub.example.com");
        assert_eq!(
            deep.map(|h| (h.category, h.entry)),
            Some((2, "deep.sub.example.com".into()))
        );
    }
}
