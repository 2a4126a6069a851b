//! Audits for assay: suites of prompts, the runner that asks models, graders, statistics and
//! reports.

pub mod analyze;
pub mod audit;
pub mod builtin;
pub mod compare;
pub mod duplicates;
pub mod gates;
pub mod grade;
pub mod grade_file;
pub mod import;
pub mod pairwise;
pub mod report;
pub mod results;
pub mod runs;
pub mod stats;
pub mod suite;

pub use suite::{Category, Expect, Item, Kind, Manifest, Suite, SuiteError};
