//! The point-in-time feature builder: one row per renewal at risk at a snapshot date T, with
//! features computed only from what was known before T, the lapse label, and the value fields.
//!
//! The same code builds training tables (many past snapshots, stacked) and the scoring snapshot.

pub mod aggregates;
pub mod catalog;
pub mod history;
pub mod output;
pub mod sample;
pub mod sharded;
pub mod snapshot;

use std::path::Path;

pub use catalog::{Compute, FEATURES, Feature, FeatureFamily, catalog, catalog_markdown};
pub use history::{KnownCodes, PolicyHistory, SnapshotSpec};
pub use output::{FeatureCells, KEY_COLUMNS, LABEL_COLUMN, WriteError, feature_cells, snapshot_frame, write_frames};
pub use snapshot::{Snapshot, SnapshotRow};

use crate::dates::{Day, format_day};
use crate::extract::Book;

/// How to build a feature table from a book.
#[derive(Debug, Clone)]
pub struct BuildPlan {
    /// Snapshot dates, ascending.
    pub as_of: Vec<Day>,
    pub horizon_days: i32,
    pub grace_days: i32,
    pub extract_date: Day,
}

/// What a build wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSummary {
    pub snapshots: usize,
    pub rows: usize,
}

impl BuildPlan {
    fn spec(&self, as_of: Day) -> SnapshotSpec {
        SnapshotSpec { as_of, horizon_days: self.horizon_days, grace_days: self.grace_days, extract_date: self.extract_date }
    }

    /// Parquet key-value metadata describing the table, so readers can tell keys from features.
    pub fn metadata(&self) -> Vec<(String, String)> {
        let dates: Vec<String> = self.as_of.iter().map(|&d| format_day(d)).collect();
        vec![
            ("lapse.key_columns".into(), KEY_COLUMNS.join(",")),
            ("lapse.label_column".into(), LABEL_COLUMN.into()),
            ("lapse.feature_columns".into(), FEATURES.iter().map(|f| f.name).collect::<Vec<_>>().join(",")),
            ("lapse.as_of".into(), dates.join(",")),
            ("lapse.horizon_days".into(), self.horizon_days.to_string()),
            ("lapse.grace_days".into(), self.grace_days.to_string()),
            ("lapse.extract_date".into(), format_day(self.extract_date)),
        ]
    }

    /// Builds every snapshot and writes them, stacked in date order, to `out`.
    pub fn write(&self, book: &Book, out: &Path) -> Result<BuildSummary, WriteError> {
        self.write_with_progress(book, out, false)
    }

    /// [`BuildPlan::write`], drawing a progress bar over the snapshots when `progress` is set
    /// (a person watching a terminal; the binary decides).
    pub fn write_with_progress(&self, book: &Book, out: &Path, progress: bool) -> Result<BuildSummary, WriteError> {
        self.write_part(book, out, progress, None)
    }

    /// [`BuildPlan::write_with_progress`] for a part of a book split by customer, with the whole
    /// book's agent and book records (`aggregates`, which must hold every date of the plan).
    pub fn write_part(
        &self,
        book: &Book,
        out: &Path,
        progress: bool,
        aggregates: Option<&aggregates::BookAggregates>,
    ) -> Result<BuildSummary, WriteError> {
        self.write_sampled(book, out, progress, aggregates, None)
    }

    /// [`BuildPlan::write_part`] keeping at most `max_rows` rows in all: each snapshot keeps
    /// at most `max_rows / snapshots`, a sample stratified by label (lapsed, paid, unknown:
    /// each kept in its share of the snapshot, the rows with the smallest hash of
    /// (policy, installment, date), so the same book gives the same sample). Features are only
    /// computed for the rows kept.
    pub fn write_sampled(
        &self,
        book: &Book,
        out: &Path,
        progress: bool,
        aggregates: Option<&aggregates::BookAggregates>,
        max_rows: Option<usize>,
    ) -> Result<BuildSummary, WriteError> {
        if let Some(missing) = aggregates.and_then(|a| self.as_of.iter().find(|t| !a.dates.contains_key(t))) {
            return Err(WriteError::Plan(format!("the book aggregates have no records for {}", format_day(*missing))));
        }
        let codes = KnownCodes::resolve(book);
        let bar = if progress && self.as_of.len() > 1 {
            let bar = indicatif::ProgressBar::new(self.as_of.len() as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} snapshots [{bar:30}] {pos}/{len} {msg} {elapsed}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar
        } else {
            indicatif::ProgressBar::hidden()
        };
        let mut sampled = (0usize, 0usize);
        let frames = self.as_of.iter().map(|&t| {
            bar.set_message(format_day(t));
            bar.inc(1);
            let started = std::time::Instant::now();
            let mut snapshot = Snapshot::build_with(book, &codes, self.spec(t), aggregates.and_then(|a| a.dates.get(&t)));
            if let Some(max) = max_rows {
                let cap = (max / self.as_of.len().max(1)).max(1);
                let (before, kept) = (snapshot.rows.len(), sample::stratified(book, &mut snapshot.rows, t, cap));
                sampled.0 += before;
                sampled.1 += kept;
            }
            let frame = snapshot_frame(&snapshot);
            tracing::info!(as_of = %format_day(t), rows = snapshot.len(), elapsed_ms = started.elapsed().as_millis() as u64, "snapshot built");
            frame
        });
        let mut metadata = self.metadata();
        if let Some(max) = max_rows {
            metadata.push(("lapse.max_rows".into(), max.to_string()));
        }
        let rows = write_frames(out, metadata, frames)?;
        bar.finish_and_clear();
        if max_rows.is_some() {
            tracing::info!(rows_before = sampled.0, rows_kept = sampled.1, "training rows sampled (stratified by date and label)");
        }
        Ok(BuildSummary { snapshots: self.as_of.len(), rows })
    }

    /// Builds one snapshot as a frame (for callers that keep it in memory, such as the scorer).
    pub fn frame(&self, book: &Book, as_of: Day) -> polars::prelude::PolarsResult<polars::prelude::DataFrame> {
        let codes = KnownCodes::resolve(book);
        snapshot_frame(&Snapshot::build(book, &codes, self.spec(as_of)))
    }
}

#[cfg(test)]
mod tests;

/// Puts the parts of a table built shard by shard (`BuildPlan::write_part` on each customer
/// shard of a split) back into the whole book's order (snapshot date, the policies file's row,
/// installment) and writes them to `out` with the plan's metadata, a snapshot at a time.
/// `policy_rows` is each policy's row in the policies file (`extract::split::Split`).
pub fn merge_parts(
    parts: &[std::path::PathBuf],
    policy_rows: &std::collections::HashMap<String, usize>,
    plan: &BuildPlan,
    out: &Path,
) -> Result<BuildSummary, WriteError> {
    use polars::prelude::*;
    let mut stacked: Option<DataFrame> = None;
    for part in parts {
        let (df, _) = crate::table::read_frame(part).map_err(|e| WriteError::Plan(e.to_string()))?;
        match &mut stacked {
            None => stacked = Some(df),
            Some(s) => {
                s.vstack_mut(&df).map_err(WriteError::Build)?;
            }
        }
    }
    let stacked = stacked.ok_or_else(|| WriteError::Plan("no part to merge".into()))?;
    let as_of: Vec<Day> = stacked
        .column("as_of")
        .and_then(|c| c.cast(&DataType::Int32))
        .and_then(|c| Ok(c.i32()?.into_no_null_iter().collect()))
        .map_err(WriteError::Build)?;
    let numbers: Vec<i32> = stacked
        .column("installment_no")
        .and_then(|c| c.cast(&DataType::Int32))
        .and_then(|c| Ok(c.i32()?.into_no_null_iter().collect()))
        .map_err(WriteError::Build)?;
    let ids = stacked.column("policy_id").map_err(WriteError::Build)?.str().map_err(WriteError::Build)?.clone();
    let row_of = |r: usize| ids.get(r).and_then(|id| policy_rows.get(id)).copied().unwrap_or(usize::MAX);
    let mut order: Vec<(Day, usize, i32, usize)> = (0..stacked.height()).map(|r| (as_of[r], row_of(r), numbers[r], r)).collect();
    order.sort_unstable();
    let sorted = stacked.take(&IdxCa::from_vec("rows".into(), order.iter().map(|o| o.3 as IdxSize).collect())).map_err(WriteError::Build)?;
    // A frame per snapshot date, as the unsharded build writes them.
    let mut bounds = Vec::new();
    let mut start = 0;
    for i in 1..=order.len() {
        if i == order.len() || order[i].0 != order[start].0 {
            bounds.push((start, i - start));
            start = i;
        }
    }
    let frames = bounds.into_iter().map(|(offset, len)| Ok(sorted.slice(offset as i64, len)));
    let frames: Box<dyn Iterator<Item = PolarsResult<DataFrame>>> =
        if sorted.height() == 0 { Box::new(std::iter::once(Ok(sorted.clone()))) } else { Box::new(frames) };
    let rows = write_frames(out, plan.metadata(), frames)?;
    Ok(BuildSummary { snapshots: plan.as_of.len(), rows })
}
