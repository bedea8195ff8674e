//! Scoring: what a renewal is worth and what to do about it ([`economics`]), why it is at
//! risk ([`reasons`]), and scoring many renewals at once ([`ScoredRows`]) from a feature table
//! ([`FrameSource`]) or from typed snapshot rows ([`SnapshotSource`]).

pub mod assign;
pub mod economics;
mod frame;
pub mod lang;
pub mod reasons;
mod rows;
mod snapshot;
pub mod worklist;

pub use economics::{Action, BAND_NAMES, Economics, EconomicsError, NO_ACTION, segment_name};
pub use frame::{FrameSource, ScoredSnapshot, SnapshotError, number_column, score_snapshot};
pub use reasons::ReasonValue;
pub use rows::{FeatureSource, NONE, REASONS, Reason, Renewal, RenewalKeys, ScoreError, ScoredRows};
pub use snapshot::SnapshotSource;
pub use worklist::{Filters, Listed, WorkList, select, select_with, work_order};

/// Every segment name (risk band x value band), low risk low value first.
pub fn segments() -> impl Iterator<Item = &'static str> {
    (0..3u8).flat_map(|r| (0..3u8).map(move |v| segment_name(r, v)))
}
