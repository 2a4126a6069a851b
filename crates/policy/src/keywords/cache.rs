//! A big keyword list's matcher, kept in a file between runs.
//!
//! Building the matcher of 10,000 terms (each term's forms, the prefilter's keys, filters and
//! table, and the matcher of spaced letters) took about 15 ms of every screen's start, the
//! same work for the same list each time. A run with the same terms, categories, allow
//! phrases and forms reads back what the first one built.
//!
//! The file is named by a 128-bit hash of all of that, this format and the code that builds a
//! matcher (see [`key`]). It ends with a hash of its own bytes, and what it holds is checked to
//! fit the terms before it is used (see [`read`]): a file cut short, changed or written by
//! another build is not read, and is written again.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use daachorse::CharwiseDoubleArrayAhoCorasick;
use twox_hash::xxhash3_128::{self, Hasher as Xxh3};

use super::{pinyin_spellings, KeywordBuilder, KeywordMatcher, Prefilter, Rent, Squashed};
use crate::forms::Forms;
use crate::kept::{self, In, Out};

/// The layout's version, in the header: a file of another is not read.
const FORMAT: u32 = 1;
const MAGIC: &[u8; 8] = b"assayKIX";
const HEADER_BYTES: usize = 8 + 4 + 16;
const CHECKSUM_BYTES: usize = 16;

/// Lists of this many terms or more are kept: fewer are built in a few milliseconds.
pub(super) const KEPT_TERMS: usize = 1_000;

/// The sources of what builds a matcher and of this file's layout: a change to any of them
/// may change a matcher, and makes files written before it unused.
const CODE: u64 = kept::code_hash(&[
    include_str!("cache.rs"),
    include_str!("../keywords.rs"),
    include_str!("../prefilter.rs"),
    include_str!("../forms.rs"),
    include_str!("../swar.rs"),
    include_str!("../vector.rs"),
    include_str!("../kept.rs"),
]);

/// The name of the file of the matcher that `builder` builds.
pub(super) fn key(builder: &KeywordBuilder) -> u128 {
    let mut hash = Xxh3::new();
    let write_len = |hash: &mut Xxh3, n: usize| hash.write(&(n as u64).to_le_bytes());
    hash.write(MAGIC);
    hash.write(&FORMAT.to_le_bytes());
    hash.write(env!("CARGO_PKG_VERSION").as_bytes());
    hash.write(&CODE.to_le_bytes());
    // The pinyin crate's readings: a new version of it that read these otherwise would make
    // other patterns.
    for spelling in pinyin_spellings("中国炸弹制作方法") {
        hash.write(spelling.as_bytes());
        hash.write(b"\n");
    }
    // Every form, by name (a form added later is in it too).
    hash.write(format!("{:?}", builder.forms).as_bytes());
    write_len(&mut hash, builder.terms.len());
    for (term, categories) in builder.terms.iter().zip(&builder.categories) {
        write_len(&mut hash, term.len());
        hash.write(term.as_bytes());
        write_len(&mut hash, categories.len());
        for category in categories {
            hash.write(&category.to_le_bytes());
        }
    }
    for phrase in &builder.allow {
        write_len(&mut hash, phrase.len());
        hash.write(phrase.as_bytes());
    }
    hash.finish_128()
}

/// The file's path for a key.
pub(super) fn path(dir: &Path, key: u128) -> PathBuf {
    dir.join(format!("{key:032x}.kix"))
}

/// Writes `matcher` to `path` (by way of a file beside it, renamed at the end). Its matcher
/// of spaced letters is built first, so that a run that reads the file never builds it.
pub(super) fn write(path: &Path, key: u128, matcher: &KeywordMatcher) -> io::Result<()> {
    let mut out = Out::default();
    out.0.extend_from_slice(MAGIC);
    out.u32(FORMAT);
    out.0.extend_from_slice(&key.to_le_bytes());
    write_matcher(matcher, &mut out);
    match matcher.squashed() {
        Some(squashed) => {
            out.u8(1);
            write_matcher(&squashed.matcher, &mut out);
            out.len(squashed.entries.len());
            for entries in &squashed.entries {
                out.u32s(entries);
            }
        }
        None => out.u8(0),
    }
    let checksum = xxhash3_128::Hasher::oneshot(&out.0);
    out.0.extend_from_slice(&checksum.to_le_bytes());
    kept::write_beside(path, |partial| std::fs::write(partial, &out.0))
}

/// The matcher that `key` names, with its `terms` (as added to the builder, with their
/// `categories`) and `forms`, when its file is there, whole, and fits them; the terms given
/// back otherwise.
pub(super) fn read(
    path: &Path,
    key: u128,
    terms: Vec<String>,
    categories: &[Vec<u32>],
    forms: &Forms,
) -> Result<KeywordMatcher, Vec<String>> {
    match read_file(path, key, terms.len(), categories, forms) {
        Some(mut matcher) => {
            matcher.terms = terms;
            Ok(matcher)
        }
        None => Err(terms),
    }
}

fn read_file(
    path: &Path,
    key: u128,
    terms: usize,
    categories: &[Vec<u32>],
    forms: &Forms,
) -> Option<KeywordMatcher> {
    let bytes = std::fs::read(path).ok()?;
    let (body, checksum) = bytes.split_last_chunk::<CHECKSUM_BYTES>()?;
    if xxhash3_128::Hasher::oneshot(body) != u128::from_le_bytes(*checksum) {
        return None;
    }
    let (header, body) = body.split_first_chunk::<HEADER_BYTES>()?;
    let (magic, rest) = header.split_first_chunk::<8>()?;
    let (format, stored_key) = rest.split_first_chunk::<4>()?;
    if magic != MAGIC
        || u32::from_le_bytes(*format) != FORMAT
        || u128::from_le_bytes(stored_key.try_into().ok()?) != key
    {
        return None;
    }
    let mut allowed: Vec<u32> = categories.iter().flatten().copied().collect();
    allowed.sort_unstable();
    allowed.dedup();
    let mut input = In(body);
    let mut matcher = read_matcher(&mut input, Some(terms), &allowed, forms)?;
    let squashed = match input.u8()? {
        0 => None,
        1 => {
            let mut nested = read_matcher(&mut input, None, &[], &Forms::default())?;
            // Its terms are its patterns, and each stands for terms of the matcher.
            nested.terms = nested.patterns.clone();
            let entries = (0..input.len(8)?)
                .map(|_| input.u32s())
                .collect::<Option<Vec<Vec<u32>>>>()?;
            let fits = nested.categories.len() == nested.terms.len()
                && entries.len() == nested.patterns.len()
                && entries.iter().flatten().all(|&e| (e as usize) < terms);
            Some(Box::new(fits.then_some(Squashed {
                matcher: nested,
                entries,
            })?))
        }
        _ => return None,
    };
    if !input.0.is_empty() {
        return None;
    }
    if forms.spaced_letters {
        matcher.squashed = OnceLock::from(squashed);
    }
    Some(matcher)
}

fn write_matcher(matcher: &KeywordMatcher, out: &mut Out) {
    out.strings(&matcher.patterns);
    out.u32s(&matcher.entry_of);
    out.bools(&matcher.whole_word);
    out.len(matcher.span_chars);
    out.len(matcher.allow_span_chars);
    out.strings(&matcher.allow_patterns);
    out.len(matcher.categories.len());
    for categories in &matcher.categories {
        out.u32s(categories);
    }
    matcher.prefilter.write(out);
}

/// A matcher that [`write_matcher`] wrote, without its terms, when it fits `terms` terms
/// (`None`: as many as its categories say) whose categories are among `allowed`.
fn read_matcher(
    input: &mut In,
    terms: Option<usize>,
    allowed: &[u32],
    forms: &Forms,
) -> Option<KeywordMatcher> {
    let patterns = input.strings()?;
    let entry_of = input.u32s()?;
    let whole_word = input.bools()?;
    let span_chars = usize::try_from(input.u64()?).ok()?;
    let allow_span_chars = usize::try_from(input.u64()?).ok()?;
    let allow_patterns = input.strings()?;
    let categories = (0..input.len(8)?)
        .map(|_| input.u32s())
        .collect::<Option<Vec<Vec<u32>>>>()?;
    let prefilter = Prefilter::read(input, &patterns)?;
    let terms = terms.unwrap_or(categories.len());
    let fits = entry_of.len() == patterns.len()
        && whole_word.len() == patterns.len()
        && categories.len() == terms
        && entry_of.iter().all(|&e| (e as usize) < terms)
        && categories
            .iter()
            .flatten()
            .all(|c| allowed.binary_search(c).is_ok());
    if !fits {
        return None;
    }
    // Allow phrases are few: their automaton is built again.
    let allow = match allow_patterns.is_empty() {
        true => None,
        false => Some(CharwiseDoubleArrayAhoCorasick::new(&allow_patterns).ok()?),
    };
    Some(KeywordMatcher {
        automaton: OnceLock::new(),
        rent: Rent::for_patterns(&patterns),
        allow,
        allow_patterns,
        terms: Vec::new(),
        categories,
        patterns,
        entry_of,
        whole_word,
        span_chars,
        allow_span_chars,
        prefilter,
        forms: *forms,
        squashed: OnceLock::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kept::IndexCache;
    use crate::NormalizeOptions;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    const WORDS: &[&str] = &[
        "pipe", "bomb", "make", "napalm", "gas", "the", "a", "dirty", "trick", "3d", "x",
    ];
    const HANZI: &[&str] = &[
        "炸", "弹", "自", "制", "中", "国", "人", "金", "属", "方", "法",
    ];

    /// Terms of one to three words or two to four ideographs, under categories 3 and 4, with
    /// `allow` phrases, built with every form on (pinyin too, for its patterns).
    fn builder(seed: u64, allow: &[&str]) -> KeywordBuilder {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut b = KeywordBuilder::new();
        b.forms(&NormalizeOptions {
            pinyin: true,
            ..NormalizeOptions::default()
        });
        b.add("pipe bomb 1", 4);
        while b.terms.len() < KEPT_TERMS + 200 {
            let term = if rng.gen_bool(0.5) {
                let words: Vec<&str> = (0..rng.gen_range(1..4))
                    .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
                    .collect();
                format!("{} {}", words.join(" "), rng.gen_range(0..60))
            } else {
                (0..rng.gen_range(2..5))
                    .map(|_| HANZI[rng.gen_range(0..HANZI.len())])
                    .collect()
            };
            b.add(&term, 3 + rng.gen_range(0..2));
        }
        for phrase in allow {
            b.allow(phrase);
        }
        b
    }

    /// Text of words, numbers, ideographs, separators and spaced letters.
    fn texts() -> Vec<String> {
        let mut rng = StdRng::seed_from_u64(7);
        let pieces: Vec<String> = WORDS
            .iter()
            .chain(HANZI)
            .map(|p| p.to_string())
            .chain((0..60).map(|n| n.to_string()))
            .chain(
                [
                    " ",
                    "  ",
                    "，",
                    "。",
                    "-",
                    "Ｂｏｍｂ",
                    "n a p a l m",
                    "p i p e b o m b 1",
                ]
                .map(String::from),
            )
            .collect();
        (0..400)
            .map(|_| {
                (0..rng.gen_range(0..40))
                    .map(|_| pieces[rng.gen_range(0..pieces.len())].as_str())
                    .collect::<Vec<_>>()
                    .join(if rng.gen_bool(0.5) { " " } else { "" })
            })
            .collect()
    }

    fn assert_finds_as_built(kept: &KeywordMatcher, built: &KeywordMatcher) {
        assert_eq!(kept.len(), built.len());
        assert_eq!(kept.longest_chars(), built.longest_chars());
        assert_eq!(kept.longest_allow_chars(), built.longest_allow_chars());
        for i in 0..built.len() {
            assert_eq!(kept.term(i), built.term(i));
            assert_eq!(kept.categories(i), built.categories(i));
        }
        let mut found = 0;
        for text in texts() {
            let hits = built.find(&text);
            assert_eq!(kept.find(&text), hits, "{text:?}");
            assert_eq!(
                kept.find_in_plain_text(&text),
                built.find_in_plain_text(&text),
                "{text:?}"
            );
            found += hits.len();
        }
        assert!(found > 150, "{found}");
        // Spaced letters, which the matcher of them finds.
        let spaced = "how to make a p i p e b o m b 1 now";
        assert_eq!(kept.find(spaced), built.find(spaced));
        assert!(!kept.find(spaced).is_empty());
    }

    #[test]
    fn a_matcher_read_back_finds_what_the_built_one_finds() {
        let dir = tempfile::tempdir().unwrap();
        for allow in [&[][..], &["napalm gas", "p i p e"]] {
            let built = builder(1, allow).build().unwrap();
            let (first, kept) = builder(1, allow).build_kept(dir.path()).unwrap();
            let Some(IndexCache::Written(file)) = kept else {
                panic!("{kept:?}");
            };
            assert_finds_as_built(&first, &built);
            let (read, kept) = builder(1, allow).build_kept(dir.path()).unwrap();
            assert!(
                matches!(&kept, Some(IndexCache::Read(f)) if *f == file),
                "{kept:?}"
            );
            // With its matcher of spaced letters, which the first run built to write it.
            assert!(matches!(read.squashed.get(), Some(Some(_))));
            // Marked as used, so that the directory keeps it while newer ones come.
            let a_day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
            let file_handle = std::fs::File::options().append(true).open(&file).unwrap();
            file_handle.set_modified(a_day_ago).unwrap();
            builder(1, allow).build_kept(dir.path()).unwrap();
            let modified = std::fs::metadata(&file).unwrap().modified().unwrap();
            assert!(modified > a_day_ago + std::time::Duration::from_secs(3600));
            assert_finds_as_built(&read, &built);
        }
    }

    #[test]
    fn lists_changed_in_any_way_are_built_again() {
        let dir = tempfile::tempdir().unwrap();
        let kept = |b: KeywordBuilder| b.build_kept(dir.path()).unwrap().1;
        let first = kept(builder(2, &[]));
        assert!(matches!(first, Some(IndexCache::Written(_))), "{first:?}");
        let again = kept(builder(2, &[]));
        assert!(matches!(again, Some(IndexCache::Read(_))), "{again:?}");
        type Change = (&'static str, fn(&mut KeywordBuilder));
        let changes: [Change; 5] = [
            ("a term", |b| b.add("one more", 3)),
            ("a category", |b| b.categories[0] = vec![9]),
            ("an allow phrase", |b| b.allow("napalm")),
            ("a form", |b| {
                b.forms(&NormalizeOptions::default());
            }),
            ("the order", |b| {
                b.terms.swap(0, 1);
                b.categories.swap(0, 1);
            }),
        ];
        for (what, change) in changes {
            let mut b = builder(2, &[]);
            change(&mut b);
            // The unchanged list's file there (the directory keeps four).
            kept(builder(2, &[]));
            let index = kept(b);
            assert!(
                matches!(index, Some(IndexCache::Written(_))),
                "{what}: {index:?}"
            );
        }
        // Each form on its own.
        for flag in 0..6 {
            let mut b = builder(2, &[]);
            let f = &mut b.forms;
            let flags = [
                &mut f.joiners,
                &mut f.plurals,
                &mut f.spaced_letters,
                &mut f.split_cjk,
                &mut f.leetspeak,
                &mut f.pinyin,
            ];
            *flags[flag] = !*flags[flag];
            // The unchanged list's file there (the directory keeps four).
            kept(builder(2, &[]));
            let index = kept(b);
            assert!(
                matches!(index, Some(IndexCache::Written(_))),
                "form {flag}: {index:?}"
            );
        }
    }

    #[test]
    fn a_damaged_file_is_not_read_and_is_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let built = builder(3, &[]).build().unwrap();
        let (_, kept) = builder(3, &[]).build_kept(dir.path()).unwrap();
        let Some(IndexCache::Written(file)) = kept else {
            panic!("{kept:?}");
        };
        let whole = std::fs::read(&file).unwrap();
        // A bit of the first pattern (past the counts of patterns and of its bytes): the
        // file still reads, with another pattern, but for its checksum.
        let mut flipped = whole.clone();
        flipped[HEADER_BYTES + 16 + 1] ^= 4;
        for damaged in [
            &whole[..whole.len() - 1],
            &whole[..HEADER_BYTES],
            &[],
            &flipped,
        ] {
            std::fs::write(&file, damaged).unwrap();
            let (matcher, kept) = builder(3, &[]).build_kept(dir.path()).unwrap();
            assert!(
                matches!(&kept, Some(IndexCache::Written(f)) if *f == file),
                "{kept:?}"
            );
            assert_eq!(std::fs::read(&file).unwrap(), whole);
            assert_finds_as_built(&matcher, &built);
        }
    }

    #[test]
    fn a_whole_file_that_does_not_fit_its_terms_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let b = builder(4, &[]);
        let key = key(&b);
        let path = path(dir.path(), key);
        let (terms, categories, forms) = (b.terms.clone(), b.categories.clone(), b.forms);
        let built = b.build().unwrap();
        let read = |matcher: &KeywordMatcher| {
            write(&path, key, matcher).unwrap();
            read(&path, key, terms.clone(), &categories, &forms).is_ok()
        };
        assert!(read(&built), "as written");
        // Bytes after what was written, and a checksum of them all.
        write(&path, key, &built).unwrap();
        let mut longer = std::fs::read(&path).unwrap();
        longer.truncate(longer.len() - CHECKSUM_BYTES);
        longer.push(0);
        let checksum = xxhash3_128::Hasher::oneshot(&longer);
        longer.extend_from_slice(&checksum.to_le_bytes());
        std::fs::write(&path, longer).unwrap();
        assert!(super::read(&path, key, terms.clone(), &categories, &forms).is_err());
        type Change = (&'static str, fn(&mut KeywordMatcher));
        let changes: [Change; 4] = [
            ("a pattern's term past the terms", |m| {
                m.entry_of[0] = 1 << 30
            }),
            ("a category no term has", |m| m.categories[0] = vec![99]),
            ("a pattern without its flag", |m| {
                m.whole_word.pop();
            }),
            ("a spaced pattern's term past the terms", |m| {
                if let Some(Some(squashed)) = m.squashed.get_mut() {
                    squashed.entries[0] = vec![1 << 30];
                }
            }),
        ];
        for (what, change) in changes {
            let mut matcher = built.clone();
            matcher.squashed();
            change(&mut matcher);
            assert!(!read(&matcher), "{what}");
        }
    }

    #[test]
    fn short_lists_and_directories_that_cannot_be_written_leave_the_matcher_built() {
        let dir = tempfile::tempdir().unwrap();
        let mut short = KeywordBuilder::new();
        short.add("napalm", 0);
        let (matcher, kept) = short.build_kept(dir.path()).unwrap();
        assert!(kept.is_none());
        assert_eq!(matcher.find("napalm").len(), 1);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let not_a_dir = dir.path().join("file");
        std::fs::write(&not_a_dir, "").unwrap();
        let built = builder(5, &[]).build().unwrap();
        let (matcher, kept) = builder(5, &[]).build_kept(&not_a_dir).unwrap();
        assert!(matches!(kept, Some(IndexCache::NotWritten(..))), "{kept:?}");
        assert_finds_as_built(&matcher, &built);
    }
}
