//! Seeded samples for acceptance: per batch (a file, or every `batch_docs` documents of it),
//! the `n` documents with the smallest keys, where a document's key is a hash of the seed, the
//! file and the line. That is a uniform sample without replacement (bottom-k, the reservoir
//! sample of a random order), and the same whatever the thread count or shard.

use std::collections::BinaryHeap;

use assay_policy::Hit;
use serde::{Deserialize, Serialize};

use crate::doc::Fields;

/// Characters of a document's text kept in its sample row.
const EXCERPT_CHARS: usize = 2000;

/// One sampled document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleDoc {
    pub line: u64,
    pub source: String,
    pub url: Option<String>,
    pub text: String,
    /// Passed the automatic screen (no hit).
    pub auto_pass: bool,
    /// `category: rule` of each hit.
    pub reasons: Vec<String>,
    pub key: u64,
}

impl PartialOrd for SampleDoc {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SampleDoc {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.key, self.line).cmp(&(other.key, other.line))
    }
}

/// A batch and its sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSample {
    /// `file` or `file#k` (k-th batch of `batch_docs` documents, from 0).
    pub id: String,
    pub docs: u64,
    pub violating: u64,
    /// Sorted by line.
    pub sample: Vec<SampleDoc>,
}

pub struct Sampler {
    /// The hash of the seed and the file name, which each line's key goes on from ([`key`]).
    file_hash: u64,
    file: String,
    n: usize,
    batch_docs: Option<u64>,
    index: u64,
    docs: u64,
    violating: u64,
    heap: BinaryHeap<SampleDoc>,
    done: Vec<BatchSample>,
}

impl Sampler {
    pub fn new(seed: u64, file: &str, n: usize, batch_docs: Option<u64>) -> Sampler {
        Sampler {
            file_hash: file_hash(seed, file),
            file: file.to_string(),
            n,
            batch_docs: batch_docs.filter(|&b| b > 0),
            index: 0,
            docs: 0,
            violating: 0,
            heap: BinaryHeap::new(),
            done: Vec::new(),
        }
    }

    pub fn offer(&mut self, line: u64, source: &str, fields: &Fields<'_>, hits: &[(String, Hit)]) {
        self.docs += 1;
        if !hits.is_empty() {
            self.violating += 1;
        }
        if self.n > 0 {
            let key = key(self.file_hash, line);
            let full = self.heap.len() >= self.n;
            if !full || self.heap.peek().is_some_and(|top| key < top.key) {
                let whole = fields.text.as_deref().unwrap_or("");
                let text = assay_core::text::char_prefix(whole, EXCERPT_CHARS).to_string();
                self.heap.push(SampleDoc {
                    line,
                    source: source.to_string(),
                    url: fields.url.as_deref().map(str::to_string),
                    text,
                    auto_pass: hits.is_empty(),
                    reasons: hits
                        .iter()
                        .map(|(c, h)| format!("{c}: {}", h.rule))
                        .collect(),
                    key,
                });
                if full {
                    self.heap.pop();
                }
            }
        }
        if self.batch_docs.is_some_and(|b| self.docs >= b) {
            self.close();
        }
    }

    fn close(&mut self) {
        if self.docs == 0 {
            return;
        }
        let id = match self.batch_docs {
            Some(_) => format!("{}#{}", self.file, self.index),
            None => self.file.clone(),
        };
        let mut sample = std::mem::take(&mut self.heap).into_vec();
        sample.sort_by_key(|d| d.line);
        self.done.push(BatchSample {
            id,
            docs: self.docs,
            violating: self.violating,
            sample,
        });
        self.index += 1;
        self.docs = 0;
        self.violating = 0;
    }

    pub fn finish(mut self) -> Vec<BatchSample> {
        self.close();
        self.done
    }
}

/// FNV-1a over the seed and the file name: the first part of every key of the file's lines
/// ([`key`]), hashed once a file rather than once a document.
fn file_hash(seed: u64, file: &str) -> u64 {
    fnv1a(
        0xcbf2_9ce4_8422_2325,
        seed.to_le_bytes().iter().chain(file.as_bytes()),
    )
}

/// FNV-1a over the seed, the file name and the line (going on from [`file_hash`]), finished
/// with SplitMix64's mixer: stable across platforms and versions (std's hasher is neither).
fn key(file_hash: u64, line: u64) -> u64 {
    let mut h = fnv1a(file_hash, &line.to_le_bytes());
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

fn fnv1a<'b>(mut h: u64, bytes: impl IntoIterator<Item = &'b u8>) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_those_of_earlier_versions() {
        // A sample drawn again (`screen accept`, a shard's merge) must be the same documents:
        // the values of the FNV-1a and SplitMix64 key as first written, byte by byte.
        assert_eq!(
            key(file_hash(20261203, "part-000.jsonl"), 1),
            0x2879_1904_eefa_e5d6
        );
        assert_eq!(
            key(file_hash(7, "数据/a.jsonl"), 123_456_789),
            0xbfef_201e_67a1_ed6c
        );
    }

    #[test]
    fn samples_are_seeded_uniform_and_per_batch() {
        let fields = Fields::default();
        let run = |seed| {
            let mut s = Sampler::new(seed, "a.jsonl", 10, Some(100));
            for line in 1..=250 {
                s.offer(line, "src", &fields, &[]);
            }
            s.finish()
        };
        let batches = run(1);
        assert_eq!(
            batches.iter().map(|b| b.docs).collect::<Vec<_>>(),
            [100, 100, 50]
        );
        assert_eq!(batches[2].id, "a.jsonl#2");
        assert!(batches.iter().all(|b| b.sample.len() == 10));
        assert!(batches[1]
            .sample
            .iter()
            .all(|d| (101..=200).contains(&d.line)));
        assert_eq!(run(1), batches);
        assert_ne!(run(2), batches);
        // Uniform: over many seeds every line is drawn about n/N of the time.
        let mut counts = vec![0u32; 101];
        for seed in 0..2000 {
            let mut s = Sampler::new(seed, "f", 10, None);
            for line in 1..=100 {
                s.offer(line, "src", &fields, &[]);
            }
            for d in &s.finish()[0].sample {
                counts[d.line as usize] += 1;
            }
        }
        // Expected 200 per line; a binomial sd is ~13.4.
        assert!(
            counts[1..].iter().all(|&c| (140..=260).contains(&c)),
            "{counts:?}"
        );
    }
}
