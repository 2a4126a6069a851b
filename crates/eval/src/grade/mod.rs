//! Graders: functions from an answer to a label, each label carrying the rule that decided it
//! so a reader can audit every grade.

pub mod canned;
pub mod judge;
pub mod mcq;
pub mod refusal;
