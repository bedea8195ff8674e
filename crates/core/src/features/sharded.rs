//! The feature table of a book too big to load at once (`lapse features --shards K`): the
//! extract split by customer on disk, each shard loaded and built alone with the whole book's
//! agent and book records (summed over the shards in a first pass), the parts merged in the
//! book's order. The same table as the whole book gives, with the peak memory of one shard.

use std::path::Path;

use super::aggregates::BookAggregates;
use super::{BuildPlan, BuildSummary, WriteError, merge_parts};
use crate::dates::Day;
use crate::extract::read::Encoding;
use crate::extract::{ExtractError, OnError, load_book_encoded, split};

/// What a sharded build is asked for: the extract, the shards, the snapshot window.
#[derive(Debug, Clone)]
pub struct ShardedBuild<'a> {
    pub data: &'a Path,
    pub encoding: Encoding,
    pub shards: usize,
    pub as_of: Vec<Day>,
    pub horizon_days: i32,
    pub grace_days: i32,
    /// The day the extract was taken; default: the latest date any shard records.
    pub extract_date: Option<Day>,
    /// Recorded contact outcomes to attach to every shard's book (each keeps its policies').
    pub contacts: Option<&'a [crate::contacts::RecordedContact<'a>]>,
}

/// Why a sharded build failed.
#[derive(Debug, thiserror::Error)]
pub enum ShardedError {
    #[error("splitting the extract in {} by customer: {source}", data.display())]
    Split { data: std::path::PathBuf, source: ExtractError },
    /// Row numbers in a shard's errors are the shard's: run without shards to get the file's.
    #[error("reading shard {shard} of the extract in {} (row numbers are the shard's: run without --shards to get the file's): {source}", data.display())]
    Shard { shard: usize, data: std::path::PathBuf, source: ExtractError },
    #[error("writing the feature table: {0}")]
    Write(#[from] WriteError),
}

impl ShardedError {
    /// Whether the extract was at fault.
    pub fn is_input(&self) -> bool {
        match self {
            ShardedError::Split { source, .. } | ShardedError::Shard { source, .. } => source.is_input(),
            ShardedError::Write(_) => false,
        }
    }
}

impl ShardedBuild<'_> {
    /// Builds the table into `out`, working in `work` (removed at the end, whatever happens).
    pub fn write(&self, out: &Path, work: &Path) -> Result<BuildSummary, ShardedError> {
        let result = self.write_in(out, work);
        let _ = std::fs::remove_dir_all(work);
        result
    }

    fn write_in(&self, out: &Path, work: &Path) -> Result<BuildSummary, ShardedError> {
        let started = std::time::Instant::now();
        let data = self.data.to_path_buf();
        let split = split::split_by_customer(self.data, self.shards, work, self.encoding)
            .map_err(|source| ShardedError::Split { data: data.clone(), source })?;
        tracing::info!(
            shards = self.shards,
            policies = split.policy_rows.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "extract split by customer"
        );
        let load = |shard: usize| {
            load_book_encoded(&split.dirs[shard], OnError::Strict, self.encoding).map_err(|source| ShardedError::Shard {
                shard,
                data: data.clone(),
                source,
            })
        };
        // Pass 1: the book-wide aggregates and the extract date, summed over the shards.
        let mut aggregates = BookAggregates::default();
        let mut latest = None;
        for k in 0..self.shards {
            let loaded = load(k)?;
            aggregates.add(&BookAggregates::compute(&loaded.book, &self.as_of, self.grace_days));
            latest = latest.max(loaded.book.latest_observed);
        }
        for &t in &self.as_of {
            aggregates.dates.entry(t).or_default();
        }
        let extract_date = self.extract_date.or(latest).or(self.as_of.last().copied()).unwrap_or_default();
        let plan = BuildPlan { as_of: self.as_of.clone(), horizon_days: self.horizon_days, grace_days: self.grace_days, extract_date };
        // Pass 2: each shard's rows, with the whole book's records.
        let mut parts = Vec::new();
        for k in 0..self.shards {
            let mut loaded = load(k)?;
            if let Some(contacts) = self.contacts {
                loaded.book.attach_contacts(contacts.iter().copied());
            }
            let part = work.join(format!("part-{k}.parquet"));
            plan.write_part(&loaded.book, &part, false, Some(&aggregates))?;
            parts.push(part);
            tracing::info!(shard = k, elapsed_ms = started.elapsed().as_millis() as u64, "shard built");
        }
        Ok(merge_parts(&parts, &split.policy_rows, &plan, out)?)
    }
}
