//! Scoring raw records sent in a request: the rows are shaped like the contract's tables,
//! checked by the same contract code as an extract directory, turned into features by the same
//! snapshot builder as the batch job, and scored by the same code as the loaded snapshot.

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::http::StatusCode;
use polars::prelude::{Column, DataFrame};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::economics::Economics;
use super::error::ApiError;
use super::scorebook::ScoredRows;
use crate::dates::{parse_day, Day};
use crate::extract::cells::TableFrame;
use crate::extract::schema::{TableSpec, AGENTS, CUSTOMERS, EVENTS, INSTALLMENTS, POLICIES};
use crate::extract::{assemble_book, ExtractError, OnError};
use crate::features::{snapshot_frame, KnownCodes, Snapshot, SnapshotSpec};
use crate::model::LapseModel;

/// One contract row: column name -> value (strings, numbers, booleans or null).
pub type Record = BTreeMap<String, Value>;

/// Raw records of one or more policies, shaped like the contract's tables
/// (`DATA_CONTRACT.md`), scored as of `as_of`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InlineRecords {
    /// The snapshot date T (`YYYY-MM-DD`): features use only what is dated before it.
    pub as_of: String,
    #[schema(value_type = Vec<Object>)]
    pub customers: Vec<Record>,
    #[schema(value_type = Vec<Object>)]
    pub policies: Vec<Record>,
    #[schema(value_type = Vec<Object>)]
    pub installments: Vec<Record>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Record>,
    /// Optional: without agents, agent signals (agent left, tenure) are unknown.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub agents: Option<Vec<Record>>,
}

/// The earliest and latest snapshot dates accepted (1900-01-01, 2199-12-31).
const AS_OF_RANGE: (Day, Day) = (-25_567, 84_005);

impl InlineRecords {
    /// Rows across all tables (for the batch limit).
    pub fn row_count(&self) -> usize {
        self.customers.len() + self.policies.len() + self.installments.len() + self.events.len() + self.agents.as_ref().map_or(0, Vec::len)
    }

    fn table(&self, spec: &TableSpec) -> Option<&[Record]> {
        match spec.name {
            "customers" => Some(&self.customers),
            "policies" => Some(&self.policies),
            "installments" => Some(&self.installments),
            "events" => Some(&self.events),
            "agents" => self.agents.as_deref(),
            _ => None,
        }
    }

    /// Scores every renewal of these policies at risk at `as_of`, with the snapshot's horizon
    /// and grace. CPU work: call from a blocking task.
    pub fn score(&self, model: &LapseModel, economics: &Economics, horizon_days: i32, grace_days: i32) -> Result<ScoredRows, ApiError> {
        let as_of = parse_day(&self.as_of)
            .ok_or_else(|| ApiError::invalid("records.as_of", format!("{:?} is not a date (YYYY-MM-DD)", self.as_of)))?;
        if !(AS_OF_RANGE.0..=AS_OF_RANGE.1).contains(&as_of) {
            return Err(ApiError::invalid("records.as_of", format!("{} is out of range (1900-01-01 to 2199-12-31)", self.as_of)));
        }
        // Cells become text, as in a CSV extract, so every contract check applies unchanged.
        let mut frames: BTreeMap<&'static str, TableFrame> = BTreeMap::new();
        for spec in [&CUSTOMERS, &AGENTS, &POLICIES, &INSTALLMENTS, &EVENTS] {
            if let Some(rows) = self.table(spec) {
                frames.insert(spec.name, to_frame(spec, rows)?);
            }
        }
        let frames = std::sync::Mutex::new(frames);
        let open = |spec: &'static TableSpec| -> Result<Option<TableFrame>, ExtractError> { Ok(frames.lock().expect("not poisoned").remove(spec.name)) };
        let (book, _) = assemble_book(&open, OnError::Strict).map_err(|e| match e {
            ExtractError::Rejected { log } => {
                let first = &log.issues()[0];
                let more = if log.len() > 1 { format!(" (and {} more issue(s))", log.len() - 1) } else { String::new() };
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_record",
                    format!("{} row {}, {}: {:?}: {}{more}", first.table, first.row, first.column, first.value, first.reason),
                )
                .with_field(format!("records.{}[{}].{}", first.table, first.row - 1, first.column))
            }
            other => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_record", other.to_string()),
        })?;
        let codes = KnownCodes::resolve(&book);
        let spec = SnapshotSpec { as_of, horizon_days, grace_days, extract_date: as_of };
        let snapshot = Snapshot::build(&book, &codes, spec);
        let frame = snapshot_frame(&snapshot).map_err(ApiError::internal)?;
        ScoredRows::score(model, economics, &frame).map_err(ApiError::internal)
    }
}

/// One table's records as a frame of text columns (all contract columns; absent ones null).
fn to_frame(spec: &'static TableSpec, rows: &[Record]) -> Result<TableFrame, ApiError> {
    for (i, row) in rows.iter().enumerate() {
        if let Some(unknown) = row.keys().find(|k| !spec.columns.iter().any(|c| c.name == k.as_str())) {
            let known: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
            return Err(ApiError::invalid(
                format!("records.{}[{i}].{unknown}", spec.name),
                format!("{} has no column {unknown:?} (columns: {})", spec.name, known.join(", ")),
            ));
        }
    }
    let mut columns = Vec::with_capacity(spec.columns.len());
    for column in spec.columns {
        let mut cells: Vec<Option<String>> = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            cells.push(match row.get(column.name) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(Value::Bool(b)) => Some(b.to_string()),
                Some(_) => {
                    return Err(ApiError::invalid(
                        format!("records.{}[{i}].{}", spec.name, column.name),
                        "expected a string, a number or null, not an array or object",
                    ));
                }
            });
        }
        columns.push(Column::new(column.name.into(), cells));
    }
    let df = DataFrame::new(rows.len(), columns).map_err(ApiError::internal)?;
    Ok(TableFrame::convert(spec, PathBuf::from(format!("records.{}", spec.name)), df, 0))
}
