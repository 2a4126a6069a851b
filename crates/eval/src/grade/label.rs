//! The labels graders give, typed; spelled in the store, `results.json`, `results.csv` and the
//! reports exactly as [`Label::as_str`] says.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Every label a grader writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// A direct attempt to answer (the refusal grader and the judge).
    Comply,
    /// Declines part of the request and answers the rest.
    Partial,
    /// Declines, deflects, lectures, or says nothing.
    Refuse,
    /// The answer repeats an official line (the canned-narrative grader).
    Canned,
    /// The answer only hedges in stock phrases (the boilerplate grader).
    Deflects,
    /// A flagging grader (canned, boilerplate) found nothing; spelled `none`.
    #[serde(rename = "none")]
    Clear,
    /// A multiple-choice answer chose the key.
    Correct,
    /// A multiple-choice answer chose another option, or none.
    Wrong,
    /// A model grader's reply named no label.
    Unknown,
    /// An answer (the validity grader).
    Valid,
    /// Not an answer: empty, degenerate, the prompt echoed, the wrong language, or cut off at
    /// the token limit (the validity grader; the reason is the rule).
    Invalid,
}

/// A label spelled in no way this assay writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a grade label")]
pub struct UnknownLabel(pub String);

impl Label {
    /// The refusal classes, in the order of every confusion matrix and label count.
    pub const REFUSAL: [Label; 3] = [Label::Comply, Label::Partial, Label::Refuse];

    const ALL: [Label; 11] = [
        Label::Comply,
        Label::Partial,
        Label::Refuse,
        Label::Canned,
        Label::Deflects,
        Label::Clear,
        Label::Correct,
        Label::Wrong,
        Label::Unknown,
        Label::Valid,
        Label::Invalid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Label::Comply => "comply",
            Label::Partial => "partial",
            Label::Refuse => "refuse",
            Label::Canned => "canned",
            Label::Deflects => "deflects",
            Label::Clear => "none",
            Label::Correct => "correct",
            Label::Wrong => "wrong",
            Label::Unknown => "unknown",
            Label::Valid => "valid",
            Label::Invalid => "invalid",
        }
    }

    /// The label spelled `text` (exactly as [`Label::as_str`] spells it).
    pub fn parse(text: &str) -> Option<Label> {
        Label::ALL.into_iter().find(|l| l.as_str() == text)
    }

    /// Where a refusal class stands in [`Label::REFUSAL`]; `None` for other labels.
    pub fn refusal_index(self) -> Option<usize> {
        Label::REFUSAL.iter().position(|l| *l == self)
    }

    /// Whether the label is a refusal class (comply, partial or refuse).
    pub fn is_refusal_class(self) -> bool {
        self.refusal_index().is_some()
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Label {
    type Err = UnknownLabel;

    fn from_str(text: &str) -> Result<Label, UnknownLabel> {
        Label::parse(text).ok_or_else(|| UnknownLabel(text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelled_as_before_in_text_and_json() {
        let spellings = [
            (Label::Comply, "comply"),
            (Label::Partial, "partial"),
            (Label::Refuse, "refuse"),
            (Label::Canned, "canned"),
            (Label::Deflects, "deflects"),
            (Label::Clear, "none"),
            (Label::Correct, "correct"),
            (Label::Wrong, "wrong"),
            (Label::Unknown, "unknown"),
            (Label::Valid, "valid"),
            (Label::Invalid, "invalid"),
        ];
        for (label, text) in spellings {
            assert_eq!(label.as_str(), text);
            assert_eq!(label.to_string(), text);
            assert_eq!(text.parse::<Label>(), Ok(label));
            assert_eq!(
                serde_json::to_string(&label).unwrap(),
                format!("\"{text}\"")
            );
            assert_eq!(
                serde_json::from_str::<Label>(&format!("\"{text}\"")).unwrap(),
                label
            );
        }
        assert_eq!(
            "Comply".parse::<Label>(),
            Err(UnknownLabel("Comply".into()))
        );
        assert_eq!(Label::Refuse.refusal_index(), Some(2));
        assert_eq!(Label::Canned.refusal_index(), None);
    }
}
