//! The statistics behind the reports live in `assay-stats`; re-exported here so
//! `assay_eval::stats::wilson` and friends keep working.

pub use assay_stats::*;
