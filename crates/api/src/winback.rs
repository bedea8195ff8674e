//! `GET /v1/winback`: the win-back list (`lapse winback`, or the one the nightly job publishes
//! next to the snapshot) served with the queue's filters and paging. The file is read at start
//! and again on every reload; the list is already in priority order, so a page is a filtered
//! slice of it.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::dto::Date;
use lapse_core::dates::Day;

/// One win-back candidate as served.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WinbackItem {
    /// Place in the whole list (1 = highest priority), before filters.
    pub rank: u32,
    pub policy_id: String,
    pub customer_id: String,
    pub channel: Option<String>,
    pub product_type: Option<String>,
    pub product_code: Option<String>,
    pub region: Option<String>,
    pub agent_id: Option<String>,
    /// The servicing agent has left the company.
    pub agent_left: bool,
    #[schema(value_type = String, format = Date)]
    pub lapse_date: Date,
    pub days_since_lapse: i32,
    pub days_left_to_reinstate: i32,
    pub unpaid_renewals: u32,
    /// The amount to pay to reinstate: the premiums due and unpaid.
    pub arrears: f64,
    pub value_if_reinstated: f64,
    /// P(reinstated within the model's horizon); null when no reinstatement model ranked the
    /// list (see `priority_basis`).
    pub reinstatement_probability: Option<f64>,
    pub priority: f64,
    /// visit (the servicing agent) or call (the call centre).
    pub action: String,
    pub reasons: String,
}

/// A loaded win-back list.
#[derive(Debug)]
pub struct WinbackList {
    pub path: PathBuf,
    pub as_of: Day,
    pub priority_basis: String,
    pub items: Vec<WinbackItem>,
}

fn text_column(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>, String> {
    let column = df.column(name).map_err(|_| format!("no column {name:?}"))?.cast(&DataType::String).map_err(|e| format!("column {name:?}: {e}"))?;
    Ok(column.str().map_err(|e| format!("column {name:?}: {e}"))?.iter().map(|v| v.map(str::to_string)).collect())
}

fn number_column(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>, String> {
    let column = df.column(name).map_err(|_| format!("no column {name:?}"))?.cast(&DataType::Float64).map_err(|e| format!("column {name:?}: {e}"))?;
    Ok(column.f64().map_err(|e| format!("column {name:?}: {e}"))?.iter().collect())
}

fn required<T>(values: Vec<Option<T>>, name: &str) -> Result<Vec<T>, String> {
    values.into_iter().enumerate().map(|(row, v)| v.ok_or_else(|| format!("column {name:?}, row {}: missing", row + 2))).collect()
}

fn day_of(text: &str, name: &str, row: usize) -> Result<Day, String> {
    lapse_core::dates::parse_day(text).ok_or_else(|| format!("column {name:?}, row {}: {text:?} is not a date", row + 2))
}

/// A win-back list file that cannot be served: the file, and the column and row at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("win-back list {}: {reason}", path.display())]
pub struct WinbackFileError {
    pub path: std::path::PathBuf,
    pub reason: String,
}

impl WinbackList {
    /// Reads a list written by `lapse winback` (CSV or Parquet); an error names the file, and
    /// the column and row at fault.
    pub fn load(path: &Path) -> Result<WinbackList, WinbackFileError> {
        let fail = |reason: String| WinbackFileError { path: path.to_path_buf(), reason };
        let (df, metadata) = lapse_core::table::read_frame(path).map_err(|e| fail(e.message))?;
        let read = || -> Result<WinbackList, String> {
            let texts = |n: &str| text_column(&df, n);
            let numbers = |n: &str| number_column(&df, n);
            let as_of_text = required(texts("as_of")?, "as_of")?;
            let as_of = match as_of_text.first() {
                Some(t) => day_of(t, "as_of", 0)?,
                None => metadata
                    .iter()
                    .find(|(k, _)| k == "lapse.as_of")
                    .and_then(|(_, v)| lapse_core::dates::parse_day(v))
                    .ok_or("an empty list without its date (lapse.as_of)")?,
            };
            let basis = match required(texts("priority_basis")?, "priority_basis")?.into_iter().next() {
                Some(b) => b,
                None => metadata.iter().find(|(k, _)| k == "lapse.priority_basis").map(|(_, v)| v.clone()).unwrap_or_default(),
            };
            let rank = required(numbers("rank")?, "rank")?;
            let policy_id = required(texts("policy_id")?, "policy_id")?;
            let customer_id = required(texts("customer_id")?, "customer_id")?;
            let mut channel = texts("channel")?.into_iter();
            let mut product_type = texts("product_type")?.into_iter();
            let mut product_code = texts("product_code")?.into_iter();
            let mut region = texts("region")?.into_iter();
            let mut agent_id = texts("agent_id")?.into_iter();
            let agent_left = required(texts("agent_left")?, "agent_left")?;
            let lapse_date = required(texts("lapse_date")?, "lapse_date")?;
            let since = required(numbers("days_since_lapse")?, "days_since_lapse")?;
            let left = required(numbers("days_left_to_reinstate")?, "days_left_to_reinstate")?;
            let unpaid = required(numbers("unpaid_renewals")?, "unpaid_renewals")?;
            let arrears = required(numbers("arrears")?, "arrears")?;
            let value = required(numbers("value_if_reinstated")?, "value_if_reinstated")?;
            let probability = numbers("reinstatement_probability")?;
            let priority = required(numbers("priority")?, "priority")?;
            let action = required(texts("action")?, "action")?;
            let reasons = texts("reasons")?;
            let mut items = Vec::with_capacity(df.height());
            for row in 0..df.height() {
                let flag = match agent_left[row].to_ascii_lowercase().as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    other => return Err(format!("column \"agent_left\", row {}: {other:?} is not true or false", row + 2)),
                };
                items.push(WinbackItem {
                    rank: rank[row] as u32,
                    policy_id: policy_id[row].clone(),
                    customer_id: customer_id[row].clone(),
                    channel: channel.next().flatten(),
                    product_type: product_type.next().flatten(),
                    product_code: product_code.next().flatten(),
                    region: region.next().flatten(),
                    agent_id: agent_id.next().flatten(),
                    agent_left: flag,
                    lapse_date: Date(day_of(&lapse_date[row], "lapse_date", row)?),
                    days_since_lapse: since[row] as i32,
                    days_left_to_reinstate: left[row] as i32,
                    unpaid_renewals: unpaid[row] as u32,
                    arrears: arrears[row],
                    value_if_reinstated: value[row],
                    reinstatement_probability: probability[row],
                    priority: priority[row],
                    action: action[row].clone(),
                    reasons: reasons[row].clone().unwrap_or_default(),
                });
            }
            Ok(WinbackList { path: path.to_path_buf(), as_of, priority_basis: basis, items })
        };
        read().map_err(fail)
    }
}

/// `GET /v1/winback` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WinbackParams {
    pub channel: Option<String>,
    pub region: Option<String>,
    pub agent_id: Option<String>,
    /// Product code or product type.
    pub product: Option<String>,
    /// visit or call.
    pub action: Option<String>,
    /// true: only policies whose servicing agent has left (orphans, for the call centre);
    /// false: only those whose agent is in service or who have none.
    pub agent_left: Option<bool>,
    /// Only candidates worth at least this much if reinstated.
    #[param(minimum = 0.0)]
    pub min_value: Option<f64>,
    /// Only candidates with at least this many days left to reinstate.
    #[param(minimum = 0, maximum = 36500)]
    pub min_days_left: Option<i32>,
    /// Page size (default 100, at most the configured page limit: 1000 by default).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// Matching candidates to skip (0 = from the top).
    #[param(minimum = 0, maximum = 2147483647)]
    pub offset: Option<usize>,
}

/// `GET /v1/winback` response.
#[derive(Debug, Serialize, ToSchema)]
pub struct WinbackResponse<'a> {
    #[schema(value_type = String, format = Date)]
    pub as_of: Date,
    /// What `priority` is: the reinstatement model's probability x value, or value x recency
    /// when no model is registered.
    pub priority_basis: &'a str,
    /// Candidates matching the filters.
    pub matching: usize,
    pub offset: usize,
    /// The offset of the next page, if there is one.
    pub next_offset: Option<usize>,
    pub items: Vec<&'a WinbackItem>,
}

/// Whether `item` passes the filters (an empty filter value filters nothing).
pub fn matches(item: &WinbackItem, p: &WinbackParams) -> bool {
    let is = |filter: &Option<String>, value: &Option<String>| filter.as_deref().is_none_or(|f| f.is_empty() || value.as_deref() == Some(f));
    is(&p.channel, &item.channel)
        && is(&p.region, &item.region)
        && is(&p.agent_id, &item.agent_id)
        && p.product.as_deref().is_none_or(|f| f.is_empty() || item.product_code.as_deref() == Some(f) || item.product_type.as_deref() == Some(f))
        && p.action.as_deref().is_none_or(|f| f.is_empty() || item.action == f)
        && p.agent_left.is_none_or(|f| item.agent_left == f)
        && p.min_value.is_none_or(|v| item.value_if_reinstated >= v)
        && p.min_days_left.is_none_or(|d| item.days_left_to_reinstate >= d)
}
