//! Files that keep what a policy's build made, between runs: a big domain list's index
//! (`domains/cache.rs`) and a big keyword list's matcher (`keywords/cache.rs`). Each file is
//! named by a hash of everything it was made from, written beside its place and renamed (a
//! run reading it meanwhile finds it whole or not at all), and a directory keeps the few
//! most recently used.

use std::io;
use std::path::{Path, PathBuf};

/// Files kept in a directory: the most recently used ones.
pub(crate) const KEEP: usize = 4;

/// Where what a build made came from.
#[derive(Debug)]
pub enum IndexCache {
    /// Read from this file.
    Read(PathBuf),
    /// Built, and written to this file.
    Written(PathBuf),
    /// Built, but this file could not be written.
    NotWritten(PathBuf, io::Error),
}

/// FNV-1a of `sources`, at compile time: the code that makes what a file keeps, so that a
/// change to it leaves the files written before unused.
pub(crate) const fn code_hash(sources: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut s = 0;
    while s < sources.len() {
        let bytes = sources[s].as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            hash = (hash ^ bytes[i] as u64).wrapping_mul(0x0100_0000_01b3);
            i += 1;
        }
        s += 1;
    }
    hash
}

/// Writes `path` by way of a file beside it, which `write` fills, renamed at the end; then
/// drops the directory's least recently used files of the same extension.
pub(crate) fn write_beside(
    path: &Path,
    write: impl FnOnce(&Path) -> io::Result<()>,
) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    let written = write(&partial).and_then(|()| {
        std::fs::rename(&partial, path)?;
        prune(dir, path);
        Ok(())
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// Removes all but the [`KEEP`] most recently used files of `dir` with `keep`'s extension
/// (`keep` among them), and the partial files of runs that stopped an hour ago or more
/// without finishing theirs.
fn prune(dir: &Path, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let kept_extension = keep.extension().unwrap_or_default();
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let mut files = Vec::new();
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        let Some(modified) = path.metadata().and_then(|m| m.modified()).ok() else {
            continue;
        };
        let extension = path.extension().unwrap_or_default();
        if extension == kept_extension && path != keep {
            files.push((modified, path));
        } else if extension.to_string_lossy().starts_with("partial-") && modified < an_hour_ago {
            let _ = std::fs::remove_file(&path);
        }
    }
    files.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    for (_, old) in files.iter().skip(KEEP - 1) {
        let _ = std::fs::remove_file(old);
    }
}

/// Marks the file at `path` as used now, so that pruning keeps it.
pub(crate) fn touch(path: &Path) {
    if let Ok(file) = std::fs::File::options().append(true).open(path) {
        let _ = file.set_modified(std::time::SystemTime::now());
    }
}

/// What a kept file holds, written little-endian: counts as `u64`, strings as their length
/// and bytes.
#[derive(Default)]
pub(crate) struct Out(pub Vec<u8>);

impl Out {
    pub fn u8(&mut self, n: u8) {
        self.0.push(n);
    }

    pub fn u32(&mut self, n: u32) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }

    pub fn u64(&mut self, n: u64) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }

    pub fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }

    pub fn u32s(&mut self, items: &[u32]) {
        self.len(items.len());
        items.iter().for_each(|&n| self.u32(n));
    }

    pub fn u64s(&mut self, items: &[u64]) {
        self.len(items.len());
        items.iter().for_each(|&n| self.u64(n));
    }

    pub fn bools(&mut self, items: &[bool]) {
        self.len(items.len());
        items.iter().for_each(|&b| self.u8(u8::from(b)));
    }

    pub fn strings(&mut self, items: &[String]) {
        self.len(items.len());
        for s in items {
            self.len(s.len());
            self.0.extend_from_slice(s.as_bytes());
        }
    }
}

/// Reads what [`Out`] wrote; `None` past the end, or where what is read cannot be (a count
/// of more items than bytes left, text that is not UTF-8, a flag that is not 0 or 1).
pub(crate) struct In<'a>(pub &'a [u8]);

impl In<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (first, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*first)
    }

    pub fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }

    pub fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }

    pub fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }

    /// A count of items of `size` bytes each at least, which the bytes left can hold.
    pub fn len(&mut self, size: usize) -> Option<usize> {
        let n = usize::try_from(self.u64()?).ok()?;
        (n.checked_mul(size)? <= self.0.len()).then_some(n)
    }

    /// The next `n` items of `N` bytes each (their count read before).
    fn items<const N: usize>(&mut self, n: usize) -> &[[u8; N]] {
        let (bytes, rest) = self.0.split_at(n * N);
        self.0 = rest;
        bytes.as_chunks::<N>().0
    }

    pub fn u32s(&mut self) -> Option<Vec<u32>> {
        let n = self.len(4)?;
        Some(
            self.items(n)
                .iter()
                .map(|b| u32::from_le_bytes(*b))
                .collect(),
        )
    }

    pub fn u64s(&mut self) -> Option<Vec<u64>> {
        let n = self.len(8)?;
        Some(
            self.items(n)
                .iter()
                .map(|b| u64::from_le_bytes(*b))
                .collect(),
        )
    }

    pub fn bools(&mut self) -> Option<Vec<bool>> {
        let n = self.len(1)?;
        self.items(n)
            .iter()
            .map(|&[b]| (b <= 1).then_some(b == 1))
            .collect()
    }

    pub fn strings(&mut self) -> Option<Vec<String>> {
        let n = self.len(8)?;
        let mut strings = Vec::with_capacity(n);
        for _ in 0..n {
            let len = self.len(1)?;
            let text = std::str::from_utf8(self.items::<1>(len).as_flattened()).ok()?;
            strings.push(text.to_string());
        }
        Some(strings)
    }
}
