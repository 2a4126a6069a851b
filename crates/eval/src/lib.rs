//! Evaluation for assay: suites of prompts (this module), and — as the audit grows — the
//! runner, graders, statistics and reports.

pub mod builtin;
pub mod grade;
pub mod suite;

pub use suite::{Category, Expect, Item, Kind, Manifest, Suite, SuiteError};
