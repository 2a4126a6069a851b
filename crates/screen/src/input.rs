//! Finding and reading inputs: JSON Lines files (plain, gzip or zstd) and Parquet files,
//! given as files, directories (searched recursively) or glob patterns; lines read with a
//! size cap.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::ScreenError;

/// How an input file is compressed (from its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn of(path: &Path) -> Compression {
        match path.extension().and_then(|e| e.to_str()) {
            Some("gz") => Compression::Gzip,
            Some("zst") | Some("zstd") => Compression::Zstd,
            _ => Compression::None,
        }
    }
}

/// One input file, and its name relative to the input it was found under (which the outputs
/// mirror).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct InputFile {
    pub relative: PathBuf,
    pub path: PathBuf,
}

/// A Parquet file (by its name).
pub fn is_parquet(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "parquet")
}

/// Names that look like JSON Lines, possibly compressed, or Parquet.
fn is_jsonl_name(path: &Path) -> bool {
    if is_parquet(path) {
        return true;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let base = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".zst"))
        .or_else(|| name.strip_suffix(".zstd"))
        .unwrap_or(name);
    base.ends_with(".jsonl") || base.ends_with(".ndjson") || base.ends_with(".json")
}

/// Every input file named by `inputs`, sorted by relative name (so shards are stable).
/// Explicit files are taken whatever their name; directories and globs contribute the JSON
/// Lines files they hold.
pub fn discover(inputs: &[String]) -> Result<Vec<InputFile>, ScreenError> {
    let mut files = Vec::new();
    for input in inputs {
        let path = Path::new(input);
        if path.is_file() {
            let relative = PathBuf::from(path.file_name().unwrap_or(path.as_os_str()));
            files.push(InputFile {
                relative,
                path: path.to_path_buf(),
            });
        } else if path.is_dir() {
            walk(path, path, &mut files)?;
        } else if input.contains(['*', '?', '[']) {
            let matches = glob::glob(input).map_err(|e| ScreenError::Input {
                path: input.into(),
                message: format!("bad glob pattern: {e}"),
            })?;
            let mut any = false;
            for m in matches {
                let p = m.map_err(|e| ScreenError::Input {
                    path: input.into(),
                    message: e.to_string(),
                })?;
                if p.is_file() {
                    any = true;
                    files.push(InputFile {
                        relative: PathBuf::from(p.file_name().unwrap_or(p.as_os_str())),
                        path: p,
                    });
                }
            }
            if !any {
                return Err(ScreenError::Input {
                    path: input.into(),
                    message: "the pattern matches no file".into(),
                });
            }
        } else {
            return Err(ScreenError::Input {
                path: input.into(),
                message: "no such file or directory".into(),
            });
        }
    }
    files.sort();
    files.dedup_by(|a, b| a.path == b.path);
    let mut seen = std::collections::HashSet::new();
    for f in &files {
        if !seen.insert(f.relative.clone()) {
            return Err(ScreenError::Input {
                path: f.path.clone(),
                message: format!(
                    "two inputs would both be written as {}; give their common directory instead",
                    f.relative.display()
                ),
            });
        }
    }
    Ok(files)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<InputFile>) -> Result<(), ScreenError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ScreenError::Input {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(root, &path, out)?;
        } else if is_jsonl_name(&path) {
            let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            out.push(InputFile { relative, path });
        }
    }
    Ok(())
}

/// Opens `path` for reading, decompressing by its name.
pub fn open(path: &Path) -> io::Result<Box<dyn BufRead + Send>> {
    let file = File::open(path)?;
    let raw = BufReader::with_capacity(1 << 20, file);
    Ok(match Compression::of(path) {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::bufread::MultiGzDecoder::new(raw),
        )),
        Compression::Zstd => Box::new(BufReader::with_capacity(
            1 << 20,
            zstd::stream::read::Decoder::with_buffer(raw)?,
        )),
    })
}

/// What reading one line gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A line (without its newline) is in the buffer.
    Read,
    /// The line was longer than the cap; it was skipped. Its length in bytes.
    TooLong(usize),
    Eof,
}

/// Reads the next line into `buf` (cleared first), but never more than `max` bytes of it: a
/// longer line is skipped to its end without being kept in memory.
pub fn read_line_capped<R: BufRead + ?Sized>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<Line> {
    buf.clear();
    let mut total = 0usize;
    let mut too_long = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(match (total, too_long) {
                (0, _) => Line::Eof,
                (n, true) => Line::TooLong(n),
                _ => Line::Read,
            });
        }
        let (chunk, done) = match memchr(available) {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        total += chunk.len();
        if !too_long {
            if buf.len() + chunk.len() > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        let used = done.unwrap_or(chunk.len());
        reader.consume(used);
        if done.is_some() {
            if buf.last() == Some(&b'\r') && !too_long {
                buf.pop();
            }
            return Ok(if too_long {
                Line::TooLong(total)
            } else {
                Line::Read
            });
        }
    }
}

fn memchr(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_lines() {
        let data = b"short\nthis one is far too long\n\nlast";
        let mut r = io::BufReader::with_capacity(4, &data[..]);
        let mut buf = Vec::new();
        assert_eq!(read_line_capped(&mut r, &mut buf, 10).unwrap(), Line::Read);
        assert_eq!(buf, b"short");
        assert_eq!(
            read_line_capped(&mut r, &mut buf, 10).unwrap(),
            Line::TooLong(24)
        );
        assert_eq!(read_line_capped(&mut r, &mut buf, 10).unwrap(), Line::Read);
        assert_eq!(buf, b"");
        assert_eq!(read_line_capped(&mut r, &mut buf, 10).unwrap(), Line::Read);
        assert_eq!(buf, b"last");
        assert_eq!(read_line_capped(&mut r, &mut buf, 10).unwrap(), Line::Eof);
    }
}
