//! The audit's report (JSON for machines, the page for the data owner) and the thresholds a
//! night applies to it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One side of the comparison.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Extract {
    /// The extract directory, or the fingerprint file it was compared as.
    pub source: String,
    pub extract_date: Option<String>,
    pub policies: usize,
    pub installments: usize,
    pub events: usize,
}

/// One row the check found (or one cell, for a change): where and what.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Example {
    /// The table file the row is in (today's; yesterday's for a vanished row).
    pub file: String,
    /// `policy_id`, `policy_id/installment_no`, or for an event `policy_id/event_date/event_type`.
    pub key: String,
    pub column: String,
    /// Yesterday's value ("" when it had none).
    pub old: String,
    /// Today's value ("" when it has none).
    pub new: String,
    /// What the value is compared with, when that is not yesterday's (a mismatch, a status).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// A check's count on one table.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CheckCount {
    /// `late_entry`, `changed_after_the_fact`, `vanished`, `status_inconsistent` or
    /// `amount_mismatch`.
    pub check: String,
    pub table: String,
    /// Rows the check found (a row found for two reasons counts once).
    pub rows: usize,
    /// `rows` over the table's rows (yesterday's table for `vanished`, today's otherwise).
    pub share: f64,
    /// For a change after the fact: rows per changed column.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_column: BTreeMap<String, usize>,
    pub examples: Vec<Example>,
}

/// The audit of today's extract against the previous one.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AuditReport {
    pub current: Extract,
    pub previous: Extract,
    pub grace_days: i32,
    /// Every (check, table) pair of the contract, zero or not.
    pub checks: Vec<CheckCount>,
    /// Cells of today's extract that are not what the contract says (a date that is not a date,
    /// an amount that is not a number): the row is left out of the comparisons it cannot take.
    pub unreadable_cells: usize,
    #[serde(default)]
    pub unreadable_examples: Vec<Example>,
    /// Labels of the champion's training rows that a change after the fact moved (the nightly
    /// fills it: renewals it was fitted on whose payment changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_labels_changed: Option<usize>,
    /// What the night's thresholds said (the nightly fills it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

impl AuditReport {
    /// The count of one check on one table.
    pub fn rows(&self, check: &str, table: &str) -> usize {
        self.checks.iter().find(|c| c.check == check && c.table == table).map_or(0, |c| c.rows)
    }
}

/// A check's limits, as shares of the table (0.01 = 1% of its rows).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// Above it the night goes on and says so.
    pub warn: Option<f64>,
    /// Above it the night refuses the extract (exit 2, nothing published).
    pub stop: Option<f64>,
}

/// `[audit]` of `lapse.toml`: a threshold per check.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    #[serde(default = "defaults::late_entry")]
    pub late_entry: Threshold,
    #[serde(default = "defaults::changed_after_the_fact")]
    pub changed_after_the_fact: Threshold,
    #[serde(default = "defaults::vanished")]
    pub vanished: Threshold,
    #[serde(default = "defaults::status_inconsistent")]
    pub status_inconsistent: Threshold,
    #[serde(default = "defaults::amount_mismatch")]
    pub amount_mismatch: Threshold,
}

/// The defaults: warn at the first rows a healthy core system should not produce, stop where
/// the labels or the list would move (1% of a table changed or vanished overnight).
mod defaults {
    use super::Threshold;
    pub fn late_entry() -> Threshold {
        Threshold { warn: Some(0.001), stop: None }
    }
    pub fn changed_after_the_fact() -> Threshold {
        Threshold { warn: Some(0.0), stop: Some(0.01) }
    }
    pub fn vanished() -> Threshold {
        Threshold { warn: Some(0.0), stop: Some(0.01) }
    }
    pub fn status_inconsistent() -> Threshold {
        Threshold { warn: Some(0.001), stop: None }
    }
    pub fn amount_mismatch() -> Threshold {
        Threshold { warn: Some(0.01), stop: None }
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            late_entry: defaults::late_entry(),
            changed_after_the_fact: defaults::changed_after_the_fact(),
            vanished: defaults::vanished(),
            status_inconsistent: defaults::status_inconsistent(),
            amount_mismatch: defaults::amount_mismatch(),
        }
    }
}

/// What the thresholds said of one audit.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Verdict {
    /// One sentence per (check, table) above its `warn`.
    pub warnings: Vec<String>,
    /// One sentence per (check, table) above its `stop`: the night refuses the extract.
    pub stops: Vec<String>,
}

impl Thresholds {
    pub fn of(&self, check: &str) -> Threshold {
        match check {
            "late_entry" => self.late_entry,
            "changed_after_the_fact" => self.changed_after_the_fact,
            "vanished" => self.vanished,
            "status_inconsistent" => self.status_inconsistent,
            "amount_mismatch" => self.amount_mismatch,
            _ => Threshold::default(),
        }
    }

    /// Checks every limit: a share strictly above a limit trips it (a `warn` of 0 warns on
    /// the first row).
    pub fn judge(&self, report: &AuditReport) -> Verdict {
        let mut verdict = Verdict::default();
        for c in &report.checks {
            let limit = self.of(&c.check);
            let said = |bound: f64| {
                let first = c.examples.first().map(|e| format!("; e.g. {} {} ({} -> {})", e.key, e.column, e.old, e.new)).unwrap_or_default();
                format!("{} on {}: {} rows ({:.3}% of the table, limit {:.3}%){first}", c.check, c.table, c.rows, 100.0 * c.share, 100.0 * bound)
            };
            if let Some(stop) = limit.stop.filter(|&s| c.rows > 0 && c.share > s) {
                verdict.stops.push(said(stop));
            } else if let Some(warn) = limit.warn.filter(|&w| c.rows > 0 && c.share > w) {
                verdict.warnings.push(said(warn));
            }
        }
        verdict
    }

    /// Every limit is a share in [0, 1] and no `stop` is below its `warn`.
    pub fn validate(&self) -> Result<(), String> {
        for check in super::CHECKS {
            let t = self.of(check);
            for (name, v) in [("warn", t.warn), ("stop", t.stop)] {
                if let Some(v) = v
                    && !(0.0..=1.0).contains(&v)
                {
                    return Err(format!("[audit] {check}.{name} = {v}: a share of the table's rows, between 0 and 1"));
                }
            }
            if let (Some(w), Some(s)) = (t.warn, t.stop)
                && s < w
            {
                return Err(format!("[audit] {check}: stop ({s}) is below warn ({w})"));
            }
        }
        Ok(())
    }
}
