//! Files written whole or not at all.
//!
//! A file is written under `<name>.partial` beside its final path, flushed to disk, renamed
//! over the final path, and the directory is synced so that the rename survives a crash too.
//! A crash or an error leaves the previous file (or none), never half a file; a partial file
//! left by a killed process has a fixed name, so the next attempt replaces it instead of
//! leaving litter (the screen's resume relies on that).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tempfile::{NamedTempFile, TempPath};

/// Who may read a file written here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// As `File::create` makes it (0666 less the umask on Unix).
    Default,
    /// Its owner only (0600 on Unix): keys, review data.
    Private,
}

/// A file being written under its partial name; [`AtomicFile::commit`] puts it in place.
/// Dropped without a commit, the partial file is removed.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    file: NamedTempFile,
}

impl AtomicFile {
    /// Starts writing `path` (readable as `File::create` would make it).
    pub fn create(path: impl Into<PathBuf>) -> io::Result<AtomicFile> {
        AtomicFile::create_with(path.into(), Access::Default)
    }

    /// Starts writing `path` with the given [`Access`].
    pub fn create_with(path: PathBuf, access: Access) -> io::Result<AtomicFile> {
        let partial = partial_path(&path)?;
        // A partial file from an earlier attempt is replaced, and must not lend us its mode.
        match fs::remove_file(&partial) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if access == Access::Private {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = access;
        let file = options.open(&partial)?;
        let partial = TempPath::try_from_path(partial)?;
        Ok(AtomicFile {
            path,
            file: NamedTempFile::from_parts(file, partial),
        })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The name the file has until [`AtomicFile::commit`].
    pub fn partial_path(&self) -> &Path {
        self.file.path()
    }

    /// Flushes the file to disk, renames it over the final path and syncs the directory.
    /// On error the partial file is removed and the final path is untouched.
    pub fn commit(self) -> io::Result<()> {
        let AtomicFile { path, mut file } = self;
        file.flush()?;
        file.as_file().sync_all()?;
        file.persist(&path).map_err(|e| e.error)?;
        sync_parent(&path)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Writes `bytes` to `path` whole or not at all (see the module documentation).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, bytes, Access::Default)
}

/// [`write_atomic`] with the given [`Access`].
pub fn write_atomic_with(path: &Path, bytes: &[u8], access: Access) -> io::Result<()> {
    let mut file = AtomicFile::create_with(path.to_path_buf(), access)?;
    file.write_all(bytes)?;
    file.commit()
}

/// `<name>.partial` in the same directory (a rename is only atomic within one file system).
fn partial_path(path: &Path) -> io::Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a file path: {}", path.display()),
        )
    })?;
    let mut partial = name.to_os_string();
    partial.push(".partial");
    Ok(path.with_file_name(partial))
}

/// Makes a rename in `path`'s directory durable.
fn sync_parent(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        match fs::File::open(dir).and_then(|d| d.sync_all()) {
            // Some file systems cannot sync a directory; the rename itself has happened.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
                ) => {}
            other => other?,
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_file_and_leaves_no_partial() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.txt");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(names(dir.path()), ["x.txt"]);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_partial() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty directory in the way: the rename fails.
        let blocked = dir.path().join("sub");
        fs::create_dir(&blocked).unwrap();
        fs::write(blocked.join("f"), "x").unwrap();
        assert!(write_atomic(&blocked, b"x").is_err());
        assert_eq!(names(dir.path()), ["sub"]);
        assert_eq!(names(&blocked), ["f"]);
    }

    #[test]
    fn nothing_is_in_place_before_commit_and_a_drop_removes_the_partial() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        fs::write(&path, "old\n").unwrap();
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"new\n").unwrap();
        assert_eq!(file.partial_path(), dir.path().join("out.jsonl.partial"));
        assert_eq!(fs::read_to_string(&path).unwrap(), "old\n");
        drop(file);
        assert_eq!(names(dir.path()), ["out.jsonl"]);
        assert_eq!(fs::read_to_string(&path).unwrap(), "old\n");
    }

    #[test]
    fn a_partial_file_left_by_a_killed_run_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        fs::write(dir.path().join("m.json.partial"), "half a fi").unwrap();
        write_atomic(&path, b"{}").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "{}");
        assert_eq!(names(dir.path()), ["m.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.toml");
        // A leftover partial file with a wide mode must not lend it to the new file.
        let partial = dir.path().join("keys.toml.partial");
        fs::write(&partial, "").unwrap();
        fs::set_permissions(&partial, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic_with(&path, b"k", Access::Private).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A default file gets the mode File::create gives (whatever the umask).
        write_atomic(&dir.path().join("report.html"), b"r").unwrap();
        fs::File::create(dir.path().join("reference")).unwrap();
        let mode_of = |name: &str| {
            fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode()
        };
        assert_eq!(mode_of("report.html"), mode_of("reference"));
    }
}
