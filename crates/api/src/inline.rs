//! Scoring raw records sent in a request: the rows are shaped like the contract's tables,
//! checked by the same contract code as an extract directory, turned into features by the same
//! snapshot builder as the batch job, and scored by the same code as the loaded snapshot.

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use lapse_core::dates::{Day, parse_day};
use lapse_core::extract::cells::TableFrame;
use lapse_core::extract::schema::{AGENTS, CUSTOMERS, EVENTS, INSTALLMENTS, POLICIES, TableSpec};
use lapse_core::extract::{ExtractError, OnError, assemble_book};
use lapse_core::features::{KnownCodes, Snapshot, SnapshotSpec};
use lapse_model::artifact::LapseModel;
use lapse_model::scoring::{Economics, RenewalKeys, ScoredRows, SnapshotSource};

/// One contract table sent inline (an array of records: column -> string, number or null, as
/// the OpenAPI document states per column), deserialized straight into text columns as a CSV
/// extract would give them.
///
/// By hand rather than `Vec<BTreeMap<String, Value>>`: that shape allocated a map node, a key
/// and a value per cell and dominated the profile of inline requests.
#[derive(Debug, Default)]
pub struct Table {
    rows: usize,
    /// (column name, first row that has it, cells); every column has `rows` cells at the end.
    columns: Vec<(String, usize, Vec<Option<String>>)>,
    /// Per column (same index): the first row where it held a JSON string, and a JSON number
    /// (the document types numeric columns as numbers and dates as strings).
    kinds: Vec<(Option<usize>, Option<usize>)>,
}

impl Table {
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }
}

impl<'de> Deserialize<'de> for Table {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Rows;
        impl<'de> serde::de::Visitor<'de> for Rows {
            type Value = Table;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of records")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Table, A::Error> {
                let mut table = Table::default();
                while seq.next_element_seed(RowSeed(&mut table))?.is_some() {}
                for (_, _, cells) in &mut table.columns {
                    cells.resize(table.rows, None);
                }
                Ok(table)
            }
        }
        deserializer.deserialize_seq(Rows)
    }
}

/// One record, appended to the table's columns.
struct RowSeed<'t>(&'t mut Table);

impl<'de> serde::de::DeserializeSeed<'de> for RowSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for RowSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a record (an object of column: value)")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let table = self.0;
        let row = table.rows;
        while let Some(index) = map.next_key_seed(ColumnSeed(table))? {
            let Cell(cell, json) = map.next_value()?;
            let kinds = &mut table.kinds[index];
            match json {
                JsonKind::String => _ = kinds.0.get_or_insert(row),
                JsonKind::Number => _ = kinds.1.get_or_insert(row),
                JsonKind::Null => {}
            }
            let (name, _, cells) = &mut table.columns[index];
            if cells.len() > row {
                return Err(serde::de::Error::custom(format_args!("column {name:?} given twice in one record")));
            }
            cells.resize(row, None);
            cells.push(cell);
        }
        table.rows += 1;
        Ok(())
    }
}

/// A record's key: the index of its column (created on first sight).
struct ColumnSeed<'t>(&'t mut Table);

impl<'de> serde::de::DeserializeSeed<'de> for ColumnSeed<'_> {
    type Value = usize;
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ColumnSeed<'_> {
    type Value = usize;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a column name")
    }
    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<usize, E> {
        let table = self.0;
        if let Some(index) = table.columns.iter().position(|(n, _, _)| n == name) {
            return Ok(index);
        }
        table.columns.push((name.to_string(), table.rows, Vec::new()));
        table.kinds.push((None, None));
        Ok(table.columns.len() - 1)
    }
}

/// A cell as text (None for null), as a CSV extract would hold it, and the JSON type it came as.
struct Cell(Option<String>, JsonKind);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonKind {
    String,
    Number,
    Null,
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Cell;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, a number or null (no contract column is a boolean, an array or an object)")
            }
            fn visit_str<E>(self, v: &str) -> Result<Cell, E> {
                Ok(Cell(Some(v.to_string()), JsonKind::String))
            }
            fn visit_string<E>(self, v: String) -> Result<Cell, E> {
                Ok(Cell(Some(v), JsonKind::String))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Cell, E> {
                Ok(Cell(Some(itoa::Buffer::new().format(v).to_string()), JsonKind::Number))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Cell, E> {
                Ok(Cell(Some(itoa::Buffer::new().format(v).to_string()), JsonKind::Number))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Cell, E> {
                Ok(Cell(Some(v.to_string()), JsonKind::Number))
            }
            fn visit_unit<E>(self) -> Result<Cell, E> {
                Ok(Cell(None, JsonKind::Null))
            }
            fn visit_none<E>(self) -> Result<Cell, E> {
                Ok(Cell(None, JsonKind::Null))
            }
        }
        deserializer.deserialize_any(Text)
    }
}

/// Raw records of one or more policies, shaped like the contract's tables
/// (`DATA_CONTRACT.md`), scored as of `as_of`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InlineRecords {
    /// The snapshot date T (`YYYY-MM-DD`): features use only what is dated before it.
    /// 1900-01-01 to 2199-12-31.
    #[schema(format = Date, pattern = r"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    pub as_of: String,
    #[schema(value_type = Vec<Object>)]
    pub customers: Table,
    #[schema(value_type = Vec<Object>)]
    pub policies: Table,
    #[schema(value_type = Vec<Object>)]
    pub installments: Table,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub events: Table,
    /// Optional: without agents, agent signals (agent left, tenure) are unknown.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub agents: Option<Table>,
}

/// The earliest and latest snapshot dates accepted (1900-01-01, 2199-12-31).
const AS_OF_RANGE: (Day, Day) = (-25_567, 84_005);

impl InlineRecords {
    /// Rows across all tables (for the batch limit).
    pub fn row_count(&self) -> usize {
        self.customers.len() + self.policies.len() + self.installments.len() + self.events.len() + self.agents.as_ref().map_or(0, Table::len)
    }

    fn take_table(&mut self, spec: &TableSpec) -> Option<Table> {
        match spec.name {
            "customers" => Some(std::mem::take(&mut self.customers)),
            "policies" => Some(std::mem::take(&mut self.policies)),
            "installments" => Some(std::mem::take(&mut self.installments)),
            "events" => Some(std::mem::take(&mut self.events)),
            "agents" => self.agents.take(),
            _ => None,
        }
    }

    /// Scores every renewal of these policies at risk at `as_of`, with the snapshot's horizon
    /// and grace. CPU work: microseconds for a customer's records, more for big requests (the
    /// caller decides where to run it).
    pub fn score(mut self, model: &LapseModel, economics: &Economics, horizon_days: i32, grace_days: i32) -> Result<ScoredRows, ApiError> {
        let as_of =
            parse_day(&self.as_of).ok_or_else(|| ApiError::invalid("records.as_of", format!("{:?} is not a date (YYYY-MM-DD)", self.as_of)))?;
        if !(AS_OF_RANGE.0..=AS_OF_RANGE.1).contains(&as_of) {
            return Err(ApiError::invalid("records.as_of", format!("{} is out of range (1900-01-01 to 2199-12-31)", self.as_of)));
        }
        // Cells become text, as in a CSV extract, so every contract check applies unchanged.
        let mut frames: BTreeMap<&'static str, TableFrame> = BTreeMap::new();
        for spec in [&CUSTOMERS, &AGENTS, &POLICIES, &INSTALLMENTS, &EVENTS] {
            if let Some(table) = self.take_table(spec) {
                frames.insert(spec.name, to_frame(spec, table)?);
            }
        }
        let frames = std::sync::Mutex::new(frames);
        let open =
            |spec: &'static TableSpec| -> Result<Option<TableFrame>, ExtractError> { Ok(frames.lock().expect("not poisoned").remove(spec.name)) };
        let (book, _) = assemble_book(&open, OnError::Strict, false).map_err(|e| match e {
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
        let keys = RenewalKeys::from_snapshot(&snapshot).map_err(ApiError::internal)?;
        ScoredRows::score(model, economics, keys, &SnapshotSource(&snapshot)).map_err(ApiError::internal)
    }
}

/// One table's records as typed, checked columns (all contract columns; absent ones missing).
fn to_frame(spec: &'static TableSpec, mut table: Table) -> Result<TableFrame, ApiError> {
    if let Some((unknown, row, _)) = table.columns.iter().find(|(name, _, _)| !spec.columns.iter().any(|c| c.name == name.as_str())) {
        let known: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
        return Err(ApiError::invalid(
            format!("records.{}[{row}].{unknown}", spec.name),
            format!("{} has no column {unknown:?} (columns: {})", spec.name, known.join(", ")),
        ));
    }
    // The JSON types the document states: numbers for numeric columns, strings for dates
    // (text columns take either: identifiers are often exported as numbers).
    for ((name, _, _), (first_string, first_number)) in table.columns.iter().zip(&table.kinds) {
        let Some(column) = spec.columns.iter().find(|c| c.name == name.as_str()) else { continue };
        let wrong = match column.kind {
            kind if kind.is_numeric() => first_string.map(|row| (row, "a JSON number")),
            lapse_core::extract::schema::ColumnKind::Date => first_number.map(|row| (row, "a date string (YYYY-MM-DD)")),
            _ => None,
        };
        if let Some((row, expected)) = wrong {
            return Err(ApiError::invalid(format!("records.{}[{row}].{name}", spec.name), format!("{name} must be {expected}")));
        }
    }
    let rows = table.rows;
    let columns = spec
        .columns
        .iter()
        .map(|column| {
            let cells = match table.columns.iter_mut().find(|(name, _, _)| name == column.name) {
                Some((_, _, cells)) => std::mem::take(cells),
                None => vec![None; rows],
            };
            (*column, cells)
        })
        .collect();
    Ok(TableFrame::from_cells(spec, PathBuf::from(format!("records.{}", spec.name)), rows, columns))
}
