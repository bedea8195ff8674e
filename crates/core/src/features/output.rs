//! Feature tables as polars frames, and writing them (Parquet or CSV, by extension) atomically.

use std::path::Path;

use polars::prelude::*;

use super::catalog::FEATURES;
use rayon::prelude::*;

use super::catalog::Compute;
use super::snapshot::Snapshot;
use crate::extract::read::FileFormat;
use crate::io_util::{IoContext, atomic_write_with};

/// Key columns of a feature table: they identify a row and are never features.
pub const KEY_COLUMNS: [&str; 6] = ["as_of", "policy_id", "installment_no", "due_date", "customer_id", "agent_id"];
/// The label column: 1 lapsed, 0 paid in grace, null unknown at the extract date.
pub const LABEL_COLUMN: &str = "lapsed";

/// One feature's values over a snapshot's rows.
pub enum FeatureCells<'a> {
    Numeric(Vec<Option<f64>>),
    Categorical(Vec<Option<&'a str>>),
}

/// Every feature of every row of a snapshot, one column per feature (in [`FEATURES`] order),
/// computed by the catalog's functions.
pub fn feature_cells<'a>(snapshot: &'a Snapshot<'a>) -> Vec<FeatureCells<'a>> {
    FEATURES
        .par_iter()
        .map(|feature| match feature.compute {
            Compute::Numeric(f) => FeatureCells::Numeric((0..snapshot.len()).map(|i| f(snapshot.ctx(i))).collect()),
            Compute::Categorical(f) => FeatureCells::Categorical((0..snapshot.len()).map(|i| f(snapshot.ctx(i))).collect()),
        })
        .collect()
}

/// The snapshot's keys, label and features as a frame (one row per renewal).
pub fn snapshot_frame(snapshot: &Snapshot<'_>) -> PolarsResult<DataFrame> {
    let book = snapshot.book;
    let rows = &snapshot.rows;
    let height = rows.len();
    let mut columns: Vec<Column> = Vec::with_capacity(KEY_COLUMNS.len() + 1 + FEATURES.len());
    columns.push(Int32Chunked::from_vec("as_of".into(), vec![snapshot.spec.as_of; height]).into_date().into_column());
    columns.push(Column::new("policy_id".into(), rows.iter().map(|r| book.policies.id[r.policy as usize].as_str()).collect::<Vec<_>>()));
    columns
        .push(Column::new("installment_no".into(), rows.iter().map(|r| book.installments.number[r.installment as usize] as i32).collect::<Vec<_>>()));
    columns.push(
        Int32Chunked::from_vec("due_date".into(), rows.iter().map(|r| book.installments.due[r.installment as usize]).collect())
            .into_date()
            .into_column(),
    );
    columns.push(Column::new(
        "customer_id".into(),
        rows.iter().map(|r| book.customers.id[book.policies.customer[r.policy as usize] as usize].as_str()).collect::<Vec<_>>(),
    ));
    columns.push(Column::new("agent_id".into(), rows.iter().map(|r| book.policies.agent_id.get(r.policy as usize)).collect::<Vec<_>>()));
    columns.push(Column::new(LABEL_COLUMN.into(), rows.iter().map(|r| r.label.map(i32::from)).collect::<Vec<_>>()));
    for (feature, values) in FEATURES.iter().zip(feature_cells(snapshot)) {
        columns.push(match values {
            FeatureCells::Numeric(v) => Column::new(feature.name.into(), v),
            FeatureCells::Categorical(v) => Column::new(feature.name.into(), v),
        });
    }
    DataFrame::new(height, columns)
}

/// Writes feature frames to `path` (Parquet or CSV by extension) through a temp file, so a
/// reader never sees a partial table. `frames` yields one frame per snapshot (at least one, so
/// the schema is known even when every snapshot is empty); each is written as it comes, so a
/// stacked training set never has to fit in memory at once. Returns the rows written.
pub fn write_frames(
    path: &Path,
    metadata: Vec<(String, String)>,
    mut frames: impl Iterator<Item = PolarsResult<DataFrame>>,
) -> Result<usize, WriteError> {
    let format = FileFormat::of(path).ok_or_else(|| WriteError::Extension(path.display().to_string()))?;
    let mut written = 0usize;
    let mut build_error: Option<PolarsError> = None;
    let mut next = |written: &mut usize| -> Option<std::io::Result<DataFrame>> {
        match frames.next()? {
            Ok(frame) => {
                *written += frame.height();
                Some(Ok(frame))
            }
            Err(e) => {
                let message = e.to_string();
                build_error = Some(e);
                Some(Err(std::io::Error::other(message)))
            }
        }
    };
    let io = |e: PolarsError| std::io::Error::other(e.to_string());
    let result = atomic_write_with(path, |file| {
        let Some(first) = next(&mut written).transpose()? else {
            return Err(std::io::Error::other("no feature frame to write"));
        };
        match format {
            FileFormat::Parquet => {
                let mut writer = ParquetWriter::new(&mut *file)
                    .with_compression(ParquetCompression::Lz4Raw)
                    .with_key_value_metadata(Some(KeyValueMetadata::from_static(metadata)))
                    .batched(first.schema())
                    .map_err(io)?;
                writer.write_batch(&first).map_err(io)?;
                while let Some(frame) = next(&mut written) {
                    writer.write_batch(&frame?).map_err(io)?;
                }
                writer.finish().map_err(io)?;
            }
            FileFormat::Csv => {
                let mut first = first;
                CsvWriter::new(&mut *file).include_header(true).finish(&mut first).map_err(io)?;
                while let Some(frame) = next(&mut written) {
                    CsvWriter::new(&mut *file).include_header(false).finish(&mut frame?).map_err(io)?;
                }
            }
        }
        Ok(())
    });
    match (result, build_error) {
        (_, Some(e)) => Err(WriteError::Build(e)),
        (Err(e), None) => Err(WriteError::Io(e)),
        (Ok(()), None) => Ok(written),
    }
}

/// Why a feature table could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("output {0}: unknown extension (expected .parquet or .csv)")]
    Extension(String),
    #[error("building the feature table: {0}")]
    Build(PolarsError),
    #[error(transparent)]
    Io(IoContext),
    #[error("{0}")]
    Plan(String),
}
