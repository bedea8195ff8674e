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
use lapse_model::scoring::{RenewalKeys, ScoredRows, SnapshotSource};
use lapse_retention::Economics;

/// One contract table sent inline (an array of records: column -> string, number or null, as
/// the OpenAPI document states per column), deserialized straight into text columns as a CSV
/// extract would give them.
///
/// By hand rather than `Vec<BTreeMap<String, Value>>`: that shape allocated a map node, a key
/// and a value per cell and dominated the profile of inline requests. Memory is bounded by the
/// body: a column name the contract's table does not have is refused as it is read (before,
/// each unknown name became a column filled out to the table's row count: a 56 KB body cost
/// 717 MB), and cells are kept sparse (row, text), so a row of nulls or an empty record costs
/// nothing until the rows are counted against the request limit and made dense.
#[derive(Debug)]
pub struct Table<K> {
    raw: RawTable,
    kind: std::marker::PhantomData<K>,
}

impl<K> Default for Table<K> {
    fn default() -> Self {
        Table { raw: RawTable::default(), kind: std::marker::PhantomData }
    }
}

impl<K> Table<K> {
    pub fn len(&self) -> usize {
        self.raw.rows
    }

    pub fn is_empty(&self) -> bool {
        self.raw.rows == 0
    }
}

/// Which contract table a [`Table`] holds.
pub trait TableKind {
    const SPEC: &'static TableSpec;
}

macro_rules! table_kinds {
    ($($kind:ident => $spec:ident),*) => {$(
        #[doc = concat!("The `", stringify!($spec), "` table.")]
        #[derive(Debug)]
        pub struct $kind;
        impl TableKind for $kind {
            const SPEC: &'static TableSpec = &$spec;
        }
    )*};
}
table_kinds!(CustomersTable => CUSTOMERS, PoliciesTable => POLICIES, InstallmentsTable => INSTALLMENTS, EventsTable => EVENTS, AgentsTable => AGENTS);

/// The table's records as sparse columns, whatever table it is.
#[derive(Debug, Default)]
struct RawTable {
    rows: usize,
    /// Per column met: its contract name, its non-null cells (row, text) in row order, the last
    /// row that named it (usize::MAX before any; a name given twice in one record is refused),
    /// and the first rows where it held a JSON string and a JSON number (the document
    /// types numeric columns as numbers and dates as strings).
    columns: Vec<RawColumn>,
}

#[derive(Debug)]
struct RawColumn {
    name: &'static str,
    cells: Vec<(u32, String)>,
    last_row: usize,
    first_string: Option<usize>,
    first_number: Option<usize>,
}

impl RawColumn {
    /// Dense cells, one per row.
    fn dense(&mut self, rows: usize) -> Vec<Option<String>> {
        let mut out = vec![None; rows];
        for (row, text) in std::mem::take(&mut self.cells) {
            out[row as usize] = Some(text);
        }
        out
    }
}

/// Most records one table of a request may hold while it is read (the request limit,
/// `max_inline_rows`, is checked after reading and is lower by default); beyond it the body
/// is refused at once.
pub const MAX_PARSED_ROWS: usize = 1_000_000;

impl<'de, K: TableKind> Deserialize<'de> for Table<K> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Rows(&'static TableSpec);
        impl<'de> serde::de::Visitor<'de> for Rows {
            type Value = RawTable;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "an array of {} records", self.0.name)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawTable, A::Error> {
                let mut table = RawTable::default();
                while seq.next_element_seed(RowSeed(&mut table, self.0))?.is_some() {
                    if table.rows > MAX_PARSED_ROWS {
                        return Err(serde::de::Error::custom(format_args!("more than {MAX_PARSED_ROWS} {} records", self.0.name)));
                    }
                }
                Ok(table)
            }
        }
        Ok(Table { raw: deserializer.deserialize_seq(Rows(K::SPEC))?, kind: std::marker::PhantomData })
    }
}

/// One record, appended to the table's columns.
struct RowSeed<'t>(&'t mut RawTable, &'static TableSpec);

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
        let RowSeed(table, spec) = self;
        let row = table.rows;
        while let Some(index) = map.next_key_seed(ColumnSeed(table, spec))? {
            let Cell(cell, json) = map.next_value()?;
            let column = &mut table.columns[index];
            if column.last_row == row {
                return Err(serde::de::Error::custom(format_args!("column {:?} given twice in one record", column.name)));
            }
            column.last_row = row;
            match json {
                JsonKind::String => _ = column.first_string.get_or_insert(row),
                JsonKind::Number => _ = column.first_number.get_or_insert(row),
                JsonKind::Null => {}
            }
            if let Some(text) = cell {
                column.cells.push((row as u32, text));
            }
        }
        table.rows += 1;
        Ok(())
    }
}

/// A record's key: the index of its column (created on first sight), or an error naming the
/// table's columns when the contract's table has no such column.
struct ColumnSeed<'t>(&'t mut RawTable, &'static TableSpec);

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
        let ColumnSeed(table, spec) = self;
        if let Some(index) = table.columns.iter().position(|c| c.name == name) {
            return Ok(index);
        }
        let Some(column) = spec.columns.iter().find(|c| c.name == name) else {
            let known: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
            return Err(E::custom(format_args!(
                "{} has no column {:?} (columns: {})",
                spec.name,
                lapse_core::text::excerpt(name, 60),
                known.join(", ")
            )));
        };
        table.columns.push(RawColumn { name: column.name, cells: Vec::new(), last_row: usize::MAX, first_string: None, first_number: None });
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
    pub customers: Table<CustomersTable>,
    #[schema(value_type = Vec<Object>)]
    pub policies: Table<PoliciesTable>,
    #[schema(value_type = Vec<Object>)]
    pub installments: Table<InstallmentsTable>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub events: Table<EventsTable>,
    /// Optional: without agents, agent signals (agent left, tenure) are unknown.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub agents: Option<Table<AgentsTable>>,
}

/// The earliest and latest snapshot dates accepted (1900-01-01, 2199-12-31).
const AS_OF_RANGE: (Day, Day) = (-25_567, 84_005);

impl InlineRecords {
    /// Rows across all tables (for the batch limit).
    pub fn row_count(&self) -> usize {
        self.customers.len() + self.policies.len() + self.installments.len() + self.events.len() + self.agents.as_ref().map_or(0, Table::len)
    }

    fn take_table(&mut self, spec: &TableSpec) -> Option<RawTable> {
        match spec.name {
            "customers" => Some(std::mem::take(&mut self.customers).raw),
            "policies" => Some(std::mem::take(&mut self.policies).raw),
            "installments" => Some(std::mem::take(&mut self.installments).raw),
            "events" => Some(std::mem::take(&mut self.events).raw),
            "agents" => self.agents.take().map(|t| t.raw),
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
fn to_frame(spec: &'static TableSpec, mut table: RawTable) -> Result<TableFrame, ApiError> {
    // The JSON types the document states: numbers for numeric columns, strings for dates
    // (text columns take either: identifiers are often exported as numbers).
    for raw in &table.columns {
        let Some(column) = spec.columns.iter().find(|c| c.name == raw.name) else { continue };
        let wrong = match column.kind {
            kind if kind.is_numeric() => raw.first_string.map(|row| (row, "a JSON number")),
            lapse_core::extract::schema::ColumnKind::Date => raw.first_number.map(|row| (row, "a date string (YYYY-MM-DD)")),
            _ => None,
        };
        if let Some((row, expected)) = wrong {
            return Err(ApiError::invalid(format!("records.{}[{row}].{}", spec.name, raw.name), format!("{} must be {expected}", raw.name)));
        }
    }
    let rows = table.rows;
    let columns = spec
        .columns
        .iter()
        .map(|column| {
            let cells = match table.columns.iter_mut().find(|c| c.name == column.name) {
                Some(raw) => raw.dense(rows),
                None => vec![None; rows],
            };
            (*column, cells)
        })
        .collect();
    Ok(TableFrame::from_cells(spec, PathBuf::from(format!("records.{}", spec.name)), rows, columns))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a parsed request holds on the heap, roughly: every column and every stored cell.
    fn held_bytes(records: &InlineRecords) -> usize {
        let table = |t: &RawTable| -> usize {
            t.columns.iter().map(|c| 96 + c.cells.iter().map(|(_, text)| std::mem::size_of::<(u32, String)>() + text.len()).sum::<usize>()).sum()
        };
        table(&records.customers.raw)
            + table(&records.policies.raw)
            + table(&records.installments.raw)
            + table(&records.events.raw)
            + records.agents.as_ref().map_or(0, |a| table(&a.raw))
    }

    fn parse(body: &[u8]) -> Result<InlineRecords, serde_json::Error> {
        serde_json::from_slice(body)
    }

    #[test]
    fn an_unknown_column_is_refused_where_it_is_met_whatever_follows() {
        // The issue's body: event rows, each with a different column name. Refused at the first.
        let rows: Vec<String> =
            (0..5_000).map(|i| format!(r#"{{"policy_id":"P1","event_date":"2026-01-01","event_type":"sms","x{i}":1}}"#)).collect();
        let body = format!(r#"{{"as_of":"2026-06-30","customers":[],"policies":[],"installments":[],"events":[{}]}}"#, rows.join(","));
        let err = parse(body.as_bytes()).unwrap_err().to_string();
        assert!(err.contains(r#"events has no column "x0""#) && err.contains("event_type"), "{err}");
        // A 100 KB column name is quoted in part.
        let long = "y".repeat(100_000);
        let body = format!(r#"{{"as_of":"2026-06-30","customers":[{{"{long}":1}}],"policies":[],"installments":[]}}"#);
        let err = parse(body.as_bytes()).unwrap_err().to_string();
        assert!(err.len() < 1_000 && err.contains("(100000 bytes)"), "{} bytes: {}", err.len(), &err[..200.min(err.len())]);
    }

    #[test]
    fn rows_of_nulls_and_empty_records_hold_no_cells() {
        let rows = vec![r#"{"customer_id":null,"birth_date":null}"#; 100_000].join(",");
        let body = format!(r#"{{"as_of":"2026-06-30","customers":[{rows},{{}}],"policies":[],"installments":[]}}"#);
        let records = parse(body.as_bytes()).unwrap();
        assert_eq!(records.customers.len(), 100_001);
        assert!(held_bytes(&records) < 1_000, "{}", held_bytes(&records));
        // A name twice in one record is refused; in two records it is fine.
        assert!(parse(br#"{"as_of":"2026-06-30","customers":[{"customer_id":"C1","customer_id":null}],"policies":[],"installments":[]}"#).is_err());
    }

    fn valid_body() -> String {
        r#"{"as_of":"2026-06-30","customers":[{"customer_id":"C1","birth_date":"1980-01-01","gender":"F"}],"policies":[{"policy_id":"P1","customer_id":"C1","product_code":"A","product_type":"term","channel":"agency","issue_date":"2020-01-01","status":"in_force","payment_frequency":"annual","modal_premium":1000,"sum_assured":50000,"payment_term_years":10}],"installments":[{"policy_id":"P1","installment_no":2,"due_date":"2026-07-01","amount_due":1000,"paid_date":null,"amount_paid":null}],"events":[{"policy_id":"P1","event_date":"2026-01-01","event_type":"complaint","amount":null}]}"#.to_string()
    }

    proptest! {
        // The fuzz target (issue 22): any body, a valid request mutated or bytes at random,
        // parses or is refused without panicking, and what a parsed body holds is within a
        // small multiple of its size.
        // 5,000 cases in the test suite; `.ci/run` runs it again with LAPSE_FUZZ_CASES for longer.
        #![proptest_config(ProptestConfig {
            cases: std::env::var("LAPSE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(5_000),
            ..ProptestConfig::default()
        })]
        #[test]
        fn the_records_parser_never_panics_and_holds_a_small_multiple_of_the_body(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 0..12),
            noise in proptest::collection::vec(any::<u8>(), 0..64),
            repeat in 0usize..200,
        ) {
            let mut body = valid_body().into_bytes();
            // Repeat the installments record to make larger bodies.
            if repeat > 0 {
                let text = String::from_utf8(body.clone()).unwrap();
                let record = r#"{"policy_id":"P1","installment_no":3,"due_date":"2026-08-01","amount_due":1000}"#;
                let more = vec![record; repeat].join(",");
                body = text.replacen(r#"],"events""#, &format!(",{more}],\"events\""), 1).into_bytes();
            }
            for (at, byte, op) in edits {
                let (len, i) = (body.len(), at.index(body.len().max(1)));
                match op {
                    0 if len > 0 => body[i.min(len - 1)] = byte,
                    1 => body.insert(i.min(len), byte),
                    2 if len > 0 => { body.remove(i.min(len - 1)); }
                    _ => body.truncate(i.min(len)),
                }
            }
            for candidate in [body.clone(), noise.clone(), [body.as_slice(), noise.as_slice()].concat()] {
                if let Ok(records) = parse(&candidate) {
                    prop_assert!(held_bytes(&records) <= 16 * candidate.len() + 1024, "{} bytes held for a {}-byte body", held_bytes(&records), candidate.len());
                }
            }
        }
    }
}
