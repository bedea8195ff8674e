//! Scoring: why a renewal is at risk ([`reasons`], in English or Chinese: [`lang`]), and
//! scoring many renewals at once ([`ScoredRows`]) from a feature table ([`FrameSource`]) or
//! from typed snapshot rows ([`SnapshotSource`]). What a renewal is worth and what to do about
//! it is asked of a [`Valuation`] (the retention crate's economics).

mod frame;
pub mod lang;
pub mod reasons;
mod rows;
mod snapshot;

pub use frame::{FrameSource, ScoredSnapshot, SnapshotError, number_column, score_snapshot};
pub use reasons::ReasonValue;
pub use rows::{FeatureSource, NO_ACTION, NO_CONTACT_CHANGE, NONE, REASONS, Reason, Renewal, RenewalKeys, ScoreError, ScoredRows, Valuation};
pub use snapshot::SnapshotSource;
