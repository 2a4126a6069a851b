//! Where assay keeps its files: downloaded models, the default store, the guard's secrets.

use std::path::PathBuf;

/// `$ASSAY_HOME`, or `$XDG_CACHE_HOME/assay`, or `~/.cache/assay` (`./.cache/assay` when
/// there is no home directory). Empty variables count as unset.
pub fn assay_home() -> PathBuf {
    if let Some(home) = std::env::var_os("ASSAY_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    base.join("assay")
}
