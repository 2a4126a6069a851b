//! Our counts against the reference Python libraries' (`scripts/tokens-fixtures.py` wrote
//! them): `tiktoken` for the built-in vocabularies, Hugging Face `tokenizers` for the
//! catalogue's, segment by segment, exactly. Catalogue vocabularies are fetched into
//! $ASSAY_HOME when missing (scripts/test fetches them first).

use assay_tokens::catalogue;
use assay_tokens::hf::HfTokenizer;
use assay_tokens::tiktoken::Tiktoken;
use assay_tokens::Tokenize;

fn fixture() -> (Vec<&'static str>, serde_json::Value) {
    let segments: Vec<&str> = include_str!("fixtures/segments.txt").lines().collect();
    let expected: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/expected.json")).unwrap();
    assert_eq!(expected["segments"], segments.len());
    (segments, expected)
}

fn check(tokenizer: &dyn Tokenize, segments: &[&str], expected: &serde_json::Value) {
    let want = expected["counts"][tokenizer.name()]
        .as_array()
        .unwrap_or_else(|| panic!("no expected counts for {}", tokenizer.name()));
    let mut differ = Vec::new();
    for (i, (s, want)) in segments.iter().zip(want).enumerate() {
        let got = tokenizer.count(s).unwrap() as u64;
        if Some(got) != want.as_u64() {
            differ.push(format!("line {}: {got} ≠ {want}", i + 1));
        }
        // The pieces are the tokens.
        assert_eq!(
            tokenizer.pieces(s).unwrap().len() as u64,
            got,
            "{}",
            tokenizer.name()
        );
    }
    assert!(
        differ.is_empty(),
        "{}: {}",
        tokenizer.name(),
        differ.join("; ")
    );
}

#[test]
fn tiktoken_counts_equal_python_tiktoken() {
    let (segments, expected) = fixture();
    for name in assay_tokens::tiktoken::NAMES {
        check(&Tiktoken::new(name).unwrap(), &segments, &expected);
    }
}

#[test]
fn catalogue_counts_equal_python_tokenizers() {
    let (segments, expected) = fixture();
    let home = assay_core::assay_home();
    let entries: Vec<&catalogue::Entry> = catalogue::ENTRIES.iter().collect();
    let paths = catalogue::fetch(&home, &entries).unwrap();
    for (entry, path) in entries.iter().zip(paths) {
        assert_eq!(
            expected["catalogue"][entry.name]["sha256"], entry.sha256,
            "the fixture was made from another file"
        );
        check(
            &HfTokenizer::load(entry.name, &path).unwrap(),
            &segments,
            &expected,
        );
    }
}
