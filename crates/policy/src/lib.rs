//! Policies: what counts as a violation, in one definition shared by corpus screening, the
//! guard and the audit.
//!
//! A [`Policy`] has categories (a small hierarchy), keyword lists, regular expressions and
//! domain/URL lists per category, allow-lists that override them, and the normalization that
//! text goes through before matching ([`normalize`]). It is loaded from a pack directory
//! ([`pack`] describes the layout) and/or from plain lists ([`PolicyBuilder`]).
//!
//! - [`Policy::scan`]: every hit in a text, with its category and the original byte range.
//! - [`Policy::check_url`]: whether a URL or host is on a domain list ([`domains`]).
//! - [`Policy::stream`]: a scanner fed text in chunks (a streamed model answer) that reports
//!   each hit exactly once, also when it straddles chunks ([`stream`]).
//!
//! What normalization and matching catch (each a `[normalize]` option of the pack, on by
//! default unless said; [`NormalizeOptions`]): case and width (`ＢＯＭＢ`), compatibility forms
//! (`ﬁ`, `①`), every Unicode Default_Ignorable_Code_Point inside a term (zero-width
//! characters, soft hyphens, variation selectors `bo\u{FE0F}mb`, tag characters), look-alike
//! letters of other scripts (Cyrillic `а` in `nаpalm`: the UTS #39 confusables whose skeleton
//! is an ASCII letter), combining marks on Latin letters (`nápálm`), whitespace runs, words
//! joined by `-`, `_` or `.` (`pipe-bomb`), English plurals in `-s`/`-es` (`pipe bombs`),
//! letters spaced out (`N A P A L M`, `n.a.p.a.l.m`, `p i p e b o m b`), Chinese split by up
//! to three spaces or punctuation marks (`自 制 炸 弹`, `自制·炸弹`), Traditional Chinese
//! (option, off by default), digits of leetspeak (`n4p4lm`; option, off by default), and
//! Chinese terms written in toneless pinyin (`zhadan`, `zha dan`; option, off by default).
//! Every hit maps back to the original text it was found in, and streaming finds the same
//! hits as scanning the whole text. What it does not catch: misspellings and synonyms,
//! paraphrase, other inflections (`bombing`, `bombed`, irregular plurals), look-alikes that are
//! symbols or punctuation rather than letters (`$`, `@`, `|`), letters spaced by anything but
//! one space or `-_.` (`n  -  a`), words glued together (`pipebomb`, unless spaced out),
//! Chinese split by letters, digits or emoji, homophones, pinyin with tones or of another
//! reading of a character than its first, text in images or
//! encodings (base64, ROT13), and a term spread over separate messages; look-alike letters in
//! Cyrillic or Greek words are read as Latin ones, so a Russian word can match an English term.

pub mod domains;
mod forms;
mod kept;
pub mod keywords;
pub mod normalize;
pub mod pack;
mod prefilter;
pub mod stream;
mod swar;
mod unicode_tables;
mod vector;

use std::ops::Range;
use std::path::{Path, PathBuf};

use regex::Regex;

use crate::keywords::TermMatch;

pub use domains::{DomainHit, DomainList, HostVerdict, IndexCache};
pub use keywords::{KeywordBuilder, KeywordMatcher};
pub use normalize::{NormalizeOptions, Normalized, Normalizer};
pub use pack::PackError;
pub use stream::StreamScanner;

/// A category of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub id: String,
    pub name: String,
    /// The name in Chinese (`name_zh` in the pack), for what is shown to people writing in
    /// Chinese (the guard's refusals).
    pub name_zh: Option<String>,
    pub description: String,
    /// Index of the parent category.
    pub parent: Option<u32>,
    /// The risks the category covers, as codes of a risk list (`A.1h`: see `assay assess`).
    pub risks: Vec<String>,
}

/// What kind of rule produced a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HitKind {
    Keyword,
    Pattern,
    Domain,
}

impl HitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HitKind::Keyword => "keyword",
            HitKind::Pattern => "pattern",
            HitKind::Domain => "domain",
        }
    }
}

/// One violation found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Index into [`Policy::categories`].
    pub category: u32,
    pub kind: HitKind,
    /// The term, the pattern, or the domain-list entry.
    pub rule: String,
    /// Byte range in the original text (empty for domain hits, which concern a URL).
    pub range: Range<usize>,
}

impl From<DomainHit> for Hit {
    fn from(h: DomainHit) -> Hit {
        Hit {
            category: h.category,
            kind: HitKind::Domain,
            rule: h.entry,
            range: 0..0,
        }
    }
}

/// A loaded policy; cheap to share between threads (`&Policy` is `Sync`).
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    pub version: String,
    pub description: String,
    /// When the pack says its lists were last revised (`updated`, YYYY-MM-DD).
    pub updated: Option<String>,
    categories: Vec<Category>,
    normalizer: Normalizer,
    keywords: KeywordMatcher,
    patterns: Vec<(Regex, u32)>,
    domains: DomainList,
    /// Whether [`Policy::scan_fast`] may find keywords in plain text without normalizing it:
    /// no patterns (they need the normalized text) and a normalizer that does to plain text
    /// only what the matcher reads it through.
    searches_plain_text: bool,
}

impl Policy {
    /// Loads the pack in `dir` (see [`pack`]).
    pub fn load(dir: &Path) -> Result<Policy, PackError> {
        let mut builder = PolicyBuilder::new();
        builder.add_pack(dir)?;
        builder.build()
    }

    /// A pack built into assay (`example`).
    pub fn builtin(name: &str) -> Result<Policy, PackError> {
        let mut builder = PolicyBuilder::new();
        builder.add_builtin_pack(name)?;
        builder.build()
    }

    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// Distinct keywords per category (indexed like [`Policy::categories`]); a term listed
    /// under two categories counts in both.
    pub fn keyword_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.categories.len()];
        for term in 0..self.keywords.len() {
            for &category in self.keywords.categories(term) {
                counts[category as usize] += 1;
            }
        }
        counts
    }

    pub fn category(&self, index: u32) -> &Category {
        &self.categories[index as usize]
    }

    /// The index of the category `id`.
    pub fn category_index(&self, id: &str) -> Option<u32> {
        self.categories
            .iter()
            .position(|c| c.id == id)
            .map(|i| i as u32)
    }

    pub fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    pub fn keywords(&self) -> &KeywordMatcher {
        &self.keywords
    }

    pub fn domains(&self) -> &DomainList {
        &self.domains
    }

    pub fn has_text_rules(&self) -> bool {
        !self.keywords.is_empty() || !self.patterns.is_empty()
    }

    /// Every keyword and pattern hit in `text`, in order of where they end, with original
    /// byte ranges.
    pub fn scan(&self, text: &str) -> Vec<Hit> {
        if !self.has_text_rules() {
            return Vec::new();
        }
        let normalized = self.normalizer.normalize(text);
        self.scan_normalized(&normalized.text, |range| normalized.original_span(range))
    }

    /// [`Policy::scan`] without the map back to the original: ranges are in the normalized
    /// text (in `text` itself when it is plain: made of what normalization changes in ways
    /// the matcher can read through, `prefilter/plain.rs`). Faster; for screening, where only
    /// the verdict and the terms matter.
    pub fn scan_fast(&self, text: &str) -> Vec<Hit> {
        if !self.has_text_rules() {
            return Vec::new();
        }
        if self.searches_plain_text {
            if let Some(found) = self.keywords.find_in_plain_text(text) {
                return self.keyword_hits(found, |range| range);
            }
        }
        let normalized = self.normalizer.normalize_text(text);
        self.scan_normalized(&normalized, |range| range)
    }

    /// Hits in already normalized text; `map` turns normalized ranges into reported ones.
    pub(crate) fn scan_normalized(
        &self,
        text: &str,
        map: impl Fn(Range<usize>) -> Range<usize>,
    ) -> Vec<Hit> {
        let mut hits = self.keyword_hits(self.keywords.find(text), &map);
        for (regex, category) in &self.patterns {
            for m in regex.find_iter(text) {
                if m.is_empty() {
                    continue;
                }
                hits.push(Hit {
                    category: *category,
                    kind: HitKind::Pattern,
                    rule: regex.as_str().to_string(),
                    range: map(m.range()),
                });
            }
        }
        hits.sort_by_key(|h| (h.range.end, h.range.start));
        hits
    }

    /// The hits of keywords found (one per category of each term), in the order found.
    fn keyword_hits(
        &self,
        found: Vec<TermMatch>,
        map: impl Fn(Range<usize>) -> Range<usize>,
    ) -> Vec<Hit> {
        let mut hits = Vec::new();
        for m in found {
            for &category in self.keywords.categories(m.term) {
                hits.push(Hit {
                    category,
                    kind: HitKind::Keyword,
                    rule: self.keywords.term(m.term).to_string(),
                    range: map(m.range.clone()),
                });
            }
        }
        hits
    }

    /// The domain-list hit for a URL or host, if any.
    pub fn check_url(&self, url: &str) -> Option<Hit> {
        self.domains.check(url).map(Hit::from)
    }

    /// What the domain lists say of a normalized `host` whatever a URL's path, for
    /// [`Policy::check_url_verdict`]: a screen keeps it for each host of a file.
    pub fn host_verdict(&self, host: &str) -> HostVerdict {
        self.domains.host_verdict(host)
    }

    /// [`Policy::check_url`] for a URL whose host is already normalized
    /// ([`domains::normalize_host`]), with the host's `verdict` from [`Policy::host_verdict`].
    pub fn check_url_verdict(&self, url: &str, host: &str, verdict: HostVerdict) -> Option<Hit> {
        self.domains
            .check_with_verdict(url, host, verdict)
            .map(Hit::from)
    }

    /// A scanner for text that arrives in chunks.
    pub fn stream(&self) -> StreamScanner<&Policy> {
        StreamScanner::new(self)
    }

    pub(crate) fn patterns(&self) -> &[(Regex, u32)] {
        &self.patterns
    }
}

/// Assembles a [`Policy`] from packs and plain lists (`--keywords FILE`, `--domains FILE|DIR`
/// on top of, or instead of, `--policy PACK`).
#[derive(Debug, Default)]
pub struct PolicyBuilder {
    name: Option<String>,
    version: String,
    description: String,
    updated: Option<String>,
    normalize: Option<NormalizeOptions>,
    categories: Vec<Category>,
    /// (normalized-later term, category)
    terms: Vec<(String, u32)>,
    allow_terms: Vec<String>,
    patterns: Vec<(Regex, u32)>,
    domains: DomainList,
    /// Domain list files read but not yet added, with their categories: added at
    /// [`PolicyBuilder::index_domains`], through its cache when there is one.
    domain_files: Vec<(PathBuf, String, u32)>,
}

/// Domain lists shorter than this are indexed on each run, not cached: a few milliseconds.
const CACHED_DOMAIN_BYTES: usize = 1 << 20;

impl PolicyBuilder {
    pub fn new() -> PolicyBuilder {
        PolicyBuilder::default()
    }

    /// The index of category `id`, created (named after its id) if new.
    pub fn category(&mut self, id: &str) -> u32 {
        if let Some(i) = self.categories.iter().position(|c| c.id == id) {
            return i as u32;
        }
        self.categories.push(Category {
            id: id.to_string(),
            name: id.to_string(),
            name_zh: None,
            description: String::new(),
            parent: None,
            risks: Vec::new(),
        });
        (self.categories.len() - 1) as u32
    }

    /// Adds a pack directory: its categories, lists, patterns, allow-lists and UT1 trees. The
    /// first pack added sets the name and the normalization.
    pub fn add_pack(&mut self, dir: &Path) -> Result<&mut Self, PackError> {
        let path = dir.join("policy.toml");
        let text = std::fs::read_to_string(&path).map_err(|source| PackError::Io {
            path: path.clone(),
            source,
        })?;
        let manifest = pack::parse_manifest(&path, &text)?;
        self.add_manifest(&manifest, &path, &|rel| pack::read_list(&dir.join(rel)))?;
        for ut1 in &manifest.ut1 {
            self.add_ut1(&dir.join(&ut1.dir), ut1.categories.as_deref())?;
        }
        Ok(self)
    }

    /// Adds a pack built into assay (`example`).
    pub fn add_builtin_pack(&mut self, name: &str) -> Result<&mut Self, PackError> {
        let Some((_, files)) = pack::BUILTIN.iter().find(|(n, _)| *n == name) else {
            return Err(PackError::Invalid {
                path: name.into(),
                message: format!(
                    "no built-in policy pack of that name (built in: {})",
                    pack::BUILTIN
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        };
        let display = |rel: &Path| Path::new("builtin").join(name).join(rel);
        let file = |rel: &Path| {
            files
                .iter()
                .find(|(p, _)| Path::new(p) == rel)
                .map(|(_, text)| *text)
                .ok_or_else(|| PackError::Invalid {
                    path: display(rel),
                    message: "not in the built-in pack".into(),
                })
        };
        let manifest_path = display(Path::new("policy.toml"));
        let manifest = pack::parse_manifest(&manifest_path, file(Path::new("policy.toml"))?)?;
        self.add_manifest(&manifest, &manifest_path, &|rel| {
            pack::parse_list(&display(rel), file(rel)?.as_bytes())
        })?;
        Ok(self)
    }

    /// `--policy NAME|DIR`: a directory holding `policy.toml`, or a built-in pack's name.
    pub fn add_pack_or_builtin(&mut self, spec: &str) -> Result<&mut Self, PackError> {
        let dir = Path::new(spec);
        if dir.join("policy.toml").is_file() || spec.contains('/') || dir.is_dir() {
            self.add_pack(dir)
        } else {
            self.add_builtin_pack(spec)
        }
    }

    /// Categories, lists, patterns and allow-lists of a manifest; `list` reads a list file
    /// given its path relative to the pack.
    fn add_manifest(
        &mut self,
        manifest: &pack::Manifest,
        manifest_path: &Path,
        list: &dyn Fn(&Path) -> Result<pack::Entries, PackError>,
    ) -> Result<(), PackError> {
        let manifest_path = manifest_path.to_path_buf();
        if self.name.is_none() {
            self.name = Some(manifest.name.clone());
            self.version = manifest.version.clone();
            self.description = manifest.description.clone();
            self.updated = manifest.updated.clone();
            self.normalize = Some(manifest.normalize);
        }
        for spec in &manifest.categories {
            if spec.id.trim().is_empty() {
                return Err(PackError::Invalid {
                    path: manifest_path,
                    message: "a category has an empty id".into(),
                });
            }
            let index = self.category(&spec.id) as usize;
            self.categories[index].name = spec.name.clone().unwrap_or_else(|| spec.id.clone());
            self.categories[index].name_zh = spec
                .name_zh
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string);
            self.categories[index].description = spec.description.clone();
            self.categories[index].risks = spec.risks.clone();
        }
        for spec in &manifest.categories {
            if let Some(parent) = &spec.parent {
                let Some(p) = self.categories.iter().position(|c| &c.id == parent) else {
                    return Err(PackError::Invalid {
                        path: manifest_path,
                        message: format!(
                            "category {:?} has parent {parent:?}, which is not a category",
                            spec.id
                        ),
                    });
                };
                let index = self.category(&spec.id) as usize;
                self.categories[index].parent = Some(p as u32);
            }
        }
        self.check_parent_cycles(&manifest_path)?;
        for spec in &manifest.categories {
            let category = self.category(&spec.id);
            for file in &spec.keywords {
                for (_, term) in list(file)? {
                    self.terms.push((term, category));
                }
            }
            for file in &spec.patterns {
                let path = manifest_path.with_file_name(file);
                for (line, pattern) in list(file)? {
                    self.add_pattern(&pattern, category, &path, line)?;
                }
            }
            for file in &spec.domains {
                // After the lists read before, as they were given.
                self.add_domain_files()?;
                for (_, entry) in list(file)? {
                    self.domains.add_domain(&entry, category);
                }
            }
            for file in &spec.urls {
                for (_, entry) in list(file)? {
                    self.domains.add_url(&entry, category);
                }
            }
        }
        for file in &manifest.allow.keywords {
            for (_, phrase) in list(file)? {
                self.allow_terms.push(phrase);
            }
        }
        for file in &manifest.allow.domains {
            for (_, domain) in list(file)? {
                self.domains.allow_domain(&domain);
            }
        }
        Ok(())
    }

    fn check_parent_cycles(&self, path: &Path) -> Result<(), PackError> {
        for (start, category) in self.categories.iter().enumerate() {
            let mut seen = 0;
            let mut at = category.parent;
            while let Some(p) = at {
                seen += 1;
                if p as usize == start || seen > self.categories.len() {
                    return Err(PackError::Invalid {
                        path: path.to_path_buf(),
                        message: format!("category {:?} is its own ancestor", category.id),
                    });
                }
                at = self.categories[p as usize].parent;
            }
        }
        Ok(())
    }

    /// Names category `category` as people see it, in English and in Chinese (a category
    /// made by [`PolicyBuilder::category`] is named after its id).
    pub fn set_category_names(
        &mut self,
        category: u32,
        name: &str,
        name_zh: Option<&str>,
    ) -> &mut Self {
        if let Some(c) = self.categories.get_mut(category as usize) {
            c.name = name.to_string();
            c.name_zh = name_zh.map(str::to_string);
        }
        self
    }

    /// Sets the normalization (otherwise the first pack's, or the defaults).
    pub fn set_normalize(&mut self, options: NormalizeOptions) -> &mut Self {
        self.normalize = Some(options);
        self
    }

    /// Adds a keyword list (one term per line) for `category`.
    pub fn add_keyword_file(&mut self, path: &Path, category: u32) -> Result<&mut Self, PackError> {
        for (_, term) in pack::read_list(path)? {
            self.terms.push((term, category));
        }
        Ok(self)
    }

    /// Adds terms for `category`.
    pub fn add_terms<'a>(
        &mut self,
        terms: impl IntoIterator<Item = &'a str>,
        category: u32,
    ) -> &mut Self {
        self.terms
            .extend(terms.into_iter().map(|t| (t.to_string(), category)));
        self
    }

    /// Adds allow-listed phrases.
    pub fn allow_terms<'a>(&mut self, phrases: impl IntoIterator<Item = &'a str>) -> &mut Self {
        self.allow_terms
            .extend(phrases.into_iter().map(str::to_string));
        self
    }

    /// Adds regular expressions (one per line; they run on normalized text) for `category`.
    pub fn add_pattern_file(&mut self, path: &Path, category: u32) -> Result<&mut Self, PackError> {
        for (line, pattern) in pack::read_list(path)? {
            self.add_pattern(&pattern, category, path, line)?;
        }
        Ok(self)
    }

    fn add_pattern(
        &mut self,
        pattern: &str,
        category: u32,
        path: &Path,
        line: usize,
    ) -> Result<(), PackError> {
        let regex = regex::RegexBuilder::new(pattern)
            .size_limit(1 << 22)
            .build()
            .map_err(|e| PackError::Pattern {
                path: path.to_path_buf(),
                line,
                message: e.to_string(),
            })?;
        self.patterns.push((regex, category));
        Ok(())
    }

    /// Adds a plain domain list (one domain per line) for `category`.
    pub fn add_domain_file(&mut self, path: &Path, category: u32) -> Result<&mut Self, PackError> {
        let bytes = std::fs::read(path).map_err(|source| PackError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        // The list's text is kept as read: its hosts are not copied.
        let text = pack::list_string(path, bytes)?;
        self.domain_files.push((path.to_path_buf(), text, category));
        Ok(self)
    }

    /// Adds the domain list files read since the last call, indexes the domains, and
    /// answers where the index came from: a list of a megabyte or more is indexed through
    /// a file in `cache` (read when an earlier run wrote it for the same lists, written
    /// otherwise), when there is a `cache`. [`PolicyBuilder::build`] calls it with none.
    pub fn index_domains(&mut self, cache: Option<&Path>) -> Result<Option<IndexCache>, PackError> {
        let bytes: usize = self.domain_files.iter().map(|(_, t, _)| t.len()).sum();
        let Some(dir) = cache.filter(|_| bytes >= CACHED_DOMAIN_BYTES) else {
            self.add_domain_files()?;
            self.domains.prepare();
            return Ok(None);
        };
        let files = std::mem::take(&mut self.domain_files);
        let last = files.last().map(|(p, _, _)| p.clone()).unwrap_or_default();
        let texts = files.into_iter().map(|(_, t, c)| (t, c)).collect();
        self.domains
            .add_domain_lines_cached(texts, dir)
            .map(Some)
            .map_err(|domains::ListsTooLarge| too_large(&last))
    }

    /// Adds the domain list files read since the last call.
    fn add_domain_files(&mut self) -> Result<(), PackError> {
        for (path, text, category) in std::mem::take(&mut self.domain_files) {
            self.domains
                .add_domain_lines(text, category)
                .map_err(|domains::ListsTooLarge| too_large(&path))?;
        }
        Ok(())
    }

    /// Adds a URL-prefix list (`host/path` per line) for `category`.
    pub fn add_url_file(&mut self, path: &Path, category: u32) -> Result<&mut Self, PackError> {
        for (_, entry) in pack::read_list(path)? {
            self.domains.add_url(&entry, category);
        }
        Ok(self)
    }

    /// Adds a UT1 blacklist tree: each category directory's `domains` and `urls`, under a
    /// category of the same id (created when new). `only` limits which directories are read.
    pub fn add_ut1(&mut self, dir: &Path, only: Option<&[String]>) -> Result<&mut Self, PackError> {
        let available = pack::ut1_categories(dir)?;
        let wanted: Vec<String> = match only {
            Some(list) => {
                for name in list {
                    if !available.contains(name) {
                        return Err(PackError::Invalid {
                            path: dir.to_path_buf(),
                            message: format!(
                                "UT1 category {name:?} is not there (found: {})",
                                available.join(", ")
                            ),
                        });
                    }
                }
                list.to_vec()
            }
            None => available,
        };
        for name in wanted {
            let category = self.category(&name);
            let domains = dir.join(&name).join("domains");
            if domains.is_file() {
                self.add_domain_file(&domains, category)?;
            }
            let urls = dir.join(&name).join("urls");
            if urls.is_file() {
                self.add_url_file(&urls, category)?;
            }
        }
        Ok(self)
    }

    /// `--domains FILE|DIR`: a plain list under `category`, or a UT1 tree.
    pub fn add_domains_path(
        &mut self,
        path: &Path,
        category: &str,
    ) -> Result<&mut Self, PackError> {
        if path.is_dir() {
            self.add_ut1(path, None)
        } else {
            let category = self.category(category);
            self.add_domain_file(path, category)
        }
    }

    pub fn build(self) -> Result<Policy, PackError> {
        self.build_kept(None).map(|(policy, _)| policy)
    }

    /// [`PolicyBuilder::build`], with the keyword matcher of a thousand terms or more read
    /// from a file in `keyword_cache` when an earlier run wrote one for the same terms, and
    /// written there otherwise ([`KeywordBuilder::build_kept`]); answers where it came from
    /// too (`None`: built without a file).
    pub fn build_kept(
        mut self,
        keyword_cache: Option<&Path>,
    ) -> Result<(Policy, Option<IndexCache>), PackError> {
        let normalizer = Normalizer::new(self.normalize.unwrap_or_default());
        let mut keywords = KeywordBuilder::new();
        keywords.forms(&normalizer.options);
        for (term, category) in &self.terms {
            keywords.add(&normalizer.normalize_text(term), *category);
        }
        for phrase in &self.allow_terms {
            keywords.allow(&normalizer.normalize_text(phrase));
        }
        let (keywords, kept) = match keyword_cache {
            Some(dir) => keywords.build_kept(dir),
            None => keywords.build().map(|keywords| (keywords, None)),
        }
        .map_err(|e| PackError::Invalid {
            path: Path::new("(keywords)").to_path_buf(),
            message: format!("cannot build the keyword automaton: {e}"),
        })?;
        self.index_domains(None)?;
        let o = normalizer.options;
        let searches_plain_text = self.patterns.is_empty()
            && o.case_fold
            && o.fold_whitespace
            && (o.nfkc || o.full_width)
            && !o.traditional_to_simplified;
        let policy = Policy {
            searches_plain_text,
            name: self.name.unwrap_or_else(|| "lists".to_string()),
            version: self.version,
            description: self.description,
            updated: self.updated,
            categories: self.categories,
            normalizer,
            keywords,
            patterns: self.patterns,
            domains: self.domains,
        };
        Ok((policy, kept))
    }
}

/// The error of domain lists too large for a table, naming the file that made them so.
fn too_large(path: &Path) -> PackError {
    PackError::Invalid {
        path: path.to_path_buf(),
        message: "the domain lists hold more than 4 GiB of hosts in all; \
                  screen with fewer of them at a time"
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_maps_hits_back_to_the_original() {
        let mut b = PolicyBuilder::new();
        let weapons = b.category("weapons");
        b.add_terms(["炸弹", "Bomb"], weapons);
        let policy = b.build().unwrap();
        let text = "How to build a ＢＯ\u{200B}ＭＢ or 炸\u{200B}弹?";
        let hits = policy.scan(text);
        let found: Vec<&str> = hits.iter().map(|h| &text[h.range.clone()]).collect();
        assert_eq!(found, ["ＢＯ\u{200B}ＭＢ", "炸\u{200B}弹"]);
        assert!(hits
            .iter()
            .all(|h| h.category == weapons && h.kind == HitKind::Keyword));
        assert_eq!(hits[0].rule, "bomb");
        assert_eq!(policy.scan_fast(text).len(), 2);
    }

    #[test]
    fn domain_lists_of_a_megabyte_or_more_are_indexed_through_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let small = dir.path().join("small.txt");
        std::fs::write(&small, "small.example\n").unwrap();
        let big = dir.path().join("big.txt");
        let hosts: String = (0..70_000).map(|i| format!("h{i}.big.example\n")).collect();
        assert!(hosts.len() >= CACHED_DOMAIN_BYTES);
        std::fs::write(&big, hosts + "Www.Listed.Example\n").unwrap();
        let builder = |files: &[&Path]| {
            let mut b = PolicyBuilder::new();
            for file in files {
                b.add_domains_path(file, "domains").unwrap();
            }
            b
        };
        let mut b = builder(&[&small]);
        assert!(b.index_domains(Some(&cache)).unwrap().is_none());
        assert!(!cache.exists());
        let listed = |policy: &Policy| {
            [
                "https://small.example/",
                "http://a.listed.example/x",
                "https://h69999.big.example",
            ]
            .map(|url| policy.check_url(url).is_some())
        };
        assert_eq!(listed(&b.build().unwrap()), [true, false, false]);
        let mut b = builder(&[&small, &big]);
        let index = b.index_domains(Some(&cache)).unwrap();
        assert!(matches!(index, Some(IndexCache::Written(_))), "{index:?}");
        assert_eq!(listed(&b.build().unwrap()), [true; 3]);
        let mut b = builder(&[&small, &big]);
        let index = b.index_domains(Some(&cache)).unwrap();
        assert!(matches!(index, Some(IndexCache::Read(_))), "{index:?}");
        assert_eq!(listed(&b.build().unwrap()), [true; 3]);
        // Read but not indexed: `build` adds them.
        assert_eq!(
            listed(&builder(&[&big]).build().unwrap()),
            [false, true, true]
        );
    }
}
