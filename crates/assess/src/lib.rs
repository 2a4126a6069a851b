//! `assay assess`: the generative-AI safety assessment of GB/T 45654-2025 (formerly
//! TC260-003). A [`Profile`] holds the standard's requirements as numbers; [`evidence`] reads
//! what assay's other commands leave (screening outputs, a policy pack, question banks, audit
//! runs, guard settings); [`assess`] weighs it into one [`Finding`] per requirement (conforms,
//! does not conform, not applicable, not assessed, with the observed value, n, its interval
//! and the strength of the evidence); [`report`] writes `assessment.json`, `.csv` and `.html`.

pub mod evidence;
pub mod profile;
pub mod report;
mod verdict;

pub use evidence::Evidence;
pub use profile::{Profile, ProfileError};
pub use verdict::{assess, Assessment, Bound, Finding, Strength, Verdict};
