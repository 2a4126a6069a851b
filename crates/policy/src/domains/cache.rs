//! A domain list's table and index, kept in a file between runs.
//!
//! Reading a million-host list's lines and indexing them took about 60 ms of every screen's
//! start (three quarters of it), for the same lists each time. The file written the first
//! time holds what that work made; a later run with the same lists reads it back instead
//! (the lists' text is still read, to be hashed: a list changed in any byte, or listed in
//! another order or category, is another file's).
//!
//! The file is named by a 128-bit hash of everything the table is made from: the lists'
//! text and categories, the table before them, this format and the code that reads lists
//! (see [`key`]). It ends with a hash of its own bytes, and what it holds is checked to fit
//! together before it is used: a file cut short, changed or written by another build is
//! not read, and is written again.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use twox_hash::xxhash3_128::Hasher as Xxh3;

use super::{normalize_host, HostIndex, HostTable};
use crate::kept;

/// The layout's version, in the header: a file of another is not read.
const FORMAT: u32 = 1;
const MAGIC: &[u8; 8] = b"assayDIX";
/// Bytes a read or write moves at a time (a multiple of every section's item size).
const CHUNK: usize = 1 << 20;

/// The sources of what reads a list into a table, and of this file's layout: a change to any
/// of them may change a table, and makes files written before it unused.
const CODE: u64 = kept::code_hash(&[
    include_str!("cache.rs"),
    include_str!("../domains.rs"),
    include_str!("../pack.rs"),
    include_str!("../vector.rs"),
    include_str!("../swar.rs"),
]);

/// Hosts whose normal forms the URL parser decides (names with non-ASCII letters, numbers
/// read as IPv4): a new version of it that gave other forms would give other tables.
const PROBES: [&str; 6] = [
    "Bücher.DE",
    "例子.测试",
    "WWW.Example.com.",
    "0x7f.1",
    "1.2.3.4.example",
    "a_b.xn--bcher-kva.de",
];

/// The name of the file for `table` (as it is) with `texts` added, one list after another.
pub(super) fn key(table: &HostTable, texts: &[(String, u32)]) -> u128 {
    let mut hash = Xxh3::new();
    hash.write(MAGIC);
    hash.write(&FORMAT.to_le_bytes());
    hash.write(env!("CARGO_PKG_VERSION").as_bytes());
    hash.write(&CODE.to_le_bytes());
    for probe in PROBES {
        hash.write(normalize_host(probe).unwrap_or_default().as_bytes());
        hash.write(b"\n");
    }
    hash.write(&(table.text.len() as u64).to_le_bytes());
    hash.write(table.text.as_bytes());
    hash.write(&(table.spans.len() as u64).to_le_bytes());
    for &(start, end) in table.spans.iter().chain(&table.categories) {
        hash.write(&start.to_le_bytes());
        hash.write(&end.to_le_bytes());
    }
    for (text, category) in texts {
        hash.write(&category.to_le_bytes());
        hash.write(&(text.len() as u64).to_le_bytes());
        hash.write(text.as_bytes());
    }
    hash.finish_128()
}

/// The file's path for a key.
pub(super) fn path(dir: &Path, key: u128) -> PathBuf {
    dir.join(format!("{key:032x}.idx"))
}

/// What a file adds to a table's text, and everything else of the table, as read back.
pub(super) struct Parts {
    /// Hosts that normalizing changed: each list's text is followed by its own.
    pub tails: Vec<String>,
    pub spans: Vec<(u32, u32)>,
    pub categories: Vec<(u32, u32)>,
    pub index: HostIndex,
    pub seed: u64,
}

/// The header: the key, the seed, the length of the table's text but the tails, and each
/// section's length in items.
struct Header {
    key: u128,
    seed: u64,
    text_len: u64,
    lists: u64,
    tail_len: u64,
    spans: u64,
    categories: u64,
    starts: u64,
    entries: u64,
    bloom: u64,
    shift: u32,
}

const HEADER_BYTES: usize = 8 + 4 + 4 + 16 + 8 * 9;
const CHECKSUM_BYTES: usize = 16;

impl Header {
    fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(HEADER_BYTES);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT.to_le_bytes());
        bytes.extend_from_slice(&self.shift.to_le_bytes());
        bytes.extend_from_slice(&self.key.to_le_bytes());
        for n in [
            self.seed,
            self.text_len,
            self.lists,
            self.tail_len,
            self.spans,
            self.categories,
            self.starts,
            self.entries,
            self.bloom,
        ] {
            bytes.extend_from_slice(&n.to_le_bytes());
        }
        bytes
    }

    fn from_bytes(bytes: &[u8; HEADER_BYTES]) -> Option<Header> {
        let (magic, rest) = bytes.split_first_chunk::<8>()?;
        let (format, rest) = rest.split_first_chunk::<4>()?;
        let (shift, rest) = rest.split_first_chunk::<4>()?;
        let (key, rest) = rest.split_first_chunk::<16>()?;
        if magic != MAGIC || u32::from_le_bytes(*format) != FORMAT {
            return None;
        }
        let mut n = rest
            .as_chunks::<8>()
            .0
            .iter()
            .map(|b| u64::from_le_bytes(*b));
        Some(Header {
            key: u128::from_le_bytes(*key),
            shift: u32::from_le_bytes(*shift),
            seed: n.next()?,
            text_len: n.next()?,
            lists: n.next()?,
            tail_len: n.next()?,
            spans: n.next()?,
            categories: n.next()?,
            starts: n.next()?,
            entries: n.next()?,
            bloom: n.next()?,
        })
    }

    /// The file's length, when its sections are as long as the header says (`None` when
    /// that would overflow: no file is that long).
    fn file_len(&self) -> Option<u64> {
        let sections = [
            self.lists.checked_mul(8)?,
            self.tail_len.next_multiple_of(8),
            self.spans.checked_mul(8)?,
            self.categories.checked_mul(8)?,
            self.starts.checked_mul(4)?.next_multiple_of(8),
            self.entries.checked_mul(8)?,
            self.bloom.checked_mul(8)?,
        ];
        sections
            .iter()
            .try_fold((HEADER_BYTES + CHECKSUM_BYTES) as u64, |sum, &n| {
                sum.checked_add(n)
            })
    }
}

/// The parts of the table that `key` names, when its file is there, whole, and fits a table
/// made of `lists` lists whose text but the tails is `text_len` bytes long and whose
/// entries have one of `allowed` categories; `None` otherwise.
pub(super) fn read(
    path: &Path,
    key: u128,
    lists: usize,
    text_len: usize,
    allowed: &[u32],
) -> Option<Parts> {
    let mut file = File::open(path).ok()?;
    let file_len = file.metadata().ok()?.len();
    let mut reader = Reader {
        file: &mut file,
        buffer: vec![0; CHUNK],
        checksum: Xxh3::new(),
    };
    let mut header = [0; HEADER_BYTES];
    reader
        .bytes(HEADER_BYTES, |b| header.copy_from_slice(b))
        .ok()?;
    let header = Header::from_bytes(&header)?;
    if header.key != key
        || header.lists != lists as u64
        || header.text_len != text_len as u64
        || header.file_len()? != file_len
    {
        return None;
    }
    let tail_lens = reader.u64s(lists).ok()?;
    let tail = reader.tail(header.tail_len as usize).ok()?;
    let spans = reader.pairs(header.spans as usize).ok()?;
    let categories = reader.pairs(header.categories as usize).ok()?;
    let starts = reader.u32s(header.starts as usize).ok()?;
    let entries = reader.pairs(header.entries as usize).ok()?;
    let bloom = reader.u64s(header.bloom as usize).ok()?;
    let checksum = reader.checksum.finish_128();
    let mut stored = [0; CHECKSUM_BYTES];
    file.read_exact(&mut stored).ok()?;
    if u128::from_le_bytes(stored) != checksum {
        return None;
    }
    let tail = String::from_utf8(tail).ok()?;
    let mut at = 0usize;
    let mut tails = Vec::with_capacity(lists);
    for len in tail_lens {
        let end = at.checked_add(usize::try_from(len).ok()?)?;
        tails.push(tail.get(at..end)?.to_string());
        at = end;
    }
    if at != tail.len() {
        return None;
    }
    let parts = Parts {
        tails,
        spans,
        categories,
        index: HostIndex {
            starts,
            entries,
            shift: header.shift,
            bloom,
        },
        seed: header.seed,
    };
    parts.fit(text_len + tail.len(), allowed).then_some(parts)
}

impl Parts {
    /// Whether every offset points into the table's text of `text_len` bytes, or into what
    /// it indexes, and every category is one of `allowed`, so that no lookup can fail on a
    /// file that is whole but was not written by [`write`].
    fn fit(&self, text_len: usize, allowed: &[u32]) -> bool {
        let Ok(text_len) = u32::try_from(text_len) else {
            return false;
        };
        let index = &self.index;
        let groups = index.starts.len().saturating_sub(1);
        // Folded without stopping early, so that the compiler checks several at a time: a
        // million hosts' spans and entries checked one by one took 4 ms.
        let spans_fit = !self.spans.iter().fold(false, |bad, &(start, end)| {
            bad | (start > end) | (end > text_len)
        });
        let categories_fit = match self.categories.first() {
            None => self.spans.is_empty(),
            Some(&(first, _)) => {
                first == 0
                    && self.categories.windows(2).all(|w| w[0].0 < w[1].0)
                    && self.categories.iter().all(|(_, c)| allowed.contains(c))
            }
        };
        let starts_fit = !index
            .starts
            .windows(2)
            .fold(false, |bad, w| bad | (w[0] > w[1]))
            && index.starts.first() == Some(&0)
            && index.starts.last().map(|&end| end as usize) == Some(index.entries.len());
        let last_entry = index.entries.iter().fold(0, |last, &(_, i)| last.max(i));
        let entries_fit = index.entries.is_empty() || (last_entry as usize) < self.spans.len();
        groups >= 2
            && groups.is_power_of_two()
            && index.shift == 64 - groups.trailing_zeros()
            && index.bloom.len() == groups / 2
            && spans_fit
            && categories_fit
            && starts_fit
            && entries_fit
    }
}

/// Writes `table` (its index built) to `path`, by way of a file beside it renamed at the
/// end: a run that reads `path` meanwhile finds it whole or not at all. Of the table's text,
/// only the `tails` are written (ranges of it); the rest is the lists' own.
pub(super) fn write(
    path: &Path,
    key: u128,
    table: &HostTable,
    tails: &[std::ops::Range<usize>],
) -> io::Result<()> {
    kept::write_beside(path, |partial| write_to(partial, key, table, tails))
}

fn write_to(
    path: &Path,
    key: u128,
    table: &HostTable,
    tails: &[std::ops::Range<usize>],
) -> io::Result<()> {
    let index = table.index();
    let tail_len: usize = tails.iter().map(|t| t.len()).sum();
    let header = Header {
        key,
        seed: table.seed,
        text_len: (table.text.len() - tail_len) as u64,
        lists: tails.len() as u64,
        tail_len: tail_len as u64,
        spans: table.spans.len() as u64,
        categories: table.categories.len() as u64,
        starts: index.starts.len() as u64,
        entries: index.entries.len() as u64,
        bloom: index.bloom.len() as u64,
        shift: index.shift,
    };
    let mut writer = Writer {
        file: File::create(path)?,
        buffer: Vec::with_capacity(CHUNK + 16),
        written: 0,
        checksum: Xxh3::new(),
    };
    writer.put(&header.to_bytes())?;
    for tail in tails {
        writer.put(&(tail.len() as u64).to_le_bytes())?;
    }
    for tail in tails {
        writer.put(&table.text.as_bytes()[tail.clone()])?;
    }
    writer.pad();
    for &(a, b) in table.spans.iter().chain(&table.categories) {
        writer.put(&a.to_le_bytes())?;
        writer.put(&b.to_le_bytes())?;
    }
    for start in &index.starts {
        writer.put(&start.to_le_bytes())?;
    }
    writer.pad();
    for &(low, i) in &index.entries {
        writer.put(&low.to_le_bytes())?;
        writer.put(&i.to_le_bytes())?;
    }
    for word in &index.bloom {
        writer.put(&word.to_le_bytes())?;
    }
    writer.flush()?;
    // Not synced: a file the system lost part of fails its checksum, and is written again.
    let checksum = writer.checksum.finish_128();
    writer.file.write_all(&checksum.to_le_bytes())
}

/// Reads a file's sections a chunk at a time (no copy of the whole file is held), hashing
/// what it reads.
struct Reader<'f> {
    file: &'f mut File,
    buffer: Vec<u8>,
    checksum: Xxh3,
}

impl Reader<'_> {
    /// Reads `n` bytes, handing them to `each` a chunk at a time (each chunk a multiple of
    /// eight bytes long, but the last).
    fn bytes(&mut self, mut n: usize, mut each: impl FnMut(&[u8])) -> io::Result<()> {
        while n > 0 {
            let chunk = &mut self.buffer[..n.min(CHUNK)];
            self.file.read_exact(chunk)?;
            self.checksum.write(chunk);
            each(chunk);
            n -= chunk.len();
        }
        Ok(())
    }

    fn tail(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let mut tail = Vec::with_capacity(n);
        self.bytes(n.next_multiple_of(8), |b| tail.extend_from_slice(b))?;
        tail.truncate(n);
        Ok(tail)
    }

    fn pairs(&mut self, n: usize) -> io::Result<Vec<(u32, u32)>> {
        let mut pairs = Vec::with_capacity(n);
        self.bytes(n * 8, |b| {
            let pair = |p: &[u8; 8]| {
                let both = u64::from_le_bytes(*p);
                (both as u32, (both >> 32) as u32)
            };
            pairs.extend(b.as_chunks::<8>().0.iter().map(pair));
        })?;
        Ok(pairs)
    }

    fn u32s(&mut self, n: usize) -> io::Result<Vec<u32>> {
        let mut words = Vec::with_capacity(n);
        self.bytes((n * 4).next_multiple_of(8), |b| {
            words.extend(b.as_chunks::<4>().0.iter().map(|w| u32::from_le_bytes(*w)));
        })?;
        words.truncate(n);
        Ok(words)
    }

    fn u64s(&mut self, n: usize) -> io::Result<Vec<u64>> {
        let mut words = Vec::with_capacity(n);
        self.bytes(n * 8, |b| {
            words.extend(b.as_chunks::<8>().0.iter().map(|w| u64::from_le_bytes(*w)));
        })?;
        Ok(words)
    }
}

/// Writes a file's sections through a buffer, hashing what it writes.
struct Writer {
    file: File,
    buffer: Vec<u8>,
    /// Bytes written before the buffer's.
    written: usize,
    checksum: Xxh3,
}

impl Writer {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    /// Zeros up to the next multiple of eight bytes written (sections start at one).
    fn pad(&mut self) {
        while !(self.written + self.buffer.len()).is_multiple_of(8) {
            self.buffer.push(0);
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.checksum.write(&self.buffer);
        self.file.write_all(&self.buffer)?;
        self.written += self.buffer.len();
        self.buffer.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::DomainList;
    use super::*;
    use crate::kept::{IndexCache, KEEP};
    use rand::{Rng, SeedableRng};

    /// Two lists as list files are written: plain hosts, and others that normalizing
    /// changes (capitals, `www.`, non-ASCII names), so that each has a tail, and hosts
    /// listed twice, in both lists.
    fn lists(seed: u64) -> Vec<(String, u32)> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let labels = [
            "a", "bad", "x-y", "news", "例子", "Bücher", "WWW", "www", "shop9",
        ];
        let tops = ["com", "cn", "de", "org", "COM"];
        (0..2)
            .map(|category| {
                let lines: Vec<String> = (0..400)
                    .map(|_| {
                        let mut host: Vec<&str> = (0..rng.gen_range(1..4))
                            .map(|_| labels[rng.gen_range(0..labels.len())])
                            .collect();
                        host.push(tops[rng.gen_range(0..tops.len())]);
                        host.join(".")
                    })
                    .collect();
                (lines.join("\n") + "\n# a comment\n\n", 5 + category)
            })
            .collect()
    }

    /// A list with one host added before the lists, as a policy pack's are.
    fn before() -> DomainList {
        let mut list = DomainList::new();
        list.add_domain("pack.example", 5);
        list
    }

    /// Every host of `texts` (and some that are not listed) as `list` and a list built
    /// without a file find them.
    fn assert_finds_as_built(list: &DomainList, texts: &[(String, u32)]) {
        let mut built = before();
        for (text, category) in texts.iter().cloned() {
            built.add_domain_lines(text, category).unwrap();
        }
        let hosts = texts.iter().flat_map(|(text, _)| text.lines()).chain([
            "pack.example",
            "sub.news.cn",
            "unlisted.example",
            "例子.com",
        ]);
        for host in hosts {
            assert_eq!(list.check_host(host), built.check_host(host), "{host}");
        }
        assert_eq!(list.len(), built.len());
    }

    #[test]
    fn an_index_read_back_finds_what_the_index_built_finds() {
        let dir = tempfile::tempdir().unwrap();
        let texts = lists(1);
        let mut first = before();
        let written = first
            .add_domain_lines_cached(texts.clone(), dir.path())
            .unwrap();
        let IndexCache::Written(file) = written else {
            panic!("{written:?}");
        };
        assert!(file.starts_with(dir.path()));
        assert_finds_as_built(&first, &texts);
        let mut second = before();
        let read = second
            .add_domain_lines_cached(texts.clone(), dir.path())
            .unwrap();
        assert!(
            matches!(&read, IndexCache::Read(f) if *f == file),
            "{read:?}"
        );
        assert_finds_as_built(&second, &texts);
        assert_eq!(second.domains.text, first.domains.text);
        // A host added after the lists is found with them (the index is built again).
        second.add_domain("late.example", 6);
        assert_eq!(
            second.check_host("a.late.example").map(|h| h.category),
            Some(6)
        );
        assert!(second
            .check_host(texts[0].0.lines().next().unwrap())
            .is_some());
    }

    #[test]
    fn lists_changed_in_any_way_are_indexed_again() {
        let dir = tempfile::tempdir().unwrap();
        let texts = lists(2);
        before()
            .add_domain_lines_cached(texts.clone(), dir.path())
            .unwrap();
        let mut one_byte = texts.clone();
        one_byte[1].0 = one_byte[1].0.replacen(".com", ".con", 1);
        let mut other_category = texts.clone();
        other_category[0].1 = 7;
        let mut swapped = texts.clone();
        swapped.swap(0, 1);
        for changed in [one_byte, other_category, swapped] {
            let mut list = before();
            let index = list
                .add_domain_lines_cached(changed.clone(), dir.path())
                .unwrap();
            assert!(matches!(index, IndexCache::Written(_)), "{index:?}");
            assert_finds_as_built(&list, &changed);
        }
        // Without the host the pack added first.
        let index = DomainList::new()
            .add_domain_lines_cached(texts, dir.path())
            .unwrap();
        assert!(matches!(index, IndexCache::Written(_)), "{index:?}");
    }

    #[test]
    fn a_damaged_file_is_not_read_and_is_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let texts = lists(3);
        let IndexCache::Written(file) = before()
            .add_domain_lines_cached(texts.clone(), dir.path())
            .unwrap()
        else {
            panic!("not written");
        };
        let whole = std::fs::read(&file).unwrap();
        let mut flipped = whole.clone();
        flipped[whole.len() / 2] ^= 1;
        let damaged = [
            whole[..whole.len() - 1].to_vec(),
            whole[..HEADER_BYTES].to_vec(),
            Vec::new(),
            flipped,
        ];
        for bytes in damaged {
            std::fs::write(&file, &bytes).unwrap();
            let mut list = before();
            let index = list
                .add_domain_lines_cached(texts.clone(), dir.path())
                .unwrap();
            assert!(matches!(index, IndexCache::Written(_)), "{index:?}");
            assert_finds_as_built(&list, &texts);
            assert_eq!(std::fs::read(&file).unwrap().len(), whole.len());
        }
    }

    #[test]
    fn a_whole_file_whose_offsets_do_not_fit_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let texts = lists(4);
        let mut list = before();
        let IndexCache::Written(file) = list
            .add_domain_lines_cached(texts.clone(), dir.path())
            .unwrap()
        else {
            panic!("not written");
        };
        let key = key(&before().domains, &texts);
        let text_len =
            before().domains.text.len() + texts.iter().map(|(t, _)| t.len()).sum::<usize>();
        let allowed = [5, 6];
        assert!(read(&file, key, 2, text_len, &allowed).is_some());
        assert!(
            read(&file, key, 2, text_len, &[5]).is_none(),
            "a category of none of the lists"
        );
        assert!(read(&file, key, 1, text_len, &allowed).is_none());
        assert!(read(&file, key ^ 1, 2, text_len, &allowed).is_none());
        let table = &mut list.domains;
        let tails = [
            text_len..table.text.len(),
            table.text.len()..table.text.len(),
        ];
        write(&file, key, table, &tails).unwrap();
        assert!(read(&file, key, 2, text_len, &allowed).is_some());
        let mut entry_past_the_spans = table.clone();
        let spans = table.spans.len() as u32;
        entry_past_the_spans.index.get_mut().unwrap().entries[0].1 = spans;
        write(&file, key, &entry_past_the_spans, &tails).unwrap();
        assert!(read(&file, key, 2, text_len, &allowed).is_none());
        let mut group_past_its_end = table.clone();
        group_past_its_end.index.get_mut().unwrap().starts[1] = u32::MAX;
        write(&file, key, &group_past_its_end, &tails).unwrap();
        assert!(read(&file, key, 2, text_len, &allowed).is_none());
        let last = table.spans.len() - 1;
        table.spans[last].1 = u32::MAX;
        write(&file, key, table, &tails).unwrap();
        assert!(
            read(&file, key, 2, text_len, &allowed).is_none(),
            "a span past the text"
        );
    }

    #[test]
    fn a_directory_keeps_the_most_recently_used_files() {
        let dir = tempfile::tempdir().unwrap();
        let files = |dir: &Path| std::fs::read_dir(dir).unwrap().count();
        let first = lists(10);
        before()
            .add_domain_lines_cached(first.clone(), dir.path())
            .unwrap();
        for seed in 11..16 {
            std::thread::sleep(std::time::Duration::from_millis(20));
            before()
                .add_domain_lines_cached(lists(seed), dir.path())
                .unwrap();
            if seed == 12 {
                // Used again: kept while newer ones come.
                std::thread::sleep(std::time::Duration::from_millis(20));
                let index = before()
                    .add_domain_lines_cached(first.clone(), dir.path())
                    .unwrap();
                assert!(matches!(index, IndexCache::Read(_)), "{index:?}");
            }
        }
        assert_eq!(files(dir.path()), KEEP);
        let index = before().add_domain_lines_cached(first, dir.path()).unwrap();
        assert!(matches!(index, IndexCache::Read(_)), "{index:?}");
        let index = before()
            .add_domain_lines_cached(lists(11), dir.path())
            .unwrap();
        assert!(matches!(index, IndexCache::Written(_)), "{index:?}");
        // A run's partial file, left when it stopped: removed an hour later.
        let partial = |name: &str, age: u64| {
            let path = dir.path().join(name);
            let file = File::create(&path).unwrap();
            let modified = std::time::SystemTime::now() - std::time::Duration::from_secs(age);
            file.set_modified(modified).unwrap();
            path
        };
        let (stale, recent) = (partial("x.partial-1", 3700), partial("y.partial-2", 60));
        before()
            .add_domain_lines_cached(lists(16), dir.path())
            .unwrap();
        assert!(!stale.exists() && recent.exists());
        std::fs::remove_file(recent).unwrap();
    }

    #[test]
    fn a_directory_that_cannot_be_written_leaves_the_index_built() {
        let dir = tempfile::tempdir().unwrap();
        let not_a_dir = dir.path().join("file");
        std::fs::write(&not_a_dir, "").unwrap();
        let texts = lists(5);
        let mut list = before();
        let index = list
            .add_domain_lines_cached(texts.clone(), &not_a_dir)
            .unwrap();
        assert!(matches!(index, IndexCache::NotWritten(..)), "{index:?}");
        assert_finds_as_built(&list, &texts);
    }
}
