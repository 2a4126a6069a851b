//! Parallel texts: one list of segments per language, line n of each a translation of line n
//! of the others.

use std::path::Path;

use crate::TokensError;

/// Segments per language, all lists of one length; the first language is the one the others'
/// premiums are measured against.
#[derive(Debug, Clone)]
pub struct Texts {
    /// Where the texts came from, for the report.
    pub source: String,
    pub langs: Vec<Lang>,
}

#[derive(Debug, Clone)]
pub struct Lang {
    pub code: String,
    pub segments: Vec<String>,
}

/// FLORES-200 dev (997 sentences; CC BY-SA 4.0, see data/flores200/NOTICE.md).
const FLORES_EN: &str = include_str!("../data/flores200/en.txt");
const FLORES_ZH_HANS: &str = include_str!("../data/flores200/zh-Hans.txt");
const FLORES_ZH_HANT: &str = include_str!("../data/flores200/zh-Hant.txt");

impl Texts {
    /// The built-in parallel text: FLORES-200 dev in English, Simplified and Traditional
    /// Chinese.
    pub fn builtin() -> Texts {
        let lang = |code: &str, text: &str| Lang {
            code: code.to_string(),
            segments: text.lines().map(str::to_string).collect(),
        };
        Texts {
            source: "FLORES-200 dev (CC BY-SA 4.0)".into(),
            langs: vec![
                lang("en", FLORES_EN),
                lang("zh", FLORES_ZH_HANS),
                lang("zh-Hant", FLORES_ZH_HANT),
            ],
        }
    }

    /// Reads `LANG=FILE` pairs: one segment per line (a final line break is not a segment);
    /// files given together must have as many lines as each other.
    pub fn load(specs: &[(String, std::path::PathBuf)]) -> Result<Texts, TokensError> {
        let mut langs: Vec<Lang> = Vec::new();
        for (code, path) in specs {
            if langs.iter().any(|l| &l.code == code) {
                return Err(TokensError::Name(format!(
                    "--text {code}=…: language {code} given twice"
                )));
            }
            langs.push(Lang {
                code: code.clone(),
                segments: read_segments(path)?,
            });
        }
        if let Some(first) = langs.first() {
            for (lang, (_, path)) in langs.iter().zip(specs).skip(1) {
                if lang.segments.len() != first.segments.len() {
                    return Err(TokensError::Text {
                        path: path.display().to_string(),
                        message: format!(
                            "{} lines, but the {} file has {}: parallel files need one line per segment in each (line n a translation of line n)",
                            lang.segments.len(),
                            first.code,
                            first.segments.len()
                        ),
                    });
                }
            }
        }
        let source = specs
            .iter()
            .map(|(code, path)| format!("{code}={}", path.display()))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(Texts { source, langs })
    }

    pub fn segments(&self) -> usize {
        self.langs.first().map_or(0, |l| l.segments.len())
    }
}

/// Parses `LANG=FILE`.
pub fn parse_spec(spec: &str) -> Result<(String, std::path::PathBuf), TokensError> {
    match spec.split_once('=') {
        Some((lang, file)) if !lang.is_empty() && !file.is_empty() => {
            Ok((lang.to_string(), file.into()))
        }
        _ => Err(TokensError::Name(format!(
            "--text {spec:?}: use LANG=FILE, e.g. en=english.txt"
        ))),
    }
}

fn read_segments(path: &Path) -> Result<Vec<String>, TokensError> {
    let error = |message: String| TokensError::Text {
        path: path.display().to_string(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| error(format!("cannot read it: {e}")))?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            return Err(error(format!(
                "line {line}: not UTF-8 (byte {at}); convert the file to UTF-8"
            )));
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    Ok(text
        .lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_text_is_parallel() {
        let t = Texts::builtin();
        assert_eq!(t.langs.len(), 3);
        assert_eq!(t.segments(), 997);
        assert!(t.langs.iter().all(|l| l.segments.len() == 997));
        assert!(t.langs[1].segments[0]
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
    }

    #[test]
    fn files_that_do_not_pair_up_or_are_not_utf8_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let en = dir.path().join("en.txt");
        let zh = dir.path().join("zh.txt");
        std::fs::write(&en, "one\ntwo\n").unwrap();
        std::fs::write(&zh, "一\n").unwrap();
        let specs = vec![
            ("en".to_string(), en.clone()),
            ("zh".to_string(), zh.clone()),
        ];
        let e = Texts::load(&specs).unwrap_err().to_string();
        assert!(e.contains("zh.txt: 1 lines, but the en file has 2"), "{e}");
        std::fs::write(&zh, b"\xe4\xb8\x80\n\xff\n").unwrap();
        let e = Texts::load(&specs).unwrap_err().to_string();
        assert!(e.contains("zh.txt: line 2: not UTF-8"), "{e}");
        std::fs::write(&zh, "\u{feff}一\r\n二\r\n").unwrap();
        let t = Texts::load(&specs).unwrap();
        assert_eq!(t.langs[1].segments, ["一", "二"]);
        assert!(parse_spec("en").is_err());
    }
}
