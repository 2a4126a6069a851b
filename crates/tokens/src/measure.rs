//! Counting: each segment of each language through a tokenizer, then the figures of the
//! report — per language, and of each language against the first, with bootstrap intervals
//! over segments.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::texts::Texts;
use crate::{Tokenize, TokensError};

/// Resamples of the segments behind each premium's interval.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;

/// The counts of one tokenizer over a [`Texts`].
#[derive(Debug, Clone, Serialize)]
pub struct Counts {
    pub tokenizer: String,
    pub method: String,
    /// Tokens of each segment, per language in the order of the texts.
    pub per_lang: Vec<Vec<u64>>,
    /// How many Han characters are one token on their own (`None` when not measured).
    pub han_single: Option<HanSingle>,
    /// Example segments split into tokens, for the report's strip.
    pub examples: Vec<Example>,
    /// Anything the reader should know about how the counts were made (a remote method's
    /// error, a licence).
    pub notes: Vec<String>,
}

/// Distinct Han characters of the texts that are one token when tokenized alone, and the
/// same weighted by how often each occurs.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct HanSingle {
    pub distinct: u64,
    pub distinct_single: u64,
    pub occurrences: u64,
    pub occurrences_single: u64,
}

/// One segment split into tokens: chunks of text, each with the number of tokens it holds
/// (more than one where tokens split a character; the chunk is then the whole character).
#[derive(Debug, Clone, Serialize)]
pub struct Example {
    pub lang: String,
    pub segment: usize,
    pub chunks: Vec<(String, u32)>,
}

/// Counts every segment of `texts` with `tokenizer` (segments in parallel), the Han
/// characters alone when `han` is set, and splits the segments `examples` for the report.
pub fn measure(
    tokenizer: &dyn Tokenize,
    texts: &Texts,
    han: bool,
    examples: &[usize],
) -> Result<Counts, TokensError> {
    let mut per_lang = Vec::with_capacity(texts.langs.len());
    for lang in &texts.langs {
        let counts: Result<Vec<u64>, TokensError> = lang
            .segments
            .par_iter()
            .map(|s| tokenizer.count(s).map(|n| n as u64))
            .collect();
        per_lang.push(counts?);
    }
    let han_single = if han {
        Some(han_single(tokenizer, texts)?)
    } else {
        None
    };
    let mut split = Vec::new();
    for lang in &texts.langs {
        for &i in examples {
            if let Some(text) = lang.segments.get(i) {
                split.push(Example {
                    lang: lang.code.clone(),
                    segment: i,
                    chunks: chunks(text, &tokenizer.pieces(text)?),
                });
            }
        }
    }
    Ok(Counts {
        tokenizer: tokenizer.name().to_string(),
        method: tokenizer.method(),
        per_lang,
        han_single,
        examples: split,
        notes: tokenizer.notes(),
    })
}

/// Whether `c` is a Han character (CJK unified ideographs and their extensions, and the
/// compatibility ideographs).
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F | 0x30000..=0x323AF)
}

fn han_single(tokenizer: &dyn Tokenize, texts: &Texts) -> Result<HanSingle, TokensError> {
    let mut frequency: BTreeMap<char, u64> = BTreeMap::new();
    for lang in &texts.langs {
        for s in &lang.segments {
            for c in s.chars().filter(|&c| is_han(c)) {
                *frequency.entry(c).or_default() += 1;
            }
        }
    }
    let chars: Vec<(char, u64)> = frequency.into_iter().collect();
    let single: Result<Vec<bool>, TokensError> = chars
        .par_iter()
        .map(|(c, _)| {
            let mut buf = [0u8; 4];
            Ok(tokenizer.count(c.encode_utf8(&mut buf))? == 1)
        })
        .collect();
    let mut out = HanSingle::default();
    for ((_, n), single) in chars.iter().zip(single?) {
        out.distinct += 1;
        out.occurrences += n;
        if single {
            out.distinct_single += 1;
            out.occurrences_single += n;
        }
    }
    Ok(out)
}

/// Token ranges turned into chunks of whole characters: tokens that share or split a
/// character are one chunk; text no token covers (some vocabularies leave spaces out of
/// their offsets) is a chunk of no token.
fn chunks(text: &str, pieces: &[std::ops::Range<usize>]) -> Vec<(String, u32)> {
    let mut out: Vec<(String, u32)> = Vec::new();
    let mut at = 0usize;
    let mut current: Option<(usize, usize, u32)> = None;
    let boundary = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i += 1;
        }
        i
    };
    for r in pieces {
        let (start, end) = (r.start.min(text.len()), boundary(r.end));
        match current.as_mut() {
            // A token that starts inside the chunk (a split character, shared offsets).
            Some((_, cend, n)) if start < *cend => {
                *cend = (*cend).max(end);
                *n += 1;
            }
            _ => {
                if let Some((s, e, n)) = current.take() {
                    out.push((text[s..e].to_string(), n));
                    at = e;
                }
                let start = boundary(start).max(at);
                if start > at {
                    out.push((text[at..start].to_string(), 0));
                }
                current = Some((start, end.max(start), 1));
            }
        }
    }
    if let Some((s, e, n)) = current {
        out.push((text[s..e].to_string(), n));
        at = e;
    }
    if at < text.len() {
        out.push((text[at..].to_string(), 0));
    }
    out
}

/// USD per 1M tokens, in and out, for a tokenizer or model (a `--prices` TOML file:
/// `["tiktoken:o200k_base"]` then `input = 2.5` and `output = 10.0`).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    pub output: f64,
}

pub type Prices = BTreeMap<String, Price>;

/// Everything the report shows.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub schema: u32,
    pub source: String,
    pub segments: usize,
    pub langs: Vec<String>,
    /// The seed of the bootstrap.
    pub seed: u64,
    pub resamples: usize,
    /// How the premiums' intervals were made: `bootstrap`, or `delta` past
    /// [`BOOTSTRAP_MAX_SEGMENTS`].
    pub interval: String,
    pub tokenizers: Vec<TokenizerSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TokenizerSummary {
    pub name: String,
    pub method: String,
    pub langs: BTreeMap<String, LangStats>,
    /// Each language after the first: its tokens ÷ the first's, with a 95% bootstrap interval.
    pub premium: BTreeMap<String, Premium>,
    /// Distinct Han characters that are one token, and the share weighted by occurrences.
    pub han_single_share: Option<f64>,
    pub han_single_share_weighted: Option<f64>,
    pub han_single: Option<HanSingle>,
    pub examples: Vec<Example>,
    pub notes: Vec<String>,
    /// The tokens of each segment, per language (for checks against another count).
    pub segments: BTreeMap<String, Vec<u64>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LangStats {
    pub tokens: u64,
    pub chars: u64,
    pub bytes: u64,
    /// Whitespace-separated words.
    pub words: u64,
    pub han: u64,
    pub tokens_per_char: f64,
    /// `None` without Han characters.
    pub tokens_per_han: Option<f64>,
    /// Tokens per word (fertility), for text written with spaces between words; `None` for
    /// text mostly of Han characters.
    pub tokens_per_word: Option<f64>,
    pub chars_per_token: f64,
    pub bytes_per_token: f64,
    /// With `--prices` for this tokenizer: USD per 1,000 segments and per 1M characters, as
    /// input and as output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cost {
    pub input_per_1k_segments: f64,
    pub output_per_1k_segments: f64,
    pub input_per_1m_chars: f64,
    pub output_per_1m_chars: f64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Premium {
    pub value: f64,
    pub ci: [f64; 2],
}

/// The report's figures for `counts` over `texts`, tokenizers sorted by the premium of the
/// second language (smallest first), with intervals from `seed`.
pub fn summarize(texts: &Texts, counts: &[Counts], prices: &Prices, seed: u64) -> Summary {
    let text_stats: Vec<TextStats> = texts
        .langs
        .iter()
        .map(|l| text_stats(&l.segments))
        .collect();
    let mut tokenizers: Vec<TokenizerSummary> = counts
        .iter()
        .map(|c| {
            let price = prices.get(&c.tokenizer).copied();
            let mut langs = BTreeMap::new();
            for ((lang, stats), tokens) in texts.langs.iter().zip(&text_stats).zip(&c.per_lang) {
                let total: u64 = tokens.iter().sum();
                langs.insert(
                    lang.code.clone(),
                    lang_stats(total, stats, tokens.len(), price),
                );
            }
            let mut premium = BTreeMap::new();
            if let Some(first) = c.per_lang.first() {
                for (lang, tokens) in texts.langs.iter().zip(&c.per_lang).skip(1) {
                    premium.insert(lang.code.clone(), ratio_with_interval(tokens, first, seed));
                }
            }
            let share = |k: u64, n: u64| (n > 0).then(|| k as f64 / n as f64);
            TokenizerSummary {
                name: c.tokenizer.clone(),
                method: c.method.clone(),
                langs,
                premium,
                han_single_share: c
                    .han_single
                    .and_then(|h| share(h.distinct_single, h.distinct)),
                han_single_share_weighted: c
                    .han_single
                    .and_then(|h| share(h.occurrences_single, h.occurrences)),
                han_single: c.han_single,
                examples: c.examples.clone(),
                notes: c.notes.clone(),
                segments: texts
                    .langs
                    .iter()
                    .zip(&c.per_lang)
                    .map(|(l, n)| (l.code.clone(), n.clone()))
                    .collect(),
            }
        })
        .collect();
    if let Some(second) = texts.langs.get(1) {
        tokenizers.sort_by(|a, b| {
            let p =
                |t: &TokenizerSummary| t.premium.get(&second.code).map_or(f64::MAX, |p| p.value);
            p(a).total_cmp(&p(b))
        });
    }
    Summary {
        schema: 1,
        source: texts.source.clone(),
        segments: texts.segments(),
        langs: texts.langs.iter().map(|l| l.code.clone()).collect(),
        seed,
        resamples: BOOTSTRAP_RESAMPLES,
        interval: if texts.segments() > BOOTSTRAP_MAX_SEGMENTS {
            "delta".into()
        } else {
            "bootstrap".into()
        },
        tokenizers,
    }
}

struct TextStats {
    chars: u64,
    bytes: u64,
    words: u64,
    han: u64,
}

fn text_stats(segments: &[String]) -> TextStats {
    let mut s = TextStats {
        chars: 0,
        bytes: 0,
        words: 0,
        han: 0,
    };
    for seg in segments {
        s.bytes += seg.len() as u64;
        s.words += seg.split_whitespace().count() as u64;
        for c in seg.chars() {
            s.chars += 1;
            s.han += u64::from(is_han(c));
        }
    }
    s
}

fn lang_stats(tokens: u64, s: &TextStats, segments: usize, price: Option<Price>) -> LangStats {
    let per = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    // Text that is mostly Han characters has no words to speak of.
    let spaced = s.han * 3 < s.chars;
    LangStats {
        tokens,
        chars: s.chars,
        bytes: s.bytes,
        words: s.words,
        han: s.han,
        tokens_per_char: per(tokens, s.chars),
        tokens_per_han: (s.han > 0).then(|| per(tokens, s.han)),
        tokens_per_word: (spaced && s.words > 0).then(|| per(tokens, s.words)),
        chars_per_token: per(s.chars, tokens),
        bytes_per_token: per(s.bytes, tokens),
        cost: price.map(|p| {
            let per_segment = per(tokens, segments as u64);
            let per_char = per(tokens, s.chars);
            Cost {
                input_per_1k_segments: per_segment * 1000.0 * p.input / 1e6,
                output_per_1k_segments: per_segment * 1000.0 * p.output / 1e6,
                input_per_1m_chars: per_char * p.input,
                output_per_1m_chars: per_char * p.output,
            }
        }),
    }
}

/// Σ`top` ÷ Σ`bottom` over paired segments, with the 2.5th and 97.5th percentiles of the
/// ratio over [`BOOTSTRAP_RESAMPLES`] resamples of the segments (seeded).
pub fn ratio_with_interval(top: &[u64], bottom: &[u64], seed: u64) -> Premium {
    let n = top.len().min(bottom.len());
    let ratio = |a: u64, b: u64| {
        if b == 0 {
            f64::NAN
        } else {
            a as f64 / b as f64
        }
    };
    let value = ratio(top[..n].iter().sum(), bottom[..n].iter().sum());
    if n == 0 {
        return Premium {
            value,
            ci: [f64::NAN, f64::NAN],
        };
    }
    if n > BOOTSTRAP_MAX_SEGMENTS {
        return delta_interval(&top[..n], &bottom[..n], value);
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut ratios: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            let (mut a, mut b) = (0u64, 0u64);
            for _ in 0..n {
                let i = rng.gen_range(0..n);
                a += top[i];
                b += bottom[i];
            }
            ratio(a, b)
        })
        .filter(|r| r.is_finite())
        .collect();
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if ratios.is_empty() {
            f64::NAN
        } else {
            ratios[((q * (ratios.len() - 1) as f64).round() as usize).min(ratios.len() - 1)]
        }
    };
    Premium {
        value,
        ci: [at(0.025), at(0.975)],
    }
}

/// Above this many segments the interval is the delta method's (the normal approximation of a
/// ratio of sums), which is then as good as the bootstrap's and costs one pass, not 2,000.
pub const BOOTSTRAP_MAX_SEGMENTS: usize = 50_000;

fn delta_interval(top: &[u64], bottom: &[u64], value: f64) -> Premium {
    let n = top.len() as f64;
    let mean_bottom = bottom.iter().sum::<u64>() as f64 / n;
    // The variance of a_i − R·b_i, whose mean is 0 at R = value.
    let variance = top
        .iter()
        .zip(bottom)
        .map(|(&a, &b)| (a as f64 - value * b as f64).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    let se = (variance / n).sqrt() / mean_bottom;
    Premium {
        value,
        ci: [value - 1.96 * se, value + 1.96 * se],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::texts::Lang;

    /// One token per character: what a test can count by hand.
    struct PerChar;
    impl Tokenize for PerChar {
        fn name(&self) -> &str {
            "per-char"
        }
        fn method(&self) -> String {
            "one token per character".into()
        }
        fn count(&self, text: &str) -> Result<usize, TokensError> {
            Ok(text.chars().count())
        }
        fn pieces(&self, text: &str) -> Result<Vec<std::ops::Range<usize>>, TokensError> {
            Ok(text
                .char_indices()
                .map(|(i, c)| i..i + c.len_utf8())
                .collect())
        }
    }

    fn texts() -> Texts {
        Texts {
            source: "test".into(),
            langs: vec![
                Lang {
                    code: "en".into(),
                    segments: vec!["ab cd".into(), "efgh".into()],
                },
                Lang {
                    code: "zh".into(),
                    segments: vec!["你好".into(), "世界你好".into()],
                },
            ],
        }
    }

    #[test]
    fn per_language_figures_and_the_premium_are_counted_by_hand() {
        let t = texts();
        let c = measure(&PerChar, &t, true, &[0]).unwrap();
        assert_eq!(c.per_lang, vec![vec![5, 4], vec![2, 4]]);
        let h = c.han_single.unwrap();
        assert_eq!((h.distinct, h.distinct_single, h.occurrences), (4, 4, 6));
        let mut prices = Prices::new();
        prices.insert(
            "per-char".into(),
            Price {
                input: 1.0,
                output: 2.0,
            },
        );
        let s = summarize(&t, &[c], &prices, 7);
        let ts = &s.tokenizers[0];
        let en = &ts.langs["en"];
        assert_eq!(
            (en.tokens, en.chars, en.bytes, en.words, en.han),
            (9, 9, 9, 3, 0)
        );
        assert_eq!(en.tokens_per_word, Some(3.0));
        let zh = &ts.langs["zh"];
        assert_eq!((zh.tokens, zh.chars, zh.bytes, zh.han), (6, 6, 18, 6));
        assert_eq!(zh.tokens_per_han, Some(1.0));
        assert_eq!(zh.tokens_per_word, None);
        let p = ts.premium["zh"];
        assert!((p.value - 6.0 / 9.0).abs() < 1e-12);
        assert!(p.ci[0] <= p.value && p.value <= p.ci[1]);
        let cost = zh.cost.unwrap();
        assert!((cost.input_per_1k_segments - 3.0 * 1000.0 / 1e6).abs() < 1e-12);
        assert!((cost.output_per_1m_chars - 2.0).abs() < 1e-12);
        assert_eq!(ts.han_single_share, Some(1.0));
    }

    #[test]
    fn the_interval_is_seeded_and_narrows_with_more_segments() {
        let top: Vec<u64> = (0..400).map(|i| 10 + i % 7).collect();
        let bottom: Vec<u64> = (0..400).map(|i| 5 + i % 3).collect();
        let a = ratio_with_interval(&top, &bottom, 1);
        assert_eq!(a.ci, ratio_with_interval(&top, &bottom, 1).ci);
        let few = ratio_with_interval(&top[..20], &bottom[..20], 1);
        assert!(a.ci[1] - a.ci[0] < few.ci[1] - few.ci[0]);
        assert!(a.ci[0] < a.value && a.value < a.ci[1]);
    }

    #[test]
    fn past_the_bootstrap_the_delta_interval_agrees_with_it() {
        let top: Vec<u64> = (0..60_000u64).map(|i| 20 + (i * 7919) % 13).collect();
        let bottom: Vec<u64> = (0..60_000u64).map(|i| 10 + (i * 104_729) % 5).collect();
        let delta = ratio_with_interval(&top, &bottom, 3);
        let n = BOOTSTRAP_MAX_SEGMENTS;
        let boot = ratio_with_interval(&top[..n], &bottom[..n], 3);
        let width = |p: Premium| p.ci[1] - p.ci[0];
        assert!(delta.ci[0] < delta.value && delta.value < delta.ci[1]);
        // Widths shrink as 1/√n: 60,000 against 50,000 segments.
        let expected = width(boot) * (50_000f64 / 60_000f64).sqrt();
        assert!(
            (width(delta) / expected - 1.0).abs() < 0.1,
            "{delta:?} {boot:?}"
        );
    }

    #[test]
    fn chunks_keep_split_characters_whole_and_show_uncovered_text() {
        let text = "a你b";
        // A byte-level split of 你 into two tokens.
        let pieces = vec![0..1, 1..3, 3..4, 4..5];
        assert_eq!(
            chunks(text, &pieces),
            vec![("a".into(), 1), ("你".into(), 2), ("b".into(), 1)]
        );
        // Offsets that leave the space out.
        assert_eq!(
            chunks("ab cd", &[0..2, 3..5]),
            vec![("ab".into(), 1), (" ".into(), 0), ("cd".into(), 1)]
        );
        // Several tokens with the same offsets (byte fallback).
        assert_eq!(chunks("你", &[0..3, 0..3, 0..3]), vec![("你".into(), 3)]);
    }
}
